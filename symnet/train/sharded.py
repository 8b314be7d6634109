"""FullyShardedRunner: ``parallelism="FSDP"``, each process holding 1/n of the arrays, their gradients and the optimizer's state.

torch's FSDP2 (``torch.distributed.fsdp.fully_shard``) shards every array of the compiled net
along its first axis over the ranks. Before the forward pass it all-gathers the arrays, after
the backward pass it reduce-scatters the gradients, so each rank's optimizer (Adam's moments
too) updates only its own shard. Everything else is :class:`DistributedRunner`'s: each rank's
share of the same global batch, the loss weighted by the share, batch statistics over all
ranks; an FSDP run takes the same steps as a DDP run and as one process (within rounding).
It runs on CPUs over gloo (torch 2.13) as well as on GPUs over NCCL.

What it saves, and what not: between steps each rank holds 1/n of the arrays, gradients and
optimizer state (with Adam, 4 numbers per array element become 4/n). While a batch runs, the
whole net's arrays are gathered at once: symnet's compiled net calls its layers' functions, not
per-layer modules, so the net is one FSDP unit (FSDP proper gathers one layer at a time). A net
whose arrays alone do not fit one device does not fit here either; one whose arrays fit but not
with its gradients and optimizer state does.

Not supported yet: training_progress_checkpointing (a checkpoint needs the arrays and the
optimizer's state consolidated from every rank while only rank 0 writes; NetTrain says so
before starting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

from ..errors import NetError
from .arrays import LeafArrays
from .data import Table
from .distributed import DistributedRunner, _Run
from .runner import _fast_optimizer, _parameter_groups


class FullyShardedRunner(DistributedRunner):
    """A DistributedRunner whose net is sharded by FSDP2 instead of replicated by DDP."""

    parallelism = "FullyShardedDataParallel (FSDP2)"

    def __init__(self, net: Any, plan: Any, terms: Any, method: Any, learning_rate: float, multipliers: Any, *args: Any, **kwargs: Any) -> None:
        self._method, self._multipliers = method, multipliers
        super().__init__(net, plan, terms, method, learning_rate, multipliers, *args, **kwargs)

    def wrap(self) -> nn.Module:
        if self.image_ports:
            # FSDP2 shards contiguous arrays only: the channels-last format of convolutional nets is given up
            self.module = self.module.to(memory_format=torch.contiguous_format)
            self.image_ports = set()
        parallel = _Run(self.module, self.wires)
        fully_shard(parallel)
        # the arrays are now sharded DTensors, new objects: the optimizer must hold those
        self.parameters, groups = _parameter_groups(self.net, self.plan, self.module, self._multipliers)
        self.optimizer, self.optimizer_implementation = _fast_optimizer(self._method, groups, self.learning_rate)
        return parallel

    def send_loss(self, loss: torch.Tensor) -> Callable[[], torch.Tensor]:
        """FSDP2 reduce-scatters the gradients without a hook to carry a number: the loss has its own small all-reduce,
        overlapped with the backward pass."""
        total = (loss.float() / self.world).reshape(1)
        pending = dist.all_reduce(total, async_op=True)

        def received() -> torch.Tensor:
            pending.wait()  # type: ignore[union-attr]
            return total

        return received

    def _tensors(self) -> list[torch.Tensor]:
        # remember / keep / recall copy this rank's shard of each array (the moving statistics whole)
        return [tensor.to_local() if isinstance(tensor, DTensor) else tensor for tensor in super()._tensors()]

    def arrays(self) -> LeafArrays:
        """The whole arrays (every rank must ask at the same time: they are gathered from all)."""
        with self.guarded("gathering the sharded arrays"):
            self.parallel.unshard()  # type: ignore[operator]
        try:
            return self.module.leaf_arrays()
        finally:
            self.parallel.reshard()  # type: ignore[operator]

    def load_arrays(self, arrays: LeafArrays) -> None:
        """Each rank copies its own shard of the whole arrays it is given (no exchange)."""
        with torch.no_grad():
            for (path, _), leaf in zip(self.plan.leaves, self.module.leaves):
                for name, tensor in arrays.get(path, {}).items():
                    target = getattr(leaf, name)
                    if isinstance(target, DTensor):
                        shard = distribute_tensor(tensor.to(target.device, target.dtype), target.device_mesh, target.placements, src_data_rank=None)
                        target.to_local().copy_(shard.to_local())
                    else:
                        target.copy_(tensor)

    def evaluate(self, table: Table, limit: int | None = None) -> tuple[float, torch.Tensor | None, torch.Tensor | None]:
        with self.guarded("gathering the sharded arrays"):
            self.parallel.unshard()  # type: ignore[operator]
        try:
            return super().evaluate(table, limit)
        finally:
            self.parallel.reshard()  # type: ignore[operator]

    def optimizer_state(self) -> dict[str, Any]:
        raise NetError('NetTrain: parallelism="FSDP" cannot write checkpoints yet (the optimizer state is sharded over the processes).',
                       fix='Use parallelism="DDP" with training_progress_checkpointing.')


__all__ = ["FullyShardedRunner"]
