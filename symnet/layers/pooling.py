"""Pooling, resizing and padding layers (1D, 2D, 3D; channels first)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError
from ..types import VARYING, Scaled, TensorType
from .base import Layer, derived_field, option_value
from .conv import (
    _check_ints,
    _check_padding,
    _declared_rank,
    _first_known,
    _is_int,
    _pad_argument,
    _pairs,
    _per_axis,
    _resolve_rank,
    _spatial,
    _tuple_or_int,
)

# -- pooling ----------------------------------------------------------------------------------
POOLING_FUNCTIONS = ("Max", "Mean", "Total")
_MAX_POOLS: dict[int, Callable[..., torch.Tensor]] = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_MEAN_POOLS: dict[int, Callable[..., torch.Tensor]] = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@dataclass(frozen=True, eq=False, repr=False)
class PoolingLayer(Layer):
    """Pools each channel over windows of 1, 2 or 3 spatial axes: their maximum, mean or total.

    ``kernel_size`` is an int or one int per spatial axis; ``stride`` defaults to 1, as in
    Wolfram's ``PoolingLayer[n]`` (= ``PoolingLayer[n, 1]``); non-overlapping windows, torch's
    default, are ``PoolingLayer(2, 2)``. ``function`` is "Max", "Mean" or "Total" (a window's sum).

    Padding: "Max" ignores padded positions (they are -inf); "Mean" and "Total" treat them as
    zeros that count, so a "Mean" window is always divided by the full kernel size (torch's
    ``count_include_pad=True``) and "Total" is exactly "Mean" times the kernel size.

    >>> PoolingLayer(2, 2, input=(32, 24, 24)).types["Output"]
    TensorType((32, 12, 12))
    >>> PoolingLayer(2, function="Total")([[1.0, 2.0, 3.0, 4.0]]).tolist()
    [[3.0, 5.0, 7.0]]
    """

    kernel_size: int | tuple[int, ...] = 2
    stride: int | tuple[int, ...] | None = None
    function: str = field(default="Max", kw_only=True)
    padding: Any = field(default=0, kw_only=True)
    _rank: int | None = derived_field()
    _plan: Any = derived_field()

    def __post_init__(self) -> None:
        for name in ("kernel_size", "stride", "padding"):
            object.__setattr__(self, name, _tuple_or_int(getattr(self, name)))
        super().__post_init__()
        object.__setattr__(self, "_plan", self._forward_plan(None))

    def validate(self) -> None:
        kind = self.kind
        _check_ints(kind, "kernel_size", self.kernel_size, minimum=1)
        _check_ints(kind, "stride", self.stride, minimum=1, optional=True)
        _check_padding(kind, self.padding)
        option_value(kind, "function", self.function, POOLING_FUNCTIONS)
        padding = self.padding if isinstance(self.padding, tuple) else None
        object.__setattr__(self, "_rank", _declared_rank(kind, kernel_size=self.kernel_size, stride=self.stride, padding=padding))

    def geometry(self, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        kernel = _per_axis(self.kernel_size, rank)
        return kernel, (1,) * rank if self.stride is None else _per_axis(self.stride, rank)

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        rank = _resolve_rank(self._rank, types, (("Input", 1), ("Output", 1)), "pooling")  # type: ignore[attr-defined]
        if rank is None:
            return types
        x = types["Input"].unify(TensorType((None,) * (rank + 1)))
        y = types["Output"].unify(TensorType((None,) * (rank + 1)))
        kernel, stride = self.geometry(rank)
        sizes_in, sizes_out = list(_spatial(x, rank)), list(_spatial(y, rank))
        pairs = _pairs(self.padding, rank, sizes_in, kernel, stride, (1,) * rank)
        if self.function == "Max" and any(p is not None and max(p) >= k for p, k in zip(pairs, kernel)):
            raise ShapeError(f"padding={self.padding!r} is as large as the kernel {kernel}, so some max-pooling windows would hold only padding. Fix: use padding smaller than the kernel.")
        for axis, (n, out, k, s, pair) in enumerate(zip(sizes_in, sizes_out, kernel, stride, pairs)):
            if _is_int(n) and pair is not None:
                if n + pair[0] + pair[1] < k:
                    raise ShapeError(f'port "Input" has spatial size {tuple(sizes_in)}, smaller than the pooling kernel {kernel}. Fix: use a smaller kernel, padding="Same", or a larger input.')
                sizes_out[axis] = (n + pair[0] + pair[1] - k) // s + 1
            elif n == VARYING:
                sizes_out[axis] = VARYING
            elif n is None and _is_int(out) and s == 1 and pair is not None:
                sizes_in[axis] = out + k - 1 - pair[0] - pair[1]
        channels = _first_known(x.dims[0], y.dims[0])  # type: ignore[index]
        types["Input"] = x.unify(TensorType((channels, *sizes_in)))
        types["Output"] = y.unify(TensorType((channels, *sizes_out)))
        return types

    def _forward_plan(self, sizes: tuple[int, ...] | None) -> Any:
        """(pooling function, F.pad argument or None, pad value, remaining arguments, scale)."""
        x = self.types["Input"]  # type: ignore[index]
        rank = self._rank if x.rank is None else x.rank - 1  # type: ignore[attr-defined, operator]
        if rank is None:
            return None
        kernel, stride = self.geometry(rank)
        pairs = _pairs(self.padding, rank, sizes or _spatial(x, rank), kernel, stride, (1,) * rank)
        if any(p is None for p in pairs):
            return None
        pad = None
        # torch pads symmetrically and by at most half the kernel; otherwise pad first.
        if all(b == a and 2 * b <= k for (b, a), k in zip(pairs, kernel)):  # type: ignore[misc]
            padding = tuple(b for b, _ in pairs)  # type: ignore[misc]
        else:
            pad, padding = _pad_argument(pairs), (0,) * rank  # type: ignore[arg-type]
        if self.function == "Max":
            return _MAX_POOLS[rank], pad, -math.inf, (kernel, stride, padding), None
        arguments: tuple[Any, ...] = (kernel, stride, padding, False, True)
        # "Total" is the mean (padding counted) times the kernel size. Not avg_pool's
        # divisor_override=1: the ONNX exporter drops it and exports a mean.
        scale = math.prod(kernel) if self.function == "Total" else None
        return _MEAN_POOLS[rank], pad, 0.0, arguments, scale

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        pool, pad, value, arguments, scale = self._plan or self._forward_plan(tuple(x.shape[2:]))  # type: ignore[attr-defined]
        if pad is not None:
            x = F.pad(x, pad, value=value)
        y = pool(x, *arguments)
        return y if scale is None else y * scale


# -- resizing ---------------------------------------------------------------------------------


RESIZE_METHODS = ("Bilinear", "Linear", "Nearest")
_INTERPOLATION_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


@dataclass(frozen=True, eq=False, repr=False)
class ResizeLayer(Layer):
    """Resizes the spatial axes of a channels-first input by interpolation.

    ``size`` gives one entry per spatial axis, each an int or a :class:`Scaled` factor; a single
    int or Scaled applies to every axis. ``method`` is "Bilinear" (linear along every spatial axis;
    "Linear" is a synonym) or "Nearest". Like ``torch.nn.functional.interpolate`` with
    ``align_corners=False`` (pixel centers are aligned, as in image libraries), and "Nearest"
    takes the source element ``floor(i · in / out)``.

    >>> ResizeLayer((4, 6), input=(3, 2, 3)).types["Output"]
    TensorType((3, 4, 6))
    >>> ResizeLayer((4,), method="Nearest")([[1.0, 2.0]]).tolist()
    [[1.0, 1.0, 2.0, 2.0]]
    """

    size: Any = None
    method: str = field(default="Bilinear", kw_only=True)
    _plan: Any = derived_field()

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _tuple_or_int(self.size))
        super().__post_init__()
        object.__setattr__(self, "_plan", self._forward_plan(None))

    def validate(self) -> None:
        sizes = self.size if isinstance(self.size, tuple) else (self.size,)
        if not 1 <= len(sizes) <= 3 or not all((_is_int(n) and n >= 1) or isinstance(n, Scaled) for n in sizes):
            raise NetError(f"ResizeLayer: size must be one positive int or Scaled(factor) per spatial axis (1 to 3 of them), not {self.size!r}.")
        option_value(self.kind, "method", self.method, RESIZE_METHODS)

    def _sizes(self, rank: int) -> tuple[Any, ...]:
        return self.size if isinstance(self.size, tuple) else (self.size,) * rank

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        declared = len(self.size) if isinstance(self.size, tuple) else None
        rank = _resolve_rank(declared, types, (("Input", 1), ("Output", 1)), "resize")
        if rank is None:
            return types
        x = types["Input"].unify(TensorType((None,) * (rank + 1)))
        y = types["Output"].unify(TensorType((None,) * (rank + 1)))
        sizes_in = _spatial(x, rank)
        sizes_out = tuple(
            wanted if _is_int(wanted) else wanted.of(n) if _is_int(n) else (VARYING if n == VARYING else None)
            for wanted, n in zip(self._sizes(rank), sizes_in)
        )
        channels = _first_known(x.dims[0], y.dims[0])  # type: ignore[index]
        types["Input"] = x.unify(TensorType((channels, *sizes_in)))
        types["Output"] = y.unify(TensorType((channels, *sizes_out)))
        return types

    def _forward_plan(self, sizes: tuple[int, ...] | None) -> Any:
        """(output size, mode, align_corners) for F.interpolate."""
        y = self.types["Output"]  # type: ignore[index]
        if sizes is not None:
            out = tuple(n if _is_int(n) else n.of(m) for n, m in zip(self._sizes(len(sizes)), sizes))
        elif y.fixed:
            out = y.dims[1:]  # type: ignore[index]
        else:
            return None
        if self.method == "Nearest":
            return out, "nearest", None
        return out, _INTERPOLATION_MODES[len(out)], False

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        size, mode, align_corners = self._plan or self._forward_plan(tuple(x.shape[2:]))  # type: ignore[attr-defined]
        return F.interpolate(x, size=size, mode=mode, align_corners=align_corners)


# -- padding ----------------------------------------------------------------------------------
PADDING_METHODS = ("Fixed", "Reflected", "Periodic")


def _source_indices(size: int, before: int, after: int, method: str) -> torch.Tensor:
    """Which input element each padded position copies: mirror images or periodic repeats."""
    positions = torch.arange(-before, size + after)
    if method == "Periodic":
        return positions % size
    period = 2 * (size - 1)
    folded = positions % period
    return torch.where(folded < size, folded, period - folded)


@dataclass(frozen=True, eq=False, repr=False)
class PaddingLayer(Layer):
    """Pads every axis of its input with ``(before, after)`` elements.

    ``padding`` lists one pair per axis of the input, the channel axis included, as in
    Wolfram's ``PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}]`` (an int ``n`` stands for ``(n, n)``).
    ``method`` is "Fixed" (the value ``padding_value``), "Reflected" (mirrored without repeating
    the edge, ``[c, b, a, b, c]``) or "Periodic" (the array repeats).

    >>> PaddingLayer([(0, 0), (1, 1), (1, 1)], input=(3, 4, 4)).types["Output"]
    TensorType((3, 6, 6))
    >>> PaddingLayer([(2, 1)], method="Reflected")([1.0, 2.0, 3.0]).tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    """

    padding: Any = ()
    padding_value: float = field(default=0.0, kw_only=True)
    method: str = field(default="Fixed", kw_only=True)
    _plan: Any = derived_field()

    def __post_init__(self) -> None:
        if isinstance(self.padding, list | tuple):
            pairs = tuple((p, p) if _is_int(p) else tuple(p) if isinstance(p, list | tuple) else p for p in self.padding)
            object.__setattr__(self, "padding", pairs)
        super().__post_init__()
        object.__setattr__(self, "_plan", self._forward_plan())

    def validate(self) -> None:
        if not isinstance(self.padding, tuple) or not self.padding or not all(
            isinstance(p, tuple) and len(p) == 2 and all(_is_int(q) and q >= 0 for q in p) for p in self.padding
        ):
            raise NetError(f"PaddingLayer: padding must list one (before, after) pair of non-negative ints per axis of the input, such as [(0, 0), (1, 1), (1, 1)], not {self.padding!r}.")
        option_value(self.kind, "method", self.method, PADDING_METHODS)
        if not isinstance(self.padding_value, int | float) or isinstance(self.padding_value, bool):
            raise NetError(f"PaddingLayer: padding_value must be a number, not {self.padding_value!r}.")

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        rank = len(self.padding)
        x, y = types["Input"], types["Output"]
        for port, t in (("Input", x), ("Output", y)):
            if t.rank is not None and t.rank != rank:
                raise ShapeError(f'padding lists {rank} (before, after) pairs, one per axis, but port "{port}" has rank {t.rank}: {t}. Fix: give one pair per axis, e.g. {[(0, 0)] * (t.rank - rank) + list(self.padding) if t.rank > rank else list(self.padding[-t.rank:])}.')
        x = x.unify(TensorType((None,) * rank))
        y = y.unify(TensorType((None,) * rank))
        sizes_in, sizes_out = list(x.dims), list(y.dims)  # type: ignore[arg-type]
        for axis, ((before, after), n, out) in enumerate(zip(self.padding, sizes_in, sizes_out)):
            if _is_int(n):
                if self.method == "Reflected" and n < 2 and before + after > 0:
                    raise ShapeError(f'axis {axis} of port "Input" has size {n}, which cannot be reflected. Fix: use method="Fixed" or "Periodic" on that axis.')
                sizes_out[axis] = n + before + after
            elif n == VARYING:
                sizes_out[axis] = VARYING
            elif _is_int(out):
                if out - before - after < 1:
                    raise ShapeError(f'axis {axis} of port "Output" has size {out}, less than the padding {before} + {after}.')
                sizes_in[axis] = out - before - after
        types["Input"] = x.unify(TensorType(tuple(sizes_in)))
        types["Output"] = y.unify(TensorType(tuple(sizes_out)))
        return types

    def _forward_plan(self) -> Any:
        """F.pad's argument (method "Fixed"), or (axis, source indices) per padded axis."""
        if self.method == "Fixed":
            pairs = list(self.padding)
            while pairs and pairs[0] == (0, 0):  # F.pad counts axes from the last: leading zeros are no-ops
                pairs.pop(0)
            return _pad_argument(pairs)
        x = self.types["Input"]  # type: ignore[index]
        if x.dims is None or not all(_is_int(n) for (b, a), n in zip(self.padding, x.dims) if b or a):
            return None
        return tuple((axis + 1, _source_indices(n, b, a, self.method)) for axis, ((b, a), n) in enumerate(zip(self.padding, x.dims)) if b or a)

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        if self.method == "Fixed":
            return F.pad(x, self._plan, value=self.padding_value)  # type: ignore[attr-defined]
        for axis, indices in self._plan or self._indices_for(x):  # type: ignore[attr-defined]
            x = x.index_select(axis, indices.to(x.device))
        return x

    def _indices_for(self, x: torch.Tensor) -> tuple[tuple[int, torch.Tensor], ...]:
        return tuple((axis + 1, _source_indices(x.shape[axis + 1], b, a, self.method)) for axis, (b, a) in enumerate(self.padding) if b or a)
