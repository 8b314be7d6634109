"""Entries of symnet/layers/norm.py: BatchNormalizationLayer, NormalizationLayer and UnitVectorLayer."""

import torch
import torch.nn.functional as F

from symnet import BatchNormalizationLayer, NormalizationLayer, UnitVectorLayer

from .entry import Entry


def _batch_norm(shape: tuple[int, ...]) -> Entry:
    # Scaling, Biases and the moving statistics start constant; the test makes them random.
    return Entry(
        lambda: BatchNormalizationLayer(epsilon=1e-3, input=shape),
        lambda a, x: F.batch_norm(x, a["MovingMean"], a["MovingVariance"], a["Scaling"], a["Biases"], False, eps=1e-3),
        f"rank{len(shape)}",
    )


def _normalization(levels: object, shape: tuple[int, ...], normalized: tuple[int, ...]) -> Entry:
    return Entry(
        lambda: NormalizationLayer(epsilon=1e-3, levels=levels, input=shape),
        lambda a, x: F.layer_norm(x, normalized, a["Scaling"], a["Biases"], eps=1e-3),
        f"levels{levels}-{shape}".replace(" ", ""),
    )


def _batch_statistics(a: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(x, a["MovingMean"].clone(), a["MovingVariance"].clone(), a["Scaling"], a["Biases"], True, eps=1e-5)


ENTRIES = [
    *(_batch_norm(shape) for shape in [(3,), (3, 5), (3, 4, 4)]),
    Entry(lambda: BatchNormalizationLayer(input=(2, 3)), _batch_statistics, "training", training=True, batch=3),
    *(
        _normalization(levels, shape, normalized)
        for levels, shape, normalized in [(-1, (2, 5), (5,)), (-2, (2, 3, 4), (3, 4)), (0, (3, 4), (3, 4)), ((-2, -1), (2, 3, 4), (3, 4)), ((1, 2), (2, 3, 4), (3, 4)), (-1, (6,), (6,))]
    ),
]

ENTRIES += [
    # inputs away from zero, where the norm is not differentiable
    Entry(lambda: UnitVectorLayer(input=(4, 3)), lambda a, x: x / x.norm(dim=-1, keepdim=True), low=0.1, high=1.0),
]
