"""Small labelled images a convolutional net learns in a few batches, for tests of NetTrain's fast paths."""

from __future__ import annotations

import numpy as np


def marked_images(n: int, size: int, spacing: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-channel ``size``×``size`` noise images of 3 classes; class k has a bright pixel at (spacing·k, spacing·k)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 1, size, size)).astype(np.float32)
    x[np.arange(n), 0, spacing * y, spacing * y] += 3.0
    return x, y.astype(np.int64)
