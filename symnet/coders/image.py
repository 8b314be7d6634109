"""The "Image" encoder (pictures to float tensors) and decoder (tensors to pictures).

The encoder takes one image or a batch: a PIL image, a file path, a pixel array or a list of
them. Arrays are channels-last, as Pillow and numpy give them: ``(H, W)`` or ``(H, W, C)`` is
one image (a 3-axis array is one image when its last axis has 1, 3 or 4 entries), ``(N, H, W)``
or ``(N, H, W, C)`` a batch. Its output is float32 ``(C, H, W)`` per example with values in
[0, 1], then ``(x - mean_image) / sqrt(variance_image)`` when those are given.

The rules for pixel arrays (the same for ``net(x)`` and NetTrain, which share
:mod:`symnet.prepare`; an array of *floats* already of the port's shape ``(C, H, W)`` bypasses
the encoder there, integers never do):

- **Values**: uint8 and other integers are 0 … 255 (integers outside are refused); floats are
  in [0, 1], and a float array outside it (0 … 255 floats, say) is refused with the fix
  (``x / 255``), at the encoder's size and when resizing alike: scaling by a guess would give
  a silently different answer. Complex pixels are refused.
- **Layout**: an array whose last three axes are exactly the port's ``(C, H, W)`` (an integer
  pixel batch in the net's own layout) is read channels-first; any other is channels-last.
- **One image or a batch**: a 3-axis array whose last axis is not 1, 3 or 4 is a batch of
  grayscale images ``(N, H, W)``, except when its first two axes (and not its last two) are
  the encoder's own ``(height, width)``: then it is one image with a wrong number of channels,
  and is refused (``(8, 8, 5)`` given to an 8×8 encoder is not 8 images 5 pixels wide).

Batches of arrays at the target size are converted in a few whole-batch torch operations;
images that need resizing are decoded and resized by Pillow in a thread pool (Pillow releases
the GIL while it resamples). Many files (``PROCESS_THRESHOLD`` or more) are decoded in worker
processes: opening and parsing a small PNG is mostly Python work that holds the GIL, so
threads alone give no speed-up there.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError, NetError
from ..types import TensorType
from .base import Coder, as_batch_tensor, check_choice, register

#: color space → (Pillow mode, channels)
COLOR_SPACES = {"Grayscale": ("L", 1), "RGB": ("RGB", 3), "RGBA": ("RGBA", 4)}
RESIZE_METHODS = ("Stretch", "Fit", "Fill")
RESAMPLINGS = {
    "Nearest": Image.Resampling.NEAREST,
    "Bilinear": Image.Resampling.BILINEAR,
    "Bicubic": Image.Resampling.BICUBIC,
    "Lanczos": Image.Resampling.LANCZOS,
    "Box": Image.Resampling.BOX,
    "Hamming": Image.Resampling.HAMMING,
}
#: modes whose pixel range is unknown (16/32-bit): converting them to 8 bits would clip silently
HIGH_DEPTH_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
#: float pixels may stray this far outside [0, 1] (rounding in a user's own arithmetic)
FLOAT_TOLERANCE = 1e-3

_executor: ThreadPoolExecutor | None = None
WORKERS = max(2, os.cpu_count() or 1)


def executor() -> ThreadPoolExecutor:
    """The shared pool that decodes image files (one thread per core)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="symnet-image")
    return _executor


_processes: ProcessPoolExecutor | None = None
#: from this many files on, decoding goes to worker processes
PROCESS_THRESHOLD = 256


def processes() -> ProcessPoolExecutor | None:
    """The shared worker processes that decode many files (Linux only: they are forked, so
    they start at once and need not import anything)."""
    global _processes
    if _processes is None and sys.platform.startswith("linux") and WORKERS > 1:
        _processes = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("fork"))
    return _processes


def _decode_files(job: tuple[Any, list[tuple[Any, int]]]) -> list[np.ndarray]:
    """Run in a worker process: decode one chunk of files with the encoder's settings."""
    encoder, chunk = job
    return encoder._load_chunk(chunk)  # type: ignore[no-any-return]


def _check_size(where: str, size: Any) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    size = tuple(size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size):
        raise NetError(f"{where}: size must be (width, height) with positive ints, or one int for a square; received {size!r}.")
    return size  # type: ignore[return-value]


def _check_statistic(where: str, name: str, value: Any, channels: int, positive: bool) -> Any:
    if value is None:
        return None
    values = (value,) if isinstance(value, int | float) else tuple(float(v) for v in value)
    if len(values) not in (1, channels):
        raise NetError(f"{where}: {name} needs 1 or {channels} values (one per channel) but received {len(values)}.")
    if positive and any(v <= 0 for v in values):
        raise NetError(f"{where}: {name} must be positive; received {value!r}.")
    return float(values[0]) if len(values) == 1 else values


def _channel_view(value: Any) -> torch.Tensor:
    return torch.tensor(value if isinstance(value, tuple) else (value,), dtype=torch.float32).view(1, -1, 1, 1)


def _convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(N, H, W, c) floats in [0, 1] → (N, channels, H, W), converting as Pillow does."""
    have = x.shape[-1]
    if have == channels:
        return x.permute(0, 3, 1, 2).contiguous()
    if channels == 1:  # ITU-R 601-2 luma, as Pillow's convert("L"); alpha is ignored
        gray = x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114 if have >= 3 else x[..., 0]
        return gray.unsqueeze(1)
    rgb = x[..., :3] if have >= 3 else x[..., :1].expand(*x.shape[:-1], 3)
    if channels == 3:
        return rgb.permute(0, 3, 1, 2).contiguous()
    alpha = torch.ones_like(x[..., :1])
    return torch.cat([rgb, alpha], dim=-1).permute(0, 3, 1, 2).contiguous()


def _checked_pixels(array: np.ndarray) -> np.ndarray:
    """Pixel values as the encoder reads them: uint8 as is, other integers checked to be in
    0 … 255 (then uint8), floats checked to be in [0, 1]; any other range is refused with the
    fix, since guessing a scale would silently change the answer."""
    if array.dtype == np.uint8 or array.dtype == np.bool_ or array.size == 0:
        return array
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise InputError(f"Image encoder: integer pixels must be in 0 … 255 but these range from {low} to {high}; scale them to 0 … 255 (or to floats in [0, 1]) first.")
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if np.isnan(array).any() or np.isinf(array).any():
            raise InputError("Image encoder: the pixels contain NaN or infinite values.")
        if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
            hint = " divide by 255 (x / 255), or give uint8 pixels" if high <= 255 and low >= 0 else " rescale them to [0, 1] first"
            raise InputError(f"Image encoder: float pixels must be in [0, 1] but these range from {low:g} to {high:g};{hint}.")
        return array
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError("Image encoder: received complex pixels; give real pixel values (uint8 0 … 255 or floats in [0, 1]).")
    return array


@dataclass(frozen=True, repr=False)
class ImageParameters(Coder):
    """The parameters the Image encoder and decoder share (size, color space, normalization)."""

    kind: ClassVar[str] = "Image"

    size: tuple[int, int] | None = None
    color_space: str = "RGB"
    mean_image: float | tuple[float, ...] | None = None
    variance_image: float | tuple[float, ...] | None = None
    resize_method: str = "Stretch"
    resampling: str = "Bilinear"
    padding: int = 0
    crop_fraction: float = 1.0

    def __post_init__(self) -> None:
        where = f'"{self.kind}" {"encoder" if self.role == "NetEncoder" else "decoder"}'
        object.__setattr__(self, "size", _check_size(where, self.size))
        check_choice(where, "color_space", self.color_space, tuple(COLOR_SPACES))
        check_choice(where, "resize_method", self.resize_method, RESIZE_METHODS)
        check_choice(where, "resampling", self.resampling, tuple(RESAMPLINGS))
        object.__setattr__(self, "mean_image", _check_statistic(where, "mean_image", self.mean_image, self.channels, False))
        object.__setattr__(self, "variance_image", _check_statistic(where, "variance_image", self.variance_image, self.channels, True))
        if not (isinstance(self.padding, int) and 0 <= self.padding <= 255):
            raise NetError(f"{where}: padding must be an int pixel value in 0 … 255; received {self.padding!r}.")
        fraction = self.crop_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
            raise NetError(f"{where}: crop_fraction must be a number in (0, 1], the part of the shorter side kept; received {fraction!r}.")
        if fraction != 1 and self.resize_method != "Fill":
            raise NetError(f'{where}: crop_fraction={fraction!r} crops the centre of the image, which only resize_method="Fill" does; received resize_method="{self.resize_method}". Fix: add resize_method="Fill".')

    @property
    def channels(self) -> int:
        return COLOR_SPACES[self.color_space][1]

    @property
    def port_type(self) -> TensorType:
        if self.size is None:
            return TensorType((self.channels, None, None))
        width, height = self.size
        return TensorType((self.channels, height, width))


@register
@dataclass(frozen=True, repr=False)
class ImageEncoder(ImageParameters):
    """Images (PIL images, file paths, uint8 arrays) to float tensors of shape (C, H, W).

    Arguments: ``size`` (width, height) or one int for a square, or None to keep each image's
    size; ``color_space`` "Grayscale", "RGB" or "RGBA"; ``mean_image`` and ``variance_image``
    (one value or one per channel) to normalize; ``resize_method`` "Stretch" (ignore the aspect
    ratio), "Fit" (fit inside, pad with ``padding``, a 0…255 value) or "Fill" (cover, crop the
    center); ``resampling`` "Bilinear", "Nearest", "Bicubic", "Lanczos", "Box" or "Hamming";
    ``crop_fraction`` (with "Fill") keeps only that central part of the shorter side, so 0.875
    at size 224 is ImageNet's evaluation crop (resize the shorter side to 256, crop 224).

    >>> encoder = NetEncoder("Image", size=(28, 28), color_space="Grayscale")
    >>> encoder
    NetEncoder("Image", size=(28, 28), color_space="Grayscale")
    >>> batch, was_batch = encoder.encode(np.zeros((5, 28, 28), np.uint8))
    >>> tuple(batch.shape), was_batch
    ((5, 1, 28, 28), True)
    """

    role: ClassVar[str] = "NetEncoder"

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        """One image or a batch → (float32 tensor (N, C, H, W), whether it was a batch)."""
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        if isinstance(data, np.ndarray) and data.dtype != object:
            pixels, was_batch = self._array_layout(_checked_pixels(data))
            tensor = self._from_pixels(pixels)
        elif isinstance(data, list | tuple):
            if not data:
                raise InputError("Image encoder: received an empty batch.")
            tensor, was_batch = self._from_pixels(self._load_many(list(data)), resized=True), True
        else:
            tensor, was_batch = self._from_pixels(self._load_many([data]), resized=True), False
        return self._normalize(tensor), was_batch

    def _array_layout(self, array: np.ndarray) -> tuple[np.ndarray, bool]:
        """An image array as channels-last (N, H, W, c) and whether it was a batch (rules in the module docstring)."""
        encoded = self.port_type.dims
        if self.size is not None and array.ndim in (3, 4) and tuple(array.shape[-3:]) == encoded:
            # already the net's own channels-first layout (C, H, W): only the pixels need scaling
            channels_last = np.moveaxis(array, -3, -1)
            return (channels_last[None], False) if array.ndim == 3 else (channels_last, True)
        if array.ndim == 2:
            return array[None, :, :, None], False
        if array.ndim == 3:
            if array.shape[-1] in (1, 3, 4):
                return array[None], False
            if self.size is not None and (array.shape[1], array.shape[0]) == self.size and (array.shape[2], array.shape[1]) != self.size:
                # (H, W, c) at the encoder's own size: one image whose channel count is wrong,
                # not a batch of c-pixel-wide images to stretch
                raise InputError(
                    f"Image encoder: an array of shape {array.shape} is one {array.shape[1]}×{array.shape[0]} image with {array.shape[2]} channels, "
                    f"but an image has 1, 3 or 4 channels (Grayscale, RGB, RGBA); give a batch of grayscale images as (N, H, W, 1)."
                )
            return array[..., None], True
        if array.ndim == 4 and array.shape[-1] in (1, 3, 4):
            return array, True
        raise InputError(
            f"Image encoder: expected a channels-last image array (H, W), (H, W, C), (N, H, W) or (N, H, W, C) with C = 1, 3 or 4, but received shape {array.shape}."
        )

    def _from_pixels(self, pixels: np.ndarray, resized: bool = False) -> torch.Tensor:
        """(N, H, W, c) pixels (uint8, or floats in [0, 1]) → float32 (N, C, H, W), resizing if needed."""
        height, width = pixels.shape[1:3]
        if self.size is not None and not resized and ((width, height) != self.size or self.crop_fraction != 1):
            uint8 = pixels if pixels.dtype == np.uint8 else self._to_uint8(pixels)
            return self._from_pixels(self._load_many(list(uint8)), resized=True)
        if pixels.dtype == np.uint8:
            tensor = torch.from_numpy(pixels if pixels.flags.writeable else pixels.copy())
            if pixels.shape[-1] == 1 and self.channels == 1:
                # the common case (grayscale batches) in exactly the plain torch expression
                return tensor.squeeze(-1).float().div_(255).unsqueeze(1)
            return _convert_channels(tensor.float().div_(255), self.channels)
        if pixels.dtype == np.bool_ or np.issubdtype(pixels.dtype, np.floating):
            return _convert_channels(torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)), self.channels)
        raise InputError(f"Image encoder: expected uint8 pixels (0 … 255) or floats in [0, 1] but received an array of {pixels.dtype}; scale it to one of those first.")

    @staticmethod
    def _to_uint8(pixels: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(pixels.astype(np.float32) * 255), 0, 255).astype(np.uint8)

    def _load_many(self, items: list[Any]) -> np.ndarray:
        """Decode and resize each item (in parallel when there are several) → (N, H, W, C) uint8."""
        work = [(item, index) for index, item in enumerate(items)]
        workers = processes() if len(work) >= PROCESS_THRESHOLD and all(isinstance(item, str | os.PathLike) for item in items) else None
        if workers is not None:
            size = -(-len(work) // (WORKERS * 2))
            jobs = [(self, work[start : start + size]) for start in range(0, len(work), size)]
            arrays = [array for chunk in workers.map(_decode_files, jobs) for array in chunk]
        elif len(work) > 1:
            # a few contiguous chunks per thread: one task per image costs as much as a small PNG
            pool = executor()
            size = -(-len(work) // (WORKERS * 4))
            chunks = [work[start : start + size] for start in range(0, len(work), size)]
            arrays = [array for chunk in pool.map(self._load_chunk, chunks) for array in chunk]
        else:
            arrays = [self._load_one(work[0])]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            first, second = sorted(shapes)[:2]
            raise InputError(f"Image encoder: the images of a batch have different sizes ({first[1]}×{first[0]} and {second[1]}×{second[0]}); give the encoder a size, such as size=(28, 28), to resize them.")
        return np.stack(arrays)

    def _load_chunk(self, chunk: list[tuple[Any, int]]) -> list[np.ndarray]:
        return [self._load_one(work) for work in chunk]

    def _load_one(self, work: tuple[Any, int]) -> np.ndarray:
        item, index = work
        if isinstance(item, str | os.PathLike):
            path = os.fspath(item)
            try:
                with Image.open(path) as image:
                    image.load()
                    return self._pixels(image, f'the image file "{path}"')
            except FileNotFoundError:
                raise InputError(f'Image encoder: the image file "{path}" does not exist; give the path of an existing image file, a PIL image or an array of pixels.') from None
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
                raise InputError(f'Image encoder: cannot read the image file "{path}": it is corrupt or not an image ({error}).') from None
        if isinstance(item, Image.Image):
            return self._pixels(item, f"image {index}")
        if isinstance(item, np.ndarray) and item.dtype != object:
            pixels, was_batch = self._array_layout(_checked_pixels(item))
            if was_batch:
                raise InputError(f"Image encoder: item {index} of the batch is an array of shape {item.shape}, which is itself a batch; give one image per item.")
            uint8 = pixels[0] if pixels.dtype == np.uint8 else self._to_uint8(pixels[0])
            return self._pixels(Image.fromarray(uint8[..., 0] if uint8.shape[-1] == 1 else uint8), f"image {index}")
        raise InputError(f"Image encoder: expected a PIL image, an image file path or a uint8 array but received {type(item).__name__} (item {index}).")

    def _pixels(self, image: Image.Image, where: str) -> np.ndarray:
        """One PIL image converted to the color space and resized → (H, W, C) uint8."""
        mode = COLOR_SPACES[self.color_space][0]
        if image.mode in HIGH_DEPTH_MODES:
            raise InputError(
                f'Image encoder: {where} has the {image.mode} mode (16 or 32 bits per pixel), whose range of values is unknown; '
                'scale it to 8 bits first, for example image.point(lambda v: v / 256).convert("L").'
            )
        if image.mode != mode:
            image = image.convert(mode)
        image = self.resize(image)
        pixels = np.asarray(image)
        return pixels[..., None] if pixels.ndim == 2 else pixels

    def resize(self, image: Image.Image) -> Image.Image:
        """Resize a PIL image to the encoder's size with its resize method (Pillow's own operations)."""
        if self.size is None or (image.size == self.size and self.crop_fraction == 1):
            return image
        method = RESAMPLINGS[self.resampling]
        if self.resize_method == "Stretch":
            return image.resize(self.size, method)
        if self.resize_method == "Fill":
            # bleed trims that fraction of each edge before fitting: the central crop_fraction of the shorter side remains
            return ImageOps.fit(image, self.size, method, bleed=(1 - self.crop_fraction) / 2)
        color = self.padding if image.mode == "L" else (self.padding,) * len(image.getbands())
        return ImageOps.pad(image, self.size, method, color=color)

    def inverse(self) -> Coder:
        return ImageDecoder(self.size, self.color_space, self.mean_image, self.variance_image)

    def _normalize(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.mean_image is not None:
            tensor.sub_(_channel_view(self.mean_image))
        if self.variance_image is not None:
            tensor.div_(_channel_view(self.variance_image).sqrt_())
        return tensor


@register
@dataclass(frozen=True, repr=False)
class ImageDecoder(ImageParameters):
    """Float tensors (C, H, W) back to PIL images (undoing ``mean_image``/``variance_image``).

    >>> decoder = NetDecoder("Image", color_space="Grayscale")
    >>> decoder.decode(torch.ones(1, 1, 2, 3), Automatic)[0].size
    (3, 2)
    """

    role: ClassVar[str] = "NetDecoder"
    properties: ClassVar[tuple[str, ...]] = ("Image", "Array")

    def decode(self, batch: Any, prop: Any = None) -> list[Any]:
        """One PIL image per example (``prop`` Automatic or "Image"), or uint8 (H, W, C) arrays for "Array"."""
        name = prop[0] if isinstance(prop, tuple) and prop else prop
        if isinstance(name, str) and name not in self.properties:
            check_choice("Image decoder", "property", name, self.properties)
        x = as_batch_tensor(batch).to(torch.float32)
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise InputError(f"Image decoder: expected a batch of shape (N, {self.channels}, H, W) but received {tuple(x.shape)}.")
        if self.variance_image is not None:
            x = x * _channel_view(self.variance_image).sqrt()
        if self.mean_image is not None:
            x = x + _channel_view(self.mean_image)
        pixels = x.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        if name == "Array":
            return list(pixels)
        mode = COLOR_SPACES[self.color_space][0]
        return [Image.fromarray(p[..., 0] if mode == "L" else p, mode) for p in pixels]

    def inverse(self) -> Coder:
        return ImageEncoder(self.size, self.color_space, self.mean_image, self.variance_image)


__all__ = ["COLOR_SPACES", "RESIZE_METHODS", "ImageDecoder", "ImageEncoder", "ImageParameters"]
