"""ExtractLayer (symnet/layers/extract.py): inference and the mistakes a user can make (reference
values and gradients: the layer table, tests/layers/table/extract.py)."""

import numpy as np
import pytest

from symnet import VARYING, ExtractLayer, NetError


def test_output_shape_is_the_positions_then_the_axes_not_indexed():
    assert ExtractLayer(input=[(10, 4, 3), (VARYING, 1)]).types["Output"].dims == (VARYING, 4, 3)
    assert ExtractLayer(input=[(10, 4, 3), (5, 2)]).types["Output"].dims == (5, 3)
    assert ExtractLayer(input=[(10, 4), (1,)]).types["Output"].dims == (4,)


def test_a_sequence_of_positions_of_any_length():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    layer = ExtractLayer(input=[(4, 3), (VARYING, 1)])
    np.testing.assert_array_equal(layer([table, [[3], [0], [-4]]]), table[[3, 0, -4]])


def test_position_outside_the_array_is_named():
    layer = ExtractLayer(input=[(4, 3), (2, 1)])
    with pytest.raises(NetError, match=r'ExtractLayer: port "Position" holds 4 \(example 0 of the batch\) for an axis of size 4; positions count from 0 \(negative from the end\) and must lie in -4 … 3\.'):
        layer([np.zeros((4, 3), np.float32), [[1], [4]]])


def test_positions_deeper_than_the_array():
    with pytest.raises(NetError, match=r'port "Position" has positions of 3 integers but port "Input" \(4, 3\) has only 2 axes to index'):
        ExtractLayer(input=[(4, 3), (2, 3)])


def test_input_must_name_both_ports():
    with pytest.raises(NetError, match=r"ExtractLayer: input= must give the inputs Input and Position"):
        ExtractLayer(input=[(4, 3)])


def test_the_output_follows_the_lengths_of_the_positions():
    # a table (the same for every example) and sequences of positions of different lengths
    from symnet import NetArrayLayer, NetGraph, NetInitialize, NetPort, NetReplacePart

    graph = NetGraph({"table": NetArrayLayer(dims=(4, 2)), "extract": ExtractLayer()}, [("table", NetPort("extract", "Input")), (NetPort("Position"), NetPort("extract", "Position"))], ports={"Position": (VARYING, 1)})
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    net = NetReplacePart(NetInitialize(graph), {("table", "Array"): table})
    short, long = net([[[1]], [[3], [0], [2]]])
    np.testing.assert_array_equal(short, table[[1]])
    np.testing.assert_array_equal(long, table[[3, 0, 2]])
