"""NetGraph: layers connected by explicit edges.

Edges are tuples read left to right: ``(0, 1, 2)`` connects layer 0 to layer 1 and layer 1 to
layer 2 (Wolfram's ``1 -> 2 -> 3``). An element is a layer index (negative counts from the
end), a layer name, ``NetPort("Input")`` for a port of the graph, ``NetPort("layer", "Port")``
for a particular port of a layer, or a list of those, all feeding the next element (Wolfram's
``{1, 2} -> 3``; as a destination, the source feeds each of them). Several edges into a layer that takes any number of inputs (ThreadingLayer,
CatenateLayer) fill its inputs in the order the edges are given. Inputs and outputs of layers
left unconnected become the graph's ports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import GraphError, closest
from ..layers.base import Layer
from ..ports import NetPort
from .base import Connection, Container, Endpoint, key_text
from .chain import normalize_layers


@dataclass(frozen=True, eq=False, repr=False)
class NetGraph(Container):
    """Layers connected by ``edges``; see the module docstring for the edge syntax.

    >>> net = NetGraph(["Ramp", "Tanh", ThreadingLayer("Times"), ThreadingLayer("Plus")],
    ...                [(0, 1, 2), (0, 2, 3), (1, 3)], input=2)
    >>> net.input_ports(), net.output_ports()
    (('Input',), ('Output',))
    >>> [round(v, 4) for v in net([-1.0, 2.0]).tolist()]
    [0.0, 2.8921]
    """

    edges: Sequence[Any] = field(default=())

    def _members(self, layers: Any) -> dict[str, Layer]:
        return normalize_layers(layers, self.kind)

    def _endpoints(self, element: Any) -> list[Any]:
        """Resolve one element of an edge into (key or None, port or None) pairs."""
        if isinstance(element, list):
            return [e for item in element for e in self._endpoints(item)]
        if isinstance(element, NetPort):
            if len(element.path) == 1:
                return [(None, element.path[0])]
            if len(element.path) == 2:
                return [(self._key(element.path[0]), element.path[1])]
            raise GraphError(f"NetGraph: {element!r} must name a graph port or a layer and one of its ports.")
        return [(self._key(element), None)]

    def _key(self, spec: Any) -> str:
        try:
            return self.key_of(spec)
        except Exception:
            keys = list(self.layers)
            names = ", ".join(key_text(k) for k in keys)
            shown = f'"{spec}"' if isinstance(spec, str) else repr(spec)
            raise GraphError(f"NetGraph: the edge names the layer {shown}, which does not exist; the layers are {names}.{closest(str(spec), keys)}") from None

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        pairs: list[tuple[tuple[Any, Any], tuple[Any, Any]]] = []
        for edge in self.edges:
            if not isinstance(edge, tuple) or len(edge) < 2:
                raise GraphError(f"NetGraph: the edge {edge!r} must be a tuple of at least two elements, such as (0, 1) or (0, 1, 2).")
            for a, b in zip(edge, edge[1:]):
                for source in self._endpoints(a):
                    for destination in self._endpoints(b):
                        pairs.append((source, destination))

        # Variadic layers get as many inputs as edges lead into them.
        layers = dict(self.layers)
        for key, layer in layers.items():
            if layer.variadic:
                count = sum(1 for _, d in pairs if d[0] == key and (d[1] is None or d[1] == "Input"))
                explicit = sum(1 for _, d in pairs if d[0] == key and d[1] not in (None, "Input"))
                arity = max(count + explicit, 1)
                if count and getattr(layer, "arity", None) != arity:
                    layers[key] = dataclasses.replace(layer, arity=arity)
        object.__setattr__(self, "layers", MappingProxyType(layers))

        connections: list[Connection] = []
        filled: dict[Endpoint, Endpoint] = {}
        graph_inputs: list[str] = []
        graph_outputs: list[str] = []
        for source, destination in pairs:
            source = self._source_port(source, destination)
            if source[0] is None and source[1] not in graph_inputs:
                graph_inputs.append(source[1])
            destination = self._destination_port(destination, filled)
            if destination[0] is None:
                if destination in filled:
                    raise GraphError(f'NetGraph: the graph output "{destination[1]}" is connected twice.')
                if destination[1] not in graph_outputs:
                    graph_outputs.append(destination[1])
            filled[destination] = source
            connections.append((source, destination))

        # Unconnected layer inputs and outputs become the graph's ports.
        used_sources = {s for s, _ in connections}
        free_inputs = [(k, p) for k, layer in layers.items() for p in layer.input_ports() if (k, p) not in filled]
        free_outputs = [(k, p) for k, layer in layers.items() for p in layer.output_ports() if (k, p) not in used_sources]
        for endpoints, names, into in ((free_inputs, graph_inputs, True), (free_outputs, graph_outputs, False)):
            for key, port in endpoints:
                name = port if sum(1 for _, p in endpoints if p == port) == 1 and port not in names else self._fresh(port, names)
                names.append(name)
                connections.append(((None, name), (key, port)) if into else ((key, port), (None, name)))
        self._check_acyclic(connections)
        if not graph_outputs:
            raise GraphError("NetGraph: every layer output is connected to another layer, so the graph has no output; connect one to NetPort(\"Output\").")
        return connections, graph_inputs, graph_outputs

    @staticmethod
    def _fresh(port: str, names: list[str]) -> str:
        i = 1
        while f"{port}{i}" in names:
            i += 1
        return f"{port}{i}"

    def _source_port(self, source: Any, destination: Any) -> Endpoint:
        key, port = source
        if key is None:
            return (None, port)
        layer = self.layers[key]
        outputs = layer.output_ports()
        if port is None:
            if len(outputs) != 1:
                raise GraphError(f'NetGraph: layer {key_text(key)} ({layer.kind}) has the outputs {", ".join(outputs)}; name one with NetPort({key!r}, "{outputs[0]}").')
            return (key, outputs[0])
        if port not in outputs:
            raise GraphError(f'NetGraph: layer {key_text(key)} ({layer.kind}) has no output port "{port}"; its outputs: {", ".join(outputs)}.{closest(port, outputs)}')
        return (key, port)

    def _destination_port(self, destination: Any, filled: dict[Endpoint, Endpoint]) -> Endpoint:
        key, port = destination
        if key is None:
            return (None, port)
        layer = self.layers[key]
        inputs = layer.input_ports()
        if port is None or (layer.variadic and port == "Input"):
            free = [p for p in inputs if (key, p) not in filled]
            if layer.variadic or len(inputs) == 1:
                if not free:
                    raise GraphError(f'NetGraph: the input of layer {key_text(key)} ({layer.kind}) is connected twice; a port takes one source. Fix: join the sources first (CatenateLayer, ThreadingLayer) or connect one of them.')
                port = free[0]
            elif "Input" in inputs:
                port = "Input"
            else:
                raise GraphError(f'NetGraph: layer {key_text(key)} ({layer.kind}) has the inputs {", ".join(inputs)}; name one with NetPort({key!r}, "{inputs[0]}").')
        if port not in inputs:
            raise GraphError(f'NetGraph: layer {key_text(key)} ({layer.kind}) has no input port "{port}"; its inputs: {", ".join(inputs)}.{closest(port, inputs)}')
        if (key, port) in filled:
            raise GraphError(f'NetGraph: the port "{port}" of layer {key_text(key)} ({layer.kind}) is connected twice; a port takes one source. Fix: join the sources first (CatenateLayer, ThreadingLayer) or connect one of them.')
        return (key, port)

    def _check_acyclic(self, connections: list[Connection]) -> None:
        successors: dict[str, list[str]] = {k: [] for k in self.layers}
        for (a, _), (b, _) in connections:
            if a is not None and b is not None:
                successors[a].append(b)
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in successors[node]:
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt):] + [nxt]
                    raise GraphError(f"NetGraph: the edges form a cycle: {' -> '.join(key_text(k) for k in cycle)}. A net must be acyclic; remove one of these edges.")
                if nxt not in state:
                    visit(nxt)
            stack.pop()
            state[node] = 2

        for node in self.layers:
            if node not in state:
                visit(node)

    def order(self) -> list[str]:
        """Member keys in an order where every layer comes after its sources."""
        indegree = {k: 0 for k in self.layers}
        successors: dict[str, list[str]] = {k: [] for k in self.layers}
        for (a, _), (b, _) in self.connections:
            if a is not None and b is not None:
                successors[a].append(b)
                indegree[b] += 1
        ready = [k for k in self.layers if indegree[k] == 0]
        result = []
        while ready:
            node = ready.pop(0)
            result.append(node)
            for nxt in successors[node]:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    ready.append(nxt)
        return result
