"""How a net shows itself: a text panel (``repr``), HTML for notebooks, and NetInformation."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from .containers.base import key_text
from .containers.tree import is_container, leaves, members
from .errors import NetError, closest
from .graphics import summary_graphic
from .layers.base import Layer, takes_net


def hyperparameters(layer: Layer) -> str:
    """A layer's hyperparameters as they would be written in its constructor call."""
    skip = {"input", "output", "arrays", "layers", "ports", "edges", "arity"}
    parts = []
    named = False  # after a positional field left out at its default, the rest go by name
    for f in dataclasses.fields(layer):
        if not f.init or f.name in skip:
            continue
        value = getattr(layer, f.name)
        if f.default is not dataclasses.MISSING and value == f.default and f.name not in ("size", "function"):
            named = True
            continue
        parts.append(repr(value) if not (f.kw_only or named) else f"{f.name}={value!r}")
    return ", ".join(parts)


def parameter_count(layer: Layer) -> int | None:
    total = 0
    for _, leaf in leaves(layer):
        for name in leaf.array_names():
            size = leaf.types[name].size()
            if size is None:
                return None
            total += size
    return total


def coder_text(coder: Any) -> str:
    return repr(coder).split("\n")[0]


def _port_lines(layer: Layer, ports: tuple[str, ...], indent: str) -> list[str]:
    coders = layer.coders()
    lines = []
    for port in ports:
        text = layer.types[port].describe()  # type: ignore[index]
        if port in coders:
            text += f"  ← {coder_text(coders[port])}" if port in layer.input_ports() else f"  → {coder_text(coders[port])}"
        lines.append(f"{indent}{port:<10} {text}")
    return lines


def layer_repr(layer: Layer) -> str:
    """A text panel like the Wolfram net display: ports, layers, output shapes, arrays."""
    state = "initialized" if layer.initialized else "uninitialized"
    count = parameter_count(layer)
    params = "" if count is None else f", {count:,} parameters"
    if not is_container(layer):
        head = f"{layer.kind}({hyperparameters(layer)})  <{state}{params}>"
        lines = [head]
        lines += _port_lines(layer, layer.input_ports(), "  ")
        lines += _port_lines(layer, layer.output_ports(), "  ")
        for name in layer.array_names():
            lines.append(f"  {name:<10} array {layer.types[name].shape_str()}")  # type: ignore[index]
        return "\n".join(lines)
    lines = [f"{layer.kind}  <{len(members(layer))} layers, {state}{params}>"]
    lines += _port_lines(layer, layer.input_ports(), "  ")
    width = max(len(key_text(k)) for k in members(layer))
    for key, member in members(layer).items():
        outputs = member.output_ports()
        shape = member.types[outputs[0]].describe() if outputs else ""  # type: ignore[index]
        member_count = parameter_count(member)
        mark = "" if member.initialized else "  (uninitialized)"
        detail = f"  [{member_count:,} params]" if member_count else ""
        name = f"{member.kind}({len(members(member))} layers)" if is_container(member) else f"{member.kind}({hyperparameters(member)})"
        lines.append(f"  {key_text(key):<{width}}  {name:<36} {shape}{detail}{mark}")
    lines += _port_lines(layer, layer.output_ports(), "  ")
    return "\n".join(lines)


def _information(net: Layer, prop: str) -> Any:
    found = leaves(net)
    if prop == "Layers":
        return {path: layer for path, layer in found}
    if prop == "LayersCount":
        return len(found)
    if prop == "LayerTypeCounts":
        return dict(Counter(layer.kind for _, layer in found))
    if prop == "InputPorts":
        return {p: net.types[p] for p in net.input_ports()}  # type: ignore[index]
    if prop == "OutputPorts":
        return {p: net.types[p] for p in net.output_ports()}  # type: ignore[index]
    if prop == "Arrays":
        return {(*path, name): (None if array is None else array.numpy()) for path, layer in found for name, array in layer.arrays.items()}
    if prop == "ArraysDimensions":
        return {(*path, name): layer.types[name].dims for path, layer in found for name in layer.array_names()}  # type: ignore[index]
    if prop == "ArraysElementCounts":
        return {(*path, name): layer.types[name].size() for path, layer in found for name in layer.array_names()}  # type: ignore[index]
    if prop == "ArraysTotalElementCount":
        counts = _information(net, "ArraysElementCounts").values()
        return None if any(c is None for c in counts) else sum(counts)
    if prop == "ArraysTotalSize":
        total = _information(net, "ArraysTotalElementCount")
        return None if total is None else total * 4
    if prop == "SummaryGraphic":
        return summary_graphic(net, details=hyperparameters)
    raise NetError(f'NetInformation: unknown property "{prop}"; the properties are {", ".join(PROPERTIES)}.{closest(prop, PROPERTIES)}')


PROPERTIES = ("Layers", "LayersCount", "LayerTypeCounts", "Arrays", "ArraysDimensions", "ArraysElementCounts", "ArraysTotalElementCount", "ArraysTotalSize", "InputPorts", "OutputPorts", "SummaryGraphic")


@takes_net
def NetInformation(net: Layer, prop: str | list[str] | None = None) -> Any:
    """A property of a net, a dict of several, or (with no property) all cheap ones.

    >>> net = NetChain([LinearLayer(30), "Tanh", LinearLayer(3)], input=2)
    >>> NetInformation(net, "ArraysTotalElementCount")
    183
    >>> NetInformation(net, "LayerTypeCounts")
    {'LinearLayer': 2, 'ElementwiseLayer': 1}
    """
    if prop is None:
        return {p: _information(net, p) for p in PROPERTIES if p not in ("SummaryGraphic", "Arrays")}
    if isinstance(prop, list):
        return {p: _information(net, p) for p in prop}
    return _information(net, prop)
