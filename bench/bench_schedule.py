"""NetTrain's automatic schedule judged on held-out TRAINING data: validation accuracy per round.

The notebook CNN (examples/demo.py's ``initialized_cnn``) trains on the first 50,000
Fashion-MNIST training images and is validated each round on the last 10,000 (never the test
set: this is how the automatic learning rate, warmup, schedule and batch size were chosen).
Each candidate is a set of NetTrain options on top of the defaults ("default": none); the
script prints one line per round (validation accuracy, and the round's seconds, which depend on
the machine's load: compare accuracy per round, time rounds separately) and a summary line.
Accuracy does not depend on the load or the thread count, so candidates can run side by side
with ``OMP_NUM_THREADS=1``.

    python bench/bench_schedule.py default [other candidates] [--seed 1] [--stop-after N] [--goal 0.90]
    python bench/bench_schedule.py --time 128,64,32 [--repeats 5]   # seconds per example of each batch size

``--time`` trains one round of 8192 examples at each batch size, interleaved (A B C A B C …), and
prints the median ratio of each to the first: what a smaller batch costs per example.

What it decided (session 4 of issue 12; validation accuracy per round, the numbers in
symnet/train/prepared.py's ``automatic_batch_size`` and ``automatic_rounds``): the round at which
0.90 is reached follows the schedule's horizon (b128-r6: 5 and 5, b64-r6: 4 and 4, against 7 and
7 for b128-r12), and so does the final accuracy (0.903, 0.903 and 0.908, 0.907 against 0.912,
0.914); at the same horizon the batch size, a higher or lower peak rate, a warmup or an
exponential decay did not reach 0.90 reliably sooner (b64-r12: after 5 and 7 rounds;
b128-r12-lr3e-3: 7 and 6, ending at 0.915 and 0.913). So the defaults stayed as they were.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import symnet_net  # noqa: E402

from symnet import All, NetTrain, datasets  # noqa: E402

HELD_OUT = 10_000

# name: NetTrain options added to the defaults. Every candidate spells out its batch size and
# rounds, so that it means the same whatever the defaults are; 12 rounds of 391 batches of 128 was
# the automatic horizon for 50,000 examples before (4500 updates), 6 rounds its half.
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "b128-r12": {"batch_size": 128, "max_training_rounds": 12},
    "b128-r6": {"batch_size": 128, "max_training_rounds": 6},
    "b64-r12": {"batch_size": 64, "max_training_rounds": 12},
    "b64-r6": {"batch_size": 64, "max_training_rounds": 6},
    "b32-r6": {"batch_size": 32, "max_training_rounds": 6},
    "b32-r4": {"batch_size": 32, "max_training_rounds": 4},
    "b128-r12-lr4e-3-warmup": {"batch_size": 128, "max_training_rounds": 12, "learning_rate": 4e-3, "method": ("ADAM", {"warmup": 0.05})},
    "b64-r12-lr1e-3": {"batch_size": 64, "max_training_rounds": 12, "learning_rate": 1e-3},
    "b128-r12-lr3e-3": {"batch_size": 128, "max_training_rounds": 12, "learning_rate": 3e-3},
    "b128-r12-beta2-0.99": {"batch_size": 128, "max_training_rounds": 12, "method": ("ADAM", {"beta2": 0.99})},
    "b64-r12-linear": {"batch_size": 64, "max_training_rounds": 12, "method": ("ADAM", {"learning_rate_schedule": "Linear"})},
    # an exponential decay to the cosine's floor of 0.02: the rate falls fastest early, so each round ends nearer an annealed net
    "b64-r12-exponential": {"batch_size": 64, "max_training_rounds": 12, "method": ("ADAM", {"learning_rate_schedule": lambda progress: 0.02**progress})},
    "b128-r12-exponential": {"batch_size": 128, "max_training_rounds": 12, "method": ("ADAM", {"learning_rate_schedule": lambda progress: 0.02**progress})},
}


def parse_extra(text: str) -> dict[str, Any]:
    """A candidate given on the command line as JSON options, e.g. '{"learning_rate": 0.003}'."""
    options = json.loads(text)
    if "method" in options and isinstance(options["method"], list):
        options["method"] = tuple(options["method"])
    return options


def run(name: str, options: dict[str, Any], seed: int, stop_after: int | None, goal: float) -> dict[str, Any]:
    train = datasets.load("FashionMNIST", split="train")
    labels = np.array(train.class_names)[train.labels]
    fit = (train.images[:-HELD_OUT], labels[:-HELD_OUT])
    held_out = (train.images[-HELD_OUT:], labels[-HELD_OUT:])
    marks: list[float] = []

    def each_round(row: dict[str, Any]) -> bool:
        marks.append(time.perf_counter())
        print(f"  {name} seed {seed} round {len(marks)}: validation accuracy {row['Accuracy']:.4f}  ({marks[-1] - marks[-2] if len(marks) > 1 else marks[-1] - start:.1f} s)", flush=True)
        return stop_after is not None and len(marks) >= stop_after  # the schedule keeps its horizon; only the run is cut

    start = time.perf_counter()
    results = NetTrain(symnet_net(train.class_names), fit, All, validation_set=held_out, random_seeding=seed, training_progress_reporting=None,
                       training_stopping_criterion=each_round, **options)
    accuracy = [round(float(a), 4) for a in results["ValidationMeasurementsLists"]["Accuracy"]]
    reached = next((i + 1 for i, a in enumerate(accuracy) if a >= goal), None)
    summary = {"candidate": name, "seed": seed, "options": repr(options), "accuracy": accuracy, "first_round_at_goal": reached, "goal": goal,
               "final": accuracy[-1], "best": max(accuracy), "seconds": round(time.perf_counter() - start, 1), "batches": results["TotalBatches"],
               "automatic": {k: v for k, v in results["AutomaticChoices"].items() if k in ("learning_rate", "batch_size", "max_training_rounds", "learning_rate_schedule", "warmup")}}
    print("RESULT " + json.dumps(summary), flush=True)
    return summary


def time_batch_sizes(sizes: list[int], repeats: int, examples: int = 8192) -> None:
    """Seconds per example of one NetTrain round at each batch size, interleaved; median ratios to the first."""
    train = datasets.load("FashionMNIST", split="train")
    data = (train.images[:examples], np.array(train.class_names)[train.labels[:examples]])
    net = symnet_net(train.class_names)
    NetTrain(net, (data[0][:1024], data[1][:1024]), All, batch_size=sizes[0], max_training_rounds=1, training_progress_reporting=None)  # warm up
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    for repeat in range(repeats):
        for size in sizes:
            results = NetTrain(net, data, All, batch_size=size, max_training_rounds=1, random_seeding=repeat, training_progress_reporting=None)
            seconds[size].append(results["TotalTrainingTime"])
        print(f"  repeat {repeat + 1}: " + ", ".join(f"batch {size} {seconds[size][-1]:.2f} s" for size in sizes), flush=True)
    ratios = {size: statistics.median(a / b for a, b in zip(seconds[size], seconds[sizes[0]])) for size in sizes}
    print("per example, relative to batch " + f"{sizes[0]} (median of {repeats}): " + ", ".join(f"batch {size} {ratios[size]:.3f}" for size in sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", help=f"names ({', '.join(CANDIDATES)}) or name=JSON options; default: default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stop-after", type=int, default=None, help="stop each run after this many rounds (its schedule unchanged)")
    parser.add_argument("--goal", type=float, default=0.90)
    parser.add_argument("--time", default=None, help="batch sizes to time instead, such as 128,64,32")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.time:
        time_batch_sizes([int(size) for size in args.time.split(",")], args.repeats)
        return
    for candidate in args.candidates or ["default"]:  # without names (make bench): today's automatic rule
        name, _, extra = candidate.partition("=")
        options = parse_extra(extra) if extra else CANDIDATES[name]
        run(name, options, args.seed, args.stop_after, args.goal)


if __name__ == "__main__":
    main()
