"""Tests that need the real Fashion-MNIST files skip, with a reason, where they are absent."""

import pytest

from symnet import NetError, datasets


def fashion_mnist_available() -> bool:
    try:
        datasets.load("FashionMNIST", "test", download_missing=False)
    except NetError:
        return False
    return True


requires_fashion_mnist = pytest.mark.skipif(
    not fashion_mnist_available(), reason="Fashion-MNIST is not installed (/usr/share/datasets/fashion-mnist) or cached; tests do not download it"
)
