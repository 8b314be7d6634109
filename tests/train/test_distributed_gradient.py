"""NetPortGradient with target_device=("cpu", 2): each process differentiates a share of the batch; the array gradients
add up and the input gradients line up to one process's, and the mistakes are named before any process starts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import symnet.split_evaluation
from symnet import EmbeddingLayer, GatedRecurrentLayer, LinearLayer, NetChain, NetError, NetExtract, NetInitialize, NetPortGradient, SequenceLastLayer, TensorType
from symnet.workers import TEST_EXIT, ProcessFailed


def _regression() -> NetChain:
    # no softmax: the summed outputs of a softmax are 1 whatever the arrays, so their gradient would be 0
    return NetInitialize(NetChain([LinearLayer(8), "Tanh", LinearLayer(3)], input=4), random_seeding=3)


def _inputs(count: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(count, 4)).astype(np.float64)


def test_array_gradients_of_two_shares_add_up_to_one_process() -> None:
    net, x = _regression(), _inputs(7)  # shares of 4 and 3 examples
    request = NetPortGradient([0, "Weights"])
    split = net(x, request, target_device=("cpu", 2), working_precision="Real64")
    alone = net(x, request, working_precision="Real64")
    assert split.shape == (8, 4)
    np.testing.assert_allclose(split, alone, rtol=1e-12, atol=1e-12)
    # the reference: torch's gradient of the summed outputs (float64)
    w1, b1, w2, b2 = (torch.tensor(np.asarray(NetExtract(net, [layer, name])), dtype=torch.float64) for layer in (0, 2) for name in ("Weights", "Biases"))
    w1.requires_grad_(True)
    (torch.tanh(torch.tensor(x) @ w1.T + b1) @ w2.T + b2).sum().backward()
    np.testing.assert_allclose(split, w1.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_input_gradients_of_sequences_line_up_in_order_and_length() -> None:
    rng = np.random.default_rng(2)
    sequences = [rng.normal(size=(int(rng.integers(1, 6)), 2)) for _ in range(5)]
    net = NetInitialize(NetChain([GatedRecurrentLayer(3), SequenceLastLayer(), LinearLayer(2)], input=TensorType(("Varying", 2))), random_seeding=4)
    split = net(sequences, NetPortGradient("Input"), target_device=("cpu", 2), working_precision="Real64")
    alone = net(sequences, NetPortGradient("Input"), working_precision="Real64")
    assert [len(gradient) for gradient in split] == [len(sequence) for sequence in sequences]
    for left, right in zip(split, alone, strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-12, atol=1e-12)


def test_gradient_mistakes_are_named_before_any_process_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started")

    monkeypatch.setattr(symnet.split_evaluation, "launched", no_processes)
    net, x = _regression(), _inputs(4)
    with pytest.raises(NetError, match=r"NetPortGradient\(0, 'Scales'\): name an input port of the net \(Input\) or an array of a layer, such as NetPortGradient\(\[layer, \"Weights\"\]\)"):
        net(x, NetPortGradient([0, "Scales"]), target_device=("cpu", 2))
    with pytest.raises(NetError, match=r'NetChain: target_device=\("cpu", 5\) splits the examples over 5 processes, but there are only 4 examples; each process needs at least one\. '
                                        r'Use \("cpu", 4\) or fewer processes'):
        net(x, NetPortGradient("Input"), target_device=("cpu", 5))
    words = NetInitialize(NetChain([EmbeddingLayer(3), SequenceLastLayer()], input=TensorType(("Varying",), "Integer", 5)), random_seeding=1)
    with pytest.raises(NetError, match=r'NetPortGradient\("Input"\): the port takes integers, which have no gradient\.'):
        words([[1, 2], [3]], NetPortGradient("Input"), target_device=("cpu", 2))


def test_a_worker_that_dies_ends_the_gradient_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_EXIT, "1:1")  # rank 1 ends abruptly (os._exit(17)) before differentiating its share
    with pytest.raises(ProcessFailed, match=r'NetChain: evaluating with target_device=\("cpu", 2\) failed: process 1 exited with code 17'):
        _regression()(_inputs(6), NetPortGradient("Input"), target_device=("cpu", 2))
