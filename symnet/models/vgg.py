"""VGG (Simonyan & Zisserman, 2014): stacks of 3×3 convolutions, depths 11, 13, 16 and 19.

torchvision's layout and names (without batch norm): ``features`` (convolutions with ReLU,
max pooling between stages, indexed as torchvision's ``features.0``, ``features.3`` …),
``classifier`` (two 4096-wide layers with dropout, then 1,000 classes), then a softmax.
"""

from __future__ import annotations

from typing import Any

from ..containers.chain import NetChain
from ..layers.base import Layer
from ..layers.basic import DropoutLayer, LinearLayer, SoftmaxLayer
from ..layers.conv import ConvolutionLayer
from ..layers.pooling import PoolingLayer
from ..layers.structure import FlattenLayer
from .entries import Family, Model
from .imagenet import imagenet_decoder
from .resnet import torch_imagenet_encoder
from .weights import dotted_mapping

#: depth → output channels of each convolution, "M" for a 2×2 max pooling
CONFIGURATIONS: dict[int, tuple[Any, ...]] = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
}


def vgg(depth: int, input: Any = None, output: Any = None) -> NetChain:
    """The uninitialized VGG of a given depth (224×224 images → 1,000 class probabilities)."""
    features: list[Any] = []
    for item in CONFIGURATIONS[depth]:
        features += [PoolingLayer(2, 2)] if item == "M" else [ConvolutionLayer(item, 3, padding=1), "Ramp"]
    classifier = [LinearLayer(4096), "Ramp", DropoutLayer(0.5), LinearLayer(4096), "Ramp", DropoutLayer(0.5), LinearLayer(1000)]
    layers = {"features": NetChain(features), "flatten": FlattenLayer(), "classifier": NetChain(classifier), "prob": SoftmaxLayer()}
    return NetChain(layers, input=torch_imagenet_encoder() if input is None else input, output=imagenet_decoder() if output is None else output)


def _variant(depth: int) -> str:
    return f"VGG-{depth}"


def _model(depth: int) -> Model:
    def build(input: Any = None, output: Any = None) -> Layer:
        return vgg(depth, input, output)

    return Model(
        name=_variant(depth),
        build=build,
        task="Classification",
        description=f"VGG-{depth}: {depth} layers with weights, for the 1,000 ImageNet classes (architecture; weights from a torchvision state dict).",
        family="VGG",
        parameters={"depth": depth},
        source={"Creator": "Karen Simonyan, Andrew Zisserman", "Date": "2014", "Source": "Very Deep Convolutional Networks for Large-Scale Image Recognition, arXiv:1409.1556"},
        torch_mapping=lambda: dotted_mapping(vgg(depth)),
    )


MODELS = [_model(depth) for depth in CONFIGURATIONS]
FAMILIES = [Family("VGG", allowed={"depth": tuple(CONFIGURATIONS)}, defaults={"depth": 16}, descriptions={"depth": "the number of layers with weights"}, variant=_variant)]

__all__ = ["CONFIGURATIONS", "FAMILIES", "MODELS", "vgg"]
