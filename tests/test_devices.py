"""target_device forms: placements, backends and the mistakes, checked on a machine without a GPU (GPUs are assumed by count)."""

from __future__ import annotations

import numpy as np
import pytest

from symnet import All, LinearLayer, NetChain, NetError, NetInitialize, NetMeasurements
from symnet.devices import Placement, backend_for, evaluation_placement, parse_target_device, usable_cores


@pytest.mark.parametrize(("value", "gpus", "expected"), [
    ("cpu", 0, Placement("cpu", 1, "cpu")),
    ("CPU", 0, Placement("cpu", 1, "cpu")),
    (("cpu", 3), 0, Placement("cpu", 3, "cpu")),
    (("cpu", 1), 0, Placement("cpu", 1, "cpu")),
    (("cuda", 2), 4, Placement("cuda", 2, "cuda")),
    (("gpu", 4), 4, Placement("cuda", 4, "cuda")),
    (("cuda", "All"), 3, Placement("cuda", 3, "cuda")),
    (("cuda", All), 2, Placement("cuda", 2, "cuda")),
    ("cuda", 1, Placement("cuda", 1, "cuda")),
])
def test_forms_place_processes_and_devices(value: object, gpus: int, expected: Placement) -> None:
    assert parse_target_device(value, cuda_devices=gpus) == expected


def test_all_cpu_processes_are_the_usable_cores() -> None:
    assert parse_target_device(("cpu", "All")) == Placement("cpu", usable_cores(), "cpu")


def test_each_process_gets_its_own_gpu_and_cpu_processes_share_the_cpu() -> None:
    gpus = parse_target_device(("cuda", 3), cuda_devices=3)
    assert [gpus.device_for(rank) for rank in range(3)] == ["cuda:0", "cuda:1", "cuda:2"]
    cpus = parse_target_device(("cpu", 3))
    assert [cpus.device_for(rank) for rank in range(3)] == ["cpu", "cpu", "cpu"]


def test_gloo_between_cpu_processes_and_nccl_between_gpus() -> None:
    assert backend_for(parse_target_device(("cpu", 2))) == "gloo"
    assert backend_for(parse_target_device("cpu")) == "gloo"
    assert backend_for(parse_target_device(("cuda", 2), cuda_devices=2)) == "nccl"
    assert backend_for(parse_target_device(("cuda", "All"), cuda_devices=8)) == "nccl"


@pytest.mark.parametrize(("value", "gpus", "message"), [
    (("tpu", 2), 0, r"""NetTrain: target_device must be "cpu", "cuda", "cuda:N", \("cpu", n\), \("cuda", n\) or \("cuda", "All"\); received \('tpu', 2\)\. Name the kind of device first\. Did you mean "cpu"\?"""),
    (("cpu", 0), 0, r"NetTrain: target_device=\('cpu', 0\): the number of processes must be a positive int or \"All\"; received 0\. Use \(\"cpu\", 2\) for two processes"),
    (("cpu", 1.5), 0, r"the number of processes must be a positive int or \"All\"; received 1\.5"),
    (("cpu", True), 0, r"the number of processes must be a positive int or \"All\"; received True"),
    (("cuda", 2), 0, r"NetTrain: target_device=\('cuda', 2\) asks for CUDA GPUs, but no CUDA device is visible to this process .* Use \(\"cpu\", n\) for n processes"),
    (("cuda", "All"), 0, r"no CUDA device is visible"),
    (("cuda", 5), 4, r"NetTrain: target_device=\('cuda', 5\) asks for 5 GPUs, but 4 CUDA devices are visible\. Use \(\"cuda\", 4\) or \(\"cuda\", \"All\"\)\."),
    (("cpu", 2, 3), 0, r"NetTrain: target_device must be .*; received \('cpu', 2, 3\)\. Give a device name, or a pair"),
    (3, 0, r"NetTrain: target_device must be .*; received 3\."),
])
def test_mistakes_name_the_value_and_the_fix(value: object, gpus: int, message: str) -> None:
    with pytest.raises(NetError, match=message):
        parse_target_device(value, cuda_devices=gpus)


def test_cuda_without_a_gpu_says_none_is_visible() -> None:
    with pytest.raises(NetError, match=r'target_device="cuda": it asks for a CUDA GPU but this machine has no CUDA device'):
        parse_target_device("cuda")


def test_evaluation_places_one_device_in_this_process_and_several_as_processes() -> None:
    assert evaluation_placement("cpu", "NetChain") == Placement("cpu", 1, "cpu")
    assert evaluation_placement(("cpu", 4), "NetChain") == Placement("cpu", 4, "cpu")
    # ("cuda", "All") takes the same path as ("cpu", n): one process per visible GPU, rank k on GPU k
    gpus = evaluation_placement(("cuda", "All"), "NetChain", cuda_devices=3)
    assert gpus == Placement("cuda", 3, "cuda")
    assert [gpus.device_for(rank) for rank in range(3)] == ["cuda:0", "cuda:1", "cuda:2"]
    assert evaluation_placement("cuda:1", "NetChain", cuda_devices=2) == Placement("cuda", 1, "cuda:1")
    assert evaluation_placement(("cuda", 1), "NetChain", cuda_devices=2).device_for(0) == "cuda"


def test_evaluation_on_gpus_without_one_says_so() -> None:
    net = NetInitialize(NetChain([LinearLayer(3)], input=2))
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    with pytest.raises(NetError, match=r"NetMeasurements: target_device=\('cuda', 2\) asks for CUDA GPUs, but no CUDA device is visible"):
        NetMeasurements(net, (x, np.zeros((7, 3), np.float32)), "MeanSquare", target_device=("cuda", 2))
    with pytest.raises(NetError, match=r"NetChain: target_device=\('cuda', 'All'\) asks for CUDA GPUs, but no CUDA device is visible"):
        net(x, target_device=("cuda", "All"))
