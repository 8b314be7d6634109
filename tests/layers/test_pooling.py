"""PoolingLayer, ResizeLayer, PaddingLayer (symnet/layers/pooling.py)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from symnet import (
    VARYING,
    NetError,
    PaddingLayer,
    PoolingLayer,
    ResizeLayer,
    Scaled,
    ShapeError,
    TensorType,
)


# -- PoolingLayer -----------------------------------------------------------------------------
def total_pool_reference(x, kernel, stride, padding):
    """Sums of windows of a zero-padded input, by unfolding: no pooling function involved."""
    padded = F.pad(x, [p for p in reversed(padding) for _ in range(2)])
    for axis, (k, s) in enumerate(zip(kernel, stride)):
        padded = padded.unfold(2 + axis, k, s)
    return padded.sum(dim=tuple(range(-len(kernel), 0)))


@pytest.mark.parametrize(
    "input_shape, kernel, stride, padding",
    [((2, 7), 3, 2, 1), ((3, 6, 6), 2, None, 0), ((2, 7, 5), (3, 2), (2, 1), (1, 0)), ((2, 5, 5, 5), 2, 2, 1)],
)
def test_max_and_mean_pooling_match_torch(input_shape, kernel, stride, padding, check_layer):
    rank = len(input_shape) - 1
    torch_stride = 1 if stride is None else stride  # Wolfram: PoolingLayer[n] = PoolingLayer[n, 1]
    max_pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
    avg_pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    check_layer(PoolingLayer(kernel, stride, padding=padding, input=input_shape), lambda a, x: max_pool(x, kernel, torch_stride, padding), batch=2)
    mean = PoolingLayer(kernel, stride, function="Mean", padding=padding, input=input_shape)
    check_layer(mean, lambda a, x: avg_pool(x, kernel, torch_stride, padding, count_include_pad=True), batch=2)


@pytest.mark.parametrize("input_shape, kernel, stride, padding", [((2, 7), 3, 2, 1), ((2, 6, 5), (3, 2), (2, 1), (1, 1)), ((2, 4, 5, 4), 2, 1, 1)])
def test_total_pooling_sums_windows_with_zero_padding(input_shape, kernel, stride, padding, check_layer):
    rank = len(input_shape) - 1
    kernels, strides, paddings = (tuple(v) if isinstance(v, tuple) else (v,) * rank for v in (kernel, stride, padding))
    layer = PoolingLayer(kernel, stride, function="Total", padding=padding, input=input_shape)
    check_layer(layer, lambda a, x: total_pool_reference(x, kernels, strides, paddings), batch=2)


def test_mean_pooling_counts_padding_and_total_is_mean_times_kernel():
    ones = np.ones((1, 4, 4))
    mean = PoolingLayer(3, 1, function="Mean", padding=1)(ones)
    total = PoolingLayer(3, 1, function="Total", padding=1)(ones)
    # a corner window holds 4 input elements and 5 zeros of padding, all counted
    assert mean[0, 0, 0] == pytest.approx(4 / 9)
    assert mean[0, 1, 1] == pytest.approx(1.0)
    np.testing.assert_allclose(total, mean * 9, rtol=1e-6)
    # Max ignores padding: an all-negative input never pools to the padding's value
    assert (PoolingLayer(3, 1, padding=1)(-ones) == -1).all()


def test_pooling_stride_defaults_to_one_as_in_wolfram_and_same_padding(check_layer):
    assert PoolingLayer(2, input=(32, 24, 24)).types["Output"] == TensorType((32, 23, 23))
    assert PoolingLayer(2, 2, input=(32, 24, 24)).types["Output"] == TensorType((32, 12, 12))
    assert PoolingLayer(3, 3, input=(2, 10)).types["Output"] == TensorType((2, 3))
    same = PoolingLayer(2, 2, padding="Same", input=(2, 5, 5))
    assert same.types["Output"] == TensorType((2, 3, 3))
    check_layer(same, lambda a, x: F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-torch.inf), 2), batch=2)
    mean_same = PoolingLayer(3, 2, function="Mean", padding="Same", input=(2, 6))
    check_layer(mean_same, lambda a, x: F.avg_pool1d(F.pad(x, (0, 1)), 3, 2), batch=2)


def test_pooling_infers_backwards_and_keeps_channels():
    layer = PoolingLayer(3, 1, input=(None, None, None), output=(4, 5, 6))
    assert layer.types["Input"] == TensorType((4, 7, 8))


def test_pooling_errors():
    with pytest.raises(ShapeError, match=r'port "Input" has spatial size \(3, 3\), smaller than the pooling kernel \(4, 4\)\. Fix: use a smaller kernel, padding="Same", or a larger input\.'):
        PoolingLayer(4, input=(2, 3, 3))
    with pytest.raises(NetError, match=r'PoolingLayer: function \'Average\' is not one of "Max", "Mean", "Total"\.'):
        PoolingLayer(2, function="Average")
    with pytest.raises(ShapeError, match=r"padding=2 is as large as the kernel \(2, 2\), so some max-pooling windows would hold only padding"):
        PoolingLayer(2, padding=2, input=(1, 6, 6))
    with pytest.raises(ShapeError, match=r'port "Input" needs a \(channels, length\) input \(rank 2\) for a 1D pooling but received \(2, 6, 6\) of rank 3\.'):
        PoolingLayer((2,), input=(2, 6, 6))


# -- ResizeLayer ------------------------------------------------------------------------------
def test_resize_bilinear_and_nearest_match_interpolate(check_layer):
    layer = ResizeLayer((7, 4), input=(2, 5, 6))
    assert layer.types["Output"] == TensorType((2, 7, 4))
    check_layer(layer, lambda a, x: F.interpolate(x, size=(7, 4), mode="bilinear", align_corners=False), batch=2)
    nearest = ResizeLayer((10, 3), method="Nearest", input=(2, 5, 6))
    check_layer(nearest, lambda a, x: F.interpolate(x, size=(10, 3), mode="nearest"), batch=2)
    linear = ResizeLayer((9,), method="Linear", input=(3, 5))
    check_layer(linear, lambda a, x: F.interpolate(x, size=9, mode="linear", align_corners=False), batch=2)


def test_resize_scaled(check_layer):
    layer = ResizeLayer(Scaled(2), input=(2, 3, 5))
    assert layer.types["Output"] == TensorType((2, 6, 10))
    check_layer(layer, lambda a, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), batch=2)
    mixed = ResizeLayer((Scaled(0.5), 7), input=(1, 6, 5))
    assert mixed.types["Output"] == TensorType((1, 3, 7))
    assert ResizeLayer((Scaled(2), 4), input=(1, VARYING, 3)).types["Output"].dims == (1, VARYING, 4)


def test_resize_errors():
    with pytest.raises(NetError, match=r"ResizeLayer: size must be one positive int or Scaled\(factor\) per spatial axis \(1 to 3 of them\), not \(0, 4\)\."):
        ResizeLayer((0, 4))
    with pytest.raises(NetError, match=r'ResizeLayer: method \'Bilinaer\' is not one of "Bilinear", "Linear", "Nearest"\. Did you mean "Bilinear"\?'):
        ResizeLayer((4, 4), method="Bilinaer")
    with pytest.raises(NetError, match=r"Scaled: the factor must be a positive number, not -1\."):
        Scaled(-1)
    with pytest.raises(ShapeError, match=r'port "Input" needs a \(channels, height, width\) input \(rank 3\) for a 2D resize but received \(8, 8\) of rank 2\.'):
        ResizeLayer((4, 4), input=(8, 8))


# -- PaddingLayer -----------------------------------------------------------------------------
def test_fixed_padding_matches_pad(check_layer):
    layer = PaddingLayer([(0, 0), (1, 2), (2, 1)], input=(2, 5, 6))
    assert layer.types["Output"] == TensorType((2, 8, 9))
    check_layer(layer, lambda a, x: F.pad(x, (2, 1, 1, 2)), batch=2)
    channels = PaddingLayer([(1, 0), 1], padding_value=-3.5, input=(2, 5))
    assert channels.types["Output"] == TensorType((3, 7))
    check_layer(channels, lambda a, x: F.pad(x, (1, 1, 1, 0), value=-3.5), batch=2)


@pytest.mark.parametrize("method, mode", [("Reflected", "reflect"), ("Periodic", "wrap")])
def test_reflected_and_periodic_padding_match_numpy(method, mode, check_layer):
    pairs = [(1, 0), (2, 3), (6, 1)]  # the last pad exceeds the axis: it keeps reflecting or repeating
    layer = PaddingLayer(pairs, method=method, input=(2, 5, 4))
    check_layer(layer, lambda a, x: torch.from_numpy(np.pad(x.numpy(), [(0, 0), *pairs], mode=mode)), batch=2)


def test_reflected_padding_matches_torch_reflect(check_layer):
    layer = PaddingLayer([(0, 0), (2, 1), (1, 3)], method="Reflected", input=(3, 5, 6))
    check_layer(layer, lambda a, x: F.pad(x, (1, 3, 2, 1), mode="reflect"), batch=2)


def test_padding_infers_backwards_and_varying():
    assert PaddingLayer([(0, 0), (1, 1)], output=(3, 9)).types["Input"] == TensorType((3, 7))
    assert PaddingLayer([(0, 0), (1, 1)], input=(3, VARYING)).types["Output"].dims == (3, VARYING)


def test_padding_errors():
    with pytest.raises(ShapeError, match=r'padding lists 2 \(before, after\) pairs, one per axis, but port "Input" has rank 3: \(1, 5, 5\)\. Fix: give one pair per axis, e\.g\. \[\(0, 0\), \(1, 1\), \(1, 1\)\]\.'):
        PaddingLayer([(1, 1), (1, 1)], input=(1, 5, 5))
    with pytest.raises(NetError, match=r"PaddingLayer: padding must list one \(before, after\) pair of non-negative ints per axis of the input"):
        PaddingLayer([(1, -1)])
    with pytest.raises(ShapeError, match=r'axis 1 of port "Input" has size 1, which cannot be reflected\. Fix: use method="Fixed" or "Periodic" on that axis\.'):
        PaddingLayer([(0, 0), (1, 1)], method="Reflected", input=(2, 1))
    with pytest.raises(NetError, match=r'PaddingLayer: method \'Reflect\' is not one of "Fixed", "Reflected", "Periodic"\. Did you mean "Reflected"\?'):
        PaddingLayer([(1, 1)], method="Reflect")
