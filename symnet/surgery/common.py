"""What the surgery functions share: member lists, rebuilding containers, keeping arrays."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ..containers.base import Connection, Container, Endpoint, key_text
from ..containers.chain import NetChain, to_layer
from ..containers.graph import NetGraph
from ..containers.tree import is_container, leaves, map_leaves
from ..errors import NetError, ShapeError
from ..layers.base import Layer, is_coder
from ..ports import NetPort
from ..types import TensorType


def _fail(function: str, error: NetError) -> NetError:
    text = str(error)
    return type(error)(text if text.startswith(f"{function}:") else f"{function}: {text}")


def _index_of(net: Container, spec: Any, function: str) -> int:
    try:
        return list(net.layers).index(net.key_of(spec))
    except NetError as error:
        raise _fail(function, error) from None


def _require_container(net: Any, function: str) -> Container:
    if not is_container(net):
        raise NetError(f"{function}: expected a NetChain or NetGraph, not {type(net).__name__}.")
    return net


def _renumbered(items: list[tuple[str, Layer]]) -> dict[str, Layer]:
    """Members with unnamed (digit) keys renumbered by position."""
    result: dict[str, Layer] = {}
    for position, (key, layer) in enumerate(items):
        new = str(position) if key.isdigit() else key
        if new in result:
            raise NetError(f'two layers are named "{new}"; give them different names.')
        result[new] = layer
    return result


def _layers_argument(layers: dict[str, Layer]) -> Any:
    if all(key == str(i) for i, key in enumerate(layers)):
        return list(layers.values())
    return dict(layers)


def _fresh(layer: Layer) -> Layer:
    """The layer with the types its surroundings gave it forgotten (hyperparameters, arrays and
    its own port specifications remain), so that it can be inferred again in a new place: every
    leaf is rebuilt from its arguments, and so every container above it."""
    return map_leaves(layer, lambda path, leaf: dataclasses.replace(leaf))


class _Pending:
    """A container whose members changed, built only when the whole new net is built (so that
    arrays can be stripped or dropped at any depth first)."""

    def __init__(self, base: Container, members: dict[str, Any], changes: dict[str, Any] | None = None) -> None:
        self.base, self.members, self.changes = base, members, changes or {}


def _members_of(item: Any) -> dict[str, Any] | None:
    if isinstance(item, _Pending):
        return item.members
    if is_container(item):
        return dict(item.layers)
    return None


def _realize(item: Any, transform: Callable[[tuple[str, ...], Layer], Layer], path: tuple[str, ...]) -> Layer:
    members = _members_of(item)
    if members is None:
        return transform(path, item)
    new = {key: _realize(member, transform, (*path, key)) for key, member in members.items()}
    if is_container(item) and all(new[k] is members[k] for k in new):
        return item
    base = item.base if isinstance(item, _Pending) else item
    changes = item.changes if isinstance(item, _Pending) else {}
    return dataclasses.replace(base, layers=_layers_argument(new), **changes)


def _tree_leaves(item: Any, path: tuple[str, ...]) -> dict[tuple[str, ...], Layer]:
    members = _members_of(item)
    if members is None:
        return {path: item}
    return {p: leaf for key, member in members.items() for p, leaf in _tree_leaves(member, (*path, key)).items()}


def _leaves(layer: Layer) -> dict[tuple[str, ...], Layer]:
    return dict(leaves(layer))


def _dims_conflict(have: tuple[int, ...], need: TensorType) -> bool:
    if need.dims is None:
        return False
    return len(need.dims) != len(have) or any(isinstance(n, int) and n != h for n, h in zip(need.dims, have))


def _keep(path: tuple[str, ...], layer: Layer) -> Layer:
    return layer


def _strip(path: tuple[str, ...], layer: Layer) -> Layer:
    return dataclasses.replace(layer, arrays={}) if len(layer.arrays.missing()) < len(layer.arrays) else layer  # type: ignore[attr-defined]


def _build(function: str, make: Callable[[dict[str, Layer]], Container], members: dict[str, Any], drop_mismatched_arrays: bool = False) -> Container:
    """``make(members)``, with arrays that no longer fit reported (or dropped, when asked).

    ``members`` may hold :class:`_Pending` containers, built here with every leaf transformed."""

    def realized(transform: Callable[[tuple[str, ...], Layer], Layer]) -> dict[str, Layer]:
        return {key: _realize(member, transform, (key,)) for key, member in members.items()}

    try:
        return make(realized(_keep))
    except ShapeError as error:
        original = error
    except NetError as error:
        raise _fail(function, error) from None
    # Was it the arrays? Build the net without any, then compare the shapes it needs.
    try:
        probe = make(realized(_strip))
    except NetError:
        raise _fail(function, original) from None
    needed = _leaves(probe)
    mismatches: list[tuple[tuple[str, ...], Layer, str, tuple[int, ...], TensorType]] = []
    for key, member in members.items():
        for path, leaf in _tree_leaves(member, (key,)).items():
            for name in leaf.arrays:
                shape = leaf.arrays.shape(name)  # type: ignore[attr-defined]
                if shape is not None and path in needed and _dims_conflict(shape, needed[path].types[name]):
                    mismatches.append((path, leaf, name, shape, needed[path].types[name]))
    if not mismatches:
        raise _fail(function, original) from None
    if drop_mismatched_arrays:
        doomed: dict[tuple[str, ...], set[str]] = {}
        for path, _, name, _, _ in mismatches:
            doomed.setdefault(path, set()).add(name)

        def drop(path: tuple[str, ...], layer: Layer) -> Layer:
            names = doomed.get(path)
            # inferred again from its hyperparameters: the dropped arrays' old shapes no longer bind it
            return dataclasses.replace(layer, arrays=layer.arrays.replacing({n: None for n in names})) if names else layer  # type: ignore[attr-defined]

        try:
            return make(realized(drop))
        except NetError as error:
            raise _fail(function, error) from None
    listed = "; ".join(
        f'{"/".join(key_text(k) for k in path)} ({leaf.kind}): the array "{name}" has shape {have} but the new net needs {need.shape_str()}'
        for path, leaf, name, have, need in mismatches
    )
    raise ShapeError(
        f"{function}: arrays no longer fit: {listed}. Fix: change the layers so the shapes agree, "
        f"or pass drop_mismatched_arrays=True to leave those arrays uninitialized (then call NetInitialize)."
    ) from None


def _port_spec(net: Container, port: str) -> Any:
    return net.port_specs().get(port)


def _strip_coders(layer: Layer, inputs: bool, outputs: bool) -> Layer:
    """The layer without encoders (``inputs``) or decoders (``outputs``); shapes stay."""
    changes: dict[str, Any] = {}
    if inputs and is_coder(layer.input):
        changes["input"] = layer.input.port_type
    if outputs and is_coder(layer.output):
        changes["output"] = layer.output.port_type
    if is_container(layer):
        ports = {p: (s.port_type if is_coder(s) and ((inputs and p in layer.input_ports()) or (outputs and p in layer.output_ports())) else s) for p, s in layer.ports.items()}
        if ports != dict(layer.ports):
            changes["ports"] = ports
        members = {key: _strip_coders(member, inputs, outputs) for key, member in layer.layers.items()}
        if any(members[k] is not layer.layers[k] for k in members):
            changes["layers"] = _layers_argument(members)
    if not changes:
        return layer
    return dataclasses.replace(layer, **changes)


def _chain(members: dict[str, Layer], input: Any = None, output: Any = None) -> NetChain:
    return NetChain(_layers_argument(members), input=input, output=output)


def _endpoint_port(endpoint: Endpoint) -> NetPort:
    key, port = endpoint
    return NetPort(port) if key is None else NetPort(key, port)


def _graph(members: dict[str, Layer], connections: list[Connection], specs: Mapping[str, Any] | None = None) -> NetGraph:
    """A NetGraph from members and explicit connections (graph ports keep their names)."""
    names = {p for (s, d) in connections for (k, p) in (s, d) if k is None}
    edges = [(_endpoint_port(s), _endpoint_port(d)) for s, d in connections]
    ports = {p: spec for p, spec in (specs or {}).items() if p in names and spec is not None}
    return NetGraph(_layers_argument(members), edges, ports=ports)


def _graph_parts(net: Container) -> tuple[dict[str, Layer], list[Connection]]:
    """Members and connections of any container, input connections first (to keep port order)."""
    connections = list(net.connections)  # type: ignore[attr-defined]
    first = [c for c in connections if c[0][0] is None]
    last = [c for c in connections if c[1][0] is None]
    middle = [c for c in connections if c not in first and c not in last]
    return dict(net.layers), first + middle + last


def _rekeyed(members: dict[str, Layer], connections: list[Connection]) -> tuple[dict[str, Layer], list[Connection]]:
    """Renumber unnamed members by position and rewrite the connections to match."""
    renamed = _renumbered(list(members.items()))
    mapping = dict(zip(members, renamed))
    connections = [((mapping.get(s[0], s[0]) if s[0] is not None else None, s[1]), (mapping.get(d[0], d[0]) if d[0] is not None else None, d[1])) for s, d in connections]
    return renamed, connections


def _is_chain(net: Layer) -> bool:
    return isinstance(net, NetChain)


def _member_items(spec: Any, function: str) -> list[tuple[str | None, Layer]]:
    """Layers given to NetAppend/NetPrepend/NetInsert: a layer, a ("name", layer) pair, a list or a dict."""
    if isinstance(spec, Mapping):
        return [(str(k), to_layer(v)) for k, v in spec.items()]
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        return [(spec[0], to_layer(spec[1]))]
    if isinstance(spec, list):
        items: list[tuple[str | None, Layer]] = []
        for item in spec:
            items += _member_items(item, function)
        return items
    try:
        return [(None, to_layer(spec))]
    except NetError as error:
        raise _fail(function, error) from None


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"
