"""Entries of symnet/layers/conv.py: ConvolutionLayer and DeconvolutionLayer."""

import torch.nn.functional as F

from symnet import ConvolutionLayer, DeconvolutionLayer

from .entry import Entry


def _convolution(label: str, input_shape: tuple[int, ...], kernel: object, options: dict, function: object) -> Entry:
    return Entry(lambda: ConvolutionLayer(4, kernel, input=input_shape, **options), lambda a, x: function(x, a["Weights"], a["Biases"], **options), label)


def _deconvolution(label: str, input_shape: tuple[int, ...], kernel: object, options: dict, function: object) -> Entry:
    return Entry(lambda: DeconvolutionLayer(4, kernel, input=input_shape, **options), lambda a, x: function(x, a["Weights"], a["Biases"], **options), label)


ENTRIES = [
    _convolution("1d", (3, 7), 3, {}, F.conv1d),
    _convolution("1d-stride-padding-dilation", (2, 7), 2, {"stride": 2, "padding": 1, "dilation": 2}, F.conv1d),
    _convolution("2d", (3, 6, 5), 3, {}, F.conv2d),
    _convolution("2d-per-axis", (2, 7, 6), (3, 2), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}, F.conv2d),
    _convolution("2d-groups", (4, 5, 5), 3, {"groups": 2, "padding": 1}, F.conv2d),
    _convolution("3d", (2, 5, 5, 5), 3, {"stride": 2, "padding": 1}, F.conv3d),
    Entry(lambda: ConvolutionLayer(3, 3, input=(2, 6, 6), biases=False), lambda a, x: F.conv2d(x, a["Weights"]), "no-biases"),
    # "Same" padding with stride 2 on an even size: the one element of padding goes after
    Entry(lambda: ConvolutionLayer(2, 3, stride=2, padding="Same", input=(2, 6, 6)), lambda a, x: F.conv2d(F.pad(x, (0, 1, 0, 1)), a["Weights"], a["Biases"], stride=2), "same-stride2"),
    # an even kernel: "Same" pads 1 before and 2 after, as torch's padding="same" does
    Entry(lambda: ConvolutionLayer(2, 4, padding="Same", input=(2, 6, 5)), lambda a, x: F.conv2d(F.pad(x, (1, 2, 1, 2)), a["Weights"], a["Biases"]), "same-even-kernel"),
    Entry(lambda: ConvolutionLayer(3, 3, padding=((2, 0), (0, 1)), input=(2, 5, 5)), lambda a, x: F.conv2d(F.pad(x, (0, 1, 2, 0)), a["Weights"], a["Biases"]), "padding-pairs"),
    _deconvolution("1d", (3, 6), 3, {"stride": 2}, F.conv_transpose1d),
    _deconvolution("2d", (3, 5, 6), 4, {"stride": 2, "padding": 1}, F.conv_transpose2d),
    _deconvolution("2d-dilation", (2, 5, 5), (3, 2), {"stride": (1, 2), "dilation": (2, 1)}, F.conv_transpose2d),
    _deconvolution("2d-groups", (4, 5, 5), 3, {"groups": 2, "stride": 2, "padding": 1}, F.conv_transpose2d),
    _deconvolution("3d", (2, 3, 3, 3), 2, {"stride": 2}, F.conv_transpose3d),
    # "Same" multiplies the size by the stride: crop the extra element, or extend with output_padding
    Entry(lambda: DeconvolutionLayer(3, 3, stride=2, padding="Same", input=(2, 5, 5)), lambda a, x: F.conv_transpose2d(x, a["Weights"], a["Biases"], stride=2)[:, :, :-1, :-1], "same"),
    Entry(lambda: DeconvolutionLayer(3, 1, stride=2, padding="Same", input=(2, 5)), lambda a, x: F.conv_transpose1d(x, a["Weights"], a["Biases"], stride=2, output_padding=1), "same-wide-stride"),
    Entry(lambda: DeconvolutionLayer(3, 3, stride=2, padding=((1, 0), (0, 2)), input=(2, 5, 5)), lambda a, x: F.conv_transpose2d(x, a["Weights"], a["Biases"], stride=2)[:, :, 1:, :-2], "uneven-padding"),
]
