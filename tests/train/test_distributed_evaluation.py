"""net(x) and NetMeasurements with target_device=("cpu", 2): a batch split over 2 processes equals one process.

Each call that splits starts one worker (the test's own process is rank 0), so the nets and
batches are tiny; the mistakes are checked before any process starts.
"""

from __future__ import annotations

import numpy as np
import pytest

from symnet import (
    EmbeddingLayer,
    GatedRecurrentLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetError,
    NetInitialize,
    NetMeasurements,
    SoftmaxLayer,
    TensorType,
)
from symnet.workers import TEST_EXIT, ProcessFailed

CLASSES = ["a", "b", "c"]


def _classifier() -> NetChain:
    net = NetChain([LinearLayer(8), "Tanh", LinearLayer(3), SoftmaxLayer()], input=4, output=NetDecoder("Class", CLASSES))
    return NetInitialize(net, random_seeding=3)


def _inputs(count: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(count, 4)).astype(np.float32)


def test_a_batch_split_over_two_processes_comes_back_whole_and_in_order() -> None:
    net, x = _classifier(), _inputs(7)  # 7 examples: shares of 4 and 3
    probabilities = net(x, None, target_device=("cpu", 2))
    assert probabilities.shape == (7, 3)
    # each row is its own example's (the rows differ, so a lost, doubled or moved example shows)
    np.testing.assert_allclose(probabilities, net(x, None), rtol=1e-6, atol=1e-7)
    assert net(x, target_device=("cpu", 2)) == net(x)  # through the Class decoder too


def test_sequences_of_different_lengths_split_like_one_process() -> None:
    rng = np.random.default_rng(2)
    words = [rng.integers(0, 7, int(rng.integers(1, 9))) for _ in range(5)]
    net = NetInitialize(NetChain([EmbeddingLayer(4), GatedRecurrentLayer(3)], input=TensorType(("Varying",), "Integer", 7)), random_seeding=4)
    split, alone = net(words, target_device=("cpu", 2)), net(words)
    assert [len(sequence) for sequence in split] == [len(word) for word in words]
    for left, right in zip(split, alone, strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)


def test_measurements_split_over_two_processes_count_every_example_once() -> None:
    net, x = _classifier(), _inputs(9)
    labels = [CLASSES[i % 3] for i in range(9)]
    wanted = ["Accuracy", "Loss", "ConfusionMatrix"]
    split = NetMeasurements(net, (x, labels), wanted, target_device=("cpu", 2), batch_size=2)
    alone = NetMeasurements(net, (x, labels), wanted)
    assert split["Accuracy"] == alone["Accuracy"]
    assert split["Loss"] == pytest.approx(alone["Loss"], rel=1e-6)
    np.testing.assert_array_equal(split["ConfusionMatrix"], alone["ConfusionMatrix"])
    assert int(np.sum(split["ConfusionMatrix"])) == 9


def test_more_processes_than_examples_is_a_mistake_named_before_any_process_starts() -> None:
    net = _classifier()
    with pytest.raises(NetError, match=r'NetChain: target_device=\("cpu", 4\) splits the examples over 4 processes, but there are only 3 examples; '
                                        r'each process needs at least one\. Use \("cpu", 3\) or fewer processes, or "cpu" for one'):
        net(_inputs(3), target_device=("cpu", 4))
    with pytest.raises(NetError, match=r"there is only 1 example"):
        net(_inputs(1)[0], target_device=("cpu", 2))
    with pytest.raises(NetError, match=r'NetMeasurements: target_device=\("cpu", 3\) splits the examples over 3 processes, but there are only 2 examples'):
        NetMeasurements(net, (_inputs(2), ["a", "b"]), "Accuracy", target_device=("cpu", 3))
    with pytest.raises(NetError, match=r'NetChain: evaluation_mode="Train" cannot be split over processes: .* on one device \(target_device="cpu"\)'):
        net(_inputs(4), target_device=("cpu", 2), evaluation_mode="Train")


def test_a_worker_that_dies_ends_the_evaluation_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_EXIT, "1:1")  # rank 1 ends abruptly (os._exit(17)) before computing its share
    with pytest.raises(ProcessFailed, match=r'NetChain: evaluating with target_device=\("cpu", 2\) failed: process 1 exited with code 17 .*"cpu" evaluates in this process alone'):
        _classifier()(_inputs(6), target_device=("cpu", 2))
