"""Entries of symnet/layers/structure.py (Flatten, Reshape, Transpose, Catenate, Part, Replicate) and sequence_ends.py (Append, Prepend)."""

import torch

from symnet import All, AppendLayer, CatenateLayer, FlattenLayer, PartLayer, PrependLayer, ReplicateLayer, ReshapeLayer, TransposeLayer

from .entry import Entry

FLATTEN = [
    (None, lambda x: x.reshape(x.shape[0], -1)),
    (0, lambda x: x),
    (1, lambda x: x.reshape(x.shape[0], 6, 4)),
    (2, lambda x: x.reshape(x.shape[0], 24)),
    (-1, lambda x: x.reshape(x.shape[0], 2, 12)),
    (-2, lambda x: x.reshape(x.shape[0], 24)),
]

TRANSPOSE = [
    (None, lambda x: x.transpose(1, 2)),
    ((0, 2), lambda x: x.transpose(1, 3)),
    ((1, -1), lambda x: x.transpose(2, 3)),
    ((2, 0, 1), lambda x: x.permute(0, 3, 1, 2)),
]

PART = [
    (1, lambda x: x[:, 1]),
    (-1, lambda x: x[:, -1]),
    (slice(1, 3), lambda x: x[:, 1:3]),
    (slice(-3, None), lambda x: x[:, -3:]),
    ((slice(1, 3), All), lambda x: x[:, 1:3, :]),
    (((1, 3), 2), lambda x: x[:, 1:3, 2]),
    ((All, slice(0, 5, 2)), lambda x: x[:, :, 0:5:2]),
    ((1, -1), lambda x: x[:, 1, -1]),
    ((All, [4, 0]), lambda x: x[:, :, [4, 0]]),
    ([3, -4], lambda x: x[:, [3, 0]]),
]

REPLICATE = [
    (3, 0, lambda x: x[:, None].expand(-1, 3, 2, 4)),
    (3, 1, lambda x: x[:, :, None].expand(-1, 2, 3, 4)),
    (3, -1, lambda x: x[..., None].expand(-1, 2, 4, 3)),
    ((2, 3), 0, lambda x: x[:, None, None].expand(-1, 2, 3, 2, 4)),
]


def _label(value: object) -> str:
    return str(value).replace(" ", "").replace("slice", "")


def _flatten(level: object, reference: object) -> Entry:
    return Entry(lambda: FlattenLayer(level, input=(2, 3, 4)), lambda a, x: reference(x), f"level{level}")


def _transpose(perm: object, reference: object) -> Entry:
    return Entry(lambda: TransposeLayer(perm, input=(2, 3, 4)), lambda a, x: reference(x), _label(perm))


def _part(spec: object, reference: object) -> Entry:
    return Entry(lambda: PartLayer(spec, input=(4, 5)), lambda a, x: reference(x), _label(spec))


def _replicate(spec: object, level: int, reference: object) -> Entry:
    return Entry(lambda: ReplicateLayer(spec, level, input=(2, 4)), lambda a, x: reference(x), f"{_label(spec)}-level{level}")


ENTRIES = [
    *(_flatten(level, reference) for level, reference in FLATTEN),
    Entry(lambda: ReshapeLayer((3, -1), input=(2, 6)), lambda a, x: x.reshape(x.shape[0], 3, 4), "minus-one"),
    Entry(lambda: ReshapeLayer(("Inferred",), input=(2, 3)), lambda a, x: x.reshape(x.shape[0], 6), "inferred"),
    Entry(lambda: ReshapeLayer(6, input=(3, 2)), lambda a, x: x.reshape(x.shape[0], 6), "int"),
    *(_transpose(perm, reference) for perm, reference in TRANSPOSE),
    Entry(lambda: CatenateLayer(input=[(2, 3), (4, 3)]), lambda a, x, y: torch.cat([x, y], 1), "level0"),
    Entry(lambda: CatenateLayer(-1, input=[(2, 1), (2, 3), (2, 2)]), lambda a, x, y, z: torch.cat([x, y, z], -1), "three-last-level"),
    *(_part(spec, reference) for spec, reference in PART),
    *(_replicate(spec, level, reference) for spec, level, reference in REPLICATE),
    Entry(lambda: ReplicateLayer(input=2, output=(4, 2)), lambda a, x: x[:, None].expand(-1, 4, 2), "size-from-output"),
    Entry(lambda: AppendLayer(input=(3, 2)), lambda a, sequence, element: torch.cat([sequence, element[:, None]], 1)),
    Entry(lambda: PrependLayer(input=(3, 2)), lambda a, sequence, element: torch.cat([element[:, None], sequence], 1)),
]
