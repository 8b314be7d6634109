"""Flatten, Reshape, Transpose, Catenate, Part, Replicate, Append and Prepend layers
(symnet/layers/structure.py): inference, errors, and use in nets (reference values and gradients: the
layer table, tests/layers/table/structure.py)."""

import numpy as np
import pytest

from symnet import (
    VARYING,
    AggregationLayer,
    All,
    AppendLayer,
    CatenateLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    PartLayer,
    PrependLayer,
    ReplicateLayer,
    ReshapeLayer,
    TensorType,
    TransposeLayer,
)


def dims(layer, port="Output"):
    return layer.types[port].dims


# -- Flatten ----------------------------------------------------------------------------------
def test_flatten_infers_backwards():
    assert dims(FlattenLayer(input=(2, None), output=6), "Input") == (2, 3)
    assert dims(FlattenLayer(1, output=(6, 4)), "Input") == (None, None, 4)
    assert dims(FlattenLayer(-1, input=(None, 3, None), output=(5, 12)), "Input") == (5, 3, 4)
    assert dims(FlattenLayer()) == (None,)


def test_flatten_varying():
    assert dims(FlattenLayer(-1, input=(VARYING, 2, 3))) == (VARYING, 6)
    assert FlattenLayer(-1, input=(VARYING, 2, 3))(np.ones((5, 2, 3))).shape == (5, 6)


def test_flatten_errors():
    with pytest.raises(NetError, match=r"\(FlattenLayer\): level 3 flattens 4 axes but the input \(2, 3, 4\) has rank 3: use a level from -2 to 2\."):
        FlattenLayer(3, input=(2, 3, 4))
    with pytest.raises(NetError, match=r'port "Input" needs at least a vector but received the scalar \(\)'):
        FlattenLayer(input="Real")
    with pytest.raises(NetError, match=r"the input \(4, \?\) cannot flatten to the output \(6,\): 6 is not a multiple of the known dimensions"):
        FlattenLayer(input=(4, None), output=6)
    with pytest.raises(NetError, match=r"the input \(2, 3\) flattens to \(6,\) but the output is \(5,\)"):
        FlattenLayer(input=(2, 3), output=5)
    with pytest.raises(NetError, match=r"FlattenLayer: the level must be None or an int, not 'All'"):
        FlattenLayer("All")


# -- Reshape ----------------------------------------------------------------------------------
def test_reshape_infers_backwards():
    assert dims(ReshapeLayer((2, 3), input=(None, 2)), "Input") == (3, 2)
    assert dims(ReshapeLayer((2, -1), input=(None, 2), output=(2, 6)), "Input") == (6, 2)
    assert dims(ReshapeLayer((-1, 3), input=(VARYING, 6))) == (VARYING, 3)


def test_reshape_errors():
    with pytest.raises(NetError, match=r"\(ReshapeLayer\): the input \(2, 3\) has 6 elements, which cannot be reshaped to \(4,\) with 4 elements\."):
        ReshapeLayer((4,), input=(2, 3))
    with pytest.raises(NetError, match=r"the input \(2, 3\) has 6 elements, which cannot be reshaped to \(4, -1\): 6 is not a multiple of 4\."):
        ReshapeLayer((4, -1), input=(2, 3))
    with pytest.raises(NetError, match=r"the input \(n, 3\) has a varying dimension, which cannot be reshaped to the fixed shape \(3, 3\): write -1"):
        ReshapeLayer((3, 3), input=(VARYING, 3))
    with pytest.raises(NetError, match=r'ReshapeLayer: the dims must be a tuple of positive ints with at most one -1 \(or "Inferred"\), not \(-1, -1\)'):
        ReshapeLayer((-1, -1))
    with pytest.raises(NetError, match=r"not \(0, 2\)"):
        ReshapeLayer((0, 2))


# -- Transpose --------------------------------------------------------------------------------
def test_transpose_infers_backwards_and_keeps_varying():
    assert dims(TransposeLayer(output=(3, 2)), "Input") == (2, 3)
    assert dims(TransposeLayer((2, 0, 1), output=(4, 2, 3)), "Input") == (2, 3, 4)
    layer = TransposeLayer(input=(VARYING, 3))
    assert dims(layer) == (3, VARYING)
    data = np.arange(15.0).reshape(5, 3)
    np.testing.assert_array_equal(layer(data), data.T)


def test_transpose_errors():
    with pytest.raises(NetError, match=r'port "Input" needs at least a matrix to transpose but received \(3,\) of rank 1'):
        TransposeLayer(input=3)
    with pytest.raises(NetError, match=r"axis 3 is outside the input \(2, 3, 4\) of rank 3: use 0 … 2"):
        TransposeLayer((0, 3), input=(2, 3, 4))
    with pytest.raises(NetError, match=r"the permutation \(2, 0, 1\) has 3 entries but the input \(2, 3\) has rank 2"):
        TransposeLayer((2, 0, 1), input=(2, 3))
    with pytest.raises(NetError, match=r"TransposeLayer: \(0, 0, 1\) is not a permutation of 0 … 2"):
        TransposeLayer((0, 0, 1))


# -- Catenate ---------------------------------------------------------------------------------
def test_catenate_has_a_port_per_input():
    assert CatenateLayer(-1, input=[(2, 1), (2, 3), (2, 2)]).input_ports() == ("Input1", "Input2", "Input3")


def test_catenate_infers_a_missing_input():
    layer = CatenateLayer(input=[(2, 3), None], output=(5, 3))
    assert dims(layer, "Input2") == (3, 3)
    assert dims(CatenateLayer(input=[(VARYING, 3), (2, 3)])) == (VARYING, 3)


def test_catenate_errors():
    with pytest.raises(NetError, match=r'port "Input2" has shape \(2, 4\) but port "Input1" has shape \(2, 3\): the inputs must agree on every axis except level 0\.'):
        CatenateLayer(input=[(2, 3), (2, 4)])
    with pytest.raises(NetError, match=r'port "Input2" has rank 1 \(3,\) but port "Input1" has rank 2 \(2, 3\): catenated inputs must have the same rank'):
        CatenateLayer(input=[(2, 3), 3])
    with pytest.raises(NetError, match=r"level 2 is outside the input \(2, 3\) of rank 2"):
        CatenateLayer(2, input=[(2, 3), (2, 3)])
    with pytest.raises(NetError, match=r"the inputs have 6 elements along level 0 in all but the output \(5, 3\) has 5"):
        CatenateLayer(input=[(2, 3), (4, 3)], output=(5, 3))


# -- Part -------------------------------------------------------------------------------------
def test_part_infers_backwards_and_keeps_varying():
    assert dims(PartLayer(0, output=(3, 4)), "Input") == (None, 3, 4)
    assert dims(PartLayer((All, 1), output=(7,)), "Input") == (7, None)
    layer = PartLayer((All, 1), input=(VARYING, 3))
    assert dims(layer) == (VARYING,)
    assert layer(np.arange(12.0).reshape(4, 3)).tolist() == [1.0, 4.0, 7.0, 10.0]
    assert dims(PartLayer(slice(0, 2), input=(VARYING, 3))) == (2, 3)


def test_part_errors():
    with pytest.raises(NetError, match=r"index 5 is out of range for axis 0 of size 3 \(input \(3,\)\): use 0 … 2, or -3 … -1 from the end\."):
        PartLayer(5, input=3)
    with pytest.raises(NetError, match=r"index -5 is out of range for axis 1 of size 4"):
        PartLayer((0, [1, -5]), input=(2, 4))
    with pytest.raises(NetError, match=r"the span 1:7 is out of range for axis 0 of size 4 \(input \(4,\)\)"):
        PartLayer(slice(1, 7), input=4)
    with pytest.raises(NetError, match=r"the span 3:1 selects nothing from axis 0 of size 4"):
        PartLayer(slice(3, 1), input=4)
    with pytest.raises(NetError, match=r"the part \(0, 0, 0\) indexes 3 axes but the input \(2, 3\) has rank 2"):
        PartLayer((0, 0, 0), input=(2, 3))
    with pytest.raises(NetError, match=r"PartLayer: 'a' is not a part: use an int, a slice"):
        PartLayer("a")
    with pytest.raises(NetError, match=r"only positive steps are supported"):
        PartLayer(slice(None, None, -1))
    # A varying axis is only checked against the data.
    with pytest.raises(NetError, match=r"index 4 is out of range for axis 0 of size 3"):
        PartLayer(4, input=VARYING)([1.0, 2.0, 3.0])


# -- Replicate --------------------------------------------------------------------------------
def test_replicate_infers_size_and_input():
    assert dims(ReplicateLayer(input=2, output=(4, 2))) == (4, 2)
    assert dims(ReplicateLayer(3, output=(3, 5)), "Input") == (5,)


def test_replicate_errors():
    with pytest.raises(NetError, match=r"level 3 is outside the input \(2,\) of rank 1: use 0 … 1, or a negative level"):
        ReplicateLayer(3, 3, input=2)
    with pytest.raises(NetError, match=r"ReplicateLayer: the size must be a positive int, a tuple of them or None, not 0"):
        ReplicateLayer(0)
    with pytest.raises(NetError, match=r"the input \(2,\) replicated is \(3, 2\) but the output is \(4, 2\)"):
        ReplicateLayer(3, input=2, output=(4, 2))


# -- Append, Prepend --------------------------------------------------------------------------
@pytest.mark.parametrize("layer_class", [AppendLayer, PrependLayer])
def test_append_prepend_inference(layer_class):
    layer = layer_class(input=(3, 2))
    assert dims(layer, "Element") == (2,)
    assert dims(layer) == (4, 2)
    assert dims(layer_class(element=(2, 5))) == (None, 2, 5)
    assert dims(layer_class(output=(5, 2)), "Input") == (4, 2)
    assert dims(layer_class(input=(VARYING, 2))) == (VARYING, 2)


def test_append_errors():
    with pytest.raises(NetError, match=r'port "Element" has shape \(5,\) but the elements of port "Input" \(3, 4\) have shape \(4,\)'):
        AppendLayer(input=(3, 4), element=5)
    with pytest.raises(NetError, match=r'port "Input" needs a sequence \(an array with a first axis to extend\) but received the scalar \(\)'):
        PrependLayer(input="Real")
    with pytest.raises(NetError, match=r"the sequence \(3, 4\) grows to 4 elements but the output \(3, 4\) has 3"):
        AppendLayer(input=(3, 4), output=(3, 4))


# -- inside nets ------------------------------------------------------------------------------
def test_catenate_in_a_graph_of_two_linear_layers():
    net = NetGraph(
        {"a": LinearLayer(3), "b": LinearLayer(4), "cat": CatenateLayer()},
        [(NetPort("Input"), "a"), (NetPort("Input"), "b"), (["a", "b"], "cat")],
        input=5,
    )
    assert net.types["Output"].dims == (7,)
    net = NetInitialize(net, random_seeding=3)
    x = np.random.default_rng(0).normal(size=5)
    by_hand = np.concatenate([NetExtract(net, [k, "Weights"]) @ x + NetExtract(net, [k, "Biases"]) for k in ("a", "b")])
    np.testing.assert_allclose(net(x), by_hand, rtol=1e-5, atol=1e-6)


def test_graph_infers_linear_size_through_catenate():
    net = NetGraph([LinearLayer(), LinearLayer(2), CatenateLayer()], [(NetPort("Input"), 0), (NetPort("Input"), 1), ([0, 1], 2)], input=3, output=5)
    assert net.layers["0"].types["Weights"].dims == (3, 3)


def test_append_in_a_graph():
    net = NetGraph(
        {"element": LinearLayer(4), "append": AppendLayer()},
        [(NetPort("Vector"), "element", NetPort("append", "Element")), (NetPort("Sequence"), NetPort("append", "Input"))],
        ports={"Vector": 2, "Sequence": (3, 4)},
    )
    assert net.types["Output"].dims == (4, 4)
    net = NetInitialize(net)
    sequence, vector = np.ones((3, 4)), np.array([1.0, -2.0])
    element = NetExtract(net, ["element", "Weights"]) @ vector + NetExtract(net, ["element", "Biases"])
    np.testing.assert_allclose(net({"Vector": vector, "Sequence": sequence}), np.vstack([sequence, element]), rtol=1e-5)


def test_structure_layers_in_a_chain():
    net = NetChain([LinearLayer(12), ReshapeLayer((3, 4)), TransposeLayer(), PartLayer(slice(0, 2)), AggregationLayer("Mean"), FlattenLayer()], input=2)
    assert [layer.types["Output"].dims for layer in net.layers.values()] == [(12,), (3, 4), (4, 3), (2, 3), (2,), (2,)]
    net = NetInitialize(net)
    x = np.array([0.5, -1.0])
    hidden = (NetExtract(net, [0, "Weights"]) @ x + NetExtract(net, [0, "Biases"])).reshape(3, 4).T[0:2].mean(axis=1)
    np.testing.assert_allclose(net(x), hidden, rtol=1e-5, atol=1e-6)


def test_chain_infers_through_flatten_backwards():
    net = NetChain([ReshapeLayer((2, -1)), FlattenLayer(), LinearLayer(3)], input=(3, 2))
    assert net.layers["2"].types["Weights"].dims == (3, 6)
    assert net.types["Output"] == TensorType((3,))
