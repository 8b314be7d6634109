"""parallelism="FSDP": FSDP2 (fully_shard) on 2 CPU processes over gloo trains like DDP and like one process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symnet import All, ConvolutionLayer, FlattenLayer, LinearLayer, NetChain, NetError, NetTrain, OptionError, SoftmaxLayer

from .conftest import _blobs, _classifier
from .test_distributed import _all_arrays

OPTIONS = {"batch_size": 8, "random_seeding": 5, "training_progress_reporting": None, "max_training_rounds": 2}


def _images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    images = rng.normal(size=(count, 1, 5, 5)).astype(np.float32) + labels[:, None, None, None].astype(np.float32)
    return images, labels


def _convolutional() -> NetChain:
    # a convolution: DDP runs it channels-last, which FSDP2 cannot shard (the runner gives it up)
    return NetChain([ConvolutionLayer(3, 3), "Tanh", FlattenLayer(), LinearLayer(2), SoftmaxLayer()], input=(1, 5, 5))


def test_two_sharded_processes_train_like_ddp_and_like_one() -> None:
    train, validation = _images(33, seed=3), _images(5, seed=4)
    one = NetTrain(_convolutional(), train, All, validation_set=validation, **OPTIONS)
    ddp = NetTrain(_convolutional(), train, All, validation_set=validation, target_device=("cpu", 2), **OPTIONS)
    fsdp = NetTrain(_convolutional(), train, All, validation_set=validation, target_device=("cpu", 2), parallelism="FSDP", **OPTIONS)
    assert fsdp["AutomaticChoices"]["target_device"] == "2 processes (launched), FullyShardedDataParallel (FSDP2) over gloo"
    assert (ddp["AutomaticChoices"]["channels_last"], fsdp["AutomaticChoices"]["channels_last"]) == (True, False)
    np.testing.assert_allclose(fsdp["BatchLossList"], ddp["BatchLossList"], rtol=1e-5)
    np.testing.assert_allclose(fsdp["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    # the arrays gathered from both shards at the end equal DDP's whole ones
    for sharded, replicated, alone in zip(_all_arrays(fsdp["FinalNet"]), _all_arrays(ddp["FinalNet"]), _all_arrays(one["FinalNet"]), strict=True):
        np.testing.assert_allclose(sharded, replicated, rtol=0, atol=2e-6)
        np.testing.assert_allclose(sharded, alone, rtol=0, atol=2e-6)
    # validation with the gathered arrays counts each of the 5 examples once
    assert fsdp["ValidationMeasurements"]["Loss"] == pytest.approx(ddp["ValidationMeasurements"]["Loss"], rel=1e-5)


def test_fsdp_mistakes_are_named_before_any_process_starts(tmp_path: Path) -> None:
    train = _blobs(16, seed=3)
    with pytest.raises(NetError, match=r'NetTrain: parallelism="FSDP" shards the net over several processes, but this run has one \(target_device=\'cpu\'\)\. '
                                        r'Give target_device=\("cpu", n\)'):
        NetTrain(_classifier(), train, parallelism="FSDP", **OPTIONS)
    with pytest.raises(NetError, match=r'NetTrain: parallelism="FSDP" cannot write checkpoints yet: .* Use parallelism="DDP" \(the default\) with training_progress_checkpointing'):
        NetTrain(_classifier(), train, parallelism="FSDP", target_device=("cpu", 2), training_progress_checkpointing={"directory": tmp_path}, **OPTIONS)
    with pytest.raises(OptionError, match=r'NetTrain: parallelism must be one of "DDP", "FSDP"; received "ZeRO"'):
        NetTrain(_classifier(), train, parallelism="ZeRO", **OPTIONS)
