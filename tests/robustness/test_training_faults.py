"""Fault injection for NetTrain: nothing trained is lost once the first batch has run.

Diverging losses, failing checkpoint writes, bad batches from a generator, damaged checkpoints
and SIGKILL: each stops (or resumes) with a clear reason and the work so far.
"""

import numpy as np
import pytest

from symnet import All, LinearLayer, NetChain, NetTrain

QUIET = {"training_progress_reporting": None}


@pytest.fixture
def blobs():
    """``blobs(n) -> (x, y)``: two separable Gaussian blobs of 2-vectors and their classes."""

    def make(n=64, seed=0):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, n)
        x = (np.array([[2.0, 0.0], [-2.0, 0.0]])[y] + rng.normal(scale=0.5, size=(n, 2))).astype(np.float32)
        return x, y.astype(np.int64)

    return make


@pytest.fixture
def classifier():
    from symnet import SoftmaxLayer

    return lambda: NetChain([LinearLayer(16), "Tanh", LinearLayer(2), SoftmaxLayer()], input=2)


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


# -- 9.3: a failure mid-training stops with a reason and keeps the work -----------------------
def test_an_unusable_checkpoint_directory_fails_before_the_first_batch(tmp_path, blobs, classifier):
    from symnet import NetError

    x, y = blobs(n=32)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(NetError, match=r"NetTrain: training_progress_checkpointing: cannot write the checkpoint directory '.*file/run' \(Not a directory"):
        NetTrain(classifier(), (x, y), training_progress_checkpointing=("Directory", blocker / "run"), **QUIET)


def test_a_failing_checkpoint_write_stops_and_returns_the_net_so_far(tmp_path, monkeypatch, blobs, classifier):
    from symnet.train import checkpoint

    x, y = blobs(n=64)
    real_save, writes = checkpoint.save, []

    def full_disk(path, *args):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(28, "No space left on device", str(path))
        real_save(path, *args)

    monkeypatch.setattr(checkpoint, "save", full_disk)
    with pytest.warns(UserWarning, match=r"CheckpointWriteFailed"):
        results = NetTrain(classifier(), (x, y), All, batch_size=16, max_training_rounds=5, training_progress_checkpointing=("Directory", tmp_path), **QUIET)
    assert results["ReasonTrainingStopped"] == "CheckpointWriteFailed"
    assert "No space left on device" in results["ReasonTrainingStoppedDetails"]["Message"]
    assert results.total_rounds == 2 and results.trained_net.initialized


def test_a_bad_batch_from_a_generator_stops_and_returns_the_net_so_far(blobs, classifier):
    x, y = blobs(n=64)
    calls = []

    def generator(size):
        calls.append(size)
        if len(calls) == 6:
            return {"Input": np.zeros((size, 3), dtype=np.float32), "Output": y[:size]}
        return {"Input": x[:size], "Output": y[:size]}

    with pytest.warns(UserWarning, match=r"InvalidBatch"):
        results = NetTrain(classifier(), (generator, {"round_length": 64}), All, batch_size=16, max_training_rounds=3, **QUIET)
    assert results["ReasonTrainingStopped"] == "InvalidBatch" and results.total_batches == 4
    assert "shape (2,)" in results["ReasonTrainingStoppedDetails"]["Message"]


# -- 9.4: a damaged checkpoint is named, and resuming falls back to the newest intact one -----
def test_resume_skips_a_damaged_checkpoint(tmp_path, blobs, classifier):
    from symnet import NetError
    from symnet.train import checkpoint

    x, y = blobs(n=64)
    options = dict(batch_size=16, max_training_rounds=3, **QUIET)
    NetTrain(classifier(), (x, y), training_progress_checkpointing=("Directory", tmp_path), **{**options, "max_training_rounds": 2})
    newest = sorted(tmp_path.glob("checkpoint-*.safetensors"))[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    with pytest.raises(NetError, match=r"the checkpoint '.*round0002.*' is damaged \(SafetensorError"):
        checkpoint.load(newest)
    with pytest.warns(UserWarning, match=r"resumed from '.*round0001.*', the newest intact checkpoint"):
        resumed = NetTrain(classifier(), (x, y), All, training_progress_checkpointing={"directory": tmp_path, "resume": True}, **options)
    assert resumed.automatic_choices["resumed_from"].endswith("checkpoint-round0001-batch0000004.safetensors")
    assert resumed.total_rounds == 3


def test_a_checkpoint_with_missing_entries_is_named(tmp_path, blobs, classifier):
    import json

    from safetensors.torch import load_file, save_file

    from symnet import NetError

    x, y = blobs(n=32)
    path = tmp_path / "c.safetensors"
    NetTrain(classifier(), (x, y), max_training_rounds=1, training_progress_checkpointing=("File", path), **QUIET)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    progress = json.loads(metadata["progress"])
    del progress["rounds"]
    save_file(load_file(str(path)), str(path), metadata={**metadata, "progress": json.dumps(progress)})
    with pytest.raises(NetError, match=r"the checkpoint '.*c.safetensors' is damaged \(missing entry 'progress rounds'\)"):
        NetTrain(classifier(), (x, y), training_progress_checkpointing={"file": path, "resume": True}, **QUIET)
    save_file(load_file(str(path)), str(path), metadata={**metadata, "progress": "{not json"})
    with pytest.raises(NetError, match=r"is damaged \(JSONDecodeError"):
        NetTrain(classifier(), (x, y), training_progress_checkpointing={"file": path, "resume": True}, **QUIET)


# -- 9.5 and 9.8: option values refused before any work ----------------------------------------
@pytest.mark.parametrize(("options", "message"), [
    ({"method": ("SGD", {"momentum": -1})}, r'NetTrain: method "SGD": momentum must be a non-negative number; received -1'),
    ({"method": ("ADAM", {"beta1": 2})}, r'NetTrain: method "ADAM": beta1 must be a number in \[0, 1\); received 2'),
    ({"method": ("SGD", {"l2_regularization": -1})}, r"l2_regularization must be a non-negative number; received -1"),
    ({"method": ("ADAM", {"epsilon": "small"})}, r'epsilon must be a positive number; received "small"'),
    ({"method": ("ADAM", {"warmup": -0.5})}, r"warmup must be a number in \[0, 1\); received -0.5"),
    ({"training_stopping_criterion": {"patience": "two"}}, r'training_stopping_criterion: patience must be a non-negative int; received "two"'),
    ({"time_goal": -5}, r"NetTrain: time_goal must be a positive number or None; received -5"),
    ({"batch_size": 1.5}, r"NetTrain: batch_size must be a positive int; received 1.5"),
    ({"learning_rate": 0}, r"NetTrain: learning_rate must be a positive number; received 0"),
    ({"loss_function": "MeanSquare"}, r'loss_function: "MeanSquare" is not an output port of the net, and a loss is given as a layer, not a name: use MeanSquaredLossLayer\(\)'),
])
def test_option_values_are_refused_before_any_work(options, message, blobs, classifier):
    from symnet import NetError

    x, y = blobs(n=16)
    calls = []
    with pytest.raises(NetError, match=message):
        NetTrain(classifier(), (x, y), training_progress_reporting=lambda progress: calls.append(progress), **options)
    assert calls == []


# -- SIGKILL during training, then resume: the same weights, bit for bit -----------------------
KILLED_RUN = """
import os, signal, sys
import numpy as np
from symnet import LinearLayer, NetChain, NetTrain, SoftmaxLayer
rng = np.random.default_rng(0)
y = rng.integers(0, 2, 64)
x = (np.array([[2.0, 0.0], [-2.0, 0.0]])[y] + rng.normal(scale=0.5, size=(64, 2))).astype(np.float32)
def kill(progress):
    if progress["AbsoluteBatch"] == 7:
        os.kill(os.getpid(), signal.SIGKILL)
net = NetChain([LinearLayer(16), "Tanh", LinearLayer(2), SoftmaxLayer()], input=2)
NetTrain(net, (x, y), batch_size=16, max_training_rounds=3, training_progress_reporting=kill,
         training_progress_checkpointing={"directory": sys.argv[1], "interval": (1, "Batches")})
"""


def test_sigkill_then_resume_gives_the_same_weights(tmp_path, blobs, classifier):
    import signal
    import subprocess
    import sys

    from symnet import NetExtract

    x, y = blobs(n=64)
    done = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path)], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL
    options = dict(batch_size=16, max_training_rounds=3, **QUIET)
    resumed = NetTrain(classifier(), (x, y), All, training_progress_checkpointing={"directory": tmp_path, "resume": True}, **options)
    assert resumed.automatic_choices["resumed_from"].endswith("batch0000006.safetensors")
    uninterrupted = NetTrain(classifier(), (x, y), All, **options)
    for layer in (0, 2):
        np.testing.assert_array_equal(NetExtract(resumed.trained_net, [layer, "Weights"]), NetExtract(uninterrupted.trained_net, [layer, "Weights"]))
