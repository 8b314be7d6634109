"""Fault injection for NetTrain: nothing trained is lost once the first batch has run.

Diverging losses, failing checkpoint writes, bad batches from a generator, damaged checkpoints
and SIGKILL: each stops (or resumes) with a clear reason and the work so far.
"""

import numpy as np
import pytest

from symnet import All, LinearLayer, NetChain, NetTrain

QUIET = {"training_progress_reporting": None}


def mean_square(net, x, y):
    return float(np.mean((np.asarray(net(x), dtype=np.float64) - y) ** 2))


# -- 9.1: a diverging run returns the net from before the losses exploded ---------------------
def test_exploding_loss_returns_the_arrays_from_before_the_explosion():
    x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)
    y = x[:, :1] * 1e4
    net = NetChain([LinearLayer(16), "Ramp", LinearLayer(1)], input=8)
    with pytest.warns(UserWarning, match=r"NetTrain stopped early \(NonFiniteLoss\): the loss of batch 5 is not finite"):
        results = NetTrain(net, (x, y), All, method=("SGD", {"learning_rate_schedule": "Constant"}), learning_rate=0.004, batch_size=16, **QUIET)
    assert results["ReasonTrainingStopped"] == "NonFiniteLoss"
    losses = results["BatchLossList"]
    assert len(losses) == 4 and losses[2] > 1000 * losses[1]  # batch 3's loss exploded, batch 5's was not finite
    details = results["ReasonTrainingStoppedDetails"]
    assert (details["DivergedBatch"], details["NonFiniteBatch"], details["ArraysFromBatch"]) == (3, 5, 2)
    # the net returned is the one batch 2 ran with: its loss is that of the start of training, not ~1e69
    trained = mean_square(results["TrainedNet"], x, y)
    assert np.isfinite(trained) and trained < 2 * losses[0]
    assert mean_square(results["FinalNet"], x, y) == trained



def test_a_non_finite_first_batch_returns_the_initial_net():
    from symnet import ElementwiseLayer, NetExtract, NetInitialize

    x = np.full((32, 2), 100.0, dtype=np.float32)
    net = NetInitialize(NetChain([LinearLayer(1, arrays={"Weights": np.full((1, 2), 10.0, dtype=np.float32), "Biases": np.zeros(1, dtype=np.float32)}), ElementwiseLayer("Exp")], input=2))
    with pytest.warns(UserWarning, match=r"the net returned has the arrays it started with"):
        results = NetTrain(net, (x, np.ones((32, 1), dtype=np.float32)), All, max_training_rounds=2, **QUIET)
    assert results.reason_training_stopped == "NonFiniteLoss" and results.total_batches == 0
    assert results.reason_training_stopped_details["NonFiniteBatch"] == 1
    np.testing.assert_array_equal(NetExtract(results.trained_net, [0, "Weights"]), NetExtract(net, [0, "Weights"]))
