"""NetTrain's thread choice for large convolutional batches (symnet.train.threads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symnet import All, ConvolutionLayer, FlattenLayer, LinearLayer, NetChain, NetInitialize, NetTrain, PoolingLayer, SoftmaxLayer
from symnet.train import threads
from symnet.train.threads import forget_choice


@pytest.fixture(autouse=True)
def fresh_choice():
    before = torch.get_num_threads()
    forget_choice()
    torch.set_num_threads(2)
    yield
    forget_choice()
    torch.set_num_threads(before)


def _train(batch_size: int, seconds_per_batch: dict[bool, float] | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> dict[str, object]:
    if seconds_per_batch is not None and monkeypatch is not None:
        calls: list[None] = []

        def clock() -> float:  # each call one batch's cost later: the probe times a batch by two calls
            calls.append(None)
            return len(calls) * seconds_per_batch[torch.get_num_threads() > 1]

        monkeypatch.setattr(threads.time, "perf_counter", clock)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8 * 256, 1, 16, 16)).astype(np.float32)  # 256 examples of 256 values: a batch of 2**16
    y = rng.integers(0, 2, len(x))
    net = NetInitialize(NetChain([ConvolutionLayer(2, 3), "Ramp", PoolingLayer(2, 2), FlattenLayer(), LinearLayer(2), SoftmaxLayer()], input=(1, 16, 16)), random_seeding=1)
    results = NetTrain(net, (x, y), All, batch_size=batch_size, max_training_rounds=1, training_progress_reporting=None)
    return results["AutomaticChoices"]


def test_one_thread_is_kept_when_the_first_batches_ran_faster_on_it(monkeypatch):
    choices = _train(256, {True: 0.5, False: 0.05}, monkeypatch)
    assert str(choices["threads"]).startswith("1 (measured: 500 ms a batch on 2 threads, 50 ms on 1; the other processes keep the cores busy)")
    assert torch.get_num_threads() == 2  # restored after training
    # the choice holds for the rest of the process (the same seed trains with the same threads)
    monkeypatch.undo()
    assert _train(256)["threads"] == "1 (measured earlier in this process)"


def test_all_threads_stay_unless_one_is_clearly_faster(monkeypatch):
    choices = _train(256, {True: 0.05, False: 0.045}, monkeypatch)
    assert str(choices["threads"]).startswith("2 (measured: 50 ms a batch on 2 threads, 45 ms on 1; one thread was not clearly faster)")


def test_small_batches_are_not_measured():
    assert "threads" not in _train(64)  # 64 examples of 256 values: 2**14


def test_batches_from_2_to_the_15_values_are_measured(monkeypatch):
    # 128 examples of 256 values (like the notebook CNN's batches of 64 of 784 values, which were 8.6x
    # slower on 2 busy cores than on 1 while only batches from 2**16 values were measured)
    choices = _train(128, {True: 0.5, False: 0.05}, monkeypatch)
    assert str(choices["threads"]).startswith("1 (measured: 500 ms a batch on 2 threads, 50 ms on 1;")
