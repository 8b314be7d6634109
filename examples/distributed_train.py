"""NetTrain on several processes: the same call, launched by torchrun (or with target_device=("cpu", n)).

Launched by torchrun, every process runs this script; NetTrain sees torchrun's environment, joins
its process group (gloo between CPU processes, NCCL between GPUs) and trains with
DistributedDataParallel: each process trains on its share of every batch. Rank 0 reports progress,
writes the checkpoints and gets the full results; every rank gets the same trained net.

    torchrun --nproc-per-node 2 examples/distributed_train.py --out out/distributed
    python examples/distributed_train.py --processes 2 --out out/distributed   # NetTrain starts the processes

Each rank writes the net it got to ``<out>/rank<r>.symnet`` (they are the same net).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from symnet import All, Export, LinearLayer, NetChain, NetMeasurements, NetTrain, SoftmaxLayer


def blobs(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points around two centers, labelled by center: a small problem a linear net learns."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    points = np.array([[2.0, 0.0], [-2.0, 0.0]])[labels] + rng.normal(scale=0.7, size=(count, 2))
    return points.astype(np.float32), labels.astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/distributed"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1, help="processes NetTrain starts itself (not under torchrun)")
    arguments = parser.parse_args()
    rank = int(os.environ.get("RANK", "0"))
    x, y = blobs(203, seed=1)  # 203 examples: batches that do not split evenly over 2 processes
    validation = blobs(51, seed=2)
    net = NetChain([LinearLayer(8), "Tanh", LinearLayer(2), SoftmaxLayer()], input=2)
    device = ("cpu", arguments.processes) if arguments.processes > 1 else "cpu"
    results = NetTrain(net, (x, y), All, max_training_rounds=arguments.rounds, batch_size=16, validation_set=validation, random_seeding=7,
                       target_device=device, training_progress_reporting=None,
                       training_progress_checkpointing={"directory": arguments.out / "checkpoints", "interval": 1})
    arguments.out.mkdir(parents=True, exist_ok=True)
    Export(arguments.out / f"rank{rank}.symnet", results["FinalNet"])
    if rank == 0:
        accuracy = NetMeasurements(results["FinalNet"], validation, "Accuracy")
        print(f"placement: {results['AutomaticChoices'].get('target_device', 'one process')}")
        print(f"round losses: {[round(loss, 4) for loss in results['RoundLossList']]}")
        print(f"validation accuracy: {accuracy:.3f}; checkpoints: {len(results['CheckpointingFiles'])}")


if __name__ == "__main__":
    main()
