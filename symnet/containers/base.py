"""What NetChain and NetGraph share: members, connections and shape inference to a fixpoint.

A container holds ``layers`` (a read-only ordered mapping of key → layer; unnamed layers get
the keys "0", "1", …) and ``connections``: pairs ``(source, destination)`` of endpoints
``(key, port)`` where ``key is None`` stands for the container's own ports. Shape inference
unifies the types at both ends of every connection and lets every member refine its own ports
until nothing changes; a work list revisits only the members next to a change, so inference is
linear in the size of the net (a chain of 20,000 layers is solved in one pass).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import NetError, ShapeError, closest
from ..layers.base import MAX_INFERENCE_ROUNDS, Layer, cache_field, is_coder
from ..types import TensorType

Endpoint = tuple[str | None, str]
Connection = tuple[Endpoint, Endpoint]


def key_text(key: str) -> str:
    """How a member key appears in a path: indices bare, names quoted."""
    return key if key.isdigit() else f'"{key}"'


def member_items(layers: Any, container: str) -> list[tuple[str, Any]]:
    """The (key, specification) pairs of a list or dict of members (unnamed: "0", "1", …)."""
    if isinstance(layers, Mapping):
        return [(str(k), v) for k, v in layers.items()]
    if isinstance(layers, list | tuple):
        return [(str(i), v) for i, v in enumerate(layers)]
    raise NetError(f"{container}: the layers must be a list or a dict, not {type(layers).__name__}.")


@dataclass(frozen=True, eq=False, repr=False)
class Container(Layer):
    """The shared machinery of NetChain and NetGraph."""

    layers: Any = None
    ports: Mapping[str, Any] = field(default_factory=dict, kw_only=True)
    #: (source, destination) endpoint pairs, derived from the members (and a graph's edges)
    connections: tuple[Connection, ...] = field(default=(), init=False, repr=False, compare=False)
    _input_ports: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    _output_ports: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    #: coders seen through to the container's ports, computed once (see ``coders``)
    _coders_cache: dict[str, Any] = cache_field()

    def __post_init__(self) -> None:
        layers = self._members(self.layers)
        if not layers:
            raise NetError(f"{self.kind} needs at least one layer; give a list of layers, such as {self.kind}([LinearLayer(10), \"Ramp\"]).")
        object.__setattr__(self, "layers", MappingProxyType(layers))
        object.__setattr__(self, "ports", MappingProxyType(dict(self.ports)))
        connections, inputs, outputs = self._wire()
        object.__setattr__(self, "connections", tuple(connections))
        object.__setattr__(self, "_input_ports", tuple(inputs))
        object.__setattr__(self, "_output_ports", tuple(outputs))
        unknown = [p for p in self.ports if p not in (*inputs, *outputs)]
        if unknown:
            raise NetError(f'{self.kind} has no port "{unknown[0]}"; its ports: {", ".join((*inputs, *outputs))}.{closest(unknown[0], (*inputs, *outputs))}')
        if self.types is None:
            types = self._initial_types()
            try:
                solved, members = self._solve_members(types, (self.kind,))
            except ShapeError as error:
                raise ShapeError(f"{error}{self._coder_note((self.kind,), str(error))}") from None
            object.__setattr__(self, "layers", MappingProxyType(members))
            object.__setattr__(self, "types", MappingProxyType(solved))

    def _members(self, layers: Any) -> dict[str, Layer]:
        """The members as key → layer. Containers with a shorthand (NetChain's ints and
        activation names) read it here; the base takes layers only."""
        members: dict[str, Layer] = {}
        for key, member in member_items(layers, self.kind):
            if not isinstance(member, Layer):
                raise NetError(f"{self.kind}/{key_text(key)}: {member!r} is not a layer.")
            members[key] = member
        return members

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        raise NotImplementedError

    # -- ports --------------------------------------------------------------------------------
    def input_ports(self) -> tuple[str, ...]:
        return self._input_ports

    def output_ports(self) -> tuple[str, ...]:
        return self._output_ports

    def port_specs(self) -> dict[str, Any]:
        specs = dict(self.ports)
        for option, value, ports, name in (("input", self.input, self.input_ports(), "Input"), ("output", self.output, self.output_ports(), "Output")):
            if value is None:
                continue
            if name in ports:
                specs[name] = value
            elif len(ports) == 1:
                specs[ports[0]] = value
            else:
                raise NetError(f"{self.kind}: {option}= names no port: the net has the {option} ports {', '.join(ports)} and none is called \"{name}\"; give them with ports={{{ports[0]!r}: …}}.")
        return specs

    # -- inference ----------------------------------------------------------------------------
    def _solve_members(self, port_types: Mapping[str, TensorType], path: tuple[str, ...]) -> tuple[dict[str, TensorType], dict[str, Layer]]:
        """Unify along connections and refine members until nothing changes.

        A work list holds the members whose ports changed; a change is pushed along the
        connections at once, so each member is refined a bounded number of times (types only
        ever narrow) and a long chain is solved in one pass from its input."""
        layers: dict[str, Layer] = dict(self.layers)
        table: dict[Endpoint, TensorType] = {}
        for key, layer in layers.items():
            for port in (*layer.input_ports(), *layer.output_ports()):
                table[(key, port)] = layer.types[port]
        for port in (*self.input_ports(), *self.output_ports()):
            table[(None, port)] = port_types[port]
        touching: dict[Endpoint, list[Connection]] = {}
        for connection in self.connections:
            for endpoint in connection:
                touching.setdefault(endpoint, []).append(connection)

        def where(endpoint: Endpoint) -> str:
            key, port = endpoint
            if key is None:
                return "/".join((*path, port))
            return "/".join((*path, key_text(key), port)) + f" ({layers[key].kind})"

        pending: deque[str] = deque()
        queued: set[str] = set()

        def spread(changed: list[Endpoint]) -> None:
            """Unify along every connection at a changed endpoint, transitively; queue members whose ports changed."""
            while changed:
                endpoint = changed.pop()
                for source, destination in touching.get(endpoint, ()):
                    a, b = table[source], table[destination]
                    if a == b:
                        continue
                    try:
                        unified = a.unify(b)
                    except ShapeError:
                        raise ShapeError(
                            f"{where(destination)} expects {b} but {where(source)} gives {a}. "
                            "Fix: make the two shapes agree (change a layer's size, or put a ReshapeLayer or FlattenLayer between them)."
                        ) from None
                    for end in (source, destination):
                        if table[end] != unified:
                            table[end] = unified
                            changed.append(end)
                            if end[0] is not None and end[0] not in queued:
                                queued.add(end[0])
                                pending.append(end[0])

        # In an order where sources come first, so that what the inputs fix flows forward in one pass.
        for key in self.order():
            queued.add(key)
            pending.append(key)
        spread(list(table))
        budget = MAX_INFERENCE_ROUNDS * max(len(layers), 1)
        while pending and budget:
            budget -= 1
            key = pending.popleft()
            queued.discard(key)
            layer = layers[key]
            ports = (*layer.input_ports(), *layer.output_ports())
            refined = layer.refine({port: table[(key, port)] for port in ports}, (*path, key_text(key)))
            if refined is layer:
                continue
            layers[key] = refined
            changed = []
            for port in ports:
                if table[(key, port)] != refined.types[port]:
                    table[(key, port)] = refined.types[port]
                    changed.append((key, port))
            spread(changed)
        return {port: table[(None, port)] for port in (*self.input_ports(), *self.output_ports())}, layers

    def refine(self, types: Mapping[str, TensorType], path: tuple[str, ...]) -> Layer:
        merged = self.merged_types(types, path)
        if merged == self.types:
            return self
        try:
            solved, members = self._solve_members(merged, path)
        except ShapeError as error:
            raise ShapeError(f"{error}{self._coder_note(path, str(error))}") from None
        return self._rebuilt(members, solved)

    def _coder_note(self, path: tuple[str, ...], message: str) -> str:
        """For a shape conflict's message: the ports whose shape an encoder or decoder fixes to a
        shape the conflict names (a 2-class decoder after LinearLayer(3))."""
        notes = []
        for port, spec in self.port_specs().items():
            if is_coder(spec) and str(spec.port_type) in message and "Note: the" not in message:
                role = "decoder" if port in self.output_ports() else "encoder"
                notes.append(f"the {role} {spec!r} on {'/'.join((*path, port))} fixes that port to {spec.port_type}")
        return f" Note: {'; '.join(notes)}." if notes else ""

    def _rebuilt(self, layers: Mapping[str, Layer], types: Mapping[str, TensorType] | None) -> Container:
        """This container with new members: ``types`` already solved (members whose arrays
        changed but not their shapes), or None to run inference again."""
        if types is None:
            return dataclasses.replace(self, layers=self._layers_argument(layers))
        return self._with_types(types, layers=self._layers_argument(layers))  # type: ignore[return-value]

    def _layers_argument(self, layers: Mapping[str, Layer]) -> Any:
        """Members in the form the constructor takes back (a list when unnamed)."""
        if all(key == str(i) for i, key in enumerate(layers)):
            return list(layers.values())
        return dict(layers)

    # -- members ------------------------------------------------------------------------------
    def key_of(self, spec: int | str) -> str:
        """The key of a member given by index (negative counts from the end) or name."""
        keys = list(self.layers)
        if isinstance(spec, int) and not isinstance(spec, bool):
            if -len(keys) <= spec < len(keys):
                return keys[spec]
            raise NetError(f"{self.kind} has {len(keys)} layers; there is no layer {spec} (use 0 … {len(keys) - 1}, or a negative index from the end).")
        if isinstance(spec, str) and spec in self.layers:
            return spec
        names = ", ".join(key_text(k) for k in keys)
        raise NetError(f"{self.kind} has no layer {spec!r}; its layers: {names}.{closest(str(spec), keys)}")

    def order(self) -> list[str]:
        """Member keys in an order where every layer comes after its sources."""
        return list(self.layers)

    @property
    def initialized(self) -> bool:
        return all(layer.initialized for layer in self.layers.values())

    def coders(self) -> dict[str, Any]:
        """Coders of the container's ports, including those of the first or last member that
        show through; computed once per container (each member is asked once)."""
        if "all" not in self._coders_cache:
            coders = super().coders()
            inner: dict[str, dict[str, Any]] = {}

            def member_coders(key: str) -> dict[str, Any]:
                if key not in inner:
                    inner[key] = self.layers[key].coders()
                return inner[key]

            for source, destination in self.connections:
                if source[0] is None and destination[0] is not None and source[1] not in coders:
                    coder = member_coders(destination[0]).get(destination[1])
                    if coder is not None:
                        coders[source[1]] = coder
                if destination[0] is None and source[0] is not None and destination[1] not in coders:
                    coder = member_coders(source[0]).get(source[1])
                    if coder is not None:
                        coders[destination[1]] = coder
            self._coders_cache["all"] = coders
        return dict(self._coders_cache["all"])
