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
  n-1 workers (``torch.multiprocessing``'s spawn: fresh interpreters, safe with threads and CUDA).
  They rebuild the net from its native file content (nets are values, never pickled objects) and
  the data and options from a pickle made here, join over 127.0.0.1, and train with this process;
  the results come back here. A script doing this must call NetTrain under
  ``if __name__ == "__main__":``, since each worker imports the script (Python's rule for spawn).

Failures: a worker that exits (killed, crashed) closes its connections and the next collective
on rank 0 fails at once; the error names the worker, its exit code and its last words (what it
sent back before dying). A process that hangs is caught by the process group's timeout.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import queue
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as multiprocessing

from ..devices import Placement, backend_for, usable_cores
from ..errors import NetError
from ..layers.base import Layer
from .distributed import ProcessFailed

TIMEOUT = timedelta(seconds=int(os.environ.get("SYMNET_DISTRIBUTED_TIMEOUT", "120")))  # a collective that waits longer ends the run
STARTUP = 300.0  # seconds a worker may take to start (importing torch on a busy machine is slow)
TORCHRUN = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass
class Session:
    """This process's place in a run: its rank among ``world`` processes, its device, and the workers it launched."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"
    threads: int | None = None
    how: str = "single"  # "single", "joined", "torchrun" or "launched"
    children: list[Any] = field(default_factory=list)
    messages: Any = None

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def describe_failure(self) -> str:
        """What is known about the workers that failed: exit codes and the messages they sent back."""
        if not self.children:
            return ""
        deadline = time.monotonic() + 3.0  # a dying worker may still be on its way out
        for child in self.children:
            child.join(max(0.0, deadline - time.monotonic()))
        words: dict[int, str] = {}
        while True:
            try:
                rank, text = self.messages.get(timeout=0.2)
            except (queue.Empty, OSError, EOFError, ValueError):
                break
            words[rank] = text
        parts = []
        for rank, child in enumerate(self.children, start=1):
            code = child.exitcode
            if code is None:
                continue
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            said = f" ({words[rank]})" if rank in words else ""
            parts.append(f"process {rank} {how}{said}")
        return "; ".join(parts)


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
    with _launched(placement, payload(), train_function) as launched:
        yield launched


def threads_per_process(placement: Placement) -> int:
    """CPU processes on one machine share its cores: each gets its part (GPU processes keep the default)."""
    return max(1, usable_cores() // placement.processes)


@contextmanager
def _launched(placement: Placement, payload: tuple[Any, ...], train_function: Callable[..., Any]) -> Iterator[Session]:
    content = _dumps(payload)
    world = placement.processes
    store = dist.TCPStore("127.0.0.1", 0, world, is_master=True, wait_for_workers=False, timeout=TIMEOUT)
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    threads = threads_per_process(placement) if placement.kind == "cpu" else None
    launched = Session(0, world, placement.device_for(0), threads, "launched", [], messages)
    try:
        for rank in range(1, world):
            child = context.Process(target=_worker, args=(rank, world, store.port, placement, threads, content, train_function, messages),
                                    name=f"symnet-rank{rank}", daemon=True)
            child.start()
            launched.children.append(child)
        _wait_for_workers(store, launched)
        if placement.kind == "cuda":
            torch.cuda.set_device(launched.device)
        dist.init_process_group(backend_for(placement), store=store, rank=0, world_size=world, timeout=TIMEOUT)
    except BaseException:
        _stop(launched.children)
        raise
    finished = False
    try:
        yield launched
        finished = True
    finally:
        if finished:
            for child in launched.children:
                child.join(TIMEOUT.total_seconds())
        _stop(launched.children)
        dist.destroy_process_group()


def _wait_for_workers(store: Any, launched: Session) -> None:
    """Wait until every worker has started and read its payload, or say which one did not."""
    keys = [f"symnet/ready/{rank}" for rank in range(1, launched.world)]
    deadline = time.monotonic() + STARTUP
    while not store.check(keys):
        dead = [child for child in launched.children if child.exitcode is not None]
        if dead or time.monotonic() > deadline:
            known = launched.describe_failure() or f"a worker did not start within {STARTUP:g} s"
            raise ProcessFailed(f"NetTrain: target_device=(\"{launched.device.split(':')[0]}\", {launched.world}): the worker processes did not start: {known}.",
                                fix='Call NetTrain under `if __name__ == "__main__":` in a script (each worker imports the script), and see the worker\'s output above.')
        time.sleep(0.05)


def _stop(children: list[Any]) -> None:
    for child in children:
        if child.is_alive():
            child.kill()
    for child in children:
        child.join(5.0)


def _worker(rank: int, world: int, port: int, placement: Placement, threads: int | None, content: bytes,
            train_function: Callable[..., Any], messages: Any) -> None:
    """A launched worker: rebuild the payload, join the group, train with the others, and say why if it fails."""
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        net, data, config, want_confusion = _loads(content)
        store = dist.TCPStore("127.0.0.1", port, world, is_master=False, timeout=TIMEOUT)
        store.set(f"symnet/ready/{rank}", "1")
        if placement.kind == "cuda":
            torch.cuda.set_device(placement.device_for(rank))
        dist.init_process_group(backend_for(placement), store=store, rank=rank, world_size=world, timeout=TIMEOUT)
        try:
            train_function(net, data, config, want_confusion=want_confusion)
        finally:
            dist.destroy_process_group()
    except BaseException as error:
        lines = traceback.format_exception_only(type(error), error)
        messages.put((rank, "".join(lines).strip()[-500:]))
        messages.close()
        messages.join_thread()
        raise SystemExit(1) from None


def worker_config(config: Any) -> Any:
    """The options a worker trains with: no progress reports (rank 0 reports), and a stopping criterion function replaced by
    rank 0's decision (the loop agrees on stopping), since functions defined in a script may not reach another process."""
    criterion = config.training_stopping_criterion
    if criterion is not None and callable(criterion.criterion):
        criterion = dataclasses.replace(criterion, criterion=_never)
    return dataclasses.replace(config, training_progress_reporting=(), training_stopping_criterion=criterion)


def _never(row: dict[str, Any]) -> bool:
    return False


class _Pickler(pickle.Pickler):
    """Pickles nets and layers as their native file content (a net is a value; the file format is how it travels)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Layer):
            from ..io.native import net_bytes

            return _layer_from_bytes, (net_bytes(obj),)
        return NotImplemented


def _layer_from_bytes(content: bytes) -> Layer:
    from ..io.native import net_from_bytes

    return net_from_bytes(content, "NetTrain (a worker process)", allow_functions=True)


def _dumps(payload: tuple[Any, ...]) -> bytes:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise NetError(f"NetTrain: target_device with several processes sends the data and options to new processes, but one of them cannot be sent ({error}).",
                       fix="Define functions (a data generator, a schedule, a loss) at the top level of a module instead of as lambdas or nested functions.") from None
    return buffer.getvalue()


def _loads(content: bytes) -> Any:
    return pickle.loads(content)


__all__ = ["Session", "session", "threads_per_process", "torchrun_environment", "worker_config"]
