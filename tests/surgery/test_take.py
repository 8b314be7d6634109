"""Net surgery: every function against a net whose expected result is written out."""

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
    NetFlatten,
    NetGraph,
    NetInitialize,
    NetInsert,
    NetJoin,
    NetPort,
    NetPrepend,
    NetRename,
    NetReplace,
    NetReplacePart,
    NetTake,
    ShapeError,
    SoftmaxLayer,
    TensorType,
    ThreadingLayer,
)


def kinds(net):
    return [(key, layer.kind) for key, layer in net.layers.items()]


def same_array(a, b, path):
    np.testing.assert_array_equal(NetExtract(a, path), NetExtract(b, path))


@pytest.fixture
def chain():
    return NetInitialize(NetChain({"hidden": LinearLayer(5), "act": "Ramp", "out": LinearLayer(3), "prob": SoftmaxLayer()}, input=2), random_seeding=1)


@pytest.fixture
def graph():
    # Input -> a -> b (Tanh) -> sum;  a -> c (Ramp) -> sum;  sum -> Output
    layers = {"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus")}
    return NetInitialize(NetGraph(layers, [("a", "b", "sum"), ("a", "c", "sum")], input=3), random_seeding=2)


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


# -- NetFlatten / NetRename -----------------------------------------------------------------------


def test_flatten_nested_chains(chain):
    nested = NetChain({"features": NetTake(chain, "act"), "head": NetChain({"out": NetExtract(chain, "out"), "prob": SoftmaxLayer()})})
    flat = NetFlatten(nested)
    assert kinds(flat) == [("features/hidden", "LinearLayer"), ("features/act", "ElementwiseLayer"), ("head/out", "LinearLayer"), ("head/prob", "SoftmaxLayer")]
    np.testing.assert_allclose(flat(X), chain(X), rtol=1e-6)


def test_flatten_unnamed_and_clashing_names():
    inner = NetChain([LinearLayer(3), "Tanh"])
    flat = NetFlatten(NetChain([inner, NetChain([LinearLayer(2)])], input=4))
    assert kinds(flat) == [("0", "LinearLayer"), ("1", "ElementwiseLayer"), ("2", "LinearLayer")]
    named = NetChain({"x": LinearLayer(3)})
    clash = NetFlatten(NetChain({"one": named, "two": NetChain({"x": LinearLayer(3)})}, input=3))
    assert list(clash.layers) == ["one/x", "two/x"]


def test_flatten_a_graph_inside_a_chain(chain, graph):
    net = NetChain([NetInitialize(NetChain([LinearLayer(3)], input=2)), graph])
    flat = NetFlatten(net)
    assert isinstance(flat, NetGraph)
    assert kinds(flat) == [("0", "LinearLayer"), ("a", "LinearLayer"), ("b", "ElementwiseLayer"), ("c", "ElementwiseLayer"), ("sum", "ThreadingLayer")]
    np.testing.assert_allclose(flat(X), net(X), rtol=1e-6)


def test_rename(chain, graph):
    assert list(NetRename(chain, {"hidden": "features", -1: "probabilities"}).layers) == ["features", "act", "out", "probabilities"]
    renamed = NetRename(graph, ("sum", "total"))
    assert list(renamed.layers) == ["a", "b", "c", "total"]
    x = np.random.default_rng(2).normal(size=(2, 3))
    np.testing.assert_allclose(renamed(x), graph(x), rtol=1e-6)
    with pytest.raises(NetError, match='NetRename: two layers would be named "act"'):
        NetRename(chain, {"hidden": "act"})
