"""NetGraph: edges, fan-in, named ports, cycles and dangling edges."""

import numpy as np
import pytest
import torch

from symnet import ElementwiseLayer, GraphError, LinearLayer, NetGraph, NetInitialize, NetPort, ShapeError, ThreadingLayer


def test_wolfram_intro_graph():
    # NetGraph[{ElementwiseLayer[Ramp], ElementwiseLayer[Tanh], ThreadingLayer[Times], ThreadingLayer[Plus]},
    #          {1 -> 2 -> 3, 1 -> 3 -> 4, 2 -> 4}]
    net = NetGraph([ElementwiseLayer("Ramp"), ElementwiseLayer("Tanh"), ThreadingLayer("Times"), ThreadingLayer("Plus")], [(0, 1, 2), (0, 2, 3), (1, 3)])
    assert net.input_ports() == ("Input",) and net.output_ports() == ("Output",)
    x = np.array([[-1.0, 0.5, 2.0]])
    ramp = np.maximum(x, 0)
    tanh = np.tanh(ramp)
    np.testing.assert_allclose(net(x), tanh * ramp + tanh, rtol=1e-6)
    # shapes flow through once the input is known
    sized = NetGraph(net.layers, [(0, 1, 2), (0, 2, 3), (1, 3)], input=3)
    assert sized.types["Output"].dims == (3,)


def test_named_layers_and_explicit_ports():
    net = NetGraph(
        {"a": LinearLayer(4), "b": LinearLayer(4), "sum": ThreadingLayer("Plus")},
        [(NetPort("x"), "a", "sum"), (NetPort("y"), "b", "sum"), ("sum", NetPort("total"))],
        ports={"x": 2, "y": 3},
    )
    assert net.input_ports() == ("x", "y") and net.output_ports() == ("total",)
    net = NetInitialize(net)
    out = net({"x": [1.0, 2.0], "y": [0.0, 1.0, 0.0]})
    assert out.shape == (4,)


def test_fan_in_list_syntax():
    net = NetGraph(["Ramp", "Tanh", ThreadingLayer("Plus")], [(NetPort("Input"), 0), (NetPort("Input"), 1), ([0, 1], 2)], input=2)
    assert net([1.0, -1.0]).tolist() == pytest.approx([1 + np.tanh(1), np.tanh(-1)])


def test_variadic_layer_gets_an_input_per_edge():
    net = NetGraph(["Ramp", "Tanh", "Sin", ThreadingLayer("Plus")], [(NetPort("Input"), [0, 1, 2]), ([0, 1, 2], 3)], input=1)
    assert net.layers["3"].input_ports() == ("Input1", "Input2", "Input3")
    assert net([0.5]).tolist() == pytest.approx([0.5 + np.tanh(0.5) + np.sin(0.5)])


def test_cycle_is_named():
    with pytest.raises(GraphError, match=r"NetGraph: the edges form a cycle: 0 -> 1 -> 2 -> 0\. A net must be acyclic"):
        NetGraph(["Ramp", "Tanh", "Sin"], [(0, 1, 2, 0)])


def test_dangling_edge_lists_layers():
    with pytest.raises(GraphError, match=r'NetGraph: the edge names the layer "relu2", which does not exist; the layers are "relu", "tanh"\. Did you mean "relu"\?'):
        NetGraph({"relu": "Ramp", "tanh": "Tanh"}, [("relu", "relu2")])
    with pytest.raises(GraphError, match=r"the edge names the layer 5, which does not exist"):
        NetGraph(["Ramp", "Tanh"], [(0, 5)])


def test_port_connected_twice():
    with pytest.raises(GraphError, match=r"the input of layer 2 \(ElementwiseLayer\) is connected twice"):
        NetGraph(["Ramp", "Tanh", "Sin"], [(0, 2), (1, 2)])


def test_unknown_layer_port_suggests():
    with pytest.raises(GraphError, match=r'layer 0 \(LinearLayer\) has no output port "Outptu"; its outputs: Output\. Did you mean "Output"\?'):
        NetGraph([LinearLayer(2), "Ramp"], [(NetPort(0, "Outptu"), 1)])


def test_edge_must_be_a_tuple():
    with pytest.raises(GraphError, match=r"the edge \[0, 1\] must be a tuple of at least two elements"):
        NetGraph(["Ramp", "Tanh"], [[0, 1]])


def test_shape_conflict_in_graph_names_the_path():
    with pytest.raises(ShapeError, match=r"NetGraph/2 \(ThreadingLayer\): the shapes \(3,\), \(4,\) cannot be broadcast together"):
        NetGraph([LinearLayer(3), LinearLayer(4), ThreadingLayer("Plus")], [(NetPort("Input"), 0, 2), (NetPort("Input"), 1, 2)], input=2)


def test_intermediate_ports_and_gradients():
    net = NetInitialize(NetGraph({"lin": LinearLayer(3), "act": "Tanh"}, [("lin", "act")], input=2))
    x = torch.tensor([0.3, -0.7])
    hidden = net(x, NetPort("lin", "Output"))
    np.testing.assert_allclose(net(x), np.tanh(hidden), rtol=1e-6)
    grad = net(x, NetPort(["act", "Input"]))
    np.testing.assert_allclose(grad, hidden, rtol=1e-6)


def test_input_option_goes_to_the_port_named_input():
    from symnet import MeanSquaredLossLayer, NetError

    graph = NetGraph({"l": LinearLayer(2), "loss": MeanSquaredLossLayer()}, [("l", NetPort("loss", "Input")), (NetPort("Target"), NetPort("loss", "Target"))], input=3)
    assert graph.types["Input"].dims == (3,) and graph.types["Target"].dims == (2,)
    with pytest.raises(NetError, match=r'NetGraph: input= names no port: the net has the input ports a, b and none is called "Input"; give them with ports=\{\'a\': …\}\.'):
        NetGraph({"x": LinearLayer(2), "y": LinearLayer(2), "sum": ThreadingLayer("Plus")}, [(NetPort("a"), "x", "sum"), (NetPort("b"), "y", "sum")], input=3)
