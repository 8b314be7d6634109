"""ONNX operators on images → symnet layers: Conv, ConvTranspose, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, BatchNormalization and Pad. Each needs the batch first, as
(batch, channels, …).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .onnx_values import Value, layer_class


def _image(importer: Any, node: Any) -> Value:
    value = importer.value(node, node.input[0])
    if not value.batch_first:
        raise importer.fail(node, f"its input has the batch on axis {value.batch_axis}; {node.op_type} needs (batch, channels, …).")
    return value


def _padding(importer: Any, node: Any, attributes: dict[str, Any], rank: int) -> Any:
    if attributes.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise importer.fail(node, "auto_pad SAME_UPPER/SAME_LOWER is not supported; export with explicit pads.")
    pads = attributes.get("pads", [0] * (2 * rank))
    return tuple((int(pads[i]), int(pads[i + rank])) for i in range(rank))


def conv(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = _image(importer, node)
    weights = importer.constant(node.input[1])
    if weights is None:
        raise importer.fail(node, "the weights must be a constant.")
    rank = weights.ndim - 2
    arrays = {"Weights": weights.astype(np.float32)}
    if len(node.input) > 2 and node.input[2]:
        arrays["Biases"] = importer.constant(node.input[2]).astype(np.float32)
    layer = importer.build(
        node, layer_class("ConvolutionLayer"), weights.shape[0], tuple(weights.shape[2:]), input=value.type, stride=tuple(attributes.get("strides", [1] * rank)),
        padding=_padding(importer, node, attributes, rank), dilation=tuple(attributes.get("dilations", [1] * rank)),
        groups=attributes.get("group", 1), biases="Biases" in arrays, arrays=arrays,
    )
    importer.set(node, importer.graph.add(layer, [value]))


def conv_transpose(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = _image(importer, node)
    weights = importer.constant(node.input[1])
    if weights is None or "output_shape" in attributes:
        raise importer.fail(node, "symnet imports ConvTranspose with constant weights and explicit pads (no output_shape).")
    rank = weights.ndim - 2
    groups = attributes.get("group", 1)
    padding = _padding(importer, node, attributes, rank)
    # output_padding adds rows at the end: the same as cropping that many fewer
    extra = attributes.get("output_padding", [0] * rank)
    padding = tuple((before, after - int(more)) for (before, after), more in zip(padding, extra))
    if any(after < 0 for _, after in padding):
        raise importer.fail(node, f"output_padding {extra} exceeds the padding; symnet's DeconvolutionLayer crops, it does not grow.")
    arrays = {"Weights": weights.astype(np.float32)}
    if len(node.input) > 2 and node.input[2]:
        arrays["Biases"] = importer.constant(node.input[2]).astype(np.float32)
    layer = importer.build(
        node, layer_class("DeconvolutionLayer"), weights.shape[1] * groups, tuple(weights.shape[2:]), input=value.type, stride=tuple(attributes.get("strides", [1] * rank)),
        padding=padding, dilation=tuple(attributes.get("dilations", [1] * rank)), groups=groups, biases="Biases" in arrays, arrays=arrays,
    )
    importer.set(node, importer.graph.add(layer, [value]))


def pool(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = _image(importer, node)
    kernel = tuple(attributes["kernel_shape"])
    rank = len(kernel)
    if attributes.get("ceil_mode", 0) or any(d != 1 for d in attributes.get("dilations", [1] * rank)):
        raise importer.fail(node, "ceil_mode and dilated pooling are not supported.")
    if node.op_type == "AveragePool" and any(attributes.get("pads", [0])) and not attributes.get("count_include_pad", 0):
        raise importer.fail(node, "average pooling over padding that excludes the padded values is not supported.")
    layer = importer.build(
        node, layer_class("PoolingLayer"), kernel, stride=tuple(attributes.get("strides", kernel)), function="Max" if node.op_type == "MaxPool" else "Mean",
        padding=_padding(importer, node, attributes, rank), input=value.type,
    )
    importer.set(node, importer.graph.add(layer, [value]))


#: ONNX Pad modes → PaddingLayer methods
PAD_MODES = {"constant": "Fixed", "reflect": "Reflected", "wrap": "Periodic"}


def pad(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = importer.value(node, node.input[0])
    pads = attributes.get("pads")
    if pads is None and len(node.input) > 1:
        pads = importer.constant(node.input[1])
    fill = importer.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else np.array(attributes.get("value", 0.0))
    axes = importer.constant(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    mode = attributes.get("mode", "constant")
    if pads is None or fill is None or mode not in PAD_MODES:
        raise importer.fail(node, f'symnet imports Pad with constant pads in mode "constant", "reflect" or "wrap", not "{mode}".')
    rank = value.onnx_rank
    axes = [int(a) % rank for a in (axes if axes is not None else range(rank))]
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    pairs = {axis: (pads[i], pads[i + len(axes)]) for i, axis in enumerate(axes)}
    fail = importer.failer(node)
    if pairs.get(value.batch_axis, (0, 0)) != (0, 0) or value.merged:
        raise fail("it pads the batch axis.")
    padding = [pairs.get(axis, (0, 0)) for axis in range(rank) if axis != value.batch_axis]
    layer = importer.build(node, layer_class("PaddingLayer"), padding, method=PAD_MODES[mode], padding_value=float(np.asarray(fill).reshape(-1)[0]) if np.asarray(fill).size else 0.0, input=value.type)
    importer.set(node, importer.graph.add(layer, [value], like=value))


def global_pool(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = _image(importer, node)
    function = "Mean" if node.op_type == "GlobalAveragePool" else "Max"
    pooled = importer.graph.add(importer.build(node, layer_class("AggregationLayer"), function, input=value.type), [value])
    # ONNX keeps the pooled axes with size 1: a view, so a following Flatten costs no layer
    importer.set(node, replace(pooled, dims=(*pooled.dims, *(1,) * (len(value.dims) - 1))))


def batch_norm(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = _image(importer, node)
    scale, bias, mean, variance = (importer.constant(name) for name in node.input[1:5])
    if any(a is None for a in (scale, bias, mean, variance)):
        raise importer.fail(node, "its scale, bias, mean and variance must be constants.")
    arrays = {"Scaling": scale, "Biases": bias, "MovingMean": mean, "MovingVariance": variance}
    layer = importer.build(node, layer_class("BatchNormalizationLayer"), epsilon=float(attributes.get("epsilon", 1e-5)), input=value.type, arrays={k: v.astype(np.float32) for k, v in arrays.items()})
    importer.set(node, importer.graph.add(layer, [value]))


HANDLERS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": pool, "AveragePool": pool, "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool, "BatchNormalization": batch_norm, "Pad": pad,
}

__all__ = ["HANDLERS"]
