"""ONNX operators → symnet layers: elementwise functions, arithmetic, normalization, reductions
and the operators that only move or pick elements.

Each handler takes the importer, the node and its attributes, and records the node's outputs.
Products (MatMul, Gemm), Gather and the recurrent operators are in :mod:`.onnx_sequences`, the
operators on images in :mod:`.onnx_images`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..types import VARYING
from .onnx_images import HANDLERS as IMAGES
from .onnx_sequences import HANDLERS as SEQUENCES
from .onnx_sequences import add_biases, part
from .onnx_values import Value, layer_class, per_example_constant, reshaped, symnet_axis

Handler = Callable[[Any, Any, dict[str, Any]], None]


# -- elementwise ----------------------------------------------------------------------------
#: operators that are one symnet activation (or expression) applied to every element
UNARY: dict[str, Callable[[dict[str, Any]], str]] = {
    "Relu": lambda a: "Ramp",
    "Tanh": lambda a: "Tanh",
    "Sigmoid": lambda a: "LogisticSigmoid",
    "Erf": lambda a: "Erf",
    "Sqrt": lambda a: "Sqrt",
    "Exp": lambda a: "Exp",
    "Log": lambda a: "Log",
    "Abs": lambda a: "Abs",
    "Sin": lambda a: "Sin",
    "Cos": lambda a: "Cos",
    "Softplus": lambda a: "Softplus",
    "Softsign": lambda a: "Softsign",
    "HardSwish": lambda a: "HardSwish",
    "Selu": lambda a: "SELU" if abs(a.get("alpha", 1.6732632) - 1.6732632) < 1e-6 and abs(a.get("gamma", 1.0507010) - 1.0507010) < 1e-6 else f"{a.get('gamma', 1.0507010)!r} * (max(x, 0) + min({a.get('alpha', 1.6732632)!r} * (exp(x) - 1), 0))",
    "Neg": lambda a: "-x",
    "Reciprocal": lambda a: "1 / x",
    "Gelu": lambda a: "GELU" if a.get("approximate", "none") == "none" else "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))",
    "Elu": lambda a: "ELU" if a.get("alpha", 1.0) == 1.0 else f"max(x, 0) + min({a['alpha']!r} * (exp(x) - 1), 0)",
    "LeakyRelu": lambda a: f"max(x, 0) + {a.get('alpha', 0.01)!r} * min(x, 0)",
    "HardSigmoid": lambda a: f"clip({a.get('alpha', 0.2)!r} * x + {a.get('beta', 0.5)!r}, 0, 1)",
}


def unary(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    layer = importer.build(node, layer_class("ElementwiseLayer"), UNARY[node.op_type](attributes), input=value.type)
    importer.set(node, importer.graph.add(layer, [value], like=value))


def clip(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    low = importer.constant(node.input[1]) if len(node.input) > 1 else attributes.get("min")
    high = importer.constant(node.input[2]) if len(node.input) > 2 else attributes.get("max")
    low, high = (None if v is None else float(np.asarray(v).reshape(())) for v in (low, high))
    if low == 0.0 and high == 6.0:
        function = "ReLU6"
    elif low is not None and high is not None:
        function = f"clip(x, {low!r}, {high!r})"
    elif low is not None:
        function = f"max(x, {low!r} + 0 * x)"
    elif high is not None:
        function = f"min(x, {high!r} + 0 * x)"
    else:
        function = "Identity"
    layer = importer.build(node, layer_class("ElementwiseLayer"), function, input=value.type)
    importer.set(node, importer.graph.add(layer, [value], like=value))


#: binary operators: the ThreadingLayer function, and the expressions with a scalar constant
BINARY = {
    "Add": ("Plus", "x + {c}", "{c} + x"),
    "Sub": ("Subtract", "x - {c}", "{c} - x"),
    "Mul": ("Times", "x * {c}", "{c} * x"),
    "Div": ("Divide", "x / {c}", "{c} / x"),
    "Pow": ("Power", "x ** {c}", "{c} ** x"),
    "Max": ("Max", "max(x, {c} + 0 * x)", "max(x, {c} + 0 * x)"),
    "Min": ("Min", "min(x, {c} + 0 * x)", "min(x, {c} + 0 * x)"),
}


def binary(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    function, left, right = BINARY[node.op_type]
    names = list(node.input)
    computed = importer.computed(node)
    if len(names) != 2:
        raise importer.fail(node, f"{node.op_type} with {len(names)} inputs is not supported; symnet imports it with 2.")
    if len(computed) == 2:
        a, b = (importer.value(node, n) for n in names)
        if a.layout != b.layout:
            raise importer.fail(node, "its two computed inputs hold the batch differently (different ranks or batch axes); symnet broadcasts within one example only.")
        layer = importer.build(node, layer_class("ThreadingLayer"), function, input=[a.type, b.type])
        importer.set(node, importer.graph.add(layer, [a, b], like=a))
        return
    if not computed:  # a constant that depends on the batch size: value() says so
        importer.value(node, next(n for n in names if importer.constant(n) is None))
    name = computed[0]
    value = importer.value(node, name)
    position = names.index(name)
    constant = importer.constant(names[1 - position])
    if constant is None:  # a constant that depends on the batch size: value() says so
        importer.value(node, names[1 - position])
    if node.op_type == "Add" and name in importer.matmuls and importer.consumers[name] == 1:
        if add_biases(importer, node, value, constant):
            return
    if constant.size == 1:
        text = repr(float(constant.reshape(())))
        expression = (left if position == 0 else right).format(c=text)
        layer = importer.build(node, layer_class("ElementwiseLayer"), expression, input=value.type)
        importer.set(node, importer.graph.add(layer, [value], like=value))
        return
    array = per_example_constant(value, constant, importer.failer(node)).astype(np.float32)
    known = importer.graph.add(importer.build(node, layer_class("NetArrayLayer"), arrays={"Array": array}), [])
    pair = [value, known] if position == 0 else [known, value]
    layer = importer.build(node, layer_class("ThreadingLayer"), function, input=[v.type for v in pair])
    importer.set(node, importer.graph.add(layer, pair, like=value))


def where(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    """``Where(mask, v, x)`` with a constant mask and value, as masked_fill exports: a causal mask."""
    condition, first, second = node.input
    mask = importer.constant(condition)
    computed = importer.computed(node)
    if mask is None or len(computed) != 1 or condition in computed:
        raise importer.fail(node, "symnet imports Where with a constant condition choosing between a computed tensor and a constant (masked_fill).")
    value = importer.value(node, computed[0])
    fill = importer.constant(second if computed[0] == first else first)
    # where the mask picks the constant: `taken`; the computed tensor elsewhere
    taken = (mask if computed[0] == second else ~mask.astype(bool)).astype(bool)
    fill, taken = np.broadcast_arrays(np.asarray(fill, np.float32), taken)
    fail = importer.failer(node)
    if np.all(np.isinf(fill[taken])):
        # x + (±inf where taken, 0 elsewhere): exact, where x·0 + v·1 would give inf·0 = NaN
        offset = per_example_constant(value, np.where(taken, fill, 0).astype(np.float32), fail)
        known = [importer.graph.add(importer.build(node, layer_class("NetArrayLayer"), arrays={"Array": offset}), [])]
        function = "Plus"
    else:
        keep = per_example_constant(value, (~taken).astype(np.float32), fail)
        put = per_example_constant(value, np.where(taken, fill, 0).astype(np.float32), fail)
        known = [importer.graph.add(importer.build(node, layer_class("NetArrayLayer"), arrays={"Array": a}), []) for a in (keep, put)]
        function = "x1 * x2 + x3"
    inputs = [value, *known]
    layer = importer.build(node, layer_class("ThreadingLayer"), function, input=[v.type for v in inputs])
    importer.set(node, importer.graph.add(layer, inputs, like=value))


def identity(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    importer.alias(node)


# -- normalization and reductions -----------------------------------------------------------
def _trailing_level(importer: Any, node: Any, value: Value, axis: int) -> int:
    """The symnet level (negative) of the axes ``axis`` … last, which must not hold the batch."""
    first = symnet_axis(value, axis, importer.failer(node))
    if not value.merged and value.batch_axis > axis % value.onnx_rank:
        raise importer.fail(node, f"it works along axes {axis} … {value.onnx_rank - 1}, one of which holds the batch.")
    return first - len(value.dims)


def softmax(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    axis = attributes.get("axis", -1 if importer.opset >= 13 else 1)
    if importer.opset < 13 and axis % value.onnx_rank != value.onnx_rank - 1:
        raise importer.fail(node, f"before opset 13 Softmax flattens the axes from {axis} on; symnet imports it over the last axis only.")
    level = symnet_axis(value, axis, importer.failer(node)) - len(value.dims)
    result = importer.graph.add(importer.build(node, layer_class("SoftmaxLayer"), level, input=value.type), [value], like=value)
    if node.op_type == "LogSoftmax":
        layer = importer.build(node, layer_class("ElementwiseLayer"), "Log", input=result.type)
        result = importer.graph.add(layer, [result], like=value)
    importer.set(node, result)


def layer_norm(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    level = _trailing_level(importer, node, value, attributes.get("axis", -1))
    shape = value.dims[level:]
    scale = importer.constant(node.input[1]) if len(node.input) > 1 and node.input[1] else np.ones(shape)
    bias = importer.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(shape)
    if scale is None or bias is None:
        raise importer.fail(node, "its scale and bias must be constants.")
    arrays = {"Scaling": np.broadcast_to(scale, shape).astype(np.float32), "Biases": np.broadcast_to(bias, shape).astype(np.float32)}
    layer = importer.build(node, layer_class("NormalizationLayer"), epsilon=float(attributes.get("epsilon", 1e-5)), levels=level, input=value.type, arrays=arrays)
    importer.set(node, importer.graph.add(layer, [value], like=value))


REDUCTIONS = {"ReduceMean": "Mean", "ReduceSum": "Total", "ReduceMax": "Max", "ReduceMin": "Min", "ReduceL1": "Total", "ReduceL2": "Total", "ReduceSumSquare": "Total"}
#: reductions that are a sum of a function of the elements, then maybe a function of the sum
REDUCED_FUNCTIONS = {"ReduceL1": ("Abs", None), "ReduceL2": ("Square", "Sqrt"), "ReduceSumSquare": ("Square", None)}


def reduce(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    axes = attributes.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = importer.constant(node.input[1])
        if axes is None:
            raise importer.fail(node, "its axes must be constant.")
    if axes is None or len(axes) == 0:
        if attributes.get("noop_with_empty_axes", 0):
            importer.alias(node)
            return
        raise importer.fail(node, "it reduces every axis, the batch among them; symnet reduces within one example.")
    fail = importer.failer(node)
    levels = tuple(sorted(symnet_axis(value, int(a), fail) for a in np.atleast_1d(axes)))
    before, after = REDUCED_FUNCTIONS.get(node.op_type, (None, None))
    if before is not None:
        value = importer.graph.add(importer.build(node, layer_class("ElementwiseLayer"), before, input=value.type), [value], like=value)
    layer = importer.build(node, layer_class("AggregationLayer"), REDUCTIONS[node.op_type], levels=levels, input=value.type)
    batch_axis = value.batch_axis - sum(1 for a in np.atleast_1d(axes) if int(a) % value.onnx_rank < value.batch_axis)
    result = importer.graph.add(layer, [value], like=value, batch_axis=value.batch_axis if attributes.get("keepdims", 1) else batch_axis)
    if after is not None:
        result = importer.graph.add(importer.build(node, layer_class("ElementwiseLayer"), after, input=result.type), [result], like=result)
    if attributes.get("keepdims", 1):
        result = replace(result, dims=tuple(1 if i in levels else d for i, d in enumerate(value.dims)))
    importer.set(node, result)


# -- moving and picking elements ------------------------------------------------------------
def reshape(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    target = importer.constant(node.input[1])
    if target is None:
        raise importer.fail(node, "the target shape must be constant or computed from shapes.")
    if attributes.get("allowzero", 0) and 0 in target:
        raise importer.fail(node, "allowzero=1 with a 0 in the shape makes an empty tensor.")
    importer.set(node, reshaped(value, [int(d) for d in target.reshape(-1)], importer.failer(node)))


def flatten(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    shape = value.onnx_shape()
    axis = attributes.get("axis", 1) % (len(shape) or 1)
    # products with the symbolic batch stay recognisable (BATCH·g); a varying length cannot be flattened here
    target = [int(np.prod(shape[:axis], dtype=object)), int(np.prod(shape[axis:], dtype=object))]
    importer.set(node, reshaped(value, target, importer.failer(node)))


def _axes(importer: Any, node: Any, attributes: dict[str, Any]) -> list[int] | None:
    axes = attributes.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = importer.constant(node.input[1])
        if axes is None:
            raise importer.fail(node, "its axes must be constant.")
    return None if axes is None else [int(a) for a in np.atleast_1d(axes)]


def squeeze(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    shape = value.onnx_shape()
    axes = _axes(importer, node, attributes)
    axes = [i for i, d in enumerate(shape) if d == 1] if axes is None else [a % len(shape) for a in axes]
    if any(shape[a] != 1 for a in axes):
        raise importer.fail(node, "it squeezes an axis whose size is not 1.")
    importer.set(node, reshaped(value, [d for i, d in enumerate(shape) if i not in axes], importer.failer(node)))


def unsqueeze(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    shape = value.onnx_shape()
    axes = _axes(importer, node, attributes) or []
    rank = len(shape) + len(axes)
    for axis in sorted(a % rank for a in axes):
        shape.insert(axis, 1)
    importer.set(node, reshaped(value, shape, importer.failer(node)))


def transpose(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    rank = value.onnx_rank
    perm = [int(p) % rank for p in attributes.get("perm", range(rank - 1, -1, -1))]
    batch_axis = perm.index(value.batch_axis)
    if value.merged:
        order = perm
    else:
        order = [p - (p > value.batch_axis) for p in perm if p != value.batch_axis]
    if order == sorted(order):  # only the batch moved: the examples are unchanged
        importer.set(node, replace(value, batch_axis=batch_axis))
        return
    layer = importer.build(node, layer_class("TransposeLayer"), tuple(order), input=value.type)
    importer.set(node, importer.graph.add(layer, [value], like=value, batch_axis=batch_axis))


def concat(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    names = [name for name in node.input if name]
    if len(importer.computed(node)) != len(names):
        raise importer.fail(node, "it joins computed tensors with constants; symnet joins computed tensors only.")
    values = [importer.value(node, name) for name in names]
    first = values[0]
    if any(v.layout != first.layout for v in values):
        raise importer.fail(node, "its inputs hold the batch differently.")
    level = symnet_axis(first, attributes["axis"], importer.failer(node))
    layer = importer.build(node, layer_class("CatenateLayer"), level, input=[v.type for v in values])
    importer.set(node, importer.graph.add(layer, values, like=first))


def slice_(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    parts = [importer.constant(name) if name else None for name in list(node.input[1:]) + [""] * (5 - len(node.input))]
    if any(p is None for p in parts[:2]) or any(p is None and name for p, name in zip(parts[2:], node.input[3:])):
        raise importer.fail(node, "its starts, ends, axes and steps must be constants.")
    starts, ends = parts[0], parts[1]
    axes = parts[2] if parts[2] is not None else np.arange(len(starts))
    steps = parts[3] if parts[3] is not None else np.ones(len(starts), dtype=np.int64)
    shape = value.onnx_shape()
    spans: dict[int, Any] = {}
    fail = importer.failer(node)
    for start, end, axis, step in zip(starts.tolist(), ends.tolist(), axes.tolist(), steps.tolist()):
        if step < 1:
            if step == -1 and (start == -1 or start >= 2**62) and end <= -(2**62) and symnet_axis(value, axis, fail) == 0 and len(starts) == 1:
                # the whole first axis of the example backwards: a reversed sequence
                layer = importer.build(node, layer_class("SequenceReverseLayer"), input=value.type)
                importer.set(node, importer.graph.add(layer, [value], like=value))
                return
            raise fail("negative steps are supported only to reverse the whole first axis of an example.")
        size = value.dims[symnet_axis(value, axis, fail)]
        whole = start == 0 and step == 1 and end >= (size if isinstance(size, int) else 2**62)
        if not whole:
            spans[symnet_axis(value, axis, fail)] = slice(int(start), None if size == VARYING and end >= 2**62 else int(min(end, shape[axis % len(shape)])), int(step))
    importer.set(node, part(importer, node, value, spans) if spans else value)


def expand(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    shape = importer.constant(node.input[1])
    if shape is None:
        raise importer.fail(node, "the target shape must be constant or computed from shapes.")
    source = value.onnx_shape()
    target = [int(d) for d in shape.reshape(-1)]
    if len(target) != len(source) or value.merged:
        raise importer.fail(node, "symnet imports Expand that keeps the rank and repeats axes of size 1.")
    result = value
    for axis, (old, new) in enumerate(zip(source, target)):
        if axis == value.batch_axis or new in (1, old):
            continue
        if old != 1:
            raise importer.fail(node, f"it expands axis {axis} of size {old} to {new}; only axes of size 1 can be repeated.")
        level = symnet_axis(result, axis, importer.failer(node))
        squeezed = replace(result, dims=result.dims[:level] + result.dims[level + 1 :])
        layer = importer.build(node, layer_class("ReplicateLayer"), new, level, input=squeezed.type)
        result = importer.graph.add(layer, [squeezed], like=value)
    importer.set(node, result)


def split(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    fail = importer.failer(node)
    axis = symnet_axis(value, attributes.get("axis", 0), fail)
    size = value.dims[axis]
    sizes = attributes.get("split")
    if sizes is None and len(node.input) > 1 and node.input[1]:
        sizes = importer.constant(node.input[1])
    if sizes is None:
        count = attributes.get("num_outputs", len(node.output))
        sizes = [-(-size // count)] * (count - 1) + [size - -(-size // count) * (count - 1)]
    start = 0
    for index, length in enumerate(int(s) for s in np.atleast_1d(sizes)):
        importer.set(node, part(importer, node, value, {axis: slice(start, start + length)}), index)
        start += length


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(UNARY, unary),
    **dict.fromkeys(BINARY, binary),
    **dict.fromkeys(("Identity", "Dropout", "Cast"), identity),
    **dict.fromkeys(REDUCTIONS, reduce),
    **dict.fromkeys(("Softmax", "LogSoftmax"), softmax),
    "Clip": clip, "Expand": expand, "Where": where, "LayerNormalization": layer_norm,
    "Reshape": reshape, "Flatten": flatten, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Transpose": transpose,
    "Concat": concat, "Slice": slice_, "Split": split,
    **SEQUENCES,
    **IMAGES,
}

__all__ = ["HANDLERS"]
