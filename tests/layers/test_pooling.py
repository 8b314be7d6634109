"""PoolingLayer, ResizeLayer, PaddingLayer (symnet/layers/pooling.py): inference, padding semantics and
errors (reference values and gradients: the layer table, tests/layers/table/pooling.py)."""

import numpy as np
import pytest

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


def test_pooling_stride_defaults_to_one_as_in_wolfram_and_same_padding():
    assert PoolingLayer(2, input=(32, 24, 24)).types["Output"] == TensorType((32, 23, 23))
    assert PoolingLayer(2, 2, input=(32, 24, 24)).types["Output"] == TensorType((32, 12, 12))
    assert PoolingLayer(3, 3, input=(2, 10)).types["Output"] == TensorType((2, 3))
    assert PoolingLayer(2, 2, padding="Same", input=(2, 5, 5)).types["Output"] == TensorType((2, 3, 3))


def test_pooling_infers_backwards_and_keeps_channels():
    layer = PoolingLayer(3, 1, input=(None, None, None), output=(4, 5, 6))
    assert layer.types["Input"] == TensorType((4, 7, 8))


def test_pooling_errors():
    with pytest.raises(ShapeError, match=r'port "Input" has spatial size \(3, 3\), smaller than the pooling kernel \(4, 4\)\. Fix: use a smaller kernel, padding="Same", or a larger input\.'):
        PoolingLayer(4, input=(2, 3, 3))
    with pytest.raises(NetError, match=r'PoolingLayer: function must be one of "Max", "Mean", "Total"; received "Average"\.'):
        PoolingLayer(2, function="Average")
    with pytest.raises(ShapeError, match=r"padding=2 is as large as the kernel \(2, 2\), so some max-pooling windows would hold only padding"):
        PoolingLayer(2, padding=2, input=(1, 6, 6))
    with pytest.raises(ShapeError, match=r'port "Input" needs a \(channels, length\) input \(rank 2\) for a 1D pooling but received \(2, 6, 6\) of rank 3\.'):
        PoolingLayer((2,), input=(2, 6, 6))


# -- ResizeLayer ------------------------------------------------------------------------------
def test_resize_scaled():
    assert ResizeLayer(Scaled(2), input=(2, 3, 5)).types["Output"] == TensorType((2, 6, 10))
    mixed = ResizeLayer((Scaled(0.5), 7), input=(1, 6, 5))
    assert mixed.types["Output"] == TensorType((1, 3, 7))
    assert ResizeLayer((Scaled(2), 4), input=(1, VARYING, 3)).types["Output"].dims == (1, VARYING, 4)


def test_resize_errors():
    with pytest.raises(NetError, match=r"ResizeLayer: size must be one positive int or Scaled\(factor\) per spatial axis \(1 to 3 of them\), not \(0, 4\)\."):
        ResizeLayer((0, 4))
    with pytest.raises(NetError, match=r'ResizeLayer: method must be one of "Bilinear", "Linear", "Nearest"; received "Bilinaer"\. Did you mean "Bilinear"\?'):
        ResizeLayer((4, 4), method="Bilinaer")
    with pytest.raises(NetError, match=r"Scaled: the factor must be a positive number, not -1\."):
        Scaled(-1)
    with pytest.raises(ShapeError, match=r'port "Input" needs a \(channels, height, width\) input \(rank 3\) for a 2D resize but received \(8, 8\) of rank 2\.'):
        ResizeLayer((4, 4), input=(8, 8))


# -- PaddingLayer -----------------------------------------------------------------------------
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
    with pytest.raises(NetError, match=r'PaddingLayer: method must be one of "Fixed", "Reflected", "Periodic"; received "Reflect"\. Did you mean "Reflected"\?'):
        PaddingLayer([(1, 1)], method="Reflect")
