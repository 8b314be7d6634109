"""NetChain: shorthand, inference in both directions, errors that name the layer and port."""

import numpy as np
import pytest
import torch

from symnet import (
    ElementwiseLayer,
    InitializationError,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetInformation,
    NetInitialize,
    ShapeError,
    SoftmaxLayer,
    ThreadingLayer,
)


def test_wolfram_intro_chain():
    # NetChain[{LinearLayer[30], ElementwiseLayer[Tanh], LinearLayer[3], ElementwiseLayer[Tanh],
    #           LinearLayer[3], ElementwiseLayer[LogisticSigmoid]}, "Input" -> 2]
    net = NetChain([LinearLayer(30), ElementwiseLayer("Tanh"), LinearLayer(3), ElementwiseLayer("Tanh"), LinearLayer(3), ElementwiseLayer("LogisticSigmoid")], input=2)
    assert [layer.types["Output"].dims for layer in net.layers.values()] == [(30,), (30,), (3,), (3,), (3,), (3,)]
    assert net.layers["0"].types["Weights"].dims == (30, 2)
    assert NetInformation(net, "ArraysTotalElementCount") == 30 * 2 + 30 + 3 * 30 + 3 + 3 * 3 + 3
    net = NetInitialize(net)
    out = net([0.5, -0.25])
    assert out.shape == (3,) and ((out > 0) & (out < 1)).all()
    # the same net written by hand
    w = [torch.as_tensor(NetExtract(net, [i, name])) for i in (0, 2, 4) for name in ("Weights", "Biases")]
    x = torch.tensor([0.5, -0.25])
    by_hand = torch.sigmoid(w[4] @ torch.tanh(w[2] @ torch.tanh(w[0] @ x + w[1]) + w[3]) + w[5])
    np.testing.assert_allclose(out, by_hand.numpy(), rtol=1e-5)


def test_shorthand():
    net = NetChain([30, "Tanh", [3, "Ramp"], np.tanh], input=2)
    kinds = [layer.kind for layer in net.layers.values()]
    assert kinds == ["LinearLayer", "ElementwiseLayer", "NetChain", "ElementwiseLayer"]
    assert net.layers["2"].types["Output"].dims == (3,)
    assert net.types["Output"].dims == (3,)


def test_inference_backwards_from_output():
    net = NetChain([LinearLayer(), SoftmaxLayer()], input=784, output=10)
    assert net.layers["0"].types["Weights"].dims == (10, 784)
    assert net.layers["0"].types["Output"].dims == (10,)


def test_inference_backwards_through_nested_chain():
    net = NetChain([[LinearLayer(), "Tanh"], LinearLayer(4)], output=4)
    inner = net.layers["0"]
    assert inner.layers["0"].types["Weights"].dims == (None, None)
    inferred = NetChain([net], input=6)
    assert inferred.layers["0"].layers["0"].layers["0"].types["Weights"].dims == (None, 6)


def test_named_layers_and_paths():
    net = NetInitialize(NetChain({"hidden": LinearLayer(4), "act": "Ramp", "out": LinearLayer(2)}, input=3))
    assert list(net.layers) == ["hidden", "act", "out"]
    assert NetExtract(net, ["out", "Weights"]).shape == (2, 4)


def test_conflict_message_names_layer_port_and_shapes():
    message = r"NetChain/1/Input \(LinearLayer\) expects \(4,\) but NetChain/0/Output \(LinearLayer\) gives \(5,\)\. Fix: make the two shapes agree"
    with pytest.raises(ShapeError, match=message):
        NetChain([LinearLayer(5, input=3), LinearLayer(2, input=4)])


def test_chain_input_conflict_with_first_layer():
    with pytest.raises(ShapeError, match=r"NetChain/0/Input \(LinearLayer\) expects \(3,\) but NetChain/Input gives \(7,\)"):
        NetChain([LinearLayer(2, input=3)], input=7)


def test_uninferable_size_says_what_to_do():
    net = NetChain([LinearLayer(4), "Ramp"])
    with pytest.raises(ShapeError, match=r'NetChain/0 \(LinearLayer\): the array "Weights" has the shape \(4, \?\), which could not be inferred.*Fix: give the net\'s input a shape'):
        NetInitialize(net)


def test_uninitialized_evaluation_says_to_initialize():
    net = NetChain([LinearLayer(4), "Ramp"], input=2)
    with pytest.raises(InitializationError, match=r"NetChain/0 \(LinearLayer\) is not initialized: its arrays Weights, Biases have no values\. Call NetInitialize\(net\) first"):
        net([1.0, 2.0])


def test_chain_rejects_multi_input_layer_in_the_middle():
    with pytest.raises(NetError, match=r"NetChain/1 \(ThreadingLayer\) takes 2 inputs; only the first layer of a chain may take several\. Use a NetGraph\."):
        NetChain([LinearLayer(3), ThreadingLayer("Plus")])


def test_bad_layer_spec():
    with pytest.raises(NetError, match=r"NetChain/1: 3\.5 is not a layer"):
        NetChain([LinearLayer(3), 3.5])
    with pytest.raises(NetError, match=r"NetChain needs at least one layer"):
        NetChain([])
    with pytest.raises(NetError, match=r'NetChain/1: ElementwiseLayer: unknown activation "Tahn"\. Did you mean "Tanh"\?'):
        NetChain([3, "Tahn"])


def test_multi_input_first_layer_becomes_chain_inputs():
    net = NetChain([ThreadingLayer("Plus", input=[3, 3]), "Ramp"])
    assert net.input_ports() == ("Input1", "Input2")
    result = net({"Input1": [1.0, -2.0, 3.0], "Input2": [1.0, 1.0, 1.0]})
    assert result.tolist() == [2.0, 0.0, 4.0]


def test_nets_are_immutable():
    net = NetChain([LinearLayer(3)], input=2)
    with pytest.raises(AttributeError):
        net.layers = {}  # type: ignore[misc]
    initialized = NetInitialize(net)
    assert not net.initialized and initialized.initialized


def test_conflict_inside_a_layer_lists_its_ports():
    from symnet import NetDecoder

    with pytest.raises(ShapeError, match=r"NetChain/1 \(ElementwiseLayer\): \(1,\) conflicts with \(\) \(ports and arrays: Input \(1,\), Output \(\)\)\. Fix: change the layer's sizes"):
        NetChain([LinearLayer(1), "LogisticSigmoid"], input=2, output=NetDecoder("Boolean"))
    with pytest.raises(ShapeError, match=r"LinearLayer \(LinearLayer\): \(1, 2\) conflicts with \(3, \?\) \(ports and arrays: Input \(…\), Output \(…\), Weights \(1, 2\), Biases \(…\)\)"):
        LinearLayer(3, arrays={"Weights": [[1.0, 2.0]]})


def test_a_shape_conflict_with_a_decoder_names_the_decoder():
    from symnet import NetDecoder, ShapeError, SoftmaxLayer

    with pytest.raises(ShapeError, match=r'NetChain/1 \(SoftmaxLayer\): \(3,\) conflicts with \(2,\).* Note: the decoder NetDecoder\("Class", labels=\("a", "b"\)\) on NetChain/Output fixes that port to \(2,\)\.$'):
        NetChain([LinearLayer(3), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["a", "b"]))
