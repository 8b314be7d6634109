"""The bookkeeping of the ONNX importer: what each ONNX value is on the symnet side.

ONNX tensors carry the batch like any other axis; symnet's ports hold one example. Each ONNX
value computed by the net is a :class:`Value`: the symnet port it comes from and where the
batch sits in the ONNX tensor: ``batch_axis`` (0 for batch-first; torch's recurrent and
``nn.MultiheadAttention`` exports move it to 1) and ``merged`` (the ONNX axis holds the batch
times a symnet axis, as the ``(batch·heads, n, d)`` tensors of attention do). Reshapes,
squeezes and transposes that only move the batch become new Values of the same port, so no
layer is made for them; a real reshape of the example is made only when a layer consumes it.

Shapes computed inside the graph (``Shape → Gather → Concat → Reshape``) are followed as
constants, with the batch size standing in as :data:`BATCH`, a number no real dimension has:
a reshape target entry ``BATCH·g`` says "the batch, merged with g".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import NetError
from ..layers.base import Layer
from ..types import VARYING, TensorType

#: the batch size in shapes computed from the graph's tensors (prime, so products stay recognisable)
BATCH = 2_147_483_647
#: a varying sequence length in such shapes
LENGTH = 2_147_483_629


@dataclass(frozen=True)
class Value:
    """An ONNX tensor computed by the net: symnet port ``source`` reshaped to ``dims``."""

    source: tuple[str | None, str]
    #: the dims of the tensor the source port carries (one example)
    stored: tuple[Any, ...]
    #: the dims of this value for one example (with the merged axis's share when merged)
    dims: tuple[Any, ...]
    batch_axis: int = 0
    merged: bool = False
    #: for a merged axis: the batch is its fast-varying factor (``g·batch``, torch's ``n·batch`` rows)
    inner: bool = False
    element: str = "Real"

    @property
    def type(self) -> TensorType:
        """The symnet type of one example of this value."""
        return TensorType(self.dims, self.element)

    @property
    def onnx_rank(self) -> int:
        return len(self.dims) + (0 if self.merged else 1)

    @property
    def batch_first(self) -> bool:
        return self.batch_axis == 0 and not self.merged

    @property
    def layout(self) -> tuple[int, int, bool, bool]:
        """What two values must share to be combined element by element."""
        return self.onnx_rank, self.batch_axis, self.merged, self.inner

    def elements_before_batch(self) -> int:
        """How many elements of one example precede the batch index in ONNX's memory order."""
        dims = [LENGTH if d == VARYING else int(d) for d in self.dims]
        return math.prod(dims[: self.batch_axis + (1 if self.merged and self.inner else 0)])

    def onnx_shape(self) -> list[int]:
        """The ONNX shape, with :data:`BATCH` for the batch and :data:`LENGTH` for a varying length."""
        dims = [LENGTH if d == VARYING else int(d) for d in self.dims]
        if self.merged:
            dims[self.batch_axis] *= BATCH
        else:
            dims.insert(self.batch_axis, BATCH)
        return dims


def _factors(d: int) -> tuple[int, int, int]:
    """A computed dimension as (plain size, powers of :data:`BATCH` and of :data:`LENGTH`)."""
    batch = length = 0
    if d >= BATCH and d % BATCH == 0:
        d, batch = d // BATCH, 1
    if d >= LENGTH and d % LENGTH == 0:
        d, length = d // LENGTH, 1
    return d, batch, length


def _size(dims: list[int]) -> tuple[int, int, int]:
    plain = batch = length = 0
    plain = 1
    for d in dims:
        p, b, n = _factors(d)
        plain, batch, length = plain * p, batch + b, length + n
    return plain, batch, length


def reshaped(value: Value, target: list[int], fail: Any) -> Value:
    """The Value an ONNX Reshape (or Squeeze, Unsqueeze, Flatten) of ``value`` to ``target`` gives.

    ``target`` is resolved as ONNX does (0 copies the input's dimension, -1 is inferred), with the
    batch found by :data:`BATCH`. Every example's elements must stay together and in order: the
    elements in front of the batch in memory must be as many before and after, which is what
    tells whether a merged axis holds the batch outside (``batch·g``) or inside (``g·batch``).
    A reshape that moves elements across examples has no symnet equivalent.
    """
    source = value.onnx_shape()
    target = [source[i] if d == 0 and i < len(source) else int(d) for i, d in enumerate(target)]
    if target.count(-1) > 1:
        raise fail(f"the target shape {target} has more than one -1.")
    plain, batch, length = _size(source)
    if -1 in target:
        known_plain, known_batch, known_length = _size([d for d in target if d != -1])
        if plain % known_plain or known_batch > batch or known_length > length:
            raise fail(f"the target shape {describe(target)} does not divide the input's {describe(source)}.")
        target[target.index(-1)] = plain // known_plain * BATCH ** (batch - known_batch) * LENGTH ** (length - known_length)
    axes = [i for i, d in enumerate(target) if _factors(d)[1]]
    if len(axes) != 1:
        raise fail(f"the target shape {describe(target)} does not keep the batch on one axis; export the model with a dynamic batch axis (dynamic_axes={{name: {{0: 'batch'}}}}).")
    if _size(target) != (plain, batch, length):
        raise fail(f"the target shape {describe(target)} has a different number of elements than the input {describe(source)}.")
    axis = axes[0]
    share = target[axis] // BATCH
    before = value.elements_before_batch()
    if math.prod(target[:axis]) == before:
        inner = False
    elif math.prod(target[:axis]) * share == before:
        inner = True
    else:
        raise fail(f"reshaping {describe(source)} to {describe(target)} mixes elements of different examples.")
    dims: list[Any] = [VARYING if d == LENGTH else d for d in target]
    if share == 1:
        del dims[axis]
        return replace(value, dims=tuple(dims), batch_axis=axis, merged=False, inner=False)
    dims[axis] = VARYING if share == LENGTH else share
    return replace(value, dims=tuple(dims), batch_axis=axis, merged=True, inner=inner)


def describe(shape: list[int]) -> str:
    """An ONNX shape for a message: the batch as "batch", a varying length as "n"."""
    words = []
    for d in shape:
        if d == LENGTH:
            words.append("n")
        elif d >= BATCH and d % BATCH == 0:
            words.append("batch" if d == BATCH else f"batch·{d // BATCH}")
        else:
            words.append(str(d))
    return "(" + ", ".join(words) + ")"


def symnet_axis(value: Value, axis: int, fail: Any) -> int:
    """The axis of one example that ONNX axis ``axis`` of ``value`` is (negative counts from the end)."""
    rank = value.onnx_rank
    if not -rank <= axis < rank:
        raise fail(f"axis {axis} is outside a tensor of rank {rank}.")
    axis %= rank
    if axis == value.batch_axis:
        raise fail(f"it works along axis {axis}, which holds the batch; symnet layers work on one example at a time.")
    return axis if value.merged or axis < value.batch_axis else axis - 1


def per_example_constant(value: Value, constant: np.ndarray, fail: Any) -> np.ndarray:
    """A constant that broadcasts against ``value`` in ONNX, as an array for one example."""
    rank = value.onnx_rank
    if constant.ndim > rank:
        raise fail(f"the constant of shape {constant.shape} has more axes than the tensor it meets {describe(value.onnx_shape())}.")
    aligned = constant.reshape((1,) * (rank - constant.ndim) + constant.shape)
    if aligned.shape[value.batch_axis] != 1:
        raise fail(f"the constant of shape {constant.shape} varies along the batch axis.")
    if not value.merged:
        aligned = aligned.reshape(aligned.shape[: value.batch_axis] + aligned.shape[value.batch_axis + 1 :])
    # leading singleton axes broadcast the same way in symnet, and a smaller array is easier to read
    while aligned.ndim and aligned.shape[0] == 1:
        aligned = aligned[0]
    return np.ascontiguousarray(aligned)


def layer_class(name: str) -> Any:
    """A symnet layer class by name (the importer sits above the layer families; it names them only)."""
    from .spec import layer_classes

    return layer_classes()[name]


class Graph:
    """The symnet layers made so far, their connections, and every ONNX name's meaning."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.constants: dict[str, np.ndarray] = {}
        self.values: dict[str, Value] = {}
        self.layers: list[Layer] = []
        self.connections: list[tuple[tuple[str | None, str], tuple[str, str]]] = []
        self.inputs: dict[str, TensorType] = {}
        self._materialized: dict[Value, tuple[str | None, str]] = {}

    def port(self, value: Value) -> tuple[str | None, str]:
        """The port carrying ``value`` for one example: its source, or a ReshapeLayer after it."""
        if value.stored == value.dims:
            return value.source
        if value not in self._materialized:
            from ..layers.structure import ReshapeLayer

            dims = tuple(-1 if d == VARYING else d for d in value.dims)
            key = self._append(ReshapeLayer(dims, input=TensorType(value.stored, value.element)), [value.source])
            self._materialized[value] = (key, "Output")
        return self._materialized[value]

    def _append(self, layer: Layer, sources: list[tuple[str | None, str]]) -> str:
        key = str(len(self.layers))
        for port, source in zip(layer.input_ports(), sources):
            self.connections.append((source, (key, port)))
        self.layers.append(layer)
        return key

    def add(self, layer: Layer, inputs: list[Value], *, like: Value | None = None, batch_axis: int | None = None) -> Value:
        """Append ``layer`` fed by ``inputs``; the Value of its output, holding the batch as ``like``
        does (on ``batch_axis`` if given), or batch-first."""
        key = self._append(layer, [self.port(v) for v in inputs])
        value = self.output(key, "Output")
        if like is not None:
            value = replace(value, batch_axis=like.batch_axis, merged=like.merged, inner=like.inner)
        return value if batch_axis is None else replace(value, batch_axis=batch_axis)

    def output(self, key: str, port: str) -> Value:
        """The batch-first Value of a layer's output port."""
        t = self.layers[int(key)].types[port]  # type: ignore[index]
        dims = tuple(t.dims)  # type: ignore[arg-type]
        return Value((key, port), dims, dims, element=t.element if t.element == "Integer" else "Real")

    def replace_layer(self, key: str, layer: Layer) -> None:
        """Swap a layer for one with the same ports (a MatMul's LinearLayer gaining the Add's biases)."""
        self.layers[int(key)] = layer

    def net(self, outputs: list[str]) -> Layer:
        from ..containers.chain import NetChain
        from ..containers.graph import NetGraph
        from ..ports import NetPort

        ends: list[tuple[str | None, str]] = []
        for name in outputs:
            if name in self.constants:
                raise NetError(f'{self.where}: the output "{name}" is a constant, not computed from the inputs.')
            value = self.values.get(name)
            if value is None:
                raise NetError(f'{self.where}: the output "{name}" is not computed by any supported node.')
            if not value.batch_first:
                raise NetError(f'{self.where}: the output "{name}" has the batch on axis {value.batch_axis}{" merged with another axis" if value.merged else ""}; symnet outputs have the batch first.')
            ends.append(self.port(value))
        if not self.layers:  # the net passes its input through: it still needs a layer to be a net
            key = self._append(layer_class("ElementwiseLayer")("Identity", input=self.inputs[ends[0][1]]), [ends[0]])
            ends = [(key, "Output")]
        inputs = list(self.inputs)
        linear = (
            len(inputs) == 1 and len(outputs) == 1 and self.layers
            and self.connections == [((None, inputs[0]) if i == 0 else (str(i - 1), "Output"), (str(i), "Input")) for i in range(len(self.layers))]
            and ends[0] == (str(len(self.layers) - 1), "Output")
        )
        try:
            if linear:
                return NetChain(list(self.layers), input=self.inputs[inputs[0]])
            edges: list[tuple[Any, Any]] = [(NetPort(s[1]) if s[0] is None else NetPort(s[0], s[1]), NetPort(d[0], d[1])) for s, d in self.connections]
            edges += [(NetPort(s[1]) if s[0] is None else NetPort(s[0], s[1]), NetPort(name)) for s, name in zip(ends, outputs)]
            return NetGraph(list(self.layers), edges, ports=dict(self.inputs))
        except NetError as error:
            raise type(error)(f"{self.where}: {error}") from None


__all__ = ["BATCH", "LENGTH", "Graph", "Value", "describe", "layer_class", "per_example_constant", "reshaped", "symnet_axis"]
