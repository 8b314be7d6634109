"""NetMapThreadOperator: a net mapped over several inputs in parallel, at a depth, with the
inputs that are not mapped replicated to every element (Wolfram's MapThread for nets).

``NetMapThreadOperator(net)`` maps over the first axis of every input (they have one length);
``NetMapThreadOperator(net, n)`` over their first ``n`` axes; ``NetMapThreadOperator(net,
{"Input": 1})`` maps over "Input" only and gives every element the whole of the other inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import NetError, ShapeError
from ..layers.base import Layer
from ..types import TensorType
from .base import Connection
from .operators import Runner, _Operator, _zero_padding


def _leading(t: TensorType, depth: int) -> tuple[Any, ...]:
    return tuple(t.dims[:depth]) if t.dims is not None else (None,) * depth


def _unify_axis(port: str, axis: int, a: Any, b: Any) -> Any:
    try:
        return TensorType((a,)).unify(TensorType((b,))).dims[0]  # type: ignore[index]
    except ShapeError:
        raise ShapeError(f'port "{port}" has {b} elements on mapped axis {axis + 1} but another mapped port has {a}; the inputs mapped together must have the same lengths.') from None


@dataclass(frozen=True, eq=False, repr=False)
class NetMapThreadOperator(_Operator):
    """Maps ``net`` over one or more inputs in parallel: element ``i`` of every mapped input goes
    to one call of the net, and each output is the sequence of its results.

    ``depth`` is an int ``n`` (every input mapped over its first ``n`` axes, which all inputs
    share) or a dict ``{port: n}``: the named inputs are mapped at depth ``n`` and every other
    input is replicated, the same whole value given to each element. The outputs get the ``n``
    mapped axes. In a batch of sequences of different lengths, each example is mapped within
    the length of its first mapped input and the outputs are zero past it.

    >>> times = NetGraph({"times": ThreadingLayer("Times")}, [([NetPort("A"), NetPort("B")], "times")], ports={"A": 2, "B": 2})
    >>> scale = NetMapThreadOperator(times, {"A": 1})
    >>> scale({"A": [[1.0, 2.0], [3.0, 4.0]], "B": [10.0, 100.0]}).tolist()
    [[10.0, 200.0], [30.0, 400.0]]
    """

    depth: Any = 1

    def validate(self) -> None:
        depths = list(self.depth.values()) if isinstance(self.depth, Mapping) else [self.depth]
        for value in depths:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise NetError(f"{self.kind}: the depth must be a positive int or a dict of input port → positive int (0 replicates the input), not {self.depth!r}.")
        mapped = {value for value in depths if value > 0}
        if not mapped:
            raise NetError(f"{self.kind}: the depth {self.depth!r} maps over no input; give at least one input a depth ≥ 1, as in {{\"Input\": 1}}.")
        if len(mapped) > 1:
            raise NetError(f"{self.kind}: the inputs {self.depth!r} are mapped at different depths; symnet maps all mapped inputs at one depth (give them the same n).")

    @property
    def levels(self) -> int:
        """How many leading axes are mapped."""
        return max(self.depth.values()) if isinstance(self.depth, Mapping) else int(self.depth)

    @property
    def mapped_ports(self) -> tuple[str, ...]:
        if isinstance(self.depth, Mapping):
            return tuple(p for p in self.input_ports() if self.depth.get(p, 0) > 0)
        return self.input_ports()

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        inputs, outputs = self.net.input_ports(), self.net.output_ports()
        if not inputs:
            raise self.fit_error(f"the net has no input to map over (a {self.net.kind} without inputs); map a net that takes the sequences' elements.")
        if isinstance(self.depth, Mapping):
            unknown = [p for p in self.depth if p not in inputs]
            if unknown:
                raise self.fit_error(f'the depth names the port "{unknown[0]}", but the net\'s inputs are {", ".join(inputs)}; name the inputs to map over.')
        connections: list[Connection] = [((None, p), ("Net", p)) for p in inputs] + [(("Net", p), (None, p)) for p in outputs]
        return connections, list(inputs), list(outputs)

    def lengths_input(self) -> int:
        # the lengths that matter are a mapped input's: a replicated one may have its own
        return self.input_ports().index(self.mapped_ports[0])

    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        n = self.levels
        wanted = {}
        for port in (*self.input_ports(), *self.output_ports()):
            t = types[port]
            if port in self.input_ports() and port not in self.mapped_ports:
                wanted[port] = t
            elif t.dims is not None:
                wanted[port] = TensorType(t.dims[n:], t.element, t.bound)
        return {"Net": wanted}

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        n = self.levels
        threaded = (*self.mapped_ports, *self.output_ports())
        axes: list[Any] = [None] * n
        for port in threaded:
            t = types[port]
            if t.rank is not None and t.rank < n:
                raise ShapeError(f'port "{port}" is mapped over {n} axes but has the type {t} of rank {t.rank}.')
            axes = [_unify_axis(port, i, a, b) for i, (a, b) in enumerate(zip(axes, _leading(t, n)))]
        net = members["Net"]
        for port in (*self.input_ports(), *self.output_ports()):
            inner = net.types[port]  # type: ignore[index]
            if port not in threaded:
                types[port] = types[port].unify(inner)
            elif inner.dims is not None:
                types[port] = types[port].unify(TensorType((*axes, *inner.dims), inner.element, inner.bound))
            elif types[port].dims is not None:
                types[port] = types[port].with_dims((*axes, *types[port].dims[n:]))  # type: ignore[index]
        return types

    def run_members(self, runners: dict[str, Runner], *inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        n = self.levels
        given = dict(zip(self.input_ports(), inputs))
        first = given[self.mapped_ports[0]]
        batch, axes = first.shape[0], tuple(first.shape[1 : n + 1])
        count = batch * int(torch.tensor(axes).prod()) if axes else batch

        def elements(port: str) -> torch.Tensor:
            x = given[port]
            if port in self.mapped_ports:
                return x.reshape(count, *x.shape[n + 1 :])
            # replicated: every element of an example sees the example's whole value
            view = x.view(batch, *([1] * n), *x.shape[1:]).expand(batch, *axes, *x.shape[1:])
            return view.reshape(count, *x.shape[1:])

        outputs = runners["Net"](*[elements(p) for p in self.input_ports()])
        outputs = [_zero_padding(y.reshape(batch, *axes, *y.shape[1:]), lengths) for y in outputs]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


__all__ = ["NetMapThreadOperator"]
