"""Helpers shared by every test module, as fixtures (test modules never import each other).

- ``check_layer``: the layer harness: inferred shape == actual shape, values == a reference,
  gradients pass ``torch.autograd.gradcheck`` in float64::

      def test_linear(check_layer):
          check_layer(LinearLayer(3, input=4), reference=lambda a, x: x @ a["Weights"].T + a["Biases"])

  ``reference(arrays, *inputs)`` gets the layer's arrays (float64 tensors) and batched float64
  inputs and returns the expected batched output(s), computed with torch or numpy directly.
- ``random_input``: random batched data for a layer's port (``random_input(layer, port, batch, generator)``).
- ``@pytest.mark.fashion_mnist``: the test needs the real Fashion-MNIST files and skips, with a
  reason, where they are absent (tests never download them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch

from symnet import NetError, NetInitialize, datasets
from symnet.engine import LeafModule
from symnet.layers.base import Layer


def _random_input(layer: Layer, port: str, batch: int, generator: torch.Generator, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    t = layer.types[port]
    assert t.fixed, f"{layer.kind}: port {port} has no fixed shape ({t}); give the test an input shape"
    shape = (batch, *t.dims)
    if t.element == "Integer":
        bound = t.bound or 5
        return torch.randint(0, bound, shape, generator=generator)
    return torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low


def _check_layer(
    layer: Layer,
    reference: Callable[..., Any] | None = None,
    *,
    inputs: Sequence[torch.Tensor] | None = None,
    batch: int = 3,
    seed: int = 0,
    gradcheck: bool = True,
    training: bool = False,
    atol: float = 1e-6,
    low: float = -1.0,
    high: float = 1.0,
) -> list[torch.Tensor]:
    """Run the three checks on ``layer``; returns the outputs for further assertions."""
    generator = torch.Generator().manual_seed(seed)
    if not layer.initialized:
        layer = NetInitialize(layer, random_seeding=seed)
    if inputs is None:
        inputs = [_random_input(layer, port, batch, generator, low, high) for port in layer.input_ports()]
    module = LeafModule(layer).double()
    module.train(training)
    outputs = module(*inputs)
    outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]

    # 1. inferred shapes equal actual shapes
    for port, value in zip(layer.output_ports(), outputs):
        inferred = layer.types[port]
        assert inferred.dims is not None, f"{layer.kind}: {port} was not inferred"
        actual = tuple(value.shape[1:])
        assert len(actual) == len(inferred.dims) and all(d == "Varying" or d == a for d, a in zip(inferred.dims, actual)), f"{layer.kind}: inferred {port} {inferred} but the output has shape {actual}"

    # 2. values equal the reference
    if reference is not None:
        arrays = {name: getattr(module, name).detach() for name in module.names}
        expected = reference(arrays, *[x.detach() for x in inputs])
        expected = list(expected) if isinstance(expected, tuple | list) else [expected]
        for value, want in zip(outputs, expected):
            want = torch.as_tensor(np.asarray(want) if not isinstance(want, torch.Tensor) else want, dtype=value.dtype)
            assert value.shape == want.shape, f"{layer.kind}: output shape {tuple(value.shape)} but reference {tuple(want.shape)}"
            assert torch.allclose(value, want, atol=atol, rtol=1e-5), f"{layer.kind}: values differ from the reference by {(value - want).abs().max():.3g}"

    # 3. gradients in float64
    if gradcheck:
        float_inputs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
        state = set(layer.state_array_names())
        arrays = {n: getattr(module, n).detach().clone().requires_grad_(n not in state) for n in module.names}
        learned = [n for n in module.names if n not in state]
        inputs_count = len(float_inputs)

        def function(*args: torch.Tensor) -> Any:
            current = {**arrays, **dict(zip(learned, args[inputs_count:]))}
            return layer.forward(current, *args[:inputs_count], training=training)

        check_args = (*float_inputs, *(arrays[n] for n in learned))
        if any(a.requires_grad for a in check_args):
            assert torch.autograd.gradcheck(function, check_args, eps=1e-6, atol=1e-5), f"{layer.kind}: gradcheck failed"
    return outputs


@pytest.fixture
def check_layer() -> Callable[..., list[torch.Tensor]]:
    """The layer harness (see the module docstring)."""
    return _check_layer


@pytest.fixture
def random_input() -> Callable[..., torch.Tensor]:
    """Random batched data for one port of a layer whose shape is fixed."""
    return _random_input


@functools.cache
def _fashion_mnist_available() -> bool:
    try:
        datasets.load("FashionMNIST", "test", download_missing=False)
    except NetError:
        return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fashion_mnist: the test needs the real Fashion-MNIST files (skipped where they are absent)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("fashion_mnist") and not _fashion_mnist_available():
        pytest.skip("Fashion-MNIST is not installed (/usr/share/datasets/fashion-mnist) or cached; tests do not download it")
