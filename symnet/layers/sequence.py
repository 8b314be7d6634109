"""Layers for sequences: EmbeddingLayer and the layers that take sequences apart
(SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer, SequenceIndicesLayer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError
from ..types import TensorType
from .base import Layer, same_type


def _optional_positive_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)


@dataclass(frozen=True, eq=False, repr=False)
class EmbeddingLayer(Layer):
    """Maps each integer index to a learned vector of ``size`` numbers (a row of "Weights").

    ``size`` is the length of each vector and ``vocabulary`` the number of indices, so the
    input holds integers in ``0 … vocabulary-1``; either may be ``None`` and inferred from
    "Weights" (shape ``(vocabulary, size)``), from a bounded integer input port or from the
    output. The input may have any shape (a sequence ``"Varying"``, a scalar index ``()`` …);
    the output has the input's shape followed by ``size``.

    >>> layer = NetInitialize(EmbeddingLayer(4, 10, input="Varying"))
    >>> layer.types["Input"]
    TensorType(('Varying',), element='Integer', bound=10)
    >>> layer([3, 1, 3]).shape
    (3, 4)
    >>> bool((layer([3, 1, 3])[0] == NetExtract(layer, "Weights")[3]).all())
    True
    """

    size: int | None = None
    vocabulary: int | None = None

    def validate(self) -> None:
        if not _optional_positive_int(self.size):
            raise NetError(f"EmbeddingLayer: the size (the length of each embedding vector) must be a positive int, not {self.size!r}.")
        if not _optional_positive_int(self.vocabulary):
            raise NetError(f"EmbeddingLayer: the vocabulary (the number of distinct indices) must be a positive int, not {self.vocabulary!r}.")

    def array_names(self) -> tuple[str, ...]:
        return ("Weights",)

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y, w = types["Input"], types["Output"], types["Weights"]
        if w.rank not in (None, 2):
            raise ShapeError(f'the array "Weights" must be a matrix of shape (vocabulary, size) but has shape {w.shape_str()}.')
        rows, columns = w.dims if w.dims is not None else (None, None)
        if self.vocabulary is not None and rows is not None and rows != self.vocabulary:
            raise ShapeError(
                f'the vocabulary is {self.vocabulary} but the array "Weights" has {rows} rows (one per index); '
                f"give EmbeddingLayer(size, {rows}) or weights with {self.vocabulary} rows."
            )
        if self.size is not None and columns is not None and columns != self.size:
            raise ShapeError(f'the size is {self.size} but the array "Weights" has {columns} columns (one per embedding element); give EmbeddingLayer({columns}, …) or weights with {self.size} columns.')
        vocabulary = self.vocabulary or rows or x.bound
        if x.bound is not None and vocabulary is not None and x.bound != vocabulary:
            raise ShapeError(f'port "Input" takes integers in 0 … {x.bound - 1} but the vocabulary has {vocabulary} entries; the input must take integers in 0 … {vocabulary - 1}.')
        size = self.size or columns or (y.dims[-1] if y.dims else None)
        if y.dims is not None and y.rank == 0:
            raise ShapeError(f'port "Output" must have the input\'s shape followed by the embedding size, so it cannot be the scalar {y}.')
        if y.dims is not None and size is not None and y.dims[-1] not in (None, size):
            raise ShapeError(f'port "Output" has shape {y} but each embedding vector has size {size}.')
        # The input and the output share every axis but the output's last.
        inner = x.dims if x.dims is not None else (y.dims[:-1] if y.dims is not None else None)
        if x.dims is not None and y.dims is not None:
            try:
                inner = TensorType(x.dims).unify(TensorType(y.dims[:-1])).dims
            except ShapeError:
                raise ShapeError(f'port "Output" has shape {y} but must be the input\'s shape {x.shape_str()} followed by the embedding size.') from None
        types["Input"] = TensorType(inner, "Integer", vocabulary) if vocabulary is not None else x
        types["Output"] = TensorType(None if inner is None else (*inner, size))
        types["Weights"] = TensorType((vocabulary, size))
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if x.is_floating_point() or x.dtype == torch.bool:
            raise NetError(
                f'EmbeddingLayer: port "Input" needs integer indices but received {x.dtype} values; '
                "feed it the net's (integer) input or a layer that outputs integers, not real numbers."
            )
        return F.embedding(x, arrays["Weights"])


# -- layers that take sequences apart ---------------------------------------------------------
#
# Each of these knows each example's length (``uses_lengths``): in a batch padded to the longest
# sequence, "the last element" is the last of the example's own length, not of the padding.


def _sequence_rank(kind: str, t: TensorType, port: str = "Input") -> None:
    if t.rank == 0:
        raise ShapeError(f'port "{port}" needs a sequence (a tensor whose first axis runs over the elements) but received the scalar {t}.')


def _lengths_or_full(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is None:
        return torch.full((x.shape[0],), x.shape[1], dtype=torch.int64, device=x.device)
    return lengths.to(device=x.device, dtype=torch.int64)


def _refuse_empty(kind: str, lengths: torch.Tensor, needed: int = 1) -> None:
    short = (lengths < needed).nonzero()
    if short.numel():
        example = int(short[0, 0])
        raise NetError(
            f'{kind}: port "Input" received a sequence of length {int(lengths[example])} (example {example} of the batch), '
            f"but it needs at least {needed} element{'s' if needed > 1 else ''}; give every example at least {needed}."
        )


def _zero_padding(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x`` with the positions at or past each example's length set to zero (the padding convention)."""
    steps = torch.arange(x.shape[1], device=x.device)
    keep = (steps.unsqueeze(0) < lengths.unsqueeze(1)).to(x.dtype)
    return x * keep.view(*keep.shape, *([1] * (x.dim() - 2)))


@dataclass(frozen=True, eq=False, repr=False)
class SequenceLastLayer(Layer):
    """The last element of a sequence: input ``(n, …)``, output ``(…)``.

    >>> SequenceLastLayer()([[1, 2], [3, 4], [5, 6]]).tolist()
    [5.0, 6.0]
    """

    uses_lengths: ClassVar[bool] = True

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        _sequence_rank(self.kind, x)
        if x.dims is not None:
            types["Output"] = y.unify(TensorType(x.dims[1:], x.element, x.bound))
        elif y.dims is not None:
            types["Input"] = TensorType((None, *y.dims), y.element, y.bound)
        return types

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        return None

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        lengths = _lengths_or_full(x, lengths)
        _refuse_empty(self.kind, lengths)
        return x[torch.arange(x.shape[0], device=x.device), lengths - 1]


@dataclass(frozen=True, eq=False, repr=False)
class _SequenceDropLayer(Layer):
    """SequenceMostLayer and SequenceRestLayer: a sequence without one end element."""

    uses_lengths: ClassVar[bool] = True

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        _sequence_rank(self.kind, x)
        _sequence_rank(self.kind, y, "Output")
        if x.dims is not None and isinstance(x.dims[0], int) and x.dims[0] < 2:
            raise ShapeError(f'port "Input" has shape {x}, a sequence of one element; {self.kind} needs at least 2 (it drops one).')
        dims = x.dims if x.dims is not None else (None, *y.dims[1:]) if y.dims is not None else None
        if dims is None:
            return types
        first = x.dims[0] if x.dims is not None else None
        rest = TensorType(tuple(dims[1:]))
        if y.dims is not None:
            rest = rest.unify(TensorType(y.dims[1:]))
        out_first = first - 1 if isinstance(first, int) else first if first is not None else (y.dims[0] if y.dims is not None else None)
        in_first = first if first is not None else (out_first + 1 if isinstance(out_first, int) else out_first)
        types["Input"] = TensorType((in_first, *rest.dims), x.element, x.bound)  # type: ignore[misc]
        types["Output"] = TensorType((out_first, *rest.dims), x.element, x.bound)  # type: ignore[misc]
        return types

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        return lengths - 1


@dataclass(frozen=True, eq=False, repr=False)
class SequenceMostLayer(_SequenceDropLayer):
    """A sequence without its last element: input ``(n, …)``, output ``(n - 1, …)``.

    >>> SequenceMostLayer()([1, 2, 3]).tolist()
    [1.0, 2.0]
    """

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        lengths = _lengths_or_full(x, lengths)
        _refuse_empty(self.kind, lengths, 2)
        # The element dropped from a shorter example sits inside the padded batch: zero it.
        return _zero_padding(x[:, :-1], lengths - 1) if bool((lengths < x.shape[1]).any()) else x[:, :-1]


@dataclass(frozen=True, eq=False, repr=False)
class SequenceRestLayer(_SequenceDropLayer):
    """A sequence without its first element: input ``(n, …)``, output ``(n - 1, …)``.

    >>> SequenceRestLayer()([1, 2, 3]).tolist()
    [2.0, 3.0]
    """

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        _refuse_empty(self.kind, _lengths_or_full(x, lengths), 2)
        return x[:, 1:]


@dataclass(frozen=True, eq=False, repr=False)
class SequenceReverseLayer(Layer):
    """A sequence in reverse order (each example within its own length): input and output ``(n, …)``.

    >>> SequenceReverseLayer()([1, 2, 3]).tolist()
    [3.0, 2.0, 1.0]
    """

    uses_lengths: ClassVar[bool] = True

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        _sequence_rank(self.kind, types["Input"])
        return same_type(types)

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return reverse_sequences(x, lengths)


def reverse_sequences(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Each example of the batch ``x`` reversed along axis 1 within its own length."""
    if lengths is None or bool((lengths == x.shape[1]).all()):
        return x.flip(1)
    lengths = lengths.to(device=x.device, dtype=torch.int64)
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    # position t of example b reads position L_b - 1 - t; the padding stays where it is
    source = torch.where(steps < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - steps, steps)
    return x.gather(1, source.view(*source.shape, *([1] * (x.dim() - 2))).expand_as(x))


@dataclass(frozen=True, eq=False, repr=False)
class SequenceIndicesLayer(Layer):
    """The position of each element of a sequence, counting from 0: input ``(n, …)``, output
    ``(n,)`` integers ``0 … n-1``, ready for an EmbeddingLayer of positions.

    ``max_length`` (Wolfram's ``SequenceIndicesLayer[n]``) bounds the positions, so the output
    type is integers in ``0 … max_length-1`` and a longer sequence is refused.

    >>> SequenceIndicesLayer(8)([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).tolist()
    [0, 1, 2]
    >>> SequenceIndicesLayer(8, input="Varying").types["Output"]
    TensorType(('Varying',), element='Integer', bound=8)
    """

    max_length: int | None = None

    uses_lengths: ClassVar[bool] = True

    def validate(self) -> None:
        if not _optional_positive_int(self.max_length):
            raise NetError(f"SequenceIndicesLayer: max_length (the longest sequence, the size of a position table) must be a positive int or None, not {self.max_length!r}.")

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        _sequence_rank(self.kind, x)
        if y.rank not in (None, 1):
            raise ShapeError(f'port "Output" holds one position per element, a vector, but has shape {y}.')
        first = x.dims[0] if x.dims is not None else None
        if y.dims is not None:
            first = TensorType((first,)).unify(TensorType(y.dims)).dims[0]  # type: ignore[index]
        if isinstance(first, int) and self.max_length is not None and first > self.max_length:
            raise ShapeError(f'port "Input" has sequences of length {first}, beyond the {self.max_length} positions of max_length={self.max_length}; shorten the sequences or use a larger max_length.')
        if x.dims is not None:
            types["Input"] = x.with_dims((first, *x.dims[1:]))
        types["Output"] = TensorType((first,), "Integer", self.max_length)
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        steps = x.shape[1]
        if self.max_length is not None and steps > self.max_length:
            longest = steps if lengths is None else int(lengths.max())
            if longest > self.max_length:
                raise NetError(
                    f'SequenceIndicesLayer: port "Input" received a sequence of length {longest}, beyond its max_length={self.max_length} positions '
                    f"(a position table holds {self.max_length}); shorten the sequence or use a larger max_length."
                )
        positions = torch.arange(steps, device=x.device).unsqueeze(0).expand(x.shape[0], steps)
        return positions if lengths is None else _zero_padding(positions, lengths.to(x.device))
