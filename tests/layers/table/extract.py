"""Entries of symnet/layers/extract.py: ExtractLayer."""

import torch

from symnet import ExtractLayer

from .entry import Entry


def _positions(shape: tuple[int, ...], position: tuple[int, ...]):
    """A real "Input" and integer positions inside it (negative ones too, counted from the end)."""

    def inputs(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
        x = torch.rand((batch, *shape), generator=generator, dtype=torch.float64) * 2 - 1
        depth = position[-1]
        columns = [torch.randint(-shape[axis], shape[axis], (batch, *position[:-1], 1), generator=generator) for axis in range(depth)]
        return [x, torch.cat(columns, dim=-1)]

    return inputs


def _reference(a, x, position):
    batch = torch.arange(x.shape[0]).view(-1, *([1] * (position.dim() - 2)))
    return x[(batch, *position.unbind(-1))]


ENTRIES = [
    # rows of a table at token ids, as a language model's embedding lookup
    Entry(lambda: ExtractLayer(input=[(5, 3), (4, 1)]), _reference, "rows", inputs=_positions((5, 3), (4, 1))),
    # positions of two integers: elements of a matrix
    Entry(lambda: ExtractLayer(input=[(3, 4, 2), (5, 2)]), _reference, "depth2", inputs=_positions((3, 4, 2), (5, 2))),
    # a single position
    Entry(lambda: ExtractLayer(input=[(3, 4), (1,)]), _reference, "one", inputs=_positions((3, 4), (1,))),
]
