"""parallelism="FSDP": FSDP2 (fully_shard, one unit per layer) on 2 CPU processes over gloo trains like DDP and like one
process, and its checkpoints resume under FSDP, DDP and in one process (and the other way round)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from symnet import All, ConvolutionLayer, FlattenLayer, LinearLayer, NetChain, NetError, NetInitialize, NetMapOperator, NetTrain, OptionError, SoftmaxLayer
from symnet.engine import CompiledNet
from symnet.train.checkpoint import load
from symnet.train.sharded import _separate_leaves

from .conftest import _blobs, _classifier
from .test_distributed import _all_arrays

OPTIONS = {"batch_size": 8, "random_seeding": 5, "training_progress_reporting": None, "max_training_rounds": 2}


def _images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    images = rng.normal(size=(count, 1, 5, 5)).astype(np.float32) + labels[:, None, None, None].astype(np.float32)
    return images, labels


def _convolutional() -> NetChain:
    # a convolution: DDP runs it channels-last; FSDP2 keeps the arrays contiguous, the images channels-last
    return NetChain([ConvolutionLayer(3, 3), "Tanh", FlattenLayer(), LinearLayer(2), SoftmaxLayer()], input=(1, 5, 5))


def _assert_same(left: list[np.ndarray], right: list[np.ndarray]) -> None:
    for a, b in zip(left, right, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-6)


def test_two_sharded_processes_train_like_ddp_and_like_one() -> None:
    train, validation = _images(33, seed=3), _images(5, seed=4)
    one = NetTrain(_convolutional(), train, All, validation_set=validation, **OPTIONS)
    ddp = NetTrain(_convolutional(), train, All, validation_set=validation, target_device=("cpu", 2), **OPTIONS)
    fsdp = NetTrain(_convolutional(), train, All, validation_set=validation, target_device=("cpu", 2), parallelism="FSDP", **OPTIONS)
    choices = fsdp["AutomaticChoices"]
    assert choices["target_device"] == "2 processes (launched), FullyShardedDataParallel (FSDP2) over gloo"
    # the convolution and the linear layer: one unit each, so a batch never gathers both layers' arrays for its whole length
    assert choices["sharding"] == "per layer: 2 FSDP unit(s) of one layer each, its arrays gathered only while it runs"
    assert (ddp["AutomaticChoices"]["channels_last"], choices["channels_last"]) == (True, "the images only (FSDP2 shards contiguous arrays)")
    np.testing.assert_allclose(fsdp["BatchLossList"], ddp["BatchLossList"], rtol=1e-5)
    np.testing.assert_allclose(fsdp["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    # the arrays gathered from both shards at the end equal DDP's whole ones
    _assert_same(_all_arrays(fsdp["FinalNet"]), _all_arrays(ddp["FinalNet"]))
    _assert_same(_all_arrays(fsdp["FinalNet"]), _all_arrays(one["FinalNet"]))
    # validation with the gathered arrays counts each of the 5 examples once
    assert fsdp["ValidationMeasurements"]["Loss"] == pytest.approx(ddp["ValidationMeasurements"]["Loss"], rel=1e-5)


def test_sharded_checkpoints_resume_in_one_process_under_ddp_and_the_other_way_round(tmp_path: Path) -> None:
    train = _images(33, seed=3)
    options = {**OPTIONS, "max_training_rounds": 3}
    # 1 process writes rounds 1-3; FSDP resumes from its round 1 and writes rounds 2 and 3 (rank 0, the 1-process format)
    straight = NetTrain(_convolutional(), train, All, training_progress_checkpointing={"directory": tmp_path / "one"}, **options)
    one_written = sorted((tmp_path / "one").glob("*.safetensors"))
    fsdp = NetTrain(_convolutional(), train, All, target_device=("cpu", 2), parallelism="FSDP",
                    training_progress_checkpointing={"directory": tmp_path / "fsdp", "resume": one_written[0]}, **options)
    _assert_same(_all_arrays(fsdp["FinalNet"]), _all_arrays(straight["FinalNet"]))
    written = sorted((tmp_path / "fsdp").glob("*.safetensors"))
    assert [path.name[:len("checkpoint-round0002")] for path in written] == ["checkpoint-round0002", "checkpoint-round0003"]
    # the sharded run's checkpoint holds the whole arrays and Adam's whole moments, as the 1-process run's does
    sharded, alone = load(written[0]), load(one_written[1])
    assert sharded.arrays.keys() == alone.arrays.keys()
    assert sharded.optimizer["param_groups"] == alone.optimizer["param_groups"]
    for index, entries in alone.optimizer["state"].items():
        for key, value in entries.items():
            torch.testing.assert_close(sharded.optimizer["state"][index][key], value, rtol=1e-5, atol=1e-7)
    # its round 2 resumes in one process and under DDP to the same net
    again = NetTrain(_convolutional(), train, All, training_progress_checkpointing={"directory": tmp_path / "again", "resume": written[0]}, **options)
    _assert_same(_all_arrays(again["FinalNet"]), _all_arrays(straight["FinalNet"]))
    assert again["RoundLossList"] == pytest.approx(straight["RoundLossList"], rel=1e-5)
    ddp = NetTrain(_convolutional(), train, All, target_device=("cpu", 2),
                   training_progress_checkpointing={"directory": tmp_path / "ddp", "resume": written[0]}, **options)
    _assert_same(_all_arrays(ddp["FinalNet"]), _all_arrays(straight["FinalNet"]))


def test_fsdp_mistakes_are_named_before_any_process_starts() -> None:
    train = _blobs(16, seed=3)
    with pytest.raises(NetError, match=r'NetTrain: parallelism="FSDP" shards the net over several processes, but this run has one \(target_device=\'cpu\'\)\. '
                                        r'Give target_device=\("cpu", n\)'):
        NetTrain(_classifier(), train, parallelism="FSDP", **OPTIONS)
    with pytest.raises(OptionError, match=r'NetTrain: parallelism must be one of "DDP", "FSDP"; received "ZeRO"'):
        NetTrain(_classifier(), train, parallelism="ZeRO", **OPTIONS)


def test_each_layer_with_arrays_is_its_own_unit_except_inside_operators() -> None:
    # NetMapOperator runs its member once per element: FSDP2 gathers a unit once per call, so the member stays in the root unit
    net = NetInitialize(NetChain([NetMapOperator(LinearLayer(4)), "Tanh", FlattenLayer(), LinearLayer(2), SoftmaxLayer()], input=(3, 2)), random_seeding=1)
    module = CompiledNet(net)
    separate = [leaf for leaf in _separate_leaves(module) if any(True for _ in leaf.parameters())]
    paths = [path for (path, _), leaf in zip(module.plan.leaves, module.leaves, strict=True) if any(leaf is unit for unit in separate)]
    assert paths == [("3",)]
    assert ("0", "Net") in [path for path, _ in module.plan.leaves]
