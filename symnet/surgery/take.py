"""NetTake and NetDrop: a part of a chain or graph."""

from __future__ import annotations

from typing import Any

from ..containers.base import Connection, Container, Endpoint, key_text
from ..containers.chain import NetChain
from ..errors import NetError
from ..layers.base import Layer, takes_net
from ..ports import NetPort
from .common import _build, _chain, _fail, _graph, _index_of, _port_spec, _rekeyed, _renumbered, _require_container
from .join import NetDelete


def _span(spec: Any) -> tuple[Any, Any]:
    if isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec, NetPort):
        return spec
    return (None, spec)


@takes_net
def NetTake(net: Layer, spec: Any) -> Layer:
    """The first layers of a net: a count of them, up to and including a named layer, or a span.

    ``spec`` is a count ``n`` (``n > 0`` keeps the first ``n`` layers, ``n < 0`` all but the
    last ``-n``, as Python's ``layers[:n]``), a layer's name, a pair ``(start, end)`` of layers
    (by index from 0, negative from the end, or name; both included), or for a NetGraph a
    ``NetPort``: a graph output (``NetPort("Output2")``) or a layer's port
    (``NetPort("conv", "Output")``). As in Wolfram, ``NetJoin(NetTake(net, n), NetDrop(net, n))``
    is ``net``. In a NetGraph, a count ``n`` ends at its ``n``-th layer and keeps what feeds it.
    Arrays are kept.

    >>> net = NetChain({"hidden": LinearLayer(5), "act": "Ramp", "out": LinearLayer(2)}, input=3)
    >>> list(NetTake(net, 2).layers), list(NetTake(net, -1).layers), list(NetTake(net, "act").layers)
    (['hidden', 'act'], ['hidden', 'act'], ['hidden', 'act'])
    >>> list(NetTake(net, (1, -1)).layers), NetTake(net, (1, -1)).types["Input"]
    (['act', 'out'], TensorType((5,)))
    """
    net = _require_container(net, "NetTake")
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = _last_of_count(net, spec)
    start, end = _span(spec)
    if isinstance(net, NetChain) and not isinstance(end, NetPort) and not isinstance(start, NetPort):
        keys = list(net.layers)
        first = 0 if start is None else _index_of(net, start, "NetTake")
        last = _index_of(net, end, "NetTake")
        if last < first:
            raise NetError(f"NetTake: the span ({start!r}, {end!r}) is empty: layer {key_text(keys[first])} comes after layer {key_text(keys[last])}.")
        return _take_chain(net, first, last, "NetTake")
    return _take_graph(net, start, end)


def _last_of_count(net: Container, count: int) -> int:
    """The index of the last layer that NetTake(net, count) keeps."""
    size = len(net.layers)
    fix = f"give a count from 1 to {size}" + {1: ".", 2: ", or -1 to leave out the last layer."}.get(size, f", or from -1 to -{size - 1} to leave out the last layers.")
    if count > size:
        raise NetError(f"NetTake: cannot take {count} layers from a {net.kind} of {size} layers; {fix}")
    if count == 0 or count <= -size:
        raise NetError(f"NetTake: NetTake(net, {count}) keeps no layer of the {net.kind}'s {size}; {fix}")
    return count - 1


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
    """The net without its first ``n`` layers (``n > 0``, Python's ``layers[n:]``), its last
    ``-n`` layers (``n < 0``, as Wolfram's ``NetDrop[net, -n]``), or the layers ``start … end``
    of a pair (both included, by index or name). ``NetJoin(NetTake(net, n), NetDrop(net, n))``
    is ``net``.

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
