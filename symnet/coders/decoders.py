"""The "Class", "Boolean" and "Function" decoders (images: image.py; text: text.py).

A decoder turns a batch of output tensors into one Python value per example. The property a
caller asks for is ``Automatic`` (the decoder's default, "Decision"), a property name, or a
tuple of the name and its argument:

=======================================  ===================================================
``"Decision"``                           the most probable label
``("TopDecisions", n)``                  the ``n`` most probable labels, most probable first
``"Probabilities"``                      a dict label → probability
``("Probability", label)``               the probability of one label
``("TopProbabilities", n)``              a dict of the ``n`` most probable labels → probability
``"Entropy"``                            the entropy of the distribution, in nats
``"RandomSample"``                       a label drawn from the distribution (torch's RNG)
``("RandomSample", {"Temperature": t})`` drawn from ``p ** (1/t)`` renormalized; ``t`` alone
                                         works too, ``t = 0`` gives the Decision, and
                                         ``"RandomSeeding": s`` repeats the draws (sampling.py)
=======================================  ===================================================

"TopDecisions" and "TopProbabilities" without ``n`` use ``n = 5`` (or all labels if fewer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import InputError, NetError, closest
from ..symbols import Automatic
from ..types import TensorType
from .base import Coder, as_batch_tensor, register
from .encoders import BooleanEncoder, ClassEncoder, FunctionCoder, Labelled
from .sampling import sample, sampling_of

CLASS_PROPERTIES = ("Decision", "TopDecisions", "Probabilities", "Probability", "TopProbabilities", "Entropy", "RandomSample")


def split_property(where: str, prop: Any, properties: tuple[str, ...], default: str) -> tuple[str, Any]:
    """A requested property as (name, argument); ``argument`` is None when not given."""
    if prop is Automatic or prop is None:
        return default, None
    name, argument = (prop[0], prop[1] if len(prop) > 1 else None) if isinstance(prop, tuple) and prop else (prop, None)
    if name not in properties:
        listed = ", ".join(f'"{p}"' for p in properties)
        raise NetError(f"{where}: {name!r} is not a property; the properties are {listed}.{closest(str(name), properties)}")
    return name, argument


def entropy(p: torch.Tensor) -> torch.Tensor:
    """Entropy in nats along the last axis (0·log 0 counts as 0)."""
    return -(p * torch.where(p > 0, p.log(), torch.zeros_like(p))).sum(-1)


def _count(where: str, name: str, argument: Any, total: int) -> int:
    if argument is None:
        return min(5, total)
    if isinstance(argument, bool) or not isinstance(argument, int) or argument < 1:
        raise NetError(f'{where}: ("{name}", n) needs a positive int n; received {argument!r}.')
    return min(argument, total)


@register
@dataclass(frozen=True, repr=False)
class ClassDecoder(Labelled):
    """Probability vectors (n,) to labels, probabilities, entropies or samples.

    >>> decoder = NetDecoder("Class", ["cat", "dog", "fish"])
    >>> p = torch.tensor([[0.1, 0.7, 0.2]])
    >>> decoder.decode(p, "Decision"), decoder.decode(p, ("TopDecisions", 2))
    (['dog'], [['dog', 'fish']])
    >>> round(decoder.decode(p, ("Probability", "fish"))[0], 3)
    0.2
    """

    role: ClassVar[str] = "NetDecoder"
    properties: ClassVar[tuple[str, ...]] = CLASS_PROPERTIES

    @property
    def port_type(self) -> TensorType:
        return TensorType((len(self.labels),))

    def decode(self, batch: Any, prop: Any = None) -> list[Any]:
        """One answer per example for the property ``prop`` (see the module docstring)."""
        where = "Class decoder"
        name, argument = split_property(where, prop, self.properties, "Decision")
        n = len(self.labels)
        p = as_batch_tensor(batch).to(torch.float32)
        if p.dim() != 2 or p.shape[-1] != n:
            raise InputError(f"{where}: expected probability vectors of size {n} (one per label) but received a batch of shape {tuple(p.shape)}.")
        labels = self.labels
        if name == "Decision":
            return [labels[i] for i in p.argmax(-1).tolist()]
        if name == "RandomSample":
            return [labels[i] for i in sample(p, *sampling_of(where, argument)).tolist()]
        if name == "Entropy":
            return entropy(p).tolist()
        if name == "Probabilities":
            return [dict(zip(labels, row)) for row in p.tolist()]
        if name == "Probability":
            if argument is None:
                raise NetError(f'{where}: "Probability" needs the label: ("Probability", {labels[0]!r}).')
            return p[:, int(self.indices([argument])[0])].tolist()
        values, indices = p.topk(_count(where, name, argument, n), dim=-1)
        if name == "TopDecisions":
            return [[labels[i] for i in row] for row in indices.tolist()]
        return [{labels[i]: v for i, v in zip(row_indices, row_values)} for row_indices, row_values in zip(indices.tolist(), values.tolist())]

    def inverse(self) -> Coder:
        return ClassEncoder(self.labels)


BOOLEAN_PROPERTIES = ("Decision", "Probability", "Probabilities", "Entropy", "RandomSample")


@register
@dataclass(frozen=True, repr=False)
class BooleanDecoder(Coder):
    """Probabilities of True (real scalars) to True/False, probabilities, entropies or samples.

    >>> NetDecoder("Boolean").decode(torch.tensor([0.9, 0.2]), Automatic)
    [True, False]
    """

    role: ClassVar[str] = "NetDecoder"
    kind: ClassVar[str] = "Boolean"
    properties: ClassVar[tuple[str, ...]] = BOOLEAN_PROPERTIES

    @property
    def port_type(self) -> TensorType:
        return TensorType(())

    def decode(self, batch: Any, prop: Any = None) -> list[Any]:
        where = "Boolean decoder"
        name, argument = split_property(where, prop, self.properties, "Decision")
        p = as_batch_tensor(batch).to(torch.float64)
        if name == "Decision":
            return (p > 0.5).tolist()
        if name == "Probability":
            return p.tolist()
        both = torch.stack([1 - p, p], -1)
        if name == "Probabilities":
            return [{True: t, False: f} for f, t in both.reshape(-1, 2).tolist()]
        if name == "Entropy":
            return entropy(both).tolist()
        return sample(both, *sampling_of(where, argument)).bool().tolist()

    def inverse(self) -> Coder:
        return BooleanEncoder()


@register
@dataclass(frozen=True, repr=False)
class FunctionDecoder(FunctionCoder):
    """Output tensors to any value through ``function``, applied to each example as a numpy array.

    >>> NetDecoder("Function", np.sum, 3).decode(torch.ones(2, 3), Automatic)
    [3.0, 3.0]
    """

    role: ClassVar[str] = "NetDecoder"
    properties: ClassVar[tuple[str, ...]] = ()

    def decode(self, batch: Any, prop: Any = None) -> list[Any]:
        values = as_batch_tensor(batch).numpy()
        results = []
        for row in values:
            result = self.function(row)  # type: ignore[misc]
            results.append(result.item() if isinstance(result, np.generic) else result)
        return results

    def inverse(self) -> Coder:
        raise NetError('NetEncoder: a "Function" decoder has no inverse; give the encoding function: NetEncoder("Function", function, shape).')


__all__ = ["BOOLEAN_PROPERTIES", "CLASS_PROPERTIES", "BooleanDecoder", "ClassDecoder", "FunctionDecoder", "entropy", "sample", "split_property"]
