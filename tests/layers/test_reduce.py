"""AggregationLayer, TotalLayer, SummationLayer, DotLayer (symnet/layers/reduce.py): inference and errors
(reference values and gradients: the layer table, tests/layers/table/reduce.py)."""

import numpy as np
import pytest

from symnet import (
    VARYING,
    AggregationLayer,
    DotLayer,
    ElementwiseLayer,
    NetChain,
    NetError,
    SummationLayer,
    TotalLayer,
)


def dims(layer, port="Output"):
    return layer.types[port].dims


# -- Aggregation, Total, Summation ------------------------------------------------------------
def test_aggregation_inference_and_varying():
    assert dims(AggregationLayer("Mean", -1, output=2), "Input") == (2, None)
    assert dims(AggregationLayer(input=(4, VARYING))) == (4,)
    layer = AggregationLayer("Mean", 0, input=(VARYING, 2))
    assert dims(layer) == (2,)
    np.testing.assert_allclose(layer([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]]), [3.0, 5.0])


def test_aggregation_errors():
    with pytest.raises(NetError, match=r'port "Input" needs an array of rank at least 2 \(channels, then the axes to aggregate\) but received \(3,\) of rank 1'):
        AggregationLayer(input=3)
    with pytest.raises(NetError, match=r'AggregationLayer: function must be one of "Max", "Min", "Mean", "Total"; received "Maxx"\. Did you mean "Max"\?'):
        AggregationLayer("Maxx")
    with pytest.raises(NetError, match=r"the levels \(0, -2\) name the same axis of the input \(3, 4\) twice"):
        AggregationLayer("Max", (0, -2), input=(3, 4))
    with pytest.raises(NetError, match=r"level 3 is outside the input \(3, 4\) of rank 2"):
        AggregationLayer("Max", 3, input=(3, 4))


def test_total_and_summation():
    assert dims(TotalLayer(input=(2, 3))) == ()
    assert dims(SummationLayer()) == ()
    assert TotalLayer()(2.5) == 2.5
    with pytest.raises(NetError, match=r"TotalLayer: the levels must be None, an int or a non-empty tuple of ints, not 'All'"):
        TotalLayer("All")


# -- Dot --------------------------------------------------------------------------------------
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


@pytest.mark.parametrize("function", ["Mean", "Max", "Min", "Total"])
def test_aggregation_over_a_padded_sequence_takes_each_examples_own_elements(function):
    # the exponential makes the padding 1, not 0, as layers before a pooling do: it must not count
    net = NetChain([ElementwiseLayer("Exp"), AggregationLayer(function, 0)], input=(VARYING, 3))
    rng = np.random.default_rng(0)
    examples = [rng.standard_normal((n, 3)).astype(np.float32) - 1 for n in (4, 1, 6)]
    reduce = {"Mean": np.mean, "Max": np.max, "Min": np.min, "Total": np.sum}[function]
    expected = np.stack([reduce(np.exp(x), axis=0) for x in examples])
    np.testing.assert_allclose(net(examples), expected, rtol=1e-6)
