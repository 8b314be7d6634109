"""FunctionLayer checks what the function returns."""

import numpy as np
import pytest

from symnet import FunctionLayer, LinearLayer, NetChain, NetError, NetInitialize


def test_wrong_declared_output_is_named():
    net = NetInitialize(NetChain([FunctionLayer(lambda x: x.sum(-1), input=(2, 3)), LinearLayer(2)]))
    with pytest.raises(NetError, match=r"FunctionLayer: the function .* returned shape \(2,\) for each of 1 examples \(a batch of shape \(1, 2\)\) but the layer's output is declared \(2, 3\); give output= the shape it computes\."):
        net(np.ones((2, 3)))


def test_numpy_result_is_refused():
    with pytest.raises(NetError, match=r"FunctionLayer: the function .* returned a ndarray, not a torch tensor"):
        FunctionLayer(lambda x: np.ones(3), input=2)([1.0, 2.0])


def test_declared_output_works():
    layer = FunctionLayer(lambda x: x.sum(-1), input=(2, 3), output=(2,))
    assert layer(np.ones((2, 3))).tolist() == [3.0, 3.0]
