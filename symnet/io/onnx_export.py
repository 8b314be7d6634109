"""Export a net to ONNX through ``torch.onnx.export`` (the TorchScript exporter).

The file holds the net's numeric computation: encoders and decoders are not part of it, so
the ONNX model takes and returns the tensors the net's ports carry, with a batch axis first
(dynamic). Needs the ``onnx`` package.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import torch

from ..engine import cached_module
from ..errors import NetError
from ..layers.base import Layer
from .native import write_atomically

DEFAULT_OPSET = 17


def _example_input(net: Layer, port: str) -> torch.Tensor:
    t = net.types[port]  # type: ignore[index]
    if t.dims is None or not all(isinstance(d, int) or d == "Varying" for d in t.dims):
        raise NetError(f'Export: the input "{port}" has the shape {t.shape_str()}, which is not fully known; give the net an input shape before exporting to ONNX.')
    dims = tuple(d if isinstance(d, int) else 3 for d in t.dims)
    if t.element == "Integer":
        return torch.zeros((2, *dims), dtype=torch.int64)
    return torch.zeros((2, *dims))


def export_onnx(path: str | os.PathLike[str], net: Layer, *, opset_version: int = DEFAULT_OPSET) -> Path:
    """Write ``net`` as an ONNX model with inputs and outputs named by the net's ports."""
    try:
        import onnx  # noqa: F401  (torch.onnx needs it)
    except ImportError:
        raise NetError('Export: writing ONNX needs the "onnx" package: pip install onnx.') from None
    if not isinstance(net, Layer):
        raise NetError(f"Export: expected a net, not {type(net).__name__}.")
    module = cached_module(net)
    inputs = tuple(_example_input(net, port) for port in net.input_ports())
    input_names = list(net.input_ports())
    output_names = list(net.output_ports())
    dynamic_axes: dict[str, dict[int, str]] = {name: {0: "batch"} for name in (*input_names, *output_names)}
    for port in input_names:
        for axis, d in enumerate(net.types[port].dims or ()):  # type: ignore[index]
            if d == "Varying":
                dynamic_axes[port][axis + 1] = f"{port}_length"
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, inputs, buffer, dynamo=False, input_names=input_names, output_names=output_names,
                dynamic_axes=dynamic_axes, opset_version=opset_version, do_constant_folding=True,
            )
    except Exception as error:  # the exporter's own errors name torch operators, not layers
        raise NetError(f"Export: ONNX export of {net.kind} failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None
    write_atomically(path, buffer.getvalue())
    return Path(path)
