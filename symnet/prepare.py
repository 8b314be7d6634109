"""One data path: user data → checked tensors for a net's input ports.

``net(x)``, NetPort/NetPortGradient, NetMeasurements and NetTrain (its training batches and its
validation) all prepare inputs with :func:`port_column` (one port) or :func:`prepare_inputs`
(every port of a net); the compiled net then runs over them in batches with
:func:`symnet.engine.run_batches`. Each port's data goes through these steps, in order:

1. **Numbers**: arrays, tensors and nested lists of numbers become one tensor. Complex numbers
   are refused (casting would silently drop the imaginary part). On a port whose first axis is
   ``"Varying"``, a list of examples of different lengths is **padded with zeros** at the end
   to the longest, and each example's length is recorded (``Column.lengths``); layers that set
   ``uses_lengths`` receive them and outputs with a varying axis are cut back to each
   example's own length.
2. **The encoder bypass rule** (one rule, for evaluation and training alike): data skips a
   port's encoder exactly when it is an array of *real floating-point* numbers whose shape is
   the port's encoded shape (one example, or a batch of them; unknown and "Varying" dimensions
   match any length) and the port takes real numbers. It is then taken to be the encoder's
   output already. Everything else goes to the encoder: integers and bytes (pixels, labels,
   indices), booleans, strings, PIL images, file paths, floats of another shape (channels-last
   images). So an ``int64`` or ``uint8`` pixel batch always goes through an Image encoder,
   which scales it to [0, 1].
3. **Checks**, naming the example: the shape of one example against the port's type, integers
   (and their bound) on integer ports, NaN and infinities refused.
4. **Conversion**: reals to the working precision, integers to int64.

In training, in-memory data stays compact (uint8 images stay uint8): a numeric column keeps its
raw values and encodes each batch with tensor operations when it is drawn (``Column.batch``).

Adding an encoder: give it ``port_type`` (the encoded TensorType) and ``encode(data) ->
(tensor with a batch axis, was_batch)`` accepting one example or a batch, and register it in
:mod:`symnet.coders`; this module needs no change, since the bypass rule only looks at the
port type.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import InputError, NetError, closest, number, one_of
from .layers.base import Layer
from .types import VARYING, TensorType

#: working precisions: the dtype of the net's arrays and inputs ("Mixed" computes in bfloat16
#: under autocast where the processor supports it, keeping float32 arrays)
PRECISIONS: dict[str, torch.dtype] = {"Real32": torch.float32, "Real64": torch.float64, "Mixed": torch.float32}


def precision_of(working_precision: Any, *, allow_mixed: bool = True, where: str = "net(x)") -> str:
    """The checked ``working_precision``: "Real32", "Real64" or (where allowed) "Mixed"."""
    if working_precision == "Real32" and isinstance(working_precision, str):
        return "Real32"  # the default, checked without building a message's parts on every net(x)
    allowed = tuple(PRECISIONS) if allow_mixed else ("Real32", "Real64")
    return one_of(working_precision, allowed, where=where, option="working_precision")  # type: ignore[no-any-return]


def dtype_of(precision: str) -> torch.dtype:
    return PRECISIONS[precision]


def bf16_supported(device: str = "cpu") -> bool:
    """Whether bfloat16 autocast is fast here (CUDA, or a CPU with native bfloat16)."""
    if device.startswith("cuda"):
        return True
    try:
        supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
    # oneDNN also reports bfloat16 on AVX-512 CPUs that only emulate it; there "Mixed" trained the
    # demo CNN 1.7x slower than float32 (100 batches: 4.4 s against 2.6 s on an AVX-512 Xeon
    # without avx512_bf16). Native support shows as a CPU flag.
    flags = _cpu_flags()
    return supported and (flags is None or bool(flags & {"avx512_bf16", "amx_bf16"}))


@functools.cache
def _cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo, or None where that file does not exist."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def batch_size_of(batch_size: Any, where: str) -> int | None:
    """The checked evaluation ``batch_size``: a positive int, or None (automatic)."""
    if batch_size is None:
        return None
    return number(batch_size, where=where, option="batch_size", integer=True, minimum=1, none_ok=True,  # type: ignore[no-any-return]
                  fix="It is the number of examples evaluated at a time; None chooses it.")


# -- columns ------------------------------------------------------------------------------------
@dataclass
class Column:
    """All examples of one port: raw ``values`` (batch first), ``encode`` turning a batch of them
    into the net's form (None: already in it) and ``lengths`` (each example's length along a
    padded "Varying" axis, or None)."""

    values: torch.Tensor
    encode: Callable[[torch.Tensor], torch.Tensor] | None = None
    lengths: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        chunk = self.values[index]
        return self.encode(chunk) if self.encode is not None else chunk

    def batch_lengths(self, index: torch.Tensor | slice) -> torch.Tensor | None:
        return None if self.lengths is None else self.lengths[index]

    def subset(self, index: torch.Tensor) -> Column:
        return Column(self.values[index], self.encode, None if self.lengths is None else self.lengths[index])

    def tensor(self) -> torch.Tensor:
        """Every example in the net's form."""
        return self.batch(slice(None))


class ImageArray(np.ndarray):
    """A dataset's uint8 images (N, H, W) or (N, H, W, C), marked as images: a net input without an
    encoder gets them as an Image encoder would give them (channels first, pixels / 255)."""


# -- numbers ------------------------------------------------------------------------------------
def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "…"


def _is_varying(expected: TensorType) -> bool:
    return bool(expected.dims) and expected.dims[0] == VARYING  # type: ignore[index]


def ragged(values: Any, expected: TensorType) -> bool:
    """A list of examples of different lengths for a port whose first axis varies."""
    if not (_is_varying(expected) and isinstance(values, list | tuple) and len(values) > 1):
        return False
    first = values[0]
    if not isinstance(first, list | tuple | np.ndarray | torch.Tensor):
        return False
    return len({len(item) if not isinstance(item, np.ndarray | torch.Tensor) else item.shape[0] if item.ndim else -1 for item in values}) > 1


def padded(values: Sequence[Any], expected: TensorType, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Examples of different lengths → (zero-padded batch, each example's length)."""
    tensors = [numeric_tensor(item, f"{where}: example {position}") for position, item in enumerate(values)]
    for position, tensor in enumerate(tensors):
        if tensor is None:
            raise InputError(f"{where}: expected numbers but received {_short(values[position])} (example {position}).")
        if tensor.dim() != expected.rank:
            raise InputError(f"{where}: each example of a batch of sequences must have shape {expected.shape_str()}, but example {position} has shape {tuple(tensor.shape)}.")
        if tensor.shape[1:] != tensors[0].shape[1:]:  # type: ignore[union-attr]
            raise InputError(f"{where}: the elements of the sequences must have one shape, but example 0 has elements of shape {tuple(tensors[0].shape[1:])} and example {position} of shape {tuple(tensor.shape[1:])}.")  # type: ignore[union-attr]
    lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.int64)  # type: ignore[union-attr]
    dtype = torch.promote_types(tensors[0].dtype, tensors[-1].dtype) if len({t.dtype for t in tensors}) > 1 else tensors[0].dtype  # type: ignore[union-attr]
    for tensor in tensors:
        dtype = torch.promote_types(dtype, tensor.dtype)  # type: ignore[union-attr]
    batch = torch.zeros((len(tensors), int(lengths.max()), *tensors[0].shape[1:]), dtype=dtype)  # type: ignore[union-attr]
    for position, tensor in enumerate(tensors):
        batch[position, : tensor.shape[0]] = tensor  # type: ignore[union-attr]
    return batch, lengths


def _looks_numeric(values: Any) -> bool:
    """Numbers, numeric arrays, or (nested) lists whose first leaf is one (not PIL images or strings)."""
    while isinstance(values, list | tuple) and values:
        values = values[0]
    if isinstance(values, np.ndarray):
        return values.dtype != object
    return isinstance(values, int | float | complex | np.number | np.bool_ | torch.Tensor)


def numeric_tensor(values: Any, where: str) -> torch.Tensor | None:
    """Numeric data as a CPU tensor; None for anything else (labels, images as files …)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and values.flags.writeable and values.flags.c_contiguous:
        return torch.from_numpy(values)  # the common case, first: no copy, nothing to check
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    elif isinstance(values, list | tuple) and values and all(isinstance(v, torch.Tensor) for v in values):
        tensor = torch.stack([v.detach().cpu() for v in values])
    else:
        if _looks_numeric(values):
            try:
                array = np.asarray(values)
            except ValueError:
                raise InputError(f"{where}: the data is a ragged list (examples of different shapes); every example must have the same shape.") from None
        else:
            return None
        if array.dtype.kind not in "biufc":
            return None
        if not array.flags.writeable or not array.flags.c_contiguous:
            array = np.ascontiguousarray(array).copy()
        tensor = torch.from_numpy(array)
    if tensor.is_complex():
        raise InputError(f"{where}: received complex numbers, but nets compute with real numbers; give the real part (x.real), or the real and imaginary parts as an extra axis (numpy.stack([x.real, x.imag], -1)).")
    return tensor


def bypasses_encoder(tensor: torch.Tensor | None, expected: TensorType, batch: bool | None) -> bool:
    """THE bypass rule (see the module docstring): real floats already of the encoded shape."""
    if tensor is None or not tensor.is_floating_point() or expected.element != "Real":
        return False
    if expected.dims is None:
        return True
    shapes = [tuple(tensor.shape[1:])] if batch else [tuple(tensor.shape)] if batch is False else [tuple(tensor.shape), tuple(tensor.shape[1:])]
    return any(_fits(shape, expected.dims) for shape in shapes)


def _fits(shape: tuple[int, ...], dims: Sequence[Any]) -> bool:
    return len(shape) == len(dims) and all(not isinstance(d, int) or d == s for d, s in zip(dims, shape))


def _shown(dims: Sequence[Any]) -> str:
    return "(" + ", ".join(str(d) if isinstance(d, int) else ("n" if d == VARYING else "?") for d in dims) + ("," if len(dims) == 1 else "") + ")"


def first_nonfinite(tensor: torch.Tensor) -> int | None:
    """The first example holding NaN or an infinity, or None."""
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return None
    if tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float16):
        # One float64 sum is finite exactly when every value is (NaN and infinities propagate;
        # float32 values cannot overflow it): numpy does it in one pass, without torch's thread
        # dispatch, several times faster on the small inputs of net(x).
        if math.isfinite(tensor.detach().numpy().sum(dtype=np.float64)):
            return None
    elif bool(torch.isfinite(tensor).all()):
        return None
    bad = ~torch.isfinite(tensor.reshape(tensor.shape[0], -1)).all(dim=1)
    return int(bad.nonzero()[0, 0])


def _check_shape(tensor: torch.Tensor, expected: TensorType, where: str, what: str, batched: bool = True) -> None:
    if expected.dims is None:
        return
    actual = tuple(tensor.shape[1:])
    if not _fits(actual, expected.dims):
        if not batched:
            raise InputError(f"{where}: expected an example of shape {_shown(expected.dims)} but received shape {actual}.")
        raise InputError(f"{where}: expected {what} of shape {_shown(expected.dims)} but received shape {actual}.")


def _integers(tensor: torch.Tensor, expected: TensorType, where: str) -> torch.Tensor:
    if tensor.is_floating_point():
        _check_finite(tensor, where)
        if not torch.equal(tensor, tensor.round()):
            raise InputError(f"{where}: expected integers but received non-integer values.")
    tensor = tensor.to(torch.int64)
    bound = expected.bound
    if bound is not None and tensor.numel():
        low, high = int(tensor.min()), int(tensor.max())
        if low < 0 or high >= bound:
            raise InputError(f"{where}: expected integers in 0 … {bound - 1} but received values from {low} to {high}.")
    return tensor


def _check_finite(tensor: torch.Tensor, where: str) -> None:
    bad = first_nonfinite(tensor)
    if bad is not None:
        raise InputError(f"{where}: example {bad} contains NaN or infinite values; remove or replace those examples (for instance with numpy.nan_to_num) first.")


def _batched(tensor: torch.Tensor, expected: TensorType, where: str) -> bool:
    """Whether numeric data without an encoder is a batch (rank + 1 axes) or one example."""
    rank = expected.rank
    if rank is None or tensor.dim() == rank:
        return False
    if tensor.dim() == rank + 1:
        return True
    batch_shape = "(batch, " + expected.shape_str()[1:-1].rstrip(",") + ")"
    raise InputError(f"{where}: expected one example of shape {expected.shape_str()} or a batch of shape {batch_shape} but received an array of shape {tuple(tensor.shape)}.")


# -- the one function ---------------------------------------------------------------------------
def port_column(net: Layer, port: str, values: Any, coder: Any, dtype: torch.dtype, where: str, *, batch: bool | None = None) -> tuple[Column, bool]:
    """One input port's data, checked, as a :class:`Column`, and whether it was a batch.

    ``batch=True`` (training data) reads the data as a batch; ``None`` (evaluation) decides
    between one example and a batch from its shape (or the encoder's answer). With
    ``batch=True``, numeric data that goes through an encoder is kept raw and encoded per batch.
    """
    expected: TensorType = net.types[port]  # type: ignore[index]
    encoder = coder if coder is not None and hasattr(coder, "encode") else None
    lengths = None
    if ragged(values, expected):
        tensor, lengths = padded(values, expected, where)
    else:
        tensor = numeric_tensor(values, where)
    if isinstance(values, ImageArray) and encoder is None and tensor is not None:
        return image_column(tensor, expected.dims, dtype, where), True
    if encoder is not None and not bypasses_encoder(tensor, expected, True if lengths is not None else batch):
        # padding is the engine's convention for the net's form; the encoder pads its own way
        return _encoded_column(encoder, values, None if lengths is not None else tensor, expected, dtype, where, batch)
    if tensor is None:
        raise InputError(f"{where}: expected numbers but received {_described(values, batch)}; the port has no encoder to turn it into numbers.")
    batched = True if batch or lengths is not None else _batched(tensor, expected, where)
    if not batched:
        tensor = tensor.unsqueeze(0)
    _check_shape(tensor, expected, where, "examples", batched)
    if expected.element == "Integer":
        tensor = _integers(tensor, expected, where)
    else:
        _check_finite(tensor, where)
        if tensor.dtype != dtype:
            tensor = tensor.to(dtype)
    return Column(tensor, lengths=lengths), batched


def _described(values: Any, batch: bool | None) -> str:
    if batch:
        return _short(values[0] if isinstance(values, Sequence) and values else values) + " (example 0)"
    if isinstance(values, list | tuple | np.ndarray):
        try:
            return f"data of type {np.asarray(values).dtype} ({type(values).__name__})"
        except ValueError:
            pass
    return _short(values)


def _encoded_column(encoder: Any, values: Any, tensor: torch.Tensor | None, expected: TensorType, dtype: torch.dtype, where: str, batch: bool | None) -> tuple[Column, bool]:
    def encode(chunk: Any) -> torch.Tensor:
        encoded = torch.as_tensor(encoder.encode(chunk)[0])
        return encoded.to(dtype) if encoded.is_floating_point() else encoded

    if batch and tensor is not None:
        # Training data: keep it compact (uint8 pixels stay uint8) and encode batch by batch.
        _check_finite(tensor, where)
        try:
            sample = encode(tensor[:1])
        except NetError as error:
            raise type(error)(f"{where}: example 0: {error}") from None
        _check_shape(sample, expected, where, "encoded examples")
        return Column(tensor, encode), True
    if _pads_itself(encoder, expected) and isinstance(values, list | tuple) and values and (batch or not isinstance(values[0], int | float)):
        # Sequences (strings) of different lengths: each encoded alone, padded with zeros, lengths kept.
        encoded, lengths = _encode_sequences(encoder, values, dtype, where)
        return Column(encoded, lengths=lengths), True
    if batch:
        return Column(_encode_all(encoder, values, dtype, where)), True
    if tensor is not None:
        _check_finite(tensor, where)
    encoded, was_batch = encoder.encode(values)
    encoded = torch.as_tensor(encoded)
    return Column(encoded.to(dtype) if encoded.is_floating_point() else encoded), bool(was_batch)


def _pads_itself(encoder: Any, expected: TensorType) -> bool:
    """Whether the data path pads this encoder's batches: a sequence encoder without its own
    ``padding_index`` (with one, the encoder pads with it, as the user asked)."""
    return _is_varying(expected) and hasattr(encoder, "padding_index") and encoder.padding_index is None


def _encode_sequences(encoder: Any, items: Sequence[Any], dtype: torch.dtype, where: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    pieces = []
    for position, item in enumerate(items):
        try:
            pieces.append(torch.as_tensor(encoder.encode([item])[0]))
        except NetError as error:
            raise type(error)(f"{where}: example {position}: {error}") from None
    lengths = torch.tensor([piece.shape[1] for piece in pieces], dtype=torch.int64)
    batch = torch.zeros((len(pieces), int(lengths.max()), *pieces[0].shape[2:]), dtype=pieces[0].dtype)
    for position, piece in enumerate(pieces):
        batch[position, : piece.shape[1]] = piece[0]
    if bool((lengths == lengths[0]).all()):
        lengths = None  # one length: nothing is padded
    return (batch.to(dtype) if batch.is_floating_point() else batch), lengths


def _encode_all(encoder: Any, values: Any, dtype: torch.dtype, where: str) -> torch.Tensor:
    """Encode non-numeric data (files, PIL images, strings) once, in chunks; errors name the example."""
    items = list(values)
    pieces = []
    chunk = 1024
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        try:
            pieces.append(torch.as_tensor(encoder.encode(part)[0]))
        except NetError:
            for offset, item in enumerate(part):
                try:
                    encoder.encode([item])
                except NetError as error:
                    raise type(error)(f"{where}: example {start + offset}: {error}") from None
            raise
    tensor = torch.cat(pieces)
    return tensor.to(dtype) if tensor.is_floating_point() else tensor


def image_column(pixels: torch.Tensor, dims: Sequence[Any] | None, dtype: torch.dtype, where: str) -> Column:
    """A dataset's uint8 images for an input without an encoder, converted batch by batch as the
    Image encoder converts them: channels first ((N, H, W) → (N, 1, H, W) for a rank-3 input),
    pixel values scaled to [0, 1]."""
    image = tuple(pixels.shape[1:])
    height, width = image[0], image[1]
    channels = image[2] if len(image) == 3 else 1
    forms: dict[tuple[int, ...], Callable[[torch.Tensor], torch.Tensor]] = {(channels, height, width): (lambda b: b.unsqueeze(1)) if len(image) == 2 else (lambda b: b.permute(0, 3, 1, 2))}
    if len(image) == 2:
        forms[(height, width)] = lambda b: b
    else:
        forms[(height, width, channels)] = lambda b: b
    for shape, arrange in forms.items():
        if dims is None or _fits(shape, dims):
            def encode(batch: torch.Tensor, arrange: Callable[[torch.Tensor], torch.Tensor] = arrange) -> torch.Tensor:
                return arrange(batch).to(dtype).div_(255).contiguous()

            return Column(pixels, encode)
    color = "Grayscale" if channels == 1 else "RGB"
    raise InputError(f"{where}: the dataset's images have shape {image} but the input takes shape {_shown(dims)}, which no arrangement of them fits; "
                     f"attach an encoder that makes that shape, such as input=NetEncoder(\"Image\", size=(width, height), color_space=\"{color}\"), "
                     f"or give the net input={(channels, height, width)}.")


# -- every input port of a net ------------------------------------------------------------------
@dataclass
class Prepared:
    """A net's inputs in its form: batched tensors and lengths by port, and whether it was one example."""

    tensors: dict[str, torch.Tensor]
    lengths: dict[str, torch.Tensor]
    single: bool


def split_inputs(net: Layer, data: Any) -> dict[str, Any]:
    """The data of each input port: a dict by port name, a list (one item per port) or the data of the only port."""
    inputs = net.input_ports()
    if not inputs:
        return {}
    if isinstance(data, Mapping) and set(data) <= set(inputs) and data:
        missing = [p for p in inputs if p not in data]
        if missing:
            raise InputError(f"{net.kind}: no data for the input port{'s' if len(missing) > 1 else ''} {', '.join(missing)}.")
        return dict(data)
    if len(inputs) == 1:
        if isinstance(data, Mapping):
            unknown = next(iter(data), None)
            raise InputError(f'{net.kind} has no input port "{unknown}"; its input is "{inputs[0]}".{closest(str(unknown), inputs)}')
        return {inputs[0]: data}
    if isinstance(data, list | tuple) and len(data) == len(inputs):
        return dict(zip(inputs, data))
    raise InputError(f"{net.kind} has the inputs {', '.join(inputs)}: give a dict mapping each port name to its data.")


def prepare_inputs(net: Layer, data: Any, dtype: torch.dtype, coders: Mapping[str, Any], *, where: str | None = None, batch: bool | None = None) -> Prepared:
    """Every input port's data (split by port, encoded, checked, converted) as one batch."""
    tensors: dict[str, torch.Tensor] = {}
    lengths: dict[str, torch.Tensor] = {}
    single = True
    for port, values in split_inputs(net, data).items():
        column, batched = port_column(net, port, values, coders.get(port), dtype, f"{where or net.kind}/{port}", batch=batch)
        tensors[port] = column.tensor()
        if column.lengths is not None:
            lengths[port] = column.lengths
        single = single and not batched
    sizes = {t.shape[0] for t in tensors.values()}
    if len(sizes) > 1:
        unknown = [p for p in tensors if net.types[p].rank is None]  # type: ignore[index]
        hint = f" The port {', '.join(unknown)} has no known shape, so its data was read as one example; give it a shape (e.g. ports={{{unknown[0]!r}: 2}} or input=…)." if unknown else ""
        raise InputError(f"{where or net.kind}: the inputs have different batch sizes {sorted(sizes)}.{hint}")
    return Prepared(tensors, lengths, single)


__all__ = ["PRECISIONS", "Column", "ImageArray", "Prepared", "batch_size_of", "bypasses_encoder", "dtype_of", "numeric_tensor", "padded", "port_column", "precision_of", "prepare_inputs", "ragged", "split_inputs"]
