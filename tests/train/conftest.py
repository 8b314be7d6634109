"""Fixtures shared by the NetTrain tests: a separable problem and a small classifier for it."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from symnet import LinearLayer, NetChain, SoftmaxLayer


def _blobs(n: int = 240, seed: int = 0, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around well separated centers: a separable classification problem."""
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5], [0.0, -2.5]])[:classes]
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.normal(scale=0.5, size=(n, 2))).astype(np.float32)
    return x, y.astype(np.int64)


def _classifier(classes: int = 2, **kwargs: Any) -> NetChain:
    return NetChain([LinearLayer(16), "Tanh", LinearLayer(classes), SoftmaxLayer()], input=2, **kwargs)


@pytest.fixture
def blobs() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``blobs(n=240, seed=0, classes=2) -> (x, y)``: float32 points and int64 classes."""
    return _blobs


@pytest.fixture
def classifier() -> Callable[..., NetChain]:
    """``classifier(classes=2, **options)``: an uninitialized Linear-Tanh-Linear-Softmax chain on 2-vectors."""
    return _classifier
