"""The picture of a net's graph (symnet/graphics.py): DOT source, Graphviz SVG, SummaryGraphic."""

import re

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

from symnet import LinearLayer, NetChain, NetError, NetGraph, NetInformation, ThreadingLayer, graphics
from symnet.containers.tree import nodes

needs_graphviz = pytest.mark.skipif(graphics.layout_problem() is not None, reason=f"no layout engine: {graphics.layout_problem()} (scripts/ensure-data.sh installs it as root)")


@pytest.fixture
def branching():
    """Two branches joined by a two-input layer, then a nested chain."""
    layers = {"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus"), "inner": NetChain([LinearLayer(4), "Tanh"])}
    return NetGraph(layers, [("a", "b", "sum"), ("a", "c", "sum"), ("sum", "inner")], input=3)


def connection_count(net):
    """Every wire of every container: what a picture that opens nested nets must draw."""
    return sum(len(layer.connections) for _, layer in nodes(net) if isinstance(layer, NetChain | NetGraph))


def test_dot_has_an_edge_per_connection_and_a_cell_per_port(branching):
    source = graphics.net_dot(branching)
    assert connection_count(branching) == 10
    assert source.count("->") == connection_count(branching)
    # The two branches reach the two input ports of "sum", not the same point.
    assert re.search(r"-> n\d+:in_0", source) and re.search(r"-> n\d+:in_1", source)
    assert 'port="in_0"' in source and ">Input1<" in source and ">Input2<" in source
    # The nested chain is a cluster with its own ports inside.
    assert "subgraph cluster_" in source and 'label="\\"inner\\"  NetChain"' in source


def test_nested_nets_fold_into_one_box_when_the_picture_is_full(branching):
    source = graphics.net_dot(branching, max_nodes=8)
    assert "cluster" not in source and "NetChain · 2 layers" in source
    assert source.count("->") == len(branching.connections)


def test_a_net_too_large_to_draw_says_what_to_do():
    net = NetChain([LinearLayer(2)] + ["Tanh"] * 12, input=2)
    with pytest.raises(NetError, match=r"NetChain: its top level has more than 10 layers and ports, too many to lay out as one picture; NetTake a part of it"):
        graphics.net_dot(net, max_nodes=10)


@needs_graphviz
def test_svg_draws_every_edge_and_node(branching):
    svg, note = graphics.graph_svg(branching)
    assert svg.startswith("<svg") and note == ""
    assert svg.count('class="edge"') == connection_count(branching)
    # 2 net ports + 2 inner ports + 6 layers
    assert svg.count('class="node"') == 10
    assert "ThreadingLayer" in svg and "Input2" in svg


def test_svg_without_dot_gives_a_note(branching, monkeypatch):
    monkeypatch.setattr(graphics.shutil, "which", lambda name: None)
    svg, note = graphics.graph_svg(branching)
    assert svg is None and "Graphviz's dot program is not installed (apt-get install graphviz" in note


@needs_graphviz
def test_summary_graphic_uses_the_graphviz_layout(branching):
    figure = NetInformation(branching, "SummaryGraphic")
    assert isinstance(figure, Figure)
    boxes = [t.get_text().splitlines() for t in figure.axes[0].texts]
    layers = [lines for lines in boxes if len(lines) == 3]
    assert sorted(lines[1] for lines in layers) == sorted(["LinearLayer(4)", "ElementwiseLayer('Tanh')", "ElementwiseLayer('Ramp')", "ThreadingLayer('Plus')", "LinearLayer(4)", "ElementwiseLayer('Tanh')"])
    assert sorted(lines[0] for lines in boxes if len(lines) == 2) == ["Input", "Input", "Output", "Output"]
    curves = [p for p in figure.axes[0].patches if isinstance(p, PathPatch)]
    assert len(curves) == connection_count(branching)
    # dot placed "a" above the two branches and the branches side by side (not on one line)
    position = {lines[0]: t.get_position() for t, lines in zip(figure.axes[0].texts, boxes, strict=True) if len(lines) == 3}
    assert position['"a"'][1] > position['"b"'][1] == pytest.approx(position['"c"'][1])
    assert position['"b"'][0] != position['"c"'][0]


def test_summary_graphic_without_dot_names_the_fix(branching, monkeypatch):
    monkeypatch.setattr(graphics.shutil, "which", lambda name: None)
    with pytest.raises(NetError, match=r'NetInformation\(net, "SummaryGraphic"\): the picture is laid out by Graphviz, but Graphviz\'s dot program is not installed \(apt-get install graphviz'):
        NetInformation(branching, "SummaryGraphic")
