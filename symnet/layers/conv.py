"""Convolution, deconvolution, pooling, resizing and padding of channels-first arrays.

An image port is ``(channels, height, width)``; a 1D signal ``(channels, length)`` and a volume
``(channels, depth, height, width)`` (shapes exclude the batch axis). Output sizes follow the
standard formula ``floor((size + before + after - dilation·(kernel - 1) - 1) / stride) + 1``,
inferred symbolically. ``padding`` is an int, one int per spatial axis, one ``(before, after)``
pair per spatial axis, or ``"Same"`` (output size ``ceil(size / stride)``; odd totals put the
extra element after).

The work a forward call would repeat (padding tuples, the torch function to call) is done once
per layer value, in ``__post_init__``, so ``forward`` is one ``torch.nn.functional`` call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError
from ..types import VARYING, TensorType
from .base import Layer, derived_field

#: How each spatial rank's port reads in messages.
LAYOUTS = {1: "(channels, length)", 2: "(channels, height, width)", 3: "(channels, depth, height, width)"}
ANY_LAYOUT = "(channels, length), (channels, height, width) or (channels, depth, height, width)"

Pairs = tuple[tuple[int, int], ...]


# -- hyperparameters --------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tuple_or_int(value: Any) -> Any:
    """Lists become tuples, so that a frozen layer holds only immutable values."""
    if isinstance(value, list | tuple):
        return tuple(_tuple_or_int(v) for v in value)
    return value


def _check_ints(kind: str, name: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    values = value if isinstance(value, tuple) else (value,)
    if not values or len(values) > 3 or not all(_is_int(v) and v >= minimum for v in values):
        what = "positive" if minimum == 1 else "non-negative"
        raise NetError(f"{kind}: {name} must be a {what} int or a tuple of 1 to 3 of them, not {value!r}.")


def _check_padding(kind: str, padding: Any) -> None:
    if padding == "Same":
        return
    if _is_int(padding) and padding >= 0:
        return
    if isinstance(padding, tuple) and 1 <= len(padding) <= 3:
        if all(_is_int(p) and p >= 0 for p in padding):
            return
        if all(isinstance(p, tuple) and len(p) == 2 and all(_is_int(q) and q >= 0 for q in p) for p in padding):
            return
    raise NetError(
        f'{kind}: padding must be a non-negative int, one int per spatial axis, one (before, after) pair per spatial axis or "Same", not {padding!r}.'
    )


def _declared_rank(kind: str, **hyperparameters: Any) -> int | None:
    """The spatial rank fixed by tuple-valued hyperparameters (``None`` when all are ints)."""
    rank, source = None, None
    for name, value in hyperparameters.items():
        if not isinstance(value, tuple):
            continue
        if rank is None:
            rank, source = len(value), name
        elif len(value) != rank:
            raise NetError(f"{kind}: {name}={value!r} has {len(value)} entries but {source}={hyperparameters[source]!r} has {rank}; give one entry per spatial axis.")  # type: ignore[index]
    return rank


def _per_axis(value: Any, rank: int) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,) * rank


def _resolve_rank(declared: int | None, types: Mapping[str, TensorType], offsets: Sequence[tuple[str, int]], what: str) -> int | None:
    """The spatial rank, from the hyperparameters or else the first port or array of known rank.

    ``offsets`` lists (port or array, rank - spatial rank); a rank that disagrees is an error
    that names the layout the layer needs.
    """
    rank = declared
    for name, offset in offsets:
        t = types[name]
        if t.rank is None:
            continue
        is_array = name not in ("Input", "Output")
        label = f'the array "{name}"' if is_array else f'port "{name}"'
        if rank is None:
            if 1 <= t.rank - offset <= 3:
                rank = t.rank - offset
                continue
            if is_array:
                raise ShapeError(f"{label} has shape {t} of rank {t.rank}, but a {what} needs rank {offset + 1} to {offset + 3}.")
            raise ShapeError(f"{label} needs a {ANY_LAYOUT} input but received {t} of rank {t.rank}.{_channel_hint(t)}")
        if t.rank - offset != rank:
            if is_array:
                raise ShapeError(f"{label} has shape {t} of rank {t.rank}, but a {rank}D {what} needs rank {rank + offset}.")
            noun = "input" if name == "Input" else "output"
            raise ShapeError(f"{label} needs a {LAYOUTS[rank]} {noun} (rank {rank + 1}) for a {rank}D {what} but received {t} of rank {t.rank}.{_channel_hint(t, rank)}")
    return rank


def _channel_hint(t: TensorType, rank: int | None = None) -> str:
    if t.dims is not None and (t.rank == rank or (rank is None and t.rank == 1)):
        example = "(1, " + ", ".join(str(d) if _is_int(d) else "…" for d in t.dims) + ")"
        return f" Fix: add a channel axis, e.g. input={example}."
    return ""


def _same_pairs(size: Any, kernel: int, stride: int, dilation: int) -> tuple[int, int] | None:
    """Padding for an output of ``ceil(size / stride)``; ``None`` when it depends on an unknown size."""
    span = dilation * (kernel - 1) + 1
    if stride == 1:
        total = span - 1
    elif _is_int(size):
        total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    else:
        return None
    return total // 2, total - total // 2


def _pairs(padding: Any, rank: int, sizes: Sequence[Any], kernel: Sequence[Any], stride: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int] | None]:
    """One (before, after) pair per spatial axis (``None`` where "Same" needs an unknown size)."""
    if padding == "Same":
        return [None if k is None else _same_pairs(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation)]
    if _is_int(padding):
        return [(padding, padding)] * rank
    return [p if isinstance(p, tuple) else (p, p) for p in padding]


def _pad_argument(pairs: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """``F.pad``'s argument: (before, after) pairs listed from the last axis backwards."""
    return tuple(q for pair in reversed(pairs) for q in pair)


def _spatial(t: TensorType, rank: int) -> tuple[Any, ...]:
    return t.dims[1:] if t.dims is not None else (None,) * rank  # type: ignore[return-value]


def _kernel_sizes(kernel_size: Any, rank: int, weights: TensorType) -> tuple[Any, ...]:
    if kernel_size is not None:
        return _per_axis(kernel_size, rank)
    return weights.dims[2:] if weights.dims is not None else (None,) * rank  # type: ignore[return-value]


def _first_known(*values: Any) -> Any:
    return next((v for v in values if _is_int(v)), None)


# -- convolution and deconvolution ------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class _Convolutional(Layer):
    """What ConvolutionLayer and DeconvolutionLayer share: hyperparameters, ranks, channels."""

    channels: int | None = None
    kernel_size: int | tuple[int, ...] | None = None
    stride: int | tuple[int, ...] = field(default=1, kw_only=True)
    padding: Any = field(default=0, kw_only=True)
    dilation: int | tuple[int, ...] = field(default=1, kw_only=True)
    groups: int = field(default=1, kw_only=True)
    biases: bool = field(default=True, kw_only=True)
    #: the spatial rank the hyperparameters fix (None: from the input), and the torch call
    #: with its arguments once the shapes are known; both derived in __post_init__
    _rank: int | None = derived_field()
    _plan: Any = derived_field()

    #: "convolution" or "deconvolution", for messages
    what = "convolution"

    def __post_init__(self) -> None:
        for name in ("kernel_size", "stride", "padding", "dilation"):
            object.__setattr__(self, name, _tuple_or_int(getattr(self, name)))
        super().__post_init__()
        object.__setattr__(self, "_plan", self._forward_plan(None))

    def validate(self) -> None:
        kind = self.kind
        if self.channels is not None and not (_is_int(self.channels) and self.channels >= 1):
            raise NetError(f"{kind}: the number of output channels must be a positive int, not {self.channels!r}.")
        _check_ints(kind, "kernel_size", self.kernel_size, minimum=1, optional=True)
        _check_ints(kind, "stride", self.stride, minimum=1)
        _check_ints(kind, "dilation", self.dilation, minimum=1)
        _check_padding(kind, self.padding)
        if not (_is_int(self.groups) and self.groups >= 1):
            raise NetError(f"{kind}: groups must be a positive int, not {self.groups!r}.")
        if self.channels is not None and self.channels % self.groups:
            raise NetError(f"{kind}: {self.channels} output channels cannot be split into groups={self.groups}; use a number of channels divisible by {self.groups}.")
        padding = self.padding if isinstance(self.padding, tuple) else None
        object.__setattr__(self, "_rank", _declared_rank(kind, kernel_size=self.kernel_size, stride=self.stride, dilation=self.dilation, padding=padding))

    def array_names(self) -> tuple[str, ...]:
        return ("Weights", "Biases") if self.biases else ("Weights",)

    def spatial_rank(self, types: Mapping[str, TensorType]) -> int | None:
        return _resolve_rank(self._rank, types, (("Input", 1), ("Output", 1), ("Weights", 2)), self.what)  # type: ignore[attr-defined]

    def geometry(self, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return _per_axis(self.stride, rank), _per_axis(self.dilation, rank)

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        rank = self.spatial_rank(types)
        if rank is None:
            return types
        x = types["Input"].unify(TensorType((None,) * (rank + 1)))
        y = types["Output"].unify(TensorType((None,) * (rank + 1)))
        w = types["Weights"].unify(TensorType((None,) * (rank + 2)))
        kernel = _kernel_sizes(self.kernel_size, rank, w)
        in_channels, out_channels = self.channels_of(x, y, w)
        for count, port in ((in_channels, "input"), (out_channels, "output")):
            if count is not None and count % self.groups:
                raise ShapeError(f"the {port} has {count} channels, which groups={self.groups} does not divide; use a number of {port} channels divisible by {self.groups}, or change groups.")
        expected = TensorType(self.weights_dims(in_channels, out_channels, kernel))
        try:
            w = w.unify(expected)
        except ShapeError:
            raise ShapeError(
                f'the array "Weights" has shape {w} but the {self.what} from {x} to {out_channels or "?"} channels with kernel {kernel} needs {expected}. '
                "Fix: give Weights of that shape, or change the layer's sizes."
            ) from None
        stride, dilation = self.geometry(rank)
        sizes_in, sizes_out = list(_spatial(x, rank)), list(_spatial(y, rank))
        pairs = self.padding_pairs(rank, sizes_in, kernel, stride, dilation)
        self.check_sizes(sizes_in, kernel, dilation, pairs)
        for axis in range(rank):
            sizes_in[axis], sizes_out[axis] = self.spatial_size(axis, sizes_in[axis], sizes_out[axis], kernel[axis], stride[axis], dilation[axis], pairs[axis])
        types["Input"] = x.unify(TensorType((in_channels, *sizes_in)))
        types["Output"] = y.unify(TensorType((out_channels, *sizes_out)))
        types["Weights"] = w
        if self.biases:
            types["Biases"] = types["Biases"].unify(TensorType((out_channels,)))
        return types

    def padding_pairs(self, rank: int, sizes: Sequence[Any], kernel: Sequence[Any], stride: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int] | None]:
        return _pairs(self.padding, rank, sizes, kernel, stride, dilation)

    # Subclasses say how channels and sizes relate.
    def channels_of(self, x: TensorType, y: TensorType, w: TensorType) -> tuple[int | None, int | None]:
        raise NotImplementedError

    def weights_dims(self, in_channels: int | None, out_channels: int | None, kernel: tuple[Any, ...]) -> tuple[Any, ...]:
        raise NotImplementedError

    def spatial_size(self, axis: int, size: Any, out: Any, kernel: Any, stride: int, dilation: int, pair: tuple[int, int] | None) -> tuple[Any, Any]:
        raise NotImplementedError

    def check_sizes(self, sizes: Sequence[Any], kernel: Sequence[Any], dilation: Sequence[int], pairs: Sequence[tuple[int, int] | None]) -> None:
        """Raise a ShapeError if the input is too small for the kernel."""

    def _forward_plan(self, sizes: tuple[int, ...] | None) -> Any:
        raise NotImplementedError


def _kernel_text(kernel: Sequence[Any], dilation: Sequence[int]) -> str:
    text = "(" + ", ".join(str(k) for k in kernel) + (",)" if len(kernel) == 1 else ")")
    if any(d != 1 for d in dilation):
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        text += f" dilated to {span if len(span) > 1 else span[0]}"
    return text


_CONVOLUTIONS: dict[int, Callable[..., torch.Tensor]] = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_TRANSPOSED: dict[int, Callable[..., torch.Tensor]] = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@dataclass(frozen=True, eq=False, repr=False)
class ConvolutionLayer(_Convolutional):
    """A trainable convolution over 1, 2 or 3 spatial axes of a channels-first input.

    ``channels`` is the number of output channels and ``kernel_size`` an int or one int per
    spatial axis; with an int, the dimensionality comes from the input's rank: ``(channels,
    length)`` → 1D, ``(channels, height, width)`` → 2D, ``(channels, depth, height, width)`` →
    3D. The input channels are inferred. Arrays: ``Weights`` of shape ``(channels, input
    channels / groups, *kernel)`` and ``Biases`` of shape ``(channels,)``.

    Options: ``stride``, ``dilation`` (ints or one per axis), ``padding`` (see the module),
    ``groups`` (channels split into independent groups) and ``biases``.

    >>> layer = ConvolutionLayer(32, 5, input=(1, 28, 28))
    >>> layer.types["Output"], layer.types["Weights"]
    (TensorType((32, 24, 24)), TensorType((32, 1, 5, 5)))
    >>> ConvolutionLayer(8, 3, stride=2, padding="Same", input=(3, 9, 9)).types["Output"]
    TensorType((8, 5, 5))
    >>> NetInitialize(ConvolutionLayer(4, 3, input=(2, 10)))(np.ones((2, 10))).shape
    (4, 8)
    """

    def channels_of(self, x: TensorType, y: TensorType, w: TensorType) -> tuple[int | None, int | None]:
        w_dims = w.dims or (None, None)
        from_weights = w_dims[1] * self.groups if _is_int(w_dims[1]) else None
        return _first_known(x.dims[0], from_weights), _first_known(self.channels, y.dims[0], w_dims[0])  # type: ignore[index]

    def weights_dims(self, in_channels: int | None, out_channels: int | None, kernel: tuple[Any, ...]) -> tuple[Any, ...]:
        return (out_channels, in_channels // self.groups if in_channels is not None else None, *kernel)

    def spatial_size(self, axis: int, size: Any, out: Any, kernel: Any, stride: int, dilation: int, pair: tuple[int, int] | None) -> tuple[Any, Any]:
        if kernel is None:
            return size, out
        span = dilation * (kernel - 1) + 1
        if _is_int(size) and pair is not None:
            return size, (size + pair[0] + pair[1] - span) // stride + 1
        if size == VARYING:
            return size, VARYING
        if size is None and _is_int(out) and stride == 1 and pair is not None:
            # Only with stride 1 does an output size determine the input size.
            return out + span - 1 - pair[0] - pair[1], out
        return size, out

    def check_sizes(self, sizes: Sequence[Any], kernel: Sequence[Any], dilation: Sequence[int], pairs: Sequence[tuple[int, int] | None]) -> None:
        known = [(n, k, d, p) for n, k, d, p in zip(sizes, kernel, dilation, pairs) if _is_int(n) and k is not None and p is not None]
        if len(known) != len(sizes) or all(n + p[0] + p[1] >= d * (k - 1) + 1 for n, k, d, p in known):
            return
        padded = tuple(n + p[0] + p[1] for n, _, _, p in known)  # type: ignore[index]
        shown = f"{tuple(sizes)}" if padded == tuple(sizes) else f"{tuple(sizes)} (padded to {padded})"
        needed = tuple(max(0, (d * (k - 1) + 2 - n) // 2) for n, k, d, _ in known)
        example = needed if len(needed) > 1 else needed[0]
        raise ShapeError(
            f'port "Input" has spatial size {shown}, smaller than the kernel {_kernel_text(kernel, dilation)}. '
            f'Fix: pad the input (e.g. padding={example} or padding="Same"), use a smaller kernel, or give a larger input.'
        )

    def _forward_plan(self, sizes: tuple[int, ...] | None) -> Any:
        """(conv function, F.pad argument or None, the function's remaining arguments)."""
        types = self.types  # type: ignore[assignment]
        rank = self.spatial_rank(types)  # type: ignore[arg-type]
        if rank is None:
            return None
        kernel = _kernel_sizes(self.kernel_size, rank, types["Weights"])  # type: ignore[index]
        stride, dilation = self.geometry(rank)
        pairs = _pairs(self.padding, rank, sizes or _spatial(types["Input"], rank), kernel, stride, dilation)  # type: ignore[index]
        if any(p is None for p in pairs):
            return None
        if all(before == after for before, after in pairs):  # type: ignore[misc]
            return _CONVOLUTIONS[rank], None, (stride, tuple(p[0] for p in pairs), dilation, self.groups)  # type: ignore[index]
        # torch pads symmetrically; an uneven "Same" or an explicit pair pads first.
        return _CONVOLUTIONS[rank], _pad_argument(pairs), (stride, 0, dilation, self.groups)  # type: ignore[arg-type]

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        convolve, pad, arguments = self._plan or self._forward_plan(tuple(x.shape[2:]))  # type: ignore[attr-defined]
        if pad is not None:
            x = F.pad(x, pad)
        return convolve(x, arrays["Weights"], arrays.get("Biases"), *arguments)


@dataclass(frozen=True, eq=False, repr=False)
class DeconvolutionLayer(_Convolutional):
    """A trainable transposed convolution ("deconvolution"), which upsamples by ``stride``.

    The gradient of a ConvolutionLayer with the same hyperparameters: an input of size ``n``
    gives ``(n - 1)·stride - before - after + dilation·(kernel - 1) + 1``, where ``padding``
    crops the output; ``padding="Same"`` gives ``n·stride``. Arrays: ``Weights`` of shape
    ``(input channels, channels / groups, *kernel)`` (torch's ``conv_transpose`` layout) and
    ``Biases`` of shape ``(channels,)``.

    >>> layer = DeconvolutionLayer(3, 4, stride=2, padding=1, input=(8, 5, 5))
    >>> layer.types["Output"], layer.types["Weights"]
    (TensorType((3, 10, 10)), TensorType((8, 3, 4, 4)))
    >>> DeconvolutionLayer(3, 3, stride=2, padding="Same", input=(8, 5, 5)).types["Output"]
    TensorType((3, 10, 10))
    """

    what = "deconvolution"

    def channels_of(self, x: TensorType, y: TensorType, w: TensorType) -> tuple[int | None, int | None]:
        w_dims = w.dims or (None, None)
        from_weights = w_dims[1] * self.groups if _is_int(w_dims[1]) else None
        return _first_known(x.dims[0], w_dims[0]), _first_known(self.channels, y.dims[0], from_weights)  # type: ignore[index]

    def weights_dims(self, in_channels: int | None, out_channels: int | None, kernel: tuple[Any, ...]) -> tuple[Any, ...]:
        return (in_channels, out_channels // self.groups if out_channels is not None else None, *kernel)

    def spatial_size(self, axis: int, size: Any, out: Any, kernel: Any, stride: int, dilation: int, pair: tuple[int, int] | None) -> tuple[Any, Any]:
        if kernel is None or pair is None:
            return size, out
        span = dilation * (kernel - 1) + 1
        if _is_int(size):
            result = (size - 1) * stride + span - pair[0] - pair[1]
            if result < 1:
                raise ShapeError(f"padding={self.padding!r} crops away the whole output: axis {axis} of the input has size {size}, which the kernel {kernel} and stride {stride} turn into {result + pair[0] + pair[1]} before cropping. Fix: use less padding.")
            return size, result
        if size == VARYING:
            return size, VARYING
        if size is None and _is_int(out):
            steps, remainder = divmod(out + pair[0] + pair[1] - span, stride)
            if remainder == 0 and steps >= 0:
                return steps + 1, out
        return size, out

    def padding_pairs(self, rank: int, sizes: Sequence[Any], kernel: Sequence[Any], stride: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int] | None]:
        """Cropping per axis; "Same" (output ``size·stride``) may need a negative ``after``, which extends the output."""
        if self.padding != "Same":
            return _pairs(self.padding, rank, sizes, kernel, stride, dilation)
        pairs: list[tuple[int, int] | None] = []
        for k, s, d in zip(kernel, stride, dilation):
            total = None if k is None else d * (k - 1) + 1 - s
            pairs.append(None if total is None else (total // 2, total - total // 2) if total >= 0 else (0, total))
        return pairs

    def _forward_plan(self, sizes: tuple[int, ...] | None) -> Any:
        """(transposed conv function, its remaining arguments, crop slices or None)."""
        types = self.types
        rank = self.spatial_rank(types)  # type: ignore[arg-type]
        if rank is None:
            return None
        kernel = _kernel_sizes(self.kernel_size, rank, types["Weights"])  # type: ignore[index]
        if any(k is None for k in kernel):
            return None
        stride, dilation = self.geometry(rank)
        padding, extra, crops = [], [], []
        for before, after in self.padding_pairs(rank, (None,) * rank, kernel, stride, dilation):  # type: ignore[misc]
            if after < 0:  # "Same" with a stride beyond the kernel: torch's output_padding extends the end
                padding.append(before)
                extra.append(-after)
                crops.append((0, 0))
            else:
                common = min(before, after)
                padding.append(common)
                extra.append(0)
                crops.append((before - common, after - common))
        crop = None
        if any(c != (0, 0) for c in crops):
            crop = (slice(None), slice(None), *(slice(b, -a if a else None) for b, a in crops))
        return _TRANSPOSED[rank], (stride, tuple(padding), tuple(extra), self.groups, dilation), crop

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        transposed, arguments, crop = self._plan  # type: ignore[attr-defined]
        y = transposed(x, arrays["Weights"], arrays.get("Biases"), *arguments)
        return y if crop is None else y[crop]
