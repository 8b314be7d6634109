"""Decomposed operators put back together before import.

Exporters write some functions as several primitive nodes when the opset lacks them: torch
writes GELU as ``x · 0.5 · (1 + erf(x / √2))`` before opset 20, and layer normalization as
ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div (then Mul and Add for the scale and shift) before
opset 17. Imported node by node these still compute the right numbers, but as a dozen layers;
recognised, they become one ElementwiseLayer("GELU") and one NormalizationLayer, the layers the
net was written with. A pattern is replaced only when its intermediate results feed nothing else.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

#: how far a constant may be from the pattern's number (float32 exports of √2 and 0.5)
TOLERANCE = 1e-4


class _Graph:
    def __init__(self, nodes: list[Any], constants: dict[str, np.ndarray], consumers: Counter[str]) -> None:
        from onnx import numpy_helper

        self.nodes = nodes
        self.constants = dict(constants)
        for node in nodes:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            elif node.op_type == "Identity" and node.input[0] in self.constants:  # torch shares equal parameters this way
                self.constants[node.output[0]] = self.constants[node.input[0]]
        self.consumers = consumers
        self.users: dict[str, list[Any]] = {}
        for node in nodes:
            for name in node.input:
                self.users.setdefault(name, []).append(node)

    def only_user(self, name: str, op: str) -> Any | None:
        users = self.users.get(name, [])
        if self.consumers[name] == 1 and len(users) == 1 and users[0].op_type == op:
            return users[0]
        return None

    def number(self, name: str) -> float | None:
        value = self.constants.get(name)
        return float(value.reshape(())) if value is not None and value.size == 1 else None

    def is_number(self, name: str, target: float) -> bool:
        value = self.number(name)
        return value is not None and abs(value - target) <= TOLERANCE * max(1.0, abs(target))

    def other(self, node: Any, name: str) -> str | None:
        """The input of a two-input node that is not ``name``."""
        names = list(node.input)
        if len(names) != 2 or name not in names:
            return None
        return names[1 - names.index(name)]


def _gelu(graph: _Graph, erf: Any) -> tuple[list[Any], Any] | None:
    from onnx import helper

    scale = next((n for n in graph.nodes if erf.input[0] in n.output), None)
    if scale is None or graph.consumers[erf.input[0]] != 1:
        return None
    x = scale.input[0]
    if not ((scale.op_type == "Div" and graph.is_number(scale.input[1], 2**0.5)) or (scale.op_type == "Mul" and graph.is_number(scale.input[1], 0.5**0.5))):
        return None
    plus = graph.only_user(erf.output[0], "Add")
    if plus is None or not graph.is_number(graph.other(plus, erf.output[0]) or "", 1.0):
        return None
    first = graph.only_user(plus.output[0], "Mul")
    if first is None:
        return None
    second = graph.only_user(first.output[0], "Mul")
    if second is None:
        return None
    # x · (1 + erf) · 0.5, or (1 + erf) · 0.5 · x
    first_other, second_other = graph.other(first, plus.output[0]) or "", graph.other(second, first.output[0]) or ""
    if not ((first_other == x and graph.is_number(second_other, 0.5)) or (second_other == x and graph.is_number(first_other, 0.5))):
        return None
    fused = helper.make_node("Gelu", [x], [second.output[0]], name=f"{erf.name or erf.output[0]}/Gelu")
    return [scale, erf, plus, first, second], fused


def _reduce_axes(graph: _Graph, node: Any) -> list[int] | None:
    for attribute in node.attribute:
        if attribute.name == "axes":
            return list(attribute.ints)
        if attribute.name == "keepdims" and attribute.i == 0:
            return None
    if len(node.input) > 1 and node.input[1] in graph.constants:
        return [int(a) for a in graph.constants[node.input[1]].reshape(-1)]
    return None


def _layer_norm(graph: _Graph, mean: Any) -> tuple[list[Any], Any] | None:
    from onnx import helper

    x = mean.input[0]
    axes = _reduce_axes(graph, mean)
    if not axes or sorted(axes) != list(range(-len(axes), 0)):
        return None
    centre = graph.only_user(mean.output[0], "Sub")
    if centre is None or list(centre.input) != [x, mean.output[0]]:
        return None
    users = graph.users.get(centre.output[0], [])
    square = next((n for n in users if n.op_type == "Pow"), None)
    divide = next((n for n in users if n.op_type == "Div"), None)
    if len(users) != 2 or graph.consumers[centre.output[0]] != 2 or square is None or divide is None or not graph.is_number(square.input[1], 2.0):
        return None
    variance = graph.only_user(square.output[0], "ReduceMean")
    if variance is None or _reduce_axes(graph, variance) != axes:
        return None
    plus = graph.only_user(variance.output[0], "Add")
    epsilon = graph.number(graph.other(plus, variance.output[0]) or "") if plus is not None else None
    root = graph.only_user(plus.output[0], "Sqrt") if plus is not None else None
    if epsilon is None or root is None or list(divide.input) != [centre.output[0], root.output[0]]:
        return None
    nodes = [mean, centre, square, variance, plus, root, divide]
    output, scale, bias = divide.output[0], "", ""
    times = graph.only_user(output, "Mul")
    if times is not None and graph.other(times, output) in graph.constants:
        scale, output = graph.other(times, output) or "", times.output[0]
        nodes.append(times)
        shift = graph.only_user(output, "Add")
        if shift is not None and graph.other(shift, output) in graph.constants:
            bias, output = graph.other(shift, output) or "", shift.output[0]
            nodes.append(shift)
    if not scale:
        # LayerNormalization needs a scale: ones of the normalized size, known from the graph only at import
        return None
    inputs = [x, scale] + ([bias] if bias else [])
    fused = helper.make_node("LayerNormalization", inputs, [output], name=f"{mean.name or mean.output[0]}/LayerNormalization", axis=-len(axes), epsilon=epsilon)
    return nodes, fused


def fuse(nodes: list[Any], constants: dict[str, np.ndarray], consumers: Counter[str]) -> list[Any]:
    """``nodes`` with the decomposed GELUs and layer normalizations replaced by one node each."""
    graph = _Graph(nodes, constants, consumers)
    replaced: dict[int, Any] = {}  # id of the pattern's last node → the fused node
    removed: set[int] = set()
    for node in nodes:
        if id(node) in removed:
            continue
        found = _gelu(graph, node) if node.op_type == "Erf" else _layer_norm(graph, node) if node.op_type == "ReduceMean" else None
        if found is None or any(id(n) in removed for n in found[0]):
            continue
        pattern, fused = found
        removed.update(id(n) for n in pattern)
        # the fused node takes the place of the pattern's last node, when every input exists
        replaced[id(max(pattern, key=nodes.index))] = fused
    return [replaced[id(n)] if id(n) in replaced else n for n in nodes if id(n) not in removed or id(n) in replaced]


__all__ = ["fuse"]
