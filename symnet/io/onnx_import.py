"""Import an ONNX model as a symnet net, for the operators the core layers cover.

Supported: Gemm, MatMul (with a constant weight, and a following Add as its biases), Relu,
Tanh, Sigmoid, Softmax, Conv, MaxPool, AveragePool, Flatten, Reshape (with a constant shape, or one computed from the input's shape by
Shape/Gather/Unsqueeze/Concat/Slice/Squeeze/Cast), Add/Mul/Sub/Div of two tensors or of a
tensor and a scalar, Identity and Dropout. Any other operator makes ``Import`` raise a NetError
listing every unsupported operator in the file. The first axis of every tensor is the batch.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import NetError
from ..layers.base import Layer
from ..types import TensorType

SHAPE_OPERATORS = ("Constant", "Shape", "Gather", "Unsqueeze", "Concat", "Slice", "Squeeze", "Cast")
LAYER_OPERATORS = (
    "Gemm", "MatMul", "Relu", "Tanh", "Sigmoid", "Softmax", "Conv", "MaxPool", "AveragePool",
    "Flatten", "Reshape", "Add", "Mul", "Sub", "Div", "Identity", "Dropout",
)
SUPPORTED = (*LAYER_OPERATORS, *SHAPE_OPERATORS)
ACTIVATIONS = {"Relu": "Ramp", "Tanh": "Tanh", "Sigmoid": "LogisticSigmoid"}
THREADING = {"Add": "Plus", "Mul": "Times", "Sub": "Subtract", "Div": "Divide"}
SCALAR_EXPRESSIONS = {"Add": "x + {c}", "Mul": "x * {c}", "Sub": "x - {c}", "Div": "x / {c}"}
ELEMENTS = {1: "Real", 11: "Real", 10: "Real", 7: "Integer", 6: "Integer"}


def _attributes(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Builder:
    def __init__(self, model: Any, where: str) -> None:
        from onnx import numpy_helper

        self.where = where
        self.graph = model.graph
        self.constants: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.types: dict[str, TensorType] = {}
        self.sources: dict[str, tuple[str | None, str]] = {}
        self.layers: list[Layer] = []
        self.connections: list[tuple[tuple[str | None, str], tuple[str, str]]] = []
        self.from_matmul: dict[str, int] = {}
        self.inputs: list[str] = []

    def fail(self, node: Any, text: str) -> NetError:
        return NetError(f'{self.where}: node "{node.name or node.op_type}" ({node.op_type}): {text}')

    def read_inputs(self) -> None:
        for value in self.graph.input:
            if value.name in self.constants:
                continue
            tensor_type = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor_type.shape.dim]
            if not dims:
                raise NetError(f'{self.where}: the input "{value.name}" has no batch axis; symnet needs the batch axis first.')
            element = ELEMENTS.get(tensor_type.elem_type, "Real")
            self.types[value.name] = TensorType(tuple(dims[1:]), element)
            self.sources[value.name] = (None, value.name)
            self.inputs.append(value.name)

    def add(self, node: Any, layer: Layer, inputs: list[str]) -> None:
        key = str(len(self.layers))
        ports = layer.input_ports()
        for port, name in zip(ports, inputs):
            self.connections.append((self.sources[name], (key, port)))
        self.layers.append(layer)
        output = node.output[0]
        self.sources[output] = (key, "Output")
        self.types[output] = layer.types["Output"]  # type: ignore[index]

    def dynamic(self, node: Any) -> list[str]:
        return [name for name in node.input if name and name not in self.constants]

    def build_layer(self, node: Any, layer_type: type, *args: Any, **kwargs: Any) -> Layer:
        try:
            return layer_type(*args, **kwargs)  # type: ignore[no-any-return]
        except NetError as error:
            raise self.fail(node, str(error)) from None

    # -- operators --------------------------------------------------------------------------
    def shape_math(self, node: Any) -> None:
        op, attributes = node.op_type, _attributes(node)
        values = [self.constants.get(name) for name in node.input if name]
        if op == "Constant":
            from onnx import numpy_helper

            self.constants[node.output[0]] = numpy_helper.to_array(attributes["value"]) if "value" in attributes else np.array(attributes.get("value_float", attributes.get("value_int")))
            return
        if op == "Shape":
            t = self.types.get(node.input[0])
            if t is None or not t.fixed:
                raise self.fail(node, "the shape of its input is not fixed, so the shape computation cannot be followed.")
            self.constants[node.output[0]] = np.array([0, *t.dims], dtype=np.int64)  # 0: "keep the batch size" in Reshape
            return
        if any(v is None for v in values):
            raise self.fail(node, "shape arithmetic on values computed by the net is not supported.")
        if op == "Gather":
            result = np.take(values[0], values[1], axis=attributes.get("axis", 0))
        elif op == "Unsqueeze":
            axes = attributes.get("axes", values[1] if len(values) > 1 else None)
            result = values[0]
            for axis in sorted(int(a) for a in np.atleast_1d(axes)):
                result = np.expand_dims(result, axis)
        elif op == "Squeeze":
            axes = attributes.get("axes", values[1] if len(values) > 1 else None)
            result = np.squeeze(values[0], axis=None if axes is None else tuple(int(a) for a in np.atleast_1d(axes)))
        elif op == "Concat":
            result = np.concatenate([np.atleast_1d(v) for v in values], axis=attributes.get("axis", 0))
        elif op == "Slice":
            data, starts, ends = values[0], values[1], values[2]
            axes = values[3] if len(values) > 3 else np.arange(len(starts))
            steps = values[4] if len(values) > 4 else np.ones(len(starts), dtype=np.int64)
            index = [slice(None)] * data.ndim
            for s, e, a, st in zip(starts, ends, axes, steps):
                index[int(a)] = slice(int(s), int(e), int(st))
            result = data[tuple(index)]
        else:  # Cast
            result = values[0]
        self.constants[node.output[0]] = np.asarray(result)

    def layer(self, node: Any) -> None:
        from .spec import layer_classes

        # found by name, wherever the layer families keep them
        classes = layer_classes()
        ElementwiseLayer, LinearLayer, SoftmaxLayer, ThreadingLayer = (classes[n] for n in ("ElementwiseLayer", "LinearLayer", "SoftmaxLayer", "ThreadingLayer"))
        ConvolutionLayer, PoolingLayer, FlattenLayer, ReshapeLayer = (classes[n] for n in ("ConvolutionLayer", "PoolingLayer", "FlattenLayer", "ReshapeLayer"))

        op, attributes = node.op_type, _attributes(node)
        dynamic = self.dynamic(node)
        if op in ("Identity", "Dropout"):
            self.sources[node.output[0]] = self.sources[node.input[0]]
            self.types[node.output[0]] = self.types[node.input[0]]
            return
        if not dynamic:
            raise self.fail(node, "every input is a constant; symnet layers need an input computed from the net's inputs.")
        x = dynamic[0]
        t = self.types[x]
        if op in ACTIVATIONS:
            self.add(node, self.build_layer(node, ElementwiseLayer, ACTIVATIONS[op], input=t), [x])
        elif op == "Softmax":
            axis = attributes.get("axis", -1)
            level = axis if axis < 0 else axis - 1
            if axis == 0:
                raise self.fail(node, "a softmax over the batch axis has no symnet layer.")
            self.add(node, self.build_layer(node, SoftmaxLayer, level, input=t), [x])
        elif op == "Gemm":
            if attributes.get("transA", 0):
                raise self.fail(node, "transA=1 is not supported.")
            weights = self.constants.get(node.input[1])
            if weights is None or node.input[0] != x:
                raise self.fail(node, "only x·W with a constant W is supported.")
            weights = weights.T if not attributes.get("transB", 0) else weights
            weights = weights * attributes.get("alpha", 1.0)
            arrays = {"Weights": weights.astype(np.float32)}
            if len(node.input) > 2 and node.input[2]:
                bias = np.broadcast_to(self.constants[node.input[2]] * attributes.get("beta", 1.0), (weights.shape[0],))
                arrays["Biases"] = bias.astype(np.float32)
            self.add(node, self.build_layer(node, LinearLayer, weights.shape[0], input=t, biases="Biases" in arrays, arrays=arrays), [x])
        elif op == "MatMul":
            weights = self.constants.get(node.input[1])
            if weights is None or weights.ndim != 2 or node.input[0] != x or t.rank != 1:
                raise self.fail(node, "only a vector times a constant matrix is supported.")
            self.add(node, self.build_layer(node, LinearLayer, weights.shape[1], input=t, biases=False, arrays={"Weights": weights.T.astype(np.float32)}), [x])
            self.from_matmul[node.output[0]] = len(self.layers) - 1
        elif op in THREADING:
            constants = [self.constants[name] for name in node.input if name in self.constants]
            if len(dynamic) == 2:
                self.add(node, self.build_layer(node, ThreadingLayer, THREADING[op], input=[t, self.types[dynamic[1]]]), dynamic)
            elif op == "Add" and x in self.from_matmul and constants and constants[0].ndim == 1:
                index = self.from_matmul.pop(x)
                linear = self.layers[index]
                self.layers[index] = self.build_layer(node, LinearLayer, linear.size, input=linear.input, arrays={**linear.arrays, "Biases": constants[0].astype(np.float32)})  # type: ignore[attr-defined]
                self.sources[node.output[0]] = self.sources[x]
                self.types[node.output[0]] = self.types[x]
            elif constants and constants[0].size == 1 and node.input[0] == x:
                expression = SCALAR_EXPRESSIONS[op].format(c=repr(float(constants[0].reshape(()))))
                self.add(node, self.build_layer(node, ElementwiseLayer, expression, input=t), [x])
            else:
                raise self.fail(node, "only two computed tensors, a MatMul's bias, or a tensor and a scalar constant are supported.")
        elif op == "Conv":
            weights = self.constants.get(node.input[1])
            if weights is None:
                raise self.fail(node, "the weights must be a constant.")
            rank = weights.ndim - 2
            arrays = {"Weights": weights.astype(np.float32)}
            if len(node.input) > 2 and node.input[2]:
                arrays["Biases"] = self.constants[node.input[2]].astype(np.float32)
            layer = self.build_layer(
                node, ConvolutionLayer, weights.shape[0], tuple(weights.shape[2:]), input=t, stride=tuple(attributes.get("strides", [1] * rank)),
                padding=self._padding(node, attributes, rank), dilation=tuple(attributes.get("dilations", [1] * rank)),
                groups=attributes.get("group", 1), biases="Biases" in arrays, arrays=arrays,
            )
            self.add(node, layer, [x])
        elif op in ("MaxPool", "AveragePool"):
            kernel = tuple(attributes["kernel_shape"])
            rank = len(kernel)
            if attributes.get("ceil_mode", 0) or any(d != 1 for d in attributes.get("dilations", [1] * rank)):
                raise self.fail(node, "ceil_mode and dilated pooling are not supported.")
            if op == "AveragePool" and any(attributes.get("pads", [0])) and not attributes.get("count_include_pad", 0):
                raise self.fail(node, "average pooling over padding that excludes the padded values is not supported.")
            layer = self.build_layer(
                node, PoolingLayer, kernel, stride=tuple(attributes.get("strides", kernel)), function="Max" if op == "MaxPool" else "Mean",
                padding=self._padding(node, attributes, rank), input=t,
            )
            self.add(node, layer, [x])
        elif op == "Flatten":
            if attributes.get("axis", 1) != 1:
                raise self.fail(node, "only Flatten with axis=1 (keeping the batch axis) is supported.")
            self.add(node, self.build_layer(node, FlattenLayer, input=t), [x])
        elif op == "Reshape":
            shape = self.constants.get(node.input[1])
            if shape is None:
                raise self.fail(node, "the target shape must be constant or computed from the input's shape.")
            shape = [int(s) for s in shape.reshape(-1)]
            if not shape or shape[0] not in (0, -1):
                raise self.fail(node, f"the target shape {shape} must keep the batch axis first.")
            dims = [t.dims[i] if s == 0 and not attributes.get("allowzero", 0) and t.dims else s for i, s in enumerate(shape[1:])]  # type: ignore[index]
            self.add(node, self.build_layer(node, ReshapeLayer, tuple(dims), input=t), [x])
        else:  # pragma: no cover - filtered before
            raise self.fail(node, "unsupported.")

    def _padding(self, node: Any, attributes: dict[str, Any], rank: int) -> Any:
        if attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise self.fail(node, "auto_pad is not supported; export with explicit pads.")
        pads = attributes.get("pads", [0] * (2 * rank))
        return tuple((int(pads[i]), int(pads[i + rank])) for i in range(rank))

    # -- the net ----------------------------------------------------------------------------
    def net(self) -> Layer:
        from ..containers.chain import NetChain
        from ..containers.graph import NetGraph
        from ..ports import NetPort

        outputs = [value.name for value in self.graph.output]
        for name in outputs:
            if name not in self.sources:
                raise NetError(f'{self.where}: the output "{name}" is not computed by any supported node.')
        edges: list[tuple[Any, Any]] = [(NetPort(s[1]) if s[0] is None else NetPort(s[0], s[1]), NetPort(d[0], d[1])) for s, d in self.connections]
        edges += [(NetPort(*self.sources[name]) if self.sources[name][0] is not None else NetPort(name), NetPort(name)) for name in outputs]
        linear = (
            len(self.inputs) == 1 and len(outputs) == 1 and self.layers
            and [c for c in self.connections] == [((None, self.inputs[0]) if i == 0 else (str(i - 1), "Output"), (str(i), "Input")) for i in range(len(self.layers))]
            and self.sources[outputs[0]] == (str(len(self.layers) - 1), "Output")
        )
        try:
            if linear:
                return NetChain(list(self.layers), input=self.types[self.inputs[0]])
            return NetGraph(list(self.layers), edges, ports={name: self.types[name] for name in self.inputs})
        except NetError as error:
            raise type(error)(f"{self.where}: {error}") from None


def import_onnx(path: str | os.PathLike[str]) -> Layer:
    """The symnet net an ONNX file describes (see the module docstring for the operators)."""
    where = f'Import("{path}")'
    try:
        import onnx
    except ImportError:
        raise NetError(f'{where}: reading ONNX needs the "onnx" package: pip install onnx.') from None
    try:
        model = onnx.load(os.fspath(path))
    except FileNotFoundError:
        raise NetError(f"{where}: no such file.") from None
    except Exception as error:
        raise NetError(f"{where}: not a readable ONNX file: {type(error).__name__}.") from None
    if not model.ir_version or not model.graph.node:
        # Protobuf reads an empty file (and many tiny ones) as an empty model without complaint.
        size = os.path.getsize(path)
        what = "is empty (0 bytes)" if size == 0 else f"({size} bytes) is not an ONNX model: it holds no graph of operators"
        raise NetError(f"{where}: the file {what}.", fix="Check the path, or export the model to ONNX again.")
    unsupported = sorted({node.op_type for node in model.graph.node if node.op_type not in SUPPORTED})
    if unsupported:
        raise NetError(f"{where}: the model uses operators symnet cannot import: {', '.join(unsupported)}. Supported: {', '.join(LAYER_OPERATORS)}.")
    builder = _Builder(model, where)
    builder.read_inputs()
    for node in model.graph.node:
        if node.op_type in SHAPE_OPERATORS:
            builder.shape_math(node)
        else:
            builder.layer(node)
    return builder.net()
