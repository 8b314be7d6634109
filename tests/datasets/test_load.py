"""datasets.load: the search order, and downloads from a local HTTP server (never the internet)."""

import dataclasses
import functools
import hashlib
import http.server
import os

import numpy as np
import pytest

from symnet import NetError, datasets
from symnet.datasets import mnist, write_idx

rng = np.random.default_rng(0)
IMAGES = {"train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), "test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)}
LABELS = {"train": rng.integers(0, 10, 12).astype(np.uint8), "test": rng.integers(0, 10, 5).astype(np.uint8)}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.path.endswith("truncated.gz"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"only a few bytes")
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path, serve_http):
    """A local HTTP server (port 0, 127.0.0.1) serving generated IDX files from tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()
    for split, (images_name, labels_name) in mnist.FILES.items():
        write_idx(served / images_name, IMAGES[split])
        write_idx(served / labels_name, LABELS[split])
    QuietHandler.requests = []
    yield served, serve_http(functools.partial(QuietHandler, directory=str(served))) + "/"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYMNET_CACHE", str(folder))
    return folder


def tiny_source(served, monkeypatch, **changes):
    md5 = {name: hashlib.md5((served / name).read_bytes()).hexdigest() for name in os.listdir(served)}
    source = dataclasses.replace(mnist.SOURCES["FashionMNIST"], name="Tiny", folder="tiny", md5=md5, system_dirs=(), base_url="http://127.0.0.1:9/")
    source = dataclasses.replace(source, **changes)
    monkeypatch.setitem(mnist.SOURCES, "Tiny", source)
    return source


def test_download_into_the_cache_then_reuse(server, cache, monkeypatch) -> None:
    served, url = server
    tiny_source(served, monkeypatch)
    data = datasets.load("Tiny", "train", base_url=url)
    assert np.array_equal(data.images, IMAGES["train"]) and np.array_equal(data.labels, LABELS["train"])
    assert data.labels.dtype == np.int64 and data.images.flags.c_contiguous
    assert sorted(os.listdir(cache / "tiny")) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert len(QuietHandler.requests) == 2
    again = datasets.load("Tiny", "train", base_url=url)
    assert np.array_equal(again.images, data.images) and len(QuietHandler.requests) == 2


def test_base_url_from_the_environment_and_explicit_path(server, cache, monkeypatch, tmp_path) -> None:
    served, url = server
    tiny_source(served, monkeypatch)
    monkeypatch.setenv("SYMNET_TINY_URL", url)
    target = tmp_path / "mine"
    data = datasets.load("Tiny", "test", path=target)
    assert np.array_equal(data.images, IMAGES["test"]) and data.split == "test"
    assert sorted(os.listdir(target)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert not cache.exists()


def test_uncompressed_files_in_an_explicit_path(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", IMAGES["test"])
    write_idx(folder / "t10k-labels-idx1-ubyte", LABELS["test"])
    data = datasets.load("FashionMNIST", "test", path=folder)
    assert np.array_equal(data.images, IMAGES["test"]) and data.class_names[0] == "T-shirt/top"


def test_checksum_mismatch_deletes_the_file(server, cache, monkeypatch) -> None:
    served, url = server
    # the real Fashion-MNIST checksums do not match the generated files: the first download fails
    monkeypatch.setitem(mnist.SOURCES, "FashionMNIST", dataclasses.replace(mnist.SOURCES["FashionMNIST"], system_dirs=()))
    with pytest.raises(NetError, match=r"train-images-idx3-ubyte.gz has the MD5 checksum [0-9a-f]{32} but 8d4fb7e6c68d591d4c3dfef9ec88bf0d was expected: .* so it was deleted and nothing was cached"):
        datasets.load("FashionMNIST", "train", base_url=url)
    assert os.listdir(cache / "fashion-mnist") == []


def test_corrupted_file_is_not_kept(server, cache, monkeypatch) -> None:
    served, url = server
    tiny_source(served, monkeypatch)
    labels = served / "train-labels-idx1-ubyte.gz"
    corrupted = bytearray(labels.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF  # one byte changed after the checksum was taken
    labels.write_bytes(bytes(corrupted))
    with pytest.raises(NetError, match=r"train-labels-idx1-ubyte.gz has the MD5 checksum .* was expected"):
        datasets.load("Tiny", "train", base_url=url)
    assert os.listdir(cache / "tiny") == ["train-images-idx3-ubyte.gz"]


def test_truncated_download_leaves_nothing(server, cache, monkeypatch) -> None:
    served, url = server
    source = tiny_source(served, monkeypatch)
    files = {"train": ("truncated.gz", "train-labels-idx1-ubyte.gz")}
    monkeypatch.setattr(mnist, "FILES", {**mnist.FILES, **files})
    with pytest.raises(NetError, match=r"cannot be downloaded from http://127.0.0.1:\d+/truncated.gz"):
        datasets.load(source.name, "train", base_url=url)
    assert os.listdir(cache / "tiny") == []


def test_missing_dataset_without_network(cache, monkeypatch, tmp_path) -> None:
    nowhere = str(tmp_path / "system")
    monkeypatch.setitem(mnist.SOURCES, "FashionMNIST", dataclasses.replace(mnist.SOURCES["FashionMNIST"], system_dirs=(nowhere,)))
    with pytest.raises(NetError, match=r"(?s)FashionMNIST is not on this machine and cannot be downloaded from http://127.0.0.1:9/train-images-idx3-ubyte.gz .*Looked in:\n  .*system\n  .*cache.fashion-mnist\nOn Debian or Ubuntu: apt-get install dataset-fashion-mnist"):
        datasets.load("FashionMNIST", base_url="http://127.0.0.1:9")
    with pytest.raises(NetError, match=r"(?s)not on this machine; looked in:.*apt-get install dataset-fashion-mnist"):
        datasets.load("FashionMNIST", download_missing=False)
    assert os.listdir(cache / "fashion-mnist") == []


def test_argument_errors() -> None:
    with pytest.raises(NetError, match=r'unknown dataset "FashionMNST"; the datasets are FashionMNIST, MNIST. Did you mean "FashionMNIST"\?'):
        datasets.load("FashionMNST")
    with pytest.raises(NetError, match=r'split must be "train" or "test", not \'tests\'. Did you mean "test"\?'):
        datasets.load("MNIST", "tests")
