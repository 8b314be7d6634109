"""Entries of symnet/layers/pooling.py: PoolingLayer, ResizeLayer, PaddingLayer."""

import numpy as np
import torch
import torch.nn.functional as F

from symnet import PaddingLayer, PoolingLayer, ResizeLayer, Scaled

from .entry import Entry

MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _per_axis(value: object, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * rank  # type: ignore[arg-type]


def total_pool_reference(x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...]) -> torch.Tensor:
    """Sums of windows of a zero-padded input, by unfolding: no pooling function involved."""
    padded = F.pad(x, [p for p in reversed(padding) for _ in range(2)])
    for axis, (k, s) in enumerate(zip(kernel, stride)):
        padded = padded.unfold(2 + axis, k, s)
    return padded.sum(dim=tuple(range(-len(kernel), 0)))


def _pooling(input_shape: tuple[int, ...], kernel: object, stride: object, padding: object) -> list[Entry]:
    rank = len(input_shape) - 1
    torch_stride = 1 if stride is None else stride  # Wolfram: PoolingLayer[n] = PoolingLayer[n, 1]
    label = f"{rank}d-k{kernel}-s{stride}-p{padding}".replace(" ", "")
    kernels, strides, paddings = (_per_axis(v, rank) for v in (kernel, torch_stride, padding))
    return [
        Entry(lambda: PoolingLayer(kernel, stride, padding=padding, input=input_shape), lambda a, x: MAX_POOL[rank](x, kernel, torch_stride, padding), f"Max-{label}"),
        Entry(
            lambda: PoolingLayer(kernel, stride, function="Mean", padding=padding, input=input_shape),
            lambda a, x: AVG_POOL[rank](x, kernel, torch_stride, padding, count_include_pad=True),
            f"Mean-{label}",
        ),
        Entry(lambda: PoolingLayer(kernel, stride, function="Total", padding=padding, input=input_shape), lambda a, x: total_pool_reference(x, kernels, strides, paddings), f"Total-{label}"),
    ]


REFLECTED_PAIRS = [(1, 0), (2, 3), (6, 1)]  # the last pad exceeds the axis: it keeps reflecting or repeating

ENTRIES = [
    *_pooling((2, 7), 3, 2, 1),
    *_pooling((3, 6, 6), 2, None, 0),
    *_pooling((2, 7, 5), (3, 2), (2, 1), (1, 0)),
    *_pooling((2, 5, 5, 5), 2, 2, 1),
    Entry(lambda: PoolingLayer(2, 2, padding="Same", input=(2, 5, 5)), lambda a, x: F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-torch.inf), 2), "Max-same"),
    Entry(lambda: PoolingLayer(3, 2, function="Mean", padding="Same", input=(2, 6)), lambda a, x: F.avg_pool1d(F.pad(x, (0, 1)), 3, 2), "Mean-same"),
    Entry(lambda: ResizeLayer((7, 4), input=(2, 5, 6)), lambda a, x: F.interpolate(x, size=(7, 4), mode="bilinear", align_corners=False), "Bilinear"),
    Entry(lambda: ResizeLayer((10, 3), method="Nearest", input=(2, 5, 6)), lambda a, x: F.interpolate(x, size=(10, 3), mode="nearest"), "Nearest"),
    Entry(lambda: ResizeLayer((9,), method="Linear", input=(3, 5)), lambda a, x: F.interpolate(x, size=9, mode="linear", align_corners=False), "Linear"),
    Entry(lambda: ResizeLayer(Scaled(2), input=(2, 3, 5)), lambda a, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), "Scaled"),
    Entry(lambda: PaddingLayer([(0, 0), (1, 2), (2, 1)], input=(2, 5, 6)), lambda a, x: F.pad(x, (2, 1, 1, 2)), "Fixed"),
    Entry(lambda: PaddingLayer([(1, 0), 1], padding_value=-3.5, input=(2, 5)), lambda a, x: F.pad(x, (1, 1, 1, 0), value=-3.5), "Fixed-channels-value"),
    Entry(lambda: PaddingLayer(REFLECTED_PAIRS, method="Reflected", input=(2, 5, 4)), lambda a, x: torch.from_numpy(np.pad(x.numpy(), [(0, 0), *REFLECTED_PAIRS], mode="reflect")), "Reflected"),
    Entry(lambda: PaddingLayer(REFLECTED_PAIRS, method="Periodic", input=(2, 5, 4)), lambda a, x: torch.from_numpy(np.pad(x.numpy(), [(0, 0), *REFLECTED_PAIRS], mode="wrap")), "Periodic"),
    Entry(lambda: PaddingLayer([(0, 0), (2, 1), (1, 3)], method="Reflected", input=(3, 5, 6)), lambda a, x: F.pad(x, (1, 3, 2, 1), mode="reflect"), "Reflected-torch"),
]
