"""FullyShardedRunner: ``parallelism="FSDP"``, each process holding 1/n of the arrays, their gradients and the optimizer's state.

torch's FSDP2 (``torch.distributed.fsdp.fully_shard``) shards every array of the compiled net
along its first axis over the ranks. Each leaf layer with arrays is a unit of its own (then the
root, for the rest): just before a layer runs, its unit all-gathers that layer's arrays, and
frees them after it; in the backward pass it gathers them again and reduce-scatters their
gradients, so a batch never holds the whole net's arrays at once (about one layer's at a time),
and each rank's optimizer (Adam's moments too) updates only its own shard. Leaves that run more than once per batch (inside NetMapOperator and other operators)
stay in the root unit. Everything else is :class:`DistributedRunner`'s: each rank's share of the
same global batch, the loss weighted by the share, batch statistics over all ranks; an FSDP run
takes the same steps as a DDP run and as one process (within rounding). It runs on CPUs over
gloo (torch 2.13) as well as on GPUs over NCCL.

Checkpoints: every rank takes part in gathering the whole arrays and the optimizer's state
(each sharded moment gathered into its full tensor), and rank 0 writes them in the format of a
1-process run; resuming gives each rank its shard of them again, so a checkpoint resumes under
FSDP on any number of processes, under DDP and in one process, and the other way round.

Channels-last: FSDP2 shards contiguous arrays only, so the arrays stay contiguous; the images
still enter channels-last, which makes the convolutions take their channels-last kernels.

Cost: per layer means more, smaller collectives. ``bench/bench_distributed.py --fsdp`` (the
notebook CNN, 6,400 examples, 2 processes on 2 shared cores, two runs each): an FSDP round took
2.38 and 2.40 times a DDP round with a unit per layer, 2.08 and 2.03 with the whole net as one
unit. FSDP is for nets whose arrays, gradients and optimizer state do not fit one device; DDP is
faster for those that do.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

from .arrays import LeafArrays
from .data import Table
from .distributed import DistributedRunner, _Run
from .runner import _fast_optimizer, _parameter_groups


class FullyShardedRunner(DistributedRunner):
    """A DistributedRunner whose net is sharded by FSDP2, layer by layer, instead of replicated by DDP."""

    parallelism = "FullyShardedDataParallel (FSDP2)"
    gathers_for_checkpoints = True  # every rank must take part in arrays() and optimizer_state()

    def __init__(self, net: Any, plan: Any, terms: Any, method: Any, learning_rate: float, multipliers: Any, *args: Any, **kwargs: Any) -> None:
        self._method, self._multipliers = method, multipliers
        super().__init__(net, plan, terms, method, learning_rate, multipliers, *args, **kwargs)

    def wrap(self) -> nn.Module:
        # FSDP2 shards contiguous arrays only; the images keep entering channels-last (see the module docstring)
        self.module = self.module.to(memory_format=torch.contiguous_format)
        self.units = [leaf for leaf in _separate_leaves(self.module) if any(True for _ in leaf.parameters())]
        for leaf in self.units:
            fully_shard(leaf)
        self.module.call_leaves_as_modules()  # so that each unit's hooks gather its arrays when it runs
        # FSDP2 warns when a unit returns a view, in case an in-place operation on it skipped its backward hook:
        # symnet's engine and layers never change a layer's output in place
        warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module \(.*\) returned a view tensor", category=UserWarning)
        parallel = _Run(self.module, self.wires)
        fully_shard(parallel)
        self.units.append(parallel)
        rest = sum(1 for leaf in self.module.leaves if leaf not in self.units and any(True for _ in leaf.parameters()))
        self.sharding = (f"per layer: {len(self.units) - 1} FSDP unit(s) of one layer each, its arrays gathered only while it runs"
                         + (f"; {rest} layer(s) inside operators in the root unit" if rest else ""))
        # the arrays are now sharded DTensors, new objects: the optimizer must hold those
        self.parameters, groups = _parameter_groups(self.net, self.plan, self.module, self._multipliers)
        self.optimizer, self.optimizer_implementation = _fast_optimizer(self._method, groups, self.learning_rate)
        return parallel

    def send_loss(self, numbers: torch.Tensor) -> Callable[[], torch.Tensor]:
        """FSDP2 reduce-scatters the gradients without a hook to carry numbers: the loss and the stop flag have their own
        small all-reduce, overlapped with the backward pass."""
        total = numbers.float() / self.world
        pending = dist.all_reduce(total, async_op=True)

        def received() -> torch.Tensor:
            pending.wait()  # type: ignore[union-attr]
            return total

        return received

    def _tensors(self) -> list[torch.Tensor]:
        # remember / keep / recall copy this rank's shard of each array (the moving statistics whole)
        return [tensor.to_local() if isinstance(tensor, DTensor) else tensor for tensor in super()._tensors()]

    @contextmanager
    def _whole(self) -> Iterator[None]:
        """Every unit's arrays gathered whole, and the leaves called without FSDP's hooks (every rank at the same time)."""
        with self.guarded("gathering the sharded arrays"):
            for unit in self.units:
                unit.unshard()  # type: ignore[operator]
        self.module.call_leaves_as_modules(False)
        try:
            yield
        finally:
            self.module.call_leaves_as_modules(True)
            for unit in self.units:
                unit.reshard()  # type: ignore[operator]

    def arrays(self) -> LeafArrays:
        """The whole arrays (every rank must ask at the same time: they are gathered from all)."""
        with self._whole():
            return self.module.leaf_arrays()

    def _load_array(self, target: torch.Tensor, whole: torch.Tensor) -> None:
        """Each rank copies its own shard of the whole array it is given (no exchange)."""
        if isinstance(target, DTensor):
            target.to_local().copy_(_shard_like(target, whole).to_local())
        else:
            target.copy_(whole)

    def evaluate(self, table: Table, limit: int | None = None) -> tuple[float, torch.Tensor | None, torch.Tensor | None]:
        with self._whole():
            return super().evaluate(table, limit)

    def optimizer_state(self) -> dict[str, Any]:
        """The optimizer's state with each sharded moment gathered whole: a 1-process run's ``state_dict`` (every rank must ask)."""
        state = self.optimizer.state_dict()
        with self.guarded("gathering the optimizer state"):
            whole = {index: {key: value.full_tensor() if isinstance(value, DTensor) else value for key, value in entries.items()}
                     for index, entries in state["state"].items()}
        return {"state": whole, "param_groups": state["param_groups"]}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        """Each rank takes its shard of every moment of a whole optimizer state (of any run: 1 process, DDP, FSDP)."""
        numbered = {number: parameter for saved, group in zip(state["param_groups"], self.optimizer.param_groups)
                    for number, parameter in zip(saved["params"], group["params"])}
        sharded = {}
        for index, entries in state["state"].items():
            parameter = numbered.get(int(index))
            sharded[index] = {key: _shard_like(parameter, value) if _is_moment(parameter, value) else value for key, value in entries.items()}
        self.optimizer.load_state_dict({"state": sharded, "param_groups": state["param_groups"]})


def _is_moment(parameter: Any, value: Any) -> bool:
    """A state tensor shaped like its (sharded) array, such as Adam's moments; not a scalar such as its step count."""
    return isinstance(parameter, DTensor) and isinstance(value, torch.Tensor) and not isinstance(value, DTensor) and tuple(value.shape) == tuple(parameter.shape)


def _shard_like(target: DTensor, whole: torch.Tensor) -> DTensor:
    """This rank's shard of ``whole``, placed as ``target`` is (cut locally: every rank has the whole tensor)."""
    return distribute_tensor(whole.to(target.device, target.dtype), target.device_mesh, target.placements, src_data_rank=None)


def _separate_leaves(module: Any) -> list[nn.Module]:
    """The leaves that run once per batch, each its own FSDP unit; those inside operators (run per element) stay in the root's."""
    plan = module.plan
    counts: dict[int, int] = {}
    for index, _, _ in plan.steps:
        counts[index] = counts.get(index, 0) + 1
    nested = {index for members in plan.members.values() for sub in members.values() for index, _, _ in sub.steps}
    return [module.leaves[index] for index, count in counts.items() if count == 1 and index not in nested and index not in plan.members]

__all__ = ["FullyShardedRunner"]
