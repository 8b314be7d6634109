"""The batch loss on 2 processes: it travels with the gradients' all-reduce (no collective of its own), and a loss
that is not finite on one process stops every process on the same batch with the arrays and the report of 1 process."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from symnet import All, ElementwiseLayer, LinearLayer, NetChain, NetTrain, SoftmaxLayer

from .conftest import _blobs, _classifier
from .test_distributed import OPTIONS, _all_arrays

NON_FINITE = r"NetTrain stopped early \(NonFiniteLoss\): the loss of batch 3 is not finite"


def test_a_nan_in_one_process_share_stops_both_processes_like_one() -> None:
    x, y = _blobs(33, seed=3)
    # the first round's order is torch.randperm with the seed (checked below by the batch that stops); position 21 is in
    # batch 3 (positions 16-23), in rank 1's half of it (20-23): only rank 1's loss is NaN, rank 0's is finite
    order = torch.randperm(33, generator=torch.Generator().manual_seed(OPTIONS["random_seeding"]))
    x = np.abs(x) + 0.1
    x[int(order[21])] = -1.0  # the log of a negative number: NaN (the data itself is finite, as NetTrain requires)
    net = NetChain([ElementwiseLayer("Log"), LinearLayer(16), "Tanh", LinearLayer(2), SoftmaxLayer()], input=2)
    with pytest.warns(UserWarning, match=NON_FINITE):
        one = NetTrain(net, (x, y), All, max_training_rounds=2, **OPTIONS)
    with pytest.warns(UserWarning, match=NON_FINITE):
        two = NetTrain(net, (x, y), All, max_training_rounds=2, target_device=("cpu", 2), **OPTIONS)
    assert one["ReasonTrainingStoppedDetails"]["NonFiniteBatch"] == 3
    assert two["ReasonTrainingStopped"] == "NonFiniteLoss"
    assert two["ReasonTrainingStoppedDetails"] == one["ReasonTrainingStoppedDetails"]
    assert two["TotalBatches"] == one["TotalBatches"] == 2
    np.testing.assert_allclose(two["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    # both returned the arrays from before the NaN batch (rank 0 never saw a NaN of its own)
    for left, right in zip(_all_arrays(one["TrainedNet"]), _all_arrays(two["TrainedNet"]), strict=True):
        np.testing.assert_allclose(left, right, rtol=0, atol=2e-6)
    assert np.isfinite(np.asarray(two["TrainedNet"](np.ones((1, 2), np.float32)))).all()
    # the loss rode in DDP's gradient buckets: one all-reduce per batch, the NaN batch's too
    assert two["AutomaticChoices"]["communication"]["all_reduces"] == 3


def test_an_exploding_loss_keeps_the_same_arrays_on_two_processes_as_on_one() -> None:
    # the divergence watch reads the whole batch's loss on every process: the same kept batch, the same stop
    x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)
    y = x[:, :1] * 1e4
    net = NetChain([LinearLayer(16), "Ramp", LinearLayer(1)], input=8)
    options = {"method": ("SGD", {"learning_rate_schedule": "Constant"}), "learning_rate": 0.004, "batch_size": 16,
               "random_seeding": 5, "training_progress_reporting": None}
    with pytest.warns(UserWarning, match="NonFiniteLoss"):
        one = NetTrain(net, (x, y), All, **options)
    with pytest.warns(UserWarning, match="NonFiniteLoss"):
        two = NetTrain(net, (x, y), All, target_device=("cpu", 2), **options)
    details = one["ReasonTrainingStoppedDetails"]
    assert details["DivergedBatch"] < details["NonFiniteBatch"]  # the watch saw an explosion before the NaN
    assert two["ReasonTrainingStoppedDetails"] == details
    np.testing.assert_allclose(two["BatchLossList"], one["BatchLossList"], rtol=1e-4)
    for left, right in zip(_all_arrays(one["TrainedNet"]), _all_arrays(two["TrainedNet"]), strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-4, atol=1e-5)



def _fails_at_batch_3(progress: dict[str, Any]) -> None:
    if progress.get("AbsoluteBatch") == 3:
        raise RuntimeError("the callback failed")


def test_a_stop_on_rank_0_mid_round_stops_both_processes_after_the_same_batch() -> None:
    # rank 0 alone reports: its callback's error stops it after batch 3; the other process learns it with batch 4's
    # gradients (no collective of its own), and neither takes batch 4's step
    x, y = _blobs(33, seed=3)
    options = {**OPTIONS, "training_progress_reporting": _fails_at_batch_3}
    with pytest.warns(UserWarning, match=r"NetTrain stopped early \(Error\): RuntimeError: the callback failed"):
        one = NetTrain(_classifier(), (x, y), All, max_training_rounds=2, **options)
    with pytest.warns(UserWarning, match=r"NetTrain stopped early \(Error\): RuntimeError: the callback failed"):
        two = NetTrain(_classifier(), (x, y), All, max_training_rounds=2, target_device=("cpu", 2), **options)
    assert two["ReasonTrainingStoppedDetails"] == one["ReasonTrainingStoppedDetails"]
    assert two["TotalBatches"] == one["TotalBatches"] == 3
    np.testing.assert_allclose(two["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    for left, right in zip(_all_arrays(one["TrainedNet"]), _all_arrays(two["TrainedNet"]), strict=True):
        np.testing.assert_allclose(left, right, rtol=0, atol=2e-6)
    assert two["AutomaticChoices"]["communication"]["all_reduces"] == 4  # batch 4 carried the stop, its update untaken
