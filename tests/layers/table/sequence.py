"""Entries of symnet/layers/sequence.py: EmbeddingLayer and the Sequence… layers."""

import torch
import torch.nn.functional as F

from symnet import EmbeddingLayer, SequenceIndicesLayer, SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer

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


# The layers that take sequences apart (their behaviour with lengths is in test_sequence_parts.py).
ENTRIES += [
    Entry(lambda: SequenceLastLayer(input=(4, 3)), lambda a, x: x[:, -1]),
    Entry(lambda: SequenceMostLayer(input=(4, 3)), lambda a, x: x[:, :-1]),
    Entry(lambda: SequenceRestLayer(input=(4, 3)), lambda a, x: x[:, 1:]),
    Entry(lambda: SequenceReverseLayer(input=(4, 3)), lambda a, x: x.flip(1)),
    # integer output: no gradient
    Entry(lambda: SequenceIndicesLayer(6, input=(4, 3)), lambda a, x: torch.arange(4).expand(x.shape[0], 4), gradcheck=False),
]
