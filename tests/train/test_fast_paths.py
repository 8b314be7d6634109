"""NetTrain's fast paths (fused optimizers, torch.compile) give the training of the plain paths."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch._dynamo.utils import counters

from symnet import (
    All,
    ConvolutionLayer,
    FlattenLayer,
    FunctionLayer,
    LinearLayer,
    NetChain,
    NetError,
    NetInitialize,
    NetTrain,
    PoolingLayer,
    SoftmaxLayer,
)
from symnet.engine import flatten_net
from symnet.train.compiled import _opaque_max_pool2d
from symnet.train.options import Method

QUIET = {"training_progress_reporting": None, "random_seeding": 7}


def _images(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    x[np.arange(n), 0, y, y] += 3.0  # a class shows as a bright pixel on the diagonal
    return x, y.astype(np.int64)


def _conv_net() -> NetChain:
    # no batch norm after the convolution: it would leave the convolution's biases with gradients of
    # rounding noise only, which Adam's normalization blows up into updates that differ by path
    net = NetChain([ConvolutionLayer(4, 3), "Ramp", PoolingLayer(2, 2), FlattenLayer(), LinearLayer(3), SoftmaxLayer()], input=(1, 8, 8))
    return NetInitialize(net, random_seeding=1)


def _arrays(net: NetChain) -> dict[str, np.ndarray]:
    plan = flatten_net(net)
    return {f"{'/'.join(map(str, path))}/{name}": value.detach().numpy().copy() for path, layer in plan.leaves for name, value in (layer.arrays or {}).items()}


def _train_with(monkeypatch: pytest.MonkeyPatch, implementation: str | None, method: str, **options: object) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    with monkeypatch.context() as patch:
        if implementation is not None:
            patch.setattr(Method, "implementation", property(lambda self: implementation))
        results = NetTrain(_conv_net(), _images(), All, method=method, batch_size=16, max_training_rounds=2, **QUIET, **options)
    return _arrays(results["TrainedNet"]), results["AutomaticChoices"]


@pytest.mark.parametrize(("method", "fast"), [("ADAM", "fused"), ("AdamW", "fused"), ("SGD", "fused"), ("RMSProp", "foreach")])
def test_the_fast_optimizer_trains_the_weights_of_torchs_per_array_loop(monkeypatch, method, fast):
    reference, _ = _train_with(monkeypatch, "loop", method)
    trained, choices = _train_with(monkeypatch, None, method)
    assert choices["optimizer_implementation"] == fast
    assert reference.keys() == trained.keys()
    for name in reference:
        np.testing.assert_allclose(trained[name], reference[name], rtol=1e-4, atol=1e-5, err_msg=name)
    # the runs differ only in rounding: the fast path really ran a different kernel, yet trained as far
    assert any(not np.array_equal(trained[name], reference[name]) for name in reference) or fast == "foreach"


def test_compile_true_traces_the_training_step_as_one_graph_and_trains_the_weights_of_the_eager_module(monkeypatch):
    # aot_eager runs the path symnet owns (Dynamo tracing the runner's forward and losses,
    # AOTAutograd's backward) without inductor's C++ compilation, which would cost a minute of make test
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    torch._dynamo.reset()
    counters.clear()
    # 72 examples in batches of 16: the last batch of each round (8) is smaller and runs eagerly
    data, options = _images(72), {"method": "ADAM", "batch_size": 16, "max_training_rounds": 2, **QUIET}
    eager = NetTrain(_conv_net(), data, All, **options)
    compiled = NetTrain(_conv_net(), data, All, compile=True, **options)
    assert (eager["AutomaticChoices"]["compile"], compiled["AutomaticChoices"]["compile"]) == (False, True)
    # one graph (the net's forward pass and the loss), no graph break, no second compile
    assert dict(counters["graph_break"]) == {}
    assert counters["stats"]["unique_graphs"] == 1
    expected, trained = _arrays(eager["TrainedNet"]), _arrays(compiled["TrainedNet"])
    for name in expected:
        np.testing.assert_allclose(trained[name], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 1), (1, 1))])
def test_the_compiled_steps_max_pooling_gives_torchs_values_and_gradients(kernel, stride, padding):
    x = torch.randn(3, 4, 9, 8, dtype=torch.float64).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = _opaque_max_pool2d(x, kernel, stride, padding)
    expected = F.max_pool2d(x, kernel, stride, padding)
    grad = torch.randn_like(expected)
    assert y.is_contiguous(memory_format=torch.channels_last) == expected.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, expected, rtol=0, atol=0)
    torch.testing.assert_close(torch.autograd.grad(y, x, grad)[0], torch.autograd.grad(expected, x, grad)[0], rtol=0, atol=0)
    assert torch.autograd.gradcheck(lambda t: _opaque_max_pool2d(t, kernel, stride, padding), (x,))


def _untraceable(x: torch.Tensor) -> torch.Tensor:
    torch._dynamo.graph_break()
    return x


def test_compile_true_trains_eagerly_and_says_why_when_the_step_is_not_one_graph(monkeypatch):
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    net = NetInitialize(NetChain([FunctionLayer(_untraceable), LinearLayer(3), SoftmaxLayer()], input=(1, 8, 8)), random_seeding=1)
    data, options = _images(32), {"batch_size": 16, "max_training_rounds": 1, **QUIET}
    eager = NetTrain(net, data, All, **options)
    compiled = NetTrain(net, data, All, compile=True, **options)
    assert compiled["AutomaticChoices"]["compile"].startswith("False: torch.compile could not trace the training step as one graph (")
    for name, value in _arrays(eager["TrainedNet"]).items():
        np.testing.assert_array_equal(_arrays(compiled["TrainedNet"])[name], value, err_msg=name)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_compile_must_be_a_bool(value):
    with pytest.raises(NetError, match=r"NetTrain: compile must be True or False; received"):
        NetTrain(_conv_net(), _images(), compile=value, **QUIET)
