"""Net operators: nets that run another net in a pattern. NetMapOperator (over each element of
a sequence), NetFoldOperator (carrying a state along a sequence), NetNestOperator (n times in
a row) and NetBidirectionalOperator (a sequence read forwards and backwards).

An operator is a container whose members are the nets it runs ("Net", or "ForwardNet" and
"BackwardNet"), so ``NetExtract(op, "Net")``, initialization, training and files treat them as
any member. Its ports' types relate to its members' by a rule (NetMapOperator adds a sequence
axis), which ``_solve_members`` applies in both directions. The engine compiles each member on
its own and gives the operator one function per member to call (``run_members``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..errors import NetError, ShapeError
from ..layers.base import MAX_INFERENCE_ROUNDS, Layer
from ..types import TensorType
from .base import Connection, Container, key_text
from .chain import to_layer

Runner = Callable[..., list[torch.Tensor]]


def _with_axis(t: TensorType, length: Any) -> TensorType:
    """``t`` with a leading sequence axis of ``length``."""
    return TensorType(None if t.dims is None else (length, *t.dims), t.element, t.bound)


def _without_axis(t: TensorType) -> TensorType:
    return TensorType(None if t.dims is None else t.dims[1:], t.element, t.bound)


def _first_axis(t: TensorType) -> Any:
    return t.dims[0] if t.dims else None


def _zero_padding(x: torch.Tensor, lengths: torch.Tensor | None, inputs: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
    """``x`` with each example's positions past its length set to zero. With ``inputs`` (what
    produced ``x``) and no gradients to keep, a fresh ``x`` is zeroed in place, padded rows only:
    multiplying every element by a mask cost a transformer about a fifth of its evaluation."""
    if lengths is None or not bool((lengths < x.shape[1]).any()):
        return x
    # a view of an input (or an expanded constant) is not the net's own: it is never written to
    fresh = inputs is not None and x.is_contiguous() and not any(x.untyped_storage().data_ptr() == i.untyped_storage().data_ptr() for i in inputs)
    if fresh and not torch.is_grad_enabled():
        padded = (torch.arange(x.shape[1], device=x.device).unsqueeze(0) >= lengths.to(x.device).unsqueeze(1)).view(-1).nonzero().squeeze(1)
        return x.view(x.shape[0] * x.shape[1], -1).index_fill_(0, padded, 0).view(x.shape)
    keep = torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)
    return x * keep.view(*keep.shape, *([1] * (x.dim() - 2))).to(x.dtype)


@dataclass(frozen=True, eq=False, repr=False)
class _Operator(Container):
    """What the operators share: members given as a net (or a list), type rules, one engine step."""

    runs_members: ClassVar[bool] = True
    uses_lengths: ClassVar[bool] = True
    #: member keys, in the order a list of nets is given
    member_keys: ClassVar[tuple[str, ...]] = ("Net",)

    def __post_init__(self) -> None:
        nets = self.layers
        if isinstance(nets, Mapping):
            given = dict(nets)
        elif len(self.member_keys) == 1:
            given = {self.member_keys[0]: nets}  # a list is a NetChain, as everywhere
        else:
            listed = list(nets) if isinstance(nets, list | tuple) else [nets]
            given = dict(zip(self.member_keys, listed)) if len(listed) <= len(self.member_keys) else {}
            if not given or len(listed) > len(self.member_keys):
                raise NetError(f"{self.kind} takes {' and '.join(self.member_keys)} (a net{'s' if len(self.member_keys) > 1 else ''}), not {nets!r:.80}.")
        try:
            members = self.default_members({key: to_layer(net) for key, net in given.items()})
        except NetError as error:
            raise NetError(f"{self.kind}: {error}") from None
        if set(members) != set(self.member_keys):
            raise NetError(f"{self.kind}: its members are {', '.join(self.member_keys)}, not {', '.join(members)}.")
        object.__setattr__(self, "layers", {key: members[key] for key in self.member_keys})
        self.validate()
        super().__post_init__()

    def default_members(self, members: dict[str, Layer]) -> dict[str, Layer]:
        return members

    def coders(self) -> dict[str, Any]:
        # A member's coders work on elements, not on the operator's sequences: only the
        # operator's own ports' coders count.
        return Layer.coders(self)

    @property
    def net(self) -> Layer:
        return self.layers[self.member_keys[0]]  # type: ignore[no-any-return]

    def fit_error(self, what: str) -> NetError:
        return NetError(f"{self.kind}: {what}")

    # -- inference: the operator's rule applied until nothing changes ----------------------------
    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        """What the operator's port types say of each member's ports."""
        raise NotImplementedError

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        """The operator's port types refined by its members' (ShapeError on a conflict)."""
        raise NotImplementedError

    def _solve_members(self, port_types: Mapping[str, TensorType], path: tuple[str, ...]) -> tuple[dict[str, TensorType], dict[str, Layer]]:
        members: dict[str, Layer] = dict(self.layers)
        types = dict(port_types)
        for _ in range(MAX_INFERENCE_ROUNDS):
            changed = False
            for key, wanted in self.member_types(types).items():
                refined = members[key].refine(wanted, (*path, key_text(key)))
                if refined is not members[key]:
                    members[key], changed = refined, True
            try:
                new = self.port_types(dict(types), members)
            except ShapeError as error:
                raise ShapeError(f"{'/'.join(path)}: {error}") from None
            if new != types:
                types, changed = new, True
            if not changed:
                break
        return types, members

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        output = self.types[self.output_ports()[0]]  # type: ignore[index]
        return lengths if output.dims and output.dims[0] == "Varying" else None

    def run_members(self, runners: dict[str, Runner], *inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        raise NotImplementedError


def _unify_lengths(kind: str, types: dict[str, TensorType], ports: tuple[str, ...]) -> Any:
    """The sequence length shared by ``ports`` (their first axes)."""
    length: Any = None
    for port in ports:
        first = _first_axis(types[port])
        try:
            length = TensorType((length,)).unify(TensorType((first,))).dims[0]  # type: ignore[index]
        except ShapeError:
            raise ShapeError(f'port "{port}" has sequences of length {first} but another port of the {kind} has {length}; the sequences it maps over must have one length.') from None
    return length


@dataclass(frozen=True, eq=False, repr=False)
class NetMapOperator(_Operator):
    """Applies ``net`` to each element of a sequence: every port gets a leading sequence axis.

    ``NetMapOperator(LinearLayer(3))`` takes ``("Varying", k)`` and returns ``("Varying", 3)``;
    a net with several inputs maps over all of them together (they have one length). The
    elements are run as one batch, so the map costs one call of the net.

    >>> net = NetInitialize(NetMapOperator(LinearLayer(2, input=3), input=("Varying", 3)))
    >>> net.types["Output"]
    TensorType(('Varying', 2))
    >>> x = np.ones((4, 3), np.float32)
    >>> bool(np.allclose(net(x), NetExtract(net, "Net")(x)))
    True
    """

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        inputs, outputs = self.net.input_ports(), self.net.output_ports()
        if not inputs:
            raise self.fit_error(f"the net has no input to map over (a {self.net.kind} without inputs); map a net that takes the sequence's elements.")
        connections: list[Connection] = [((None, p), ("Net", p)) for p in inputs] + [(("Net", p), (None, p)) for p in outputs]
        return connections, list(inputs), list(outputs)

    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        return {"Net": {p: _without_axis(types[p]) for p in (*self.input_ports(), *self.output_ports()) if types[p].dims is not None}}

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        ports = (*self.input_ports(), *self.output_ports())
        for port in ports:
            if types[port].rank == 0:
                raise ShapeError(f'port "{port}" needs a sequence of the net\'s elements but has the scalar type {types[port]}.')
        length = _unify_lengths(self.kind, types, ports)
        for port in ports:
            inner = members["Net"].types[port]  # type: ignore[index]
            types[port] = types[port].unify(_with_axis(inner, length)) if inner.dims is not None else types[port]
            if types[port].dims is not None and types[port].dims[0] is None and length is not None:  # type: ignore[index]
                types[port] = types[port].with_dims((length, *types[port].dims[1:]))  # type: ignore[index]
        return types

    def run_members(self, runners: dict[str, Runner], *inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        batch, steps = inputs[0].shape[:2]
        # every element of every example at once: (batch * steps, …)
        outputs = runners["Net"](*[x.reshape(batch * steps, *x.shape[2:]) for x in inputs])
        outputs = [_zero_padding(y.reshape(batch, steps, *y.shape[1:]), lengths, inputs) for y in outputs]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


@dataclass(frozen=True, eq=False, repr=False)
class NetFoldOperator(_Operator):
    """Runs ``net`` along a sequence carrying a state: ``s[t] = net(Input=x[t], State=s[t-1])``,
    and returns the sequence of states ``s[1] … s[n]`` as "Output".

    The net takes an input "State" and any other inputs (each a sequence's elements; several
    are read together), and has one output, the next state, of the state's type. The first
    state is zeros, or the input "InitialState" with ``initial_states=True``; the last is the
    output "State" with ``final_states=True``. In a batch of sequences of different lengths each
    example's state stops at its own last element.

    >>> step = NetGraph({"plus": ThreadingLayer("Plus")}, [(NetPort("State"), "plus"), (NetPort("Input"), "plus")], ports={"State": 2, "Input": 2})
    >>> running_sum = NetFoldOperator(step, input=("Varying", 2))
    >>> running_sum([[1, 2], [3, 4], [5, 6]]).tolist()
    [[1.0, 2.0], [4.0, 6.0], [9.0, 12.0]]
    """

    initial_states: bool = False
    final_states: bool = False

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        inputs, outputs = self.net.input_ports(), self.net.output_ports()
        mapped = [p for p in inputs if p != "State"]
        if "State" not in inputs or not mapped or len(outputs) != 1:
            raise self.fit_error(
                f'the net must take an input "State" and at least one other input (the elements), and return one output (the next state), '
                f"but it has the inputs {', '.join(inputs) or 'none'} and the outputs {', '.join(outputs)}. Fix: name the state's port \"State\" (NetGraph ports=…)."
            )
        connections: list[Connection] = [((None, p), ("Net", p)) for p in mapped] + [(("Net", outputs[0]), (None, "Output"))]
        return connections, [*mapped, *(["InitialState"] if self.initial_states else [])], ["Output", *(["State"] if self.final_states else [])]

    def validate(self) -> None:
        for name in ("initial_states", "final_states"):
            if not isinstance(getattr(self, name), bool):
                raise NetError(f"NetFoldOperator: {name} must be True or False, not {getattr(self, name)!r}.")

    @property
    def mapped_ports(self) -> tuple[str, ...]:
        return tuple(p for p in self.input_ports() if p != "InitialState")

    def _state_ports(self) -> tuple[str, ...]:
        return tuple(p for p in (*self.input_ports(), *self.output_ports()) if p in ("InitialState", "State"))

    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        wanted = {p: _without_axis(types[p]) for p in self.mapped_ports if types[p].dims is not None}
        state = TensorType()
        if types["Output"].dims is not None:
            state = _without_axis(types["Output"])
        for port in self._state_ports():
            state = state.unify(types[port])
        wanted["State"] = state
        wanted[self.net.output_ports()[0]] = state
        return {"Net": wanted}

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        net = members["Net"]
        try:
            state = net.types["State"].unify(net.types[net.output_ports()[0]])  # type: ignore[index]
        except ShapeError:
            raise ShapeError(
                f'the net\'s output {net.types[net.output_ports()[0]]} must have the type of its input "State" {net.types["State"]}, '  # type: ignore[index]
                "since each output is the next state."
            ) from None
        length = _unify_lengths(self.kind, types, (*self.mapped_ports, "Output"))
        for port in self.mapped_ports:
            types[port] = types[port].unify(_with_axis(net.types[port], length))  # type: ignore[index]
        types["Output"] = types["Output"].unify(_with_axis(state, length))
        for port in self._state_ports():
            types[port] = types[port].unify(state)
        return types

    def run_members(self, runners: dict[str, Runner], *inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        given = dict(zip(self.input_ports(), inputs))
        first = given[self.mapped_ports[0]]
        batch, steps = first.shape[:2]
        state = given.get("InitialState")
        if state is None:
            state_type = _without_axis(self.types["Output"])  # type: ignore[index]
            if not state_type.fixed:
                raise NetError(f"NetFoldOperator: the state's shape {state_type.shape_str()} is not fully known, so it cannot start at zeros; give the net's \"State\" port a shape (NetGraph ports={{\"State\": …}}).")
            shape = state_type.dims
            state = first.new_zeros(batch, *shape)
        order = self.net.input_ports()
        states = []
        running = None if lengths is None else lengths.to(first.device)
        for t in range(steps):
            new = runners["Net"](*[state if p == "State" else given[p][:, t] for p in order])[0]
            if running is not None:
                # examples already past their last element keep their state
                new = torch.where((t < running).view(batch, *([1] * (new.dim() - 1))), new, state)
            state = new
            states.append(state)
        output = torch.stack(states, 1) if states else state.new_zeros(batch, 0, *state.shape[1:])
        output = _zero_padding(output, lengths)
        return (output, state) if self.final_states else output


@dataclass(frozen=True, eq=False, repr=False)
class NetNestOperator(_Operator):
    """Applies ``net`` ``count`` times in a row (``net(net(…net(x)))``); the net's output must have
    the type of its input.

    >>> double = NetNestOperator(ElementwiseLayer("2*x"), 3)
    >>> double([1.0, 2.0]).tolist()
    [8.0, 16.0]
    """

    count: int = 1

    def validate(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise NetError(f"NetNestOperator: the count (how many times the net is applied) must be a positive int, not {self.count!r}.")

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        inputs, outputs = self.net.input_ports(), self.net.output_ports()
        if len(inputs) != 1 or len(outputs) != 1:
            raise self.fit_error(f"the net must take one input and return one output to be applied to its own result, but it has the inputs {', '.join(inputs) or 'none'} and the outputs {', '.join(outputs)}.")
        return [((None, inputs[0]), ("Net", inputs[0])), (("Net", outputs[0]), (None, outputs[0]))], list(inputs), list(outputs)

    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        both = types[self.input_ports()[0]].unify(types[self.output_ports()[0]])
        return {"Net": {self.net.input_ports()[0]: both, self.net.output_ports()[0]: both}}

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        net = members["Net"]
        x, y = net.types[net.input_ports()[0]], net.types[net.output_ports()[0]]  # type: ignore[index]
        try:
            both = x.unify(y).unify(types[self.input_ports()[0]]).unify(types[self.output_ports()[0]])
        except ShapeError:
            raise ShapeError(f"the net's output {y} must have the type of its input {x}, since it is applied to its own result.") from None
        types[self.input_ports()[0]] = types[self.output_ports()[0]] = both
        return types

    def run_members(self, runners: dict[str, Runner], x: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        for _ in range(self.count):
            x = runners["Net"](x, lengths=lengths)[0]
        return x


AGGREGATIONS = ("Join", "Total")


@dataclass(frozen=True, eq=False, repr=False)
class NetBidirectionalOperator(_Operator):
    """Reads a sequence forwards with one net and backwards with another, and joins the two
    output sequences on their last axis (``aggregation="Join"``) or adds them ("Total").

    ``NetBidirectionalOperator(LongShortTermMemoryLayer(8))`` uses a second, independently
    trained copy of the net for the backward direction; a list ``[forward, backward]`` gives
    both. Each net maps a sequence to a sequence of the same length. In a batch of sequences of
    different lengths, each example is reversed within its own length.

    >>> net = NetInitialize(NetBidirectionalOperator(GatedRecurrentLayer(3), input=("Varying", 2)))
    >>> net.types["Output"]
    TensorType(('Varying', 6))
    """

    aggregation: str = "Join"

    member_keys: ClassVar[tuple[str, ...]] = ("ForwardNet", "BackwardNet")

    def validate(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise NetError(f'NetBidirectionalOperator: aggregation {self.aggregation!r} is not one of "Join", "Total".')

    def default_members(self, members: dict[str, Layer]) -> dict[str, Layer]:
        if set(members) == {"ForwardNet"}:
            # the same specification, initialized and trained on its own as the backward net
            members["BackwardNet"] = members["ForwardNet"]
        return members

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        for key in self.member_keys:
            net = self.layers[key]
            if len(net.input_ports()) != 1 or len(net.output_ports()) != 1:
                raise self.fit_error(f"the {key} must take one sequence and return one sequence, but it has the inputs {', '.join(net.input_ports())} and the outputs {', '.join(net.output_ports())}.")
        connections: list[Connection] = []
        for key in self.member_keys:
            net = self.layers[key]
            connections += [((None, "Input"), (key, net.input_ports()[0])), ((key, net.output_ports()[0]), (None, "Output"))]
        return connections, ["Input"], ["Output"]

    def _member_ports(self, members: Mapping[str, Layer], key: str) -> tuple[str, str]:
        return members[key].input_ports()[0], members[key].output_ports()[0]

    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        wanted = {}
        for key in self.member_keys:
            port_in, port_out = self._member_ports(self.layers, key)
            wanted[key] = {port_in: types["Input"]}
            if self.aggregation == "Total":
                wanted[key][port_out] = types["Output"]
        return wanted

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        x = types["Input"]
        outputs = []
        for key in self.member_keys:
            port_in, port_out = self._member_ports(members, key)
            x = x.unify(members[key].types[port_in])  # type: ignore[index]
            y = members[key].types[port_out]  # type: ignore[index]
            if y.rank == 0:
                raise ShapeError(f"the {key} must return a sequence but returns the scalar {y}.")
            outputs.append(y)
        types["Input"] = x
        forward, backward = outputs
        if self.aggregation == "Total":
            try:
                types["Output"] = types["Output"].unify(forward).unify(backward)
            except ShapeError:
                raise ShapeError(f'"Total" adds the two directions\' outputs, but the ForwardNet returns {forward} and the BackwardNet {backward}.') from None
        elif forward.dims is not None and backward.dims is not None:
            if len(forward.dims) != len(backward.dims) or not all(a == b or None in (a, b) for a, b in zip(forward.dims[:-1], backward.dims[:-1])):
                raise ShapeError(f'"Join" catenates the two directions\' outputs on their last axis, but the ForwardNet returns {forward} and the BackwardNet {backward}.')
            last = forward.dims[-1] + backward.dims[-1] if isinstance(forward.dims[-1], int) and isinstance(backward.dims[-1], int) else None
            types["Output"] = types["Output"].unify(TensorType((*TensorType(forward.dims[:-1]).unify(TensorType(backward.dims[:-1])).dims, last)))  # type: ignore[misc]
        return types

    def run_members(self, runners: dict[str, Runner], x: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        from ..layers.sequence import reverse_sequences

        forward = runners["ForwardNet"](x, lengths=lengths)[0]
        backward = reverse_sequences(runners["BackwardNet"](reverse_sequences(x, lengths), lengths=lengths)[0], lengths)
        output = torch.cat([forward, backward], -1) if self.aggregation == "Join" else forward + backward
        return _zero_padding(output, lengths)
