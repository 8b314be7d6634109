"""NetTake and NetDrop (symnet/surgery/take.py): each against a net whose expected result is written out."""

import numpy as np
import pytest

from symnet import (
    LinearLayer,
    NetChain,
    NetDrop,
    NetError,
    NetExtract,
    NetJoin,
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


def test_take_up_to_a_layer_by_name_or_a_count_of_layers(chain):
    assert kinds(NetTake(chain, "act")) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer")]
    assert kinds(NetTake(chain, 2)) == kinds(NetTake(chain, "act"))  # a count, as Python's chain[:2]
    assert kinds(NetTake(chain, -1)) == [("hidden", "LinearLayer"), ("act", "ElementwiseLayer"), ("out", "LinearLayer")]
    assert NetTake(chain, 4) is chain
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


@pytest.mark.parametrize("count", [1, 2, 3])
def test_take_and_drop_split_a_chain_as_python_slices_do(chain, count):
    layers = kinds(chain)
    assert kinds(NetTake(chain, count)) == layers[:count]
    assert kinds(NetDrop(chain, count)) == layers[count:]
    joined = NetJoin(NetTake(chain, count), NetDrop(chain, count))
    assert kinds(joined) == layers
    np.testing.assert_array_equal(joined(X), chain(X))


@pytest.mark.parametrize("count", [-1, -2, -3])
def test_negative_counts_leave_out_the_last_layers(chain, count):
    # NetTake(net, -n) is layers[:-n]; NetDrop(net, -n) drops the last n, as in Wolfram
    assert kinds(NetTake(chain, count)) == kinds(NetDrop(chain, count)) == kinds(chain)[:count]


def test_take_counts_in_a_graph(graph):
    # the graph's layers in order: a, b, c, sum; NetTake(graph, 2) ends at its second layer, b
    assert kinds(NetTake(graph, 2)) == kinds(NetTake(graph, "b")) == [("a", "LinearLayer"), ("b", "ElementwiseLayer")]
    assert kinds(NetTake(graph, -1)) == kinds(NetTake(graph, "c")) == [("a", "LinearLayer"), ("c", "ElementwiseLayer")]


def test_take_errors_list_the_layers(chain):
    with pytest.raises(NetError, match=r'NetTake: NetChain has no layer \'outt\'; its layers: "hidden", "act", "out", "prob"\. Did you mean "out"\?'):
        NetTake(chain, "outt")
    with pytest.raises(NetError, match=r"NetTake: cannot take 7 layers from a NetChain of 4 layers; give a count from 1 to 4, or from -1 to -3 to leave out the last layers\."):
        NetTake(chain, 7)
    with pytest.raises(NetError, match=r"NetTake: NetTake\(net, 0\) keeps no layer of the NetChain's 4; give a count from 1 to 4, or from -1 to -3 to leave out the last layers\."):
        NetTake(chain, 0)
    with pytest.raises(NetError, match=r"NetTake: NetTake\(net, -4\) keeps no layer of the NetChain's 4"):
        NetTake(chain, -4)
    with pytest.raises(NetError, match=r'NetTake: the span \(\'out\', \'act\'\) is empty: layer "out" comes after layer "act"'):
        NetTake(chain, ("out", "act"))


def test_take_keeps_an_inferred_size_at_the_cut():
    net = NetChain([LinearLayer(), SoftmaxLayer()], input=4, output=10)
    assert NetTake(net, 1).types["Output"] == TensorType((10,))


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
