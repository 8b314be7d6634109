"""Drawing from a decoder's probabilities: the "RandomSample" property of the Class, Boolean,
Characters and Tokens decoders, with a temperature and an optional seed.

The argument of ``("RandomSample", argument)`` is a temperature ``t`` or a dict with the keys
``"Temperature"`` (``t``, default 1) and ``"RandomSeeding"`` (an int: the same draws every
time; without it, torch's global random generator). Indices are drawn from ``p ** (1/t)``
renormalized, so ``t < 1`` sharpens the distribution, ``t > 1`` flattens it and ``t = 0``
takes the most probable index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..errors import NetError

SAMPLING_KEYS = ("Temperature", "RandomSeeding")


def sampling_of(where: str, argument: Any) -> tuple[float, torch.Generator | None]:
    """The temperature and the generator (None: torch's global one) a "RandomSample" asks for."""
    if argument is None:
        return 1.0, None
    options = dict(argument) if isinstance(argument, Mapping) else {"Temperature": argument}
    unknown = [key for key in options if key not in SAMPLING_KEYS]
    if unknown:
        raise NetError(f'{where}: "RandomSample" takes the keys "Temperature" and "RandomSeeding", not {unknown[0]!r}; as in ("RandomSample", {{"Temperature": 0.5, "RandomSeeding": 1}}).')
    value = options.get("Temperature", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise NetError(f'{where}: the temperature must be a number ≥ 0, as in ("RandomSample", {{"Temperature": 0.5}}); received {argument!r}.')
    seed = options.get("RandomSeeding")
    if seed is None:
        return float(value), None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NetError(f'{where}: "RandomSeeding" must be an int (the same int gives the same draws); received {seed!r}.')
    return float(value), torch.Generator().manual_seed(seed)


def sample(p: torch.Tensor, temperature: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices drawn from each row of ``p`` (probabilities along the last axis) sharpened by ``temperature``."""
    if temperature == 0:
        return p.argmax(-1)
    weights = p.clamp_min(0).to(torch.float64) ** (1.0 / temperature)
    flat = weights.reshape(-1, weights.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(weights.shape[:-1])


__all__ = ["SAMPLING_KEYS", "sample", "sampling_of"]
