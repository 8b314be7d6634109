"""ONNX operators on sequences and products: MatMul (a constant matrix, or two computed tensors
with leading batch axes such as attention's heads), Gemm, Gather (embedding lookups and picking
elements), GatherElements (torch.gather, as an ExtractLayer), RNN, LSTM and GRU (forward, or bidirectional through NetBidirectionalOperator) onto
symnet's recurrent layers.

A product over the last axis of a tensor with more axes is the LinearLayer (or DotLayer) mapped
over the leading axes with NetMapOperator, so the imported net says what it computes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..layers.base import Layer
from ..types import TensorType
from .onnx_values import Value, layer_class, symnet_axis


def mapped(importer: Any, node: Any, layer: Callable[..., Layer], depth: int, inputs: dict[str, TensorType]) -> Layer:
    """``layer`` (a constructor) applied to each element of ``depth`` leading axes."""
    from ..containers.operators import NetMapOperator

    if depth == 0:
        return importer.build(node, layer, input=list(inputs.values()) if len(inputs) > 1 else next(iter(inputs.values())))
    inner = layer()
    for _ in range(depth - 1):
        inner = NetMapOperator(inner)
    return importer.build(node, NetMapOperator, inner, ports=inputs) if len(inputs) > 1 else importer.build(node, NetMapOperator, inner, input=next(iter(inputs.values())))


def _linear(importer: Any, node: Any, value: Value, weights: np.ndarray, biases: np.ndarray | None) -> tuple[Layer, int]:
    """A LinearLayer with ``weights`` (out, in) over the last axis of ``value``, and its map depth."""
    arrays = {"Weights": weights.astype(np.float32)}
    if biases is not None:
        arrays["Biases"] = biases.astype(np.float32)
    depth = len(value.dims) - 1

    def linear(**kwargs: Any) -> Layer:
        return layer_class("LinearLayer")(weights.shape[0], biases=biases is not None, arrays=arrays, **kwargs)

    return mapped(importer, node, linear, depth, {"Input": value.type}), depth


def matmul(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    left, right = importer.constant(node.input[0]), importer.constant(node.input[1])
    if left is not None:
        raise importer.fail(node, "a constant times a computed tensor is not supported; symnet imports x·W and products of two computed tensors.")
    value = importer.value(node, node.input[0])
    if right is not None:
        if right.ndim != 2:
            raise importer.fail(node, f"the constant has shape {right.shape}; symnet imports x·W with a matrix W.")
        if not value.merged and value.batch_axis == value.onnx_rank - 1:
            raise importer.fail(node, "the product runs over the axis that holds the batch.")
        layer, depth = _linear(importer, node, value, right.T, None)
        result = importer.graph.add(layer, [value], like=value)
        importer.matmuls[node.output[0]] = (result.source[0], depth, right.T, value)
        importer.set(node, result)
        return
    other = importer.value(node, node.input[1])
    if value.layout != other.layout or value.batch_axis >= value.onnx_rank - 2:
        raise importer.fail(node, "symnet multiplies two computed tensors of one rank whose batch axis comes before the two multiplied axes.")
    if value.dims[:-2] != other.dims[:-2]:
        raise importer.fail(node, f"the leading axes {value.dims[:-2]} and {other.dims[:-2]} differ; symnet does not broadcast a product of two computed tensors.")
    layer = mapped(importer, node, layer_class("DotLayer"), len(value.dims) - 2, {"Input1": value.type, "Input2": other.type})
    importer.set(node, importer.graph.add(layer, [value, other], like=value))


def add_biases(importer: Any, node: Any, value: Value, constant: np.ndarray) -> bool:
    """Give a MatMul's LinearLayer the biases of the Add after it; False if they do not fit."""
    name = next(n for n in node.input if n in importer.matmuls)
    key, depth, weights, before = importer.matmuls[name]
    size = weights.shape[0]
    if constant.shape[-1:] != (size,) or any(d != 1 for d in constant.shape[:-1]):
        return False
    del importer.matmuls[name]
    layer, _ = _linear(importer, node, before, weights, constant.reshape(-1))
    importer.graph.replace_layer(key, layer)
    importer.set(node, value)
    return True


def gemm(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    weights = importer.constant(node.input[1])
    if attributes.get("transA", 0) or weights is None:
        raise importer.fail(node, "symnet imports Gemm as x·W (+ C) with a constant W and transA=0.")
    if value.onnx_rank != 2 or value.batch_axis != 0:
        raise importer.fail(node, f"its input has rank {value.onnx_rank} with the batch on axis {value.batch_axis}; Gemm takes (batch, features).")
    weights = (weights if attributes.get("transB", 0) else weights.T) * attributes.get("alpha", 1.0)
    biases = None
    if len(node.input) > 2 and node.input[2]:
        bias = importer.constant(node.input[2])
        if bias is None or (bias.ndim == 2 and bias.shape[0] != 1):
            raise importer.fail(node, "its C must be a constant vector (one bias per output).")
        biases = np.broadcast_to(bias.reshape(-1) * attributes.get("beta", 1.0), (weights.shape[0],))
    layer, _ = _linear(importer, node, value, weights, biases)
    importer.set(node, importer.graph.add(layer, [value], like=value))


def part(importer: Any, node: Any, value: Value, spans: dict[int, Any]) -> Value:
    """``value`` indexed by ``spans`` (symnet axis → int, slice or list), through a PartLayer."""
    spec = tuple(spans.get(axis, slice(None)) for axis in range(max(spans) + 1))
    dropped = sorted(a for a, s in spans.items() if isinstance(s, int))
    layer = importer.build(node, layer_class("PartLayer"), spec, input=value.type)
    batch_axis = value.batch_axis - sum(1 for a in dropped if a < value.batch_axis)
    return importer.graph.add(layer, [value], like=value, batch_axis=batch_axis)


def gather(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    data, indices = importer.constant(node.input[0]), importer.constant(node.input[1])
    axis = attributes.get("axis", 0)
    if data is not None:  # a table looked up by computed indices: an embedding
        positions = importer.value(node, node.input[1])
        if axis != 0 or data.ndim != 2:
            raise importer.fail(node, f"symnet imports a lookup in a constant table as an EmbeddingLayer: a matrix (vocabulary, size) indexed along axis 0, not shape {data.shape} along axis {axis}.")
        layer = importer.build(node, layer_class("EmbeddingLayer"), arrays={"Weights": data.astype(np.float32)}, input=TensorType(positions.dims, "Integer"))
        importer.set(node, importer.graph.add(layer, [positions], like=positions))
        return
    value = importer.value(node, node.input[0])
    if indices is None:
        raise importer.fail(node, "both the data and the indices are computed; symnet imports Gather with one of them constant.")
    where = symnet_axis(value, axis, importer.failer(node))
    if indices.ndim > 1:
        raise importer.fail(node, f"indices of shape {indices.shape}; symnet picks a single index or a list of them.")
    spans = {where: int(indices) if indices.ndim == 0 else [int(i) for i in indices]}
    importer.set(node, part(importer, node, value, spans))


def gather_elements(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    """``GatherElements(data, indices, axis)`` (torch.gather) with computed indices: an ExtractLayer
    whose positions are each output element's own position with the indices put in on ``axis``."""
    if importer.constant(node.input[1]) is not None:
        raise importer.fail(node, "its indices are a constant; symnet imports GatherElements with indices computed from the net's inputs (a constant of the batch's size cannot be stored).")
    data, indices = importer.value(node, node.input[0]), importer.value(node, node.input[1])
    if not data.batch_first or not indices.batch_first:
        raise importer.fail(node, "its data and indices must have the batch first.")
    axis = symnet_axis(data, attributes.get("axis", 0), importer.failer(node))
    rank = len(data.dims)
    if len(indices.dims) != rank or not all(isinstance(d, int) for d in indices.dims):
        raise importer.fail(node, f"its indices {indices.dims} must have the data's rank ({rank}) and fixed sizes.")
    # each element's position (…, rank) with 0 on the gathered axis, where the index is added
    grid = np.stack(np.meshgrid(*(np.arange(d) for d in indices.dims), indexing="ij"), -1).astype(np.float32)
    grid[..., axis] = 0
    unit = np.eye(rank, dtype=np.float32)[axis]
    known = [importer.graph.add(importer.build(node, layer_class("NetArrayLayer"), arrays={"Array": array}), []) for array in (grid, unit)]
    column = replace(indices, dims=(*indices.dims, 1))
    positions = importer.graph.add(importer.build(node, layer_class("ThreadingLayer"), "x1 + x2 * x3", input=[known[0].type, column.type, known[1].type]), [known[0], column, known[1]])
    layer = importer.build(node, layer_class("ExtractLayer"), input=[data.type, positions.type])
    importer.set(node, importer.graph.add(layer, [data, positions]))


# -- recurrent ------------------------------------------------------------------------------
#: ONNX's gate order in W, R and B, as symnet's gate names
GATES = {"LSTM": ("InputGate", "OutputGate", "ForgetGate", "MemoryGate"), "GRU": ("InputGate", "ResetGate", "MemoryGate"), "RNN": ("",)}
DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
LAYERS = {"LSTM": "LongShortTermMemoryLayer", "GRU": "GatedRecurrentLayer", "RNN": "BasicRecurrentLayer"}


def _initial_states(importer: Any, node: Any, names: list[str], size: int, layout: int) -> list[Value]:
    """The computed initial states (each a vector of ``size`` per example), or [] when all are zero."""
    computed = [name for name in names if name in importer.graph.values]
    for name in names:
        constant = importer.constant(name)
        if name and name not in computed and not (importer.fills.get(name) == 0.0 or (constant is not None and not np.any(constant))):
            raise importer.fail(node, f'its initial state "{name}" is a constant that is not zero; symnet imports initial states that are zero or computed.')
    if not computed:
        return []
    if len(computed) != len(names) or not all(names):
        raise importer.fail(node, "some of its initial states are computed and some are not; symnet takes all of them computed, or none.")
    states = []
    for name in names:
        value = importer.value(node, name)
        if value.layout != (3, 1 if layout == 0 else 0, False, False) or value.dims != (1, size):
            raise importer.fail(node, f'its initial state "{name}" must be (directions, batch, size) (layout 0) or (batch, directions, size) (layout 1) with one direction.')
        states.append(replace(value, dims=(size,), batch_axis=0))  # the same elements, without the directions axis
    return states


def _direction_arrays(importer: Any, node: Any, w: np.ndarray, r: np.ndarray, bias: np.ndarray, size: int, attributes: dict[str, Any]) -> dict[str, np.ndarray]:
    """One direction's W (gates·size, features), R and B as the arrays of symnet's recurrent layer."""
    op = node.op_type
    gates = GATES[op]
    input_bias, state_bias = bias[: len(gates) * size], bias[len(gates) * size :]
    if op == "GRU":
        if not attributes.get("linear_before_reset", 0):
            raise importer.fail(node, "linear_before_reset=0 (the reset gate applied before the state weights) differs from symnet's GRU, which applies it after, as torch's nn.GRU does.")
        if np.any(state_bias[2 * size :]):
            raise importer.fail(node, "the recurrence bias of the memory gate (torch's bias_hh_l0[2h:3h]) is not zero; symnet's GRU (Wolfram's) has one bias per gate outside the reset. Fix: train with that bias fixed at 0.")
    biases = input_bias + state_bias
    arrays: dict[str, np.ndarray] = {}
    for index, gate in enumerate(gates):
        rows = slice(index * size, (index + 1) * size)
        arrays |= {f"{gate}InputWeights": w[rows], f"{gate}StateWeights": r[rows], f"{gate}Biases": biases[rows]}
    return {k: v.astype(np.float32) for k, v in arrays.items()}


def recurrent(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    op = node.op_type
    inputs = list(node.input) + [""] * (8 - len(node.input))
    x = importer.value(node, inputs[0])
    w, r = importer.constant(inputs[1]), importer.constant(inputs[2])
    if w is None or r is None:
        raise importer.fail(node, "its weights W and R must be constants.")
    direction = attributes.get("direction", "forward")
    if direction not in ("forward", "bidirectional") or w.shape[0] != (2 if direction == "bidirectional" else 1):
        raise importer.fail(node, f'direction "{direction}" is not supported; symnet imports forward and bidirectional {op}s (wrap a reversed one in NetBidirectionalOperator by hand).')
    if [a.capitalize() for a in attributes.get("activations", DEFAULT_ACTIVATIONS[op] * w.shape[0])] != DEFAULT_ACTIVATIONS[op] * w.shape[0] or "clip" in attributes or attributes.get("input_forget", 0):
        raise importer.fail(node, "custom activations, clip and input_forget are not supported.")
    if inputs[4]:
        raise importer.fail(node, "sequence_lens is not supported; symnet passes each example's length itself.")
    layout = attributes.get("layout", 0)
    if x.onnx_rank != 3 or x.merged or x.batch_axis != (1 if layout == 0 else 0):
        raise importer.fail(node, f"its input must be (sequence, batch, features) (layout 0) or (batch, sequence, features) (layout 1) with the batch on the batch axis; it has the batch on axis {x.batch_axis}.")
    size = int(attributes["hidden_size"])
    if direction == "bidirectional":
        bidirectional(importer, node, attributes, x, w, r, size)
        return
    initial = _initial_states(importer, node, inputs[5:7] if op == "LSTM" else inputs[5:6], size, layout)
    bias = importer.constant(inputs[3]) if inputs[3] else np.zeros((1, 2 * len(GATES[op]) * size), np.float32)
    arrays = _direction_arrays(importer, node, w[0], r[0], bias[0], size, attributes)
    used = [bool(name and importer.consumers[name]) for name in node.output] + [False] * 3
    # The final state Y_h is the last of the states (SequenceLastLayer, which knows each example's
    # length); only the LSTM's final cell state Y_c needs the layer's state ports.
    final_states = op == "LSTM" and used[2]
    layer = importer.build(node, layer_class(LAYERS[op]), size, input=x.type, initial_states=bool(initial), final_states=final_states, arrays=arrays)
    states = importer.graph.add(layer, [x, *initial])
    key = states.source[0]
    # Y is (sequence, directions, batch, size) in layout 0, (batch, sequence, directions, size) in layout 1
    importer.set(node, replace(states, dims=(states.dims[0], 1, size), batch_axis=2 if layout == 0 else 0))
    finals = {}
    if final_states:
        finals = {1: importer.graph.output(key, "State"), 2: importer.graph.output(key, "CellState")}
    elif used[1]:
        finals = {1: importer.graph.add(importer.build(node, layer_class("SequenceLastLayer"), input=states.type), [states])}
    for index, final in finals.items():
        # Y_h and Y_c are (directions, batch, size) in layout 0, (batch, directions, size) in layout 1
        importer.set(node, replace(final, dims=(1, size), batch_axis=1 if layout == 0 else 0), index)


def bidirectional(importer: Any, node: Any, attributes: dict[str, Any], x: Value, w: np.ndarray, r: np.ndarray, size: int) -> None:
    """A bidirectional RNN/LSTM/GRU: NetBidirectionalOperator joining a forward and a backward
    layer, so Y's (directions, size) per step is the joined (2·size) vector, forward first."""
    from ..containers.operators import NetBidirectionalOperator

    op = node.op_type
    inputs = list(node.input) + [""] * (8 - len(node.input))
    names = inputs[5:7] if op == "LSTM" else inputs[5:6]
    if any(name in importer.graph.values for name in names):
        raise importer.fail(node, "a bidirectional recurrent layer with computed initial states is not supported; symnet imports it with zero initial states.")
    _initial_states(importer, node, names, size, attributes.get("layout", 0))  # refuses constants that are not zero
    if op == "LSTM" and len(node.output) > 2 and node.output[2] and importer.consumers[node.output[2]]:
        raise importer.fail(node, "the final cell states Y_c of a bidirectional LSTM are not supported (the operator returns the sequence of states); use Y or Y_h.")
    bias = importer.constant(inputs[3]) if inputs[3] else np.zeros((2, 2 * len(GATES[op]) * size), np.float32)
    directions = [importer.build(node, layer_class(LAYERS[op]), size, arrays=_direction_arrays(importer, node, w[d], r[d], bias[d], size, attributes)) for d in (0, 1)]
    states = importer.graph.add(importer.build(node, NetBidirectionalOperator, directions, input=x.type), [x])
    layout = attributes.get("layout", 0)
    importer.set(node, replace(states, dims=(states.dims[0], 2, size), batch_axis=2 if layout == 0 else 0))
    if len(node.output) > 1 and node.output[1] and importer.consumers[node.output[1]]:
        # Y_h: the forward layer's last state and the backward layer's, which it reached at the first step
        last = importer.graph.add(importer.build(node, layer_class("SequenceLastLayer"), input=states.type), [states])
        forward = part(importer, node, last, {0: slice(0, size)})
        backward = part(importer, node, states, {0: 0, 1: slice(size, 2 * size)})
        final = importer.graph.add(importer.build(node, layer_class("CatenateLayer"), input=[forward.type, backward.type]), [forward, backward])
        importer.set(node, replace(final, dims=(2, size), batch_axis=1 if layout == 0 else 0), 1)


HANDLERS = {"MatMul": matmul, "Gemm": gemm, "Gather": gather, "GatherElements": gather_elements, "LSTM": recurrent, "GRU": recurrent, "RNN": recurrent}

__all__ = ["HANDLERS", "add_biases", "mapped", "part"]
