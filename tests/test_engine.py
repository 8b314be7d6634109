"""Compilation (symnet/engine.py): one cached module per net, and the compiled module is a copy."""

import numpy as np
import pytest
import torch

import symnet.engine as engine
from symnet import (
    LinearLayer,
    NetChain,
    NetInitialize,
)


@pytest.fixture
def net():
    return NetInitialize(NetChain({"lin": LinearLayer(3), "act": "Tanh", "out": LinearLayer(2)}, input=4), random_seeding=0)


def test_compiled_once_and_cached(net, monkeypatch):
    built = []
    original = engine.CompiledNet.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(engine.CompiledNet, "__init__", counting)
    fresh = NetInitialize(NetChain([LinearLayer(2)], input=2))
    fresh([1.0, 2.0])
    fresh([3.0, 4.0])
    fresh(np.zeros((10, 2)))
    assert len(built) == 1
    assert engine.cached_module(fresh) is engine.cached_module(fresh)


def test_compiled_module_is_a_copy(net):
    from symnet import compiled

    x = np.ones(4, dtype=np.float32)
    before = net(x)
    module = compiled(net)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    module(torch.as_tensor(x)[None]).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(net(x), before)
    assert not np.allclose(module(torch.as_tensor(x)[None]).detach().numpy()[0], before)
