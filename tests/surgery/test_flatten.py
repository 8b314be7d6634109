"""NetFlatten and NetRename (symnet/surgery/flatten.py): results written out."""

import numpy as np
import pytest

from symnet import (
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetFlatten,
    NetGraph,
    NetInitialize,
    NetRename,
    NetTake,
    SoftmaxLayer,
)


def kinds(net):
    return [(key, layer.kind) for key, layer in net.layers.items()]


X = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)


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
