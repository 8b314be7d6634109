"""Layers that rearrange, select and join arrays: Flatten, Reshape, Transpose, Catenate, Part
and Replicate (the sequence-end layers Append and Prepend are in sequence_ends.py, the
reductions in reduce.py, the axis helpers they share in axes.py).

Levels and axes count from 0 over the dimensions of one example (the batch axis is not
counted); negative ones count from the end. Shapes are inferred in both directions where the
operation allows it, and a ``"Varying"`` (sequence) axis passes through the layers that do not
need its length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import InputError, NetError, ShapeError
from ..symbols import All
from ..types import VARYING, Dim, TensorType, dim_str
from .axes import _batched, _check_axis, _combine, _is_int, _missing_part, _shape, _unify_dims
from .base import Layer


# -- Flatten, Reshape, Transpose --------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class FlattenLayer(Layer):
    """Flattens its input: all of it into a vector, or some of its leading or trailing axes.

    ``level=None`` flattens everything; ``level=n`` (n ≥ 0) merges the first ``n + 1`` axes and
    ``level=-n`` the last ``n + 1`` (Wolfram's ``FlattenLayer[n]`` and ``FlattenLayer[-n]``).

    >>> FlattenLayer(input=(2, 3, 4)).types["Output"]
    TensorType((24,))
    >>> FlattenLayer(1, input=(2, 3, 4)).types["Output"], FlattenLayer(-1, input=(2, 3, 4)).types["Output"]
    (TensorType((6, 4)), TensorType((2, 12)))
    >>> FlattenLayer(input=(2, None), output=6).types["Input"]
    TensorType((2, 3))
    """

    level: int | None = None

    def validate(self) -> None:
        if self.level is not None and not _is_int(self.level):
            raise NetError(f"FlattenLayer: the level must be None or an int, not {self.level!r}.")

    def _groups(self, x: TensorType) -> list[tuple[int, int]]:
        """The input axes (start, stop) that make each output axis."""
        rank = x.rank
        if self.level is None:
            if rank == 0:
                raise ShapeError(f'port "Input" needs at least a vector but received the scalar {x}.')
            return [(0, rank)]  # type: ignore[list-item]
        merged = abs(self.level) + 1
        if merged > rank:  # type: ignore[operator]
            raise ShapeError(f"level {self.level} flattens {merged} axes but the input {x} has rank {rank}: use a level from {-(rank - 1)} to {rank - 1}.")  # type: ignore[operator]
        if self.level >= 0:
            return [(0, merged)] + [(i, i + 1) for i in range(merged, rank)]  # type: ignore[arg-type]
        return [(i, i + 1) for i in range(rank - merged)] + [(rank - merged, rank)]  # type: ignore[operator]

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        if self.level is None and y.dims is None:
            y = y.with_dims((None,))
        if x.dims is None and y.dims is not None and self.level is not None:
            x = x.with_dims((None,) * (len(y.dims) + abs(self.level)))
        if x.dims is None:
            types["Output"] = y
            return types
        groups = self._groups(x)
        flat = [_combine(x.dims[a:b], "*") for a, b in groups]
        out = _unify_dims(flat, y.dims, f"the input {x} flattens to {_shape(flat)} but the output is {y}.")
        dims = list(x.dims)
        for (a, b), total in zip(groups, out):
            if b - a == 1:
                dims[a] = total
            else:
                part = _missing_part(dims[a:b], total, "*")
                if part == 0:
                    raise ShapeError(f"the input {x} cannot flatten to the output {y}: {total} is not a multiple of the known dimensions.")
                if part is not None:
                    dims[a:b] = [part if d is None else d for d in dims[a:b]]
        types["Input"] = x.with_dims(tuple(dims))
        types["Output"] = x.with_dims(out)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if self.level is None:
            return x.reshape(x.shape[0], -1)
        if self.level >= 0:
            return x.flatten(1, self.level + 1)
        return x.flatten(self.level - 1, -1)


@dataclass(frozen=True, eq=False, repr=False)
class ReshapeLayer(Layer):
    """Reshapes its input to ``dims``; one entry may be ``-1`` (or ``"Inferred"``), found from
    the number of elements.

    >>> ReshapeLayer((3, -1), input=(2, 6)).types["Output"]
    TensorType((3, 4))
    >>> ReshapeLayer((2, 2))([1.0, 2.0, 3.0, 4.0]).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """

    dims: tuple[int, ...] | int

    def __post_init__(self) -> None:
        dims = (self.dims,) if _is_int(self.dims) else self.dims
        if isinstance(dims, Sequence) and not isinstance(dims, str):
            object.__setattr__(self, "dims", tuple(-1 if d == "Inferred" else d for d in dims))
        super().__post_init__()

    def validate(self) -> None:
        dims = self.dims
        if not isinstance(dims, tuple) or not all(_is_int(d) and (d >= 1 or d == -1) for d in dims) or dims.count(-1) > 1:
            raise NetError(f'ReshapeLayer: the dims must be a tuple of positive ints with at most one -1 (or "Inferred"), not {self.dims!r}.')

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        target: tuple[int, ...] = self.dims  # type: ignore[assignment]
        known = math.prod(d for d in target if d != -1)
        size = x.size()
        out: list[Dim] = [None if d == -1 else d for d in target]
        if size is not None:
            if -1 not in target and size != known:
                raise ShapeError(f"the input {x} has {size} elements, which cannot be reshaped to {_shape(target)} with {known} elements. Fix: give dims with {size} elements in all, or -1 for one of them.")
            if -1 in target:
                if size % known:
                    raise ShapeError(f"the input {x} has {size} elements, which cannot be reshaped to {_shape(target)}: {size} is not a multiple of {known}.")
                out[target.index(-1)] = size // known
        elif x.dims is not None and VARYING in x.dims:
            if -1 not in target:
                raise ShapeError(f"the input {x} has a varying dimension, which cannot be reshaped to the fixed shape {_shape(target)}: write -1 for the varying part.")
            out[target.index(-1)] = VARYING
        out_dims = _unify_dims(out, y.dims, f"the dims {_shape(target)} conflict with the output {y}.")
        total = TensorType(out_dims).size()
        if total is not None and x.dims is not None:
            part = _missing_part(x.dims, total, "*")
            if part == 0:
                raise ShapeError(f"the input {x} cannot be reshaped to {_shape(out_dims)} with {total} elements.")
            if part is not None:
                x = x.with_dims(tuple(part if d is None else d for d in x.dims))
        types["Input"] = x
        types["Output"] = x.with_dims(out_dims)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        return x.reshape(x.shape[0], *self.dims)  # type: ignore[misc]


@dataclass(frozen=True, eq=False, repr=False)
class TransposeLayer(Layer):
    """Transposes its input: swaps the first two axes (``perm=None``), swaps two axes
    (``perm=(i, j)``), or permutes all of them (``perm=(2, 0, 1)``: output axis ``k`` is
    input axis ``perm[k]``, as in ``numpy.transpose``).

    A pair is always a swap; for a matrix every non-trivial permutation is the swap.

    >>> TransposeLayer(input=(2, 3, 4)).types["Output"]
    TensorType((3, 2, 4))
    >>> TransposeLayer((0, -1), input=(2, 3, 4)).types["Output"], TransposeLayer((2, 0, 1), input=(2, 3, 4)).types["Output"]
    (TensorType((4, 3, 2)), TensorType((4, 2, 3)))
    >>> TransposeLayer()([[1.0, 2.0], [3.0, 4.0]]).tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """

    perm: tuple[int, ...] | None = None

    def validate(self) -> None:
        perm = self.perm
        if perm is None:
            return
        if not isinstance(perm, tuple) or len(perm) < 2 or not all(_is_int(p) for p in perm):
            raise NetError(f"TransposeLayer: perm must be None, a pair of axes (i, j) or a permutation tuple such as (2, 0, 1), not {perm!r}.")
        if len(perm) > 2 and sorted(perm) != list(range(len(perm))):
            raise NetError(f"TransposeLayer: {perm!r} is not a permutation of 0 … {len(perm) - 1}.")

    def _order(self, t: TensorType) -> list[int]:
        """For each output axis, the input axis it comes from."""
        rank: int = t.rank  # type: ignore[assignment]
        order = list(range(rank))
        if self.perm is not None and len(self.perm) > 2:
            if len(self.perm) != rank:
                raise ShapeError(f"the permutation {self.perm} has {len(self.perm)} entries but the input {t} has rank {rank}.")
            return list(self.perm)
        if rank < 2:
            raise ShapeError(f'port "Input" needs at least a matrix to transpose but received {t} of rank {rank}.')
        i, j = (0, 1) if self.perm is None else (_check_axis(a, t, "axis") for a in self.perm)
        order[i], order[j] = order[j], order[i]
        return order

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        rank = x.rank if x.rank is not None else y.rank
        if rank is None:
            return types
        x_dims = x.dims if x.dims is not None else (None,) * rank
        order = self._order(x.with_dims(x_dims))
        moved = [x_dims[p] for p in order]
        out = _unify_dims(moved, y.dims, f"the input {x} transposes to {_shape(moved)} but the output is {y}.")
        dims: list[Dim] = [None] * rank
        for k, p in enumerate(order):
            dims[p] = out[k]
        types["Input"] = x.with_dims(tuple(dims))
        types["Output"] = x.with_dims(out)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        order = self._order(TensorType((None,) * (x.dim() - 1)))
        return x.permute(0, *(p + 1 for p in order))


# -- Catenate ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class CatenateLayer(Layer):
    """Joins its inputs along ``level`` (default: the first axis). Ports ``Input1 … Inputn``;
    the inputs must agree on every other axis.

    >>> CatenateLayer(input=[(2, 3), (4, 3)]).types["Output"]
    TensorType((6, 3))
    >>> CatenateLayer(-1)([[1.0, 2.0], [3.0]]).tolist()
    [1.0, 2.0, 3.0]
    """

    level: int = 0
    arity: int | None = field(default=None, kw_only=True)
    variadic = True

    def __post_init__(self) -> None:
        if self.arity is None:
            object.__setattr__(self, "arity", len(self.input) if isinstance(self.input, list) else 2)
        super().__post_init__()

    def validate(self) -> None:
        if not _is_int(self.level):
            raise NetError(f"CatenateLayer: the level must be an int, not {self.level!r}.")
        if not _is_int(self.arity) or self.arity < 1:  # type: ignore[operator]
            raise NetError(f"CatenateLayer: the number of inputs must be a positive int, not {self.arity!r}.")

    def input_ports(self) -> tuple[str, ...]:
        return tuple(f"Input{i + 1}" for i in range(self.arity or 2))

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        ports = self.input_ports()
        y = types["Output"]
        known = [(p, types[p]) for p in ports if types[p].dims is not None]
        for port, t in known[1:]:
            if t.rank != known[0][1].rank:
                raise ShapeError(f'port "{port}" has rank {t.rank} {t} but port "{known[0][0]}" has rank {known[0][1].rank} {known[0][1]}: catenated inputs must have the same rank.')
        rank = known[0][1].rank if known else y.rank
        if rank is None:
            return types
        axis = _check_axis(self.level, known[0][1] if known else y)
        # Every axis but the catenated one is shared by all inputs and the output.
        shared: tuple[Dim, ...] = (None,) * rank
        reference: tuple[str, TensorType] | None = None
        for port, t in [*known, ("Output", y)]:
            if t.dims is None:
                continue
            where = "the output" if port == "Output" else f'port "{port}"'
            theirs = tuple(None if k == axis else d for k, d in enumerate(t.dims))
            if reference is not None:
                shared = _unify_dims(shared, theirs, f"{where} has shape {t} but {reference[0]} has shape {reference[1]}: the inputs must agree on every axis except level {self.level}.")
            else:
                shared = theirs
                reference = (where, t)
        lengths = [types[p].dims[axis] if types[p].dims is not None else None for p in ports]  # type: ignore[index]
        total = _combine(lengths, "+")
        given = None if y.dims is None else y.dims[axis]
        message = f"the inputs have {dim_str(total)} elements along level {self.level} in all but the output {y} has {dim_str(given)}."
        out = _unify_dims([total], [given], message)[0]
        part = _missing_part(lengths, out, "+")
        if part == 0:
            raise ShapeError(f"the inputs are longer along level {self.level} than the output {y}.")
        for port, length in zip(ports, lengths):
            dims = list(shared)
            dims[axis] = part if length is None and part is not None else length
            types[port] = types[port].with_dims(tuple(dims))
        dims = list(shared)
        dims[axis] = out
        types["Output"] = y.with_dims(tuple(dims))
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], *inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        return torch.cat(inputs, dim=_batched(self.level))


# -- Part, Replicate --------------------------------------------------------------------------
def _part_item(item: Any) -> int | slice | tuple[int, ...]:
    """One axis of a part specification: an index, a span (slice) or a list of indices."""
    if _is_int(item):
        return item
    if item is None or item is All:
        return slice(None)
    if isinstance(item, slice):
        if not all(v is None or _is_int(v) for v in (item.start, item.stop, item.step)):
            raise NetError(f"PartLayer: the span {item!r} must have int bounds.")
        if item.step is not None and item.step < 1:
            raise NetError(f"PartLayer: the span {item!r} has step {item.step}; only positive steps are supported.")
        return item
    if isinstance(item, tuple) and len(item) == 2 and all(_is_int(v) for v in item):
        return slice(*item)
    if isinstance(item, list) and item and all(_is_int(v) for v in item):
        return tuple(item)
    raise NetError(f"PartLayer: {item!r} is not a part: use an int, a slice such as slice(1, 3), a span (start, stop), a list of indices, or All.")


def _span_length(span: slice, d: Dim, axis: int, x: TensorType) -> Dim:
    start, stop, step = span.start, span.stop, span.step or 1
    if _is_int(d):
        if (start is not None and not -d <= start < d) or (stop is not None and not -d <= stop <= d):  # type: ignore[operator]
            raise ShapeError(f"the span {start}:{stop} is out of range for axis {axis} of size {d} (input {x}).")
        length = len(range(d)[span])  # type: ignore[arg-type]
        if length == 0:
            raise ShapeError(f"the span {start}:{stop} selects nothing from axis {axis} of size {d} (input {x}).")
        return length
    if start is None and stop is None and step == 1:
        return d
    if start is not None and stop is not None and (start >= 0) == (stop >= 0):
        if stop <= start:
            raise ShapeError(f"the span {start}:{stop} selects nothing from axis {axis}.")
        return -(-(stop - start) // step)
    return VARYING if d == VARYING else None


@dataclass(frozen=True, eq=False, repr=False)
class PartLayer(Layer):
    """Takes a part of its input, like Python indexing: an index (negative counts from the
    end), a span (a ``slice`` or a pair ``(start, stop)`` inside a tuple), a list of indices,
    or a tuple of those for the leading axes (Wolfram ``PartLayer[{2;;3, All}]`` is
    ``PartLayer((slice(1, 3), All))``). A top-level tuple always means several axes:
    ``PartLayer((1, 3))`` is ``x[1, 3]``; write the span as ``slice(1, 3)``.

    >>> PartLayer(-1)([1.0, 2.0, 3.0])
    3.0
    >>> PartLayer((slice(1, 3), All), input=(4, 5)).types["Output"]
    TensorType((2, 5))
    >>> PartLayer((All, [2, 0]))([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).tolist()
    [[3.0, 1.0], [6.0, 4.0]]
    """

    spec: Any

    def validate(self) -> None:
        self._parts()

    def _parts(self) -> tuple[int | slice | tuple[int, ...], ...]:
        items = self.spec if isinstance(self.spec, tuple) else (self.spec,)
        return tuple(_part_item(item) for item in items)

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        parts = self._parts()
        dropped = sum(1 for p in parts if _is_int(p))
        if x.dims is None and y.dims is not None:
            x = x.with_dims((None,) * (len(y.dims) + dropped))
        if x.dims is None:
            return types
        if len(parts) > len(x.dims):
            raise ShapeError(f"the part {self.spec!r} indexes {len(parts)} axes but the input {x} has rank {len(x.dims)}.")
        out: list[Dim] = []
        passed: list[int] = []  # input axes that reach the output unchanged, in output order
        for axis, (part, d) in enumerate(zip(parts, x.dims)):
            indices = (part,) if _is_int(part) else part if isinstance(part, tuple) else ()
            for i in indices:
                if _is_int(d) and not -d <= i < d:  # type: ignore[operator]
                    raise ShapeError(f"index {i} is out of range for axis {axis} of size {d} (input {x}): use 0 … {d - 1}, or -{d} … -1 from the end.")  # type: ignore[operator]
            if isinstance(part, tuple):
                out.append(len(part))
                passed.append(-1)
            elif isinstance(part, slice):
                out.append(_span_length(part, d, axis, x))
                passed.append(axis if part == slice(None) else -1)
        out += x.dims[len(parts):]
        passed += range(len(parts), len(x.dims))
        out_dims = _unify_dims(out, y.dims, f"the part {self.spec!r} of the input {x} has shape {_shape(out)} but the output is {y}.")
        dims = list(x.dims)
        for axis, d in zip(passed, out_dims):
            if axis >= 0:
                dims[axis] = d
        types["Input"] = x.with_dims(tuple(dims))
        types["Output"] = x.with_dims(out_dims)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        axis = 1
        for example_axis, part in enumerate(self._parts()):
            size = x.shape[axis]
            indices = (part,) if _is_int(part) else part if isinstance(part, tuple) else ()
            for i in indices:
                if not -size <= i < size:
                    raise InputError(f"PartLayer: index {i} is out of range for axis {example_axis} of size {size}.")
            if _is_int(part):
                x = x.select(axis, part)  # type: ignore[arg-type]
                continue
            if isinstance(part, tuple):
                x = x.index_select(axis, torch.tensor([i % size for i in part], device=x.device))
            else:
                x = x[(slice(None),) * axis + (part,)]
            axis += 1
        return x


@dataclass(frozen=True, eq=False, repr=False)
class ReplicateLayer(Layer):
    """Repeats its input along a new axis of size ``spec`` (or new axes, for a tuple) inserted
    at ``level`` (default first; ``-1`` puts it last). ``spec=None`` infers the size from the output.

    >>> ReplicateLayer(3)([1.0, 2.0]).tolist()
    [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]
    >>> ReplicateLayer(3, -1, input=2).types["Output"]
    TensorType((2, 3))
    """

    spec: int | tuple[int, ...] | None = None
    level: int = 0

    def validate(self) -> None:
        spec = (self.spec,) if _is_int(self.spec) else self.spec
        if spec is not None and (not isinstance(spec, tuple) or not spec or not all(_is_int(n) and n >= 1 for n in spec)):
            raise NetError(f"ReplicateLayer: the size must be a positive int, a tuple of them or None, not {self.spec!r}.")
        if not _is_int(self.level):
            raise NetError(f"ReplicateLayer: the level must be an int, not {self.level!r}.")

    def _new_dims(self) -> tuple[Dim, ...] | None:
        return (self.spec,) if _is_int(self.spec) else self.spec  # type: ignore[return-value]

    def _position(self, x: TensorType) -> int:
        rank: int = x.rank  # type: ignore[assignment]
        position = self.level if self.level >= 0 else rank + 1 + self.level
        if not 0 <= position <= rank:
            raise ShapeError(f"level {self.level} is outside the input {x} of rank {rank}: use 0 … {rank}, or a negative level counting from the end (-1 puts the new axis last).")
        return position

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        new = self._new_dims()
        if new is None and x.rank is not None and y.rank is not None:
            if y.rank <= x.rank:
                raise ShapeError(f"the output {y} must have a higher rank than the input {x}.")
            new = (None,) * (y.rank - x.rank)
        if new is None:
            return types
        if x.dims is None and y.dims is not None:
            x = x.with_dims((None,) * (len(y.dims) - len(new)))
        if x.dims is None:
            return types
        position = self._position(x)
        out = [*x.dims[:position], *new, *x.dims[position:]]
        out_dims = _unify_dims(out, y.dims, f"the input {x} replicated is {_shape(out)} but the output is {y}.")
        types["Input"] = x.with_dims(out_dims[:position] + out_dims[position + len(new):])
        types["Output"] = x.with_dims(out_dims)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        example = TensorType((None,) * (x.dim() - 1))
        position = self._position(example) + 1
        new = self._new_dims() or self.types["Output"].dims[position - 1: position - 1 + self.types["Output"].rank - example.rank]  # type: ignore[index, operator]
        shape = tuple(x.shape)
        ones = x.reshape(*shape[:position], *(1 for _ in new), *shape[position:])
        return ones.expand(*shape[:position], *new, *shape[position:])  # type: ignore[misc]
