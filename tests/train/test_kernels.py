"""Training kernels (symnet.train.kernels) give torch's values and gradients, and NetTrain picks them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from symnet import All, ConvolutionLayer, FlattenLayer, LinearLayer, NetChain, NetInitialize, NetTrain, PoolingLayer, SoftmaxLayer
from symnet.engine import CompiledNet, flatten_net
from symnet.train import kernels
from symnet.train.kernels import ConvolutionByMatmul, kernel_for, training_kernels

from .marked_images import marked_images


def _conv_inputs(n: int, channels: int, size: tuple[int, int], out_channels: int, kernel: tuple[int, int], *, dtype: torch.dtype = torch.float32,
                 channels_last: bool = True, bias: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(n, channels, *size, generator=generator, dtype=dtype)
    w = torch.randn(out_channels, channels, *kernel, generator=generator, dtype=dtype)
    b = torch.randn(out_channels, generator=generator, dtype=dtype) if bias else None
    if channels_last:
        x, w = x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)
    return x.requires_grad_(), w.requires_grad_(), (b.requires_grad_() if b is not None else None)


@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("size", "kernel"), [((4, 4), (3, 3)), ((5, 3), (3, 2)), ((3, 3), (3, 3))])
def test_convolution_by_matmul_gives_torchs_values_and_gradients(channels_last: bool, bias: bool, size: tuple[int, int], kernel: tuple[int, int]):
    x, w, b = _conv_inputs(6, 5, size, 7, kernel, channels_last=channels_last, bias=bias)
    inputs = [t for t in (x, w, b) if t is not None]
    expected = F.conv2d(x, w, b)
    got = ConvolutionByMatmul.apply(x, w, b)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    if channels_last:
        assert got.is_contiguous(memory_format=torch.channels_last)
    upstream = torch.randn(expected.shape, generator=torch.Generator().manual_seed(3))
    expected_grads = torch.autograd.grad(expected, inputs, upstream)
    got_grads = torch.autograd.grad(got, inputs, upstream)
    for a, e in zip(got_grads, expected_grads):
        assert a.shape == e.shape
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-4)


def test_convolution_by_matmul_passes_gradcheck_in_float64():
    for bias in (True, False):
        x, w, b = _conv_inputs(2, 3, (4, 5), 4, (3, 2), dtype=torch.float64, channels_last=False, bias=bias)
        assert torch.autograd.gradcheck(ConvolutionByMatmul.apply, (x, w, b))
    # only the weights need a gradient (a first layer): the input's is not computed
    x, w, b = _conv_inputs(2, 3, (3, 3), 4, (2, 2), dtype=torch.float64)
    x.requires_grad_(False)
    assert torch.autograd.gradcheck(lambda weights, biases: ConvolutionByMatmul.apply(x, weights, biases), (w, b))


def _conv(**options) -> ConvolutionLayer:
    return NetInitialize(ConvolutionLayer(6, options.pop("kernel", 3), input=options.pop("input", (4, 5, 5)), **options), random_seeding=1)


def test_the_kernel_is_chosen_only_where_it_was_measured_faster():
    assert kernel_for(_conv()) == "ConvolutionByMatmul"  # 3×3 output
    assert kernel_for(_conv(input=(4, 4, 4))) == "ConvolutionByMatmul"  # 2×2, the notebook CNN's third convolution
    assert kernel_for(_conv(input=(4, 6, 6))) is None  # 4×4: oneDNN is faster
    assert kernel_for(_conv(stride=2, input=(4, 7, 7))) is None
    assert kernel_for(_conv(padding=1, input=(4, 3, 3))) is None
    assert kernel_for(_conv(dilation=2, input=(4, 6, 6))) is None
    assert kernel_for(NetInitialize(ConvolutionLayer(6, 3, groups=2, input=(4, 5, 5)), random_seeding=1)) is None
    assert kernel_for(_conv(input=(4, 5))) is None  # 1D
    assert kernel_for(PoolingLayer(2, 2, input=(4, 4, 4))) is None


def _small_cnn() -> NetChain:
    # 10×10 → conv 8×8 (oneDNN's) → pool 4×4 → conv 2×2 (the kernel's) → dense
    net = NetChain([ConvolutionLayer(4, 3), "Ramp", PoolingLayer(2, 2), ConvolutionLayer(6, 3), "Ramp", FlattenLayer(), LinearLayer(3), SoftmaxLayer()], input=(1, 10, 10))
    return NetInitialize(net, random_seeding=2)


def test_training_kernels_keep_the_leaves_paths_and_arrays_and_only_apply_to_float32_on_the_cpu():
    net = _small_cnn()
    plan = flatten_net(net)
    rewritten, used = training_kernels(plan, device="cpu", dtype=torch.float32, autocast=False, compiled=False)
    assert used == {"ConvolutionByMatmul": 1}
    assert [path for path, _ in rewritten.leaves] == [path for path, _ in plan.leaves]
    assert rewritten.steps == plan.steps
    changed = [index for index, ((_, a), (_, b)) in enumerate(zip(rewritten.leaves, plan.leaves)) if a is not b]
    assert changed == [3]
    assert rewritten.leaves[3][1].kind == "ConvolutionLayer" and rewritten.leaves[3][1].types == plan.leaves[3][1].types
    x = torch.randn(5, 1, 10, 10)
    torch.testing.assert_close(CompiledNet(net, rewritten)(x), CompiledNet(net, plan)(x), rtol=1e-5, atol=1e-6)
    for settings in ({"dtype": torch.float64}, {"autocast": True}, {"compiled": True}, {"device": "cuda"}):
        arguments = {"device": "cpu", "dtype": torch.float32, "autocast": False, "compiled": False, **settings}
        assert training_kernels(plan, **arguments) == (plan, {}), settings


def _images(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    return marked_images(n, size=10, spacing=3, seed=4)


def test_nettrain_names_the_kernel_and_trains_the_same_weights_as_with_torchs_own(monkeypatch: pytest.MonkeyPatch):
    options = {"batch_size": 16, "max_training_rounds": 2, "training_progress_reporting": None, "random_seeding": 3}
    results = NetTrain(_small_cnn(), _images(), All, **options)
    assert results["AutomaticChoices"]["training_kernels"] == "1 convolution(s): convolution by matrix products (small images)"
    monkeypatch.setattr(kernels, "ENABLED", False)
    reference = NetTrain(_small_cnn(), _images(), All, **options)
    assert "training_kernels" not in reference["AutomaticChoices"]
    trained, expected = flatten_net(results["TrainedNet"]), flatten_net(reference["TrainedNet"])
    for (path, layer), (_, other) in zip(trained.leaves, expected.leaves):
        assert type(layer) is type(other)
        for name, value in (layer.arrays or {}).items():
            np.testing.assert_allclose(value.numpy(), other.arrays[name].numpy(), rtol=1e-4, atol=1e-5, err_msg=f"{path}/{name}")
    np.testing.assert_allclose(results["RoundLossList"], reference["RoundLossList"], rtol=1e-5)


def test_float64_training_uses_torchs_own_kernels():
    # (bfloat16 autocast, "Mixed" where the processor has it, is left out in training_kernels: tested above)
    results = NetTrain(_small_cnn(), _images(32), All, batch_size=16, max_training_rounds=1, training_progress_reporting=None, working_precision="Real64")
    assert "training_kernels" not in results["AutomaticChoices"]
