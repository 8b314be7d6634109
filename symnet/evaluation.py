"""Evaluation: ``net(x)`` on one example or a batch, NetPort and NetPortGradient requests.

Data goes through the input ports' encoders (or straight in when it is already numeric), is
checked against the ports' types, runs in batches through the net's cached module (see
:mod:`symnet.engine`) and comes back through the output ports' decoders.

Coders: an encoder on an input port is any object with ``port_type`` (a TensorType) and
``encode(data) -> (tensor with a batch axis, was_batch)``; a decoder on an output port has
``port_type``, ``properties`` (the property names it answers) and
``decode(batch_tensor, property) -> list`` with one result per example.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .containers.base import Container
from .engine import PRECISIONS, Automatic, CompiledNet, Plan, _cache, _device, cached_module, path_text
from .errors import InputError, NetError, closest
from .layers.base import Layer
from .ports import NetPort, NetPortGradient
from .types import TensorType


def _is_numeric(data: Any) -> bool:
    if isinstance(data, np.ndarray | torch.Tensor):
        return data.dtype != object
    if isinstance(data, int | float | np.number) and not isinstance(data, bool):
        return True
    if isinstance(data, list | tuple) and data:
        return _is_numeric(data[0])
    return False


def _as_tensor(data: Any, where: str) -> torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data
    try:
        array = np.asarray(data)
    except ValueError:
        raise InputError(f"{where}: the data is a ragged list (examples of different shapes); every example must have the same shape.") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{where}: expected numbers but received data of type {array.dtype} ({type(data).__name__}).")
    return torch.from_numpy(array) if array.flags.writeable else torch.from_numpy(array.copy())


def _shape_text(dims: Sequence[Any]) -> str:
    return str(TensorType(tuple(d if d is not None else None for d in dims))) if dims else "()"


def prepare_input(net: Layer, port: str, data: Any, dtype: torch.dtype, coder: Any) -> tuple[torch.Tensor, bool]:
    """One port's data as a batched tensor of the net's precision, and whether it was a batch."""
    where = f"{net.kind}/{port}"
    expected = net.types[port]  # type: ignore[index]
    if coder is not None and hasattr(coder, "encode") and not _matches_numeric(data, expected):
        tensor, batched = coder.encode(data)
        tensor = torch.as_tensor(tensor)
        return (tensor.to(dtype) if tensor.is_floating_point() else tensor), batched
    tensor = _as_tensor(data, where)
    rank = expected.rank
    if rank is None:
        batched = False
    elif tensor.dim() == rank:
        batched = False
    elif tensor.dim() == rank + 1:
        batched = True
    else:
        raise InputError(
            f"{where}: expected one example of shape {expected.shape_str()} or a batch of shape (batch, {expected.shape_str()[1:-1].rstrip(',')}) "
            f"but received an array of shape {tuple(tensor.shape)}."
        )
    if not batched:
        tensor = tensor.unsqueeze(0)
    if expected.dims is not None:
        actual = tuple(tensor.shape[1:])
        for want, got in zip(expected.dims, actual):
            if isinstance(want, int) and want != got:
                raise InputError(f"{where}: expected {'examples' if batched else 'an example'} of shape {expected.shape_str()} but received shape {_shape_text(actual)}.")
    if expected.element == "Integer":
        if tensor.is_floating_point():
            if not torch.equal(tensor, tensor.round()):
                raise InputError(f"{where}: expected integers but received non-integer values.")
        tensor = tensor.to(torch.int64)
        if expected.bound is not None and tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= expected.bound):
            raise InputError(f"{where}: expected integers in 0 … {expected.bound - 1} but received values from {int(tensor.min())} to {int(tensor.max())}.")
    elif tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return tensor, batched


def _matches_numeric(data: Any, expected: TensorType) -> bool:
    """Whether data is already the numeric form of a coded port (so it bypasses the encoder)."""
    if not _is_numeric(data):
        return False
    if isinstance(data, np.ndarray | torch.Tensor) and data.dtype in (np.uint8, torch.uint8):
        return False
    if expected.bound is not None:
        # A class-index port's encoder maps labels, which may themselves be numbers.
        return False
    shape = tuple(np.shape(data)) if not isinstance(data, torch.Tensor) else tuple(data.shape)
    if expected.dims is None:
        return True
    dims = expected.dims
    for candidate in (shape, shape[1:]):
        if len(candidate) == len(dims) and all(not isinstance(d, int) or d == s for d, s in zip(dims, candidate)):
            return True
    return False


def _resolve_path(net: Layer, path: Sequence[Any], what: str) -> tuple[tuple[str, ...], Layer, str | None]:
    """Walk a NetPort path: member specs, then optionally a port or array name."""
    keys: list[str] = []
    layer = net
    items = list(path)
    while items:
        item = items[0]
        if isinstance(layer, Container):
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


def _split_inputs(net: Layer, data: Any) -> dict[str, Any]:
    inputs = net.input_ports()
    if not inputs:
        return {}
    if isinstance(data, Mapping) and set(data) <= set(inputs) and data:
        missing = [p for p in inputs if p not in data]
        if missing:
            raise InputError(f"{net.kind}: no data for the input port{'s' if len(missing) > 1 else ''} {', '.join(missing)}.")
        return dict(data)
    if len(inputs) == 1:
        if isinstance(data, Mapping):
            unknown = next(iter(data), None)
            raise InputError(f'{net.kind} has no input port "{unknown}"; its input is "{inputs[0]}".{closest(str(unknown), inputs)}')
        return {inputs[0]: data}
    if isinstance(data, list | tuple) and len(data) == len(inputs):
        return dict(zip(inputs, data))
    raise InputError(f"{net.kind} has the inputs {', '.join(inputs)}: give a dict mapping each port name to its data.")


def _refined_for_data(net: Layer, tensors: dict[str, torch.Tensor]) -> Layer:
    """Where an input's shape is not fully known, infer the net for the data's shape."""
    updates = {}
    for port, tensor in tensors.items():
        t = net.types[port]  # type: ignore[index]
        if not t.fixed:
            updates[port] = TensorType(tuple(tensor.shape[1:]), t.element, t.bound)
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


def _to_python(tensor: torch.Tensor, single: bool) -> Any:
    array = np.ascontiguousarray(tensor.detach().to("cpu").numpy())  # channels-last results come back in C order
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
    target_device: str = "cpu",
    working_precision: str = "Real32",
    evaluation_mode: str = "Test",
) -> Any:
    """Evaluate ``net`` on one example or a batch; see :meth:`Layer.__call__`.

    ``evaluation_mode="Train"`` (Wolfram's ``NetEvaluationMode``) evaluates as in training:
    dropout is active and batch normalization uses the batch's statistics.
    """
    if evaluation_mode not in ("Test", "Train"):
        raise NetError(f'evaluation_mode="{evaluation_mode}" is not one of "Test", "Train".{closest(str(evaluation_mode), ("Test", "Train"))}')
    if working_precision not in PRECISIONS:
        raise NetError(f'working_precision="{working_precision}" is not one of "Real32", "Real64".{closest(str(working_precision), PRECISIONS)}')
    dtype = PRECISIONS[working_precision]
    device = _device(target_device)
    if net.variadic and isinstance(data, list | tuple) and len(data) > 1 and len(data) != len(net.input_ports()) and not isinstance(net.input, list):
        # ThreadingLayer("Plus")([a, b, c]): a list gives one input per port, however many.
        net = _with_arity(net, len(data))
    cache = _cache(net)
    coders = cache.get("coders")
    if coders is None:
        coders = cache["coders"] = net.coders()
    tensors: dict[str, torch.Tensor] = {}
    single = True
    for name, value in _split_inputs(net, data).items():
        tensor, batched = prepare_input(net, name, value, dtype, coders.get(name))
        tensors[name] = tensor
        single = single and not batched
    sizes = {t.shape[0] for t in tensors.values()}
    if len(sizes) > 1:
        unknown = [p for p in tensors if net.types[p].rank is None]  # type: ignore[index]
        hint = f" The port {', '.join(unknown)} has no known shape, so its data was read as one example; give it a shape (e.g. ports={{{unknown[0]!r}: 2}} or input=…)." if unknown else ""
        raise InputError(f"{net.kind}: the inputs have different batch sizes {sorted(sizes)}.{hint}")
    runnable = _refined_for_data(net, tensors)
    module = cached_module(runnable, device, dtype)

    requests = port if isinstance(port, list) else [port]
    results = []
    for request in requests:
        results.append(_answer(net, runnable, module, tensors, request, coders, single, batch_size, device, evaluation_mode == "Train"))
    return results if isinstance(port, list) else results[0]


def _batches(tensors: dict[str, torch.Tensor], batch_size: int | None) -> list[dict[str, torch.Tensor]]:
    count = next(iter(tensors.values())).shape[0] if tensors else 1
    if batch_size is None:
        per_example = sum(math.prod(t.shape[1:]) for t in tensors.values()) if tensors else 1
        batch_size = max(1, min(count, 2**20 // max(per_example, 1), 1024))
    if count <= batch_size:
        return [tensors]
    return [{p: t[i : i + batch_size] for p, t in tensors.items()} for i in range(0, count, batch_size)]


def _run_batched(module: CompiledNet, tensors: dict[str, torch.Tensor], wanted: Sequence[int], batch_size: int | None, device: str, training: bool = False) -> list[torch.Tensor]:
    ports = module.net.input_ports()
    pieces: list[list[torch.Tensor]] = []
    # Evaluating in training mode (dropout active, batch statistics) must not change the net:
    # the moving statistics a batch norm updates are put back afterwards.
    saved = {name: buffer.clone() for name, buffer in module.named_buffers()} if training else {}
    if training:
        module.train(True)
    try:
        with torch.no_grad() if training else torch.inference_mode():
            for chunk in _batches(tensors, batch_size):
                inputs = [chunk[p].to(device) for p in ports]
                if module.channels_last:
                    inputs = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in inputs]
                if module._single_chain and list(wanted) == list(module.output_wires):
                    pieces.append([module(*inputs)])
                else:
                    pieces.append(module.run(inputs, wanted))
    finally:
        if training:
            module.eval()
            with torch.no_grad():
                for name, buffer in module.named_buffers():
                    buffer.copy_(saved[name])
    if len(pieces) == 1:
        return pieces[0]
    return [torch.cat([piece[i] for piece in pieces]) for i in range(len(wanted))]


def _answer(net: Layer, runnable: Layer, module: CompiledNet, tensors: dict[str, torch.Tensor], request: Any, coders: dict[str, Any], single: bool, batch_size: int | None, device: str, training: bool) -> Any:
    outputs = net.output_ports()
    if isinstance(request, NetPortGradient):
        return _gradient(net, module, tensors, request, single, device)
    if isinstance(request, NetPort):
        wire = _wire_for(runnable, module.plan, request)
        (value,) = _run_batched(module, tensors, [wire], batch_size, device, training)
        return _to_python(value, single)
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
    values = _run_batched(module, tensors, [module.plan.outputs[p] for p in ports], batch_size, device, training)
    answers = {}
    for p, value in zip(ports, values):
        decoder = coders.get(p)
        if request is not None and hasattr(decoder, "decode"):
            decoded = decoder.decode(value.detach().to("cpu"), decode_property)
            answers[p] = decoded[0] if single else decoded
        else:
            answers[p] = _to_python(value, single)
    return answers[ports[0]] if len(ports) == 1 else answers


def _gradient(net: Layer, module: CompiledNet, tensors: dict[str, torch.Tensor], request: NetPortGradient, single: bool, device: str) -> Any:
    inputs = {p: t.to(device).detach().clone().requires_grad_(t.is_floating_point()) for p, t in tensors.items()}
    path = request.path
    of_input = len(path) == 1 and path[0] in inputs
    if of_input:
        target = inputs[path[0]]
        if not target.requires_grad:
            raise NetError(f'NetPortGradient("{path[0]}"): the port takes integers, which have no gradient.')
    else:
        keys, layer, name = _resolve_path(net, path, repr(request))
        if name not in layer.array_names():
            raise NetError(f"{request!r}: name an input port of the net ({', '.join(net.input_ports())}) or an array of a layer, such as NetPortGradient([layer, \"Weights\"]).")
        index = next(i for i, (p, _) in enumerate(module.plan.leaves) if p == keys)
        target = getattr(module.leaves[index], name)
    # The cached module's arrays do not require gradients; this one does, for this call only.
    frozen = not target.requires_grad
    target.requires_grad_(True)
    try:
        with torch.enable_grad():
            outputs = module.run([inputs[p] for p in net.input_ports()], module.output_wires)
            total = sum(o.sum() for o in outputs if o.is_floating_point())
            (grad,) = torch.autograd.grad(total, [target], allow_unused=True)
    finally:
        if frozen:
            target.requires_grad_(False)
    if grad is None:
        grad = torch.zeros_like(target)
    return _to_python(grad, single) if of_input else grad.detach().cpu().numpy()
