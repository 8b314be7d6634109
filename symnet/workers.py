"""Worker processes on this machine: the one machinery NetTrain and evaluation use to run on n processes.

:func:`launched` makes this process rank 0 of ``n`` and starts ``n - 1`` workers with
``torch.multiprocessing``'s spawn (fresh interpreters, safe with threads and CUDA). Each worker
unpickles its payload (nets travel as their native file content: a net is a value, never a
pickled object), joins a ``torch.distributed`` process group whose rendezvous is a TCPStore on
127.0.0.1, and calls the function it was given with the payload. A script that does this must
run under ``if __name__ == "__main__":``, since each worker imports the script (Python's rule
for spawn).

Failures: a worker that exits (killed, crashed) closes its connections and the next collective
on rank 0 fails at once; :meth:`Session.describe_failure` names the worker, its exit code and its
last words (what it sent back before dying), for :class:`ProcessFailed`. A process that hangs is
caught by the process group's timeout.

Starting costs: a worker imports torch and symnet before it can do anything, once per call of
NetTrain, ``net(x)`` or NetMeasurements: about 9 s measured on a 2-core machine shared by four
busy processes (``bench/bench_distributed.py --evaluation``), a few seconds on an idle one.
"""

from __future__ import annotations

import io
import os
import pickle
import queue
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as multiprocessing

from .devices import Placement, usable_cores
from .errors import NetError
from .layers.base import Layer

TIMEOUT = timedelta(seconds=int(os.environ.get("SYMNET_DISTRIBUTED_TIMEOUT", "120")))  # a collective that waits longer ends the run
STARTUP = 300.0  # seconds a worker may take to start (importing torch on a busy machine is slow)


class ProcessFailed(NetError):
    """A process of a distributed run died, hung or failed: the work cannot go on."""


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

    @contextmanager
    def sharing_cores(self) -> Iterator[None]:
        """This process computes its share on its part of the cores (``threads``), as its workers do; the
        caller's thread count is back afterwards."""
        saved = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(saved)

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


def shares(size: int, world: int) -> list[tuple[int, int]]:
    """(start, stop) of each rank's contiguous share of ``size`` examples, as even as they can be (rank 0's first).

    >>> shares(5, 2)
    [(0, 3), (3, 5)]
    >>> shares(1, 2)
    [(0, 1), (1, 1)]
    """
    base, extra = divmod(size, world)
    bounds, start = [], 0
    for rank in range(world):
        stop = start + base + (1 if rank < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def threads_per_process(placement: Placement) -> int:
    """CPU processes on one machine share its cores: each gets its part (GPU processes keep the default)."""
    return max(1, usable_cores() // placement.processes)


@contextmanager
def launched(placement: Placement, payloads: Sequence[bytes], function: Callable[..., Any], *, where: str, backend: str) -> Iterator[Session]:
    """This process as rank 0 of ``placement.processes``, with a worker per other rank running ``function(*loads(payloads[rank - 1]))``.

    The process group (``backend``) is ready inside the block and released at its end, where the
    workers are waited for (a worker still alive after the block ends is stopped).
    """
    world = placement.processes
    store = dist.TCPStore("127.0.0.1", 0, world, is_master=True, wait_for_workers=False, timeout=TIMEOUT)
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    threads = threads_per_process(placement) if placement.kind == "cpu" else None
    session = Session(0, world, placement.device_for(0), threads, "launched", [], messages)
    try:
        for rank in range(1, world):
            child = context.Process(target=_worker, args=(rank, world, store.port, placement, backend, threads, payloads[rank - 1], function, messages),
                                    name=f"symnet-rank{rank}", daemon=True)
            child.start()
            session.children.append(child)
        _wait_for_workers(store, session, where)
        if placement.kind == "cuda":
            torch.cuda.set_device(session.device)
        dist.init_process_group(backend, store=store, rank=0, world_size=world, timeout=TIMEOUT)
    except BaseException:
        _stop(session.children)
        raise
    finished = False
    try:
        yield session
        finished = True
    finally:
        if finished:
            for child in session.children:
                child.join(TIMEOUT.total_seconds())
        _stop(session.children)
        dist.destroy_process_group()


def _wait_for_workers(store: Any, session: Session, where: str) -> None:
    """Wait until every worker has started and read its payload, or say which one did not."""
    keys = [f"symnet/ready/{rank}" for rank in range(1, session.world)]
    deadline = time.monotonic() + STARTUP
    while not store.check(keys):
        dead = [child for child in session.children if child.exitcode is not None]
        if dead or time.monotonic() > deadline:
            known = session.describe_failure() or f"a worker did not start within {STARTUP:g} s"
            raise ProcessFailed(f"{where}: target_device=(\"{session.device.split(':')[0]}\", {session.world}): the worker processes did not start: {known}.",
                                fix='Call it under `if __name__ == "__main__":` in a script (each worker imports the script), and see the worker\'s output above.')
        time.sleep(0.05)


def _stop(children: list[Any]) -> None:
    for child in children:
        if child.is_alive():
            child.kill()
    for child in children:
        child.join(5.0)


def _worker(rank: int, world: int, port: int, placement: Placement, backend: str, threads: int | None, content: bytes,
            function: Callable[..., Any], messages: Any) -> None:
    """A launched worker: rebuild the payload, join the group, work with the others, and say why if it fails."""
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        arguments = _loads(content)
        store = dist.TCPStore("127.0.0.1", port, world, is_master=False, timeout=TIMEOUT)
        store.set(f"symnet/ready/{rank}", "1")
        if placement.kind == "cuda":
            torch.cuda.set_device(placement.device_for(rank))
        dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=TIMEOUT)
        try:
            function(*arguments)
        finally:
            dist.destroy_process_group()
    except BaseException as error:
        lines = traceback.format_exception_only(type(error), error)
        messages.put((rank, "".join(lines).strip()[-500:]))
        messages.close()
        messages.join_thread()
        raise SystemExit(1) from None


class _Pickler(pickle.Pickler):
    """Pickles nets and layers as their native file content (a net is a value; the file format is how it travels)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Layer):
            from .io.native import net_bytes

            return _layer_from_bytes, (net_bytes(obj),)
        return NotImplemented


def _layer_from_bytes(content: bytes) -> Layer:
    from .io.native import net_from_bytes

    return net_from_bytes(content, "a worker process", allow_functions=True)


def dumps(payload: tuple[Any, ...], where: str) -> bytes:
    """The payload a worker receives: its function's arguments, with nets as their native file content."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise NetError(f"{where}: target_device with several processes sends the data and options to new processes, but one of them cannot be sent ({error}).",
                       fix="Define functions (a data generator, a schedule, a loss) at the top level of a module instead of as lambdas or nested functions.") from None
    return buffer.getvalue()


def _loads(content: bytes) -> Any:
    return pickle.loads(content)


TEST_EXIT = "SYMNET_TEST_EXIT_RANK"


def exit_for_test(rank: int) -> None:
    """Fault injection for the tests: ``SYMNET_TEST_EXIT_RANK="1:3"`` ends rank 1 abruptly at its 3rd call here (as a killed process would)."""
    spec = os.environ.get(TEST_EXIT)
    if not spec:
        return
    target, batch = (int(part) for part in spec.split(":"))
    if target != rank:
        return
    count = int(os.environ.get(TEST_EXIT + "_COUNT", "0")) + 1
    os.environ[TEST_EXIT + "_COUNT"] = str(count)
    if count >= batch:
        os._exit(17)


__all__ = ["STARTUP", "TEST_EXIT", "TIMEOUT", "ProcessFailed", "Session", "dumps", "exit_for_test", "launched", "shares", "threads_per_process"]
