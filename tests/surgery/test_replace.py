"""NetReplacePart and NetReplace (symnet/surgery/replace.py): results written out."""

import numpy as np
import pytest

from symnet import (
    DropoutLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetError,
    NetExtract,
    NetInitialize,
    NetReplace,
    NetReplacePart,
    ShapeError,
    TensorType,
)


def kinds(net):
    return [(key, layer.kind) for key, layer in net.layers.items()]


def same_array(a, b, path):
    np.testing.assert_array_equal(NetExtract(a, path), NetExtract(b, path))


X = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)


# -- NetReplacePart -------------------------------------------------------------------------------


def test_replace_a_layer_an_array_and_a_decoder(chain):
    new = NetReplacePart(chain, {"act": "Tanh", ("out", "Biases"): np.arange(3.0), "Output": NetDecoder("Class", ["x", "y", "z"])})
    assert new.layers["act"].function == "Tanh"
    np.testing.assert_array_equal(NetExtract(new, ["out", "Biases"]), [0.0, 1.0, 2.0])
    assert new.coders()["Output"].labels == ("x", "y", "z")
    assert new(X[0]) in ("x", "y", "z")
    removed = NetReplacePart(new, ("Output", None))
    assert removed.coders() == {}
    assert removed.types["Output"] == TensorType((3,))
    assert chain.layers["act"].function == "Ramp"  # the original is unchanged


def test_replace_an_array_of_another_shape_is_an_error(chain):
    with pytest.raises(ShapeError, match=r'NetReplacePart: NetChain/"out" \(LinearLayer\): the array "Weights" has shape \(3, 5\) but the new value has shape \(2, 2\)'):
        NetReplacePart(chain, {("out", "Weights"): np.zeros((2, 2))})


def test_replace_a_layer_whose_neighbours_arrays_no_longer_fit(chain):
    with pytest.raises(ShapeError, match=r'arrays no longer fit: "out" \(LinearLayer\): the array "Weights" has shape \(3, 5\) but the new net needs \(3, 8\)'):
        NetReplacePart(chain, {"hidden": LinearLayer(8)})


def test_replace_inside_a_nested_chain():
    net = NetInitialize(NetChain({"a": LinearLayer(4), "block": NetChain([LinearLayer(5), "Ramp"])}, input=2))
    new = NetReplacePart(net, {("block", 1): "Tanh"})
    assert new.layers["block"].layers["1"].function == "Tanh"
    same_array(new, net, ["block", 0, "Weights"])
    with pytest.raises(NetError, match=r'NetReplacePart: NetChain has no layer \'blok\'; its layers: "a", "block"'):
        NetReplacePart(net, {("blok", 1): "Tanh"})


def test_replace_part_of_a_single_layer():
    layer = NetInitialize(LinearLayer(2, input=3))
    new = NetReplacePart(layer, ("Weights", np.ones((2, 3))))
    np.testing.assert_array_equal(NetExtract(new, "Weights"), np.ones((2, 3)))


# -- NetReplace -----------------------------------------------------------------------------------


def test_replace_by_type_at_any_depth():
    net = NetChain([LinearLayer(4), DropoutLayer(0.3), NetChain([LinearLayer(2), DropoutLayer()])], input=3)
    new = NetReplace(net, {DropoutLayer: ElementwiseLayer("Identity")})
    assert kinds(new) == [("0", "LinearLayer"), ("1", "ElementwiseLayer"), ("2", "NetChain")]
    assert kinds(new.layers["2"]) == [("0", "LinearLayer"), ("1", "ElementwiseLayer")]


def test_replace_by_predicate_with_a_function(chain):
    new = NetReplace(chain, [(lambda layer: layer.kind == "ElementwiseLayer", lambda layer: ElementwiseLayer("Tanh"))])
    assert new.layers["act"].function == "Tanh"
    same_array(new, chain, ["out", "Weights"])
    assert NetReplace(chain, {DropoutLayer: ElementwiseLayer("Tanh")}) is chain
