"""NetUnfold and NetStateObject: a recurrent net one step at a time, with its states carried.

``NetUnfold(net)`` turns a net that reads a sequence (a recurrent layer, a NetFoldOperator, or
a NetChain of those with NetMapOperator and per-element layers) into the net of one step: it
takes one element "Input" and the states before the step ("InitialState", "InitialCellState"
…) and returns the step's "Output" and the states after it ("State", "CellState" …), with the
same arrays. ``NetStateObject(net)`` keeps those states between calls, so a sequence can be
fed a piece at a time (generation: one element, then the next, …) at the cost of one step per
element instead of re-reading the whole prefix.

State ports are named as the recurrent layers name theirs (``initial_states=True`` inputs,
``final_states=True`` outputs); when the net has several recurrent members each name ends
with the member's key ("InitialState1" / "State1" for member 1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .containers.chain import NetChain
from .containers.graph import NetGraph
from .containers.operators import NetFoldOperator, NetMapOperator
from .engine import check_initialized, compiled
from .errors import NetError
from .layers.base import Layer
from .layers.basic import DropoutLayer, ElementwiseLayer, SoftmaxLayer
from .layers.recurrent import _RecurrentLayer
from .layers.sequence import EmbeddingLayer, SequenceLastLayer
from .layers.structure import ReshapeLayer
from .ports import NetPort

#: layers that act on each element of a sequence on its own, so one step is the layer itself
PER_ELEMENT = (ElementwiseLayer, SoftmaxLayer, DropoutLayer, EmbeddingLayer)


def _fresh(layer: Layer) -> Layer:
    """The layer with its arrays but without its sequence shapes, to be inferred on elements."""
    return dataclasses.replace(layer, input=None, output=None)  # type: ignore[type-var]


def _recurrent_step(layer: _RecurrentLayer) -> Layer:
    """One step of a recurrent layer: the layer itself on a sequence of one element, with its
    initial states as inputs and its final states as outputs (the same fused kernel)."""
    k = layer.types["Input"].dims[1]  # type: ignore[index]
    n = layer.types["Output"].dims[1]  # type: ignore[index]
    step = dataclasses.replace(layer, initial_states=True, final_states=True, input=None, output=None)
    edges: list[Any] = [(NetPort("Input"), "sequence", NetPort("step", "Input")), (NetPort("step", "Output"), "element", NetPort("Output"))]
    for state in layer.states:
        edges += [(NetPort(f"Initial{state}"), NetPort("step", f"Initial{state}")), (NetPort("step", state), NetPort(state))]
    return NetGraph({"sequence": ReshapeLayer((1, k)), "step": step, "element": ReshapeLayer((n,))}, edges)


def _fold_step(fold: NetFoldOperator) -> Layer:
    """One step of a fold: its net, with "State" renamed "InitialState" and its output given
    both as "Output" and as the next "State"."""
    net = fold.net
    output = net.output_ports()[0]
    edges: list[Any] = [(NetPort("InitialState"), NetPort("step", "State")), (NetPort("step", output), [NetPort("Output"), NetPort("State")])]
    edges += [(NetPort(p), NetPort("step", p)) for p in fold.mapped_ports]
    if fold.initial_states or fold.final_states:
        raise NetError("NetUnfold: a NetFoldOperator with initial_states or final_states ports cannot be unfolded yet; unfold the operator made without them (the step net exposes the state itself).")
    return NetGraph({"step": net}, edges)


def _step_of(layer: Layer, where: str) -> tuple[Layer, tuple[str, ...]]:
    """A member's one-step net and the names of its states."""
    if isinstance(layer, _RecurrentLayer):
        if layer.initial_states or layer.final_states:
            raise NetError(f"NetUnfold: {where} ({layer.kind}) already has state ports; unfold the layer made without initial_states/final_states.")
        return _recurrent_step(layer), layer.states
    if isinstance(layer, NetFoldOperator):
        return _fold_step(layer), ("State",)
    if isinstance(layer, NetMapOperator):
        return layer.net, ()
    if isinstance(layer, PER_ELEMENT):
        return _fresh(layer), ()
    raise NetError(
        f"NetUnfold: {where} is a {layer.kind}, which does not read a sequence one element at a time; NetUnfold unfolds recurrent layers, "
        "NetFoldOperator, NetMapOperator and per-element layers (ElementwiseLayer, SoftmaxLayer, DropoutLayer, EmbeddingLayer), in a NetChain."
    )


def NetUnfold(net: Layer) -> NetGraph:  # noqa: N802 (Wolfram's name)
    """The net of one step of the sequence net ``net``, exposing its recurrent states.

    A final SequenceLastLayer is dropped (the step's output is the last element's). The
    result takes "Input" (one element) and the states before the step; it returns "Output"
    and the states after the step, with ``net``'s arrays.

    >>> rnn = NetInitialize(GatedRecurrentLayer(3, input=("Varying", 2)), random_seeding=0)
    >>> step = NetUnfold(rnn)
    >>> step.input_ports(), step.output_ports()
    (('Input', 'InitialState'), ('Output', 'State'))
    >>> x = np.ones((4, 2), np.float32)
    >>> state = np.zeros(3, np.float32)
    >>> for element in x:
    ...     state = step({"Input": element, "InitialState": state})["State"]
    >>> bool(np.allclose(state, rnn(x)[-1], atol=1e-6))
    True
    """
    if not isinstance(net, Layer):
        raise NetError(f"NetUnfold: expected a net, not {type(net).__name__}.")
    members = list(net.layers.items()) if isinstance(net, NetChain) else [("0", net)]
    if len(members) > 1 and isinstance(members[-1][1], SequenceLastLayer):
        members = members[:-1]
    steps: dict[str, Layer] = {}
    states: list[tuple[str, str]] = []  # (member key, state)
    for key, member in members:
        steps[key], names = _step_of(member, f"{net.kind}/{key}" if isinstance(net, NetChain) else "the net")
        states += [(key, name) for name in names]
    recurrent_members = {key for key, _ in states}
    if not recurrent_members:
        raise NetError(f"NetUnfold: the {net.kind} has no recurrent layer or NetFoldOperator, so it has no state to carry; evaluate it directly.")
    suffix = (lambda key: key) if len(recurrent_members) > 1 else (lambda key: "")  # noqa: E731
    keys = list(steps)
    edges: list[Any] = [(NetPort("Input"), NetPort(keys[0], "Input")), (NetPort(keys[-1], "Output"), NetPort("Output"))]
    edges += [(NetPort(a, "Output"), NetPort(b, "Input")) for a, b in zip(keys, keys[1:])]
    for key, state in states:
        edges += [(NetPort(f"Initial{state}{suffix(key)}"), NetPort(key, f"Initial{state}")), (NetPort(key, state), NetPort(f"{state}{suffix(key)}"))]
    steps = {key: _with_port_names(step) for key, step in steps.items()}
    sequence = net.types[net.input_ports()[0]]  # type: ignore[index]
    element = sequence if sequence.dims is None else dataclasses.replace(sequence, dims=sequence.dims[1:])
    return NetGraph(steps, edges, ports={"Input": element})


def _with_port_names(step: Layer) -> Layer:
    """Per-element layers and mapped nets take "Input" and return "Output" (a graph's ports)."""
    if step.input_ports() == ("Input",) and step.output_ports() == ("Output",):
        return step
    if isinstance(step, NetGraph) and "Input" in step.input_ports():
        return step
    return NetChain([step])


def state_pairs(step: Layer) -> list[tuple[str, str]]:
    """The (input, output) port pairs of a one-step net's states: "InitialX" → "X"."""
    outputs = step.output_ports()
    return [(port, port[len("Initial"):]) for port in step.input_ports() if port.startswith("Initial") and port[len("Initial"):] in outputs]


class NetStateObject:
    """A sequence net that keeps its recurrent states between calls (Wolfram's NetStateObject).

    ``NetStateObject(net)`` unfolds ``net`` (see :func:`NetUnfold`); calling it on a sequence
    runs the net over it one element at a time, starting from the states the previous call
    left, and returns what ``net`` returns for the sequence. ``seed`` gives the starting states
    (by the one-step net's state names, "State", "CellState" …; zeros otherwise); ``states``
    holds the current ones and ``reset()`` goes back to the seed.

    >>> rnn = NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2)), random_seeding=0)
    >>> x = np.random.default_rng(0).random((5, 2)).astype(np.float32)
    >>> stateful = NetStateObject(rnn)
    >>> first, rest = stateful(x[:2]), stateful(x[2:])
    >>> bool(np.allclose(np.concatenate([first, rest]), rnn(x), atol=1e-6))
    True
    """

    def __init__(self, net: Layer, seed: Mapping[str, Any] | None = None) -> None:
        check_initialized(net)
        self.net = net
        self.step = NetUnfold(net)
        self.pairs = state_pairs(self.step)
        self._module = compiled(self.step)
        names = [state for _, state in self.pairs]
        self._seed: dict[str, torch.Tensor] = {}
        for name, value in (seed or {}).items():
            if name not in names:
                raise NetError(f'NetStateObject: the seed names the state "{name}", but the net\'s states are {", ".join(names)}.')
            shape = self.step.types[name].dims  # type: ignore[index]
            tensor = torch.as_tensor(np.asarray(value, dtype=np.float32))
            if tuple(tensor.shape) != tuple(shape):
                raise NetError(f'NetStateObject: the seed of "{name}" has shape {tuple(tensor.shape)} but the state has shape {tuple(shape)}; give a vector of that size.')
            self._seed[name] = tensor
        self.reset()

    def reset(self) -> None:
        """Back to the seed states (zeros where none was given)."""
        self._states = {state: self._seed.get(state, torch.zeros(self.step.types[state].dims)) for _, state in self.pairs}  # type: ignore[index]

    @property
    def states(self) -> dict[str, np.ndarray]:
        """The current states, by name (Wolfram's ``NetExtract[obj, "States"]``)."""
        return {name: value.numpy().copy() for name, value in self._states.items()}

    def __call__(self, sequence: Any) -> np.ndarray:
        element = self.step.types["Input"]  # type: ignore[index]
        dtype = torch.int64 if element.element == "Integer" else torch.float32
        x = torch.as_tensor(np.asarray(sequence), dtype=dtype)
        if x.dim() != (element.rank or 0) + 1 or len(x) == 0:
            raise NetError(f"NetStateObject: expected a non-empty sequence of elements of shape {element.shape_str()}, but received an array of shape {tuple(x.shape)}.")
        ports = self.step.input_ports()
        outputs = []
        with torch.inference_mode():
            for value in x:
                given = {"Input": value.unsqueeze(0), **{initial: self._states[state].unsqueeze(0) for initial, state in self.pairs}}
                results = self._module(*[given[p] for p in ports])
                results = dict(zip(self.step.output_ports(), results if isinstance(results, tuple) else (results,)))
                self._states = {state: results[state][0] for _, state in self.pairs}
                outputs.append(results["Output"][0])
        output = torch.stack(outputs)
        # a net ending in SequenceLastLayer returns the last element's output only
        last = isinstance(self.net, NetChain) and isinstance(list(self.net.layers.values())[-1], SequenceLastLayer)
        return (output[-1] if last else output).numpy()

    def __repr__(self) -> str:
        return f"NetStateObject[{self.net.kind}, states: {', '.join(s for _, s in self.pairs)}]"


__all__ = ["NetStateObject", "NetUnfold", "state_pairs"]
