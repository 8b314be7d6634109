"""Evaluation speed of a symnet net against the same torch.nn.Module written by hand.

The notebook CNN (conv 32@5, pool, conv 32@5, pool, conv 64@3, pool, dense 64, dense 10) with
identical weights: (1) throughput on 10,000 28×28 inputs, symnet/torch (goal ≤ 1.05);
(2) per-call overhead of ``net(x)`` on one example over a bare module call (goal ≤ 100 µs).
Variants run interleaved in one process (A B A B …) and medians are reported, since absolute
rates swing by ±40% on these shared machines.

    .venv/bin/python bench/bench_core.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from symnet import ConvolutionLayer, LinearLayer, NetChain, NetExtract, NetInitialize, PoolingLayer


class NotebookCNN(nn.Module):
    """The model of the PyTorch MNIST notebook, as written there."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)
        self.conv2 = nn.Conv2d(32, 32, 5)
        self.conv3 = nn.Conv2d(32, 64, 3)
        self.dense1 = nn.Linear(64, 64)
        self.dense2 = nn.Linear(64, 10)
        self.maxpool1 = nn.MaxPool2d((2, 2), stride=(2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool1(F.relu(self.conv1(x)))
        x = self.maxpool1(F.relu(self.conv2(x)))
        x = self.maxpool1(F.relu(self.conv3(x)))
        x = x.view(-1, 64)
        x = F.relu(self.dense1(x))
        return self.dense2(x)


def symnet_cnn() -> NetChain:
    return NetChain(
        {
            "conv1": ConvolutionLayer(32, 5), "relu1": "Ramp", "pool1": PoolingLayer(2, 2),
            "conv2": ConvolutionLayer(32, 5), "relu2": "Ramp", "pool2": PoolingLayer(2, 2),
            "conv3": ConvolutionLayer(64, 3), "relu3": "Ramp", "pool3": PoolingLayer(2, 2),
            "dense1": LinearLayer(64), "relu4": "Ramp", "dense2": LinearLayer(10),
        },
        input=(1, 28, 28),
    )


def copy_weights(net: NetChain, model: NotebookCNN) -> None:
    with torch.no_grad():
        for name in ("conv1", "conv2", "conv3", "dense1", "dense2"):
            module = getattr(model, name)
            module.weight.copy_(torch.as_tensor(NetExtract(net, [name, "Weights"])))
            module.bias.copy_(torch.as_tensor(NetExtract(net, [name, "Biases"])))


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = NetInitialize(symnet_cnn())
    model = NotebookCNN().eval()
    copy_weights(net, model)
    data = np.random.default_rng(0).random((10_000, 1, 28, 28), dtype=np.float32)
    tensor = torch.from_numpy(data)

    def torch_throughput() -> None:
        with torch.inference_mode():
            for i in range(0, len(tensor), 1000):
                model(tensor[i : i + 1000])

    def symnet_throughput() -> None:
        net(data)

    # correctness first: the two compute the same function
    with torch.inference_mode():
        expected = model(tensor[:100]).numpy()
    np.testing.assert_allclose(net(data[:100]), expected, rtol=1e-4, atol=1e-5)

    torch_times, symnet_times = [], []
    symnet_throughput(), torch_throughput()  # warm-up
    for _ in range(args.repeats):
        torch_times.append(timed(torch_throughput))
        symnet_times.append(timed(symnet_throughput))
    t_torch, t_symnet = statistics.median(torch_times), statistics.median(symnet_times)
    print(f"throughput, 10,000 inputs: torch {10_000 / t_torch:,.0f}/s, symnet {10_000 / t_symnet:,.0f}/s, time ratio symnet/torch = {t_symnet / t_torch:.3f} (goal <= 1.05)")

    one = data[0]
    one_tensor = torch.from_numpy(one).unsqueeze(0)

    def torch_single() -> None:
        with torch.inference_mode():
            for _ in range(args.calls):
                model(one_tensor)

    def symnet_single() -> None:
        for _ in range(args.calls):
            net(one)

    torch_single(), symnet_single()
    overheads = []
    for _ in range(args.repeats):
        bare = timed(torch_single) / args.calls
        ours = timed(symnet_single) / args.calls
        overheads.append(ours - bare)
    print(f"single example: bare module {bare * 1e6:.0f} µs, net(x) {ours * 1e6:.0f} µs, overhead median {statistics.median(overheads) * 1e6:.0f} µs (goal <= 100 µs)")


if __name__ == "__main__":
    main()
