"""ONNX operators on images → symnet layers: Conv, ConvTranspose, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, BatchNormalization, Pad and Resize. Each needs the batch
first, as (batch, channels, …).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..types import Scaled
from .onnx_values import Value, describe, layer_class


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


#: ONNX Resize's (mode, coordinate_transformation_mode) → ResizeLayer's method: the forms torch
#: exports for F.interpolate / nn.Upsample ("nearest"; "linear" and "bilinear" without align_corners)
RESIZE_METHODS = {("nearest", "asymmetric"): "Nearest", ("linear", "half_pixel"): "Bilinear", ("linear", "pytorch_half_pixel"): "Bilinear"}


def resize(importer: Any, node: Any, attributes: dict[str, Any]) -> None:
    value = _image(importer, node)
    fail = importer.failer(node)
    # opset 10's Resize has only a mode: positions map as "asymmetric", nearest rounds down
    defaults = ("asymmetric", "floor") if importer.opset < 11 else ("half_pixel", "round_prefer_floor")
    mode, transform = attributes.get("mode", "nearest"), attributes.get("coordinate_transformation_mode", defaults[0])
    nearest = attributes.get("nearest_mode", defaults[1])
    method = RESIZE_METHODS.get((mode, transform))
    if method is None or (mode == "nearest" and nearest != "floor"):
        rounding = f', nearest_mode "{nearest}"' if mode == "nearest" else ""
        raise fail(f'mode "{mode}" with coordinate_transformation_mode "{transform}"{rounding} is not supported; symnet imports torch\'s "nearest" (asymmetric, floor) '
                   'and "linear"/"bilinear" with align_corners=False (half_pixel). Fix: export with one of those modes.')
    if attributes.get("antialias", 0) or attributes.get("axes") is not None or attributes.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise fail("antialias, axes and keep_aspect_ratio_policy are not supported.")
    inputs = list(node.input) + [""] * 4
    # opset 10 has Resize(X, scales); from opset 11 on Resize(X, roi, scales, sizes)
    names = (inputs[1], "") if importer.opset < 11 else (inputs[2], inputs[3])
    if any(name and importer.constant(name) is None for name in names):
        raise fail("its scales or sizes are computed from the data; symnet resizes to sizes fixed in the net.")
    scales, sizes = (importer.constant(name) if name else None for name in names)
    spatial = value.dims[1:]
    if sizes is not None and sizes.size:
        target = [int(d) for d in sizes.reshape(-1)]
        if len(target) != len(spatial) + 2 or target[1] != value.dims[0]:
            raise fail(f"sizes {describe(target)} must keep the batch and the {value.dims[0]} channels of the input {describe(value.onnx_shape())}.")
        out: list[Any] = target[2:]
    elif scales is not None and scales.size:
        factors = [float(f) for f in scales.reshape(-1)]
        if len(factors) != len(spatial) + 2 or factors[:2] != [1.0, 1.0]:
            raise fail(f"scales {factors} must be 1 on the batch and channel axes and given for each of the {len(spatial)} spatial axes.")
        out = []
        for size, factor in zip(spatial, factors[2:]):
            if not isinstance(size, int):
                out.append(Scaled(factor))
                continue
            # ONNX maps positions with the scale, symnet with size ratios: the same when the size is whole
            if abs(size * factor - round(size * factor)) > 1e-6:
                raise fail(f"the scale {factor} of an axis of size {size} gives {size * factor:g} positions; symnet resizes to whole sizes. Fix: export with size= instead of scale_factor=.")
            out.append(round(size * factor))
    else:
        raise fail("it has neither scales nor sizes.")
    if transform == "pytorch_half_pixel" and 1 in out:
        raise fail("pytorch_half_pixel resizing to a size of 1 takes the first element, which symnet's ResizeLayer does not.")
    layer = importer.build(node, layer_class("ResizeLayer"), tuple(out), method=method, input=value.type)
    importer.set(node, importer.graph.add(layer, [value]))


HANDLERS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": pool, "AveragePool": pool, "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool, "BatchNormalization": batch_norm, "Pad": pad, "Resize": resize,
}

__all__ = ["HANDLERS"]
