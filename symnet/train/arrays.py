"""Trained arrays back into a net: a new net, by leaf path through the containers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from ..containers.base import Container
from ..layers.base import Layer


def with_leaf_arrays(net: Layer, arrays: Mapping[tuple[str, ...], Mapping[str, torch.Tensor]], path: tuple[str, ...] = ()) -> Layer:
    """A copy of ``net`` whose leaves at the given paths hold the given arrays (same dtype as before).

    >>> net = NetInitialize(NetChain([LinearLayer(2)], input=3))
    >>> new = with_leaf_arrays(net, {("0",): {"Biases": torch.ones(2)}})
    >>> NetExtract(new, [0, "Biases"]).tolist(), NetExtract(net, [0, "Biases"]).tolist()
    ([1.0, 1.0], [0.0, 0.0])
    """
    if isinstance(net, Container):
        members = {key: with_leaf_arrays(member, arrays, (*path, key)) for key, member in net.layers.items()}
        if all(members[key] is net.layers[key] for key in members):
            return net
        return net._rebuilt(members, dict(net.types))  # type: ignore[arg-type]
    given = arrays.get(path)
    if not given:
        return net
    new = {}
    for name, tensor in given.items():
        old = net.arrays.get(name)
        dtype = old.dtype if old is not None else torch.float32
        new[name] = tensor.detach().to("cpu", dtype).contiguous().clone()
    return dataclasses.replace(net, arrays={**net.arrays, **new})


def load_leaf_arrays(session: Any, arrays: Mapping[tuple[str, ...], Mapping[str, torch.Tensor]]) -> None:
    """Copy arrays (by leaf path) into a training session's compiled module, in place."""
    with torch.no_grad():
        for (path, _), leaf in zip(session.plan.leaves, session.module.leaves):
            for name, tensor in arrays.get(path, {}).items():
                getattr(leaf, name).copy_(tensor)
