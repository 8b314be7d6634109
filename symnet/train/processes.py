"""The processes a NetTrain call trains on: this one alone, torchrun's, or n it launches itself.

:func:`session` decides, before the first batch:

- inside a process group that already exists (a worker launched here, or one the user set up),
  NetTrain trains on it;
- in a process started by ``torchrun`` (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` … in the
  environment, more than one process), NetTrain joins torchrun's group (gloo on CPUs, NCCL on
  GPUs, each process on GPU ``LOCAL_RANK``): rank 0 reports progress, writes the checkpoints and
  gets the full results; every rank returns the same trained net. Resuming on several machines
  needs the checkpoint directory on a file system they share;
- with ``target_device=("cpu", n)`` (or ``("cuda", n)``), this process becomes rank 0 and starts
  n-1 workers (:func:`symnet.workers.launched`, the machinery evaluation on n processes uses too).
  They rebuild the net from its native file content and the data and options from a pickle made
  here, join over 127.0.0.1, and train with this process; the results come back here. A script
  doing this must call NetTrain under ``if __name__ == "__main__":``, since each worker imports
  the script (Python's rule for spawn).

Failures: a worker that exits (killed, crashed) closes its connections and the next collective
on rank 0 fails at once; the error names the worker, its exit code and its last words (what it
sent back before dying). A process that hangs is caught by the process group's timeout.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist

from ..devices import Placement, backend_for
from ..errors import NetError
from ..workers import TIMEOUT, Session, dumps, launched, threads_per_process

TORCHRUN = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def torchrun_environment() -> dict[str, int] | None:
    """RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE when torchrun started this process with others, else None."""
    if not all(name in os.environ for name in TORCHRUN):
        return None
    world = int(os.environ["WORLD_SIZE"])
    if world < 2:
        return None
    rank = int(os.environ["RANK"])
    return {"rank": rank, "world": world, "local_rank": int(os.environ.get("LOCAL_RANK", rank)), "local_world": int(os.environ.get("LOCAL_WORLD_SIZE", world))}


@contextmanager
def session(placement: Placement, payload: Callable[[], tuple[Any, ...]], train_function: Callable[..., Any]) -> Iterator[Session]:
    """The processes of this run (see the module docstring); the process group is released at the end if this call made it.

    ``payload()`` gives what workers need, ``(net, data, config, want_confusion)``, and is
    only called when workers are launched; ``train_function`` is what they run with it.
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        yield Session(dist.get_rank(), dist.get_world_size(), placement.device_for(local) if placement.kind == "cuda" else "cpu", how="joined")
        return
    environment = torchrun_environment()
    if environment is not None:
        if placement.distributed:
            raise NetError(f"NetTrain: target_device=({placement.kind!r}, {placement.processes}) asks for processes, but torchrun started this one "
                           f"(rank {environment['rank']} of {environment['world']}): NetTrain trains on torchrun's processes.",
                           fix=f'Give target_device="{placement.kind}" (one device per process) and choose the processes with torchrun --nproc-per-node.')
        device = f"cuda:{environment['local_rank']}" if placement.kind == "cuda" else "cpu"
        if placement.kind == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend_for(placement), init_method="env://", timeout=TIMEOUT)
        try:
            yield Session(environment["rank"], environment["world"], device, how="torchrun")
        finally:
            dist.destroy_process_group()
        return
    if not placement.distributed:
        yield Session(device=placement.device)
        return
    content = dumps(payload(), "NetTrain")
    with launched(placement, [content] * (placement.processes - 1), train_function, where="NetTrain", backend=backend_for(placement)) as workers:
        yield workers


def worker_config(config: Any) -> Any:
    """The options a worker trains with: no progress reports (rank 0 reports), and a stopping criterion function replaced by
    rank 0's decision (the loop agrees on stopping), since functions defined in a script may not reach another process."""
    criterion = config.training_stopping_criterion
    if criterion is not None and callable(criterion.criterion):
        criterion = dataclasses.replace(criterion, criterion=_never)
    return dataclasses.replace(config, training_progress_reporting=(), training_stopping_criterion=criterion)


def _never(row: dict[str, Any]) -> bool:
    return False


__all__ = ["Session", "session", "threads_per_process", "torchrun_environment", "worker_config"]
