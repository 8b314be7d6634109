"""NetTrain against hand-written PyTorch loops on Fashion-MNIST, measured in one process.

(a) One epoch of the PyTorch MNIST notebook's CNN through NetTrain versus a plain PyTorch loop
    over the same in-memory data, same batch size, Adam, float32; runs interleaved
    (A B A B …) and reports the median ratio (goal ≤ 1.05).
(b) ``--time-to-accuracy``: wall time for NetTrain with its default settings to reach 0.90
    test accuracy, versus the notebook's own loop (batch 8, Adam 1e-3, a DataLoader over a
    per-example dataset), whose epochs are capped so that the benchmark finishes.

    python bench/bench_train.py [--repeats 3] [--time-to-accuracy] [--notebook-epochs 3]   (--repeats 0 skips (a))
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from symnet import All, NetTrain, datasets
from symnet.train.options import bf16_supported

BATCH = 128


def notebook_module() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def symnet_net(class_names):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    from demo import initialized_cnn

    return initialized_cnn(class_names)


def plain_epoch(images: torch.Tensor, labels: torch.Tensor, seed: int, bfloat16: bool = False) -> float:
    """The loop a PyTorch user writes for in-memory data: randperm, index, forward, backward, step;
    ``bfloat16``: the forward pass under bfloat16 autocast (what "Mixed" does)."""
    torch.manual_seed(seed)
    model = notebook_module()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    start = time.perf_counter()
    model.train()
    order = torch.randperm(len(images))
    for i in range(0, len(images), BATCH):
        index = order[i : i + BATCH]
        x = images[index].float().div_(255).unsqueeze(1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            loss = F.cross_entropy(model(x), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def nettrain_epoch(net, train, seed: int) -> tuple[float, float]:
    """(wall time of the whole NetTrain call, time NetTrain reports for the loop itself)."""
    start = time.perf_counter()
    results = NetTrain(net, train, All, batch_size=BATCH, max_training_rounds=1, random_seeding=seed, training_progress_reporting=None, working_precision="Real32")
    return time.perf_counter() - start, results["TotalTrainingTime"]


def test_accuracy(module: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    module.eval()
    with torch.inference_mode():
        scores = torch.cat([module(images[i : i + 1000].float().div(255).unsqueeze(1)) for i in range(0, len(images), 1000)])
    module.train()
    return float((scores.argmax(1) == labels).float().mean())


class PerExample(torch.utils.data.Dataset):
    """What torchvision's FashionMNIST with ToTensor() does: one example at a time."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0), int(self.labels[index])


def notebook_time_to_accuracy(train, test, epochs: int, goal: float) -> tuple[float | None, list[tuple[float, float]]]:
    torch.manual_seed(0)
    model = notebook_module()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(PerExample(train.images, train.labels), batch_size=8, shuffle=True)
    test_images, test_labels = torch.from_numpy(test.images), torch.from_numpy(test.labels)
    start, history, reached = time.perf_counter(), [], None
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        accuracy = test_accuracy(model, test_images, test_labels)
        history.append((time.perf_counter() - start, accuracy))
        print(f"  notebook loop: epoch {len(history)}  test accuracy {accuracy:.4f}  {history[-1][0]:.0f} s", flush=True)
        if accuracy >= goal:
            reached = history[-1][0]
            break
    return reached, history


def nettrain_time_to_accuracy(net, train, test, goal: float) -> tuple[float | None, Any]:
    """Default settings; the test set is the validation set, so its accuracy is measured each round."""
    start = time.perf_counter()
    results = NetTrain(net, train, All, validation_set=test, training_stopping_criterion=lambda row: row["Accuracy"] >= goal, training_progress_reporting="Print",
                       working_precision="Mixed" if bf16_supported() else "Real32")
    elapsed = time.perf_counter() - start
    accuracy = results["ValidationMeasurementsLists"]["Accuracy"]
    return (elapsed if max(accuracy) >= goal else None), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-to-accuracy", action="store_true")
    parser.add_argument("--notebook-epochs", type=int, default=3)
    args = parser.parse_args()

    train = datasets.load("FashionMNIST", split="train")
    test = datasets.load("FashionMNIST", split="test")
    net = symnet_net(train.class_names)
    images, labels = torch.from_numpy(train.images), torch.from_numpy(train.labels)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; Fashion-MNIST {len(images)} examples, batch {BATCH}, Adam, float32")

    # warm up both paths (imports, allocator), then alternate
    NetTrain(net, (train.images[:2048], np.array(train.class_names)[train.labels[:2048]]), batch_size=BATCH, max_training_rounds=1, training_progress_reporting=None)
    plain, whole, loop = [], [], []
    for repeat in range(args.repeats):
        plain.append(plain_epoch(images, labels, repeat))
        total, inner = nettrain_epoch(net, train, repeat)
        whole.append(total)
        loop.append(inner)
        print(f"  repeat {repeat + 1}: plain loop {plain[-1]:.1f} s   NetTrain {whole[-1]:.1f} s (loop {loop[-1]:.1f} s)   ratio {whole[-1] / plain[-1]:.2f}", flush=True)
    ratios = [w / p for w, p in zip(whole, plain)]
    if ratios:
            print(f"(a) one epoch: plain loop median {statistics.median(plain):.1f} s, NetTrain median {statistics.median(whole):.1f} s "
              f"(whole call, incl. data checks); median ratio NetTrain/plain = {statistics.median(ratios):.2f} (goal ≤ 1.05)")

    if args.time_to_accuracy:
        goal = 0.90
        print(f"(b) time to {goal} test accuracy")
        ours, results = nettrain_time_to_accuracy(net, train, test, goal)
        theirs, history = notebook_time_to_accuracy(train, test, args.notebook_epochs, goal)
        ours_text = f"{ours:.0f} s ({results['TotalRounds']} rounds, automatic: {results['AutomaticChoices']})" if ours else "not reached"
        theirs_text = f"{theirs:.0f} s" if theirs else f"not reached in {len(history)} epochs ({history[-1][0]:.0f} s, best {max(a for _, a in history):.4f})"
        print(f"    NetTrain defaults: {ours_text}")
        print(f"    notebook loop (batch 8, Adam 1e-3, DataLoader): {theirs_text}")
        if ours and theirs:
            print(f"    speed-up: {theirs / ours:.1f}×")
        elif ours:
            print(f"    speed-up: more than {history[-1][0] / ours:.1f}× (the notebook loop had not reached {goal} when it was stopped)")


if __name__ == "__main__":
    main()
