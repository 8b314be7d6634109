"""DistributedRunner: NetTrain's batches on several processes, with torch.distributed's DistributedDataParallel.

Every process (a *rank*) holds the whole net, its optimizer and the same data, and runs the same
training loop; the runner makes them agree (see the protocol in :mod:`symnet.train.runner`):

- **the same global batch as one process**: the loop draws the same batch on every rank (the same
  seed, the same shuffled order) and each rank trains on a contiguous share of it
  (``torch.tensor_split``: shares differ by at most one example, rank 0's first). Each rank's mean
  loss is weighted by its share of the batch, so DDP's average of the gradients over the ranks is
  the gradient of the whole batch's mean loss: an N-process run takes the same steps as a
  1-process run (within float rounding). Batch normalization takes its statistics over the
  whole batch, all ranks' shares together (:mod:`symnet.layers.batch_statistics`, torch's
  SyncBatchNorm idea), so a net with BatchNormalizationLayer trains the same way too; dropout's
  masks are drawn per rank, as in any DDP run;
- **a share may be empty** (a last batch of fewer examples than ranks): that rank contributes a
  zero loss that still touches every parameter, so DDP's all-reduce happens on every rank and
  nothing waits forever (the hang of Lightning #9851);
- **every example counted once**: evaluation splits a table into contiguous shards, one per rank,
  without padding (the duplicates of Lightning #5060), and all-gathers the scores in order;
- **no exchange just for reporting**: each rank keeps its shares' scores for the round's
  measurements, gathered once at the end of the round. The batch loss costs no collective of its
  own: each rank's weighted loss rides in DDP's all-reduce of the gradients, one number appended
  to the first gradient bucket (:func:`_timed_all_reduce`), so every rank gets the whole batch's
  loss with the gradients. That is also how every rank learns that a loss was not finite (a NaN
  or infinity on one rank makes the sum non-finite on all): the divergence watch and the batch
  losses are the same number on every rank, so all ranks keep the same arrays and stop on the
  same batch, with the report of one process. The stop flag (Ctrl-C, a failed checkpoint write or
  callback on rank 0) travels the same way, with the next batch's gradients: if any rank raised
  it, no rank takes that batch's step and all leave the loop, as if they had agreed after the
  batch before (only at the end of a round is there a collective for it). So in-memory data costs
  one collective per batch, DDP's own;
- **failures end the run**: a collective that fails (a rank that died closes its connections,
  and gloo reports it at once; a rank that hangs hits the process group's timeout) raises
  :class:`ProcessFailed`, a NetError naming what the launcher knows about the ranks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

from ..errors import NetError
from ..layers.batch_statistics import over_processes
from ..workers import TEST_EXIT, ProcessFailed, exit_for_test, shares
from .data import Table
from .losses import weighted_loss
from .runner import SingleProcessRunner
from .sequences import batch_lengths, real_positions


class _Run(nn.Module):
    """The compiled net's ``run`` as a ``forward``, so that DistributedDataParallel sees the forward pass it hooks."""

    def __init__(self, module: nn.Module, wires: list[int]) -> None:
        super().__init__()
        self.module, self.wires = module, wires

    def forward(self, *inputs: torch.Tensor, lengths: list[torch.Tensor | None] | None = None) -> list[torch.Tensor]:
        return self.module.run(list(inputs), self.wires, lengths)  # type: ignore[operator]


class DistributedRunner(SingleProcessRunner):
    """Trains on this rank's share of each batch; DDP averages the gradients over the ranks.

    ``describe_failure`` (from the launcher) says which processes died and why, for the error
    that ends a run whose collective failed.
    """

    def __init__(self, *args: Any, describe_failure: Callable[[], str] | None = None, threads: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0
        self.describe_failure = describe_failure or (lambda: "")
        self.threads = threads
        self.single_thread = False  # the launcher gave each process its share of the cores
        self.communication = Communication()
        self._stop_asked = False
        with self.guarded(f"wrapping the net in {self.parallelism}"):
            self.parallel = self.wrap()

    parallelism = "DistributedDataParallel"

    def wrap(self) -> nn.Module:
        """The module each step runs: the compiled net in DDP, whose comm hook times the gradients' all-reduce."""
        device_ids = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else None
        # every rank starts from rank 0's arrays (they are equal already: the same seed)
        parallel = DistributedDataParallel(_Run(self.module, self.wires), device_ids=device_ids)
        parallel.register_comm_hook(self.communication, _timed_all_reduce)
        return parallel

    # -- resources ----------------------------------------------------------------------------
    def __enter__(self) -> DistributedRunner:
        self._threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        return self

    def guarded(self, what: str) -> Any:
        return _Guard(self, what)

    def fail(self, what: str, error: BaseException) -> ProcessFailed:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        known = self.describe_failure()
        return ProcessFailed(f"NetTrain: the distributed run (process {self.rank} of {self.world}) failed while {what}: "
                             f"{known or 'another process stopped answering'} ({type(error).__name__}: {first[:300]}).",
                             fix="The net trained so far is lost with the processes; resume from a checkpoint (training_progress_checkpointing) "
                                 "after fixing the cause, on any number of processes.")

    defers_agreement = True

    def ask_to_stop(self, flag: bool) -> None:
        """Tell the other ranks with the next batch's gradients (no collective of its own) whether this one wants to stop now:
        if any does, that batch's step is taken by none and :attr:`stop_agreed` is set on every rank."""
        self._stop_asked = flag

    def agree(self, flag: bool) -> bool:
        value = torch.tensor([1.0 if flag else 0.0])
        with self.guarded("agreeing on whether to stop"):
            dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def main_value(self, value: float) -> float:
        """Rank 0's value of a number each rank computes for itself (the elapsed time that drives a time goal)."""
        shared = torch.tensor([value], dtype=torch.float64)
        with self.guarded("sharing the time"):
            dist.broadcast(shared, 0)
        return float(shared.item())

    # -- batches ------------------------------------------------------------------------------
    def step(self, batch: dict[str, torch.Tensor], factor: float) -> float | None:
        size = next(iter(batch.values())).shape[0]
        start, stop = shares(size, self.world)[self.rank]
        exit_for_test(self.rank)
        # an empty share (a last batch smaller than the ranks) runs one example with weight 0: its
        # backward still reaches every parameter, so this rank joins DDP's all-reduce and nothing hangs
        weight = (stop - start) * self.world / size
        if stop == start:
            start, stop = 0, 1
        local = self.to_device({name: tensor[start:stop] for name, tensor in batch.items()})
        with self.guarded("training on a batch"):
            # batch normalization takes its statistics over every rank's share (SyncBatchNorm); a stand-in example counts for nothing
            with self.autocast(), over_processes(1.0 if weight else 0.0):
                # each example's sequence lengths travel in the batch (batch axis first), so a share carries its own
                values = self.parallel(*(local[p] for p in self.input_ports), lengths=batch_lengths(local, self.input_ports))
                # weighted by this rank's share, so that DDP's mean over the ranks is the whole batch's mean
                loss = weighted_loss(self.terms, values, [local.get(term.port) for term in self.terms], self.value_lengths(local)) * weight
            # the batch's loss (each rank's weighted loss summed and divided by the ranks) and whether a rank asked to
            # stop after the last batch, exchanged with the gradients (see send_loss)
            flag = torch.tensor([1.0 if self._stop_asked else 0.0], dtype=loss.dtype, device=loss.device)
            received = self.send_loss(torch.cat([loss.detach().reshape(1), flag]))
            self._stop_asked = False
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate * group["multiplier"] * factor
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            value, stop = received().tolist()
        if stop > 0:
            # a rank asked to stop after the last batch: every rank leaves this one's step untaken
            self.stop_agreed = True
            return None
        if not math.isfinite(value):
            # every rank sees the same total: all of them leave the arrays unchanged
            return None
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.clip)
        self.optimizer.step()
        self._last = (values if weight else [], local)
        return value

    def send_loss(self, numbers: torch.Tensor) -> Callable[[], torch.Tensor]:
        """Hand this rank's weighted batch loss and stop flag to the backward pass; the returned function gives their means
        over the ranks after it (a flag above 0: some rank raised it).

        DDP's comm hook appends them to the first gradient bucket's all-reduce: no collective of their own."""
        self.communication.carried, self.communication.received = numbers, None

        def received() -> torch.Tensor:
            total = self.communication.received
            if total is None:  # the hook did not run: no gradient bucket was reduced (cannot happen while something trains)
                raise RuntimeError("the batch loss did not travel with the gradients")
            return total

        return received

    def last_scores(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The first loss's scores and targets of this rank's share of the last batch (None for a stand-in example).

        Nothing is exchanged here: :meth:`round_scores` gathers a round's scores once, at its end."""
        values, local = self._last
        if not values:
            return None, None
        term = self.terms[0]
        # a padded sequence output counts each real position once
        scores, target = real_positions(term.scores(values[0].detach()).float(), local.get(term.port), self.value_lengths(local)[0])
        return scores.cpu(), target.cpu() if target is not None else None

    def round_scores(self, collected: list[tuple[torch.Tensor | None, torch.Tensor | None]]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Every rank's scores and targets of a round, in one all-gather (the measurements do not depend on the order)."""
        mine = (_cat([c[0] for c in collected]), _cat([c[1] for c in collected]))
        with self.guarded("gathering the round's scores"):
            parts = self._gather(mine)
        return _cat([p[0] for p in parts]), _cat([p[1] for p in parts])

    def _gather(self, value: Any) -> list[Any]:
        parts: list[Any] = [None] * self.world
        dist.all_gather_object(parts, value)
        return parts

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, table: Table, limit: int | None = None) -> tuple[float, torch.Tensor | None, torch.Tensor | None]:
        """Each rank evaluates its contiguous shard (no example twice, none padded); loss and scores are combined over the ranks."""
        count = table.length if limit is None else min(limit, table.length)
        start, stop = shares(count, self.world)[self.rank]
        if stop > start:
            shard = table.subset(torch.arange(start, stop))
            loss, outputs, targets = super().evaluate(shard)
        else:
            loss, outputs, targets = 0.0, None, None
        with self.guarded("evaluating"):
            parts = self._gather([loss * (stop - start), outputs, targets])
        total = sum(part[0] for part in parts)
        return total / max(count, 1), _cat([p[1] for p in parts]), _cat([p[2] for p in parts])


@dataclass
class Communication:
    """The state of DDP's comm hook: the loss a batch carries with its gradients, and the time their all-reduce took
    (from launching each bucket to its completion; it overlaps the backward pass)."""

    seconds: float = 0.0
    all_reduces: int = 0
    carried: torch.Tensor | None = None  # this rank's weighted batch loss and stop flag, for the next backward pass's first bucket
    received: torch.Tensor | None = None  # the means of the ranks' carried numbers, once that bucket is reduced


def _timed_all_reduce(state: Communication, bucket):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
    """DDP's all-reduce of a gradient bucket (the mean over the ranks, as torch's default hook), timed; the first
    bucket of a backward pass carries the batch loss and the stop flag as two more numbers, so they need no collective of their own.

    ``bucket`` is a ``dist.GradBucket`` and the result a ``Future[Tensor]``; they stay unannotated because DDP
    checks the annotations against those classes, and this module's annotations are strings."""
    start = time.perf_counter()
    gradients = bucket.buffer()
    carried, state.carried = state.carried, None
    if carried is None:
        return default_hooks.allreduce_hook(None, bucket).then(lambda future: _finished(state, start, future.value()))  # type: ignore[arg-type]
    # one copy of the bucket (the first is small: DDP caps it at 1 MiB) instead of a second collective per batch
    flat = torch.cat([gradients, carried.to(device=gradients.device, dtype=gradients.dtype)]).div_(dist.get_world_size())
    future = dist.all_reduce(flat, async_op=True).get_future()  # type: ignore[union-attr]

    def finished(done: torch.futures.Future[list[torch.Tensor]]) -> torch.Tensor:
        reduced = done.value()[0]
        state.received = reduced[-len(carried):].clone()
        return _finished(state, start, gradients.copy_(reduced[: -len(carried)]))

    return future.then(finished)


def _finished(state: Communication, start: float, gradients: torch.Tensor) -> torch.Tensor:
    state.seconds += time.perf_counter() - start
    state.all_reduces += 1
    return gradients


def _cat(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    present = [p for p in parts if p is not None]
    return torch.cat(present) if present else None


class _Guard:
    """Turns a failed collective into :class:`ProcessFailed` with what the launcher knows."""

    def __init__(self, runner: DistributedRunner, what: str) -> None:
        self.runner, self.what = runner, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> bool:
        if error is not None and isinstance(error, RuntimeError | dist.DistError) and not isinstance(error, NetError):
            raise self.runner.fail(self.what, error) from None
        return False


__all__ = ["TEST_EXIT", "DistributedRunner", "ProcessFailed", "shares"]
