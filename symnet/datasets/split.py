"""A seeded, stratified split of a labelled dataset into two parts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import NetError


def split_indices(labels: Any, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the two parts: in every class, ``round(fraction · count)`` examples, chosen at
    random with ``seed``, go to the first part and the rest to the second (both sorted).

    >>> from symnet.datasets import split_indices
    >>> first, second = split_indices(np.array([0, 0, 0, 0, 1, 1]), 0.5, seed=1)
    >>> len(first), len(second), sorted(np.array([0, 0, 0, 0, 1, 1])[first].tolist())
    (3, 3, [0, 0, 1])
    """
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        raise NetError(f"split: fraction must be a number in [0, 1] (the share of each class in the first part); received {fraction!r}.")
    labels = np.asarray(labels).reshape(-1)
    count = labels.shape[0]
    permutation = np.random.default_rng(seed).permutation(count)
    # sort the shuffled examples by class: within a class they stay in random order
    order = permutation[np.argsort(labels[permutation], kind="stable")]
    classes, starts, sizes = np.unique(labels[order], return_index=True, return_counts=True)
    rank = np.arange(count) - np.repeat(starts, sizes)
    take = np.repeat(np.rint(sizes * fraction).astype(np.int64), sizes)
    chosen = rank < take
    return np.sort(order[chosen]), np.sort(order[~chosen])


def split(dataset: Any, fraction: float, seed: int = 0) -> tuple[Any, Any]:
    """Two datasets: about ``fraction`` of every class in the first, the rest in the second.

    Works with anything that has ``labels`` and ``subset`` (a Dataset, an ImageFolder).

    >>> from symnet.datasets import Dataset, split
    >>> data = Dataset(np.zeros((10, 2, 2), np.uint8), np.array([0] * 6 + [1] * 4), ("a", "b"))
    >>> train, test = split(data, 0.5, seed=0)
    >>> train.labels.tolist(), test.labels.tolist()
    ([0, 0, 0, 1, 1], [0, 0, 0, 1, 1])
    """
    if not hasattr(dataset, "labels") or not hasattr(dataset, "subset"):
        raise NetError(f"split: expected a Dataset or an ImageFolder (anything with labels and subset), not {type(dataset).__name__}.")
    first, second = split_indices(dataset.labels, fraction, seed)
    return dataset.subset(first), dataset.subset(second)


__all__ = ["split", "split_indices"]
