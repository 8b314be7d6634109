"""Training kernels: convolutions that torch's CPU path (oneDNN) computes slowly, as matrix products.

NetTrain's runner compiles the plan returned by :func:`training_kernels`: the same steps over the
same wires, and the same leaves by path (so arrays, checkpoints and the trained net are
untouched); a leaf whose shapes and options fit a kernel below is a copy of the layer that
computes its forward pass (and so its gradients) with that kernel. Each kernel gives torch's
values and gradients up to float rounding (tests/train/test_kernels.py compares them with
``F.conv2d`` and runs ``gradcheck`` in float64). Only where measured faster: float32 on the
CPU, without autocast ("Mixed") or ``torch.compile``, 2D, stride 1, dilation 1, groups 1, no padding.

- :class:`ConvolutionByMatmul` (small images, at most ``SMALL_OUTPUT`` output positions): the
  forward pass, the input gradient and the weight gradient as one matrix product each, over the
  image's patches (im2col, laid out channels-last). The notebook CNN's third convolution (32→64
  channels, 3×3 on 4×4) is such: oneDNN's backward ran it at about 49 GFLOP/s.

Measured and not kept (batch 128, 1 thread, CPU time, interleaved with torch's own): the first
convolution's weight gradient (one input channel) as one matrix product of the 25 shifted images
with the output gradient, 1.10-1.16 of oneDNN's time (the product, with a reduction over 73,728
rows, is bound by memory as oneDNN is); a 2×2 max pooling from torch operations (three maxima
of strided quarters forward, masks backward) or with a scatter into a kept zero buffer instead of
the zero fill, all slower than torch's pooling, whose backward is two passes over memory already;
splitting the batch into chunks so that convolution and pooling stay in cache, 1.09-1.28.

``ENABLED = False`` trains with torch's own kernels (the tests and bench/bench_speed.py compare).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import replace
from typing import Any

import torch

from ..engine import Plan
from ..layers.base import Layer

ENABLED = True
#: the largest output image (height × width) ConvolutionByMatmul takes. Forward + backward, batch
#: 128, 1 thread (CPU time, interleaved with oneDNN's): 32→64 channels 3×3 with a 2×2 output 0.60
#: of oneDNN's time, with 3×3 0.85, 4×4 1.08, and 8×8 (the notebook's second convolution, 32→32
#: 5×5) 2.6: oneDNN wins from 4×4 on
SMALL_OUTPUT = 9

NAMES = {"ConvolutionByMatmul": "convolution by matrix products (small images)"}


def _patches(x: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """(batch · output positions, kh · kw · channels): each output position's input patch, channels last."""
    n, c, _, _ = x.shape
    patches = x.permute(0, 2, 3, 1).unfold(1, kernel[0], 1).unfold(2, kernel[1], 1)  # (n, ho, wo, c, kh, kw), a view
    return patches.permute(0, 1, 2, 4, 5, 3).reshape(-1, kernel[0] * kernel[1] * c)


class ConvolutionByMatmul(torch.autograd.Function):
    """``F.conv2d(x, weight, bias)`` (stride 1, no padding) as matrix products over im2col patches."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        n, _, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        patches = _patches(x, (kh, kw))
        # weights in the patches' order (kh, kw, channels): a view when the weights are channels-last
        matrix = weight.permute(0, 2, 3, 1).reshape(out_channels, -1)
        y = torch.mm(patches, matrix.t()) if bias is None else torch.addmm(bias, patches, matrix.t())
        ctx.save_for_backward(patches, matrix)
        ctx.geometry = (x.shape, (kh, kw), bias is not None)
        # rows are (batch, y, x) and columns channels: the output is channels-last
        return y.view(n, h - kh + 1, w - kw + 1, out_channels).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        patches, matrix = ctx.saved_tensors
        (n, c, h, w), (kh, kw), has_bias = ctx.geometry
        out_channels = matrix.shape[0]
        rows = grad.permute(0, 2, 3, 1).reshape(-1, out_channels)  # a view for a channels-last gradient
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            ho, wo = h - kh + 1, w - kw + 1
            patch_grads = torch.mm(rows, matrix).view(n, ho * wo * kh * kw, c)
            # col2im: every patch element's gradient added to the input position it came from, in
            # one index_add (half the time of kh·kw shifted adds at the notebook's sizes)
            positions = torch.arange(h * w, device=grad.device).view(h, w).unfold(0, kh, 1).unfold(1, kw, 1).reshape(-1)
            grad_x = torch.zeros((n, h * w, c), dtype=grad.dtype, device=grad.device).index_add_(1, positions, patch_grads)
            grad_x = grad_x.view(n, h, w, c).permute(0, 3, 1, 2)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.mm(rows.t(), patches).view(out_channels, kh, kw, c).permute(0, 3, 1, 2)
        if has_bias and ctx.needs_input_grad[2]:
            grad_bias = rows.sum(0)
        return grad_x, grad_weight, grad_bias


def _all(value: Any, expected: int) -> bool:
    """Whether an int or a (nested) tuple of ints is ``expected`` everywhere."""
    if isinstance(value, (tuple, list)):
        return all(_all(v, expected) for v in value)
    return value == expected


def kernel_for(layer: Layer) -> str | None:
    """The name of the kernel that trains ``layer`` faster, or None (torch's own)."""
    if layer.kind != "ConvolutionLayer" or layer.uses_lengths:
        return None
    types = layer.types
    x, y, weights = types["Input"], types["Output"], types["Weights"]  # type: ignore[index]
    if x.rank != 3 or weights.rank != 4 or not (x.fixed and y.fixed):
        return None
    stride, dilation, groups, padding = (getattr(layer, name) for name in ("stride", "dilation", "groups", "padding"))
    if not (_all(stride, 1) and _all(dilation, 1) and groups == 1 and not isinstance(padding, str) and _all(padding, 0)):
        return None
    if y.dims[1] * y.dims[2] <= SMALL_OUTPUT:
        return "ConvolutionByMatmul"
    return None


_FUNCTIONS = {"ConvolutionByMatmul": ConvolutionByMatmul}


def _with_kernel(layer: Layer, name: str) -> Layer:
    """A copy of ``layer`` (same hyperparameters, types and arrays) whose forward pass is the kernel's."""
    function = _FUNCTIONS[name]

    def forward(arrays: Any, x: torch.Tensor, training: bool = False) -> torch.Tensor:
        return function.apply(x, arrays["Weights"], arrays.get("Biases"))

    fast = copy.copy(layer)
    # an instance attribute in front of the class's forward: LeafModule calls layer.forward
    object.__setattr__(fast, "forward", forward)
    return fast


def training_kernels(plan: Plan, *, device: str, dtype: torch.dtype, autocast: bool, compiled: bool) -> tuple[Plan, Counter[str]]:
    """(``plan`` with each leaf a kernel fits computed by that kernel, how many leaves per kernel)."""
    used: Counter[str] = Counter()
    if not ENABLED or device != "cpu" or dtype != torch.float32 or autocast or compiled:
        return plan, used
    leaves = list(plan.leaves)
    for index, (path, layer) in enumerate(leaves):
        if index in plan.members:
            continue
        name = kernel_for(layer)
        if name is not None:
            leaves[index] = (path, _with_kernel(layer, name))
            used[name] += 1
    if not used:
        return plan, used
    return replace(plan, leaves=leaves), used


def describe(used: Counter[str]) -> str:
    """AutomaticChoices' text for the kernels used."""
    return "; ".join(f"{count} convolution(s): {NAMES[name]}" for name, count in sorted(used.items()))
