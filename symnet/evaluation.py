"""Evaluation: ``net(x)`` on one example or a batch, NetPort and NetPortGradient requests.

Data is prepared by the one data path (:mod:`symnet.prepare`: encoders, the bypass rule,
checks, padding of varying-length batches), runs in batches through the net's cached module
(:func:`symnet.engine.run_batches`) and comes back through the output ports' decoders. An output
with a "Varying" axis computed from a padded batch comes back as a list of arrays, each cut to
its example's own length.

Coders: an encoder on an input port is any object with ``port_type`` (a TensorType) and
``encode(data) -> (tensor with a batch axis, was_batch)``; a decoder on an output port has
``port_type``, ``properties`` (the property names it answers) and
``decode(batch_tensor, property) -> list`` with one result per example.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .containers.tree import is_container
from .devices import Placement, evaluation_placement
from .engine import Automatic, CompiledNet, Plan, _cache, cached_module, path_text, run_batches
from .errors import NetError, closest, one_of
from .layers.base import Layer
from .ports import NetPort, NetPortGradient
from .prepare import Prepared, batch_size_of, bf16_supported, dtype_of, precision_of, prepare_inputs
from .types import VARYING, TensorType

#: Runs a prepared batch over several processes when target_device asks for them. The process
#: machinery (symnet.workers) sits above evaluation in the path of data, so symnet/__init__ plugs
#: :func:`symnet.split_evaluation.split_batches` in here, as it attaches ``Layer.__call__``.
split_batches: Callable[..., list[torch.Tensor]] | None = None
#: The same for NetPortGradient: :func:`symnet.split_evaluation.split_gradient`.
split_gradient: Callable[..., torch.Tensor] | None = None


def _resolve_path(net: Layer, path: Sequence[Any], what: str) -> tuple[tuple[str, ...], Layer, str | None]:
    """Walk a NetPort path: member specs, then optionally a port or array name."""
    keys: list[str] = []
    layer = net
    items = list(path)
    while items:
        item = items[0]
        if is_container(layer):
            is_port = isinstance(item, str) and item in (*layer.input_ports(), *layer.output_ports()) and (item not in layer.layers)
            if is_port and len(items) == 1:
                return tuple(keys), layer, item
            spec = int(item) if isinstance(item, str) and item.lstrip("-").isdigit() and item not in layer.layers else item
            keys.append(layer.key_of(spec))
            layer = layer.layers[keys[-1]]
            items.pop(0)
        else:
            if len(items) > 1:
                raise NetError(f"{what}: {path_text(net, tuple(keys))} ({layer.kind}) is a layer, not a container; {items[1]!r} cannot follow {item!r}.")
            return tuple(keys), layer, item
    return tuple(keys), layer, None


def _wire_for(net: Layer, plan: Plan, port: NetPort) -> int:
    keys, layer, name = _resolve_path(net, port.path, repr(port))
    if name is None:
        outputs = layer.output_ports()
        if len(outputs) != 1:
            raise NetError(f"{port!r}: {path_text(net, keys)} has the outputs {', '.join(outputs)}; name one.")
        name = outputs[0]
    ports = (*layer.input_ports(), *layer.output_ports())
    if name not in ports:
        raise NetError(f'{port!r}: {path_text(net, keys)} ({layer.kind}) has no port "{name}"; its ports: {", ".join(ports)}.{closest(str(name), ports)}')
    return plan.port_wires[(keys, name)]


def refined_for_data(net: Layer, tensors: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> Layer:
    """Where an input's shape is not fully known, infer the net for the data's shape."""
    updates = {}
    for port, tensor in tensors.items():
        t = net.types[port]  # type: ignore[index]
        if not t.fixed:
            # A padded batch's "Varying" axis stays varying: its padded length is no example's
            # length, and the layers' output_lengths must still see which outputs carry it.
            padded = lengths is not None and port in lengths
            dims = tuple(VARYING if padded and t.dims is not None and i < len(t.dims) and t.dims[i] == VARYING else n for i, n in enumerate(tensor.shape[1:]))
            if dims != t.dims:
                updates[port] = TensorType(dims, t.element, t.bound)
    if not updates:
        return net
    cache = _cache(net)
    key = ("refined", tuple(sorted((p, u.dims) for p, u in updates.items())))
    refined = cache.get(key)
    if refined is None:
        refined = net.refine(updates, (net.kind,))
        cache[key] = refined
    return refined


def _with_arity(net: Layer, arity: int) -> Layer:
    cache = _cache(net)
    key = ("arity", arity)
    if key not in cache:
        cache[key] = dataclasses.replace(net, arity=arity)
    return cache[key]  # type: ignore[no-any-return]


def _to_python(tensor: torch.Tensor, single: bool, lengths: torch.Tensor | None = None) -> Any:
    array = np.ascontiguousarray(tensor.detach().to("cpu").numpy())  # channels-last results come back in C order
    if lengths is not None:
        # a padded batch of sequences: each example cut back to its own length
        cut = [example[: int(length)] for example, length in zip(array, lengths)]
        return cut[0] if single else cut
    if single:
        array = array[0]
        if array.ndim == 0:
            return array.item()
    return array


def evaluate(
    net: Layer,
    data: Any,
    port: Any = Automatic,
    *,
    batch_size: int | None = None,
    target_device: str | tuple[str, Any] = "cpu",
    working_precision: str = "Real32",
    evaluation_mode: str = "Test",
) -> Any:
    """Evaluate ``net`` on one example or a batch; see :meth:`Layer.__call__`.

    ``evaluation_mode="Train"`` (Wolfram's ``NetEvaluationMode``) evaluates as in training:
    dropout is active and batch normalization uses the batch's statistics.
    ``working_precision="Mixed"`` computes in bfloat16 under autocast where the processor
    supports it (as NetTrain does) and returns float32 results.
    """
    if evaluation_mode != "Test":
        one_of(evaluation_mode, ("Test", "Train"), where=net.kind, option="evaluation_mode")
    precision = precision_of(working_precision, where=net.kind)
    batch_size = batch_size_of(batch_size, net.kind)
    dtype = dtype_of(precision)
    placement = evaluation_placement(target_device, net.kind)
    device = placement.device_for(0)
    mixed = precision == "Mixed" and bf16_supported(device)
    if net.variadic and isinstance(data, list | tuple) and len(data) > 1 and len(data) != len(net.input_ports()) and not isinstance(net.input, list):
        # ThreadingLayer("Plus")([a, b, c]): a list gives one input per port, however many.
        net = _with_arity(net, len(data))
    cache = _cache(net)
    coders = cache.get("coders")
    if coders is None:
        coders = cache["coders"] = net.coders()
    prepared = prepare_inputs(net, data, dtype, coders)
    runnable = refined_for_data(net, prepared.tensors, prepared.lengths)
    module = cached_module(runnable, device, dtype)
    run = _Run(net, runnable, module, prepared, coders, batch_size, placement, evaluation_mode == "Train", mixed, dtype)
    requests = port if isinstance(port, list) else [port]
    results = [run.answer(request) for request in requests]
    return results if isinstance(port, list) else results[0]


class _Run:
    """One evaluation: the prepared inputs and the module that answers each requested port."""

    def __init__(self, net: Layer, runnable: Layer, module: CompiledNet, prepared: Prepared, coders: dict[str, Any], batch_size: int | None,
                 placement: Placement, training: bool, mixed: bool, dtype: torch.dtype) -> None:
        self.net, self.runnable, self.module, self.prepared, self.coders = net, runnable, module, prepared, coders
        self.batch_size, self.placement, self.device, self.training, self.mixed = batch_size, placement, placement.device_for(0), training, mixed
        self.dtype = dtype

    def values(self, wires: list[int]) -> list[torch.Tensor]:
        if self.placement.distributed:
            assert split_batches is not None, "symnet/__init__ plugs in split_batches"
            return split_batches(self.placement, self.runnable, self.module, self.prepared.tensors, wires, lengths=self.prepared.lengths or None,
                                 batch_size=self.batch_size, dtype=self.dtype, training=self.training, mixed=self.mixed, where=self.net.kind)
        return run_batches(self.module, self.prepared.tensors, wires, lengths=self.prepared.lengths or None, batch_size=self.batch_size, device=self.device, training=self.training, mixed=self.mixed)

    def lengths(self, wires: list[int]) -> list[torch.Tensor | None]:
        if not self.prepared.lengths:
            return [None] * len(wires)
        return self.module.wire_lengths(wires, [self.prepared.lengths.get(p) for p in self.net.input_ports()])

    def answer(self, request: Any) -> Any:
        net, module, coders, single = self.net, self.module, self.coders, self.prepared.single
        outputs = net.output_ports()
        if isinstance(request, NetPortGradient):
            prepared = self.prepared
            lengths = dict(prepared.lengths) if prepared.lengths else None
            which = gradient_target(self.runnable, module, prepared.tensors, request)  # a mistake is named before any process starts
            if self.placement.distributed:
                assert split_gradient is not None, "symnet/__init__ plugs in split_gradient"
                grad = split_gradient(self.placement, self.runnable, module, prepared.tensors, lengths, which, dtype=self.dtype, where=net.kind)
            else:
                grad = gradient(net, module, prepared.tensors, lengths, which, self.device)
            if isinstance(which, str):  # an input port's gradient, example by example
                return _to_python(grad, single, prepared.lengths.get(which) if prepared.lengths else None)
            return grad.numpy()
        if isinstance(request, NetPort):
            wire = _wire_for(self.runnable, module.plan, request)
            (value,) = self.values([wire])
            (length,) = self.lengths([wire])
            return _to_python(value, single, length)
        decode_property: Any = Automatic
        if request is Automatic or request is None:
            ports = list(outputs)
        elif isinstance(request, str) and request in outputs:
            ports = [request]
        else:
            decoders = [p for p in outputs if hasattr(coders.get(p), "decode")]
            name = request[0] if isinstance(request, tuple) and request else request
            if decoders and isinstance(name, str) and name in getattr(coders[decoders[0]], "properties", ()):
                ports, decode_property = [decoders[0]], request
            else:
                choices = list(outputs) + [p for d in decoders for p in getattr(coders[d], "properties", ())]
                raise NetError(f"{net.kind}: {request!r} is neither an output port nor a decoder property; choose from {', '.join(map(repr, choices))}.{closest(str(name), [str(c) for c in choices])}")
        wires = [module.plan.outputs[p] for p in ports]
        values = self.values(wires)
        lengths = self.lengths(wires)
        answers = {}
        for p, value, length in zip(ports, values, lengths):
            decoder = coders.get(p)
            if request is not None and hasattr(decoder, "decode"):
                value = value.detach().to("cpu")
                decoded = decoder.decode(value, decode_property) if length is None else [decoder.decode(v[None, : int(n)], decode_property)[0] for v, n in zip(value, length)]
                answers[p] = decoded[0] if single else decoded
            else:
                answers[p] = _to_python(value, single, length)
        return answers[ports[0]] if len(ports) == 1 else answers


def _valid(value: torch.Tensor, length: torch.Tensor | None) -> torch.Tensor:
    """``value`` with the padded positions (past each example's length) set to zero."""
    if length is None:
        return value
    keep = torch.arange(value.shape[1], device=value.device).unsqueeze(0) < length.to(value.device).unsqueeze(1)
    return value * keep.view(*keep.shape, *([1] * (value.dim() - 2))).to(value.dtype)


def gradient_target(net: Layer, module: CompiledNet, tensors: Mapping[str, torch.Tensor], request: NetPortGradient) -> tuple[int, str] | str:
    """What ``request`` differentiates by: an input port's name, or (leaf index, array name); a NetError for anything else."""
    path = request.path
    if len(path) == 1 and path[0] in tensors:
        if not tensors[path[0]].is_floating_point():
            raise NetError(f'NetPortGradient("{path[0]}"): the port takes integers, which have no gradient.')
        return str(path[0])
    keys, layer, name = _resolve_path(net, path, repr(request))
    if name not in layer.array_names():
        raise NetError(f"{request!r}: name an input port of the net ({', '.join(net.input_ports())}) or an array of a layer, such as NetPortGradient([layer, \"Weights\"]).")
    index = next(i for i, (p, _) in enumerate(module.plan.leaves) if p == keys)
    return index, str(name)


def gradient(net: Layer, module: CompiledNet, tensors: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None,
             which: tuple[int, str] | str, device: str) -> torch.Tensor:
    """The gradient of the sum of the net's outputs (padded positions left out) for a batch, on the CPU,
    by ``which`` (:func:`gradient_target`'s answer: an input port, or a leaf's array of ``module``).

    Every example adds its own part (examples do not meet in evaluation mode), so the gradient of a
    batch is the sum of its shares' array gradients, and its input gradient their concatenation."""
    inputs = {p: t.to(device).detach().clone().requires_grad_(t.is_floating_point()) for p, t in tensors.items()}
    port_lengths = [lengths.get(p) for p in net.input_ports()] if lengths else None
    target = inputs[which] if isinstance(which, str) else getattr(module.leaves[which[0]], which[1])
    # The cached module's arrays do not require gradients; this one does, for this call only.
    frozen = not target.requires_grad
    target.requires_grad_(True)
    try:
        with torch.enable_grad():
            outputs = module.run([inputs[p] for p in net.input_ports()], module.output_wires, port_lengths)
            output_lengths = module.wire_lengths(module.output_wires, port_lengths)
            total = sum(_valid(o, n).sum() for o, n in zip(outputs, output_lengths) if o.is_floating_point())
            (grad,) = torch.autograd.grad(total, [target], allow_unused=True)
    finally:
        if frozen:
            target.requires_grad_(False)
    if grad is None:
        grad = torch.zeros_like(target)
    return grad.detach().cpu()
