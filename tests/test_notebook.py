"""The notebook displays of nets and coders (symnet/notebook.py, symnet/panels.py)."""

import re

import pytest

from symnet import LinearLayer, NetChain, NetDecoder, NetEncoder, NetGraph, NetInitialize, ThreadingLayer, graphics
from symnet import notebook as display
from tests.panel_html import Tables

needs_graphviz = pytest.mark.skipif(graphics.layout_problem() is not None, reason=f"no layout engine: {graphics.layout_problem()} (scripts/ensure-data.sh installs it as root)")


@pytest.fixture
def net():
    layers = {"hidden": LinearLayer(5), "act": "Ramp", "other": "Tanh", "sum": ThreadingLayer("Plus"), "head": NetChain([LinearLayer(3), "Tanh"])}
    graph = NetGraph(layers, [("hidden", "act", "sum"), ("hidden", "other", "sum"), ("sum", "head")], input=4, output=NetDecoder("Class", ["a", "b", "c"]))
    return NetInitialize(graph)


def test_net_panel_lists_ports_layers_shapes_and_parameters(net):
    page = net._repr_html_()
    tables = Tables(page).tables
    ports, layers = tables[0], tables[1]
    assert ports[1] == ["Input", "in", "vector of size 4", ""]
    assert ports[2][:3] == ["Output", "out", "vector of size 3"] and ports[2][3].startswith('NetDecoder("Class"')
    rows = {row[0]: row[1:] for row in layers[1:]}
    assert rows['"hidden"'] == ["LinearLayer(5)", "vector of size 5", f"{5 * 4 + 5:,}"]
    assert rows['"sum"'] == ["ThreadingLayer('Plus')", "vector of size 5", ""]
    assert rows['"head"'] == ["NetChain (2 layers)", "vector of size 3", f"{3 * 5 + 3:,}"]
    # the nested chain's members follow its row, indented
    names = [row[0] for row in layers[1:]]
    assert names[names.index('"head"') + 1 :] == ["0", "1"]
    total = 5 * 4 + 5 + 3 * 5 + 3
    assert f"6 layers · {total} parameters ({total * 4} bytes as float32) · initialized" in page
    assert f"NetGraph · {total} parameters" in page


@needs_graphviz
def test_net_panel_draws_the_graph_with_every_edge(net):
    page = net._repr_html_()
    assert re.search(r'<div class="symnet-graph"[^>]*><svg', page)
    assert Tables(page).edges == len(net.connections) + len(net.layers["head"].connections)


def test_net_panel_without_graphviz_shows_the_tables_and_says_why(net, monkeypatch):
    monkeypatch.setattr(graphics.shutil, "which", lambda name: None)
    page = net._repr_html_()
    assert "<svg" not in page and len(Tables(page).tables) == 2
    assert "No graph picture: Graphviz&#x27;s dot program is not installed (apt-get install graphviz" in page


def test_long_layer_tables_are_cut_with_a_pointer_to_the_rest(monkeypatch):
    monkeypatch.setattr(display, "MAX_ROWS", 3)
    page = NetChain([LinearLayer(3)] + ["Tanh"] * 5, input=2)._repr_html_()
    assert len(Tables(page).tables[1]) == 1 + 3
    assert '… and 3 more layers (NetInformation(net, &quot;Layers&quot;) lists them all).' in page


def test_a_single_layer_shows_its_arrays():
    page = LinearLayer(3, input=2)._repr_html_()
    tables = Tables(page).tables
    assert tables[1][1:] == [["Weights", "(3, 2)", "6"], ["Biases", "(3,)", "3"]]
    assert "uninitialized" in page and "<svg" not in page


def test_coder_panels_show_kind_parameters_and_shape():
    encoder = NetEncoder("Class", ["cat", "dog", "bird"])
    page = encoder._repr_html_()
    assert 'NetEncoder &quot;Class&quot;' in page and "symnet-coder" in page
    assert ["labels", "('cat', 'dog', 'bird')"] in Tables(page).tables[0]
    assert "produces class index &lt; 3" in page
    decoder = NetDecoder("Class", list(range(20)))
    page = decoder._repr_html_()
    assert "reads vector of size 20" in page and "(20 values: 0, 1, 2, 3, 4, 5, 6, 7, …)" in page


def test_uninitialized_marks_only_where_a_net_is_partly_initialized():
    from symnet import NetReplacePart

    fresh = NetChain({"a": LinearLayer(3), "act": "Tanh", "b": LinearLayer(2)}, input=2)
    assert all("(uninitialized)" not in row[1] for row in Tables(fresh._repr_html_()).tables[1][1:])
    partly = NetReplacePart(NetInitialize(fresh), {"b": LinearLayer(4)})
    kinds = Tables(partly._repr_html_()).rows(1)
    assert kinds['"a"'][0] == "LinearLayer(3)" and kinds['"b"'][0] == "LinearLayer(4) (uninitialized)"


def test_long_coder_text_is_cut_with_the_whole_text_as_tooltip():
    labels = [f"class number {i}" for i in range(40)]
    page = NetChain([LinearLayer(40)], input=3, output=NetDecoder("Class", labels))._repr_html_()
    cell = Tables(page).rows(0)["Output"][2]
    assert len(cell) == display.CODER_WIDTH and cell.endswith("…")
    assert 'title="NetDecoder(&quot;Class&quot;, labels=(&quot;class number 0&quot;' in page
