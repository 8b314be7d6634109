"""The tree helpers, and walks over a net that stay linear in its size (deep nests, long chains).

Costs are measured by counting member visits, never by the clock."""

import collections
import json

import numpy as np
import pytest
import torch

from symnet import ElementwiseLayer, Export, Import, LinearLayer, NetChain, NetError, NetGraph, NetInitialize, ThreadingLayer
from symnet.containers.base import Container
from symnet.containers.tree import layer_at, leaves, map_leaves, members, nodes, replace_at
from symnet.io import native
from symnet.io.spec import SpecReader
from symnet.layers.base import Layer


def _nest(depth: int) -> Layer:
    net: Layer = LinearLayer(2)
    for _ in range(depth):
        net = NetChain([net])
    return NetChain([net], input=3)


@pytest.fixture
def visits(monkeypatch):
    """Counts calls of chosen methods: visits.watch(Class, "method"); visits["method"]."""
    counts: collections.Counter = collections.Counter()

    def watch(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def counted(self, *args, **kwargs):
            counts[name] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)

    counts.watch = watch  # type: ignore[attr-defined]
    return counts


def test_leaves_nodes_and_paths():
    net = NetChain({"a": LinearLayer(2), "inner": NetChain([ElementwiseLayer("Tanh"), LinearLayer(4)])}, input=3)
    assert [path for path, _ in leaves(net)] == [("a",), ("inner", "0"), ("inner", "1")]
    assert [path for path, _ in nodes(net)] == [(), ("a",), ("inner",), ("inner", "0"), ("inner", "1")]
    assert layer_at(net, ("inner", "1")).types["Output"].dims == (4,)
    assert list(members(net)) == ["a", "inner"] and members(layer_at(net, ("a",))) == {}


def test_map_leaves_rebuilds_only_what_changed():
    net = NetInitialize(NetChain({"a": LinearLayer(2), "inner": NetChain([ElementwiseLayer("Tanh")]), "b": LinearLayer(1)}, input=3))
    new = map_leaves(net, lambda path, leaf: leaf.with_arrays({"Biases": np.ones(1)}) if path == ("b",) else leaf, same_types=True)
    assert new is not net and new.layers["inner"] is net.layers["inner"] and new.layers["a"] is net.layers["a"]
    assert new.layers["b"].arrays["Biases"].tolist() == [1.0] and net.layers["b"].arrays["Biases"].tolist() == [0.0]
    assert map_leaves(net, lambda path, leaf: leaf) is net


def test_replace_at_infers_again():
    net = NetChain([LinearLayer(2), NetChain([ElementwiseLayer("Tanh"), LinearLayer(4)])], input=3)
    new = replace_at(net, ("1", "1"), LinearLayer(7))
    assert new.types["Output"].dims == (7,) and net.types["Output"].dims == (4,)
    assert replace_at(net, (), LinearLayer(5)).kind == "LinearLayer"


def test_a_deep_nest_evaluates_exports_and_imports(visits):
    """Issue 9.2: coders() asked every member twice per level, so evaluating a 20-deep nest took
    seconds and a 50-deep one never finished. Each walk now visits each member a bounded number of times."""
    visits.watch(Layer, "port_specs")
    visits.watch(SpecReader, "layer")
    net = NetInitialize(_nest(200))
    size = sum(1 for _ in nodes(net))
    assert size == 202
    x = np.array([1.0, -2.0, 0.5])
    inner = layer_at(net, ("0",) * 201)
    expected = inner.arrays["Weights"].numpy() @ x + inner.arrays["Biases"].numpy()
    before = visits["port_specs"]
    assert np.allclose(net(x), expected, atol=1e-6)
    assert visits["port_specs"] - before <= 5 * size
    buffer = native.net_bytes(net)
    again = native.net_from_bytes(buffer, "test")
    assert visits["layer"] == size
    assert np.allclose(again(x), expected, atol=1e-6)


def test_a_spec_nested_too_deeply_is_refused(tmp_path, monkeypatch):
    assert native.spec_nesting(json.dumps({"a": [1, {"b": "[[{ not brackets \\\\\" ]"}]})) == 3
    assert native.spec_nesting("[" * 5000 + "]" * 5000) == 5000
    content = native.net_bytes(_nest(3))
    assert Import(_write(tmp_path, content)).types["Output"].dims == (2,)
    monkeypatch.setattr(native, "MAX_SPEC_NESTING", 8)
    with pytest.raises(NetError, match=r"nests more than 8 levels deep"):
        Import(_write(tmp_path, content))


def _write(tmp_path, content: bytes) -> str:
    path = tmp_path / "net.symnet"
    path.write_bytes(content)
    return str(path)


def test_a_long_chain_is_solved_in_one_pass(visits):
    """Shape inference used rounds over every member, at most 100: a chain of 200 "Tanh" layers
    never learned its output shape, and a long chain cost rounds × length."""
    visits.watch(Layer, "refine")
    net = NetChain(["Tanh"] * 20_000, input=3)
    assert net.types["Output"].dims == (3,) and net.layers["19999"].types["Input"].dims == (3,)
    assert visits["refine"] <= 3 * 20_000
    backwards = NetChain(["Tanh"] * 5_000, output=4)
    assert backwards.types["Input"].dims == (4,)


def test_a_chain_of_20000_layers_constructs_exports_imports_and_evaluates(tmp_path, visits):
    visits.watch(Layer, "refine")
    visits.watch(Layer, "port_specs")
    count = 20_000
    net = NetInitialize(NetChain([LinearLayer(3) if i % 2 == 0 else "Tanh" for i in range(count)], input=3))
    assert visits["refine"] <= 3 * count
    x = torch.tensor([0.3, -0.1, 0.2])
    expected = x.clone()
    for i in range(0, count, 2):
        layer = net.layers[str(i)]
        expected = torch.tanh(layer.arrays["Weights"] @ expected + layer.arrays["Biases"])
    assert np.allclose(net(x.numpy()), expected.numpy(), atol=1e-5)
    path = str(tmp_path / "chain.symnet")
    Export(path, net)
    before = visits["refine"]
    again = Import(path)
    assert visits["refine"] - before <= 3 * count
    assert len(again.layers) == count
    assert np.allclose(again(x.numpy()), expected.numpy(), atol=1e-5)
    assert visits["port_specs"] <= 10 * count


def test_graph_inference_flows_both_ways_through_a_long_path():
    layers = [LinearLayer(5)] + [ElementwiseLayer("Tanh")] * 300 + [ThreadingLayer("Plus")]
    count = len(layers)
    net = NetGraph(layers, [*((i, i + 1) for i in range(count - 2)), (count - 2, count - 1), (0, count - 1)], input=2)
    assert net.types["Output"].dims == (5,)
    assert isinstance(net, Container) and len(list(leaves(net))) == count

