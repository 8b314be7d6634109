"""ImageAugmentationLayer: random crops, reflections, brightness and contrast while training."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import NetError, ShapeError, number
from ..types import VARYING, TensorType
from .base import Layer, require_rank


def _probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


@dataclass(frozen=True, eq=False, repr=False)
class ImageAugmentationLayer(Layer):
    """Crops images of shape ``(channels, height, width)`` to ``size = (h, w)``: at a random place
    while training, the centre otherwise (Wolfram's ``ImageAugmentationLayer[{h, w}]``).

    While training it can also reflect each image, with ``reflection_probabilities =
    (vertical, horizontal)`` (Wolfram's "ReflectionProbabilities": a vertical reflection turns
    the image upside down, a horizontal one mirrors left and right), and, as a symnet extension,
    change its ``contrast`` (the deviations from the image's mean multiplied by a factor drawn
    from [1 - contrast, 1 + contrast]) and then its ``brightness`` (a number drawn from
    [-brightness, brightness] added to every pixel). Values are not clipped.

    The random numbers come from torch's global generator, as DropoutLayer's do, which NetTrain
    seeds with ``random_seeding``: training twice with one seed sees the same augmentations.
    ``net(x, evaluation_mode="Train")`` applies random transformations outside NetTrain.

    >>> layer = ImageAugmentationLayer((2, 2), input=(1, 4, 4))
    >>> layer.types["Output"]
    TensorType((1, 2, 2))
    >>> layer(np.arange(16.0).reshape(1, 4, 4)).tolist()  # the centre crop
    [[[5.0, 6.0], [9.0, 10.0]]]
    """

    size: int | tuple[int, int] | None = None
    reflection_probabilities: tuple[float, float] = field(default=(0.0, 0.0), kw_only=True)
    brightness: float = field(default=0.0, kw_only=True)
    contrast: float = field(default=0.0, kw_only=True)

    def __post_init__(self) -> None:
        if isinstance(self.size, list):
            object.__setattr__(self, "size", tuple(self.size))
        if isinstance(self.reflection_probabilities, list):
            object.__setattr__(self, "reflection_probabilities", tuple(self.reflection_probabilities))
        super().__post_init__()

    def validate(self) -> None:
        size = (self.size, self.size) if isinstance(self.size, int) and not isinstance(self.size, bool) else self.size
        if size is not None and not (isinstance(size, tuple) and len(size) == 2 and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in size)):
            raise NetError(f"ImageAugmentationLayer: the size must be (height, width), two positive ints (or one for a square), not {self.size!r}.")
        reflections = self.reflection_probabilities
        if not (isinstance(reflections, tuple) and len(reflections) == 2 and all(_probability(p) for p in reflections)):
            raise NetError(where=self.kind, option="reflection_probabilities", expected="(vertical, horizontal), two probabilities in [0, 1]", received=reflections)
        number(self.brightness, where=self.kind, option="brightness", minimum=0, fix="It is the largest change drawn while training.")
        number(self.contrast, where=self.kind, option="contrast", minimum=0, maximum=1, fix="The contrast factor is drawn from [1 - contrast, 1 + contrast].")

    def _size(self) -> tuple[int, int] | None:
        return (self.size, self.size) if isinstance(self.size, int) else self.size

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        require_rank(types["Input"], (3,), "Input", "images: channels, height, width")
        require_rank(types["Output"], (3,), "Output", "images: channels, height, width")
        x = types["Input"].unify(TensorType((None, None, None)))
        y = types["Output"].unify(TensorType((None, None, None)))
        size = self._size()
        if size is not None:
            y = y.unify(TensorType((None, *size)))
        channels = x.dims[0] if isinstance(x.dims[0], int) else y.dims[0]  # type: ignore[index]
        if VARYING in x.dims[1:]:  # type: ignore[index]
            raise ShapeError(f'port "Input" has shape {x}, but images need a fixed height and width.')
        crop = y.dims[1:]  # type: ignore[index]
        image = x.dims[1:]  # type: ignore[index]
        if all(isinstance(d, int) for d in (*crop, *image)) and any(c > i for c, i in zip(crop, image)):
            raise ShapeError(
                f'port "Input" has images of height and width {tuple(image)}, smaller than the crop size {tuple(crop)}. '
                "Fix: make the crop no larger than the images (or resize them first with the image encoder or a ResizeLayer)."
            )
        types["Input"] = x.unify(TensorType((channels, None, None)))
        types["Output"] = y.unify(TensorType((channels, *crop)))
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        batch, _, height, width = x.shape
        crop_height, crop_width = self.types["Output"].dims[1:]  # type: ignore[index, misc]
        if not training:
            top, left = (height - crop_height) // 2, (width - crop_width) // 2
            return x[:, :, top : top + crop_height, left : left + crop_width]
        # one random crop and reflection per example, gathered with index grids (no Python loop)
        top = torch.randint(0, height - crop_height + 1, (batch, 1))
        left = torch.randint(0, width - crop_width + 1, (batch, 1))
        vertical = torch.rand(batch, 1) < self.reflection_probabilities[0]
        horizontal = torch.rand(batch, 1) < self.reflection_probabilities[1]
        rows, columns = torch.arange(crop_height), torch.arange(crop_width)
        rows = top + torch.where(vertical, crop_height - 1 - rows, rows)  # (batch, crop_height)
        columns = left + torch.where(horizontal, crop_width - 1 - columns, columns)  # (batch, crop_width)
        examples = torch.arange(batch)[:, None, None]
        y = x.permute(0, 2, 3, 1)[examples, rows[:, :, None], columns[:, None, :]].permute(0, 3, 1, 2)
        shape = (batch, 1, 1, 1)
        if self.contrast > 0:
            factor = 1 + (2 * torch.rand(shape, dtype=y.dtype) - 1) * self.contrast
            mean = y.mean(dim=(1, 2, 3), keepdim=True)
            y = (y - mean) * factor + mean
        if self.brightness > 0:
            y = y + (2 * torch.rand(shape, dtype=y.dtype) - 1) * self.brightness
        return y.contiguous()
