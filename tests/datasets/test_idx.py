"""IDX files: the writer and reader agree; the real Fashion-MNIST files read correctly."""

import gzip
import os

import numpy as np
import pytest

from symnet import NetError, datasets
from symnet.datasets import read_idx, write_idx

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_then_read(tmp_path, dtype, suffix) -> None:
    array = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    again = read_idx(path)
    assert again.dtype == np.dtype(dtype).newbyteorder("=") and again.flags.c_contiguous and again.flags.writeable
    assert np.array_equal(again, array)
    assert os.listdir(tmp_path) == [path.name]


def test_layout_is_the_published_one(tmp_path) -> None:
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([7, 2, 1], np.uint8))
    assert path.read_bytes() == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1])
    write_idx(tmp_path / "x.gz", np.array([[258]], np.int32))
    with gzip.open(tmp_path / "x.gz") as file:
        assert file.read() == bytes([0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2])


def test_errors(tmp_path) -> None:
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(NetError, match=r'"[^"]*text" is not an IDX file \(its first bytes are b\'hell\''):
        read_idx(tmp_path / "text")
    full = tmp_path / "full"
    write_idx(full, np.zeros((4, 5), np.uint8))
    (tmp_path / "short").write_bytes(full.read_bytes()[:-3])
    with pytest.raises(NetError, match=r"is truncated: its header promises shape \(4, 5\) \(20 bytes of data\) but it holds 17 bytes"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(NetError, match=r"cannot read .*bad.gz.*The file is corrupt or truncated; delete it and fetch it again"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(NetError, match=r'the file ".*nothing" does not exist'):
        read_idx(tmp_path / "nothing")
    with pytest.raises(NetError, match=r"IDX files hold uint8, int8, int16, int32, float32 or float64 values, not int64"):
        write_idx(tmp_path / "y", np.zeros(3, np.int64))


@pytest.mark.skipif(not os.path.isdir(FASHION), reason=f"the Fashion-MNIST files are not installed ({FASHION}: apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist_files() -> None:
    labels = read_idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    images = read_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8 and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10
    # the published first test labels: Ankle boot, Pullover, Trouser, Trouser, Shirt
    assert labels[:5].tolist() == [9, 2, 1, 1, 6]
    test = datasets.load("FashionMNIST", "test")
    assert np.array_equal(test.images, images) and test.labels.dtype == np.int64
    assert test.class_names[9] == "Ankle boot" and len(test) == 10000
    train_labels = read_idx(os.path.join(FASHION, "train-labels-idx1-ubyte.gz"))
    assert np.bincount(train_labels).tolist() == [6000] * 10
