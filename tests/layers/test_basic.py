"""LinearLayer, ElementwiseLayer, ThreadingLayer, SoftmaxLayer, DropoutLayer, NetArrayLayer: inference,
errors and training-mode behaviour (reference values and gradients: the layer table, tests/layers/table/basic.py)."""

import numpy as np
import pytest
import torch

from symnet import (
    DropoutLayer,
    ElementwiseLayer,
    ExpressionError,
    LinearLayer,
    NetArrayLayer,
    NetError,
    NetExtract,
    NetInitialize,
    ShapeError,
    SoftmaxLayer,
    ThreadingLayer,
)


def test_linear_without_biases_has_no_biases_array():
    assert LinearLayer((), input=3, biases=False).array_names() == ("Weights",)


def test_linear_w_x_plus_b_by_hand():
    layer = NetInitialize(LinearLayer(2, input=3))
    data = np.array([2.0, 10.0, 3.0])
    by_hand = NetExtract(layer, "Weights") @ data + NetExtract(layer, "Biases")
    np.testing.assert_allclose(layer(data), by_hand, rtol=1e-5)


def test_linear_infers_input_from_given_weights():
    layer = LinearLayer(arrays={"Weights": np.ones((2, 5)), "Biases": np.zeros(2)})
    assert layer.types["Input"].dims == (5,)
    assert layer.types["Output"].dims == (2,)
    assert layer(np.ones(5)).tolist() == [5.0, 5.0]


def test_linear_bad_size():
    with pytest.raises(NetError, match=r"LinearLayer: the size must be a positive int or a tuple of them, not -3"):
        LinearLayer(-3)


def test_linear_weights_conflict_with_size():
    with pytest.raises(ShapeError, match=r"LinearLayer.*conflicts"):
        LinearLayer(3, arrays={"Weights": np.ones((2, 5))})


def test_unknown_array_name_suggests():
    with pytest.raises(NetError, match=r'LinearLayer has no array "Weight" \(its arrays: "Weights", "Biases"\)\. Did you mean "Weights"\?'):
        LinearLayer(3, arrays={"Weight": np.ones((3, 2))})


def test_elementwise_accepts_python_functions_and_lowercase():
    assert ElementwiseLayer(np.tanh).function == "Tanh"
    assert ElementwiseLayer(torch.relu).function == "Ramp"
    assert ElementwiseLayer("relu").function == "ReLU"


def test_unknown_activation_suggests_closest():
    with pytest.raises(NetError, match=r'ElementwiseLayer: unknown activation "Tahn"\. Did you mean "Tanh"\?'):
        ElementwiseLayer("Tahn")


def test_bad_expressions_name_the_token():
    with pytest.raises(ExpressionError, match=r'Unknown function "sinn" in "sinn\(x\)"\. Did you mean "sin"\?'):
        ElementwiseLayer("sinn(x)")
    with pytest.raises(ExpressionError, match=r'Unknown variable "y" in "x \+ y": the variables are x\.'):
        ElementwiseLayer("x + y")
    with pytest.raises(ExpressionError, match=r'The token "x.__class__" is not allowed'):
        ElementwiseLayer("x.__class__")
    with pytest.raises(ExpressionError, match=r'The expression "x \+\* 2" cannot be parsed: unexpected "\*" at column 4'):
        ElementwiseLayer("x +* 2")
    with pytest.raises(ExpressionError, match=r'The operator "@" is not allowed'):
        ElementwiseLayer("x @ x")
    with pytest.raises(ExpressionError, match=r"The token 'a' is not a number"):
        ElementwiseLayer("x + 'a'")


def test_python_function_is_refused_with_advice():
    with pytest.raises(NetError, match=r"is not a known activation.*expression string in x"):
        ElementwiseLayer(lambda x: x)


def test_threading_bad_broadcast():
    with pytest.raises(ShapeError, match=r"cannot be broadcast together"):
        ThreadingLayer("Plus", input=[(2, 3), (4,)])


def test_threading_unknown_function():
    with pytest.raises(NetError, match=r'ThreadingLayer: unknown function "Tims"\. Did you mean "Times"\?'):
        ThreadingLayer("Tims")


def test_softmax_level_outside_the_input():
    with pytest.raises(ShapeError, match=r"level 2 is outside the input \(3, 4\) of rank 2"):
        SoftmaxLayer(2, input=(3, 4))


def test_dropout_only_in_training(check_layer):
    layer = DropoutLayer(0.5, input=1000)
    (evaluated,) = check_layer(layer, lambda a, x: x, gradcheck=False)
    torch.manual_seed(0)
    (trained,) = check_layer(layer, None, training=True, gradcheck=False, low=1.0, high=1.0)
    kept = trained != 0
    assert 0.4 < kept.double().mean() < 0.6
    assert torch.allclose(trained[kept], torch.tensor(2.0, dtype=torch.float64))
    with pytest.raises(NetError, match=r"DropoutLayer: the probability must be in \[0, 1\), not 1\.5"):
        DropoutLayer(1.5)


def test_net_array_layer():
    layer = NetArrayLayer((2, 3))
    assert layer.types["Array"].dims == (2, 3)
    initialized = NetInitialize(layer)
    assert initialized(None).shape == (2, 3)


def test_unknown_options_and_extra_arguments_are_net_errors():
    from symnet import ConvolutionLayer, NetChain

    with pytest.raises(NetError, match=r'ConvolutionLayer: unknown option padding_size=; its options are channels, kernel_size, input, output, arrays, stride, padding, dilation, groups, biases\. Did you mean "padding"\?'):
        ConvolutionLayer(2, 3, padding_size=1)
    with pytest.raises(NetError, match=r"NetChain: unknown option foo=; its options are layers, input, output, arrays, ports\."):
        NetChain([2], foo=1)
    with pytest.raises(NetError, match=r"LinearLayer takes at most 1 positional argument \(size\) but was given 3\."):
        LinearLayer(2, 3, 4)
    with pytest.raises(NetError, match=r"LinearLayer: the size must be a positive int or a tuple of them, not 2\.5"):
        LinearLayer(2.5, input=4)


def test_input_list_must_match_the_input_ports():
    from symnet import DotLayer

    with pytest.raises(NetError, match=r"DotLayer has the inputs Input1, Input2, but input= lists 3 shapes\."):
        DotLayer(input=[(2, 3), (3, 4), (4,)])
