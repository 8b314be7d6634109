"""VGG (Simonyan & Zisserman, 2014): stacks of 3×3 convolutions, depths 11, 13, 16 and 19.

torchvision's layout and names (without batch norm): ``features`` (convolutions with ReLU,
max pooling between stages, indexed as torchvision's ``features.0``, ``features.3`` …),
``classifier`` (two 4096-wide layers with dropout, then 1,000 classes), then a softmax.

timm's ``vgg11`` … ``vgg19`` keep ``features`` and hold the classifier as ``pre_logits.fc1`` (a
7×7 convolution: the first linear layer's matrix as (4096, 512, 7, 7)), ``pre_logits.fc2`` (a
1×1 convolution) and ``head.fc``; on 224×224 images they compute this net, and their files are
read by :func:`timm_mapping` after :func:`flat_classifier` reshapes the convolutions to matrices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import torch

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


#: the classifier's linear layers (indices in ``classifier``) → timm's names for them
TIMM_CLASSIFIER = {"0": "pre_logits.fc1", "3": "pre_logits.fc2", "6": "head.fc"}


def timm_mapping(depth: int) -> dict[tuple[str, ...], str]:
    """symnet array → key of a timm ``vgg<depth>`` state dict (after :func:`flat_classifier`)."""
    mapping = {target: key for target, key in dotted_mapping(vgg(depth)).items() if target[0] == "features"}
    for index, name in TIMM_CLASSIFIER.items():
        mapping |= {("classifier", index, "Weights"): f"{name}.weight", ("classifier", index, "Biases"): f"{name}.bias"}
    return mapping


def flat_classifier(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's convolutions of the classifier as the matrices of linear layers: a 7×7 convolution
    on the 7×7 feature map is a linear layer on the flattened map, in the same (channel, row,
    column) order as FlattenLayer's. A torchvision file passes unchanged."""
    convolutions = {"pre_logits.fc1.weight", "pre_logits.fc2.weight"}
    return {key: value.flatten(1) if key in convolutions and value.dim() == 4 else value for key, value in state.items()}


def _variant(depth: int) -> str:
    return f"VGG-{depth}"


def _model(depth: int) -> Model:
    def build(input: Any = None, output: Any = None) -> Layer:
        return vgg(depth, input, output)

    return Model(
        name=_variant(depth),
        build=build,
        task="Classification",
        description=f"VGG-{depth}: {depth} layers with weights, for the 1,000 ImageNet classes (architecture; weights from a torchvision or timm state dict).",
        family="VGG",
        parameters={"depth": depth},
        source={"Creator": "Karen Simonyan, Andrew Zisserman", "Date": "2014", "Source": "Very Deep Convolutional Networks for Large-Scale Image Recognition, arXiv:1409.1556"},
        torch_mapping=lambda: dotted_mapping(vgg(depth)),
        timm_mapping=lambda: timm_mapping(depth),
        convert_state=flat_classifier,
    )


MODELS = [_model(depth) for depth in CONFIGURATIONS]
FAMILIES = [Family("VGG", allowed={"depth": tuple(CONFIGURATIONS)}, defaults={"depth": 16}, descriptions={"depth": "the number of layers with weights"}, variant=_variant)]

__all__ = ["CONFIGURATIONS", "FAMILIES", "MODELS", "TIMM_CLASSIFIER", "flat_classifier", "timm_mapping", "vgg"]
