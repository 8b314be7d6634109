"""NetTrain against the machine's arithmetic limits, measured in one run (issue 12's benchmarks).

The notebook CNN (examples/demo.py's ``initialized_cnn``) trains on the first ``--examples``
Fashion-MNIST images, one round, batch 128, Adam. Each repeat measures, one after the other
(A B C … A B C …, so that a change in the machine's load hits every variant alike): the float32
matrix-product ceiling (GFLOP/s of a 2048×2048 product), NetTrain in float32, a plain PyTorch
float32 loop over the same in-memory tensors, NetTrain "Mixed", the plain loop under bfloat16
autocast, and (with more than one thread) NetTrain on one thread. From them:

- NetTrain float32 GFLOP/s / float32 matmul ceiling           (goal ≥ 0.67)
- NetTrain float32 epoch / float32 floor (epoch FLOPs at the ceiling)  (goal ≤ 1.3)
- NetTrain "Mixed" / plain float32 loop                        (goal ≤ 0.5; needs native bfloat16:
  where the CPU lacks it, "Mixed" trains in float32 and says so — the ratio is then reported as such)
- NetTrain float32 / plain float32 loop
- plain loop in bfloat16 autocast / plain float32 loop: what bfloat16 costs on this CPU (without
  AVX512_BF16 or AMX oneDNN emulates it, slower than float32: why "Mixed" falls back there)
- NetTrain on 1 thread / NetTrain on all threads: above 1 the machine's other processes leave no
  core free, and each parallel region waits for a descheduled thread
- ``--time-to-accuracy``: seconds for NetTrain's defaults to reach 0.90 test accuracy (goal ≤ 30 s)
- ``--kernels``: NetTrain float32 with its training kernels / with torch's own (symnet.train.kernels;
  measured in the same repeats)
- ``--compile``: NetTrain float32 with ``compile=True`` / without, in the same repeats (the graph
  compiled before the repeats, whose time is reported apart: later NetTrain calls of the same net
  reuse it), with Dynamo's count of graphs and graph breaks
- ``--profile``: torch.profiler's busiest operations in one NetTrain float32 round, ms per batch

FLOPs per training example are counted by torch's FlopCounterMode (forward and backward of the
same net in torch). Times are NetTrain's own ``TotalTrainingTime`` (the loop, without data checks).
Ratios are medians over the repeats; the machine's load is printed with each repeat.

    python bench/bench_speed.py [--examples 8192] [--repeats 3] [--quick] [--time-to-accuracy] [--kernels] [--compile] [--profile]

``--quick`` is 2048 examples and 2 repeats (about a second per measurement on 2 quiet cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import nettrain_time_to_accuracy, notebook_module, plain_epoch, symnet_net  # noqa: E402

from symnet import All, NetTrain, datasets  # noqa: E402
from symnet.train import kernels  # noqa: E402
from symnet.train.options import bf16_supported  # noqa: E402
from symnet.train.runner import EVALUATION_BATCH  # noqa: E402

BATCH = 128
EPOCH = 60_000


def training_flops_per_example() -> float:
    """Forward + backward FLOPs of one training example of the notebook CNN (torch's count)."""
    model = notebook_module()
    x = torch.randn(BATCH, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), torch.zeros(BATCH, dtype=torch.long)).backward()
    return counter.get_total_flops() / BATCH


def matmul_ceiling(size: int = 2048, trials: int = 5) -> float:
    """The best float32 GFLOP/s of a square matrix product over a few trials (the machine's ceiling now)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def nettrain(net, data, seed: int, precision: str, threads: int | None = None, compile: bool = False) -> tuple[float, dict]:
    """NetTrain's own time for its loop (``TotalTrainingTime``), and its automatic choices."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        results = NetTrain(net, data, All, batch_size=BATCH, max_training_rounds=1, random_seeding=seed, training_progress_reporting=None, working_precision=precision,
                          compile=compile)
    finally:
        torch.set_num_threads(before)
    return results["TotalTrainingTime"], results["AutomaticChoices"]


def nettrain_without_kernels(net, data, seed: int) -> float:
    """NetTrain float32 with torch's own convolutions instead of symnet.train.kernels'."""
    kernels.ENABLED = False
    try:
        return nettrain(net, data, seed, "Real32")[0]
    finally:
        kernels.ENABLED = True


def profile(net, data, rows: int = 12) -> None:
    """The operations that took the most time (self CPU) in one NetTrain float32 round, ms per batch."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    with profiler(activities=[ProfilerActivity.CPU], record_shapes=True) as recorded:
        nettrain(net, data, 0, "Real32")
    batches = len(data[0]) // BATCH
    # the final measurements run on batches of EVALUATION_BATCH examples: their rows are left out
    events = [event for event in recorded.key_averages(group_by_input_shape=True) if not (event.input_shapes and event.input_shapes[0][:1] == [EVALUATION_BATCH])]
    events.sort(key=lambda event: -event.self_cpu_time_total)
    print(f"profile of one NetTrain float32 round ({batches} batches; self CPU time; the final measurements' operations left out):")
    for event in events[:rows]:
        print(f"  {event.self_cpu_time_total / 1e3 / batches:7.3f} ms/batch  {event.count / batches:4.1f} calls/batch  {event.key}  {str(event.input_shapes)[:80]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=8192, help="training examples per measured round (the epoch is extrapolated to 60,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2048 examples, 2 repeats")
    parser.add_argument("--time-to-accuracy", action="store_true")
    parser.add_argument("--kernels", action="store_true", help="also NetTrain float32 without symnet.train.kernels")
    parser.add_argument("--compile", action="store_true", help="also NetTrain float32 with compile=True")
    parser.add_argument("--profile", action="store_true", help="torch.profiler's busiest operations in one NetTrain float32 round")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.repeats = 2048, 2

    train = datasets.load("FashionMNIST", split="train")
    n = args.examples
    data = (train.images[:n], np.array(train.class_names)[train.labels[:n]])
    images, labels = torch.from_numpy(train.images[:n]), torch.from_numpy(train.labels[:n])
    net = symnet_net(train.class_names)
    flops = training_flops_per_example()
    native = bf16_supported()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; notebook CNN {flops / 1e6:.1f} MFLOP per training example "
          f"({flops * EPOCH / 1e12:.2f} TFLOP per epoch); {n} examples per measurement, batch {BATCH}, Adam")
    print(f"native bfloat16 on this CPU: {native}" + ("" if native else " (\"Mixed\" falls back to float32 here, so its ratio measures float32; "
                                                        "the plain loop's bfloat16 autocast runs emulated)"))
    threads = torch.get_num_threads()

    nettrain(net, (data[0][:1024], data[1][:1024]), 0, "Real32")  # warm up imports and the allocator
    if args.compile:
        from torch._dynamo.utils import counters

        start = time.perf_counter()
        first_compiled = nettrain(net, data, 0, "Real32", compile=True)[0]  # compiles the training step
        compile_call = time.perf_counter() - start
    rows = []
    for repeat in range(args.repeats):
        before = matmul_ceiling()
        ours, choices = nettrain(net, data, repeat, "Real32")
        plain = plain_epoch(images, labels, repeat)
        mixed, mixed_choices = nettrain(net, data, repeat, "Mixed")
        plain_bfloat16 = plain_epoch(images, labels, repeat, bfloat16=True)
        one = nettrain(net, data, repeat, "Real32", threads=1)[0] if threads > 1 else ours
        without = nettrain_without_kernels(net, data, repeat) if args.kernels else ours
        compiled = nettrain(net, data, repeat, "Real32", compile=True)[0] if args.compile else ours
        ceiling = max(before, matmul_ceiling())
        rate = flops * n / ours / 1e9
        rows.append({"ceiling": ceiling, "rate": rate, "efficiency": rate / ceiling, "floor": ours / (flops * n / (ceiling * 1e9)),
                     "mixed/plain": mixed / plain, "ours/plain": ours / plain, "bfloat16/plain": plain_bfloat16 / plain, "one/all": one / ours,
                     "kernels": ours / without, "compiled": compiled / ours, "eager": ours})
        print(f"  repeat {repeat + 1} (load {os.getloadavg()[0]:.1f}): ceiling {ceiling:.0f} GFLOP/s; NetTrain float32 {ours:.2f} s = {rate:.0f} GFLOP/s "
              f"({rate / ceiling:.2f} of the ceiling); plain loop {plain:.2f} s; NetTrain Mixed {mixed:.2f} s; plain loop bfloat16 {plain_bfloat16:.2f} s; "
              f"NetTrain 1 thread {one:.2f} s" + (f"; NetTrain float32 without training kernels {without:.2f} s" if args.kernels else "")
              + (f"; NetTrain float32 compile=True {compiled:.2f} s" if args.compile else ""), flush=True)
    median = {key: statistics.median(row[key] for row in rows) for key in rows[0]} if rows else {}
    if rows:
        print(f"NetTrain choices: {choices}; for Mixed: working_precision={mixed_choices.get('working_precision', 'Mixed')}")
        print(f"(1) NetTrain float32 GFLOP/s / float32 matmul ceiling: median {median['efficiency']:.2f} (goal >= 0.67); {median['rate']:.0f} of {median['ceiling']:.0f} GFLOP/s")
        print(f"(2) NetTrain float32 epoch / float32 floor: median {median['floor']:.2f} (goal <= 1.3); epoch ≈ {median['floor'] * flops * EPOCH / (median['ceiling'] * 1e9):.1f} s")
        note = "" if native else " — no native bfloat16 here: both ran float32, so this is not the bfloat16 measurement"
        print(f"(3) NetTrain Mixed / plain float32 loop: median {median['mixed/plain']:.2f} (goal <= 0.5){note}")
        print(f"(4) NetTrain float32 / plain float32 loop: median {median['ours/plain']:.2f}")
        emulated = "" if native else " (emulated: no AVX512_BF16 here)"
        print(f"(5) plain loop bfloat16 autocast / float32: median {median['bfloat16/plain']:.2f}{emulated}")
        if threads > 1:
            print(f"(6) NetTrain 1 thread / {threads} threads: median {median['one/all']:.2f} (below 1: the cores are busy with other processes)")
        if args.kernels:
            print(f"(8) NetTrain float32 with its training kernels / with torch's own: median {median['kernels']:.2f} ({choices.get('training_kernels', 'none used')})")
        if args.compile:
            print(f"(9) NetTrain float32 compile=True / eager, graph already compiled: median {median['compiled']:.2f}; the first compiled round "
                  f"{first_compiled:.1f} s ({compile_call:.1f} s the whole call) against {median['eager']:.2f} s eager: compiling cost about "
                  f"{first_compiled - median['compiled'] * median['eager']:.1f} s; Dynamo: {counters['stats']['unique_graphs']} graph(s), "
                  f"{sum(counters['graph_break'].values())} graph break(s)")
    if args.profile:
        profile(net, data)

    if args.time_to_accuracy:
        test = datasets.load("FashionMNIST", split="test")
        seconds, results = nettrain_time_to_accuracy(net, train, test, 0.90)
        reached = f"{seconds:.0f} s ({results['TotalRounds']} rounds)" if seconds else f"not reached (best {max(results['ValidationMeasurementsLists']['Accuracy']):.4f})"
        print(f"(7) NetTrain defaults to 0.90 test accuracy: {reached} (goal <= 30 s; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
