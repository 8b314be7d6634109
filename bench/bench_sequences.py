"""Training steps on mixed-length batches: symnet's LSTM and transformer encoder block against
the same computation written by hand in torch (pack_padded_sequence; a key padding mask).

Each step is forward, a loss on each example's last real output, backward and an SGD update,
on a batch of 64 sequences of lengths 5 … 60 (padded to the longest). symnet runs its compiled
module with the lengths (``CompiledNet.run(inputs, wires, lengths)``, what the engine does for
a padded batch); the torch versions are what a user writes. Variants alternate in one process
and medians are reported (goal: ratio ≤ 1.05).

    .venv/bin/python bench/bench_sequences.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from symnet import LongShortTermMemoryLayer, NetChain, NetInitialize, compiled
from symnet.blocks import transformer_encoder_block

BATCH, SIZE, HIDDEN = 64, 64, 128


def batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.randint(5, 61, (BATCH,), generator=generator)
    x = torch.randn(BATCH, int(lengths.max()), SIZE, generator=generator)
    return x * (torch.arange(x.shape[1]).view(1, -1, 1) < lengths.view(-1, 1, 1)), lengths


def last(y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return y[torch.arange(y.shape[0]), lengths - 1]


def symnet_step(net):
    module = compiled(net).train()
    for p in module.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01)
    wire = module.output_wires[0]

    def step(x: torch.Tensor, lengths: torch.Tensor) -> None:
        optimizer.zero_grad()
        y = module.run([x], [wire], [lengths])[0]
        last(y, lengths).square().mean().backward()
        optimizer.step()

    return step


def torch_lstm_step():
    lstm = nn.LSTM(SIZE, HIDDEN, batch_first=True)
    optimizer = torch.optim.SGD(lstm.parameters(), lr=0.01)

    def step(x: torch.Tensor, lengths: torch.Tensor) -> None:
        optimizer.zero_grad()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        y, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        last(y, lengths).square().mean().backward()
        optimizer.step()

    return step


def torch_transformer_step():
    layer = nn.TransformerEncoderLayer(SIZE, 4, 4 * SIZE, dropout=0.0, batch_first=True)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.01)

    def step(x: torch.Tensor, lengths: torch.Tensor) -> None:
        optimizer.zero_grad()
        padding = torch.arange(x.shape[1]).view(1, -1) >= lengths.view(-1, 1)
        y = layer(x, src_key_padding_mask=padding)
        last(y, lengths).square().mean().backward()
        optimizer.step()

    return step


def timed(step, batches) -> float:
    start = time.perf_counter()
    for x, lengths in batches:
        step(x, lengths)
    return time.perf_counter() - start


def compare(name: str, ours, theirs, repeats: int) -> None:
    generator = torch.Generator().manual_seed(0)
    batches = [batch(generator) for _ in range(10)]
    timed(ours, batches[:2]), timed(theirs, batches[:2])  # warm up
    mine, reference = [], []
    for _ in range(repeats):
        mine.append(timed(ours, batches))
        reference.append(timed(theirs, batches))
    a, b = statistics.median(mine), statistics.median(reference)
    print(f"{name}: symnet {a / len(batches) * 1000:.1f} ms/step, torch {b / len(batches) * 1000:.1f} ms/step, ratio {a / b:.3f}")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeats", type=int, default=5)
    arguments = options.parse_args()
    torch.manual_seed(0)
    lstm = NetInitialize(NetChain([LongShortTermMemoryLayer(HIDDEN)], input=("Varying", SIZE)))
    compare("LSTM training step", symnet_step(lstm), torch_lstm_step(), arguments.repeats)
    block = NetInitialize(NetChain([transformer_encoder_block(SIZE, 4)], input=("Varying", SIZE)))
    compare("transformer block training step", symnet_step(block), torch_transformer_step(), arguments.repeats)


if __name__ == "__main__":
    main()
