"""Port types: the shape and element type of a tensor, without the batch axis.

A dimension is an ``int`` (known), ``None`` (unknown, to be inferred) or ``VARYING`` (a
sequence axis whose length may differ from call to call). ``dims=None`` means even the rank
is unknown. Elements are ``"Real"`` or ``"Integer"``; an integer type may be bounded
(``bound=10`` means values ``0 … 9``, the Wolfram ``Restricted["Integer", 10]``).

>>> TensorType.parse(3)
TensorType((3,))
>>> TensorType.parse((1, 28, 28)).unify(TensorType((None, 28, None)))
TensorType((1, 28, 28))
>>> TensorType.parse("Varying")
TensorType(('Varying',))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import NetError, ShapeError

VARYING = "Varying"

Dim = int | None | str


def _is_dim(value: Any) -> bool:
    return value is None or value == VARYING or (isinstance(value, int) and value >= 1 and not isinstance(value, bool))


def _unify_dim(a: Dim, b: Dim) -> Dim:
    """The more specific of two dimensions; raises ``ValueError`` on a conflict."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    # A fixed length is a special case of a varying one.
    if a == VARYING and isinstance(b, int):
        return b
    if b == VARYING and isinstance(a, int):
        return a
    raise ValueError


def dim_str(d: Dim) -> str:
    return "?" if d is None else ("n" if d == VARYING else str(d))


@dataclass(frozen=True)
class TensorType:
    """The type of one port: ``dims`` (``None`` for unknown rank) and the element type."""

    dims: tuple[Dim, ...] | None = None
    element: str = "Real"
    bound: int | None = None

    def __post_init__(self) -> None:
        if self.dims is not None:
            dims = tuple(self.dims)
            if not all(_is_dim(d) for d in dims):
                raise ShapeError(f"{self.dims!r} is not a valid shape: each dimension must be a positive int, None or \"Varying\".")
            object.__setattr__(self, "dims", dims)
        if self.element not in ("Real", "Integer"):
            raise ShapeError(f'Unknown element type "{self.element}": use "Real" or "Integer".')

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def parse(spec: Any) -> TensorType:
        """Read a user's port specification: ``3``, ``(1, 28, 28)``, ``"Real"``, ``"Integer"``,
        ``"Varying"``, ``("Varying", 3)``, ``None`` or a TensorType."""
        if isinstance(spec, TensorType):
            return spec
        if spec is None:
            return TensorType()
        if isinstance(spec, bool):
            raise ShapeError(f"{spec!r} is not a port shape.")
        if isinstance(spec, int):
            if spec < 1:
                raise ShapeError(f"A port size must be a positive int, not {spec}.")
            return TensorType((spec,))
        if spec == "Real":
            return TensorType(())
        if spec == "Integer":
            return TensorType((), "Integer")
        if spec == VARYING:
            return TensorType((VARYING,))
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            return TensorType(tuple(spec))
        raise ShapeError(f"{spec!r} is not a port shape: use an int, a tuple of dims, \"Real\", \"Integer\" or \"Varying\".")

    # -- queries ----------------------------------------------------------------------------
    @property
    def rank(self) -> int | None:
        return None if self.dims is None else len(self.dims)

    @property
    def known(self) -> bool:
        """Whether every dimension is known (Varying counts as known: it is a property)."""
        return self.dims is not None and all(d is not None for d in self.dims)

    @property
    def fixed(self) -> bool:
        """Whether every dimension is a concrete int."""
        return self.dims is not None and all(isinstance(d, int) for d in self.dims)

    def size(self) -> int | None:
        if not self.fixed:
            return None
        n = 1
        for d in self.dims:  # type: ignore[union-attr]
            n *= d  # type: ignore[operator]
        return n

    # -- unification ------------------------------------------------------------------------
    def unify(self, other: TensorType) -> TensorType:
        """The most specific type satisfying both; ``ShapeError`` if they conflict."""
        if self == other:
            return self
        element = self.element
        bound = self.bound if self.bound is not None else other.bound
        if self.element != other.element:
            # An unbounded Real port accepts integers (they are converted), and an integer port
            # refines an unconstrained one; only a bounded-integer vs real clash is a conflict
            # for the element type, and that is checked by the layers that need indices.
            element = "Integer" if "Integer" in (self.element, other.element) and bound is not None else "Real"
        if self.bound is not None and other.bound is not None and self.bound != other.bound:
            raise ShapeError(f"integers below {self.bound} conflict with integers below {other.bound}")
        if self.dims is None:
            dims = other.dims
        elif other.dims is None:
            dims = self.dims
        else:
            if len(self.dims) != len(other.dims):
                raise ShapeError(f"{self} conflicts with {other}")
            try:
                dims = tuple(_unify_dim(a, b) for a, b in zip(self.dims, other.dims))
            except ValueError:
                raise ShapeError(f"{self} conflicts with {other}") from None
        return TensorType(dims, element, bound)

    def with_dims(self, dims: tuple[Dim, ...] | None) -> TensorType:
        return TensorType(dims, self.element, self.bound)

    # -- display ----------------------------------------------------------------------------
    def shape_str(self) -> str:
        if self.dims is None:
            return "(…)"
        if len(self.dims) == 1:
            return f"({dim_str(self.dims[0])},)"
        return "(" + ", ".join(dim_str(d) for d in self.dims) + ")"

    def __str__(self) -> str:
        text = self.shape_str()
        if self.bound is not None:
            return f"{text} integers in 0..{self.bound - 1}"
        if self.element == "Integer":
            return f"{text} integers"
        return text

    def describe(self) -> str:
        """Words for a display: 'vector of size 30', '3-tensor (1, 28, 28)', 'real'."""
        if self.bound is not None and self.dims == ():
            return f"class index < {self.bound}"
        if self.dims is None:
            return "tensor"
        kind = {0: "real" if self.element == "Real" else "integer", 1: "vector", 2: "matrix"}.get(len(self.dims), f"{len(self.dims)}-tensor")
        if len(self.dims) == 0:
            return kind
        if len(self.dims) == 1:
            return f"vector of size {dim_str(self.dims[0])}" if self.dims[0] != VARYING else "vector of length n"
        return f"{kind} {self.shape_str()}"

    def __repr__(self) -> str:
        inner = repr(self.dims)
        extra = ""
        if self.element != "Real":
            extra += f", element={self.element!r}"
        if self.bound is not None:
            extra += f", bound={self.bound}"
        return f"TensorType({inner}{extra})"


UNKNOWN = TensorType()


def Index(n: int) -> TensorType:
    """A scalar class index in ``0 … n-1`` (Wolfram's ``Restricted["Integer", n]``)."""
    return TensorType((), "Integer", n)


@dataclass(frozen=True)
class Scaled:
    """A size or amount given as a fraction or multiple (Wolfram's ``Scaled[f]``): a resize
    ``ResizeLayer((Scaled(2), Scaled(2)))`` or a validation split ``validation_set=Scaled(0.1)``."""

    factor: float

    def __post_init__(self) -> None:
        if not (isinstance(self.factor, int | float) and not isinstance(self.factor, bool) and self.factor > 0):
            raise NetError(f"Scaled: the factor must be a positive number, not {self.factor!r}.")

    def of(self, size: int) -> int:
        return max(1, math.floor(size * self.factor + 1e-9))
