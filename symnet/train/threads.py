"""How many threads NetTrain trains a large CPU batch with: measured, not assumed.

torch uses every core by default. When other processes already keep the cores busy, that is
the slowest choice: each parallel region (a convolution, a pooling, each of their backward
passes) ends at a barrier that waits for whichever thread the system has descheduled. Measured
on 2 cores shared by 4 processes (load 8), the notebook CNN's batches of 128 took 600 ms on 2
threads and 90 ms on 1; on the same cores idle, 2 threads are about 1.7× faster than 1.

So for convolutional nets with large batches on a CPU, :class:`ThreadProbe` times a few of the
first training batches on all threads and then on one (they are real training batches; only
the thread count differs), and training goes on with the faster — all threads unless one is
clearly faster. The choice is made once per process and kept, so that two trainings in one
process with one seed run with the same threads (the thread count changes how a convolution's
gradient sums, in the last bits).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

WARM_UP = 1  # batches before the first timed one on each thread count (allocations, oneDNN's kernel choice)
TIMED = 3  # timed batches on each thread count
CLEARLY_FASTER = 0.8  # one thread must take less than this fraction of all threads' time

_chosen: int | None = None  # this process's choice, once made


class ThreadProbe:
    """Chooses between all threads and one over the first batches of training (see the module)."""

    def __init__(self, threads: int, clock: Callable[[], float] | None = None) -> None:
        self.threads = threads
        self.clock = clock or time.perf_counter
        self.times: dict[int, list[float]] = {threads: [], 1: []}
        self.batch = 0
        self.start = 0.0
        self.report: str | None = None

    def _threads_for(self, batch: int) -> int:
        if _chosen is not None:
            return _chosen
        return self.threads if batch < WARM_UP + TIMED else 1

    def before(self) -> None:
        """Set the thread count for the next batch and start its clock."""
        if self.report is None and _chosen is not None:
            self.report = f"{_chosen} (measured earlier in this process)"
        threads = self._threads_for(self.batch)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        self.start = self.clock()

    def after(self) -> None:
        """Record the batch's time; after the last timed batch, choose."""
        global _chosen
        if _chosen is not None:
            return
        elapsed = self.clock() - self.start
        position = self.batch % (WARM_UP + TIMED)
        if position >= WARM_UP:
            self.times[self._threads_for(self.batch)].append(elapsed)
        self.batch += 1
        if self.batch == 2 * (WARM_UP + TIMED):
            all_threads, one = (statistics.median(self.times[n]) for n in (self.threads, 1))
            _chosen = 1 if one < CLEARLY_FASTER * all_threads else self.threads
            torch.set_num_threads(_chosen)
            why = "the other processes keep the cores busy" if _chosen == 1 else "one thread was not clearly faster"
            self.report = f"{_chosen} (measured: {1000 * all_threads:.0f} ms a batch on {self.threads} threads, {1000 * one:.0f} ms on 1; {why})"


def forget_choice() -> None:
    """Measure again at the next training (for tests, or after the machine's load changed)."""
    global _chosen
    _chosen = None
