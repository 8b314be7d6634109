"""Axes, levels and symbolic shapes: the helpers the structure, sequence-end and reduction
layers share. Levels count from 0 over one example's dimensions (the batch axis is not
counted); negative ones count from the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import NetError, ShapeError
from ..types import VARYING, Dim, TensorType, dim_str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _batched(axis: int) -> int:
    """An axis of one example as an axis of the batch (the batch axis comes first)."""
    return axis + 1 if axis >= 0 else axis


def _shape(dims: Sequence[Dim]) -> str:
    """Dims as the messages show shapes: ``(2, 3)``, ``(6,)``, ``(?, 4)``, ``(n, 3)``."""
    text = ", ".join(dim_str(d) for d in dims)
    return f"({text},)" if len(dims) == 1 else f"({text})"


def _check_axis(axis: int, t: TensorType, what: str = "level") -> int:
    """``axis`` as a non-negative axis of ``t``; a ShapeError if ``t`` has no such axis."""
    rank = t.rank or 0
    if rank == 0:
        raise ShapeError(f"{what} {axis} needs an array but the input is a scalar {t}.")
    if not -rank <= axis < rank:
        raise ShapeError(f"{what} {axis} is outside the input {t} of rank {rank}: use 0 … {rank - 1}, or a negative {what} counting from the end.")
    return axis % rank


def _unify_dims(a: Sequence[Dim], b: Sequence[Dim] | None, message: str) -> tuple[Dim, ...]:
    """The more specific of two shapes of the same rank, or a ShapeError with ``message``."""
    if b is None:
        return tuple(a)
    try:
        return TensorType(tuple(a)).unify(TensorType(tuple(b))).dims  # type: ignore[return-value]
    except ShapeError:
        raise ShapeError(message) from None


def _combine(dims: Sequence[Dim], op: str) -> Dim:
    """The product (``op="*"``) or sum (``"+"``) of dims: Varying if any varies, unknown if any is."""
    if any(d == VARYING for d in dims):
        return VARYING
    if any(d is None for d in dims):
        return None
    return math.prod(dims) if op == "*" else sum(dims)  # type: ignore[arg-type]


def _missing_part(parts: Sequence[Dim], total: Dim, op: str) -> Dim | None:
    """The one unknown part of a known product/sum, or None if it cannot be found.

    Returns 0 if the known parts cannot make ``total`` (the caller raises)."""
    if not _is_int(total) or sum(d is None for d in parts) != 1 or not all(d is None or _is_int(d) for d in parts):
        return None
    known = [d for d in parts if d is not None]
    if op == "*":
        rest = math.prod(known)  # type: ignore[arg-type]
        return total // rest if total % rest == 0 else 0  # type: ignore[operator]
    rest = sum(known)  # type: ignore[arg-type]
    return total - rest if total > rest else 0  # type: ignore[operator]


def _levels_tuple(kind: str, levels: Any) -> tuple[int, ...] | None:
    if levels is None:
        return None
    items = (levels,) if _is_int(levels) else levels
    if not isinstance(items, Sequence) or isinstance(items, str) or not items or not all(_is_int(a) for a in items):
        raise NetError(f"{kind}: the levels must be None, an int or a non-empty tuple of ints, not {levels!r}.")
    return tuple(items)
