"""VGG and MobileNetV2 from torchvision-format and timm-format state dicts: each layout is
recognised by its names, fills symnet's architecture, and computes what the library's own
module computes; a file that does not fit lists its first mismatches. The reference modules
(tests/models/torch_reference_cnn.py) carry the libraries' parameter names, with random weights."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from symnet import NetError
from symnet.models import NetModel
from tests.models.torch_reference import randomized
from tests.models.torch_reference_cnn import TimmMobileNetV2, TimmVGG, TorchvisionMobileNetV2, TorchvisionVGG


def outputs(module, net, size, seed=1, batch=2):
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = module(x).numpy()
    return net(x.numpy(), None), expected


def save_safetensors(module, path):
    # real files carry batch-norm counters; they are ignored, not refused
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


@pytest.mark.parametrize("layout", [TorchvisionMobileNetV2, TimmMobileNetV2])
def test_mobilenet_v2_state_dicts_fill_the_net(layout, tmp_path):
    torch.manual_seed(0)
    module = randomized(layout())
    path = save_safetensors(module, tmp_path / "mobilenetv2.safetensors")
    net = NetModel("MobileNetV2", weights=str(path), input=(3, 64, 64))
    got, expected = outputs(module, net, 64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert np.all(got.argmax(-1) == expected.argmax(-1))


def test_mobilenet_v2_from_torch_save_with_timm_names(tmp_path):
    torch.manual_seed(1)
    module = randomized(TimmMobileNetV2())
    torch.save(module.state_dict(), tmp_path / "mobilenetv2_100.pth")
    net = NetModel("MobileNetV2", weights=str(tmp_path / "mobilenetv2_100.pth"), input=(3, 32, 32))
    got, expected = outputs(module, net, 32, seed=2)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_mobilenet_v2_file_that_does_not_fit_lists_the_first_mismatches(tmp_path):
    state = TimmMobileNetV2().state_dict()
    del state["blocks.3.2.conv_dw.weight"]
    state["classifier.weight"] = torch.zeros(10, 1280)
    state["classifier.bias"] = torch.zeros(10)
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(
        NetError,
        match=r'\(read as a timm-format state dict\) do not fit the net: 1 arrays missing from the file, first: blocks\.3\.2\.conv_dw\.weight; '
        r'2 shapes differ, first: classifier/1 "Weights" \(1000, 1280\) ≠ classifier\.weight \(10, 1280\); classifier/1 "Biases" \(1000,\) ≠ classifier\.bias \(10,\)\. '
        r"Fix: use the architecture \(and variant\) the file was saved from\.",
    ):
        NetModel("MobileNetV2", weights=str(tmp_path / "broken.pth"))


@pytest.fixture(scope="module")
def vgg11_timm(tmp_path_factory):
    """timm's VGG-11 with random weights, and its state dict saved as safetensors (530 MB: made once)."""
    torch.manual_seed(0)
    module = TimmVGG(11).eval()
    path = save_safetensors(module, tmp_path_factory.mktemp("vgg") / "vgg11.timm.safetensors")
    return module, path


def test_vgg11_timm_state_dict_fills_the_net(vgg11_timm):
    # timm's classifier is a 7×7 and a 1×1 convolution: read as the linear layers they equal at 224×224
    module, path = vgg11_timm
    net = NetModel("VGG-11", weights=str(path))
    got, expected = outputs(module, net, 224, batch=1)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-7)
    assert np.all(got.argmax(-1) == expected.argmax(-1))


def test_vgg11_torchvision_state_dict_fills_the_net(vgg11_timm, tmp_path):
    timm, _ = vgg11_timm
    with torch.device("meta"):  # no random weights: they are all assigned below
        module = TorchvisionVGG(11).eval()
    # the same numbers in torchvision's names: timm's own conversion, run backwards
    renamed = {"pre_logits.fc1": "classifier.0", "pre_logits.fc2": "classifier.3", "head.fc": "classifier.6"}
    state = {}
    for key, value in timm.state_dict().items():
        prefix, _, name = key.rpartition(".")
        state[f"{renamed.get(prefix, prefix)}.{name}"] = value.flatten(1) if value.dim() == 4 and prefix in renamed else value
    module.load_state_dict(state, assign=True)
    torch.save(module.state_dict(), tmp_path / "vgg11.pth")
    net = NetModel("VGG", depth=11, weights=str(tmp_path / "vgg11.pth"))
    got, expected = outputs(module, net, 224, batch=1)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-7)


def test_vgg_file_of_another_depth_lists_the_first_mismatches(vgg11_timm):
    _, path = vgg11_timm
    with pytest.raises(
        NetError,
        # VGG-16's convolutions are features.0, 2, 5, 7 …; VGG-11's features.0, 3, 6, 8 …
        match=r'\(read as a timm-format state dict\) do not fit the net: 24 arrays missing from the file, first: features\.2\.weight, features\.2\.bias, features\.5\.weight, features\.5\.bias, features\.7\.weight; '
        r"14 entries of the file fit no array of the net, first: features\.11\.bias, features\.11\.weight, features\.13\.bias, features\.13\.weight, features\.16\.bias\. Fix:",
    ):
        NetModel("VGG-16", weights=str(path))


def test_vgg16_layouts_name_every_array():
    # VGG-16's 553 MB is not made here: its two layouts must name exactly the module's parameters
    from symnet.models.registry import resolve

    model, _ = resolve("VGG-16", {})
    layouts = model.layouts()
    with torch.device("meta"):
        for layout, module in (("PyTorch", TorchvisionVGG(16)), ("timm", TimmVGG(16))):
            assert sorted(layouts[layout].values()) == sorted(module.state_dict())
