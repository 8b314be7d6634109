"""Layers for sequences: EmbeddingLayer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError
from ..types import TensorType
from .base import Layer


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
