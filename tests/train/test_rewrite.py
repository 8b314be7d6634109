"""Training-time plan rewrites (symnet.train.rewrite) give the values and gradients of the net's own plan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symnet import (
    All,
    ConvolutionLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetTrain,
    PoolingLayer,
    SoftmaxLayer,
    ThreadingLayer,
)
from symnet.engine import CompiledNet, flatten_net
from symnet.train import rewrite, runner
from symnet.train.rewrite import training_plan

from .marked_images import marked_images


def _notebook_like() -> NetChain:
    net = NetChain(
        [ConvolutionLayer(4, 3), "Ramp", PoolingLayer(2, 2), ConvolutionLayer(6, 3), "Ramp", PoolingLayer(2, 2), FlattenLayer(), LinearLayer(5), "Ramp", LinearLayer(3), SoftmaxLayer()],
        input=(1, 14, 14),
    )
    return NetInitialize(net, random_seeding=2)


def _values_and_gradients(module: CompiledNet, wire: int, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    (value,) = module.run([x], [wire])
    (value * torch.linspace(-1, 1, value.numel()).reshape(value.shape)).sum().backward()
    return value.detach(), [p.grad.clone() for p in module.parameters()]


def test_ramps_before_max_pooling_move_after_it_with_the_same_values_and_gradients():
    net = _notebook_like()
    plan = flatten_net(net)
    output = plan.outputs["Output"]
    rewritten, moved = training_plan(plan, [output])
    assert moved == 2  # the dense layer's Ramp feeds no pooling: it stays
    kinds = [plan.leaves[leaf][1].kind for leaf, _, _ in rewritten.steps]
    assert kinds[:6] == ["ConvolutionLayer", "PoolingLayer", "ElementwiseLayer"] * 2
    assert [leaf for leaf, _, _ in rewritten.steps] != [leaf for leaf, _, _ in plan.steps]
    x = torch.randn(8, 1, 14, 14) * 3  # many windows hold only negative values
    expected = _values_and_gradients(CompiledNet(net, plan), output, x)
    got = _values_and_gradients(CompiledNet(net, rewritten), output, x)
    assert torch.equal(got[0], expected[0])
    for a, b in zip(got[1], expected[1]):
        assert torch.equal(a, b)


def test_a_ramp_with_another_reader_or_before_a_mean_pooling_stays():
    chain = NetInitialize(NetChain([ConvolutionLayer(2, 3), "Ramp", PoolingLayer(2, 2, function="Mean"), FlattenLayer()], input=(1, 6, 6)), random_seeding=1)
    plan = flatten_net(chain)
    assert training_plan(plan, [plan.outputs["Output"]])[1] == 0
    # the Ramp's output is a loss's wire (kept): it must still hold the Ramp's values
    chain = NetInitialize(NetChain([ConvolutionLayer(2, 3), "Ramp", PoolingLayer(2, 2), FlattenLayer()], input=(1, 6, 6)), random_seeding=1)
    plan = flatten_net(chain)
    ramp_output = plan.steps[1][2][0]
    assert training_plan(plan, [plan.outputs["Output"], ramp_output])[1] == 0
    assert training_plan(plan, [plan.outputs["Output"]])[1] == 1
    # in a graph the Ramp's output also feeds a mean pooling: moving it would change that reader's input
    graph = NetGraph(
        {"conv": ConvolutionLayer(2, 3), "relu": ElementwiseLayer("Ramp"), "max": PoolingLayer(2, 2), "mean": PoolingLayer(2, 2, function="Mean"), "plus": ThreadingLayer("Plus")},
        [("conv", "relu"), ("relu", "max"), ("relu", "mean"), ("max", "plus"), ("mean", "plus")],
        input=(1, 6, 6),
    )
    plan = flatten_net(NetInitialize(graph, random_seeding=1))
    assert training_plan(plan, [plan.outputs["Output"]])[1] == 0


def _images(n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    return marked_images(n, size=14, spacing=2, seed=5)


def test_nettrain_reports_the_move_and_trains_the_weights_of_the_net_as_written(monkeypatch: pytest.MonkeyPatch):
    options = {"batch_size": 16, "max_training_rounds": 2, "training_progress_reporting": None, "random_seeding": 3}
    results = NetTrain(_notebook_like(), _images(), All, **options)
    assert "2 ReLU" in results["AutomaticChoices"]["max_pooling_before_ramp"]
    with monkeypatch.context() as patch:
        patch.setattr(runner, "training_plan", lambda plan, keep: (plan, 0))
        reference = NetTrain(_notebook_like(), _images(), All, **options)
    assert "max_pooling_before_ramp" not in reference["AutomaticChoices"]
    trained, expected = flatten_net(results["TrainedNet"]), flatten_net(reference["TrainedNet"])
    for (path, layer), (_, other) in zip(trained.leaves, expected.leaves):
        for name, value in (layer.arrays or {}).items():
            np.testing.assert_allclose(value.numpy(), other.arrays[name].numpy(), rtol=1e-6, atol=1e-7, err_msg=f"{path}/{name}")
    assert rewrite.training_plan is training_plan
