"""NetTrain on 2 processes (gloo over 127.0.0.1) against 1 process: the same steps, every example once, failures and resumes.

Each multi-process test starts one worker (the test's own process is rank 0) or one torchrun:
the nets are tiny and every wait is bounded (the process group's timeout, subprocess timeouts).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from symnet import (
    All,
    EmbeddingLayer,
    GatedRecurrentLayer,
    Import,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetTrain,
    SequenceLastLayer,
    SoftmaxLayer,
    TensorType,
)
from symnet.engine import compiled
from symnet.train.distributed import TEST_EXIT, ProcessFailed, shares

from .conftest import _blobs, _classifier

ROOT = Path(__file__).resolve().parents[2]
# 33 examples in batches of 8: the last batch has 1 example, so rank 1's share of it is empty;
# 5 validation examples split 3 + 2 over the ranks
OPTIONS = {"batch_size": 8, "random_seeding": 5, "training_progress_reporting": None}


def _data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    return _blobs(33, seed=3), _blobs(5, seed=4)


def _arrays(net: NetChain) -> list[np.ndarray]:
    return [np.asarray(NetExtract(net, [layer, name])) for layer in (0, 2) for name in ("Weights", "Biases")]


def _assert_same_arrays(a: NetChain, b: NetChain) -> None:
    for left, right in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_allclose(left, right, rtol=0, atol=2e-6)


def test_shares_cover_a_batch_once_in_order() -> None:
    for size in range(0, 12):
        for world in (1, 2, 3, 5):
            bounds = shares(size, world)
            assert [i for start, stop in bounds for i in range(start, stop)] == list(range(size))
            assert max(stop - start for start, stop in bounds) - min(stop - start for start, stop in bounds) <= 1


def test_two_processes_train_like_one_and_count_every_example_once() -> None:
    train, validation = _data()
    net = _classifier()
    one = NetTrain(net, train, All, max_training_rounds=2, validation_set=validation, **OPTIONS)
    two = NetTrain(net, train, All, max_training_rounds=2, validation_set=validation, target_device=("cpu", 2), **OPTIONS)
    assert two["AutomaticChoices"]["target_device"] == "2 processes (launched), DistributedDataParallel over gloo"
    _assert_same_arrays(one["FinalNet"], two["FinalNet"])
    np.testing.assert_allclose(two["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    assert len(two["BatchLossList"]) == 2 * 5
    # DDP's comm hook timed the gradients' all-reduce: one bucket (the net is small) per batch
    assert two["AutomaticChoices"]["communication"]["all_reduces"] == 2 * 5
    assert two["AutomaticChoices"]["communication"]["gradient_all_reduce_seconds"] > 0
    # the training measurements gather every rank's share of every batch, the 1-example batch too
    assert two["RoundMeasurements"]["Accuracy"] == one["RoundMeasurements"]["Accuracy"]
    # validation: each of the 5 examples exactly once (a padded duplicate would move both numbers)
    vx, vy = validation
    probabilities = torch.as_tensor(np.asarray(two["FinalNet"](vx)), dtype=torch.float64)
    reference_loss = float(torch.nn.functional.nll_loss(probabilities.log(), torch.as_tensor(vy)))
    reference_accuracy = float(np.mean(probabilities.argmax(dim=1).numpy() == vy))
    assert two["ValidationMeasurements"]["Loss"] == pytest.approx(reference_loss, rel=1e-5)
    assert two["ValidationMeasurements"]["Accuracy"] == reference_accuracy


def test_sequences_of_different_lengths_train_on_two_processes_like_on_one() -> None:
    # each process gets its share of a padded batch with the examples' lengths (symnet.train.sequences)
    rng = np.random.default_rng(6)
    words = [rng.integers(0, 7, int(rng.integers(2, 9))) for _ in range(21)]
    labels = np.array([int(word[0] > 3) for word in words])
    net = NetChain([EmbeddingLayer(4), GatedRecurrentLayer(5), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()],
                   input=TensorType(("Varying",), "Integer", 7))
    one = NetTrain(net, (words, labels), All, max_training_rounds=2, bucketing=False, **OPTIONS)
    two = NetTrain(net, (words, labels), All, max_training_rounds=2, bucketing=False, target_device=("cpu", 2), **OPTIONS)
    np.testing.assert_allclose(two["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    for left, right in zip(_all_arrays(one["FinalNet"]), _all_arrays(two["FinalNet"]), strict=True):
        np.testing.assert_allclose(left, right, rtol=0, atol=2e-6)


def _all_arrays(net: NetChain) -> list[np.ndarray]:
    return [tensor.detach().numpy() for tensor in compiled(net).parameters()]


def test_checkpoints_resume_on_another_number_of_processes(tmp_path: Path) -> None:
    train, validation = _data()
    net = _classifier()
    # 1 process writes rounds 1-3; 2 processes resume from its round 1 and write rounds 2 and 3; 1 process resumes from their round 2
    straight = NetTrain(net, train, All, max_training_rounds=3, training_progress_checkpointing={"directory": tmp_path / "one"}, **OPTIONS)
    first = sorted((tmp_path / "one").glob("*.safetensors"))[0]
    two = NetTrain(net, train, All, max_training_rounds=3, target_device=("cpu", 2),
                   training_progress_checkpointing={"directory": tmp_path / "two", "resume": first}, **OPTIONS)
    _assert_same_arrays(straight["FinalNet"], two["FinalNet"])
    written = sorted((tmp_path / "two").glob("*.safetensors"))
    assert [path.name[:len("checkpoint-round0002")] for path in written] == ["checkpoint-round0002", "checkpoint-round0003"]
    again = NetTrain(net, train, All, max_training_rounds=3, training_progress_checkpointing={"directory": tmp_path / "three", "resume": written[0]}, **OPTIONS)
    _assert_same_arrays(straight["FinalNet"], again["FinalNet"])
    assert again["RoundLossList"] == pytest.approx(straight["RoundLossList"], rel=1e-5)


def test_a_time_goal_stops_every_process_after_the_same_batch() -> None:
    # the processes follow rank 0's clock (Runner.main_value): one schedule, one last batch, no process left waiting
    train, _ = _data()
    results = NetTrain(_classifier(), train, All, time_goal=0.5, target_device=("cpu", 2), **OPTIONS)
    assert results["ReasonTrainingStopped"] == "TimeGoal"
    assert results["TotalBatches"] == len(results["BatchLossList"]) >= 1


def test_a_worker_that_dies_ends_the_run_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    train, _ = _data()
    monkeypatch.setenv(TEST_EXIT, "1:3")  # rank 1 ends abruptly (os._exit(17)) before its 3rd batch
    with pytest.raises(ProcessFailed, match=r"NetTrain: the distributed run \(process 0 of 2\) failed while .*process 1 exited with code 17.* resume from a checkpoint"):
        NetTrain(_classifier(), train, max_training_rounds=2, target_device=("cpu", 2), **OPTIONS)


def test_more_processes_than_a_batch_has_examples_is_named_before_any_process_starts() -> None:
    with pytest.raises(NetError, match=r'NetTrain: target_device=\("cpu", 3\) splits each batch over 3 processes, but batch_size is 2: '
                                        r"a process without examples would only wait\. Use batch_size=3 or more, or at most 2 processes\."):
        NetTrain(_classifier(), _data()[0], batch_size=2, target_device=("cpu", 3), training_progress_reporting=None)


def test_functions_that_cannot_reach_a_worker_are_named() -> None:
    train, _ = _data()
    with pytest.raises(NetError, match=r"NetTrain: target_device with several processes sends the data and options to new processes, but one of them cannot be sent .*Define functions"):
        NetTrain(_classifier(), lambda size: train, max_training_rounds=1, target_device=("cpu", 2), **OPTIONS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_torchrun_launches_the_example_on_two_processes(tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--nnodes", "1", "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
               str(ROOT / "examples" / "distributed_train.py"), "--out", str(tmp_path), "--rounds", "2"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "placement: 2 processes (torchrun), DistributedDataParallel over gloo" in finished.stdout
    rank0, rank1 = Import(tmp_path / "rank0.symnet"), Import(tmp_path / "rank1.symnet")
    _assert_same_arrays(rank0, rank1)
    # rank 0 alone wrote the checkpoints: one per round
    assert len(list((tmp_path / "checkpoints").glob("*.symnet"))) == 2
    # the same training in this one process gives the same net
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import distributed_train as example
    finally:
        sys.path.remove(str(ROOT / "examples"))
    x, y = example.blobs(203, seed=1)
    net = NetChain([LinearLayer(8), "Tanh", LinearLayer(2), SoftmaxLayer()], input=2)
    alone = NetTrain(net, (x, y), All, max_training_rounds=2, batch_size=16, validation_set=example.blobs(51, seed=2), random_seeding=7, training_progress_reporting=None)
    _assert_same_arrays(alone["FinalNet"], rank0)
