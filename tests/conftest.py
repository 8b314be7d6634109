"""Helpers shared by every test module, as fixtures (test modules never import each other).

- ``check_layer``: the layer harness (for a layer or a container): inferred shape == actual
  shape, values == a reference, gradients pass ``torch.autograd.gradcheck`` in float64::

      def test_linear(check_layer):
          check_layer(LinearLayer(3, input=4), reference=lambda a, x: x @ a["Weights"].T + a["Biases"])

  ``reference(arrays, *inputs)`` gets the layer's arrays (float64 tensors, by name; in a
  container by path, "linear/Weights") and the batched float64 inputs, and returns the expected
  batched output(s), computed with torch or numpy directly. Every layer of symnet has entries
  in the layer table (tests/layers/table/), which runs this harness on each of them.
- ``random_input``: random batched data for a layer's port (``random_input(layer, port, batch, generator)``).
- ``serve_http``: starts local HTTP servers on 127.0.0.1 for the test (``serve_http(handler)``
  gives the base URL ``http://127.0.0.1:port``); they are shut down when the test ends.
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
from symnet.engine import CompiledNet
from symnet.layers.base import Layer


def _random_input(layer: Layer, port: str, batch: int, generator: torch.Generator, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    t = layer.types[port]
    assert t.fixed, f"{layer.kind}: port {port} has no fixed shape ({t}); give the test an input shape"
    shape = (batch, *t.dims)
    if t.element == "Integer":
        bound = t.bound or 5
        return torch.randint(0, bound, shape, generator=generator)
    return torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low


#: layers whose Jacobian (input and learned elements × output elements) has at most this many
#: entries get the full gradcheck; 161 of the table's 182 entries did when this was set
FULL_GRADCHECK_ENTRIES = 20_000


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple | list) else [value]


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
    """Run the three checks on ``layer`` (a layer or a container); returns the outputs in float64."""
    generator = torch.Generator().manual_seed(seed)
    if not layer.initialized:
        layer = NetInitialize(layer, random_seeding=seed)
    if inputs is None:
        inputs = [_random_input(layer, port, batch, generator, low, high) for port in layer.input_ports()]
    # The compiled module runs leaves and containers alike (and layers without inputs, such as
    # NetArrayLayer, whose output it repeats for each example).
    module = CompiledNet(layer).double()
    module.train(training)
    outputs = _as_list(module(*inputs))

    # 1. inferred shapes equal actual shapes
    for port, value in zip(layer.output_ports(), outputs):
        inferred = layer.types[port]
        assert inferred.dims is not None, f"{layer.kind}: {port} was not inferred"
        actual = tuple(value.shape[1:])
        assert len(actual) == len(inferred.dims) and all(d == "Varying" or d == a for d, a in zip(inferred.dims, actual)), f"{layer.kind}: inferred {port} {inferred} but the output has shape {actual}"

    # 2. values equal the reference; arrays are named "Weights" for a layer, "linear/Weights" in a container
    if reference is not None:
        arrays = {"/".join((*path, name)): value for path, named in module.leaf_arrays().items() for name, value in named.items()}
        expected = _as_list(reference(arrays, *[x.detach() for x in inputs]))
        assert len(expected) == len(outputs), f"{layer.kind}: {len(outputs)} outputs but the reference gives {len(expected)}"
        for value, want in zip(outputs, expected):
            want = torch.as_tensor(np.asarray(want) if not isinstance(want, torch.Tensor) else want, dtype=value.dtype)
            assert value.shape == want.shape, f"{layer.kind}: output shape {tuple(value.shape)} but reference {tuple(want.shape)}"
            assert torch.allclose(value, want, atol=atol, rtol=1e-5), f"{layer.kind}: values differ from the reference by {(value - want).abs().max():.3g}"

    # 3. gradients in float64, with respect to the float inputs and the learned arrays (not the
    # state arrays, such as batch normalization's moving statistics, which are buffers)
    if gradcheck:
        float_inputs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
        learned = {name: value.detach().clone().requires_grad_() for name, value in module.named_parameters()}
        count = len(float_inputs)

        def function(*args: torch.Tensor) -> Any:
            return torch.func.functional_call(module, dict(zip(learned, args[count:])), tuple(args[:count]))

        check_args = (*float_inputs, *learned.values())
        if any(a.requires_grad for a in check_args):
            # The full check builds the whole Jacobian (two evaluations per input element, a
            # backward pass per output element). Past FULL_GRADCHECK_ENTRIES (the larger
            # convolutions and paddings), compare a random projection of it instead (torch's
            # fast_mode): it still catches a gradient wrong by more than a few percent, in a
            # fraction of the time.
            entries = sum(a.numel() for a in check_args if a.requires_grad) * sum(value.numel() for value in outputs)
            fast = entries > FULL_GRADCHECK_ENTRIES
            assert torch.autograd.gradcheck(function, check_args, eps=1e-6, atol=1e-5, fast_mode=fast), f"{layer.kind}: gradcheck failed"
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


@pytest.fixture
def serve_http():
    """Start HTTP servers on 127.0.0.1 (ephemeral ports) for one test; each call takes a request
    handler class and returns the base URL without a trailing slash."""
    import http.server
    import threading

    servers = []

    def start(handler) -> str:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
