"""The symbolic interpreter behind NetFormula: walk a net's containers, apply each layer's rule.

Two passes walk the same way: the first estimates the size of the formula from the rules' term
counts (cheap, nothing built) and refuses a net too large to expand; the second builds the
sympy expressions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy

from ..containers.base import key_text
from ..containers.graph import NetGraph
from ..containers.tree import is_container
from ..errors import NetError, closest
from ..layers.base import Layer
from ..ports import NetPort
from .rules import REFUSALS, RULES, Value, number

Path = tuple[str, ...]

#: a formula estimated larger than this (sympy tree nodes over all outputs) is refused by default
MAX_TERMS = 100_000

_ARRAY_PREFIXES = {"Weights": "W", "Biases": "b", "Scaling": "g", "MovingMean": "m", "MovingVariance": "v", "Array": "A"}


def where(net: Layer, path: Path) -> str:
    return "/".join((net.kind, *(key_text(k) for k in path)))


def element_symbols(base: str, dims: tuple[int, ...], **assumptions: Any) -> Value:
    """Symbols named like ``x1, x2``, ``W1_12`` or, past 9, ``x_1,12`` (indices count from 1, as in the math they are read with)."""
    if not dims:
        return np.array(sympy.Symbol(base, **assumptions), dtype=object)
    separator = "," if max(dims) > 9 else ""  # x12 is ambiguous past 9: x_1,12
    joiner = "_" if base[-1].isdigit() or separator else ""
    symbols = [sympy.Symbol(f"{base}{joiner}{separator.join(str(i + 1) for i in index)}", **assumptions) for index in np.ndindex(*dims)]
    return np.array(symbols, dtype=object).reshape(dims)


def input_base(port: str) -> str:
    """Input → x, Input2 → x2, Target → y; other ports keep their names."""
    if port == "Input":
        return "x"
    if port.startswith("Input") and port[5:].isdigit():
        return f"x{port[5:]}"
    return "y" if port == "Target" else port


def _port_dims(net: Layer, layer: Layer, path: Path, port: str) -> tuple[int, ...]:
    t = layer.types[port]  # type: ignore[index]
    if t.dims is None or not all(isinstance(d, int) for d in t.dims):
        raise NetError(
            f'NetFormula: {where(net, path)} ({layer.kind}) has the port "{port}" of shape {t}, which is not fully known; '
            "a formula needs every size. Fix: give the net its input shape (input=…)."
        )
    return tuple(t.dims)


def walk(net: Layer, inputs: Mapping[str, Any], leaf: Callable[[Layer, list[Any], Path], list[Any]], path: Path = ()) -> dict[str, Any]:
    """Values of ``net``'s outputs: containers are walked member by member, layers go to ``leaf``."""
    if not is_container(net):
        return dict(zip(net.output_ports(), leaf(net, [inputs[p] for p in net.input_ports()], path)))
    sources = {destination: source for source, destination in net.connections}  # type: ignore[attr-defined]
    values: dict[Any, Any] = {(None, port): value for port, value in inputs.items()}
    for key in net.order():
        member = net.layers[key]
        member_inputs = {port: values[sources[(key, port)]] for port in member.input_ports()}
        for port, value in walk(member, member_inputs, leaf, (*path, key)).items():
            values[(key, port)] = value
    return {port: values[sources[(None, port)]] for port in net.output_ports()}


def _rule(net: Layer, layer: Layer, path: Path) -> Any:
    rule = RULES.get(layer.kind)
    if rule is None:
        reason = REFUSALS.get(layer.kind, "its operation is not an algebraic formula of its inputs")
        raise NetError(
            f"NetFormula: {where(net, path)} ({layer.kind}) has no formula: {reason}. "
            f"Layers with formulas: {', '.join(sorted(RULES))}. Fix: take the part of the net before it (NetTake) or replace it."
        )
    return rule


def check_size(net: Layer, max_terms: int) -> int:
    """Estimate the formula's size without building it; refuse it, naming the layer where it outgrows ``max_terms``."""
    first_large: list[tuple[Path, Layer, int]] = []

    def leaf(layer: Layer, terms: list[int], path: Path) -> list[int]:
        for port in (*layer.input_ports(), *layer.output_ports()):
            _port_dims(net, layer, path, port)
        rule = _rule(net, layer, path)
        each = rule.terms(layer, terms)
        size = each * sum(math.prod(layer.types[p].dims) for p in layer.output_ports())  # type: ignore[index, arg-type]
        if size > max_terms and not first_large:
            first_large.append((path, layer, size))
        return [each] * len(layer.output_ports())

    for port in net.input_ports():
        _port_dims(net, net, (), port)
    outputs = walk(net, {port: 1 for port in net.input_ports()}, leaf)
    total = sum(terms * math.prod(net.types[port].dims) for port, terms in outputs.items())  # type: ignore[index, arg-type]
    if total > max_terms:
        path, layer, size = first_large[0] if first_large else ((), net, total)
        raise NetError(
            f"NetFormula: the formula of this {net.kind} would have about {total:,} terms, more than max_terms={max_terms:,}, so it was not built; "
            f"it outgrows the limit at {where(net, path)} ({layer.kind}), whose output alone would have about {size:,}. "
            "Fix: take a smaller part of the net (NetTake), give it smaller inputs, or raise max_terms."
        )
    return total


class Interpreter:
    """Builds the formula; numbers every layer with arrays (1, 2, …) in the order it is reached."""

    def __init__(self, net: Layer, symbolic: Callable[[Path, str], bool]) -> None:
        self.net = net
        self.symbolic = symbolic
        self.count = 0
        #: every array met: (path, name) → (its symbols or None, its numbers or None)
        self.arrays: dict[tuple[Path, str], tuple[Value | None, Value | None]] = {}

    def leaf(self, layer: Layer, values: list[Value], path: Path) -> list[Value]:
        rule = _rule(self.net, layer, path)
        arrays: dict[str, Value] = {}
        if layer.array_names():
            self.count += 1
        for name in layer.array_names():
            dims = _port_dims(self.net, layer, path, name)
            tensor = layer.arrays[name]
            numbers = None if tensor is None else np.array([number(float(v)) for v in tensor.double().reshape(-1).tolist()] or [], dtype=object).reshape(dims)
            symbols = element_symbols(f"{_ARRAY_PREFIXES.get(name, name)}{self.count}", dims, real=True) if self.symbolic(path, name) else None
            if symbols is None and numbers is None:
                raise NetError(
                    f'NetFormula: the array "{name}" of {where(self.net, path)} ({layer.kind}) has no values. '
                    'Fix: NetInitialize the net first, or ask for arrays="Symbolic".'
                )
            self.arrays[(path, name)] = (symbols, numbers)
            arrays[name] = symbols if symbols is not None else numbers  # type: ignore[assignment]
        try:
            return rule.formula(layer, arrays, *values)
        except NetError as error:
            raise NetError(f"NetFormula: {where(self.net, path)} ({layer.kind}): {error}") from None

    def numbers_rule(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each array symbol → its value (for arrays made symbolic only to differentiate)."""
        rule: dict[sympy.Symbol, sympy.Expr] = {}
        for symbols, numbers in self.arrays.values():
            if symbols is not None and numbers is not None:
                rule.update(zip(symbols.reshape(-1), numbers.reshape(-1)))
        return rule


def default_inputs(net: Layer) -> dict[str, Value]:
    symbols = {}
    for port in net.input_ports():
        t = net.types[port]  # type: ignore[index]
        assumptions = {"integer": True} if t.element == "Integer" else {"real": True}
        symbols[port] = element_symbols(input_base(port), _port_dims(net, net, (), port), **assumptions)
    return symbols


def given_inputs(net: Layer, data: Any) -> dict[str, Value]:
    """User values for the input ports (symbols, numbers or a mix), checked against the ports' shapes."""
    ports = net.input_ports()
    if not isinstance(data, Mapping):
        if len(ports) != 1:
            raise NetError(f"NetFormula: the net has the inputs {', '.join(ports)}; give their values as a dict {{port: symbols}}.")
        data = {ports[0]: data}
    values = default_inputs(net)
    for port, value in data.items():
        if port not in ports:
            raise NetError(f'NetFormula: the net has no input "{port}"; its inputs: {", ".join(ports)}.{closest(str(port), ports)}')
        array = np.array(value.tolist() if isinstance(value, sympy.MatrixBase | sympy.NDimArray) else value, dtype=object)
        dims = values[port].shape
        if isinstance(value, sympy.MatrixBase) and len(dims) == 1 and 1 in array.shape:
            array = array.reshape(-1)  # a column or row Matrix stands for a vector
        if array.shape != dims:
            raise NetError(f'NetFormula: the input "{port}" has shape {dims} but the values given have shape {array.shape}. Fix: give {math.prod(dims)} values shaped {dims}.')
        values[port] = elementwise_sympify(array)
    return values


def elementwise_sympify(array: Value) -> Value:
    return np.vectorize(lambda v: number(v) if isinstance(v, float) else sympy.sympify(v), otypes=[object])(array)


def as_sympy(value: Value) -> Any:
    """A scalar as an expression, vectors (as columns) and matrices as Matrix, higher ranks as Array."""
    if value.ndim == 0:
        return value[()]
    if value.ndim <= 2:
        return sympy.Matrix(value.reshape(value.shape[0], -1).tolist())
    return sympy.Array(value.tolist())


def array_path(net: Layer, spec: Any) -> tuple[Path, str]:
    """A NetPortGradient-style path to an array, [layer, …, "Weights"], as (member keys, array name)."""
    items = list(spec)
    keys: list[str] = []
    layer = net
    while len(items) > 1 and is_container(layer):
        keys.append(layer.key_of(items.pop(0)))
        layer = layer.layers[keys[-1]]
    name = items[0] if len(items) == 1 else None
    if is_container(layer) or name not in layer.array_names():
        arrays = ", ".join(f'"{a}"' for a in layer.array_names()) or "none"
        raise NetError(f"NetFormula: wrt={spec!r} names no array; give a layer and one of its arrays, such as [0, \"Weights\"] (the arrays of {where(net, tuple(keys))}: {arrays}).")
    return tuple(keys), name


def with_loss(net: Layer, loss: Layer) -> NetGraph:
    """The net followed by a loss layer on its output, as NetTrain attaches one; Target becomes an input."""
    outputs = net.output_ports()
    if len(outputs) != 1:
        raise NetError(f"NetFormula: loss= attaches a loss layer to the net's output, but the net has the outputs {', '.join(outputs)}; build the NetGraph with the loss and give its port name.")
    return NetGraph({"net": net, "loss": loss}, [(NetPort("net", outputs[0]), NetPort("loss", "Input"))])
