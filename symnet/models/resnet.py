"""ResNet (He, Zhang, Ren & Sun, 2015): residual networks of depth 18, 34, 50, 101 and 152.

The layout of torchvision's ResNet (v1.5: a bottleneck block strides in its 3×3 convolution),
with the same layer names, so a torchvision state dict maps name for name
(``layer1.0.conv1.weight`` fills the array ``layer1/0/conv1 "Weights"``):

    conv1 7×7/2, bn1, relu, maxpool 3×3/2
    layer1…layer4   residual blocks; each block adds its input (or its 1×1 "downsample") to its branch
    avgpool (global mean), fc (1,000 classes), prob (softmax)

Depths 18 and 34 use basic blocks (two 3×3 convolutions), 50 and up bottleneck blocks (1×1
reduce, 3×3, 1×1 expand ×4). Shipped as architectures: no ImageNet weights are installable
here; ``NetModel("ResNet-50", weights="resnet50.safetensors")`` reads torchvision's, and timm's
(timm's ResNet keeps torchvision's parameter names).
"""

from __future__ import annotations

from typing import Any

from ..coders import NetEncoder
from ..containers.chain import NetChain
from ..containers.graph import NetGraph
from ..layers.base import Layer
from ..layers.basic import LinearLayer, SoftmaxLayer, ThreadingLayer
from ..layers.conv import ConvolutionLayer
from ..layers.norm import BatchNormalizationLayer
from ..layers.pooling import PoolingLayer
from ..layers.reduce import AggregationLayer
from ..ports import NetPort
from .entries import Family, Model
from .imagenet import TORCH_MEAN, TORCH_STD, imagenet_decoder
from .weights import dotted_mapping

#: depth → (block kind, blocks per stage)
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)), 152: ("bottleneck", (3, 8, 36, 3))}
WIDTHS = (64, 128, 256, 512)


def torch_imagenet_encoder(size: int = 224) -> NetEncoder:
    """torchvision's ImageNet evaluation input: resize to 256, centre-crop 224, normalize by ImageNet's mean and std."""
    return NetEncoder("Image", size, color_space="RGB", resize_method="Fill", crop_fraction=0.875, mean_image=TORCH_MEAN, variance_image=tuple(s * s for s in TORCH_STD))


def _conv(channels: int, kernel: int, stride: int = 1) -> ConvolutionLayer:
    return ConvolutionLayer(channels, kernel, stride=stride, padding=kernel // 2, biases=False)


def residual_block(kind: str, channels: int, width: int, stride: int) -> NetGraph:
    """One block: ``relu(branch(x) + shortcut(x))``; the shortcut is a strided 1×1 convolution when the shape changes."""
    out = width * 4 if kind == "bottleneck" else width
    if kind == "basic":
        layers: dict[str, Any] = {"conv1": _conv(width, 3, stride), "bn1": BatchNormalizationLayer(), "relu1": "Ramp", "conv2": _conv(width, 3), "bn2": BatchNormalizationLayer()}
    else:
        layers = {
            "conv1": _conv(width, 1), "bn1": BatchNormalizationLayer(), "relu1": "Ramp",
            "conv2": _conv(width, 3, stride), "bn2": BatchNormalizationLayer(), "relu2": "Ramp",
            "conv3": _conv(out, 1), "bn3": BatchNormalizationLayer(),
        }
    branch = [NetPort("Input"), *layers, "add"]
    shortcut = [NetPort("Input"), "add"]
    if stride != 1 or channels != out:
        layers["downsample"] = NetChain([_conv(out, 1, stride), BatchNormalizationLayer()])
        shortcut = [NetPort("Input"), "downsample", "add"]
    layers |= {"add": ThreadingLayer("Plus"), "relu": "Ramp"}
    return NetGraph(layers, [tuple(branch), tuple(shortcut), ("add", "relu")])


def resnet(depth: int, input: Any = None, output: Any = None) -> NetChain:
    """The uninitialized ResNet of a given depth (224×224 ImageNet images → 1,000 class probabilities)."""
    kind, counts = DEPTHS[depth]
    layers: dict[str, Any] = {"conv1": _conv(64, 7, 2), "bn1": BatchNormalizationLayer(), "relu": "Ramp", "maxpool": PoolingLayer(3, 2, padding=1)}
    channels = 64
    for stage, (width, count) in enumerate(zip(WIDTHS, counts)):
        blocks = []
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            blocks.append(residual_block(kind, channels, width, stride))
            channels = width * 4 if kind == "bottleneck" else width
        layers[f"layer{stage + 1}"] = NetChain(blocks)
    layers |= {"avgpool": AggregationLayer("Mean"), "fc": LinearLayer(1000), "prob": SoftmaxLayer()}
    return NetChain(layers, input=torch_imagenet_encoder() if input is None else input, output=imagenet_decoder() if output is None else output)


def _variant(depth: int) -> str:
    return f"ResNet-{depth}"


def _model(depth: int) -> Model:
    def build(input: Any = None, output: Any = None) -> Layer:
        return resnet(depth, input, output)

    return Model(
        name=_variant(depth),
        build=build,
        task="Classification",
        description=f"ResNet-{depth}: a residual network for the 1,000 ImageNet classes (architecture; weights from a torchvision state dict).",
        family="ResNet",
        parameters={"depth": depth},
        source={"Creator": "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun", "Date": "2015", "Source": "Deep Residual Learning for Image Recognition, arXiv:1512.03385"},
        torch_mapping=lambda: dotted_mapping(resnet(depth)),
    )


MODELS = [_model(depth) for depth in DEPTHS]
FAMILIES = [Family("ResNet", allowed={"depth": tuple(DEPTHS)}, defaults={"depth": 50}, descriptions={"depth": "the number of layers with weights"}, variant=_variant)]

__all__ = ["DEPTHS", "FAMILIES", "MODELS", "residual_block", "resnet", "torch_imagenet_encoder"]
