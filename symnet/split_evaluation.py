"""Evaluation on several processes: ``net(x, target_device=("cpu", n))``, NetPortGradient and NetMeasurements split a batch.

:func:`split_batches` cuts the prepared batch (already encoded, padded, on the CPU) into n
contiguous shares (:func:`symnet.workers.shares`: no example twice, none padded, rank 0's first)
and computes them on n processes, the workers NetTrain launches too
(:func:`symnet.workers.launched`): this process computes share 0 with the net's cached module,
each worker rebuilds the net from its native file content and computes its own share, batch by
batch, and rank 0 gathers the values over gloo in rank order, so they come back in the order of
the examples. ``("cuda", n)`` and ``("cuda", "All")`` take the same path, each process on its own
GPU (``Placement.device_for(rank)``); the values are gathered on the host over gloo whatever the
devices, since NCCL would move them through the GPUs for nothing.

When it pays: starting the workers costs seconds (a fresh interpreter imports torch and symnet),
and CPU processes split the same cores that one process already uses as threads. Measured by
``bench/bench_distributed.py --evaluation 10000`` on 2 cores shared with other work: the
notebook CNN on 10,000 Fashion-MNIST images took 6.2 s in one process and 14.3 s on
``("cpu", 2)``, of which about 9 s is starting the worker and gathering (2 images take that
long); the values were identical. So split a batch over GPUs (each adds its own compute), or
over CPU processes only when one process's threads do not scale and the batch takes much
longer than that start; otherwise one process is faster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.distributed as dist

from .devices import Placement
from .engine import CompiledNet, cached_module, run_batches
from .errors import NetError
from .evaluation import gradient
from .layers.base import Layer
from .workers import ProcessFailed, Session, dumps, exit_for_test, launched, shares


def split_batches(
    placement: Placement,
    net: Layer,
    module: CompiledNet,
    tensors: Mapping[str, torch.Tensor],
    wires: Sequence[int],
    *,
    lengths: Mapping[str, torch.Tensor] | None,
    batch_size: int | None,
    dtype: torch.dtype,
    training: bool = False,
    mixed: bool = False,
    where: str,
) -> list[torch.Tensor]:
    """The values of ``wires`` for every example of ``tensors``, each of ``placement.processes`` processes computing a contiguous share.

    ``net`` is the (refined) net ``module`` was compiled from; ``module`` computes this
    process's share. The values come back on the CPU, in the order of the examples.
    """
    world = placement.processes
    if training:
        raise NetError(f'{where}: evaluation_mode="Train" cannot be split over processes: batch normalization would use each process\'s own batch statistics '
                       "and dropout each process's own masks, so the result would depend on the number of processes.",
                       fix=f'Evaluate with evaluation_mode="Train" on one device (target_device="{placement.kind}").')
    share = _sharing(placement, tensors, lengths, where)
    payloads = [dumps((placement, net, *share(rank), list(wires), batch_size, dtype, mixed), where) for rank in range(1, world)]
    with launched(placement, payloads, _evaluate_share, where=where, backend="gloo") as session:
        mine, mine_lengths = share(0)
        with session.sharing_cores():
            values = run_batches(module, mine, wires, lengths=mine_lengths, batch_size=batch_size, device=session.device, mixed=mixed)
        parts: list[Any] = [None] * world
        try:
            dist.gather_object([value.detach().cpu() for value in values], parts, dst=0)
        except (RuntimeError, dist.DistError) as error:
            raise _failed(session, where, placement, error) from None
    return [torch.cat([part[i] for part in parts]) for i in range(len(wires))]


def _sharing(placement: Placement, tensors: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None,
             where: str) -> Callable[[int], tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]]:
    """Each rank's contiguous share of a prepared batch (and its lengths), after the checks that need no process."""
    world = placement.processes
    spec = f'target_device=("{placement.kind}", {world})'
    count = next(iter(tensors.values())).shape[0] if tensors else 1
    if world > count:
        raise NetError(f"{where}: {spec} splits the examples over {world} processes, but there {'is' if count == 1 else 'are'} only {count} "
                       f"example{'' if count == 1 else 's'}; each process needs at least one.",
                       fix=f'Use ("{placement.kind}", {count}) or fewer processes, or "{placement.kind}" for one: a small batch is fastest in one process.')
    if dist.is_available() and dist.is_initialized():
        raise NetError(f"{where}: {spec} starts processes, but this one already belongs to a distributed run (process {dist.get_rank()} of {dist.get_world_size()}).",
                       fix=f'Evaluate with target_device="{placement.kind}" inside a distributed run: each of its processes can evaluate its own part of the data.')
    bounds = shares(count, world)

    def share(rank: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
        start, stop = bounds[rank]
        part = {port: tensor[start:stop] for port, tensor in tensors.items()}
        return part, ({port: length[start:stop] for port, length in lengths.items()} if lengths else None)

    return share


def split_gradient(placement: Placement, net: Layer, module: CompiledNet, tensors: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None,
                   which: tuple[int, str] | str, *, dtype: torch.dtype, where: str) -> torch.Tensor:
    """NetPortGradient of a batch on ``placement.processes`` processes, each differentiating a contiguous share.

    Each example adds its own part to the summed outputs, so the batch's gradient by an array is
    the sum of the shares' (added in rank order) and its gradient by an input port is their
    concatenation (in the order of the examples). ``which`` is the caller's
    :func:`symnet.evaluation.gradient_target` (so a mistake is named before any process starts);
    every process compiles ``net`` to the same plan, so its leaf index means the same leaf there."""
    world = placement.processes
    share = _sharing(placement, tensors, lengths, where)
    payloads = [dumps((placement, net, *share(rank), which, dtype), where) for rank in range(1, world)]
    with launched(placement, payloads, _differentiate_share, where=where, backend="gloo") as session:
        mine, mine_lengths = share(0)
        with session.sharing_cores():
            value = gradient(net, module, mine, mine_lengths, which, session.device)
        parts: list[Any] = [None] * world
        try:
            dist.gather_object(value, parts, dst=0)
        except (RuntimeError, dist.DistError) as error:
            raise _failed(session, where, placement, error) from None
    if isinstance(which, str):  # an input port: the shares' gradients in the order of the examples
        return torch.cat(parts)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total  # type: ignore[no-any-return]


def _differentiate_share(placement: Placement, net: Layer, tensors: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None,
                         which: tuple[int, str] | str, dtype: torch.dtype) -> None:
    """A worker's part of :func:`split_gradient`: its share's gradient, sent to rank 0."""
    rank = dist.get_rank()
    exit_for_test(rank)
    device = placement.device_for(rank)
    dist.gather_object(gradient(net, cached_module(net, device, dtype), tensors, lengths, which, device), None, dst=0)


def _evaluate_share(placement: Placement, net: Layer, tensors: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None,
                    wires: list[int], batch_size: int | None, dtype: torch.dtype, mixed: bool) -> None:
    """A worker's part: compute its share with the net's module on its device and send the values to rank 0."""
    rank = dist.get_rank()
    exit_for_test(rank)
    device = placement.device_for(rank)
    module = cached_module(net, device, dtype)
    values = run_batches(module, tensors, wires, lengths=lengths, batch_size=batch_size, device=device, mixed=mixed)
    dist.gather_object([value.detach().cpu() for value in values], None, dst=0)


def _failed(session: Session, where: str, placement: Placement, error: BaseException) -> ProcessFailed:
    spec = f'target_device=("{placement.kind}", {placement.processes})'
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    known = session.describe_failure() or "another process stopped answering"
    return ProcessFailed(f"{where}: evaluating with {spec} failed: {known} ({type(error).__name__}: {first[:300]}).",
                         fix=f'See the worker\'s error above; target_device="{placement.kind}" evaluates in this process alone.')


__all__ = ["split_batches", "split_gradient"]
