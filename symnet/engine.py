"""From a net to a torch module: flattening, compilation and the per-net module cache.

A net is compiled once per (device, precision, input shapes) into a :class:`CompiledNet`: the
nested containers are flattened into a list of steps over numbered wires, each step a leaf
layer holding its arrays as ``nn.Parameter``s. The compiled module is cached on the (immutable)
net, so calling a net twice does not rebuild it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .containers.base import key_text
from .containers.tree import is_container, leaves
from .errors import InitializationError, NetError, closest
from .layers.base import Layer
from .symbols import All, Automatic

PRECISIONS = {"Real32": torch.float32, "Real64": torch.float64}


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

    def new_wire(self) -> int:
        self.wire_count += 1
        return self.wire_count - 1


def _flatten(layer: Layer, path: tuple[str, ...], in_wires: dict[str, int], plan: Plan) -> dict[str, int]:
    for port, wire in in_wires.items():
        plan.port_wires[(path, port)] = wire
    if is_container(layer):
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

    def forward(self, *inputs: torch.Tensor) -> Any:
        arrays = {name: getattr(self, name) for name in self.names}
        return self.layer.forward(arrays, *inputs, training=self.training)

    def extra_repr(self) -> str:
        return self.layer.kind


class CompiledNet(nn.Module):
    """A flattened net as a torch module: ``forward(*inputs)`` returns the outputs in port order."""

    def __init__(self, net: Layer, plan: Plan | None = None) -> None:
        super().__init__()
        self.net = net
        self.plan = plan or flatten_net(net)
        self.leaves = nn.ModuleList(LeafModule(layer) for _, layer in self.plan.leaves)
        # Leaves are called through .forward: nn.Module.__call__'s hook machinery costs a few
        # microseconds per layer, which is most of the overhead of evaluating one example.
        self._steps = [(self.leaves[i].forward, ins, outs) for i, ins, outs in self.plan.steps]
        self.input_wires = tuple(self.plan.inputs[p] for p in net.input_ports())
        self.output_wires = tuple(self.plan.outputs[p] for p in net.output_ports())
        self.channels_last = False
        self._single_chain = all(len(ins) == 1 and len(outs) == 1 for _, ins, outs in self.plan.steps) and len(self.input_wires) == 1 and len(self.output_wires) == 1 and self._is_linear()

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

    def run(self, inputs: Sequence[torch.Tensor], wanted: Sequence[int]) -> list[torch.Tensor]:
        values: list[Any] = [None] * self.plan.wire_count
        for wire, x in zip(self.input_wires, inputs):
            values[wire] = x
        batch = inputs[0].shape[0] if inputs else 1
        for module, ins, outs in self._steps:
            if ins:
                result = module(*[values[i] for i in ins])
            else:  # a layer with no input (NetArrayLayer): its output is the same for every example
                result = module()
                result = result.unsqueeze(0).expand(batch, *result.shape)
            if len(outs) == 1:
                values[outs[0]] = result
            else:
                for wire, value in zip(outs, result):
                    values[wire] = value
        return [values[w] for w in wanted]

    def leaf_arrays(self) -> dict[tuple[str, ...], dict[str, torch.Tensor]]:
        """The current arrays of every leaf, by path (detached copies)."""
        return {path: {name: getattr(module, name).detach().clone() for name in module.names} for (path, _), module in zip(self.plan.leaves, self.leaves) if module.names}


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
            # inputs are converted per batch in _run_batched.
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
    if working_precision not in PRECISIONS:
        raise NetError(f'working_precision="{working_precision}" is not one of "Real32", "Real64".{closest(str(working_precision), PRECISIONS)}')
    check_initialized(net)
    return CompiledNet(net).to(device=_device(target_device), dtype=PRECISIONS[working_precision]).eval()


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


def _device(target_device: Any) -> str:
    name = str(target_device).lower()
    if name in ("gpu", "cuda"):
        name = "cuda"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise NetError(f'target_device="{target_device}": no CUDA device is available on this machine; use "cpu".')
    if name != "cpu" and not name.startswith("cuda"):
        raise NetError(f'target_device={target_device!r} is not a device: use "cpu" or "cuda".')
    return name


__all__ = ["All", "Automatic", "CompiledNet", "cached_module", "compiled", "flatten_net"]
