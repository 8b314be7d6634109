"""Batch normalization over the global batch (SyncBatchNorm): 2 processes train a batch-norm net like 1.

The statistics are checked against F.batch_norm (values, moving statistics, gradients in float64)
in a process group of one process, and a 2-process NetTrain run against a 1-process run.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

from symnet import All, BatchNormalizationLayer, LinearLayer, NetChain, NetTrain, SoftmaxLayer
from symnet.engine import compiled
from symnet.layers.batch_statistics import global_batch_norm, over_processes, shared_weight

from .conftest import _blobs


@pytest.fixture
def one_process_group() -> Iterator[None]:
    store = dist.TCPStore("127.0.0.1", 0, 1, is_master=True, wait_for_workers=False, timeout=datetime.timedelta(seconds=30))
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_global_statistics_of_one_process_are_batch_norms(one_process_group: None) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    scaling = torch.rand(3, generator=generator, dtype=torch.float64, requires_grad=True)
    biases = torch.randn(3, generator=generator, dtype=torch.float64, requires_grad=True)
    moving = (torch.randn(3, generator=generator, dtype=torch.float64), torch.rand(3, generator=generator, dtype=torch.float64) + 0.5)
    reference = (moving[0].clone(), moving[1].clone())
    ours = global_batch_norm(x, *moving, scaling, biases, momentum=0.1, epsilon=1e-5, weight=1.0)
    expected = F.batch_norm(x, *reference, scaling, biases, training=True, momentum=0.1, eps=1e-5)
    torch.testing.assert_close(ours, expected)
    torch.testing.assert_close(moving, reference)  # the moving statistics take the unbiased variance, as F.batch_norm's
    assert torch.autograd.gradcheck(lambda a, s, b: global_batch_norm(a, torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), s, b,
                                                                      momentum=0.1, epsilon=1e-5, weight=1.0), (x, scaling, biases))


def test_the_shared_statistics_hold_inside_the_block_only() -> None:
    assert shared_weight() is None
    with over_processes(0.0):
        assert shared_weight() == 0.0
    assert shared_weight() is None


def _batch_norm_net() -> NetChain:
    # no biases before the batch norm: their gradient is 0 up to rounding, which Adam would scale up to whole steps
    return NetChain([LinearLayer(6, biases=False), BatchNormalizationLayer(), "Tanh", LinearLayer(2), SoftmaxLayer()], input=2)


def test_two_processes_train_a_batch_norm_net_like_one() -> None:
    # 34 examples in batches of 8: the last batch has 2, one per process, so each process's own
    # statistics would come from one example; the global batch's are those of one process
    train = _blobs(34, seed=3)
    options = {"batch_size": 8, "random_seeding": 5, "training_progress_reporting": None, "max_training_rounds": 2}
    one = NetTrain(_batch_norm_net(), train, All, **options)
    two = NetTrain(_batch_norm_net(), train, All, target_device=("cpu", 2), **options)
    assert two["AutomaticChoices"]["batch_normalization"] == "SyncBatchNorm: batch statistics over the global batch of all 2 processes"
    assert "batch_normalization" not in one["AutomaticChoices"]
    np.testing.assert_allclose(two["BatchLossList"], one["BatchLossList"], rtol=1e-5)
    for (name, left), (_, right) in zip(_named_arrays(one["FinalNet"]), _named_arrays(two["FinalNet"]), strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=2e-6, err_msg=name)


def _named_arrays(net: NetChain) -> list[tuple[str, np.ndarray]]:
    # the moving mean and variance (buffers) as well as the learned arrays
    return [(name, tensor.detach().numpy()) for name, tensor in compiled(net).state_dict().items()]
