"""NetInformation and the display of nets (symnet/display.py)."""

import numpy as np
import pytest

from symnet import LinearLayer, NetChain, NetError, NetExtract, NetInformation, NetInitialize


@pytest.fixture
def net():
    return NetInitialize(NetChain({"hidden": LinearLayer(5), "act": "Ramp", "block": NetChain([LinearLayer(3), "Tanh"])}, input=4))


def test_information_properties(net):
    assert NetInformation(net, "LayersCount") == 4
    assert NetInformation(net, "LayerTypeCounts") == {"LinearLayer": 2, "ElementwiseLayer": 2}
    assert NetInformation(net, "ArraysTotalElementCount") == 5 * 4 + 5 + 3 * 5 + 3
    assert NetInformation(net, "ArraysTotalSize") == 4 * (5 * 4 + 5 + 3 * 5 + 3)
    assert NetInformation(net, "ArraysDimensions")[("block", "0", "Weights")] == (3, 5)
    assert NetInformation(net, "InputPorts")["Input"].dims == (4,)
    assert NetInformation(net, "OutputPorts")["Output"].dims == (3,)
    arrays = NetInformation(net, "Arrays")
    np.testing.assert_array_equal(arrays[("hidden", "Weights")], NetExtract(net, ["hidden", "Weights"]))
    several = NetInformation(net, ["LayersCount", "InputPorts"])
    assert set(several) == {"LayersCount", "InputPorts"}


def test_unknown_property_suggests(net):
    with pytest.raises(NetError, match=r'NetInformation: unknown property "LayerCount"; the properties are .*\. Did you mean "LayersCount"\?'):
        NetInformation(net, "LayerCount")


def test_display_shows_layers_shapes_and_state():
    net = NetChain([LinearLayer(30), "Tanh", LinearLayer(3)], input=2)
    text = repr(net)
    assert "NetChain  <3 layers, uninitialized, 183 parameters>" in text
    assert "LinearLayer(30)" in text and "vector of size 30" in text and "(uninitialized)" in text
    assert "<table" in net._repr_html_()
    assert "initialized" in repr(NetInitialize(net))
