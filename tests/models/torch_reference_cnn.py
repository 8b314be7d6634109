"""Plain PyTorch VGG and MobileNetV2, written independently of symnet, each in two layouts: the
attribute names of torchvision's modules and of timm's, so their ``state_dict()`` has the names
the real checkpoints of those libraries have (neither library is installed here). The forward
passes are the libraries' own: torchvision's VGG pools to 7×7 and flattens into linear layers,
timm's runs the same numbers as 7×7 and 1×1 convolutions then pools; every net ends in softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VGG_CONFIGURATIONS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}
#: (expansion, output channels, repeats, first stride) of MobileNetV2's stages
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def vgg_features(depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG_CONFIGURATIONS[depth]:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU()]
            channels = int(item)
    return nn.Sequential(*layers)


class TorchvisionVGG(nn.Module):
    """torchvision's ``vgg11``/``vgg16``: ``features.N``, ``classifier.0/3/6``."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.features = vgg_features(depth)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(torch.flatten(self.avgpool(self.features(x)), 1)), -1)


class ConvMlp(nn.Module):
    """timm's VGG head before the classifier: the two 4096-wide layers as convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(512, 4096, 7)
        self.fc2 = nn.Conv2d(4096, 4096, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc2(F.relu(self.fc1(x))))


class Head(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(x.mean((2, 3))), -1)


class TimmVGG(nn.Module):
    """timm's ``vgg11``/``vgg16``: ``features.N``, ``pre_logits.fc1/fc2`` (convolutions), ``head.fc``."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.features = vgg_features(depth)
        self.pre_logits = ConvMlp()
        self.head = Head(4096)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pre_logits(self.features(x)))


def conv_bn(channels: int, out: int, kernel: int, stride: int = 1, groups: int = 1, activation: bool = True) -> nn.Sequential:
    """torchvision's Conv2dNormActivation: ``0`` the convolution, ``1`` the batch norm, ``2`` ReLU6."""
    layers: list[nn.Module] = [nn.Conv2d(channels, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out)]
    return nn.Sequential(*layers, nn.ReLU6()) if activation else nn.Sequential(*layers)


class TorchvisionInvertedResidual(nn.Module):
    def __init__(self, channels: int, expansion: int, out: int, stride: int) -> None:
        super().__init__()
        hidden = channels * expansion
        layers: list[nn.Module] = [conv_bn(channels, hidden, 1)] if expansion != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and channels == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_blocks(block: type[nn.Module]) -> list[list[nn.Module]]:
    """MobileNetV2's inverted residual blocks, grouped by stage."""
    stages, channels = [], 32
    for expansion, out, repeats, stride in MOBILENET_STAGES:
        stages.append([block(channels if index == 0 else out, expansion, out, stride if index == 0 else 1) for index in range(repeats)])
        channels = out
    return stages


class TorchvisionMobileNetV2(nn.Module):
    """torchvision's ``mobilenet_v2``: ``features.0`` … ``features.18``, ``classifier.1``."""

    def __init__(self) -> None:
        super().__init__()
        blocks = [b for stage in mobilenet_blocks(TorchvisionInvertedResidual) for b in stage]
        self.features = nn.Sequential(conv_bn(3, 32, 3, 2), *blocks, conv_bn(320, 1280, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(self.features(x).mean((2, 3))), -1)


class TimmDepthwiseSeparable(nn.Module):
    """timm's DepthwiseSeparableConv (the first stage): ``conv_dw, bn1, conv_pw, bn2``."""

    def __init__(self, channels: int, expansion: int, out: int, stride: int) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv_pw = nn.Conv2d(channels, out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.residual = stride == 1 and channels == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv_pw(F.relu6(self.bn1(self.conv_dw(x)))))
        return x + y if self.residual else y


class TimmInvertedResidual(nn.Module):
    """timm's InvertedResidual: ``conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3``."""

    def __init__(self, channels: int, expansion: int, out: int, stride: int) -> None:
        super().__init__()
        hidden = channels * expansion
        self.conv_pw, self.bn1 = nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden)
        self.conv_dw, self.bn2 = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden)
        self.conv_pwl, self.bn3 = nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)
        self.residual = stride == 1 and channels == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.bn2(self.conv_dw(F.relu6(self.bn1(self.conv_pw(x))))))
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.residual else y


def timm_block(channels: int, expansion: int, out: int, stride: int) -> nn.Module:
    return TimmDepthwiseSeparable(channels, expansion, out, stride) if expansion == 1 else TimmInvertedResidual(channels, expansion, out, stride)


class TimmMobileNetV2(nn.Module):
    """timm's ``mobilenetv2_100``: ``conv_stem, bn1``, ``blocks.<stage>.<index>``, ``conv_head, bn2``, ``classifier``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_stem, self.bn1 = nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32)
        self.blocks = nn.Sequential(*(nn.Sequential(*stage) for stage in mobilenet_blocks(timm_block)))  # type: ignore[arg-type]
        self.conv_head, self.bn2 = nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280)
        self.classifier = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu6(self.bn1(self.conv_stem(x))))
        x = F.relu6(self.bn2(self.conv_head(x)))
        return torch.softmax(self.classifier(x.mean((2, 3))), -1)


