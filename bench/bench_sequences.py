"""Training on mixed-length sequences: symnet against the same computation written by hand in torch,
and NetTrain's bucketing by length against shuffled batches. All measured in one process.

(a) LSTM and transformer encoder block, **through NetTrain**: 640 sequences of lengths 5 … 60
    (64 features), 3 rounds of 10 batches of 64, a mean-squared loss on each example's last real
    output (SequenceLastLayer), SGD. NetTrain pads each batch, passes the lengths, masks; the
    torch loop is what a user writes: shuffle, ``pad_sequence``, ``pack_padded_sequence`` (LSTM) or
    a key padding mask (transformer), the last real step, backward, SGD. Whole calls, including
    NetTrain's preparation and compilation. Goal: ratio ≤ 1.05.
(b) The same steps on the compiled module alone (``CompiledNet.run(inputs, wires, lengths)``):
    the engine's share, without NetTrain's data and loop.
(c) The language classifier (examples/language_classifier.py) for one round with
    ``bucketing=True`` against ``bucketing=False`` (needs Debian's word lists).

Variants alternate in one process; the ratio of the medians is reported, and that of the fastest
runs (the least disturbed by other processes). ``--threads`` sets torch's threads
for both sides (default 1: on a machine whose cores other processes share, torch's second thread
spins waiting for a descheduled peer; measured here, a padded LSTM step took 2 s on 1 thread and
15-20 s on 2 with the load at 15).

    .venv/bin/python bench/bench_sequences.py [--repeats N] [--words-per-language N] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from symnet import All, LongShortTermMemoryLayer, MeanSquaredLossLayer, NetChain, NetInitialize, NetTrain, SequenceLastLayer, compiled
from symnet.blocks import transformer_encoder_block

BATCH, SIZE, HIDDEN, BATCHES, ROUNDS = 64, 64, 128, 10, 3
SGD = ("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"})


def sequences(generator: torch.Generator) -> list[torch.Tensor]:
    lengths = torch.randint(5, 61, (BATCH * BATCHES,), generator=generator)
    return [torch.randn(int(n), SIZE, generator=generator) for n in lengths]


def last(y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return y[torch.arange(y.shape[0]), lengths - 1]


# -- (a) NetTrain against a torch loop --------------------------------------------------------------
def nettrain(body: Callable[[], object], data: list[torch.Tensor], width: int) -> Callable[[], float]:
    net = NetInitialize(NetChain([body(), SequenceLastLayer()], input=("Varying", SIZE)))  # initialized once, as the torch model is
    arrays = [x.numpy() for x in data]
    targets = np.zeros((len(data), width), np.float32)

    def run() -> float:
        start = time.perf_counter()
        NetTrain(net, (arrays, targets), loss_function=MeanSquaredLossLayer(), method=SGD, learning_rate=0.01, batch_size=BATCH,
                 max_training_rounds=ROUNDS, bucketing=False, training_progress_reporting=None)
        return time.perf_counter() - start

    return run


def torch_loop(model: nn.Module, forward: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor], data: list[torch.Tensor]) -> Callable[[], float]:
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    lengths = torch.tensor([len(x) for x in data])

    def run() -> float:
        model.load_state_dict(initial)
        start = time.perf_counter()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        for _ in range(ROUNDS):
            order = torch.randperm(len(data))
            for i in range(0, len(data), BATCH):
                index = order[i : i + BATCH]
                x = pad_sequence([data[j] for j in index.tolist()], batch_first=True)
                optimizer.zero_grad(set_to_none=True)
                last(forward(model, x, lengths[index]), lengths[index]).square().mean().backward()
                optimizer.step()
        return time.perf_counter() - start

    return run


def lstm_forward(lstm: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]


def transformer_forward(layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return layer(x, src_key_padding_mask=torch.arange(x.shape[1]).view(1, -1) >= lengths.view(-1, 1))


# -- (b) the compiled module's step -------------------------------------------------------------------
def module_steps(net, batches) -> Callable[[], float]:
    module = compiled(net).train()
    for p in module.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01)
    wire = module.output_wires[0]

    def run() -> float:
        start = time.perf_counter()
        for x, lengths in batches:
            optimizer.zero_grad()
            y = module.run([x], [wire], [lengths])[0]
            last(y, lengths).square().mean().backward()
            optimizer.step()
        return time.perf_counter() - start

    return run


def torch_steps(model: nn.Module, forward, batches) -> Callable[[], float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def run() -> float:
        start = time.perf_counter()
        for x, lengths in batches:
            optimizer.zero_grad()
            last(forward(model, x, lengths), lengths).square().mean().backward()
            optimizer.step()
        return time.perf_counter() - start

    return run


def compare(name: str, ours: Callable[[], float], theirs: Callable[[], float], repeats: int, unit: str, count: int) -> None:
    ours(), theirs()  # warm up
    mine, reference = [], []
    for _ in range(repeats):
        mine.append(ours())
        reference.append(theirs())
    a, b = statistics.median(mine), statistics.median(reference)
    # other processes only ever add time: the fastest runs are the least disturbed
    print(f"{name}: symnet {a / count * 1000:.1f} ms/{unit}, torch {b / count * 1000:.1f} ms/{unit}, ratio {a / b:.3f} (fastest runs: {min(mine) / min(reference):.3f})")


# -- (c) bucketing ------------------------------------------------------------------------------
def bucketing_epoch(repeats: int, per_language: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    from language_classifier import classifier, split
    from wordlists import DICTIONARY, LISTS, alphabet, indices, load_words

    if not all((DICTIONARY / name).exists() for name in LISTS.values()):
        print("language classifier epoch: skipped, Debian's word lists are not installed (scripts/ensure-data.sh)")
        return
    words = load_words()
    train_x, train_y, _, _ = split(words, per_language, 0.2, 0)
    characters = alphabet(train_x)
    net = classifier(len(characters), list(words), 96)
    data = (indices(train_x, characters), train_y)
    said = {}

    def epoch(bucketing: bool) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            results = NetTrain(net, data, All, max_training_rounds=1, batch_size=64, bucketing=bucketing, training_progress_reporting=None)
            said[bucketing] = results["AutomaticChoices"]["bucketing"]
            return time.perf_counter() - start

        return run

    with_buckets, without = epoch(True), epoch(False)
    with_buckets(), without()
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        times[True].append(with_buckets())
        times[False].append(without())
    a, b = statistics.median(times[True]), statistics.median(times[False])
    print(f"language classifier epoch ({len(train_x)} words, batch 64): bucketing {a:.2f} s, shuffled {b:.2f} s, ratio {a / b:.3f} ({said[True]})")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeats", type=int, default=3)
    options.add_argument("--words-per-language", type=int, default=2000)
    options.add_argument("--threads", type=int, default=1)
    arguments = options.parse_args()
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(0)
    data = sequences(torch.Generator().manual_seed(0))
    steps = ROUNDS * BATCHES
    compare("LSTM training through NetTrain", nettrain(lambda: LongShortTermMemoryLayer(HIDDEN), data, HIDDEN),
            torch_loop(nn.LSTM(SIZE, HIDDEN, batch_first=True), lstm_forward, data), arguments.repeats, "batch", steps)
    compare("transformer block training through NetTrain", nettrain(lambda: transformer_encoder_block(SIZE, 4), data, SIZE),
            torch_loop(nn.TransformerEncoderLayer(SIZE, 4, 4 * SIZE, dropout=0.0, batch_first=True), transformer_forward, data), arguments.repeats, "batch", steps)
    batches = [(pad_sequence(data[i : i + BATCH], batch_first=True), torch.tensor([len(x) for x in data[i : i + BATCH]])) for i in range(0, len(data), BATCH)]
    lstm = NetInitialize(NetChain([LongShortTermMemoryLayer(HIDDEN)], input=("Varying", SIZE)))
    compare("LSTM step on the compiled module", module_steps(lstm, batches), torch_steps(nn.LSTM(SIZE, HIDDEN, batch_first=True), lstm_forward, batches),
            arguments.repeats, "step", len(batches))
    block = NetInitialize(NetChain([transformer_encoder_block(SIZE, 4)], input=("Varying", SIZE)))
    compare("transformer block step on the compiled module", module_steps(block, batches),
            torch_steps(nn.TransformerEncoderLayer(SIZE, 4, 4 * SIZE, dropout=0.0, batch_first=True), transformer_forward, batches),
            arguments.repeats, "step", len(batches))
    bucketing_epoch(arguments.repeats, arguments.words_per_language)


if __name__ == "__main__":
    main()
