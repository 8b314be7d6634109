"""ConvolutionLayer and DeconvolutionLayer (symnet/layers/conv.py): inference, errors, and the notebook CNN
built from them (reference values and gradients: the layer table, tests/layers/table/conv.py)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from symnet import (
    VARYING,
    ConvolutionLayer,
    DeconvolutionLayer,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetInitialize,
    PoolingLayer,
    ShapeError,
    TensorType,
)


# -- ConvolutionLayer -------------------------------------------------------------------------
def test_convolution_without_biases_has_no_biases_array():
    assert ConvolutionLayer(3, 3, input=(2, 6, 6), biases=False).array_names() == ("Weights",)


def test_convolution_infers_input_channels_and_shapes():
    layer = ConvolutionLayer(32, 5, input=(1, 28, 28))
    assert layer.types["Weights"] == TensorType((32, 1, 5, 5))
    assert layer.types["Biases"] == TensorType((32,))
    assert layer.types["Output"] == TensorType((32, 24, 24))


@pytest.mark.parametrize("input_shape, weights", [((3, 10), (4, 3, 5)), ((3, 6, 7), (4, 3, 5, 5)), ((3, 6, 6, 6), (4, 3, 5, 5, 5))])
def test_int_kernel_takes_dimensionality_from_input(input_shape, weights):
    layer = ConvolutionLayer(4, 5, input=input_shape)
    assert layer.types["Weights"].dims == weights


def test_int_kernel_dimensionality_unified_inside_a_chain():
    loose = ConvolutionLayer(4, 3)
    assert loose.types["Weights"].dims is None  # no guess before the input is known
    net = NetChain([loose, "Ramp"], input=(2, 9))
    assert net.layers["0"].types["Weights"] == TensorType((4, 2, 3))
    assert net.types["Output"] == TensorType((4, 7))


def test_convolution_infers_backwards():
    from_weights = ConvolutionLayer(arrays={"Weights": np.zeros((6, 2, 3, 3)), "Biases": np.zeros(6)})
    assert from_weights.types["Input"].dims == (2, None, None)
    assert from_weights.types["Output"].dims == (6, None, None)
    from_output = ConvolutionLayer(kernel_size=3, padding=1, input=(3, None, None), output=(5, 8, 8))
    assert from_output.types["Input"] == TensorType((3, 8, 8))
    assert from_output.types["Weights"] == TensorType((5, 3, 3, 3))
    grouped = ConvolutionLayer(4, 3, groups=2, arrays={"Weights": np.zeros((4, 3, 3, 3))})
    assert grouped.types["Input"].dims == (6, None, None)


@pytest.mark.parametrize("size, stride", [(7, 1), (6, 1), (7, 2), (6, 2), (5, 3)])
def test_same_padding_gives_ceil_of_size_over_stride(size, stride, check_layer):
    layer = ConvolutionLayer(2, 3, stride=stride, padding="Same", input=(2, size, size))
    out = -(-size // stride)
    assert layer.types["Output"] == TensorType((2, out, out))
    check_layer(layer, batch=2)


def test_varying_length_1d_convolution():
    layer = NetInitialize(ConvolutionLayer(4, 3, padding=1, input=(2, VARYING)))
    assert layer.types["Output"].dims == (4, VARYING)
    x = np.random.default_rng(0).normal(size=(2, 11)).astype(np.float32)
    w, b = torch.from_numpy(NetExtract(layer, "Weights")), torch.from_numpy(NetExtract(layer, "Biases"))
    np.testing.assert_allclose(layer(x), F.conv1d(torch.from_numpy(x)[None], w, b, padding=1)[0], atol=1e-5)


def test_channels_last_input():
    layer = NetInitialize(ConvolutionLayer(5, 3, padding=1, input=(3, 6, 7)))
    arrays = {name: torch.from_numpy(NetExtract(layer, name)) for name in ("Weights", "Biases")}
    x = torch.randn(2, 3, 6, 7)
    expected = F.conv2d(x, arrays["Weights"], arrays["Biases"], padding=1)
    result = layer.forward(arrays, x.to(memory_format=torch.channels_last))
    assert torch.allclose(result, expected, atol=1e-5)


def test_forward_plan_is_precomputed():
    layer = ConvolutionLayer(4, 3, stride=2, padding="Same", input=(2, 6, 6))
    convolve, pad, arguments = layer._plan
    assert convolve is F.conv2d and pad == (0, 1, 0, 1) and arguments == ((2, 2), 0, (1, 1), 1)


def test_input_smaller_than_kernel():
    with pytest.raises(ShapeError, match=r'port "Input" has spatial size \(3, 3\), smaller than the kernel \(5, 5\)\. Fix: pad the input \(e\.g\. padding=\(1, 1\) or padding="Same"\)'):
        ConvolutionLayer(4, 5, input=(2, 3, 3))
    with pytest.raises(ShapeError, match=r"smaller than the kernel \(3,\) dilated to 5\. Fix: pad the input \(e\.g\. padding=1 or"):
        ConvolutionLayer(4, 3, dilation=2, input=(2, 4))


def test_input_smaller_than_kernel_in_a_chain_names_the_layer():
    with pytest.raises(ShapeError, match=r'NetChain/2 \(ConvolutionLayer\): port "Input" has spatial size \(4, 4\), smaller than the kernel \(5, 5\)'):
        NetChain([ConvolutionLayer(8, 5), PoolingLayer(2, 2), ConvolutionLayer(8, 5)], input=(1, 12, 12))


def test_wrong_input_rank():
    with pytest.raises(ShapeError, match=r'port "Input" needs a \(channels, height, width\) input \(rank 3\) for a 2D convolution but received \(28, 28\) of rank 2\. Fix: add a channel axis, e\.g\. input=\(1, 28, 28\)\.'):
        ConvolutionLayer(8, (5, 5), input=(28, 28))
    with pytest.raises(ShapeError, match=r'port "Input" needs a \(channels, length\), \(channels, height, width\) or \(channels, depth, height, width\) input but received \(28,\) of rank 1\. Fix: add a channel axis, e\.g\. input=\(1, 28\)\.'):
        ConvolutionLayer(8, 5, input=(28,))
    with pytest.raises(ShapeError, match=r'the array "Weights" has shape \(4, 2, 3\) of rank 3, but a 2D convolution needs rank 4'):
        ConvolutionLayer(4, 3, input=(2, 6, 6), arrays={"Weights": np.zeros((4, 2, 3))})


def test_weights_that_conflict_with_the_input_name_both_shapes():
    with pytest.raises(ShapeError, match=r'the array "Weights" has shape \(4, 3, 3, 3\) but the convolution from \(2, 6, 6\) to 4 channels with kernel \(3, 3\) needs \(4, 2, 3, 3\)\. Fix: give Weights of that shape'):
        ConvolutionLayer(4, 3, input=(2, 6, 6), arrays={"Weights": np.zeros((4, 3, 3, 3))})
    with pytest.raises(ShapeError, match=r'the array "Weights" has shape \(4, 3, 3\) but the deconvolution from \(2, 6\) to 4 channels with kernel \(3,\) needs \(2, 4, 3\)'):
        DeconvolutionLayer(4, 3, input=(2, 6), arrays={"Weights": np.zeros((4, 3, 3))})


def test_channels_not_divisible_by_groups():
    with pytest.raises(ShapeError, match=r"the input has 3 channels, which groups=2 does not divide; use a number of input channels divisible by 2, or change groups\."):
        ConvolutionLayer(4, 3, groups=2, input=(3, 8, 8))
    with pytest.raises(NetError, match=r"ConvolutionLayer: 5 output channels cannot be split into groups=2; use a number of channels divisible by 2\."):
        ConvolutionLayer(5, 3, groups=2)


def test_bad_hyperparameters():
    with pytest.raises(NetError, match=r"ConvolutionLayer: the number of output channels must be a positive int, not 0\."):
        ConvolutionLayer(0, 3)
    with pytest.raises(NetError, match=r"ConvolutionLayer: kernel_size must be a positive int or a tuple of 1 to 3 of them, not \(3, 0\)\."):
        ConvolutionLayer(4, (3, 0))
    with pytest.raises(NetError, match=r"ConvolutionLayer: stride=\(1, 2, 1\) has 3 entries but kernel_size=\(3, 3\) has 2; give one entry per spatial axis\."):
        ConvolutionLayer(4, (3, 3), stride=(1, 2, 1))
    with pytest.raises(NetError, match=r'ConvolutionLayer: padding must be a non-negative int, one int per spatial axis, one \(before, after\) pair per spatial axis or "Same", not -1\.'):
        ConvolutionLayer(4, 3, padding=-1)
    with pytest.raises(NetError, match=r"ConvolutionLayer: groups must be a positive int, not 0\."):
        ConvolutionLayer(4, 3, groups=0)


# -- DeconvolutionLayer -----------------------------------------------------------------------
def test_deconvolution_shapes_and_weights_layout():
    layer = DeconvolutionLayer(6, 4, stride=2, padding=1, groups=2, input=(4, 5, 5))
    assert layer.types["Weights"] == TensorType((4, 3, 4, 4))
    assert layer.types["Output"] == TensorType((6, 10, 10))
    backwards = DeconvolutionLayer(3, 3, stride=2, input=(2, None, None), output=(3, 11, 13))
    assert backwards.types["Input"] == TensorType((2, 5, 6))


def test_deconvolution_padding_larger_than_output():
    with pytest.raises(ShapeError, match=r"padding=3 crops away the whole output: axis 0 of the input has size 1, which the kernel 3 and stride 1 turn into 3 before cropping\. Fix: use less padding\."):
        DeconvolutionLayer(2, 3, padding=3, input=(2, 1, 1))


# -- the notebook CNN -------------------------------------------------------------------------
def notebook_cnn():
    return NetChain(
        [
            ConvolutionLayer(32, 5), "Ramp", PoolingLayer(2, 2),
            ConvolutionLayer(32, 5), "Ramp", PoolingLayer(2, 2),
            ConvolutionLayer(64, 3), "Ramp", PoolingLayer(2, 2),
            LinearLayer(64), "Ramp", LinearLayer(10),
        ],
        input=(1, 28, 28),
    )


def test_notebook_cnn_infers_every_shape():
    net = notebook_cnn()
    shapes = [net.layers[str(i)].types["Output"].dims for i in range(12)]
    assert shapes == [
        (32, 24, 24), (32, 24, 24), (32, 12, 12),
        (32, 8, 8), (32, 8, 8), (32, 4, 4),
        (64, 2, 2), (64, 2, 2), (64, 1, 1),
        (64,), (64,), (10,),
    ]
    weights = [net.layers[str(i)].types["Weights"].dims for i in (0, 3, 6, 9, 11)]
    assert weights == [(32, 1, 5, 5), (32, 32, 5, 5), (64, 32, 3, 3), (64, 64), (10, 64)]


class TorchCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(1, 32, 5), nn.Conv2d(32, 32, 5), nn.Conv2d(32, 64, 3)
        self.fc1, self.fc2 = nn.Linear(64, 64), nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.max_pool2d(F.relu(conv(x)), 2, 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def test_notebook_cnn_matches_a_torch_module():
    net = NetInitialize(notebook_cnn(), random_seeding=3)
    reference = TorchCNN()
    with torch.no_grad():
        for name, index in (("conv1", 0), ("conv2", 3), ("conv3", 6), ("fc1", 9), ("fc2", 11)):
            module = getattr(reference, name)
            module.weight.copy_(torch.from_numpy(NetExtract(net, [index, "Weights"])))
            module.bias.copy_(torch.from_numpy(NetExtract(net, [index, "Biases"])))
        images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        expected = reference(images).numpy()
    np.testing.assert_allclose(net(images.numpy()), expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(net(images[0].numpy()), expected[0], atol=1e-5, rtol=1e-5)
