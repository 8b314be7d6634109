"""From a net to a torch module: flattening, compilation and the per-net module cache.

A net is compiled once per (device, precision, input shapes) into a :class:`CompiledNet`: the
nested containers are flattened into a list of steps over numbered wires, each step a leaf
layer holding its arrays as ``nn.Parameter``s. The compiled module is cached on the (immutable)
net, so calling a net twice does not rebuild it.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .containers.base import key_text
from .containers.tree import is_container, leaves
from .devices import device_name as _device
from .errors import InitializationError
from .layers.base import Layer
from .prepare import dtype_of, precision_of
from .symbols import All, Automatic


# -- flattening -------------------------------------------------------------------------------
@dataclass
class Plan:
    """A net flattened into steps over numbered wires."""

    leaves: list[tuple[tuple[str, ...], Layer]] = field(default_factory=list)
    steps: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    port_wires: dict[tuple[tuple[str, ...], str], int] = field(default_factory=dict)
    wire_count: int = 0
    #: operators (NetMapOperator …): leaf index -> the plan of each member net, by member key
    members: dict[int, dict[str, Plan]] = field(default_factory=dict)

    def new_wire(self) -> int:
        self.wire_count += 1
        return self.wire_count - 1


def _flatten(layer: Layer, path: tuple[str, ...], in_wires: dict[str, int], plan: Plan) -> dict[str, int]:
    for port, wire in in_wires.items():
        plan.port_wires[(path, port)] = wire
    if is_container(layer) and getattr(layer, "runs_members", False):
        # An operator (NetMapOperator, NetFoldOperator …) runs its member nets itself, over
        # reshaped batches or step by step: it is one step, and each member a plan of its own
        # whose leaves join the net's leaves (so their arrays are trained and extracted as usual).
        members = {}
        for key, member in layer.layers.items():
            sub = Plan(leaves=plan.leaves, members=plan.members)
            sub.inputs = {p: sub.new_wire() for p in member.input_ports()}
            sub.outputs = _flatten(member, (*path, key), dict(sub.inputs), sub)
            members[key] = sub
        outs = {p: plan.new_wire() for p in layer.output_ports()}
        plan.members[len(plan.leaves)] = members
        plan.steps.append((len(plan.leaves), tuple(in_wires[p] for p in layer.input_ports()), tuple(outs[p] for p in layer.output_ports())))
        plan.leaves.append((path, layer))
    elif is_container(layer):
        wires: dict[tuple[str | None, str], int] = {(None, p): w for p, w in in_wires.items()}
        source_of = {destination: source for source, destination in layer.connections}  # type: ignore[attr-defined]
        for key in layer.order():
            member = layer.layers[key]
            member_in = {p: wires[source_of[(key, p)]] for p in member.input_ports()}
            for p, w in _flatten(member, (*path, key), member_in, plan).items():
                wires[(key, p)] = w
        outs = {p: wires[source_of[(None, p)]] for p in layer.output_ports()}
    else:
        outs = {p: plan.new_wire() for p in layer.output_ports()}
        plan.steps.append((len(plan.leaves), tuple(in_wires[p] for p in layer.input_ports()), tuple(outs[p] for p in layer.output_ports())))
        plan.leaves.append((path, layer))
    for port, wire in outs.items():
        plan.port_wires[(path, port)] = wire
    return outs


def flatten_net(net: Layer) -> Plan:
    plan = Plan()
    plan.inputs = {p: plan.new_wire() for p in net.input_ports()}
    plan.outputs = _flatten(net, (), dict(plan.inputs), plan)
    return plan


# -- torch modules ----------------------------------------------------------------------------
class LeafModule(nn.Module):
    """One leaf layer: its arrays as parameters (or buffers, for state arrays)."""

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        self.layer = layer
        self.names = layer.array_names()
        state = set(layer.state_array_names())
        for name in self.names:
            tensor = layer.arrays[name]  # a copy of the layer's array: the module may change it
            if name in state:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))

    def forward(self, *inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        arrays = {name: getattr(self, name) for name in self.names}
        if self.layer.uses_lengths:
            return self.layer.forward(arrays, *inputs, training=self.training, lengths=lengths)
        return self.layer.forward(arrays, *inputs, training=self.training)

    def extra_repr(self) -> str:
        return self.layer.kind


class CompiledNet(nn.Module):
    """A flattened net as a torch module: ``forward(*inputs)`` returns the outputs in port order;
    ``run(inputs, wires, lengths)`` returns the values of any wires (the public fast path)."""

    def __init__(self, net: Layer, plan: Plan | None = None) -> None:
        super().__init__()
        self.net = net
        self.plan = plan or flatten_net(net)
        self.leaves = nn.ModuleList(LeafModule(layer) for _, layer in self.plan.leaves)
        # Leaves are called through .forward: nn.Module.__call__'s hook machinery costs a few
        # microseconds per layer, which is most of the overhead of evaluating one example.
        self._module_calls = False
        self._layers = [self.plan.leaves[i][1] for i, _, _ in self.plan.steps]
        self._build_steps()
        self.input_wires = tuple(self.plan.inputs[p] for p in net.input_ports())
        self.output_wires = tuple(self.plan.outputs[p] for p in net.output_ports())
        self.channels_last = False
        self._single_chain = all(len(ins) == 1 and len(outs) == 1 for _, ins, outs in self.plan.steps) and len(self.input_wires) == 1 and len(self.output_wires) == 1 and self._is_linear()
        # In a single chain, wire -> how many steps compute it (the input wire: none).
        self._chain_depth = {self.input_wires[0]: 0, **{outs[0]: i + 1 for i, (_, _, outs) in enumerate(self._steps)}} if self._single_chain else {}
        self._uses_lengths = any(layer.uses_lengths for layer in self._layers)
        self._released = _last_reads(self.plan.steps)

    def _build_steps(self) -> None:
        self._steps = [(self._step_function(i), ins, outs) for i, ins, outs in self.plan.steps]
        self._graph_steps = [(function, ins, outs, layer) for (function, ins, outs), layer in zip(self._steps, self._layers)]

    def call_leaves_as_modules(self, on: bool = True) -> None:
        """Call each leaf as a module (``leaf(...)``, so its hooks run) instead of through ``.forward`` (``on=False``
        goes back): what FSDP2 needs when it shards each leaf on its own (its hooks gather a leaf's arrays just before
        the leaf runs)."""
        if on != self._module_calls:
            self._module_calls = on
            self._build_steps()

    def _step_function(self, index: int) -> Any:
        """What computes step ``index``: its leaf's forward, or for an operator, its
        ``run_members(runners, *inputs, lengths=…)`` with a runner per member net."""
        members = self.plan.members.get(index)
        if members is None:
            return self.leaves[index] if self._module_calls else self.leaves[index].forward
        runners = {key: self._member_runner(sub) for key, sub in members.items()}
        return functools.partial(self.plan.leaves[index][1].run_members, runners)  # type: ignore[attr-defined]

    def _member_runner(self, sub: Plan) -> Any:
        """A function running a member's plan: ``run(*inputs, lengths=None) -> outputs``. The
        lengths are those of the member's inputs; they follow the member's wires as in
        :meth:`run` (a layer that shortens its sequence passes shorter lengths on)."""
        steps = [(self._step_function(i), ins, outs, self.plan.leaves[i][1]) for i, ins, outs in sub.steps]
        in_wires, out_wires = list(sub.inputs.values()), list(sub.outputs.values())
        released, keep = _last_reads(sub.steps), frozenset(out_wires)

        def run(*inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
            values: list[Any] = [None] * sub.wire_count
            wire_lengths: list[torch.Tensor | None] | None = None
            if lengths is not None:
                wire_lengths = [None] * sub.wire_count
                for wire in in_wires:
                    wire_lengths[wire] = lengths
            for wire, x in zip(in_wires, inputs):
                values[wire] = x
            self._walk(steps, released, keep, values, wire_lengths, inputs[0].shape[0] if inputs else 1)
            return [values[w] for w in out_wires]

        return run

    def _is_linear(self) -> bool:
        wire = self.input_wires[0] if self.input_wires else -1
        for _, ins, outs in self.plan.steps:
            if ins != (wire,):
                return False
            wire = outs[0]
        return wire == self.output_wires[0]

    def forward(self, *inputs: torch.Tensor) -> Any:
        if self._single_chain:
            x = inputs[0]
            for module, _, _ in self._steps:
                x = module(x)
            return x
        values = self.run(inputs, self.output_wires)
        return values[0] if len(values) == 1 else tuple(values)

    def run(self, inputs: Sequence[torch.Tensor], wires: Sequence[int], lengths: Sequence[torch.Tensor | None] | None = None) -> list[torch.Tensor]:
        """The values of ``wires`` (numbers from ``plan``) for a batch of ``inputs`` (in input
        port order). ``lengths``, one per input (None for an input without a varying axis), gives
        each example's length when a batch of sequences is padded with zeros; the layers that
        use lengths receive them (see :meth:`wire_lengths` for the lengths of the results)."""
        has_lengths = lengths is not None and any(x is not None for x in lengths)
        if self._single_chain and not (has_lengths and self._uses_lengths) and tuple(wires) == self.output_wires:
            x = inputs[0]
            for module, _, _ in self._steps:
                x = module(x)
            return [x]
        if self._single_chain and not (has_lengths and self._uses_lengths) and all(w in self._chain_depth for w in wires):
            # A chain: run the steps up to the deepest wanted wire, keeping only what is asked.
            depths = [self._chain_depth[w] for w in wires]
            deepest = max(depths) if depths else 0  # not max(default=): Dynamo may not trace it (symnet.train.compiled)
            x = inputs[0]
            kept = {0: x}
            for depth, (module, _, _) in enumerate(self._steps[:deepest], start=1):
                x = module(x)
                kept[depth] = x
            return [kept[d] for d in depths]
        values: list[Any] = [None] * self.plan.wire_count
        for wire, x in zip(self.input_wires, inputs):
            values[wire] = x
        wire_lengths = self._input_lengths(lengths) if has_lengths else None
        self._walk(self._graph_steps, self._released, set(wires), values, wire_lengths, inputs[0].shape[0] if inputs else 1)
        return [values[w] for w in wires]

    def _walk(self, steps: Sequence[tuple[Any, tuple[int, ...], tuple[int, ...], Layer]], released: Sequence[tuple[int, ...]], keep: Set[int],
              values: list[Any], wire_lengths: list[torch.Tensor | None] | None, batch: int) -> None:
        """Compute ``steps`` (function, input wires, output wires, layer) into ``values`` in
        place, for the whole net (:meth:`run`) and for an operator's member net alike: layers that
        use lengths get their input's, lengths follow the wires, and each value is let go after
        its last reader unless it is in ``keep``."""
        for (function, ins, outs, layer), dead in zip(steps, released):
            if not ins:  # a layer with no input (NetArrayLayer): its output is the same for every example
                result = function()
                result = result.unsqueeze(0).expand(batch, *result.shape)
            elif wire_lengths is not None and layer.uses_lengths:
                result = function(*[values[i] for i in ins], lengths=wire_lengths[ins[layer.lengths_input()]])
            else:
                result = function(*[values[i] for i in ins])
            if len(outs) == 1:
                values[outs[0]] = result
            else:
                for wire, value in zip(outs, result):
                    values[wire] = value
            if wire_lengths is not None:
                self._step_lengths(layer, ins, outs, wire_lengths)
            for wire in dead:
                if wire not in keep:
                    values[wire] = None

    def wire_lengths(self, wires: Sequence[int], lengths: Sequence[torch.Tensor | None] | None) -> list[torch.Tensor | None]:
        """Each example's length along the first axis of each of ``wires``, given the inputs'
        ``lengths`` (as for :meth:`run`); None where a wire has no varying axis."""
        return plan_wire_lengths(self.plan, wires, lengths)

    def _input_lengths(self, lengths: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
        wire_lengths: list[torch.Tensor | None] = [None] * self.plan.wire_count
        for wire, length in zip(self.input_wires, lengths):
            wire_lengths[wire] = length
        return wire_lengths

    @staticmethod
    def _step_lengths(layer: Layer, ins: tuple[int, ...], outs: tuple[int, ...], wire_lengths: list[torch.Tensor | None]) -> None:
        """Lengths follow the wires: a layer's outputs get ``output_lengths`` of the lengths of
        its input ``output_lengths_input()`` (the first, for most layers)."""
        incoming = wire_lengths[ins[layer.output_lengths_input()]] if ins else None
        outgoing = layer.output_lengths(incoming) if incoming is not None else None
        for port, wire in zip(layer.output_ports(), outs):
            # only outputs with a varying first axis have lengths (not a recurrent layer's "State")
            dims = layer.types[port].dims if len(outs) > 1 else None  # type: ignore[index]
            wire_lengths[wire] = None if dims is not None and (not dims or dims[0] != "Varying") else outgoing

    def leaf_arrays(self) -> dict[tuple[str, ...], dict[str, torch.Tensor]]:
        """The current arrays of every leaf, by path (detached copies)."""
        return {path: {name: getattr(module, name).detach().clone() for name in module.names} for (path, _), module in zip(self.plan.leaves, self.leaves) if module.names}


def plan_wire_lengths(plan: Plan, wires: Sequence[int], lengths: Sequence[torch.Tensor | None] | None) -> list[torch.Tensor | None]:
    """Each example's length along the first axis of each of ``wires`` (see
    :meth:`CompiledNet.wire_lengths`), from the plan alone: NetTrain checks its targets'
    lengths against the outputs' before anything is compiled."""
    if lengths is None or all(x is None for x in lengths):
        return [None] * len(wires)
    wire_lengths: list[torch.Tensor | None] = [None] * plan.wire_count
    for port, length in zip(plan.inputs, lengths):
        wire_lengths[plan.inputs[port]] = length
    for index, ins, outs in plan.steps:
        CompiledNet._step_lengths(plan.leaves[index][1], ins, outs, wire_lengths)
    return [wire_lengths[w] for w in wires]


def batch_slices(count: int, batch_size: int | None, per_example: int = 1) -> list[slice]:
    """The batches of ``count`` examples: ``batch_size`` each, or (None) as many as fit in about
    a million numbers (at most 1024), so memory stays bounded on big data."""
    if batch_size is None:
        batch_size = max(1, min(count, 2**20 // max(per_example, 1), 1024))
    if count <= batch_size:
        return [slice(0, count)]
    return [slice(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def run_batches(
    module: CompiledNet,
    inputs: Mapping[str, torch.Tensor],
    wires: Sequence[int],
    *,
    lengths: Mapping[str, torch.Tensor] | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    training: bool = False,
    mixed: bool = False,
) -> list[torch.Tensor]:
    """The values of ``wires`` for every example of ``inputs`` (batched tensors by input port),
    computed ``batch_size`` examples at a time on ``device`` without gradients.

    ``lengths`` (by input port) gives each example's length on ports whose batch is padded.
    ``training=True`` evaluates as in training (dropout active, batch statistics) and then
    puts the module's buffers back, so the net does not change. ``mixed=True`` runs under
    bfloat16 autocast (where the device supports it) and returns float32 values.
    """
    ports = module.net.input_ports()
    count = next(iter(inputs.values())).shape[0] if inputs else 1
    per_example = sum(math.prod(t.shape[1:]) for t in inputs.values()) if inputs else 1
    pieces: list[list[torch.Tensor]] = []
    # Evaluating in training mode must not change the net: the moving statistics a batch norm
    # updates are put back afterwards.
    saved = {name: buffer.clone() for name, buffer in module.named_buffers()} if training else {}
    if training:
        module.train(True)
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if mixed else contextlib.nullcontext()
    try:
        with torch.no_grad() if training else torch.inference_mode(), autocast:
            parts = batch_slices(count, batch_size, per_example)
            for part in parts:
                # one batch: the tensors themselves (slicing costs microseconds per call of net(x))
                tensors = [(inputs[p] if len(parts) == 1 else inputs[p][part]).to(device) for p in ports] if inputs else []
                if module.channels_last:
                    tensors = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in tensors]
                part_lengths = [lengths[p][part].to(device) if p in lengths else None for p in ports] if lengths else None
                values = module.run(tensors, wires, part_lengths)
                pieces.append([v.float() if mixed and v.dtype == torch.bfloat16 else v for v in values])
    finally:
        if training:
            module.eval()
            with torch.no_grad():
                for name, buffer in module.named_buffers():
                    buffer.copy_(saved[name])
    if len(pieces) == 1:
        return pieces[0]
    return [torch.cat([piece[i] for piece in pieces]) for i in range(len(wires))]


def _cache(net: Layer) -> dict[Any, Any]:
    """The net's own cache of compiled modules: a declared field of every layer, safe to keep
    because a net cannot change (its arrays are copied on the way in and out)."""
    return net._engine_cache


def cached_module(net: Layer, device: str = "cpu", dtype: torch.dtype = torch.float32) -> CompiledNet:
    """The evaluation module for ``net``: built once per device and precision, then cached on
    the net. Internal: it must never be trained or changed, since the net is immutable."""
    cache = _cache(net)
    key = ("module", device, dtype)
    module = cache.get(key)
    if module is None:
        check_initialized(net)
        module = CompiledNet(net).to(device=device, dtype=dtype).eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        if _has_image_convolutions(module.plan):
            # Channels-last is 1.1–1.6× faster for 2D convolutions on these CPUs (PERFORMANCE.md);
            # inputs are converted per batch in run_batches.
            module = module.to(memory_format=torch.channels_last)
            module.channels_last = True
        cache[key] = module
    return module


def _has_image_convolutions(plan: Plan) -> bool:
    return any(layer.kind in ("ConvolutionLayer", "DeconvolutionLayer", "PoolingLayer") and layer.types["Input"].rank == 3 for _, layer in plan.leaves)  # type: ignore[index]


def compiled(net: Layer, target_device: str = "cpu", working_precision: str = "Real32") -> CompiledNet:
    """A new ``torch.nn.Module`` computing ``net``, with copies of its arrays as parameters:
    train or change it freely, the net stays as it was (its arrays come back with
    ``module.leaf_arrays()``).

    >>> module = compiled(NetInitialize(NetChain([LinearLayer(2)], input=3)))
    >>> module(torch.ones(4, 3)).shape
    torch.Size([4, 2])
    """
    precision = precision_of(working_precision, allow_mixed=False, where="compiled")
    check_initialized(net)
    return CompiledNet(net).to(device=_device(target_device), dtype=dtype_of(precision)).eval()


def _last_reads(steps: Sequence[tuple[int, tuple[int, ...], tuple[int, ...]]]) -> list[tuple[int, ...]]:
    """For each step, the wires it reads for the last time. Running lets go of their values there,
    so an evaluation holds a few activations at a time, not every one (a 6-block transformer's
    elementwise steps ran at half speed on memory that was never reused)."""
    last_read = {wire: index for index, (_, ins, _) in enumerate(steps) for wire in ins}
    return [tuple(w for w in dict.fromkeys(ins) if last_read[w] == index) for index, (_, ins, _) in enumerate(steps)]


def uninitialized_layers(net: Layer) -> list[tuple[tuple[str, ...], Layer]]:
    return [(path, leaf) for path, leaf in leaves(net) if not leaf.initialized]


def path_text(net: Layer, path: tuple[str, ...]) -> str:
    return "/".join([net.kind, *(key_text(k) for k in path)])


def check_initialized(net: Layer) -> None:
    missing = uninitialized_layers(net)
    if missing:
        path, layer = missing[0]
        arrays = ", ".join(layer.arrays.missing())  # type: ignore[attr-defined]
        more = f" (and {len(missing) - 1} more layers)" if len(missing) > 1 else ""
        raise InitializationError(
            f"{path_text(net, path)} ({layer.kind}) is not initialized: its arrays {arrays} have no values{more}. "
            "Call NetInitialize(net) first, or train the net with NetTrain."
        )


__all__ = ["All", "Automatic", "CompiledNet", "batch_slices", "plan_wire_lengths", "cached_module", "compiled", "flatten_net", "run_batches"]
