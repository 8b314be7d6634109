"""Nets are values: nothing done to a tensor read from a net, or given to one, changes the net."""

import dataclasses

import numpy as np
import pytest
import torch

from symnet import LinearLayer, NetChain, NetError, NetExtract, NetInitialize, NetReplacePart
from symnet.containers.tree import nodes


@pytest.fixture
def net():
    return NetInitialize(NetChain({"linear": LinearLayer(2), "act": "Tanh"}, input=3))


X = np.array([0.5, -1.0, 2.0])


def test_editing_an_extracted_layers_arrays_in_place_changes_nothing(net):
    before = net(X)
    layer = NetExtract(net, "linear")
    layer.arrays["Weights"].add_(1.0)
    layer.arrays["Biases"].mul_(0).add_(5.0)
    net.layers["linear"].arrays["Weights"].zero_()
    assert np.array_equal(net(X), before)
    assert np.array_equal(layer(X), NetExtract(net, "linear")(X))


def test_editing_an_extracted_array_changes_nothing(net):
    before = net(X)
    weights = NetExtract(net, ["linear", "Weights"])
    weights += 100.0
    assert np.array_equal(net(X), before)
    assert not np.array_equal(NetExtract(net, ["linear", "Weights"]), weights)


def test_arrays_given_to_a_layer_are_copied_in():
    weights, biases = torch.ones(2, 3), np.zeros(2, dtype=np.float32)
    layer = LinearLayer(2, input=3, arrays={"Weights": weights, "Biases": biases})
    before = layer(X)
    weights.add_(1.0)
    biases += 3.0
    assert np.array_equal(layer(X), before)
    assert np.array_equal(NetReplacePart(layer, ("Weights", weights)).arrays["Weights"], weights)


def test_arrays_cannot_be_replaced_through_the_mapping(net):
    with pytest.raises(TypeError):
        net.layers["linear"].arrays["Weights"] = torch.zeros(2, 3)  # type: ignore[index]
    with pytest.raises(TypeError):
        net.layers["act"] = LinearLayer(4)  # type: ignore[index]
    with pytest.raises(TypeError):
        net.types["Output"] = None  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.layers["linear"].arrays = {}  # type: ignore[misc]


def test_types_are_inferred_not_given():
    with pytest.raises(NetError, match=r"LinearLayer: unknown option types=; its options are size, input, output, arrays, biases"):
        LinearLayer(3, input=4, types={"Input": (4,), "Output": (3,), "Weights": (9, 9), "Biases": (3,)})
    assert LinearLayer(3, input=4).types["Weights"].dims == (3, 4)


def test_replace_infers_again_rather_than_copying_types():
    layer = LinearLayer(3, input=4)
    wider = dataclasses.replace(layer, input=6)
    assert wider.types["Weights"].dims == (3, 6) and layer.types["Weights"].dims == (3, 4)


def test_hidden_state_is_declared():
    # Every piece of state a net keeps is a declared dataclass field (caches are excluded from
    # the constructor, the repr and comparisons), not an attribute set behind the dataclass's back.
    net = NetInitialize(NetChain([LinearLayer(2), NetChain(["Tanh"])], input=3))
    net(X)
    for _, layer in nodes(net):
        declared = {f.name for f in dataclasses.fields(layer)}
        assert set(vars(layer)) <= declared, set(vars(layer)) - declared
        hidden = [f for f in dataclasses.fields(layer) if f.name.startswith("_") or f.name in ("types", "connections")]
        assert all(not f.init and not f.repr and not f.compare for f in hidden)


def test_the_compiled_module_is_not_shared_with_a_new_net(net):
    net(X)
    changed = NetReplacePart(net, (["linear", "Biases"], np.ones(2)))
    assert not np.array_equal(changed(X), net(X))
    assert changed._engine_cache is not net._engine_cache
