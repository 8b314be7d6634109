"""What NetChain and NetGraph share: members, connections and shape inference to a fixpoint.

A container holds ``layers`` (an ordered mapping of key → layer; unnamed layers get the keys
"0", "1", …) and ``connections``: pairs ``(source, destination)`` of endpoints ``(key, port)``
where ``key is None`` stands for the container's own ports. Shape inference unifies the types
at both ends of every connection and lets every member refine its own ports, round after round,
until nothing changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import NetError, ShapeError, closest
from ..layers.base import MAX_INFERENCE_ROUNDS, Layer
from ..types import TensorType

Endpoint = tuple[str | None, str]
Connection = tuple[Endpoint, Endpoint]


def key_text(key: str) -> str:
    """How a member key appears in a path: indices bare, names quoted."""
    return key if key.isdigit() else f'"{key}"'


def to_layer(spec: Any) -> Layer:
    """Read the chain shorthand: an int is a LinearLayer, a name or known function an
    ElementwiseLayer, a list a nested NetChain."""
    from ..layers.basic import ElementwiseLayer, LinearLayer, activation_name
    from .chain import NetChain

    if isinstance(spec, Layer):
        return spec
    if isinstance(spec, int) and not isinstance(spec, bool):
        return LinearLayer(spec)
    if isinstance(spec, tuple) and all(isinstance(d, int) for d in spec):
        return LinearLayer(spec)
    if isinstance(spec, list):
        return NetChain(spec)
    if isinstance(spec, str):
        if spec in ("Softmax", "SoftmaxLayer"):
            from ..layers.basic import SoftmaxLayer

            return SoftmaxLayer()
        return ElementwiseLayer(spec)
    if activation_name(spec) is not None:
        return ElementwiseLayer(spec)
    raise NetError(f"{spec!r} is not a layer: use a layer, an int (a LinearLayer), an activation name such as \"Ramp\", or a list (a nested NetChain).")


def normalize_layers(layers: Any, container: str) -> dict[str, Layer]:
    if isinstance(layers, Mapping):
        items = [(str(k), v) for k, v in layers.items()]
    elif isinstance(layers, list | tuple):
        items = [(str(i), v) for i, v in enumerate(layers)]
    else:
        raise NetError(f"{container}: the layers must be a list or a dict, not {type(layers).__name__}.")
    result: dict[str, Layer] = {}
    for key, spec in items:
        try:
            result[key] = to_layer(spec)
        except NetError as error:
            raise type(error)(f"{container}/{key_text(key)}: {error}") from None
    return result


@dataclass(frozen=True, eq=False, repr=False)
class Container(Layer):
    """The shared machinery of NetChain and NetGraph."""

    layers: Any = None
    ports: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        layers = normalize_layers(self.layers, self.kind)
        if not layers:
            raise NetError(f"{self.kind} needs at least one layer.")
        object.__setattr__(self, "layers", layers)
        connections, inputs, outputs = self._wire()
        object.__setattr__(self, "connections", tuple(connections))
        object.__setattr__(self, "_input_ports", tuple(inputs))
        object.__setattr__(self, "_output_ports", tuple(outputs))
        unknown = [p for p in self.ports if p not in (*inputs, *outputs)]
        if unknown:
            raise NetError(f'{self.kind} has no port "{unknown[0]}"; its ports: {", ".join((*inputs, *outputs))}.{closest(unknown[0], (*inputs, *outputs))}')
        if self.types is None:
            types = self._initial_types()
            solved, members = self._solve_members(types, (self.kind,))
            object.__setattr__(self, "layers", members)
            object.__setattr__(self, "types", solved)

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        raise NotImplementedError

    # -- ports --------------------------------------------------------------------------------
    def input_ports(self) -> tuple[str, ...]:
        return self._input_ports  # type: ignore[attr-defined, no-any-return]

    def output_ports(self) -> tuple[str, ...]:
        return self._output_ports  # type: ignore[attr-defined, no-any-return]

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
        layers: dict[str, Layer] = dict(self.layers)
        table: dict[Endpoint, TensorType] = {}
        for key, layer in layers.items():
            for port in (*layer.input_ports(), *layer.output_ports()):
                table[(key, port)] = layer.types[port]  # type: ignore[index]
        for port in (*self.input_ports(), *self.output_ports()):
            table[(None, port)] = port_types[port]

        def where(endpoint: Endpoint) -> str:
            key, port = endpoint
            if key is None:
                return "/".join((*path, port))
            return "/".join((*path, key_text(key), port)) + f" ({layers[key].kind})"

        for _ in range(MAX_INFERENCE_ROUNDS):
            changed = False
            for source, destination in self.connections:  # type: ignore[attr-defined]
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
                table[source] = table[destination] = unified
                changed = True
            for key, layer in layers.items():
                ports = (*layer.input_ports(), *layer.output_ports())
                wanted = {port: table[(key, port)] for port in ports}
                refined = layer.refine(wanted, (*path, key_text(key)))
                if refined is not layer:
                    layers[key] = refined
                    for port in ports:
                        if table[(key, port)] != refined.types[port]:  # type: ignore[index]
                            table[(key, port)] = refined.types[port]  # type: ignore[index]
                            changed = True
            if not changed:
                break
        return {port: table[(None, port)] for port in (*self.input_ports(), *self.output_ports())}, layers

    def refine(self, types: Mapping[str, TensorType], path: tuple[str, ...]) -> Layer:
        merged = self.merged_types(types, path)
        if merged == self.types:
            return self
        solved, members = self._solve_members(merged, path)
        return self._rebuilt(members, solved)

    def _rebuilt(self, layers: dict[str, Layer], types: dict[str, TensorType] | None) -> Container:
        """This container with new members; ``types=None`` re-runs inference."""
        return dataclasses.replace(self, layers=self._layers_argument(layers), types=types)

    def _layers_argument(self, layers: dict[str, Layer]) -> Any:
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
        coders = super().coders()
        # Coders attached to the first or last member show through to the container's ports.
        for (source, destination) in self.connections:  # type: ignore[attr-defined]
            if source[0] is None and destination[0] is not None and source[1] not in coders:
                inner = self.layers[destination[0]].coders().get(destination[1])
                if inner is not None:
                    coders[source[1]] = inner
            if destination[0] is None and source[0] is not None and destination[1] not in coders:
                inner = self.layers[source[0]].coders().get(source[1])
                if inner is not None:
                    coders[destination[1]] = inner
        return coders
