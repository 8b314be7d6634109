"""NetTake and NetDrop (symnet/surgery/take.py): each against a net whose expected result is written out."""

import numpy as np
import pytest

from symnet import (
    LinearLayer,
    NetChain,
    NetDrop,
    NetError,
    NetExtract,
    NetPort,
    NetTake,
    SoftmaxLayer,
    TensorType,
)


def kinds(net):
    return [(key, layer.kind) for key, layer in net.layers.items()]


def same_array(a, b, path):
    np.testing.assert_array_equal(NetExtract(a, path), NetExtract(b, path))


X = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)


# -- NetTake / NetDrop ----------------------------------------------------------------------------


def test_take_up_to_a_layer_by_name_and_index(chain):
    assert kinds(NetTake(chain, "act")) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer")]
    assert kinds(NetTake(chain, 1)) == kinds(NetTake(chain, "act"))
    assert kinds(NetTake(chain, -2)) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer"), ("out", "LinearLayer")]
    taken = NetTake(chain, "out")
    same_array(taken, chain, ["out", "Weights"])
    # the taken net computes the first three layers of the original
    w1, b1, w2, b2 = (NetExtract(chain, p) for p in (["hidden", "Weights"], ["hidden", "Biases"], ["out", "Weights"], ["out", "Biases"]))
    np.testing.assert_allclose(taken(X), np.maximum(X @ w1.T + b1, 0) @ w2.T + b2, rtol=1e-5, atol=1e-6)


def test_take_a_span(chain):
    span = NetTake(chain, ("act", "out"))
    assert kinds(span) == [("act", "ElementwiseLayer"), ("out", "LinearLayer")]
    assert span.types["Input"] == TensorType((5,))
    assert span.types["Output"] == TensorType((3,))


def test_take_errors_list_the_layers(chain):
    with pytest.raises(NetError, match=r'NetTake: NetChain has no layer \'outt\'; its layers: "hidden", "act", "out", "prob"\. Did you mean "out"\?'):
        NetTake(chain, "outt")
    with pytest.raises(NetError, match=r"NetTake: NetChain has 4 layers; there is no layer 7"):
        NetTake(chain, 7)
    with pytest.raises(NetError, match=r'NetTake: the span \(\'out\', \'act\'\) is empty: layer "out" comes after layer "act"'):
        NetTake(chain, ("out", "act"))


def test_take_keeps_an_inferred_size_at_the_cut():
    net = NetChain([LinearLayer(), SoftmaxLayer()], input=4, output=10)
    assert NetTake(net, 0).types["Output"] == TensorType((10,))


def test_take_in_a_graph(graph):
    up_to_b = NetTake(graph, "b")
    assert kinds(up_to_b) == [("a", "LinearLayer"), ("b", "ElementwiseLayer")]
    x = np.random.default_rng(1).normal(size=(3, 3))
    w, b = NetExtract(graph, ["a", "Weights"]), NetExtract(graph, ["a", "Biases"])
    np.testing.assert_allclose(up_to_b(x), np.tanh(x @ w.T + b), rtol=1e-5, atol=1e-6)
    by_port = NetTake(graph, NetPort("c", "Output"))
    assert kinds(by_port) == [("a", "LinearLayer"), ("c", "ElementwiseLayer")]
    whole = NetTake(graph, NetPort("Output"))
    np.testing.assert_allclose(whole(x), graph(x), rtol=1e-6)


def test_take_a_span_in_a_graph_exposes_the_cut_inputs(graph):
    span = NetTake(graph, ("b", "sum"))
    assert kinds(span) == [("b", "ElementwiseLayer"), ("sum", "ThreadingLayer")]
    assert span.input_ports() == ("Input", "Input2")
    value = span({"Input": [0.5, -1.0, 0.0, 2.0], "Input2": [1.0, 1.0, 1.0, 1.0]})
    np.testing.assert_allclose(value, np.tanh([0.5, -1.0, 0.0, 2.0]) + 1.0, rtol=1e-6)


def test_drop_counts_layers(chain):
    assert kinds(NetDrop(chain, -2)) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer")]
    assert kinds(NetDrop(chain, 1)) == [("act", "ElementwiseLayer"), ("out", "LinearLayer"), ("prob", "SoftmaxLayer")]
    assert kinds(NetDrop(chain, ("act", "out"))) == [("hidden", "LinearLayer"), ("prob", "SoftmaxLayer")]
    assert NetDrop(chain, 0) is chain


def test_drop_errors(chain):
    with pytest.raises(NetError, match=r"NetDrop: cannot drop 4 layers from a NetChain of 4 layers; at least one must remain"):
        NetDrop(chain, -4)
    with pytest.raises(NetError, match=r"NetDrop: expected a count of layers .* To remove a layer by name, use NetDelete"):
        NetDrop(chain, "act")
