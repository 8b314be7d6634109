"""Reductions and products: AggregationLayer, TotalLayer, SummationLayer, DotLayer."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..errors import NetError, ShapeError
from ..types import TensorType
from .axes import _check_axis, _levels_tuple, _shape, _unify_dims
from .base import Layer, option_value


def _infer_reduction(types: dict[str, TensorType], levels: tuple[int, ...] | None) -> dict[str, TensorType]:
    """Output = input without the axes ``levels`` (None: all axes); kept axes flow both ways."""
    x, y = types["Input"], types["Output"]
    if levels is None:
        types["Output"] = y.with_dims(())
        return types
    if x.dims is None and y.dims is not None:
        x = x.with_dims((None,) * (len(y.dims) + len(levels)))
    if x.dims is None:
        return types
    axes = [_check_axis(a, x) for a in levels]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"the levels {levels} name the same axis of the input {x} twice.")
    kept = [k for k in range(len(x.dims)) if k not in axes]
    out = [x.dims[k] for k in kept]
    out_dims = _unify_dims(out, y.dims, f"the input {x} reduces to {_shape(out)} but the output is {y}.")
    dims = list(x.dims)
    for k, d in zip(kept, out_dims):
        dims[k] = d
    types["Input"] = x.with_dims(tuple(dims))
    types["Output"] = TensorType(out_dims)
    return types


def _reduced_axes(levels: tuple[int, ...] | None, x: torch.Tensor) -> tuple[int, ...]:
    rank = x.dim() - 1
    if levels is None:
        return tuple(range(1, rank + 1))
    return tuple(a % rank + 1 for a in levels)


AGGREGATIONS = {
    "Max": torch.amax,
    "Min": torch.amin,
    "Mean": torch.mean,
    "Total": torch.sum,
}


@dataclass(frozen=True, eq=False, repr=False)
class AggregationLayer(Layer):
    """Reduces its input with ``"Max"``, ``"Mean"``, ``"Total"`` or ``"Min"`` over ``levels``:
    by default every axis after the first, so channels are kept — ``(C, H, W) → (C,)``, the
    global pooling at the end of a convolutional net — or an explicit tuple of axes.

    >>> AggregationLayer("Max", input=(3, 4, 4)).types["Output"]
    TensorType((3,))
    >>> AggregationLayer("Mean")([[1.0, 3.0], [2.0, 6.0]]).tolist()
    [2.0, 4.0]

    Aggregating over a varying first axis (``levels=0``: a sequence's mean, as a sentence
    embedding pools its tokens) takes each example's own elements only: in a padded batch the
    padding never enters the mean, maximum, minimum or total.
    """

    function: str = "Max"
    levels: int | tuple[int, ...] | None = None

    uses_lengths: ClassVar[bool] = True

    def validate(self) -> None:
        option_value("AggregationLayer", "function", self.function, tuple(AGGREGATIONS))
        _levels_tuple("AggregationLayer", self.levels)

    def _levels(self, rank: int | None) -> tuple[int, ...] | None:
        if self.levels is not None:
            return _levels_tuple(self.kind, self.levels)
        return None if rank is None else tuple(range(1, rank))

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        if self.levels is None:
            if x.rank is not None and x.rank < 2:
                raise ShapeError(f'port "Input" needs an array of rank at least 2 (channels, then the axes to aggregate) but received {x} of rank {x.rank}.')
            if x.dims is None:
                if y.dims is None:
                    types["Output"] = y.with_dims((None,))
                    return types
                _unify_dims((None,), y.dims, f"the output {y} must be a vector (one value per channel).")
                return types
        return _infer_reduction(types, self._levels(x.rank))

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        axes = _reduced_axes(self._levels(x.dim() - 1), x)
        if lengths is None or 1 not in axes or bool((lengths >= x.shape[1]).all()):
            return AGGREGATIONS[self.function](x, dim=axes)
        return _aggregate_padded(self.function, x, axes, lengths.to(x.device))


def _aggregate_padded(function: str, x: torch.Tensor, axes: tuple[int, ...], lengths: torch.Tensor) -> torch.Tensor:
    """An aggregation over axes that include the padded sequence axis (1): positions past each
    example's length hold whatever the layers before computed from padding, so they are masked."""
    if bool((lengths == 0).any()):
        example = int((lengths == 0).nonzero()[0, 0])
        raise NetError(f'AggregationLayer: port "Input" received an empty sequence (example {example} of the batch); {function} over its elements needs at least one.')
    real = (torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).view(*lengths.shape, x.shape[1], *([1] * (x.dim() - 2)))
    if function == "Max":
        return x.masked_fill(~real, float("-inf")).amax(dim=axes)
    if function == "Min":
        return x.masked_fill(~real, float("inf")).amin(dim=axes)
    total = (x * real).sum(dim=axes)
    if function == "Total":
        return total
    others = math.prod(x.shape[a] for a in axes if a != 1)
    count = (lengths * others).to(x.dtype)
    return total / count.view(-1, *([1] * (total.dim() - 1)))


@dataclass(frozen=True, eq=False, repr=False)
class TotalLayer(Layer):
    """Sums its input over ``levels`` (an axis or a tuple of axes; ``None``: all, giving a scalar).

    Wolfram's ``TotalLayer`` can also add several inputs together; symnet's takes one input and
    reduces it (add inputs elementwise with ``ThreadingLayer("Plus")``).

    >>> TotalLayer()([[1.0, 2.0], [3.0, 4.0]])
    10.0
    >>> TotalLayer(0)([[1.0, 2.0], [3.0, 4.0]]).tolist()
    [4.0, 6.0]
    """

    levels: int | tuple[int, ...] | None = None

    def validate(self) -> None:
        _levels_tuple("TotalLayer", self.levels)

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        return _infer_reduction(types, _levels_tuple(self.kind, self.levels))

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if x.dim() == 1:
            return x
        return x.sum(dim=_reduced_axes(_levels_tuple(self.kind, self.levels), x))


@dataclass(frozen=True, eq=False, repr=False)
class SummationLayer(Layer):
    """Sums all the elements of its input into a scalar.

    >>> SummationLayer()([[1.0, 2.0], [3.0, 4.0]])
    10.0
    """

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        types["Output"] = types["Output"].with_dims(())
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        return x.reshape(x.shape[0], -1).sum(dim=1)


# -- Dot ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class DotLayer(Layer):
    """The dot product of ``Input1`` and ``Input2``, contracting the last axis of the first with
    the first axis of the second: vector·vector → scalar, matrix·vector → vector,
    matrix·matrix → matrix (and likewise for higher ranks).

    >>> DotLayer(input=[(2, 3), (3, 4)]).types["Output"]
    TensorType((2, 4))
    >>> DotLayer()([[[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0]]).tolist()
    [3.0, 7.0]
    """

    def input_ports(self) -> tuple[str, ...]:
        return ("Input1", "Input2")

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        a, b, y = types["Input1"], types["Input2"], types["Output"]
        for port, t in (("Input1", a), ("Input2", b)):
            if t.rank == 0:
                raise ShapeError(f'port "{port}" needs at least a vector but received the scalar {t}.')
        # The output is a's axes but the last, then b's axes but the first; fill in unknown ranks.
        if a.dims is None and b.dims is not None and y.dims is not None:
            a = a.with_dims((None,) * (len(y.dims) - len(b.dims) + 2))
        if b.dims is None and a.dims is not None and y.dims is not None:
            b = b.with_dims((None,) * (len(y.dims) - len(a.dims) + 2))
        if a.dims is None or b.dims is None:
            return types
        if a.rank == 0 or b.rank == 0 or (y.rank is not None and y.rank != a.rank + b.rank - 2):  # type: ignore[operator]
            raise ShapeError(f"the inputs {a} and {b} cannot give the output {y}: the product of ranks {a.rank} and {b.rank} has rank {max(a.rank + b.rank - 2, 0)}.")  # type: ignore[operator]
        try:
            inner = TensorType((a.dims[-1],)).unify(TensorType((b.dims[0],))).dims[0]  # type: ignore[index]
        except ShapeError:
            raise ShapeError(f"the last dimension of Input1 {a} must equal the first dimension of Input2 {b} ({a.dims[-1]} ≠ {b.dims[0]}).") from None
        out = [*a.dims[:-1], *b.dims[1:]]
        out_dims = _unify_dims(out, y.dims, f"the product of {a} and {b} has shape {_shape(out)} but the output is {y}.")
        split = len(a.dims) - 1
        types["Input1"] = a.with_dims((*out_dims[:split], inner))
        types["Input2"] = b.with_dims((inner, *out_dims[split:]))
        types["Output"] = TensorType(out_dims)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], a: torch.Tensor, b: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if not a.is_floating_point():
            a = a.to(torch.get_default_dtype())
        if not b.is_floating_point():
            b = b.to(a.dtype)
        batch, inner = a.shape[0], a.shape[-1]
        product = torch.matmul(a.reshape(batch, -1, inner), b.reshape(batch, inner, -1))
        return product.reshape(batch, *a.shape[1:-1], *b.shape[2:])
