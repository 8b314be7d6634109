"""NetInitialize (symnet/initialize.py): seeds, methods, keeping existing arrays."""

import numpy as np
import pytest

from symnet import (
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetInitialize,
)


def test_initialization_is_reproducible_and_keeps_existing_arrays():
    net = NetChain([LinearLayer(3), "Tanh", LinearLayer(2)], input=4)
    a, b = NetInitialize(net, random_seeding=3), NetInitialize(net, random_seeding=3)
    assert np.array_equal(NetExtract(a, [0, "Weights"]), NetExtract(b, [0, "Weights"]))
    c = NetInitialize(a, random_seeding=4)  # already initialized: unchanged
    assert np.array_equal(NetExtract(a, [0, "Weights"]), NetExtract(c, [0, "Weights"]))
    from symnet import All

    d = NetInitialize(a, All, random_seeding=4)
    assert not np.array_equal(NetExtract(a, [0, "Weights"]), NetExtract(d, [0, "Weights"]))


@pytest.mark.parametrize("method", ["Kaiming", "Xavier", "Orthogonal", "Random"])
def test_initialization_methods(method):
    net = NetInitialize(NetChain([LinearLayer(64)], input=32), method=method)
    w = NetExtract(net, [0, "Weights"])
    assert np.isfinite(w).all() and w.std() > 0
    if method == "Orthogonal":
        np.testing.assert_allclose(w.T @ w, np.eye(32), atol=1e-5)
    if method == "Kaiming":
        assert abs(w.std() - np.sqrt(2 / 32)) < 0.03


def test_bad_initialization_method():
    with pytest.raises(NetError, match=r'NetInitialize: method must be one of "Kaiming", "Xavier", "Orthogonal", "Random"; received "Kaimin"\. Did you mean "Kaiming"\?'):
        NetInitialize(NetChain([2], input=2), method="Kaimin")
