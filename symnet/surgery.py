"""Net surgery: new nets made from old ones, keeping every array that still fits.

Every function returns a new net and leaves its argument unchanged. Layers are named by index
(from 0; negative counts from the end) or by name, nested layers by a path list such as
``["block", 0]``. Shapes are inferred again after each operation; an array whose shape no
longer fits is reported in a ``ShapeError`` naming the layer and both shapes, unless the caller
passes ``drop_mismatched_arrays=True`` (those arrays are then left uninitialized, for
``NetInitialize`` to fill).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from .containers.base import Connection, Container, Endpoint, key_text, to_layer
from .containers.chain import NetChain
from .containers.graph import NetGraph
from .errors import NetError, ShapeError
from .layers.base import Layer, is_coder, takes_net
from .ports import NetPort
from .types import TensorType

# -- helpers ------------------------------------------------------------------------------------


def _fail(function: str, error: NetError) -> NetError:
    text = str(error)
    return type(error)(text if text.startswith(f"{function}:") else f"{function}: {text}")


def _index_of(net: Container, spec: Any, function: str) -> int:
    try:
        return list(net.layers).index(net.key_of(spec))
    except NetError as error:
        raise _fail(function, error) from None


def _require_container(net: Any, function: str) -> Container:
    if not isinstance(net, Container):
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
    its own port specifications remain), so that it can be inferred again in a new place."""
    if isinstance(layer, Container):
        members = {key: _fresh(member) for key, member in layer.layers.items()}
        return dataclasses.replace(layer, layers=_layers_argument(members), types=None)
    return dataclasses.replace(layer, types=None)


class _Pending:
    """A container whose members changed, built only when the whole new net is built (so that
    arrays can be stripped or dropped at any depth first)."""

    def __init__(self, base: Container, members: dict[str, Any], changes: dict[str, Any] | None = None) -> None:
        self.base, self.members, self.changes = base, members, changes or {}


def _members_of(item: Any) -> dict[str, Any] | None:
    if isinstance(item, _Pending):
        return item.members
    if isinstance(item, Container):
        return dict(item.layers)
    return None


def _realize(item: Any, transform: Callable[[tuple[str, ...], Layer], Layer], path: tuple[str, ...]) -> Layer:
    members = _members_of(item)
    if members is None:
        return transform(path, item)
    new = {key: _realize(member, transform, (*path, key)) for key, member in members.items()}
    if isinstance(item, Container) and all(new[k] is members[k] for k in new):
        return item
    base = item.base if isinstance(item, _Pending) else item
    changes = item.changes if isinstance(item, _Pending) else {}
    return dataclasses.replace(base, layers=_layers_argument(new), types=None, **changes)


def _tree_leaves(item: Any, path: tuple[str, ...]) -> dict[tuple[str, ...], Layer]:
    members = _members_of(item)
    if members is None:
        return {path: item}
    return {p: leaf for key, member in members.items() for p, leaf in _tree_leaves(member, (*path, key)).items()}


def _leaves(layer: Layer, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Layer]:
    return _tree_leaves(layer, path)


def _dims_conflict(have: tuple[int, ...], need: TensorType) -> bool:
    if need.dims is None:
        return False
    return len(need.dims) != len(have) or any(isinstance(n, int) and n != h for n, h in zip(need.dims, have))


def _keep(path: tuple[str, ...], layer: Layer) -> Layer:
    return layer


def _strip(path: tuple[str, ...], layer: Layer) -> Layer:
    return dataclasses.replace(layer, arrays={}, types=None) if any(a is not None for a in layer.arrays.values()) else layer


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
            for name, array in leaf.arrays.items():
                if array is not None and path in needed and _dims_conflict(tuple(array.shape), needed[path].types[name]):  # type: ignore[index]
                    mismatches.append((path, leaf, name, tuple(array.shape), needed[path].types[name]))  # type: ignore[index]
    if not mismatches:
        raise _fail(function, original) from None
    if drop_mismatched_arrays:
        doomed: dict[tuple[str, ...], set[str]] = {}
        for path, _, name, _, _ in mismatches:
            doomed.setdefault(path, set()).add(name)

        def drop(path: tuple[str, ...], layer: Layer) -> Layer:
            names = doomed.get(path)
            return dataclasses.replace(layer, arrays={n: a for n, a in layer.arrays.items() if n not in names}, types=None) if names else layer

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
    if isinstance(layer, Container):
        ports = {p: (s.port_type if is_coder(s) and ((inputs and p in layer.input_ports()) or (outputs and p in layer.output_ports())) else s) for p, s in layer.ports.items()}
        if ports != dict(layer.ports):
            changes["ports"] = ports
        members = {key: _strip_coders(member, inputs, outputs) for key, member in layer.layers.items()}
        if any(members[k] is not layer.layers[k] for k in members):
            changes["layers"] = _layers_argument(members)
        if changes:
            changes["types"] = None
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


# -- take and drop ------------------------------------------------------------------------------


def _span(spec: Any) -> tuple[Any, Any]:
    if isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec, NetPort):
        return spec
    return (None, spec)


@takes_net
def NetTake(net: Layer, spec: Any) -> Layer:
    """The part of a net up to and including a layer, or a span of layers.

    ``spec`` is a layer (index from 0, negative from the end, or name), a pair ``(start, end)``
    (both included), or for a NetGraph a ``NetPort``: a graph output (``NetPort("Output2")``)
    or a layer's port (``NetPort("conv", "Output")``). Like Wolfram's ``NetTake[net, end]``,
    ``end`` names a layer, so ``NetTake(net, 1)`` keeps layers 0 and 1 and ``NetTake(net, -2)``
    all but the last layer. Arrays are kept.

    >>> net = NetChain({"hidden": LinearLayer(5), "act": "Ramp", "out": LinearLayer(2)}, input=3)
    >>> list(NetTake(net, "act").layers)
    ['hidden', 'act']
    >>> list(NetTake(net, (1, -1)).layers), NetTake(net, (1, -1)).types["Input"]
    (['act', 'out'], TensorType((5,)))
    """
    net = _require_container(net, "NetTake")
    start, end = _span(spec)
    if isinstance(net, NetChain) and not isinstance(end, NetPort) and not isinstance(start, NetPort):
        keys = list(net.layers)
        first = 0 if start is None else _index_of(net, start, "NetTake")
        last = _index_of(net, end, "NetTake")
        if last < first:
            raise NetError(f"NetTake: the span ({start!r}, {end!r}) is empty: layer {key_text(keys[first])} comes after layer {key_text(keys[last])}.")
        return _take_chain(net, first, last, "NetTake")
    return _take_graph(net, start, end)


def _take_chain(net: NetChain, first: int, last: int, function: str) -> Layer:
    keys = list(net.layers)
    kept = keys[first : last + 1]
    if first == 0 and last == len(keys) - 1:
        return net
    members = _renumbered([(k, net.layers[k]) for k in kept])
    head, tail = net.layers[kept[0]], net.layers[kept[-1]]
    # The cut ends keep the types they had; the net's own encoder/decoder stays only at its ends.
    input_spec = _port_spec(net, net.input_ports()[0]) if first == 0 and len(head.input_ports()) == 1 else None
    if input_spec is None and len(head.input_ports()) == 1:
        input_spec = head.types[head.input_ports()[0]]  # type: ignore[index]
    output_spec = _port_spec(net, net.output_ports()[0]) if last == len(keys) - 1 and len(tail.output_ports()) == 1 else None
    if output_spec is None and len(tail.output_ports()) == 1:
        output_spec = tail.types[tail.output_ports()[0]]  # type: ignore[index]
    return _build(function, lambda m: _chain(m, input_spec, output_spec), members)


def _graph_edges(net: Container) -> tuple[dict[str, list[tuple[Endpoint, Endpoint]]], dict[str, list[tuple[Endpoint, Endpoint]]]]:
    into: dict[str, list[tuple[Endpoint, Endpoint]]] = {k: [] for k in net.layers}
    out_of: dict[str, list[tuple[Endpoint, Endpoint]]] = {k: [] for k in net.layers}
    for s, d in net.connections:  # type: ignore[attr-defined]
        if d[0] is not None:
            into[d[0]].append((s, d))
        if s[0] is not None:
            out_of[s[0]].append((s, d))
    return into, out_of


def _end_endpoints(net: Container, end: Any) -> list[tuple[Endpoint, str]]:
    """The layer outputs that become the taken net's outputs, with their output names."""
    sources = {d[1]: s for s, d in net.connections if d[0] is None}  # type: ignore[attr-defined]
    if isinstance(end, NetPort):
        if len(end.path) == 1 and end.path[0] in sources:
            return [(sources[end.path[0]], end.path[0])]
        if len(end.path) == 1:
            raise NetError(f'NetTake: the net has no output port "{end.path[0]}"; its outputs: {", ".join(net.output_ports())}.')
        if len(end.path) != 2:
            raise NetError(f"NetTake: {end!r} must name a graph output or a layer and one of its output ports.")
        key = net.key_of(end.path[0])
        outputs = net.layers[key].output_ports()
        if end.path[1] not in outputs:
            raise NetError(f'NetTake: layer {key_text(key)} ({net.layers[key].kind}) has no output "{end.path[1]}"; its outputs: {", ".join(outputs)}.')
        return [((key, end.path[1]), end.path[1])]
    key = net.key_of(end)
    return [((key, port), port) for port in net.layers[key].output_ports()]


def _take_graph(net: Container, start: Any, end: Any) -> Layer:
    try:
        ends = _end_endpoints(net, end)
        into, out_of = _graph_edges(net)
        ancestors: set[str] = set()
        stack = [e[0] for e, _ in ends if e[0] is not None]
        while stack:
            key = stack.pop()
            if key not in ancestors:
                ancestors.add(key)
                stack += [s[0] for s, _ in into[key] if s[0] is not None]
        kept = ancestors
        if start is not None:
            if isinstance(start, NetPort) and len(start.path) == 1:
                roots = [d[0] for s, d in net.connections if s == (None, start.path[0]) and d[0] is not None]  # type: ignore[attr-defined]
                if not roots:
                    raise NetError(f'NetTake: the net has no input port "{start.path[0]}"; its inputs: {", ".join(net.input_ports())}.')
            else:
                roots = [net.key_of(start.path[0] if isinstance(start, NetPort) else start)]
            descendants: set[str] = set()
            stack = list(roots)
            while stack:
                key = stack.pop()
                if key not in descendants:
                    descendants.add(key)
                    stack += [d[0] for _, d in out_of[key] if d[0] is not None]
            kept = ancestors & descendants
            if not kept:
                raise NetError(f"NetTake: no layer lies on a path from {start!r} to {end!r}.")
    except NetError as error:
        raise _fail("NetTake", error) from None
    members = {k: layer for k, layer in net.layers.items() if k in kept}
    specs = net.port_specs()
    connections: list[Connection] = []
    for s, d in net.connections:  # type: ignore[attr-defined]
        if d[0] in kept and (s[0] is None or s[0] in kept):
            connections.append((s, d))
    outputs: dict[str, Any] = {}
    for source, name in ends:
        connections.append((source, (None, name)))
        outputs[name] = specs.get(name) if source in [s for s, d in net.connections if d == (None, name)] else None  # type: ignore[attr-defined]
        if outputs[name] is None:
            outputs[name] = net.layers[source[0]].types[source[1]]  # type: ignore[index]
    members, connections = _rekeyed(members, connections)
    port_specs = {**{p: s for p, s in specs.items() if p in net.input_ports()}, **outputs}
    return _build("NetTake", lambda m: _graph(m, connections, port_specs), members)


@takes_net
def NetDrop(net: Layer, spec: Any) -> Layer:
    """The net without its first ``n`` layers (``n > 0``), its last ``-n`` layers (``n < 0``),
    or the layers ``start … end`` of a pair (both included, by index or name).

    >>> net = NetChain([LinearLayer(5), "Ramp", LinearLayer(2), SoftmaxLayer()], input=3)
    >>> [layer.kind for layer in NetDrop(net, -2).layers.values()]
    ['LinearLayer', 'ElementwiseLayer']
    >>> [layer.kind for layer in NetDrop(net, (1, 2)).layers.values()]
    ['LinearLayer', 'SoftmaxLayer']
    """
    net = _require_container(net, "NetDrop")
    keys = list(net.layers)
    if isinstance(spec, tuple) and len(spec) == 2:
        first, last = _index_of(net, spec[0], "NetDrop"), _index_of(net, spec[1], "NetDrop")
        if last < first:
            raise NetError(f"NetDrop: the span {spec!r} is empty: layer {key_text(keys[first])} comes after layer {key_text(keys[last])}.")
        return NetDelete(net, [keys[i] for i in range(first, last + 1)])
    if not isinstance(spec, int) or isinstance(spec, bool):
        raise NetError(f"NetDrop: expected a count of layers (n > 0 drops the first n, n < 0 the last -n) or a pair (start, end), not {spec!r}. To remove a layer by name, use NetDelete.")
    if abs(spec) >= len(keys):
        raise NetError(f"NetDrop: cannot drop {abs(spec)} layers from a {net.kind} of {len(keys)} layers; at least one must remain.")
    if spec == 0:
        return net
    if not isinstance(net, NetChain):
        return NetDelete(net, keys[:spec] if spec > 0 else keys[spec:])
    return _take_chain(net, spec, len(keys) - 1, "NetDrop") if spec > 0 else _take_chain(net, 0, len(keys) - 1 + spec, "NetDrop")


# -- joining ------------------------------------------------------------------------------------


def NetJoin(*nets: Layer, drop_mismatched_arrays: bool = False) -> NetChain:
    """One NetChain of several nets in sequence: chains are spliced, other nets become members.

    Layer names that clash are renamed (``"linear"`` → ``"linear_2"``); an encoder is kept only
    on the first net's input and a decoder only on the last net's output.

    >>> a = NetChain({"linear": LinearLayer(4), "act": "Tanh"}, input=2)
    >>> b = NetChain({"linear": LinearLayer(3), "prob": SoftmaxLayer()})
    >>> list(NetJoin(a, b).layers)
    ['linear', 'act', 'linear_2', 'prob']
    """
    if not nets:
        raise NetError("NetJoin: give at least one net.")
    items: list[tuple[str, Layer]] = []
    taken: set[str] = set()
    for position, net in enumerate(nets):
        first, last = position == 0, position == len(nets) - 1
        if not isinstance(net, Layer):
            try:
                net = to_layer(net)
            except NetError as error:
                raise _fail("NetJoin", error) from None
        net = _strip_coders(net, inputs=not first, outputs=not last)
        members = list(net.layers.items()) if isinstance(net, NetChain) else [("0", net)]
        for key, member in members:
            if not key.isdigit():
                key = _unique_name(key, taken)
                taken.add(key)
            items.append((key, member))
    head, tail = nets[0], nets[-1]
    input_spec = head.input if isinstance(head, NetChain) else None
    output_spec = tail.output if isinstance(tail, NetChain) else None
    try:
        members = _renumbered(items)
    except NetError as error:
        raise _fail("NetJoin", error) from None
    return _build("NetJoin", lambda m: _chain(m, input_spec, output_spec), members, drop_mismatched_arrays)  # type: ignore[return-value]


def _as_named_chain(items: list[tuple[str | None, Layer]], taken: set[str]) -> NetChain:
    members: dict[str, Layer] = {}
    for i, (name, layer) in enumerate(items):
        if name is not None and (name in taken or name in members):
            raise NetError(f'a layer named "{name}" already exists; choose another name.')
        members[name if name is not None else str(i)] = layer
    return NetChain(_layers_argument(members)) if all(n is None for n, _ in items) else NetChain(dict(members))


@takes_net
def NetAppend(net: Layer, layers: Any, *, drop_mismatched_arrays: bool = False) -> NetChain:
    """The chain with layers added at the end: a layer, a ``("name", layer)`` pair, a list or a dict.

    >>> net = NetChain({"features": LinearLayer(8), "act": "Ramp"}, input=4)
    >>> new = NetAppend(net, {"classifier": LinearLayer(3), "prob": SoftmaxLayer()})
    >>> list(new.layers), new.types["Output"]
    (['features', 'act', 'classifier', 'prob'], TensorType((3,)))
    """
    try:
        items = _member_items(layers, "NetAppend")
        extra = _as_named_chain(items, set(net.layers) if isinstance(net, Container) else set())
    except NetError as error:
        raise _fail("NetAppend", error) from None
    return _join_renamed("NetAppend", net, extra, drop_mismatched_arrays)


@takes_net
def NetPrepend(net: Layer, layers: Any, *, drop_mismatched_arrays: bool = False) -> NetChain:
    """The chain with layers added at the start (same forms as :func:`NetAppend`).

    >>> net = NetChain([LinearLayer(3)], input=4)
    >>> [layer.kind for layer in NetPrepend(net, "Tanh").layers.values()]
    ['ElementwiseLayer', 'LinearLayer']
    """
    try:
        items = _member_items(layers, "NetPrepend")
        extra = _as_named_chain(items, set(net.layers) if isinstance(net, Container) else set())
    except NetError as error:
        raise _fail("NetPrepend", error) from None
    return _join_renamed("NetPrepend", extra, net, drop_mismatched_arrays)


def _join_renamed(function: str, a: Layer, b: Layer, drop_mismatched_arrays: bool) -> NetChain:
    try:
        return NetJoin(a, b, drop_mismatched_arrays=drop_mismatched_arrays)
    except NetError as error:
        raise type(error)(str(error).replace("NetJoin:", f"{function}:", 1)) from None


@takes_net
def NetInsert(net: Layer, layer: Any, position: Any, *, drop_mismatched_arrays: bool = False) -> NetChain:
    """The chain with a layer inserted so that it has index ``position`` (negative counts from
    the end of the result, so -1 appends), or before the layer of that name. ``layer`` may be a
    ``("name", layer)`` pair.

    >>> net = NetChain({"a": LinearLayer(4), "b": LinearLayer(2)}, input=3)
    >>> list(NetInsert(net, ("act", "Ramp"), "b").layers)
    ['a', 'act', 'b']
    """
    if not isinstance(net, NetChain):
        raise NetError(f"NetInsert: expected a NetChain, not {type(net).__name__}; to add a layer to a NetGraph, build a new NetGraph.")
    try:
        items = _member_items(layer, "NetInsert")
    except NetError as error:
        raise _fail("NetInsert", error) from None
    keys = list(net.layers)
    if isinstance(position, str):
        index = _index_of(net, position, "NetInsert")
    elif isinstance(position, int) and not isinstance(position, bool):
        size = len(keys) + len(items)
        if not -size <= position < size:
            raise NetError(f"NetInsert: position {position} is outside the result's {size} layers (use 0 … {size - 1}, or a negative index from the end).")
        index = position if position >= 0 else size + position - len(items) + 1
    else:
        raise NetError(f"NetInsert: the position must be an index or a layer name, not {position!r}.")
    for name, _ in items:
        if name is not None and name in net.layers:
            raise NetError(f'NetInsert: a layer named "{name}" already exists; choose another name.')
    new_items = [(k, net.layers[k]) for k in keys[:index]] + [(name if name is not None else "0", member) for name, member in items] + [(k, net.layers[k]) for k in keys[index:]]
    try:
        members = {k: _fresh(m) for k, m in _renumbered(new_items).items()}
    except NetError as error:
        raise _fail("NetInsert", error) from None
    return _build("NetInsert", lambda m: _chain(m, net.input, net.output), members, drop_mismatched_arrays)  # type: ignore[return-value]


@takes_net
def NetDelete(net: Layer, spec: Any, *, drop_mismatched_arrays: bool = False) -> Layer:
    """The net without a layer (index or name) or a list of layers. In a chain the neighbours
    are joined; in a graph the inputs that the layer fed become inputs of the graph.

    >>> net = NetChain({"a": LinearLayer(4), "drop": DropoutLayer(), "b": LinearLayer(2)}, input=3)
    >>> list(NetDelete(net, "drop").layers)
    ['a', 'b']
    """
    net = _require_container(net, "NetDelete")
    specs = spec if isinstance(spec, list) else [spec]
    doomed = {list(net.layers)[_index_of(net, s, "NetDelete")] for s in specs}
    if len(doomed) == len(net.layers):
        raise NetError(f"NetDelete: cannot delete every layer of a {net.kind}.")
    if isinstance(net, NetChain):
        keys = list(net.layers)
        first_kept = next(k for k in keys if k not in doomed)
        last_kept = [k for k in keys if k not in doomed][-1]
        members = {k: _fresh(m) for k, m in _renumbered([(k, net.layers[k]) for k in keys if k not in doomed]).items()}
        input_spec = net.input if first_kept == keys[0] else None
        output_spec = net.output if last_kept == keys[-1] else None
        return _build("NetDelete", lambda m: _chain(m, input_spec, output_spec), members, drop_mismatched_arrays)
    layers, connections = _graph_parts(net)
    members = {k: _fresh(m) for k, m in layers.items() if k not in doomed}
    connections = [(s, d) for s, d in connections if s[0] not in doomed and d[0] not in doomed]
    members, connections = _rekeyed(members, connections)
    specs_by_port = net.port_specs()
    return _build("NetDelete", lambda m: _graph(m, connections, specs_by_port), members, drop_mismatched_arrays)


# -- replacing ----------------------------------------------------------------------------------


def _rules(rules: Any, function: str) -> list[tuple[Any, Any]]:
    if isinstance(rules, Mapping):
        return list(rules.items())
    if isinstance(rules, tuple) and len(rules) == 2:
        return [rules]
    if isinstance(rules, list) and all(isinstance(r, tuple) and len(r) == 2 for r in rules):
        return list(rules)
    raise NetError(f"{function}: give the replacements as a dict, a (part, value) pair or a list of pairs, not {rules!r}.")


def _rebuilt_with(net: Container, members: dict[str, Layer]) -> Container:
    return dataclasses.replace(net, layers=_layers_argument(members), types=None)


def _replace_at(layer: Layer, path: list[Any], value: Any, walked: list[str]) -> Layer:
    item = path[0]
    where = "/".join(walked)
    if isinstance(layer, Container):
        ports = (*layer.input_ports(), *layer.output_ports())
        if len(path) == 1 and isinstance(item, str) and item not in layer.layers and item in ports:
            return _with_port(layer, item, value, where)
        spec = int(item) if isinstance(item, str) and item.lstrip("-").isdigit() and item not in layer.layers else item
        key = layer.key_of(spec)
        member = layer.layers[key]
        if len(path) == 1:
            if value is None:
                raise NetError(f"{where}/{key_text(key)}: None cannot replace a layer; use NetDelete to remove it.")
            new: Any = to_layer(value)
        else:
            new = _replace_at(member, path[1:], value, [*walked, key_text(key)])
        return _Pending(layer, {k: (new if k == key else _fresh(m)) for k, m in layer.layers.items()})  # type: ignore[return-value]
    if len(path) > 1:
        raise NetError(f"{where} ({layer.kind}) is a layer, not a container; {path[1]!r} cannot follow {item!r}.")
    if item in layer.array_names():
        return _with_array(layer, item, value, where)
    if item in (*layer.input_ports(), *layer.output_ports()):
        return _with_port(layer, item, value, where)
    names = (*layer.array_names(), *layer.input_ports(), *layer.output_ports())
    raise NetError(f"{where} ({layer.kind}) has no array or port {item!r}; its arrays and ports: {', '.join(names)}.")


def _with_array(layer: Layer, name: str, value: Any, where: str) -> Layer:
    from .layers.base import as_array_tensor

    if value is None:
        return dataclasses.replace(layer, arrays={**layer.arrays, name: None}, types=None)
    tensor = as_array_tensor(name, value)
    need = layer.types[name]  # type: ignore[index]
    if _dims_conflict(tuple(tensor.shape), need):  # type: ignore[union-attr]
        raise ShapeError(f'{where} ({layer.kind}): the array "{name}" has shape {need.shape_str()} but the new value has shape {tuple(tensor.shape)}. Give an array of the same shape.')  # type: ignore[union-attr]
    return dataclasses.replace(layer, arrays={**layer.arrays, name: tensor}, types=None)


def _with_port(layer: Layer, port: str, value: Any, where: str) -> Layer:
    """Set a port's specification: a coder, a shape, or None (removing a coder, keeping its shape)."""
    current = layer.port_specs().get(port)
    if value is None:
        value = current.port_type if is_coder(current) else None
    elif not is_coder(value):
        value = TensorType.parse(value)
    if isinstance(layer, Container):
        inputs, outputs = layer.input_ports(), layer.output_ports()
        changes: dict[str, Any] = {"ports": {**layer.ports, port: value}}
        if port == inputs[0] and layer.input is not None:
            changes["input"] = None
        if outputs and port == outputs[0] and layer.output is not None:
            changes["output"] = None
        # A coder on the first or last member would still show through: replace it there too.
        members = dict(layer.layers)
        for s, d in layer.connections:  # type: ignore[attr-defined]
            if s == (None, port) and d[0] is not None:
                members[d[0]] = _strip_coders(members[d[0]], inputs=True, outputs=False)
            if d == (None, port) and s[0] is not None:
                members[s[0]] = _strip_coders(members[s[0]], inputs=False, outputs=True)
        return _Pending(layer, {k: _fresh(m) for k, m in members.items()}, changes)  # type: ignore[return-value]
    if port in layer.input_ports():
        if port != layer.input_ports()[0] or layer.variadic:
            raise NetError(f'{where} ({layer.kind}): only the first input port can be given a coder or shape; "{port}" cannot.')
        return dataclasses.replace(layer, input=value, types=None)
    if port != layer.output_ports()[0]:
        raise NetError(f'{where} ({layer.kind}): only the first output port can be given a coder or shape; "{port}" cannot.')
    return dataclasses.replace(layer, output=value, types=None)


@takes_net
def NetReplacePart(net: Layer, rules: Any, *, drop_mismatched_arrays: bool = False) -> Layer:
    """The net with parts replaced: ``{part: value}``, a ``(part, value)`` pair or a list of pairs.

    A part is a layer (index, name or path list) → a new layer; an array (``("linear",
    "Weights")``, or ``"Weights"`` of a single layer) → an array of the same shape; a port
    (``"Input"``, ``"Output"``) → an encoder, decoder or shape, or ``None`` to remove its coder.

    >>> net = NetInitialize(NetChain({"linear": LinearLayer(2), "act": "Tanh"}, input=3))
    >>> new = NetReplacePart(net, {"act": "Ramp", ("linear", "Biases"): np.ones(2)})
    >>> new.layers["act"].function, NetExtract(new, ["linear", "Biases"]).tolist()
    ('Ramp', [1.0, 1.0])
    """
    current = net
    for part, value in _rules(rules, "NetReplacePart"):
        path = list(part) if isinstance(part, list | tuple) else [part]
        if not path:
            raise NetError("NetReplacePart: an empty path names no part.")
        if not isinstance(current, Container):
            try:
                current = _replace_at(current, path, value, [current.kind])
            except NetError as error:
                raise _fail("NetReplacePart", error) from None
            continue
        try:
            plan: Any = _replace_at(current, path, value, [current.kind])
        except NetError as error:
            raise _fail("NetReplacePart", error) from None

        def make(members: dict[str, Layer], plan: _Pending = plan) -> Container:
            return dataclasses.replace(plan.base, layers=_layers_argument(members), types=None, **plan.changes)

        current = _build("NetReplacePart", make, plan.members, drop_mismatched_arrays)
    return current


def _matches(pattern: Any, layer: Layer) -> bool:
    if isinstance(pattern, type):
        return isinstance(layer, pattern)
    if isinstance(pattern, Layer):
        return layer is pattern
    if isinstance(pattern, str):
        return layer.kind == pattern
    if callable(pattern):
        return bool(pattern(layer))
    raise NetError(f"NetReplace: a pattern must be a layer class, a layer, a class name or a predicate function, not {pattern!r}.")


def _replace_member(layer: Layer, rules: list[tuple[Any, Any]]) -> Any:
    """The layer replaced by the first matching rule, or with its own members replaced."""
    for pattern, replacement in rules:
        if _matches(pattern, layer):
            new = replacement(layer) if callable(replacement) and not isinstance(replacement, Layer | type) else replacement
            return to_layer(new)
    if not isinstance(layer, Container):
        return layer
    members = {key: _replace_member(member, rules) for key, member in layer.layers.items()}
    if all(members[k] is layer.layers[k] for k in members):
        return layer
    return _Pending(layer, {k: (m if m is not layer.layers[k] else _fresh(m)) for k, m in members.items()})


@takes_net
def NetReplace(net: Layer, rules: Any, *, drop_mismatched_arrays: bool = False) -> Layer:
    """The net with every member matching a pattern replaced, at any depth.

    A pattern is a layer class (``DropoutLayer``), a class name, a particular layer, or a
    predicate ``layer -> bool``; a replacement is a layer or a function ``layer -> layer``.
    Replaced layers are not searched further.

    >>> net = NetChain([LinearLayer(4), DropoutLayer(0.3), NetChain([LinearLayer(2), DropoutLayer()])], input=3)
    >>> new = NetReplace(net, {DropoutLayer: ElementwiseLayer("Identity")})
    >>> NetInformation(new, "LayerTypeCounts")
    {'LinearLayer': 2, 'ElementwiseLayer': 2}
    """
    pairs = _rules(rules, "NetReplace")
    net = _require_container(net, "NetReplace")
    try:
        members = {key: _replace_member(member, pairs) for key, member in net.layers.items()}
    except NetError as error:
        raise _fail("NetReplace", error) from None
    if all(members[k] is net.layers[k] for k in members):
        return net
    return _build("NetReplace", lambda m: _rebuilt_with(net, m), {k: (m if m is not net.layers[k] else _fresh(m)) for k, m in members.items()}, drop_mismatched_arrays)


# -- flatten and rename -------------------------------------------------------------------------


def _flat_parts(net: Container, prefix: tuple[str, ...], levels: int | None) -> tuple[dict[str, Layer], list[Connection], dict[tuple[str, ...], dict[str, Endpoint]]]:
    """Members (keys joined by "/") and connections of a container with nested containers inlined."""
    members: dict[str, Layer] = {}
    connections: list[Connection] = []
    # For each inlined container: its port → the inner endpoint (inputs: where it goes; outputs: where it comes from)
    inner_inputs: dict[str, list[Endpoint]] = {}
    inner_outputs: dict[str, Endpoint] = {}
    for key, member in net.layers.items():
        name = "/".join((*prefix, key))
        if isinstance(member, Container) and (levels is None or levels > 0):
            sub_members, sub_connections, _ = _flat_parts(member, (*prefix, key), None if levels is None else levels - 1)
            members.update(sub_members)
            for s, d in sub_connections:
                if s[0] is None:
                    inner_inputs.setdefault(f"{name}\0{s[1]}", []).append(d)
                elif d[0] is None:
                    inner_outputs[f"{name}\0{d[1]}"] = s
                else:
                    connections.append((s, d))
        else:
            members[name] = member
    # Rewrite the container's own connections through inlined members.
    for s, d in net.connections:  # type: ignore[attr-defined]
        source = (None, s[1]) if s[0] is None else (f"{'/'.join((*prefix, s[0]))}", s[1])
        if source[0] is not None and f"{source[0]}\0{source[1]}" in inner_outputs:
            source = inner_outputs[f"{source[0]}\0{source[1]}"]
        destinations = [(None, d[1])] if d[0] is None else [(f"{'/'.join((*prefix, d[0]))}", d[1])]
        if destinations[0][0] is not None and f"{destinations[0][0]}\0{destinations[0][1]}" in inner_inputs:
            destinations = inner_inputs[f"{destinations[0][0]}\0{destinations[0][1]}"]
        for destination in destinations:
            connections.append((source, destination))  # type: ignore[arg-type]
    # A nested input that feeds a nested output directly (an identity container) needs no member.
    return members, connections, {}


@takes_net
def NetFlatten(net: Layer, levels: int | None = None) -> Layer:
    """The net with nested chains and graphs inlined (``levels`` limits the depth). Members of
    a nested container are named ``"outer/inner"``; when no member has a name, the result's
    members are numbered. Arrays are kept; the result computes the same function.

    >>> net = NetChain([LinearLayer(4), NetChain([ElementwiseLayer("Tanh"), LinearLayer(2)])], input=3)
    >>> [layer.kind for layer in NetFlatten(net).layers.values()]
    ['LinearLayer', 'ElementwiseLayer', 'LinearLayer']
    """
    net = _require_container(net, "NetFlatten")
    if not any(isinstance(m, Container) for m in net.layers.values()):
        return net
    members, connections, _ = _flat_parts(net, (), levels)
    all_chains = _is_chain(net) and _chains_only(net, levels)
    mapping = _flat_names(list(members))
    members = {mapping[k]: m for k, m in members.items()}
    connections = [((mapping.get(s[0]) if s[0] is not None else None, s[1]), (mapping.get(d[0]) if d[0] is not None else None, d[1])) for s, d in connections]  # type: ignore[misc]
    if all_chains:
        return _build("NetFlatten", lambda m: _chain(m, net.input, net.output), members)
    order = {k: i for i, k in enumerate(members)}
    connections.sort(key=lambda c: (c[0][0] is not None, c[1][0] is None, order.get(c[1][0] or "", 0)))  # type: ignore[arg-type]
    return _build("NetFlatten", lambda m: _graph(m, connections, net.port_specs()), members)


def _flat_names(paths: list[str]) -> dict[str, str]:
    """Names of flattened members: the parts of the path that are names (an unnamed container's
    index is dropped unless it is the member's own), the full path where that would clash, and
    positions when nothing has a name."""
    short = {}
    for path in paths:
        parts = path.split("/")
        kept = [p for i, p in enumerate(parts) if not p.isdigit() or i == len(parts) - 1]
        short[path] = "/".join(kept)
    if all(name.isdigit() for name in short.values()):
        return {path: str(i) for i, path in enumerate(paths)}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    positions = {path: i for i, path in enumerate(paths)}
    return {path: (str(positions[path]) if name.isdigit() else name if counts[name] == 1 else path) for path, name in short.items()}


def _chains_only(net: Container, levels: int | None) -> bool:
    for member in net.layers.values():
        if isinstance(member, Container) and (levels is None or levels > 0):
            if not isinstance(member, NetChain) or not _chains_only(member, None if levels is None else levels - 1):
                return False
    return True


@takes_net
def NetRename(net: Layer, renames: Any) -> Layer:
    """The net with layers renamed: ``{old: new}`` (old by index or name) or a ``(old, new)`` pair.

    >>> net = NetChain([LinearLayer(4), "Ramp"], input=3)
    >>> list(NetRename(net, {0: "features", -1: "act"}).layers)
    ['features', 'act']
    """
    net = _require_container(net, "NetRename")
    pairs = _rules(renames, "NetRename")
    mapping: dict[str, str] = {}
    for old, new in pairs:
        key = list(net.layers)[_index_of(net, old, "NetRename")]
        if not isinstance(new, str) or not new:
            raise NetError(f"NetRename: the new name of layer {key_text(key)} must be a non-empty string, not {new!r}.")
        mapping[key] = new
    keys = [mapping.get(k, k) for k in net.layers]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise NetError(f'NetRename: two layers would be named "{duplicates[0]}"; choose distinct names.')
    members = {mapping.get(k, k): m for k, m in net.layers.items()}
    if isinstance(net, NetChain):
        return _build("NetRename", lambda m: NetChain(dict(m), input=net.input, output=net.output, ports=net.ports), members)
    _, connections = _graph_parts(net)
    connections = [((mapping.get(s[0], s[0]) if s[0] is not None else None, s[1]), (mapping.get(d[0], d[0]) if d[0] is not None else None, d[1])) for s, d in connections]  # type: ignore[misc]
    return _build("NetRename", lambda m: _graph(m, connections, net.port_specs()), members)


__all__ = ["NetAppend", "NetDelete", "NetDrop", "NetFlatten", "NetInsert", "NetJoin", "NetPrepend", "NetRename", "NetReplace", "NetReplacePart", "NetTake"]
