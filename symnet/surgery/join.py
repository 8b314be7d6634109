"""NetJoin, NetAppend, NetPrepend, NetInsert, NetDelete: chains put together and taken apart."""

from __future__ import annotations

from typing import Any

from ..containers.chain import NetChain, to_layer
from ..containers.tree import is_container
from ..errors import NetError
from ..layers.base import Layer, takes_net
from .common import _build, _chain, _fail, _fresh, _graph, _graph_parts, _index_of, _layers_argument, _member_items, _rekeyed, _renumbered, _require_container, _strip_coders, _unique_name


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
        extra = _as_named_chain(items, set(net.layers) if is_container(net) else set())
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
        extra = _as_named_chain(items, set(net.layers) if is_container(net) else set())
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
