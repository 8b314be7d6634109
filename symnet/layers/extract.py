"""ExtractLayer: the parts of an array at positions given as an input (Wolfram's ``ExtractLayer[]``).

Where PartLayer takes positions fixed in the net, ExtractLayer takes them as data, so one array
can serve as a lookup table and as a matrix at once: a language model's token embeddings are
the rows of a table (NetArrayLayer) picked by the token ids, and its output scores are the
same table times the last hidden vector (GPT-2's tied embeddings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ..errors import NetError, ShapeError
from ..types import TensorType
from .axes import _is_int, _shape, _unify_dims
from .base import Layer


@dataclass(frozen=True, eq=False, repr=False)
class ExtractLayer(Layer):
    """The parts of "Input" at the positions in "Position": a position is a vector of ``k``
    integers (its last axis) indexing the first ``k`` axes of "Input", counting from 0
    (negative counts from the end, as in Python); "Position" may hold many positions.

    Shapes: "Input" ``(d1, …, dr)``, "Position" ``(…, k)`` with ``k <= r`` → "Output"
    ``(…, d(k+1), …, dr)``. The rows of a table ``(n, size)`` at a sequence of token ids
    ``(length, 1)`` are ``(length, size)``, as an EmbeddingLayer would give.

    >>> ExtractLayer()([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[2], [0], [-1]]]).tolist()
    [[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]
    >>> ExtractLayer(input=[(10, 4), ("Varying", 1)]).types["Output"]
    TensorType(('Varying', 4))
    """

    def input_ports(self) -> tuple[str, ...]:
        return ("Input", "Position")

    def port_specs(self) -> dict[str, object]:
        # input= gives both inputs, as a list (Input, Position) or a dict by port name
        if isinstance(self.input, list | dict):
            given = dict(zip(self.input_ports(), self.input)) if isinstance(self.input, list) else dict(self.input)
            unknown = [p for p in given if p not in self.input_ports()]
            if (isinstance(self.input, list) and len(self.input) != 2) or unknown:
                raise NetError(f"{self.kind}: input= must give the inputs Input and Position, as a list of two shapes or a dict by port name, not {self.input!r}.")
            specs: dict[str, object] = dict(given)
            if "Position" in given and not isinstance(given["Position"], TensorType):
                # a shape given for the positions means integers (an unbounded integer type is
                # only kept where it starts: unified with an unknown port it would read as real)
                specs["Position"] = TensorType(TensorType.parse(given["Position"]).dims, "Integer")
            if self.output is not None:
                specs["Output"] = self.output
            return specs
        return super().port_specs()

    def output_lengths_input(self) -> int:
        # the output runs over the positions: a sequence of ids gives a sequence of parts
        return 1

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, position, y = types["Input"], types["Position"], types["Output"]
        if position.rank == 0:
            raise ShapeError(f'port "Position" needs positions, vectors of integers (the last axis), but received the scalar {position}.')
        if position.dims is None or x.dims is None:
            return types
        depth = position.dims[-1]
        if not _is_int(depth):
            raise ShapeError(f'port "Position" has shape {position}: its last axis holds each position\'s {depth} integers and must have a fixed size.')
        if depth > len(x.dims):  # type: ignore[operator]
            raise ShapeError(f'port "Position" has positions of {depth} integers but port "Input" {x} has only {len(x.dims)} axes to index.')
        out = [*position.dims[:-1], *x.dims[depth:]]  # type: ignore[misc]
        out_dims = _unify_dims(out, y.dims, f"the parts of {x} at positions {position} have shape {_shape(out)} but the output is {y}.")
        types["Input"] = x.with_dims((*x.dims[:depth], *out_dims[len(position.dims) - 1 :]))  # type: ignore[misc]
        types["Output"] = TensorType(out_dims, x.element, x.bound)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, position: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if position.is_floating_point():  # integers given to a port of unknown element type arrive as reals
            position = position.round().long()
        depth = position.shape[-1]
        sizes = torch.tensor(x.shape[1 : 1 + depth], device=position.device)
        outside = (position < -sizes) | (position >= sizes)
        if bool(outside.any()):
            where = outside.nonzero()[0].tolist()
            raise NetError(
                f'{self.kind}: port "Position" holds {int(position[tuple(where)])} (example {where[0]} of the batch) for an axis of size {int(sizes[where[-1]])}; '
                f"positions count from 0 (negative from the end) and must lie in -{int(sizes[where[-1]])} … {int(sizes[where[-1]]) - 1}."
            )
        # negative positions count from the end (written out: ONNX's gathers read them otherwise)
        position = torch.where(position < 0, position + sizes, position)
        # each example picks from its own array (a NetArrayLayer's is the same for every example)
        batch = torch.arange(x.shape[0], device=x.device).view(-1, *([1] * (position.dim() - 2)))
        return x[(batch, *position.unbind(-1))]
