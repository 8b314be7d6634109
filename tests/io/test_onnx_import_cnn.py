"""ONNX import of what torch exports for image nets beyond ResNet: Resize (nn.Upsample and
F.interpolate, nearest and linear), a VGG-11-shaped and a MobileNetV2-shaped net; each imported
net matches onnxruntime, and the forms symnet cannot compute are refused naming the node."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from symnet import Import, NetError  # noqa: E402
from tests.io.test_onnx_import import export, onnxruntime_output  # noqa: E402
from tests.models.torch_reference import randomized  # noqa: E402

TOLERANCE = 1e-4


def kinds(net):
    return [layer.kind for layer in net.layers.values()] if hasattr(net, "layers") else [net.kind]


class Interpolate(nn.Module):
    def __init__(self, **options):
        super().__init__()
        self.conv, self.options = nn.Conv2d(3, 4, 3, padding=1), options

    def forward(self, x):
        y = self.conv(x) if x.dim() == 4 else x
        return F.interpolate(y, **self.options)


@pytest.mark.parametrize(
    ("options", "shape"),
    [
        ({"scale_factor": 2, "mode": "nearest"}, (3, 5, 6)),
        ({"scale_factor": 2, "mode": "bilinear"}, (3, 5, 6)),
        ({"scale_factor": (3, 2), "mode": "bilinear"}, (3, 4, 4)),
        ({"size": (7, 9), "mode": "bilinear"}, (3, 5, 6)),
        ({"size": (7, 4), "mode": "nearest"}, (3, 5, 6)),
        ({"scale_factor": 0.5, "mode": "bilinear"}, (3, 8, 6)),
        ({"scale_factor": 2, "mode": "linear"}, (3, 5)),
        ({"size": 11, "mode": "nearest"}, (3, 5)),
    ],
)
def test_resize_matches_onnxruntime(options, shape, tmp_path):
    torch.manual_seed(0)
    path = export(Interpolate(**options), torch.randn(2, *shape), tmp_path / "resize.onnx")
    net = Import(path)
    assert "ResizeLayer" in kinds(net)
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype(np.float32)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)


@pytest.mark.parametrize("opset", [10, 11, 13])
def test_resize_of_older_opsets(opset, tmp_path):
    path = export(Interpolate(scale_factor=2, mode="nearest"), torch.randn(2, 3, 5, 6), tmp_path / "resize.onnx", opset=opset)
    x = np.random.default_rng(1).normal(size=(3, 3, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(Import(path)(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
    # opset 10 maps positions as "asymmetric", which is not torch's bilinear (onnxruntime differs from torch there too)
    path = export(Interpolate(scale_factor=2, mode="bilinear"), torch.randn(2, 3, 5, 6), tmp_path / "linear.onnx", opset=opset)
    if opset == 10:
        with pytest.raises(NetError, match=r'mode "linear" with coordinate_transformation_mode "asymmetric" is not supported'):
            Import(path)
    else:
        np.testing.assert_allclose(Import(path)(x, None), onnxruntime_output(path, x), atol=TOLERANCE)


def test_upsample_module_in_a_decoder(tmp_path):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(8, 2, 3, padding=1), nn.Upsample(scale_factor=2))
    path = export(module, torch.randn(1, 3, 8, 8), tmp_path / "decoder.onnx")
    net = Import(path)
    x = np.random.default_rng(2).normal(size=(2, 3, 8, 8)).astype(np.float32)
    assert net(x, None).shape == (2, 2, 16, 16)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale_factor": 2, "mode": "bilinear", "align_corners": True}, r'mode "linear" with coordinate_transformation_mode "align_corners" is not supported; symnet imports torch\'s "nearest"'),
        ({"scale_factor": 2, "mode": "bicubic"}, r'mode "cubic" with coordinate_transformation_mode "half_pixel" is not supported'),
        ({"scale_factor": 1.5, "mode": "nearest"}, r"the scale 1.5 of an axis of size 5 gives 7.5 positions; symnet resizes to whole sizes\. Fix: export with size= instead of scale_factor="),
    ],
)
def test_resize_forms_symnet_cannot_compute_are_refused(options, message, tmp_path):
    path = export(Interpolate(**options), torch.randn(2, 3, 5, 6), tmp_path / "resize.onnx")
    with pytest.raises(NetError, match=r'node "/Resize" \(Resize\): ' + message):
        Import(path)


# -- VGG-11 and MobileNetV2 shapes -----------------------------------------------------------
class VGG11Shaped(nn.Module):
    """torchvision's VGG-11 layout (eight 3×3 convolutions, five max poolings, the adaptive pool
    to 7×7, three linear layers with dropout) at an eighth of the width."""

    def __init__(self, width=8, classes=10):
        super().__init__()
        layers, channels = [], 3
        for item in (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M"):
            layers += [nn.MaxPool2d(2, 2)] if item == "M" else [nn.Conv2d(channels, width * item, 3, padding=1), nn.ReLU(inplace=True)]
            channels = channels if item == "M" else width * item
        self.features, self.avgpool = nn.Sequential(*layers), nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(nn.Linear(channels * 49, 64), nn.ReLU(True), nn.Dropout(), nn.Linear(64, 64), nn.ReLU(True), nn.Dropout(), nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class InvertedResidual(nn.Module):
    def __init__(self, channels, expansion, out, stride):
        super().__init__()
        hidden = channels * expansion
        layers = [nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()] if expansion != 1 else []
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(), nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv, self.residual = nn.Sequential(*layers), stride == 1 and channels == out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Shaped(nn.Module):
    """torchvision's MobileNetV2 layout (stem, 17 inverted residuals, 1×1 head, pooling, dropout,
    linear) at a quarter of the width."""

    def __init__(self, classes=10):
        super().__init__()
        stages = ((1, 4, 1, 1), (6, 6, 2, 2), (6, 8, 3, 2), (6, 16, 4, 2), (6, 24, 3, 1), (6, 40, 3, 2), (6, 80, 1, 1))
        layers, channels = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6()], 8
        for expansion, out, repeats, stride in stages:
            for index in range(repeats):
                layers.append(InvertedResidual(channels, expansion, out, stride if index == 0 else 1))
                channels = out
        layers += [nn.Conv2d(channels, 320, 1, bias=False), nn.BatchNorm2d(320), nn.ReLU6()]
        self.features, self.classifier = nn.Sequential(*layers), nn.Sequential(nn.Dropout(0.2), nn.Linear(320, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


@pytest.mark.parametrize(("architecture", "size"), [(VGG11Shaped, 224), (MobileNetV2Shaped, 96)])
def test_vgg11_and_mobilenet_v2_shaped_nets_match_onnxruntime(architecture, size, tmp_path):
    torch.manual_seed(0)
    module = randomized(architecture(), seed=None)
    path = export(module, torch.randn(1, 3, size, size), tmp_path / "cnn.onnx")
    net = Import(path)
    x = np.random.default_rng(3).normal(size=(2, 3, size, size)).astype(np.float32)
    expected = onnxruntime_output(path, x)
    np.testing.assert_allclose(net(x, None), expected, atol=TOLERANCE)
    with torch.no_grad():
        np.testing.assert_allclose(net(x, None), module(torch.from_numpy(x)).numpy(), atol=TOLERANCE)
