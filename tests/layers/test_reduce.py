"""AggregationLayer, TotalLayer, SummationLayer, DotLayer (symnet/layers/reduce.py): shapes, values against torch, gradients, errors."""

import numpy as np
import pytest
import torch

from symnet import (
    VARYING,
    AggregationLayer,
    DotLayer,
    NetError,
    SummationLayer,
    TotalLayer,
)


def dims(layer, port="Output"):
    return layer.types[port].dims


# -- Aggregation, Total, Summation ------------------------------------------------------------
@pytest.mark.parametrize(
    "function, reference",
    [("Max", torch.amax), ("Min", torch.amin), ("Mean", torch.mean), ("Total", torch.sum)],
)
def test_aggregation(function, reference, check_layer):
    layer = AggregationLayer(function, input=(3, 4, 5))
    assert dims(layer) == (3,)
    check_layer(layer, lambda a, x: reference(x, dim=(2, 3)))
    layer = AggregationLayer(function, (0, -1), input=(3, 4, 5))
    assert dims(layer) == (4,)
    check_layer(layer, lambda a, x: reference(x, dim=(1, 3)))


def test_aggregation_inference_and_varying():
    assert dims(AggregationLayer("Mean", -1, output=2), "Input") == (2, None)
    assert dims(AggregationLayer(input=(4, VARYING))) == (4,)
    layer = AggregationLayer("Mean", 0, input=(VARYING, 2))
    assert dims(layer) == (2,)
    np.testing.assert_allclose(layer([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]]), [3.0, 5.0])


def test_aggregation_errors():
    with pytest.raises(NetError, match=r'port "Input" needs an array of rank at least 2 \(channels, then the axes to aggregate\) but received \(3,\) of rank 1'):
        AggregationLayer(input=3)
    with pytest.raises(NetError, match=r'AggregationLayer: function \'Maxx\' is not one of "Max", "Min", "Mean", "Total"\. Did you mean "Max"\?'):
        AggregationLayer("Maxx")
    with pytest.raises(NetError, match=r"the levels \(0, -2\) name the same axis of the input \(3, 4\) twice"):
        AggregationLayer("Max", (0, -2), input=(3, 4))
    with pytest.raises(NetError, match=r"level 3 is outside the input \(3, 4\) of rank 2"):
        AggregationLayer("Max", 3, input=(3, 4))


def test_total(check_layer):
    assert dims(TotalLayer(input=(2, 3))) == ()
    check_layer(TotalLayer(input=(2, 3)), lambda a, x: x.sum(dim=(1, 2)))
    check_layer(TotalLayer(0, input=(2, 3, 4)), lambda a, x: x.sum(dim=1))
    check_layer(TotalLayer((0, 2), input=(2, 3, 4)), lambda a, x: x.sum(dim=(1, 3)))
    assert TotalLayer()(2.5) == 2.5
    with pytest.raises(NetError, match=r"TotalLayer: the levels must be None, an int or a non-empty tuple of ints, not 'All'"):
        TotalLayer("All")


def test_summation(check_layer):
    assert dims(SummationLayer()) == ()
    check_layer(SummationLayer(input=(2, 3)), lambda a, x: x.sum(dim=(1, 2)))
    check_layer(SummationLayer(input=4), lambda a, x: x.sum(dim=1))


# -- Dot --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shapes, expected, equation",
    [
        ([3, 3], (), "bi,bi->b"),
        ([(2, 3), 3], (2,), "bij,bj->bi"),
        ([3, (3, 4)], (4,), "bi,bij->bj"),
        ([(2, 3), (3, 4)], (2, 4), "bij,bjk->bik"),
        ([(2, 2, 3), (3, 4)], (2, 2, 4), "bhij,bjk->bhik"),
    ],
)
def test_dot(shapes, expected, equation, check_layer):
    layer = DotLayer(input=shapes)
    assert dims(layer) == expected
    check_layer(layer, lambda a, x, y: torch.einsum(equation, x, y))


def test_dot_infers_a_missing_input():
    layer = DotLayer(input=[(2, 3), None], output=(2, 5))
    assert dims(layer, "Input2") == (3, 5)
    assert dims(DotLayer(input=[None, 3], output=(2,)), "Input1") == (2, 3)


def test_dot_errors():
    with pytest.raises(NetError, match=r"DotLayer.*the last dimension of Input1 \(2, 3\) must equal the first dimension of Input2 \(4,\) \(3 ≠ 4\)"):
        DotLayer(input=[(2, 3), 4])
    with pytest.raises(NetError, match=r'port "Input2" needs at least a vector but received the scalar \(\)'):
        DotLayer(input=[3, "Real"])
    with pytest.raises(NetError, match=r"the product of \(2, 3\) and \(3,\) has shape \(2,\) but the output is \(4,\)"):
        DotLayer(input=[(2, 3), 3], output=4)
