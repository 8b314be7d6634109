"""A net as a tree: containers are branches, every other layer a leaf.

The walks every part of symnet needs, written once and linear in the size of the net:
``members`` (a layer's children), ``nodes`` and ``leaves`` (every layer or leaf with its path of
member keys), ``layer_at`` (the layer at a path), ``map_leaves`` (a new net with leaves
replaced, rebuilding only the containers above a change) and ``replace_at`` (a new net with
the layer at one path replaced). Walks use an explicit stack, so a deep nest does not reach
Python's recursion limit.

>>> net = NetChain({"a": LinearLayer(2), "inner": NetChain([ElementwiseLayer("Tanh")])}, input=3)
>>> [path for path, _ in leaves(net)]
[('a',), ('inner', '0')]
>>> layer_at(net, ("inner", "0")).function
'Tanh'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..layers.base import Layer
from .base import Container

Path = tuple[str, ...]


def is_container(layer: Any) -> bool:
    """Whether ``layer`` has members (a NetChain, a NetGraph or another container)."""
    return isinstance(layer, Container)


def members(layer: Layer) -> Mapping[str, Layer]:
    """The layer's members by key (empty for a leaf)."""
    return layer.layers if isinstance(layer, Container) else {}


def nodes(net: Layer, path: Path = ()) -> Iterator[tuple[Path, Layer]]:
    """Every layer of the net, containers included, with its path, in order (parents first)."""
    stack: list[tuple[Path, Layer]] = [(path, net)]
    while stack:
        where, layer = stack.pop()
        yield where, layer
        if isinstance(layer, Container):
            stack.extend(reversed([((*where, key), member) for key, member in layer.layers.items()]))


def leaves(net: Layer, path: Path = ()) -> list[tuple[Path, Layer]]:
    """Every leaf layer (not a container) with its path, in order."""
    return [(where, layer) for where, layer in nodes(net, path) if not isinstance(layer, Container)]


def layer_at(net: Layer, path: Path) -> Layer:
    """The layer at a path of member keys (``()`` is the net itself)."""
    layer = net
    for key in path:
        layer = members(layer)[key]
    return layer


def map_leaves(net: Layer, function: Callable[[Path, Layer], Layer], *, same_types: bool = False, path: Path = ()) -> Layer:
    """The net with each leaf replaced by ``function(path, leaf)``. Containers whose members did
    not change are kept as they are; the others are rebuilt, keeping their solved types when
    ``same_types`` (the leaves' shapes are unchanged, e.g. new array values) or inferring again."""
    if not isinstance(net, Container):
        return function(path, net)
    # Post-order without recursion: a container is rebuilt after all its members.
    done: dict[Path, Layer] = {}
    stack: list[tuple[Path, Layer, bool]] = [(path, net, False)]
    while stack:
        where, layer, expanded = stack.pop()
        if not isinstance(layer, Container):
            done[where] = function(where, layer)
        elif not expanded:
            stack.append((where, layer, True))
            stack.extend(((*where, key), member, False) for key, member in layer.layers.items())
        else:
            new = {key: done.pop((*where, key)) for key in layer.layers}
            changed = any(new[key] is not member for key, member in layer.layers.items())
            done[where] = layer._rebuilt(new, layer.types if same_types else None) if changed else layer
    return done[path]


def replace_at(net: Layer, path: Path, new: Layer) -> Layer:
    """The net with the layer at ``path`` replaced by ``new``; the containers above it are
    rebuilt and inferred again (the new layer may have other shapes)."""
    if not path:
        return new
    parents = [net]
    for key in path[:-1]:
        parents.append(members(parents[-1])[key])
    for key, parent in zip(reversed(path), reversed(parents)):
        assert isinstance(parent, Container)
        new = parent._rebuilt({**parent.layers, key: new}, None)
    return new


__all__ = ["is_container", "layer_at", "leaves", "map_leaves", "members", "nodes", "replace_at"]
