"""Normalization layers: BatchNormalizationLayer (batch statistics) and NormalizationLayer
(layer normalization over trailing axes), UnitVectorLayer (vectors scaled to length 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError, number
from ..types import VARYING, TensorType
from .base import Layer, same_type
from .batch_statistics import global_batch_norm, shared_weight


def _positive_number(kind: str, name: str, value: Any) -> None:
    number(value, where=kind, option=name, minimum=0, exclusive_minimum=True, error=NetError)


@dataclass(frozen=True, eq=False, repr=False)
class BatchNormalizationLayer(Layer):
    """Normalizes each channel (the first axis) with the mean and variance of a batch while
    training, and with their moving averages otherwise; then scales by ``Scaling`` and adds ``Biases``.

    The input has shape ``(channels, …)``, of rank 1 or more. ``epsilon`` is added to the
    variance; ``momentum`` is the weight of the old moving statistics in each update, as in the
    Wolfram framework: ``moving = momentum * moving + (1 - momentum) * batch`` (torch's
    ``momentum`` is ``1 - momentum``). Arrays: "Scaling" and "Biases" (learned), "MovingMean" and
    "MovingVariance" (updated by training, not by gradients), each of shape ``(channels,)``. A
    layer frozen by ``learning_rate_multipliers`` (0) keeps its moving statistics and normalizes
    with them while training, as Wolfram's NetTrain freezes them.

    >>> layer = NetInitialize(BatchNormalizationLayer(input=(2, 3)))
    >>> layer.types["MovingMean"]
    TensorType((2,))
    >>> layer([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]).round(3).tolist()
    [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    """

    epsilon: float = 1e-5
    momentum: float = 0.9

    def validate(self) -> None:
        _positive_number("BatchNormalizationLayer", "epsilon", self.epsilon)
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, int | float) or not 0 <= self.momentum <= 1:
            raise NetError(
                f"BatchNormalizationLayer: momentum must be a number in [0, 1] (the weight of the old moving statistics), not {self.momentum!r}."
            )

    def array_names(self) -> tuple[str, ...]:
        return ("Scaling", "Biases", "MovingMean", "MovingVariance")

    def state_array_names(self) -> tuple[str, ...]:
        return ("MovingMean", "MovingVariance")

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        types = same_type(types)
        x = types["Input"]
        if x.rank == 0:
            raise ShapeError(f'port "Input" needs a tensor of rank 1 or more (channels first) but received {x}.')
        channels = TensorType((None,))
        for name in self.array_names():
            try:
                channels = channels.unify(types[name])
            except ShapeError:
                raise ShapeError(f'the array "{name}" has shape {types[name].shape_str()} but the arrays must all be vectors of the same size, one value per channel.') from None
        if x.dims is not None:
            if x.dims[0] == VARYING:
                raise ShapeError(f'port "Input" has a varying first axis {x}, but the first axis holds the channels and must have a fixed size.')
            if isinstance(channels.dims[0], int) and isinstance(x.dims[0], int) and channels.dims[0] != x.dims[0]:  # type: ignore[index]
                raise ShapeError(f'port "Input" has {x.dims[0]} channels (its first axis, shape {x}) but the arrays have {channels.dims[0]}.')  # type: ignore[index]
            channels = channels.unify(TensorType((x.dims[0],)))
            x = x.with_dims((channels.dims[0], *x.dims[1:]))  # type: ignore[index]
        types["Input"] = types["Output"] = x
        for name in self.array_names():
            types[name] = channels
        return types

    def init_array(self, name: str, shape: tuple[int, ...], method: str, generator: torch.Generator) -> torch.Tensor:
        # The identity transform at first: unit scale and variance, zero shift and mean.
        return torch.ones(shape) if name in ("Scaling", "MovingVariance") else torch.zeros(shape)

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        shared = shared_weight() if training else None
        if training and x.numel() == x.shape[1] and shared is None:  # a process's share may hold 1 example: the global batch counts
            raise NetError(
                f"BatchNormalizationLayer: training needs more than one value per channel, but the batch has shape {tuple(x.shape)}; use a batch size above 1."
            )
        if training and torch.is_grad_enabled() and not (arrays["Scaling"].requires_grad or arrays["Biases"].requires_grad):
            # Frozen while the rest of the net learns (learning rate multiplier 0): as Wolfram's NetTrain, keep
            # the moving statistics and normalize with them, so frozen features are the same in training and
            # evaluation. (Evaluating with evaluation_mode="Train" computes no gradients: batch statistics.)
            training = False
        if training and shared is not None:
            # a distributed run: statistics over every process's examples (SyncBatchNorm), so N processes equal one
            return global_batch_norm(x, arrays["MovingMean"], arrays["MovingVariance"], arrays["Scaling"], arrays["Biases"],
                                     momentum=1 - self.momentum, epsilon=self.epsilon, weight=shared)
        # F.batch_norm updates the moving statistics in place when training.
        return F.batch_norm(
            x, arrays["MovingMean"], arrays["MovingVariance"], arrays["Scaling"], arrays["Biases"],
            training=training, momentum=1 - self.momentum, eps=self.epsilon,
        )


def _normalized_axes(levels: Any, rank: int) -> tuple[int, ...] | None:
    """The axes ``levels`` names in an input of ``rank``, or None if they are out of range."""
    if isinstance(levels, int):
        start = levels + rank if levels < 0 else levels
        return tuple(range(start, rank)) if 0 <= start < rank else None
    axes = tuple(a + rank if a < 0 else a for a in levels)
    return axes if all(0 <= a < rank for a in axes) else None


@dataclass(frozen=True, eq=False, repr=False)
class NormalizationLayer(Layer):
    """Layer normalization: each example is normalized to zero mean and unit variance over its
    trailing axes, then scaled by "Scaling" and shifted by "Biases".

    ``levels`` says which axes are normalized: an int ``k`` means the axes from ``k`` to the
    last (the default ``-1``: the last axis; ``0``: all axes), a tuple lists them and must be
    the trailing axes in order, e.g. ``(-2, -1)``. ``epsilon`` is added to the variance.
    "Scaling" and "Biases" have the shape of the normalized axes.

    >>> layer = NetInitialize(NormalizationLayer(input=(2, 3)))
    >>> layer.types["Scaling"]
    TensorType((3,))
    >>> np.round(layer([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]).astype(float), 3).tolist()
    [[-1.225, 0.0, 1.225], [0.0, 0.0, 0.0]]
    """

    epsilon: float = 1e-5
    levels: int | tuple[int, ...] = -1

    def validate(self) -> None:
        _positive_number("NormalizationLayer", "epsilon", self.epsilon)
        levels = self.levels
        integers = (levels,) if isinstance(levels, int) else tuple(levels) if isinstance(levels, tuple | list) else None
        if not integers or any(isinstance(a, bool) or not isinstance(a, int) for a in integers):
            raise NetError(f"NormalizationLayer: levels must be an int (normalize from that axis to the last) or a tuple of trailing axes, not {levels!r}.")
        if isinstance(levels, list):
            object.__setattr__(self, "levels", tuple(levels))

    def array_names(self) -> tuple[str, ...]:
        return ("Scaling", "Biases")

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        types = same_type(types)
        x = types["Input"]
        arrays = types["Scaling"].unify(types["Biases"])
        if x.dims is not None:
            rank = len(x.dims)
            axes = _normalized_axes(self.levels, rank)
            if axes is None:
                raise ShapeError(f"levels={self.levels!r} is outside the input {x} of rank {rank}.")
            if axes != tuple(range(rank - len(axes), rank)):
                raise ShapeError(f"levels={self.levels!r} names the axes {axes} of the input {x}, but only trailing axes (ending with axis {rank - 1}) can be normalized.")
            normalized = x.dims[rank - len(axes) :]
            if VARYING in normalized:
                raise ShapeError(f'port "Input" has shape {x}, with a varying dimension among the normalized axes {axes}; "Scaling" and "Biases" need fixed sizes.')
            arrays = arrays.unify(TensorType(normalized))
            x = x.with_dims((*x.dims[: rank - len(axes)], *arrays.dims))  # type: ignore[misc]
        types["Input"] = types["Output"] = x
        types["Scaling"] = types["Biases"] = arrays
        return types

    def init_array(self, name: str, shape: tuple[int, ...], method: str, generator: torch.Generator) -> torch.Tensor:
        return torch.ones(shape) if name == "Scaling" else torch.zeros(shape)

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        scaling = arrays["Scaling"]
        return F.layer_norm(x, tuple(scaling.shape), scaling, arrays["Biases"], eps=self.epsilon)


@dataclass(frozen=True, eq=False, repr=False)
class UnitVectorLayer(Layer):
    """Scales each vector (the last axis) to unit Euclidean length; a zero vector stays zero.

    The input has rank 1 or more (a vector, a sequence of vectors …); the output its shape.

    >>> UnitVectorLayer()([3.0, 4.0]).tolist()
    [0.6000000238418579, 0.800000011920929]
    """

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        types = same_type(types)
        if types["Input"].rank == 0:
            raise ShapeError(f'port "Input" needs a vector (or a tensor whose last axis holds vectors) but received the scalar {types["Input"]}.')
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        return F.normalize(x, dim=-1)
