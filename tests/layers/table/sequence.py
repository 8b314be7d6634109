"""Entries of symnet/layers/sequence.py: EmbeddingLayer."""

import torch
import torch.nn.functional as F

from symnet import EmbeddingLayer

from .entry import Entry


def _embedding(shape: tuple[int, ...]) -> Entry:
    # The input is integers, so gradcheck covers "Weights" only.
    return Entry(lambda: EmbeddingLayer(4, 7, input=shape), lambda a, x: F.embedding(x, a["Weights"]), f"rank{len(shape)}")


def _indices(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
    return [torch.randint(0, 7, (batch, 5), generator=generator)]


ENTRIES = [
    *(_embedding(shape) for shape in [(), (5,), (2, 3)]),
    Entry(lambda: EmbeddingLayer(3, 7, input="Varying"), lambda a, x: F.embedding(x, a["Weights"]), "varying", inputs=_indices),
]
