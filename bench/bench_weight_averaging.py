"""Would an average of the weights reach an accuracy sooner? Held-out evidence for NetTrain's next automatic choice.

The notebook CNN (bench_train's ``notebook_module``, Xavier start as examples/demo.py's
``initialized_cnn``) trains as NetTrain's defaults do (batch 128, Adam 2e-3, cosine schedule over 12
rounds of 50,000 images, channels-last) on the first 50,000 Fashion-MNIST training images; after
each round the last 10,000 training images (never the test set) measure the accuracy of the
trained weights and of their exponential moving average (torch.optim.swa_utils, ``--decay``).
NetTrain does not average weights yet: this prints what it would gain.

Measured 2026-12-03 (decay 0.995, seeds 1 and 2): the average reached 0.90 in 5 and 4 rounds,
the trained weights in 7 and 5 (rounds 3-5, seed 1: 0.8839/0.8879/0.8885 trained, 0.8931/0.8980/0.9045 averaged).

    python bench/bench_weight_averaging.py [--seed 1] [--decay 0.995] [--rounds 7]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import notebook_module  # noqa: E402

from symnet import datasets  # noqa: E402

TRAIN, BATCH, HORIZON, LEARNING_RATE = 50_000, 128, 12, 2e-3


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        value = (model(x).argmax(1) == y).float().mean().item()
    model.train()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--decay", type=float, default=0.995)
    parser.add_argument("--rounds", type=int, default=7, help="rounds shown (the schedule's horizon stays 12)")
    args = parser.parse_args()
    data = datasets.load("FashionMNIST", split="train")
    # the demo encoder's normalization: Fashion-MNIST's pixel mean and standard deviation
    x = torch.from_numpy(data.images).float().div(255).sub(0.286).div(0.353).view(-1, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(data.labels).long()
    torch.manual_seed(args.seed)
    model = notebook_module()
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    model = model.to(memory_format=torch.channels_last)
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.decay))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    per_round = math.ceil(TRAIN / BATCH)
    total, step = HORIZON * per_round, 0
    reached: dict[str, int | None] = {"trained": None, "averaged": None}
    for round_ in range(1, args.rounds + 1):
        order = torch.randperm(TRAIN)
        for i in range(per_round):
            index = order[i * BATCH : (i + 1) * BATCH]
            for group in optimizer.param_groups:
                group["lr"] = LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            average.update_parameters(model)
            step += 1
        scores = {"trained": accuracy(model, x[TRAIN:], y[TRAIN:]), "averaged": accuracy(average, x[TRAIN:], y[TRAIN:])}
        for name, value in scores.items():
            if reached[name] is None and value >= 0.90:
                reached[name] = round_
        print(f"seed {args.seed}, round {round_}: held-out accuracy {scores['trained']:.4f} trained, {scores['averaged']:.4f} averaged (decay {args.decay})", flush=True)
    print(f"0.90 reached after round {reached['trained']} (trained weights) and {reached['averaged']} (averaged weights); None: not within {args.rounds} rounds")


if __name__ == "__main__":
    main()
