"""Trained arrays back into a net: a new net, by leaf path through the containers."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..containers.tree import map_leaves
from ..layers.base import Layer

LeafArrays = Mapping[tuple[str, ...], Mapping[str, torch.Tensor]]
"""Arrays by leaf path (keys of the containers from the top) and array name."""


def with_leaf_arrays(net: Layer, arrays: LeafArrays, path: tuple[str, ...] = ()) -> Layer:
    """A copy of ``net`` whose leaves at the given paths hold the given arrays (same dtype as before).

    >>> net = NetInitialize(NetChain([LinearLayer(2)], input=3))
    >>> new = with_leaf_arrays(net, {("0",): {"Biases": torch.ones(2)}})
    >>> NetExtract(new, [0, "Biases"]).tolist(), NetExtract(net, [0, "Biases"]).tolist()
    ([1.0, 1.0], [0.0, 0.0])
    """
    return map_leaves(net, lambda where, leaf: _with_arrays(leaf, arrays.get(where)), same_types=True, path=path)


def _with_arrays(leaf: Layer, given: Mapping[str, torch.Tensor] | None) -> Layer:
    if not given:
        return leaf
    # Same dtype as before: a float64 net stays float64 (the leaf copies the values in).
    dtypes = {name: leaf.arrays.dtype(name) or torch.float32 for name in given}  # type: ignore[attr-defined]
    return leaf.with_arrays({name: tensor.detach().to("cpu", dtypes[name]) for name, tensor in given.items()})

