"""Import an ONNX model as a symnet net made of symnet layers (inspectable, trainable, saveable).

What it covers: the operators of common exported CNNs (Conv, BatchNormalization, pooling,
GlobalAveragePool, Gemm, Flatten, Resize …), of transformer encoders (MatMul on sequences and between
computed tensors, LayerNormalization or its decomposed form, Gelu or its Erf form, Softmax on
any axis, Transpose, Reshape, Gather as an embedding lookup, Concat, Slice, Split, Squeeze,
Unsqueeze, ReduceMean, Where for masked_fill with a constant mask, GatherElements …) and
recurrent nets (RNN, LSTM, GRU, forward or bidirectional); the full list is
:func:`supported_operators`.
Files from both of torch's exporters import: the TorchScript one (``dynamo=False``) and the
torch.export one that ``torch.onnx.export`` uses by default (it needs the onnxscript package).
A node whose inputs are all constants (the shape arithmetic exporters emit, constant masks) is
evaluated at import time with ONNX's reference evaluator, whatever its operator. Any other
operator makes ``Import`` raise a NetError naming every unsupported operator and its first node.

The first axis of every input is the batch; inside the graph the batch may move (torch's
recurrent exports put it second) or merge with another axis (``(batch·heads, n, d)``), as long
as no computation mixes examples: see :mod:`symnet.io.onnx_values`.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np

from ..errors import NetError
from ..layers.base import Layer
from ..types import VARYING, TensorType
from .onnx_values import BATCH, LENGTH, Graph, Value

ELEMENTS = {1: "Real", 11: "Real", 10: "Real", 16: "Real", 7: "Integer", 6: "Integer", 9: "Integer"}


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded)."""
    import onnx

    def text(value: Any) -> Any:
        return value.decode() if isinstance(value, bytes) else value

    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: [text(x) for x in v] if isinstance(v, list) else text(v) for k, v in values.items()}


class Unsupported(Exception):
    """A node no handler covers (collected, so one message can list every such operator)."""


class Importer:
    """Walks the graph once, in order, turning each node into symnet layers (or constants)."""

    def __init__(self, model: Any, where: str) -> None:
        from onnx import numpy_helper

        self.where = where
        self.model = model
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
        self.graph = Graph(where)
        self.graph.constants.update({t.name: numpy_helper.to_array(t) for t in model.graph.initializer})
        #: constants filled with one number whose shape holds the batch (zero initial states)
        self.fills: dict[str, float] = {}
        #: MatMul outputs still without biases: name → (layer key, NetMapOperator depth)
        self.matmuls: dict[str, tuple[str, int]] = {}
        self.consumers: Counter[str] = Counter(name for node in model.graph.node for name in node.input)
        self.consumers.update(value.name for value in model.graph.output)

    # -- reading values ---------------------------------------------------------------------
    def fail(self, node: Any, text: str) -> NetError:
        return NetError(f'{self.where}: node "{node.name or node.output[0]}" ({node.op_type}): {text}')

    def failer(self, node: Any) -> Any:
        return lambda text: self.fail(node, text)

    def constant(self, name: str) -> np.ndarray | None:
        return self.graph.constants.get(name) if name else None

    def value(self, node: Any, name: str) -> Value:
        if name in self.graph.values:
            return self.graph.values[name]
        if name in self.fills:
            raise self.fail(node, f'its input "{name}" is a constant whose shape depends on the batch size, which symnet can only use as a zero initial state of LSTM/GRU.')
        raise self.fail(node, f'its input "{name}" is a constant where symnet needs a tensor computed from the net\'s inputs.')

    def computed(self, node: Any) -> list[str]:
        return [name for name in node.input if name in self.graph.values]

    def set(self, node: Any, value: Value, index: int = 0) -> None:
        self.graph.values[node.output[index]] = value

    def alias(self, node: Any) -> None:
        """An output that is its input (Identity, Dropout at evaluation, Cast between reals)."""
        name = node.input[0]
        if name in self.graph.constants:
            self.graph.constants[node.output[0]] = self.graph.constants[name]
        else:
            self.set(node, self.value(node, name))

    def build(self, node: Any, layer_type: Any, *args: Any, **kwargs: Any) -> Layer:
        """A layer, with its own NetError (a shape that does not fit …) said to be about this node."""
        try:
            return layer_type(*args, **kwargs)  # type: ignore[no-any-return]
        except NetError as error:
            raise self.fail(node, str(error)) from None

    # -- the inputs -------------------------------------------------------------------------
    def read_inputs(self) -> None:
        for value in self.model.graph.input:
            if value.name in self.graph.constants:
                continue
            tensor_type = value.type.tensor_type
            shape = tensor_type.shape.dim
            if not shape:
                raise NetError(f'{self.where}: the input "{value.name}" has no batch axis; symnet needs the batch axis first.')
            dims: list[Any] = []
            for axis, d in enumerate(shape[1:]):
                if d.HasField("dim_value") and d.dim_value > 0:
                    dims.append(int(d.dim_value))
                elif axis == 0:
                    dims.append(VARYING)  # a symbolic length right after the batch: a sequence
                else:
                    raise NetError(f'{self.where}: the input "{value.name}" has a symbolic size on axis {axis + 1}; symnet needs every axis but the batch and the first one fixed. Export with a fixed size there.')
            element = ELEMENTS.get(tensor_type.elem_type, "Real")
            t = TensorType(tuple(dims), element)
            self.graph.inputs[value.name] = t
            self.graph.values[value.name] = Value((None, value.name), tuple(dims), tuple(dims), element=element)

    # -- constants --------------------------------------------------------------------------
    def fold(self, node: Any) -> None:
        """Evaluate a node whose inputs are all constants, as ONNX defines it."""
        from onnx.reference import ReferenceEvaluator

        inputs = {name: self.graph.constants[name] for name in node.input if name}

        def symbolic(values: list[np.ndarray]) -> bool:  # holds the batch size or a varying length
            # (ONNX's "to the end" of a Slice is ±2**63-1, far past any product of the sentinels)
            for v in values:
                if v.dtype.kind in "iu":
                    big = v[(np.abs(v) >= LENGTH) & (np.abs(v) < 2**62)]
                    if np.any((big % BATCH == 0) | (big % LENGTH == 0)):
                        return True
            return False

        values = [self.graph.constants[name] if name else np.zeros(0) for name in node.input]
        if node.op_type == "ConstantOfShape" and symbolic(values):
            fill = attributes(node).get("value")
            from onnx import numpy_helper

            self.fills[node.output[0]] = float(numpy_helper.to_array(fill).reshape(-1)[0]) if fill is not None else 0.0
            return
        if node.op_type == "Expand" and symbolic(values[1:]) and values[0].size and np.all(values[0] == values[0].reshape(-1)[0]):
            # one number spread to a batch-sized shape (torch.export writes zero initial states so)
            self.fills[node.output[0]] = float(values[0].reshape(-1)[0])
            return
        # sizes and positions taken from a tensor's shape: the result would have the shape of the
        # example the file was exported with, so nothing is made rather than something wrong
        sizing = {"Expand": 1, "Tile": 1, "Range": 0, "Slice": 1, "Reshape": 1, "Pad": 1, "Resize": 1}
        if node.op_type in sizing and symbolic(values[sizing[node.op_type] :]):
            raise self.fail(node, "it builds a tensor whose size depends on the batch size or a sequence's length; symnet cannot make such a constant.")
        try:
            results = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, inputs)
        except Exception as error:  # the reference evaluator raises whatever its kernels raise
            raise self.fail(node, f"evaluating it on its constant inputs failed: {type(error).__name__}: {error}") from None
        for name, result in zip(node.output, results):
            self.graph.constants[name] = np.asarray(result)

    #: operators that only rearrange or cut a tensor: a fill stays a fill of the same number
    FILL_MOVES = frozenset({"Slice", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Expand", "Cast", "Concat"})

    def moves_fill(self, node: Any) -> bool:
        """Record the output of a reshape, cut or join of fills (one number spread to a batch-sized
        shape) as the same fill: torch.export cuts each layer's zero initial state from one tensor."""
        data = [name for name in (node.input if node.op_type == "Concat" else node.input[:1]) if name]
        if node.op_type not in self.FILL_MOVES or not data or not all(name in self.fills for name in data):
            return False
        if len({self.fills[name] for name in data}) != 1 or not all(not name or name in data or name in self.graph.constants for name in node.input):
            return False
        self.fills[node.output[0]] = self.fills[data[0]]
        return True

    def shape(self, node: Any) -> None:
        options = attributes(node)
        shape = np.array(self.value(node, node.input[0]).onnx_shape(), dtype=np.int64)
        self.graph.constants[node.output[0]] = shape[options.get("start", 0) : options.get("end", None)]

    def size(self, node: Any) -> None:
        shape = self.value(node, node.input[0]).onnx_shape()
        self.graph.constants[node.output[0]] = np.array(int(np.prod(shape, dtype=object)), dtype=np.int64)

    # -- the walk ---------------------------------------------------------------------------
    def run(self, nodes: list[Any]) -> Layer:
        from .onnx_operators import HANDLERS

        unsupported: dict[str, str] = {}
        unknown: set[str] = set()  # outputs of unsupported nodes, and what depends on them
        for node in nodes:
            inputs = [name for name in node.input if name]
            if any(name in unknown for name in inputs):
                unknown.update(node.output)
                continue
            if self.moves_fill(node):
                continue
            if node.op_type == "Shape" and inputs[0] in self.graph.values:
                self.shape(node)
            elif node.op_type == "Size" and inputs[0] in self.graph.values:
                self.size(node)
            elif node.op_type == "Constant" or all(name in self.graph.constants for name in inputs):
                self.fold(node)
            elif node.op_type in HANDLERS and node.domain in ("", "ai.onnx"):
                try:
                    HANDLERS[node.op_type](self, node, attributes(node))
                except NetError:
                    raise
                except Exception as error:  # a form of the operator the handler did not foresee
                    raise self.fail(node, f"this form of {node.op_type} could not be imported ({type(error).__name__}: {error}).") from None
            else:
                unsupported.setdefault(node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}", node.name or node.output[0])
                unknown.update(node.output)
        if unsupported:
            listed = ", ".join(f'{op} (node "{name}")' for op, name in sorted(unsupported.items()))
            raise NetError(f"{self.where}: the model uses operators symnet cannot import: {listed}. Supported: {', '.join(sorted(HANDLERS))}, and any operator on constants.")
        return self.graph.net([value.name for value in self.model.graph.output])


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
    from .onnx_patterns import fuse

    importer = Importer(model, where)
    importer.read_inputs()
    return importer.run(fuse(list(model.graph.node), importer.graph.constants, importer.consumers))


def supported_operators() -> tuple[str, ...]:
    """The operators the importer turns into layers (any other is evaluated when its inputs are constants)."""
    from .onnx_operators import HANDLERS

    return tuple(sorted(HANDLERS))


__all__ = ["BATCH", "Importer", "import_onnx", "supported_operators"]
