"""Weights from PyTorch state dict files: mapped onto symnet's architecture name for name,
checked before use, and refused with the first mismatches listed."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from symnet import NetError
from symnet.models import NetModel
from symnet.models.weights import read_state_dict, sha256_of, verify_sha256
from tests.models.torch_reference import ResNet18, randomized


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return randomized(ResNet18(), seed=None)


def test_torchvision_state_dict_from_safetensors(resnet18, tmp_path):
    path = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in resnet18.state_dict().items()}, str(path))
    net = NetModel("ResNet-18", weights=str(path), sha256=sha256_of(path), input=(3, 64, 64))
    assert net.initialized
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = resnet18(x).numpy()
    np.testing.assert_allclose(net(x.numpy(), None), expected, atol=1e-5)


def test_torch_save_file_is_read_with_weights_only(resnet18, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18.state_dict(), path)
    assert NetModel("ResNet", weights=str(path), depth=18).initialized
    # a pickle of an arbitrary object is refused, never run
    torch.save({"model": resnet18}, tmp_path / "pickled.pth")
    with pytest.raises(NetError, match=r"is not a state dict of tensors that torch.load\(weights_only=True\) can read"):
        read_state_dict(tmp_path / "pickled.pth")


def test_state_dict_of_another_architecture_lists_the_first_mismatches(resnet18, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18.state_dict(), path)
    with pytest.raises(NetError, match=r"do not fit the net: \d+ arrays missing from the file, first: layer1\.0\.conv3\.weight, .* shapes differ, first: layer1/0/conv1 \"Weights\" \(64, 64, 1, 1\) ≠ layer1\.0\.conv1\.weight \(64, 64, 3, 3\)"):
        NetModel("ResNet-50", weights=str(path))
    state = resnet18.state_dict()
    state["fc.weight"] = torch.zeros(10, 512)
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(NetError, match=r'1 entries of the file fit no array of the net, first: extra\.weight; 1 shapes differ, first: fc "Weights" \(1000, 512\) ≠ fc\.weight \(10, 512\)'):
        NetModel("ResNet-18", weights=str(path))


def test_checksum_mismatch_and_missing_files(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"a": torch.zeros(1)}, path)
    with pytest.raises(NetError, match=r"has the SHA-256 checksum [0-9a-f]{64} but 0{64} was expected"):
        verify_sha256(path, "0" * 64)
    with pytest.raises(NetError, match=r"has the SHA-256 checksum"):
        NetModel("ResNet-18", weights=str(path), sha256="0" * 64)
    with pytest.raises(NetError, match=r'The weights file ".*nothing.pth" does not exist'):
        NetModel("ResNet-18", weights=str(tmp_path / "nothing.pth"))
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(NetError, match=r"is not a readable safetensors file"):
        read_state_dict(tmp_path / "bad.safetensors")
