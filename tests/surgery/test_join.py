"""NetJoin, NetAppend, NetPrepend, NetInsert, NetDelete (symnet/surgery/join.py): results written out."""

import numpy as np
import pytest
import torch

from symnet import (
    DropoutLayer,
    ElementwiseLayer,
    LinearLayer,
    NetAppend,
    NetChain,
    NetDecoder,
    NetDelete,
    NetDrop,
    NetError,
    NetExtract,
    NetInitialize,
    NetInsert,
    NetJoin,
    NetPrepend,
    ShapeError,
    SoftmaxLayer,
    TensorType,
)


def kinds(net):
    return [(key, layer.kind) for key, layer in net.layers.items()]


def same_array(a, b, path):
    np.testing.assert_array_equal(NetExtract(a, path), NetExtract(b, path))


X = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)


# -- NetJoin / NetAppend / NetPrepend / NetInsert ---------------------------------------------------


def test_join_renames_clashes_and_keeps_arrays(chain):
    other = NetInitialize(NetChain({"hidden": LinearLayer(4), "act": "Tanh"}, input=3), random_seeding=5)
    joined = NetJoin(chain, other)
    assert list(joined.layers) == ["hidden", "act", "out", "prob", "hidden_2", "act_2"]
    np.testing.assert_array_equal(NetExtract(joined, ["hidden_2", "Weights"]), NetExtract(other, ["hidden", "Weights"]))
    np.testing.assert_allclose(joined(X), other(chain(X)), rtol=1e-5, atol=1e-6)


def test_join_keeps_coders_only_at_the_ends():
    first = NetChain([LinearLayer(2), SoftmaxLayer()], input=3, output=NetDecoder("Class", ["a", "b"]))
    second = NetChain([LinearLayer(2), SoftmaxLayer()], output=NetDecoder("Class", ["x", "y"]))
    joined = NetJoin(first, second)
    assert list(joined.coders()) == ["Output"]
    assert joined.coders()["Output"].labels == ("x", "y")
    assert joined.types["Input"] == TensorType((3,))


def test_join_of_mismatched_ports_names_both_shapes():
    a = NetInitialize(NetChain([LinearLayer(3)], input=2))
    b = NetChain([LinearLayer(4)], input=7)
    with pytest.raises(ShapeError, match=r"NetJoin: NetChain/1/Input \(LinearLayer\) expects \(7,\) but NetChain/0/Output \(LinearLayer\) gives \(3,\)"):
        NetJoin(a, b)
    with pytest.raises(ShapeError, match=r'NetJoin: arrays no longer fit: 1 \(LinearLayer\): the array "Weights" has shape \(4, 7\) but the new net needs \(4, 3\)'):
        NetJoin(a, NetInitialize(b))


def test_append_a_classifier(chain):
    base = NetDrop(chain, -2)
    new = NetAppend(base, {"classifier": LinearLayer(4), "probabilities": SoftmaxLayer()})
    assert kinds(new) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer"), ("classifier", "LinearLayer"), ("probabilities", "SoftmaxLayer")]
    assert new.layers["classifier"].types["Weights"] == TensorType((4, 5))
    assert new.layers["classifier"].arrays["Weights"] is None
    same_array(new, chain, ["hidden", "Weights"])
    assert kinds(NetAppend(base, ElementwiseLayer("Tanh")))[-1] == ("2", "ElementwiseLayer")
    assert kinds(NetAppend(base, ("tanh", "Tanh")))[-1] == ("tanh", "ElementwiseLayer")
    with pytest.raises(NetError, match='NetAppend: a layer named "act" already exists'):
        NetAppend(base, ("act", "Tanh"))


def test_prepend(chain):
    new = NetPrepend(chain, ("scale", ElementwiseLayer("2*x")))
    assert list(new.layers) == ["scale", "hidden", "act", "out", "prob"]
    np.testing.assert_allclose(new(X), chain(2 * X), rtol=1e-5)


def test_insert_by_index_and_name(chain):
    assert list(NetInsert(chain, ("drop", DropoutLayer()), 2).layers) == ["hidden", "act", "drop", "out", "prob"]
    assert list(NetInsert(chain, ("drop", DropoutLayer()), "out").layers) == ["hidden", "act", "drop", "out", "prob"]
    assert list(NetInsert(chain, ("last", "Tanh"), -1).layers) == ["hidden", "act", "out", "prob", "last"]
    assert list(NetInsert(chain, ("first", "Tanh"), 0).layers) == ["first", "hidden", "act", "out", "prob"]
    inserted = NetInsert(chain, ("drop", DropoutLayer()), 2)
    np.testing.assert_allclose(inserted(X), chain(X), rtol=1e-6)
    with pytest.raises(NetError, match=r"NetInsert: position 9 is outside the result's 5 layers"):
        NetInsert(chain, DropoutLayer(), 9)


def test_insert_that_changes_a_shape_reports_the_arrays(chain):
    with pytest.raises(ShapeError, match=r'NetInsert: arrays no longer fit: "out" \(LinearLayer\): the array "Weights" has shape \(3, 5\) but the new net needs \(3, 7\)\..*drop_mismatched_arrays=True'):
        NetInsert(chain, ("wide", LinearLayer(7)), "out")
    new = NetInsert(chain, ("wide", LinearLayer(7)), "out", drop_mismatched_arrays=True)
    assert new.layers["out"].arrays["Weights"] is None
    assert new.layers["out"].types["Weights"] == TensorType((3, 7))
    torch.testing.assert_close(new.layers["out"].arrays["Biases"], chain.layers["out"].arrays["Biases"])
    same_array(new, chain, ["hidden", "Weights"])


# -- NetDelete ------------------------------------------------------------------------------------


def test_delete_in_a_chain(chain):
    assert kinds(NetDelete(chain, "prob")) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer"), ("out", "LinearLayer")]
    assert kinds(NetDelete(chain, [1, "prob"])) == [("hidden", "LinearLayer"), ("out", "LinearLayer")]
    unnamed = NetChain([LinearLayer(3), "Tanh", LinearLayer(2)], input=4)
    assert kinds(NetDelete(unnamed, 1)) == [("0", "LinearLayer"), ("1", "LinearLayer")]
    with pytest.raises(NetError, match="NetDelete: cannot delete every layer of a NetChain"):
        NetDelete(chain, [0, 1, 2, 3])


def test_delete_in_a_graph_exposes_the_inputs_it_fed(graph):
    new = NetDelete(graph, "c")
    assert kinds(new) == [("a", "LinearLayer"), ("b", "ElementwiseLayer"), ("sum", "ThreadingLayer")]
    assert new.input_ports() == ("Input", "Input2")
