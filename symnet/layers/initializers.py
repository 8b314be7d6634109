"""The formulas of initial array values: pure functions of a shape and a random generator.

NetInitialize (symnet/initialize.py) decides which arrays get values and seeds them; a layer
that wants its own rule for an array overrides ``Layer.init_array`` and may use these.
"""

from __future__ import annotations

import math

import torch


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        return shape[0] if shape else 1, shape[0] if shape else 1
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def default_init(name: str, shape: tuple[int, ...], method: str, generator: torch.Generator) -> torch.Tensor:
    """Biases start at zero; weights by ``method`` from their fan-in and fan-out."""
    if "Bias" in name or len(shape) < 2:
        return torch.zeros(shape)
    fan_in, fan_out = _fans(shape)
    if method == "Kaiming":
        return torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)
    if method == "Xavier":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return (torch.rand(shape, generator=generator) * 2 - 1) * bound
    if method == "Orthogonal":
        return orthogonal(shape, generator)
    return torch.randn(shape, generator=generator) / math.sqrt(fan_in)


def orthogonal(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """A (semi-)orthogonal matrix, reshaped to ``shape`` (rows: the first axis)."""
    flat = torch.randn(shape[0], math.prod(shape[1:]), generator=generator)
    transposed = flat.shape[0] < flat.shape[1]
    q, r = torch.linalg.qr(flat.T if transposed else flat)
    q = q * torch.sign(torch.diagonal(r))
    return (q.T if transposed else q).reshape(shape).contiguous()
