"""Weights from a URL: downloaded once into the cache, checked against their SHA-256 before they
are kept, served here by a local HTTP server on 127.0.0.1 (tests never use the internet)."""

import functools
import http.server
import os

import pytest
import torch

from symnet import NetError, NetExtract
from symnet.models import NetModel
from symnet.models.weights import sha256_of


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def served(tmp_path, serve_http):
    """(folder served, base URL) of a local HTTP server on an ephemeral port."""
    folder = tmp_path / "served"
    folder.mkdir()
    CountingHandler.requests = []
    yield folder, serve_http(functools.partial(CountingHandler, directory=str(folder))) + "/"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYMNET_CACHE", str(folder))
    return folder


def lenet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in PyTorch's names for the LeNet-5 of the repository."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"conv1": (6, 1, 5, 5), "conv2": (16, 6, 5, 5), "fc1": (120, 400), "fc2": (84, 120), "fc3": (10, 84)}
    state = {}
    for name, shape in shapes.items():
        state[f"{name}.weight"] = torch.randn(shape, generator=generator) * 0.1
        state[f"{name}.bias"] = torch.randn(shape[0], generator=generator) * 0.1
    return state


def test_download_is_checked_cached_and_reused(served, cache):
    folder, url = served
    state = lenet_state()
    torch.save(state, folder / "lenet.pth")
    checksum = sha256_of(folder / "lenet.pth")
    net = NetModel("LeNet-5", weights=url + "lenet.pth", sha256=checksum)
    assert torch.equal(torch.as_tensor(NetExtract(net, ["conv1", "Weights"])), state["conv1.weight"])
    cached = os.listdir(cache / "models")
    assert cached == [f"{checksum[:16]}-lenet.pth"]
    assert CountingHandler.requests == ["/lenet.pth"]
    NetModel("LeNet-5", weights=url + "lenet.pth", sha256=checksum)
    assert CountingHandler.requests == ["/lenet.pth"]  # the second time, the cache


def test_checksum_mismatch_keeps_nothing(served, cache):
    folder, url = served
    torch.save(lenet_state(), folder / "lenet.pth")
    with pytest.raises(NetError, match=r"has the SHA-256 checksum [0-9a-f]{64} but 0{64} was expected: .* so it was deleted and nothing was cached"):
        NetModel("LeNet-5", weights=url + "lenet.pth", sha256="0" * 64)
    assert not (cache / "models").exists() or os.listdir(cache / "models") == []


def test_a_changed_cached_file_is_fetched_again(served, cache):
    folder, url = served
    torch.save(lenet_state(), folder / "lenet.pth")
    checksum = sha256_of(folder / "lenet.pth")
    NetModel("LeNet-5", weights=url + "lenet.pth", sha256=checksum)
    (cached,) = (cache / "models").iterdir()
    cached.write_bytes(b"damaged")
    NetModel("LeNet-5", weights=url + "lenet.pth", sha256=checksum)
    assert sha256_of(cached) == checksum
    assert CountingHandler.requests == ["/lenet.pth", "/lenet.pth"]


def test_download_errors(served, cache):
    _, url = served
    with pytest.raises(NetError, match=r"needs its SHA-256 checksum \(64 hex digits\) as sha256=, to check the file before it is used; received None"):
        NetModel("LeNet-5", weights=url + "lenet.pth")
    with pytest.raises(NetError, match=r"Downloading the weights from .*missing.pth failed \(HTTP Error 404: File not found\); nothing was cached"):
        NetModel("LeNet-5", weights=url + "missing.pth", sha256="0" * 64)
