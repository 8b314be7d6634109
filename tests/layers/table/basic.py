"""Entries of symnet/layers/basic.py: Linear, Elementwise, Threading, Softmax, Dropout, NetArray."""

import numpy as np
import torch
import torch.nn.functional as F

from symnet import DropoutLayer, ElementwiseLayer, LinearLayer, NetArrayLayer, SoftmaxLayer, ThreadingLayer
from symnet.layers.basic import ACTIVATIONS

from .entry import Entry

#: a torch reference for every named activation (a new activation without one fails on import)
ACTIVATION_REFERENCES = {
    "Ramp": torch.relu, "ReLU": torch.relu, "Tanh": torch.tanh, "LogisticSigmoid": torch.sigmoid, "Sigmoid": torch.sigmoid,
    "GELU": F.gelu, "ELU": F.elu, "SELU": torch.selu, "Swish": lambda x: x * torch.sigmoid(x), "SiLU": lambda x: x * torch.sigmoid(x),
    "Softplus": lambda x: torch.log1p(torch.exp(x)), "Softsign": lambda x: x / (1 + x.abs()), "HardTanh": lambda x: x.clamp(-1, 1),
    "HardSigmoid": lambda x: ((x + 1) / 2).clamp(0, 1), "HardSwish": lambda x: x * (x + 3).clamp(0, 6) / 6,
    "RectifiedLinearUnit": torch.relu, "ExponentialLinearUnit": F.elu, "ScaledExponentialLinearUnit": torch.selu,
    "GaussianErrorLinearUnit": F.gelu, "SoftSign": lambda x: x / (1 + x.abs()), "Mish": lambda x: x * torch.tanh(F.softplus(x)),
    "Sin": torch.sin, "Cos": torch.cos, "Exp": torch.exp, "Log": torch.log, "Sqrt": torch.sqrt, "Abs": torch.abs,
    "Square": lambda x: x * x, "Erf": torch.erf, "Identity": lambda x: x, "ReLU6": lambda x: x.clamp(0, 6),
}


def _activation(name: str) -> Entry:
    # Keep away from kinks (Ramp and Abs at 0, HardTanh at ±1) so finite differences are valid;
    # Log and Sqrt need positive inputs.
    low, high = (0.5, 2.0) if name in ("Log", "Sqrt") else (0.1, 0.9)
    return Entry(lambda: ElementwiseLayer(name, input=(2, 3)), lambda a, x: ACTIVATION_REFERENCES[name](x), name, low=low, high=high)


THREADING = {
    "Plus": lambda a, b: a + b,
    "Times": lambda a, b: a * b,
    "Subtract": lambda a, b: a - b,
    "Divide": lambda a, b: a / b,
    "Max": torch.maximum,
    "Min": torch.minimum,
    "x1 * x2 + sin(x1)": lambda a, b: a * b + torch.sin(a),
}


def _threading(function: str) -> Entry:
    label = function if function.isalpha() else "expression"
    return Entry(lambda: ThreadingLayer(function, input=[(2, 3), (2, 3)]), lambda arrays, a, b: THREADING[function](a, b), label, low=0.5, high=1.5)


ENTRIES = [
    Entry(lambda: LinearLayer(3, input=4), lambda a, x: F.linear(x, a["Weights"], a["Biases"]), "vector"),
    Entry(lambda: LinearLayer((2, 3), input=(4, 5)), lambda a, x: F.linear(x.reshape(len(x), -1), a["Weights"], a["Biases"]).reshape(-1, 2, 3), "tensor"),
    Entry(lambda: LinearLayer((), input=3, biases=False), lambda a, x: (x @ a["Weights"].T).reshape(-1), "scalar-no-biases"),
    *(_activation(name) for name in sorted(ACTIVATIONS)),
    Entry(lambda: ElementwiseLayer("x**2 + sin(x)", input=4), lambda a, x: x**2 + torch.sin(x), "expression"),
    # clip has kinks: no gradcheck
    Entry(lambda: ElementwiseLayer("clip(2*x - 1, -0.5, 0.5) + exp(-x) * pi", input=4), lambda a, x: torch.clamp(2 * x - 1, -0.5, 0.5) + torch.exp(-x) * np.pi, "clip", gradcheck=False),
    *(_threading(function) for function in THREADING),
    Entry(lambda: ThreadingLayer("Plus", input=[(2, 3), (3,), (2, 1)]), lambda arrays, a, b, c: a + b[:, None, :] + c, "broadcast"),
    Entry(lambda: SoftmaxLayer(input=5), lambda a, x: torch.softmax(x, -1), "vector"),
    Entry(lambda: SoftmaxLayer(0, input=(3, 4)), lambda a, x: torch.softmax(x, 1), "level0"),
    Entry(lambda: DropoutLayer(0.25, input=4), lambda a, x: x, "evaluation"),  # training mode: tests/layers/test_basic.py
    Entry(lambda: NetArrayLayer((2, 3)), lambda a: a["Array"][None]),
]
