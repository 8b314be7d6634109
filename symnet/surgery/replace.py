"""NetReplacePart and NetReplace: layers, arrays and coders swapped for others."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..containers.base import Container, key_text
from ..containers.chain import to_layer
from ..containers.tree import is_container
from ..errors import NetError, ShapeError, closest
from ..layers.base import Layer, as_array_tensor, is_coder, takes_net
from ..types import TensorType
from .common import _build, _dims_conflict, _fail, _fresh, _layers_argument, _Pending, _require_container, _strip_coders


def _rules(rules: Any, function: str) -> list[tuple[Any, Any]]:
    if isinstance(rules, Mapping):
        return list(rules.items())
    if isinstance(rules, tuple) and len(rules) == 2:
        return [rules]
    if isinstance(rules, list) and all(isinstance(r, tuple) and len(r) == 2 for r in rules):
        return list(rules)
    raise NetError(f"{function}: give the replacements as a dict, a (part, value) pair or a list of pairs, not {rules!r}.")


def _rebuilt_with(net: Container, members: dict[str, Layer]) -> Container:
    return dataclasses.replace(net, layers=_layers_argument(members))


def _replace_at(layer: Layer, path: list[Any], value: Any, walked: list[str]) -> Layer:
    item = path[0]
    where = "/".join(walked)
    if is_container(layer):
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
    if value is None:
        return layer.with_arrays({name: None})
    tensor = as_array_tensor(name, value)
    need = layer.types[name]  # type: ignore[index]
    if _dims_conflict(tuple(tensor.shape), need):  # type: ignore[union-attr]
        raise ShapeError(f'{where} ({layer.kind}): the array "{name}" has shape {need.shape_str()} but the new value has shape {tuple(tensor.shape)}. Give an array of the same shape.')  # type: ignore[union-attr]
    return layer.with_arrays({name: tensor})


def _with_port(layer: Layer, port: str, value: Any, where: str) -> Layer:
    """Set a port's specification: a coder, a shape, or None (removing a coder, keeping its shape)."""
    current = layer.port_specs().get(port)
    if value is None:
        value = current.port_type if is_coder(current) else None
    elif not is_coder(value):
        value = TensorType.parse(value)
    if is_container(layer):
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
        return dataclasses.replace(layer, input=value)
    if port != layer.output_ports()[0]:
        raise NetError(f'{where} ({layer.kind}): only the first output port can be given a coder or shape; "{port}" cannot.')
    return dataclasses.replace(layer, output=value)


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
        if not is_container(current):
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
            return dataclasses.replace(plan.base, layers=_layers_argument(members), **plan.changes)

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


def _layer_kinds() -> set[str]:
    """The class names of every layer kind defined so far (symnet's and the user's)."""
    kinds: set[str] = set()
    stack: list[type] = [Layer]
    while stack:
        cls = stack.pop()
        if cls.__name__ not in kinds:
            kinds.add(cls.__name__)
            stack += cls.__subclasses__()
    return kinds


def _check_kind_names(pairs: list[tuple[Any, Any]]) -> None:
    """A class name that names no layer kind is a typo: it would silently replace nothing."""
    kinds = None
    for pattern, _ in pairs:
        if isinstance(pattern, str):
            kinds = kinds if kinds is not None else _layer_kinds()
            if pattern not in kinds:
                raise NetError(f'NetReplace: "{pattern}" is not the name of a layer kind, so it would match nothing; '
                               f"give a layer class, a class name such as \"LinearLayer\", a layer or a predicate.{closest(pattern, sorted(kinds))}")


def _replace_member(layer: Layer, rules: list[tuple[Any, Any]]) -> Any:
    """The layer replaced by the first matching rule, or with its own members replaced."""
    for pattern, replacement in rules:
        if _matches(pattern, layer):
            new = replacement(layer) if callable(replacement) and not isinstance(replacement, Layer | type) else replacement
            return to_layer(new)
    if not is_container(layer):
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
    _check_kind_names(pairs)
    try:
        members = {key: _replace_member(member, pairs) for key, member in net.layers.items()}
    except NetError as error:
        raise _fail("NetReplace", error) from None
    if all(members[k] is net.layers[k] for k in members):
        return net
    return _build("NetReplace", lambda m: _rebuilt_with(net, m), {k: (m if m is not net.layers[k] else _fresh(m)) for k, m in members.items()}, drop_mismatched_arrays)
