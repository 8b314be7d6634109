"""The stratified split (symnet/datasets/split.py)."""

import numpy as np
import pytest

from symnet import NetError
from symnet.datasets import Dataset, split, split_indices

rng = np.random.default_rng(0)


def test_split_is_stratified_seeded_and_a_partition() -> None:
    labels = np.repeat(np.arange(4), [10, 20, 30, 41])
    rng.shuffle(labels)
    data = Dataset(np.arange(len(labels), dtype=np.uint8)[:, None, None], labels, tuple("abcd"))
    first, second = split(data, 0.3, seed=5)
    assert np.bincount(first.labels).tolist() == [3, 6, 9, 12]
    assert np.bincount(second.labels).tolist() == [7, 14, 21, 29]
    chosen = np.concatenate([first.images.ravel(), second.images.ravel()])
    assert sorted(chosen.tolist()) == list(range(len(labels)))
    again, _ = split(data, 0.3, seed=5)
    other, _ = split(data, 0.3, seed=6)
    assert np.array_equal(again.images, first.images) and not np.array_equal(other.images, first.images)
    a, b = split_indices(labels, 1.0)
    assert len(a) == len(labels) and len(b) == 0
    with pytest.raises(NetError, match=r"fraction must be a number in \[0, 1\]"):
        split(data, 1.5)
    with pytest.raises(NetError, match=r"expected a Dataset or an ImageFolder \(anything with labels and subset\), not list"):
        split([1, 2], 0.5)
