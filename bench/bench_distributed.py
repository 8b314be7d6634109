"""NetTrain and evaluation on 2 processes versus 1, on the same cores: time ratios and the communication share.

Training: the notebook CNN on a slice of Fashion-MNIST (batch 128, float32, one round), trained
by one process (all cores as threads) and by ``target_device=("cpu", 2)`` (two processes, the
cores split between them, DistributedDataParallel over gloo on 127.0.0.1), alternating
(A B A B …); ``--fsdp`` adds ``parallelism="FSDP"``. Times are NetTrain's own
``TotalTrainingTime`` (the loop, without starting the workers), and the wall time of the
2-process call (with starting them). A third run, one process on one thread, separates what the
processes gain from what a second thread costs on busy shared cores.

The communication share, measured two ways:
- in the run: DDP's comm hook times each gradient bucket's all-reduce from launch to completion
  (``AutomaticChoices["communication"]``); this overlaps the backward pass, so it is an upper
  bound on the time communication adds;
- replayed: two processes, each with its share of the cores, make exactly the collectives of a
  2-process round and nothing else (per batch: the all-reduce of every gradient with the batch
  loss and the stop flag appended to it; per round: one gathering of the scores for the
  measurements), alternating with the collectives of the design before it (per batch, the batch
  loss and the stop flag in all-reduces of their own besides the gradients'), so the two are
  compared in one run.

Evaluation (``--evaluation``): ``net(x)`` on Fashion-MNIST test images with ``"cpu"`` and with
``("cpu", 2)`` (A B A B), and ``("cpu", 2)`` on 2 images, which is almost all start-up cost.
On a machine whose two cores are shared with other work the numbers swing (±40%): read the
ratios and medians.

    python bench/bench_distributed.py [--examples 12800] [--repeats 2] [--fsdp] [--evaluation 10000]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as multiprocessing

from symnet import All, NetTrain, datasets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from demo import initialized_cnn  # noqa: E402  (the notebook's CNN, as the demo trains it)

BATCH = 128
REPLAYS = 5  # rounds of collectives replayed per design, alternating


def train(net: Any, data: Any, processes: int, parallelism: str = "DDP") -> tuple[float, float, Any]:
    start = time.perf_counter()
    device = ("cpu", processes) if processes > 1 else "cpu"
    results = NetTrain(net, data, All, batch_size=BATCH, max_training_rounds=1, target_device=device, training_progress_reporting=None,
                       learning_rate_multipliers=None, parallelism=parallelism)
    return results["TotalTrainingTime"], time.perf_counter() - start, results


def _communicate(rank: int, port: int, parameters: int, batches: int, threads: int, answers: Any) -> None:
    """One of two processes making a round's collectives, timed."""
    torch.set_num_threads(threads)
    store = dist.TCPStore("127.0.0.1", port, 2, is_master=False, timeout=datetime.timedelta(seconds=60))
    dist.init_process_group("gloo", store=store, rank=rank, world_size=2, timeout=datetime.timedelta(seconds=60))
    gradients, with_loss, scalar = torch.zeros(parameters), torch.zeros(parameters + 2), torch.zeros(1)
    scores, targets = torch.zeros(BATCH // 2 * batches, 10), torch.zeros(BATCH // 2 * batches, dtype=torch.int64)
    times: dict[str, list[float]] = {"now": [], "before": []}
    for _ in range(REPLAYS):
        for design in times:
            dist.barrier()
            start = time.perf_counter()
            for _ in range(batches):
                if design == "now":
                    dist.all_reduce(with_loss)  # DDP's buckets carry every gradient once per batch, the batch's loss and the stop flag with them
                else:
                    dist.all_reduce(gradients)
                    dist.all_reduce(scalar)  # the batch's loss, on its own
                    dist.all_reduce(scalar)  # the stop flag, on its own
            parts: list[Any] = [None, None]
            dist.all_gather_object(parts, [scores, targets])  # the round's scores for its measurements, once
            times[design].append(time.perf_counter() - start)
    answers.put((rank, {design: statistics.median(values) for design, values in times.items()}))
    dist.destroy_process_group()


def communication_time(parameters: int, batches: int, threads: int) -> dict[str, float]:
    """The median time of a round's collectives (the slower process's), now and with the loss in an all-reduce of its own."""
    store = dist.TCPStore("127.0.0.1", 0, 2, is_master=True, wait_for_workers=False, timeout=datetime.timedelta(seconds=60))
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    workers = [context.Process(target=_communicate, args=(rank, store.port, parameters, batches, threads, answers)) for rank in (0, 1)]
    for worker in workers:
        worker.start()
    times = [answers.get(timeout=300)[1] for _ in workers]
    for worker in workers:
        worker.join(60)
    return {design: max(t[design] for t in times) for design in times[0]}


def training(options: argparse.Namespace) -> None:
    data = datasets.load("FashionMNIST", split="train")
    subset = data.subset(np.arange(options.examples))
    net = initialized_cnn(data.class_names)
    parameters = sum(int(a.size) for a in _arrays(net))
    one, one_thread, two, two_wall, in_run, fsdp = [], [], [], [], [], []
    threads = torch.get_num_threads()
    for repeat in range(options.repeats):
        loop, _, _ = train(net, subset, 1)
        one.append(loop)
        # one process on one thread: on busy shared cores a second thread can cost more than it gives
        torch.set_num_threads(1)
        loop1, _, _ = train(net, subset, 1)
        torch.set_num_threads(threads)
        one_thread.append(loop1)
        loop2, wall, results = train(net, subset, 2)
        two.append(loop2)
        two_wall.append(wall)
        in_run.append(results["AutomaticChoices"]["communication"]["gradient_all_reduce_seconds"])
        line = (f"repeat {repeat + 1}: 1 process {loop:.1f} s ({threads} threads), {loop1:.1f} s (1 thread); 2 processes {loop2:.1f} s "
                f"(with starting the worker {wall:.1f} s, gradient all-reduce {in_run[-1]:.2f} s)")
        if options.fsdp:
            loop3, _, _ = train(net, subset, 2, "FSDP")
            fsdp.append(loop3)
            line += f"; FSDP {loop3:.1f} s"
        print(line, flush=True)
    batches = -(-options.examples // BATCH)
    replayed = communication_time(parameters, batches, max(1, threads // 2))
    median_one, median_two = statistics.median(one), statistics.median(two)
    print(f"notebook CNN, {options.examples} Fashion-MNIST examples, batch {BATCH}, {parameters} parameters, {batches} batches a round; {results['AutomaticChoices']['target_device']}")
    print(f"round time 2 processes / 1 process: {median_two / median_one:.2f} (medians {median_two:.1f} s / {median_one:.1f} s); "
          f"with starting the worker: {statistics.median(two_wall) / median_one:.2f}; against 1 process on 1 thread: {median_two / statistics.median(one_thread):.2f}")
    if fsdp:
        print(f"FSDP / DDP round time: {statistics.median(fsdp) / median_two:.2f} (median {statistics.median(fsdp):.1f} s)")
    print(f"communication in the run (DDP comm hook, launch to completion, overlapping the backward pass): {statistics.median(in_run):.2f} s = "
          f"{statistics.median(in_run) / median_two:.0%} of the 2-process round")
    now, before = replayed["now"], replayed["before"]
    print(f"communication replayed alone: {now:.2f} s a round = {now / median_two:.0%} of the 2-process round "
          f"({1000 * now / batches:.2f} ms a batch for {4 * parameters / 1e6:.2f} MB of gradients with the loss and the stop flag); "
          f"with the loss and the flag in all-reduces of their own (the design before): {1000 * before / batches:.2f} ms a batch, now/before {now / before:.2f}")


def evaluation(options: argparse.Namespace) -> None:
    test = datasets.load("FashionMNIST", split="test")
    net = initialized_cnn(test.class_names)
    x = test.arrays()[0][: options.evaluation]
    one, two, tiny = [], [], []
    for repeat in range(options.repeats):
        start = time.perf_counter()
        alone = net(x, None)
        one.append(time.perf_counter() - start)
        start = time.perf_counter()
        split = net(x, None, target_device=("cpu", 2))
        two.append(time.perf_counter() - start)
        start = time.perf_counter()
        net(x[:2], None, target_device=("cpu", 2))
        tiny.append(time.perf_counter() - start)
        difference = float(np.abs(np.asarray(split) - np.asarray(alone)).max())
        print(f"repeat {repeat + 1}: net(x) on {len(x)} images: 1 process {one[-1]:.2f} s, 2 processes {two[-1]:.2f} s; 2 images on 2 processes {tiny[-1]:.2f} s; "
              f"largest difference {difference:.1e}", flush=True)
    print(f"evaluation 2 processes / 1 process: {statistics.median(two) / statistics.median(one):.2f} (medians {statistics.median(two):.2f} s / "
          f"{statistics.median(one):.2f} s); starting the worker and gathering (2 images): {statistics.median(tiny):.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=12800)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--fsdp", action="store_true", help='also train with parallelism="FSDP"')
    parser.add_argument("--evaluation", type=int, default=0, help="also time net(x) on this many test images, 1 process vs 2")
    parser.add_argument("--no-training", action="store_true")
    options = parser.parse_args(argv)
    if not options.no_training:
        training(options)
    if options.evaluation:
        evaluation(options)
    return 0


def _arrays(net: Any) -> list[Any]:
    from symnet.engine import compiled

    return [tensor.detach().numpy() for tensor in compiled(net).parameters()]


if __name__ == "__main__":
    sys.exit(main())
