"""An in-memory labelled dataset: contiguous uint8 examples and int64 class indices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NetError


def check_indices(indices: Any, count: int, where: str) -> np.ndarray:
    """Indices (ints, negative from the end, or a boolean mask) as an int64 array."""
    array = np.asarray(indices)
    if array.dtype == np.bool_:
        if array.shape != (count,):
            raise NetError(f"{where}: a boolean mask needs {count} entries (one per example) but has shape {array.shape}.")
        return np.flatnonzero(array)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise NetError(f"{where}: indices must be ints or a boolean mask, not {array.dtype}.")
    array = array.astype(np.int64).reshape(-1)
    if array.size and (array.min() < -count or array.max() >= count):
        bad = array[(array < -count) | (array >= count)][0]
        raise NetError(f"{where}: index {bad} is out of range for {count} examples (use 0 … {count - 1}, or negative indices from the end).")
    return array


@dataclass(frozen=True, eq=False)
class Dataset:
    """Examples as one contiguous uint8 array ``images`` (N, H, W) and int64 ``labels`` (N,).

    Iterating gives (image, label) pairs, ``arrays()`` the two arrays (the form NetTrain takes,
    with no per-example Python work), ``subset(indices)`` a new dataset.

    >>> from symnet.datasets import Dataset
    >>> data = Dataset(np.zeros((4, 2, 2), np.uint8), np.array([0, 1, 1, 0]), ("no", "yes"))
    >>> len(data), data.subset([1, 2]).labels.tolist()
    (4, [1, 1])
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    name: str = ""
    split: str = ""

    def __post_init__(self) -> None:
        images = np.ascontiguousarray(self.images)
        labels = np.ascontiguousarray(self.labels, dtype=np.int64).reshape(-1)
        if images.shape[0] != labels.shape[0]:
            raise NetError(f"Dataset: {images.shape[0]} examples but {labels.shape[0]} labels; they must match.")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise NetError(f"Dataset: labels must be class indices in 0 … {len(self.class_names) - 1}, but they range from {labels.min()} to {labels.max()}.")
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "class_names", tuple(self.class_names))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        yield from zip(self.images, self.labels.tolist())

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        return self.images[index], int(self.labels[index])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels): the uint8 examples and their int64 class indices (no copies)."""
        return self.images, self.labels

    def subset(self, indices: Any) -> Dataset:
        """The examples at ``indices`` (ints or a boolean mask), as a new dataset."""
        chosen = check_indices(indices, len(self), "Dataset.subset")
        return Dataset(self.images[chosen], self.labels[chosen], self.class_names, self.name, self.split)

    def __repr__(self) -> str:
        name = f'"{self.name}", ' if self.name else ""
        split = f'split="{self.split}", ' if self.split else ""
        return f"Dataset({name}{split}{len(self)} examples of shape {self.images.shape[1:]}, {len(self.class_names)} classes)"


__all__ = ["Dataset", "check_indices"]
