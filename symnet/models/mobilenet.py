"""MobileNetV2 (Sandler, Howard, Zhu, Zhmoginov & Chen, 2018), width 1.0, 224×224 inputs.

torchvision's layout and names: ``features.0`` a 3×3/2 convolution to 32 channels, then 17
inverted residual blocks (``features.1`` … ``features.17``: a 1×1 expansion, a depthwise 3×3, a
linear 1×1 projection; the input added back when the block keeps the shape), ``features.18`` a
1×1 convolution to 1280 channels, global mean pooling and ``classifier`` (dropout, 1,000
classes). Convolutions pad symmetrically, as torch does (not TensorFlow's "same").

timm's ``mobilenetv2_100`` computes the same net under other names (``conv_stem``, ``bn1``,
``blocks.<stage>.<index>.conv_pw`` …, ``conv_head``, ``bn2``, ``classifier``): both layouts are
read, recognised by their names (:func:`timm_mapping`).
"""

from __future__ import annotations

from typing import Any

from ..containers.chain import NetChain
from ..containers.graph import NetGraph
from ..layers.base import Layer
from ..layers.basic import DropoutLayer, ElementwiseLayer, LinearLayer, SoftmaxLayer, ThreadingLayer
from ..layers.conv import ConvolutionLayer
from ..layers.norm import BatchNormalizationLayer
from ..layers.reduce import AggregationLayer
from ..ports import NetPort
from .entries import Model
from .imagenet import imagenet_decoder
from .resnet import torch_imagenet_encoder
from .weights import BATCH_NORM_ARRAYS, dotted_mapping

NAME = "MobileNetV2"
#: (expansion, output channels, repeats, first stride) of each stage
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn(channels: int, kernel: int, stride: int = 1, groups: int = 1, activation: bool = True) -> NetChain:
    layers: list[Layer] = [ConvolutionLayer(channels, kernel, stride=stride, padding=(kernel - 1) // 2, groups=groups, biases=False), BatchNormalizationLayer()]
    return NetChain([*layers, ElementwiseLayer("ReLU6")] if activation else layers)


def inverted_residual(channels: int, expansion: int, out: int, stride: int) -> Layer:
    hidden = channels * expansion
    parts: list[Layer] = [_conv_bn(hidden, 1)] if expansion != 1 else []
    # the projection's convolution and batch norm are direct members, as in torchvision's block
    parts += [_conv_bn(hidden, 3, stride, groups=hidden), ConvolutionLayer(out, 1, biases=False), BatchNormalizationLayer()]
    conv = NetChain(parts)
    if stride != 1 or channels != out:
        return NetChain({"conv": conv})
    return NetGraph({"conv": conv, "add": ThreadingLayer("Plus")}, [(NetPort("Input"), "conv", "add"), (NetPort("Input"), "add")])


def mobilenet_v2(input: Any = None, output: Any = None) -> NetChain:
    """The uninitialized MobileNetV2 (224×224 images → 1,000 class probabilities)."""
    features: list[Layer] = [_conv_bn(32, 3, 2)]
    channels = 32
    for expansion, out, repeats, stride in STAGES:
        for index in range(repeats):
            features.append(inverted_residual(channels, expansion, out, stride if index == 0 else 1))
            channels = out
    features.append(_conv_bn(1280, 1))
    layers = {"features": NetChain(features), "pool": AggregationLayer("Mean"), "classifier": NetChain([DropoutLayer(0.2), LinearLayer(1000)]), "prob": SoftmaxLayer()}
    return NetChain(layers, input=torch_imagenet_encoder() if input is None else input, output=imagenet_decoder() if output is None else output)


def timm_mapping() -> dict[tuple[str, ...], str]:
    """symnet array → key of a timm ``mobilenetv2_100`` state dict.

    timm numbers blocks by stage (``blocks.2.1``) and names the convolutions by role: the first
    stage's depthwise-separable block has ``conv_dw, bn1, conv_pw, bn2``; the inverted residuals
    ``conv_pw`` (expansion), ``bn1``, ``conv_dw``, ``bn2``, ``conv_pwl`` (projection), ``bn3``.
    """
    mapping: dict[tuple[str, ...], str] = {}

    def unit(conv: tuple[str, ...], norm: tuple[str, ...], name: str, norm_name: str) -> None:
        mapping[(*conv, "Weights")] = f"{name}.weight"
        mapping.update({(*norm, array): f"{norm_name}.{key}" for array, key in BATCH_NORM_ARRAYS.items()})

    unit(("features", "0", "0"), ("features", "0", "1"), "conv_stem", "bn1")
    block = 1
    for stage, (expansion, _, repeats, _) in enumerate(STAGES):
        for index in range(repeats):
            path, prefix = ("features", str(block), "conv"), f"blocks.{stage}.{index}"
            if expansion == 1:
                unit((*path, "0", "0"), (*path, "0", "1"), f"{prefix}.conv_dw", f"{prefix}.bn1")
                unit((*path, "1"), (*path, "2"), f"{prefix}.conv_pw", f"{prefix}.bn2")
            else:
                unit((*path, "0", "0"), (*path, "0", "1"), f"{prefix}.conv_pw", f"{prefix}.bn1")
                unit((*path, "1", "0"), (*path, "1", "1"), f"{prefix}.conv_dw", f"{prefix}.bn2")
                unit((*path, "2"), (*path, "3"), f"{prefix}.conv_pwl", f"{prefix}.bn3")
            block += 1
    unit(("features", str(block), "0"), ("features", str(block), "1"), "conv_head", "bn2")
    mapping[("classifier", "1", "Weights")] = "classifier.weight"
    mapping[("classifier", "1", "Biases")] = "classifier.bias"
    return mapping


MODELS = [
    Model(
        name=NAME,
        build=mobilenet_v2,
        task="Classification",
        description="MobileNetV2 (width 1.0): inverted residual blocks for the 1,000 ImageNet classes (architecture; weights from a torchvision or timm state dict).",
        source={"Creator": "Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh Chen", "Date": "2018", "Source": "MobileNetV2: Inverted Residuals and Linear Bottlenecks, arXiv:1801.04381"},
        torch_mapping=lambda: dotted_mapping(mobilenet_v2()),
        timm_mapping=timm_mapping,
    )
]

__all__ = ["MODELS", "NAME", "inverted_residual", "mobilenet_v2", "timm_mapping"]
