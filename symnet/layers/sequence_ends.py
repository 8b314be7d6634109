"""The sequence-end layers: AppendLayer and PrependLayer add one element to a sequence.

They take each example's length (``uses_lengths``), so in a padded batch of varying-length
sequences the appended element goes right after each example's own last element.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ..errors import ShapeError
from ..types import VARYING, Dim, TensorType
from .axes import _is_int, _shape, _unify_dims
from .base import Layer


@dataclass(frozen=True, eq=False, repr=False)
class _SequenceEndLayer(Layer):
    """What AppendLayer and PrependLayer share: a sequence and one element of it."""

    element: Any = field(default=None, kw_only=True)
    at_end: ClassVar[bool] = True

    def input_ports(self) -> tuple[str, ...]:
        return ("Input", "Element")

    def port_specs(self) -> dict[str, Any]:
        specs = super().port_specs()
        if self.element is not None:
            specs["Element"] = self.element
        return specs

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        s, e, y = types["Input"], types["Element"], types["Output"]
        if s.rank == 0:
            raise ShapeError(f'port "Input" needs a sequence (an array with a first axis to extend) but received the scalar {s}.')
        if y.rank == 0:
            raise ShapeError(f"the output must be a sequence, not the scalar {y}.")
        rank = e.rank if e.rank is not None else (s.rank - 1 if s.rank is not None else (y.rank - 1 if y.rank is not None else None))
        if rank is None:
            return types
        element: tuple[Dim, ...] = e.dims if e.dims is not None else (None,) * rank
        if s.dims is not None:
            element = _unify_dims(element, s.dims[1:], f'port "Element" has shape {e} but the elements of port "Input" {s} have shape {_shape(s.dims[1:])}.')
        if y.dims is not None:
            element = _unify_dims(element, y.dims[1:], f'port "Element" has shape {_shape(element)} but the elements of the output {y} have shape {_shape(y.dims[1:])}.')
        length = s.dims[0] if s.dims is not None else None
        out = y.dims[0] if y.dims is not None else None
        grown = length + 1 if _is_int(length) else length
        try:
            out = TensorType((grown,)).unify(TensorType((out,))).dims[0]  # type: ignore[index]
        except ShapeError:
            raise ShapeError(f'the sequence {s} grows to {grown} elements but the output {y} has {out}.') from None
        if length is None and (out == VARYING or (_is_int(out) and out > 1)):
            length = VARYING if out == VARYING else out - 1
        types["Input"] = s.with_dims((length, *element))
        types["Element"] = e.with_dims(element)
        types["Output"] = s.with_dims((out, *element))
        return types

    # In a padded batch the element goes right after each example's own last element.
    uses_lengths: ClassVar[bool] = True

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        return lengths + 1

    def forward(self, arrays: Mapping[str, torch.Tensor], sequence: torch.Tensor, element: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        element = element.unsqueeze(1)
        if not self.at_end:
            return torch.cat([element, sequence], dim=1)
        if lengths is None:
            return torch.cat([sequence, element], dim=1)
        grown = torch.cat([sequence, torch.zeros_like(element)], dim=1)
        rows = torch.arange(sequence.shape[0], device=sequence.device)
        return grown.index_put((rows, lengths.to(sequence.device)), element[:, 0])


@dataclass(frozen=True, eq=False, repr=False)
class AppendLayer(_SequenceEndLayer):
    """Appends ``Element`` (shape ``d…``) to the sequence ``Input`` (shape ``(n, d…)``),
    giving a sequence of ``n + 1``. ``input=`` and ``element=`` give the two ports' shapes.

    >>> AppendLayer()({"Input": [[1.0, 2.0]], "Element": [3.0, 4.0]}).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """

    at_end = True


@dataclass(frozen=True, eq=False, repr=False)
class PrependLayer(_SequenceEndLayer):
    """Prepends ``Element`` (shape ``d…``) to the sequence ``Input`` (shape ``(n, d…)``),
    giving a sequence of ``n + 1``. ``input=`` and ``element=`` give the two ports' shapes.

    >>> PrependLayer()({"Input": [[1.0, 2.0]], "Element": [3.0, 4.0]}).tolist()
    [[3.0, 4.0], [1.0, 2.0]]
    """

    at_end = False
