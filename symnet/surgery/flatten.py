"""NetFlatten and NetRename."""

from __future__ import annotations

from typing import Any

from ..containers.base import Connection, Container, Endpoint, key_text
from ..containers.chain import NetChain
from ..containers.tree import is_container
from ..errors import NetError, number
from ..layers.base import Layer, takes_net
from .common import _build, _chain, _graph, _graph_parts, _index_of, _is_chain, _require_container
from .replace import _rules


def _flat_parts(net: Container, prefix: tuple[str, ...], levels: int | None) -> tuple[dict[str, Layer], list[Connection], dict[tuple[str, ...], dict[str, Endpoint]]]:
    """Members (keys joined by "/") and connections of a container with nested containers inlined."""
    members: dict[str, Layer] = {}
    connections: list[Connection] = []
    # For each inlined container: its port → the inner endpoint (inputs: where it goes; outputs: where it comes from)
    inner_inputs: dict[str, list[Endpoint]] = {}
    inner_outputs: dict[str, Endpoint] = {}
    for key, member in net.layers.items():
        name = "/".join((*prefix, key))
        if is_container(member) and (levels is None or levels > 0):
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
    number(levels, where="NetFlatten", option="levels", integer=True, minimum=0, none_ok=True, error=NetError)
    if not any(is_container(m) for m in net.layers.values()):
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
        if is_container(member) and (levels is None or levels > 0):
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

