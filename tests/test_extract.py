"""NetExtract (symnet/extract.py): paths, copies, errors."""

import pytest

from symnet import LinearLayer, NetChain, NetError, NetExtract, NetInitialize


@pytest.fixture
def net():
    return NetInitialize(NetChain({"hidden": LinearLayer(5), "act": "Ramp", "block": NetChain([LinearLayer(3), "Tanh"])}, input=4))


def test_extract_paths(net):
    assert NetExtract(net, ["block", 0, "Weights"]).shape == (3, 5)
    assert NetExtract(net, ["block", -1]).function == "Tanh"
    assert NetExtract(net, "hidden").kind == "LinearLayer"
    extracted = NetExtract(net, ["hidden", "Weights"])
    extracted[:] = 0  # a copy: the net is unchanged
    assert NetExtract(net, ["hidden", "Weights"]).any()


def test_extract_errors(net):
    with pytest.raises(NetError, match=r"NetChain has no layer 'hiden'; its layers: \"hidden\", \"act\", \"block\"\. Did you mean \"hidden\"\?"):
        NetExtract(net, "hiden")
    with pytest.raises(NetError, match=r'NetExtract: NetChain/"hidden" \(LinearLayer\) has no array or layer \'Weight\'; its arrays: Weights, Biases\. Did you mean "Weights"\?'):
        NetExtract(net, ["hidden", "Weight"])
    with pytest.raises(NetError, match=r"NetChain has 3 layers; there is no layer 7"):
        NetExtract(net, 7)
    with pytest.raises(NetError, match=r'the array "Weights" of NetChain/0 \(LinearLayer\) is not initialized; call NetInitialize first'):
        NetExtract(NetChain([LinearLayer(2)], input=2), [0, "Weights"])


def test_functions_of_nets_refuse_other_values():
    from symnet import NetDrop

    with pytest.raises(NetError, match=r"NetExtract: the first argument must be a net \(a layer, NetChain or NetGraph\), not list \[1, 2\]\."):
        NetExtract([1, 2], "x")
    with pytest.raises(NetError, match=r"NetInitialize: the first argument must be a net .*, not int 3\."):
        NetInitialize(3)
    with pytest.raises(NetError, match=r"NetDrop: the first argument must be a net .*, not str 'a'\."):
        NetDrop("a", 1)
