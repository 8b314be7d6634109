"""Dataset (symnet/datasets/dataset.py): iteration, subsets, errors."""

import numpy as np
import pytest

from symnet import NetError
from symnet.datasets import Dataset

rng = np.random.default_rng(0)


def test_dataset_iteration_subset_and_errors() -> None:
    images = rng.integers(0, 256, (6, 3, 3), dtype=np.uint8)
    data = Dataset(images, [0, 1, 2, 0, 1, 2], ("a", "b", "c"), "Toy", "train")
    pairs = list(data)
    assert len(pairs) == 6 and all(np.array_equal(image, images[i]) and label == data.labels[i] for i, (image, label) in enumerate(pairs))
    assert data.arrays()[0] is data.images and repr(data) == 'Dataset("Toy", split="train", 6 examples of shape (3, 3), 3 classes)'
    masked = data.subset(data.labels == 2)
    assert masked.labels.tolist() == [2, 2] and np.array_equal(masked.images, images[[2, 5]])
    assert data.subset([-1]).labels.tolist() == [2]
    with pytest.raises(NetError, match=r"index 6 is out of range for 6 examples \(use 0 … 5, or negative indices from the end\)"):
        data.subset([6])
    with pytest.raises(NetError, match=r"a boolean mask needs 6 entries \(one per example\) but has shape \(2,\)"):
        data.subset(np.array([True, False]))
    with pytest.raises(NetError, match=r"6 examples but 5 labels; they must match"):
        Dataset(images, [0] * 5, ("a",))
    with pytest.raises(NetError, match=r"labels must be class indices in 0 … 1, but they range from 0 to 2"):
        Dataset(images, [0, 1, 2, 0, 1, 2], ("a", "b"))
