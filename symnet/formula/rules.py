"""The symbolic rule of every layer kind that has a formula: one table, as an exporter has.

A port's value is a numpy object array of sympy expressions with the port's shape (no batch
axis). A rule takes the layer, its arrays (object arrays of numbers or symbols) and its input
values and returns one value per output port. Beside it, a rule's ``terms`` function estimates
the size (sympy tree nodes) of one output element from the sizes of one input element, so that
a formula too large to expand is refused before it is built.

Layers that only select, move, pad, resize or average elements are affine maps of their inputs,
and convolutions are bilinear in their input and weights: their formulas are read from the
layer's own torch forward (its Jacobian, exact in float64), so they cannot disagree with it.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import sympy
import torch

from ..errors import NetError
from ..layers.base import Layer
from ..layers.expressions import parse_expression

Value = np.ndarray  # an object array of sympy expressions

#: a Jacobian with more entries than this is not built (an affine layer on a large input)
MAX_JACOBIAN_ENTRIES = 20_000_000


def elementwise(function: Callable[..., Any], *values: Value) -> Value:
    """Apply a scalar function to every element (numpy broadcasting between several values)."""
    return np.vectorize(function, otypes=[object])(*values)


def number(value: float) -> sympy.Expr:
    """A float as sympy: exact when it is a small fraction (1, 1/9, 1/4), else a Float."""
    fraction = Fraction(value).limit_denominator(1000)
    if abs(float(fraction) - value) <= 1e-12 * max(1.0, abs(value)):
        return sympy.Rational(fraction.numerator, fraction.denominator)
    return sympy.Float(value)


# -- elementwise functions ------------------------------------------------------------------------
def _sigmoid(x: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-x))


def _clip(x: sympy.Expr, low: Any, high: Any) -> sympy.Expr:
    return sympy.Min(sympy.Max(x, low), high)


def _elu(x: sympy.Expr, alpha: Any = 1) -> sympy.Expr:
    return sympy.Piecewise((x, x > 0), (alpha * (sympy.exp(x) - 1), True))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805

#: ElementwiseLayer's named activations, as sympy functions
ACTIVATIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "Ramp": lambda x: sympy.Max(0, x),
    "Tanh": sympy.tanh,
    "LogisticSigmoid": _sigmoid,
    "GELU": lambda x: x / 2 * (1 + sympy.erf(x / sympy.sqrt(2))),
    "ELU": _elu,
    "SELU": lambda x: _SELU_SCALE * _elu(x, _SELU_ALPHA),
    "Swish": lambda x: x * _sigmoid(x),
    "Softplus": lambda x: sympy.log(1 + sympy.exp(x)),
    "Softsign": lambda x: x / (1 + sympy.Abs(x)),
    "HardTanh": lambda x: _clip(x, -1, 1),
    "ReLU6": lambda x: _clip(x, 0, 6),
    "HardSigmoid": lambda x: _clip((x + 1) / 2, 0, 1),
    "HardSwish": lambda x: x * _clip(x + 3, 0, 6) / 6,
    "Mish": lambda x: x * sympy.tanh(sympy.log(1 + sympy.exp(x))),
    "Sin": sympy.sin,
    "Cos": sympy.cos,
    "Exp": sympy.exp,
    "Log": sympy.log,
    "Sqrt": sympy.sqrt,
    "Abs": sympy.Abs,
    "Square": lambda x: x**2,
    "Erf": sympy.erf,
    "Identity": lambda x: x,
}
for _alias, _name in (("ReLU", "Ramp"), ("Sigmoid", "LogisticSigmoid"), ("SiLU", "Swish"), ("RectifiedLinearUnit", "Ramp"),
                      ("ExponentialLinearUnit", "ELU"), ("ScaledExponentialLinearUnit", "SELU"), ("GaussianErrorLinearUnit", "GELU"), ("SoftSign", "Softsign")):
    ACTIVATIONS[_alias] = ACTIVATIONS[_name]

#: the functions of the expression language (symnet.layers.expressions.FUNCTIONS), as sympy
FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt,
    "abs": sympy.Abs, "tanh": sympy.tanh, "sinh": sympy.sinh, "cosh": sympy.cosh, "arctan": sympy.atan,
    "sigmoid": _sigmoid, "logistic_sigmoid": _sigmoid, "relu": ACTIVATIONS["Ramp"], "ramp": ACTIVATIONS["Ramp"],
    "softplus": ACTIVATIONS["Softplus"], "gelu": ACTIVATIONS["GELU"], "elu": _elu, "selu": ACTIVATIONS["SELU"],
    "swish": ACTIVATIONS["Swish"], "erf": sympy.erf, "sign": sympy.sign, "floor": sympy.floor, "ceil": sympy.ceiling,
    "round": lambda x: sympy.floor(x + sympy.Rational(1, 2)), "max": sympy.Max, "min": sympy.Min, "clip": _clip, "pow": sympy.Pow,
}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a**b, ast.Mod: sympy.Mod,
}

THREADING: dict[str, Callable[..., sympy.Expr]] = {
    "Plus": lambda *xs: sympy.Add(*xs),
    "Times": lambda *xs: sympy.Mul(*xs),
    "Subtract": lambda a, b: a - b,
    "Divide": lambda a, b: a / b,
    "Max": sympy.Max,
    "Min": sympy.Min,
    "Power": lambda a, b: a**b,
}


def expression_function(text: str, variables: Sequence[str]) -> Callable[..., sympy.Expr]:
    """The safe expression language read into sympy (the same checked tree the layer runs)."""
    tree = parse_expression(text, variables)
    constants = {"pi": sympy.pi, "e": sympy.E}

    def walk(node: ast.AST, env: dict[str, Any]) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body, env)
        if isinstance(node, ast.Constant):
            return sympy.Integer(node.value) if isinstance(node.value, int) else number(node.value)
        if isinstance(node, ast.Name):
            return env[node.id] if node.id in env else constants[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](walk(node.left, env), walk(node.right, env))
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand, env)
            return -value if isinstance(node.op, ast.USub) else value
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # parse_expression allows nothing else
        return FUNCTIONS[node.func.id](*(walk(a, env) for a in node.args))

    return lambda *values: walk(tree, dict(zip(variables, values)))


def _occurrences(text: str, variables: Sequence[str]) -> int:
    return sum(1 for node in ast.walk(ast.parse(text.strip(), mode="eval")) if isinstance(node, ast.Name) and node.id in variables) or 1


# -- rules ----------------------------------------------------------------------------------------
def _dims(layer: Layer, port: str) -> tuple[int, ...]:
    return tuple(layer.types[port].dims)  # type: ignore[index, arg-type]


def _size(layer: Layer, port: str) -> int:
    return math.prod(_dims(layer, port))


def linear(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    y = arrays["Weights"].dot(x.reshape(-1))
    if "Biases" in arrays:
        y = y + arrays["Biases"]
    return [y.reshape(_dims(layer, "Output"))]


def elementwise_layer(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    function = ACTIVATIONS.get(layer.function) or expression_function(layer.function, ("x",))
    return [elementwise(function, x)]


def threading(layer: Any, arrays: dict[str, Value], *xs: Value) -> list[Value]:
    function = THREADING.get(layer.function) or expression_function(layer.function, tuple(f"x{i + 1}" for i in range(len(xs))))
    return [elementwise(function, *xs)]


def softmax(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    exponentials = elementwise(sympy.exp, x)
    return [exponentials / exponentials.sum(axis=layer.level, keepdims=True)]


def identity(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    return [x]


def net_array(layer: Any, arrays: dict[str, Value]) -> list[Value]:
    return [arrays["Array"]]


def _mean(values: Value) -> sympy.Expr:
    return sympy.Add(*values.reshape(-1)) / values.size


def _log(p: Value) -> Value:
    # torch clips log(p) at -100 so that p = 0 gives a finite loss; a formula keeps the exact log
    return elementwise(sympy.log, p)


def cross_entropy(layer: Any, arrays: dict[str, Value], x: Value, target: Value) -> list[Value]:
    if layer.target_form == "Index":
        classes = x.shape[-1]
        # the target is a class index (0-based, as symnet counts): pick its log-probability
        picked = elementwise(lambda t, *logs: -sympy.Add(*(sympy.KroneckerDelta(t, k) * log for k, log in enumerate(logs))), target, *np.moveaxis(_log(x), -1, 0)[:classes])
        return [np.array(_mean(picked), dtype=object)]
    if layer.target_form == "Probabilities":
        return [np.array(_mean(-(target * _log(x)).sum(axis=-1, keepdims=True)), dtype=object)]
    return [np.array(_mean(-(target * _log(x) + (1 - target) * _log(1 - x))), dtype=object)]


def mean_squared(layer: Any, arrays: dict[str, Value], x: Value, target: Value) -> list[Value]:
    return [np.array(_mean((x - target) ** 2), dtype=object)]


def mean_absolute(layer: Any, arrays: dict[str, Value], x: Value, target: Value) -> list[Value]:
    return [np.array(_mean(elementwise(sympy.Abs, x - target)), dtype=object)]


def batch_normalization(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    # at evaluation a batch norm uses its moving statistics: an affine map per channel
    shape = (-1,) + (1,) * (x.ndim - 1)
    mean, variance = arrays["MovingMean"].reshape(shape), arrays["MovingVariance"].reshape(shape)
    scale = elementwise(lambda v: 1 / sympy.sqrt(v + number(layer.epsilon)), variance)
    return [(x - mean) * scale * arrays["Scaling"].reshape(shape) + arrays["Biases"].reshape(shape)]


def normalization(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    axes = tuple(range(x.ndim - arrays["Scaling"].ndim, x.ndim))
    count = math.prod(x.shape[a] for a in axes)
    mean = x.sum(axis=axes, keepdims=True) / count
    variance = ((x - mean) ** 2).sum(axis=axes, keepdims=True) / count
    scale = elementwise(lambda v: 1 / sympy.sqrt(v + number(layer.epsilon)), variance)
    return [(x - mean) * scale * arrays["Scaling"] + arrays["Biases"]]


def _reduce(x: Value, axes: tuple[int, ...], function: Callable[..., sympy.Expr]) -> Value:
    kept = [a for a in range(x.ndim) if a not in axes]
    rows = np.transpose(x, (*kept, *axes)).reshape(*(x.shape[a] for a in kept), -1)
    return elementwise(lambda *row: function(*row), *np.moveaxis(rows, -1, 0)) if rows.shape[-1] else rows[..., 0]


_AGGREGATE = {"Max": sympy.Max, "Min": sympy.Min, "Total": sympy.Add, "Mean": lambda *xs: sympy.Add(*xs) / len(xs)}


def _axes(levels: Any, rank: int) -> tuple[int, ...]:
    levels = (levels,) if isinstance(levels, int) else tuple(levels)
    return tuple(a % rank for a in levels)


def aggregation(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    axes = tuple(range(1, x.ndim)) if layer.levels is None else _axes(layer.levels, x.ndim)
    return [_reduce(x, axes, _AGGREGATE[layer.function])]


def total(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    if x.ndim == 0:
        return [x]
    axes = tuple(range(x.ndim)) if layer.levels is None else _axes(layer.levels, x.ndim)
    return [_reduce(x, axes, sympy.Add)]


def summation(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    return [np.array(sympy.Add(*x.reshape(-1)), dtype=object)]


def dot(layer: Any, arrays: dict[str, Value], a: Value, b: Value) -> list[Value]:
    return [np.array(np.tensordot(a, b, axes=1), dtype=object).reshape(_dims(layer, "Output"))]


def _run(layer: Layer, arrays: dict[str, torch.Tensor], parts: Sequence[torch.Tensor], shapes: Sequence[tuple[int, ...]]) -> torch.Tensor:
    batch = parts[0].shape[0]
    inputs = [p.reshape(batch, *s) for p, s in zip(parts, shapes)]
    with torch.no_grad():
        output = layer.forward(arrays, *inputs, training=False)
    return output.reshape(batch, -1)


def _check_jacobian(layer: Layer, rows: int, columns: int) -> None:
    if rows * columns > MAX_JACOBIAN_ENTRIES:
        raise NetError(f"{layer.kind}: its formula is read from a {rows} × {columns} Jacobian, too large to build; use a smaller input.")


def affine(layer: Any, arrays: dict[str, Value], *xs: Value) -> list[Value]:
    """Layers that select, move, pad, resize or average: out = J·x + c, J read from the layer's forward."""
    shapes, sizes = [x.shape for x in xs], [x.size for x in xs]
    total_size, out_size = sum(sizes), _size(layer, "Output")
    _check_jacobian(layer, out_size, total_size)
    # one one-hot input per column, plus a zero input for the constant (padding values)
    basis = torch.cat([torch.zeros(1, total_size, dtype=torch.float64), torch.eye(total_size, dtype=torch.float64)])
    outputs = _run(layer, {}, torch.split(basis, sizes, dim=1), shapes)
    constant, jacobian = outputs[0], (outputs[1:] - outputs[0]).T
    elements = np.concatenate([x.reshape(-1) for x in xs])
    result = []
    for row in range(out_size):
        columns = jacobian[row].nonzero().flatten().tolist()
        result.append(number(float(constant[row])) + sympy.Add(*(number(float(jacobian[row, c])) * elements[c] for c in columns)))
    return [np.array(result, dtype=object).reshape(_dims(layer, "Output"))]


def pooling(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    if layer.function != "Max":
        return affine(layer, arrays, x)
    # the windows of a max pooling are those of the same pooling by mean (padding is -inf for Max, so never chosen)
    windows = dataclasses.replace(layer, function="Mean")
    size, out_size = x.size, _size(layer, "Output")
    _check_jacobian(layer, out_size, size)
    outputs = _run(windows, {}, [torch.eye(size, dtype=torch.float64)], [x.shape])
    elements = x.reshape(-1)
    return [np.array([sympy.Max(*(elements[c] for c in outputs[:, row].nonzero().flatten().tolist())) for row in range(out_size)], dtype=object).reshape(_dims(layer, "Output"))]


def convolution(layer: Any, arrays: dict[str, Value], x: Value) -> list[Value]:
    """Bilinear in input and weights: out_o = Σ T[o, i, j] x_i W_j + b_channel(o), T read from the layer's forward."""
    weights = arrays["Weights"]
    size, out_size, count = x.size, _size(layer, "Output"), weights.size
    _check_jacobian(layer, out_size * count, size)
    basis = torch.eye(size, dtype=torch.float64)
    out_dims = _dims(layer, "Output")
    result = np.zeros(out_size, dtype=object)
    elements, flat_weights = x.reshape(-1), weights.reshape(-1)
    for j in range(count):
        one_hot = torch.zeros(count, dtype=torch.float64)
        one_hot[j] = 1
        torch_arrays = {"Weights": one_hot.reshape(weights.shape)}
        if "Biases" in arrays:
            torch_arrays["Biases"] = torch.zeros(arrays["Biases"].shape, dtype=torch.float64)
        response = _run(layer, torch_arrays, [basis], [x.shape])  # (input element, output element)
        for i, o in response.nonzero().tolist():
            result[o] += number(float(response[i, o])) * elements[i] * flat_weights[j]
    result = result.reshape(out_dims)
    if "Biases" in arrays:
        result = result + arrays["Biases"].reshape((-1,) + (1,) * (len(out_dims) - 1))
    return [result]


class Rule(NamedTuple):
    formula: Callable[..., list[Value]]
    #: the size of one output element from the sizes of one element of each input
    terms: Callable[[Any, list[int]], int]


def _convolution_terms(layer: Any, t: list[int]) -> int:
    weights = _dims(layer, "Weights")
    return math.prod(weights) // max(weights[0], 1) * (t[0] + 2) + 1


def _pooling_terms(layer: Any, t: list[int]) -> int:
    rank = len(_dims(layer, "Input")) - 1
    kernel = layer.kernel_size if isinstance(layer.kernel_size, tuple) else (layer.kernel_size,) * rank
    return math.prod(kernel) * (t[0] + 2)


def _reduction_terms(layer: Any, t: list[int]) -> int:
    return (_size(layer, "Input") // max(_size(layer, "Output"), 1)) * (t[0] + 1) + 1


def _loss_terms(layer: Any, t: list[int]) -> int:
    return _size(layer, "Input") * (t[0] + t[1] + 4)


#: the formula of each layer kind (containers are walked, not looked up)
RULES: dict[str, Rule] = {
    "LinearLayer": Rule(linear, lambda lay, t: _size(lay, "Input") * (t[0] + 2) + 1),
    "ElementwiseLayer": Rule(elementwise_layer, lambda lay, t: (t[0] + 2) * (2 if lay.function in ACTIVATIONS else _occurrences(lay.function, ("x",)) + 2)),
    "ThreadingLayer": Rule(threading, lambda lay, t: sum(t) + 2 * len(t)),
    "SoftmaxLayer": Rule(softmax, lambda lay, t: (_dims(lay, "Input")[lay.level] + 1) * (t[0] + 2)),
    "DropoutLayer": Rule(identity, lambda lay, t: t[0]),
    "NetArrayLayer": Rule(net_array, lambda lay, t: 1),
    "CrossEntropyLossLayer": Rule(cross_entropy, _loss_terms),
    "MeanSquaredLossLayer": Rule(mean_squared, _loss_terms),
    "MeanAbsoluteLossLayer": Rule(mean_absolute, _loss_terms),
    "BatchNormalizationLayer": Rule(batch_normalization, lambda lay, t: t[0] + 8),
    "NormalizationLayer": Rule(normalization, lambda lay, t: 4 * _size(lay, "Scaling") * (t[0] + 2) + t[0]),
    "AggregationLayer": Rule(aggregation, _reduction_terms),
    "TotalLayer": Rule(total, _reduction_terms),
    "SummationLayer": Rule(summation, _reduction_terms),
    "DotLayer": Rule(dot, lambda lay, t: _dims(lay, "Input1")[-1] * (t[0] + t[1] + 1)),
    "ConvolutionLayer": Rule(convolution, _convolution_terms),
    "DeconvolutionLayer": Rule(convolution, _convolution_terms),
    "PoolingLayer": Rule(pooling, _pooling_terms),
    "ResizeLayer": Rule(affine, lambda lay, t: 2 ** (len(_dims(lay, "Input")) - 1) * (t[0] + 2)),
    "PaddingLayer": Rule(affine, lambda lay, t: t[0]),
    # at evaluation (the formula's mode) an augmentation layer is its centre crop
    "ImageAugmentationLayer": Rule(affine, lambda lay, t: t[0]),
    **{kind: Rule(affine, lambda lay, t: max(t)) for kind in ("FlattenLayer", "ReshapeLayer", "TransposeLayer", "CatenateLayer", "PartLayer", "ReplicateLayer", "AppendLayer", "PrependLayer")},
}

#: why a layer kind has no formula, where there is more to say than "not algebraic"
REFUSALS = {
    "EmbeddingLayer": "it looks up rows of its weights by integer index, which is not an algebraic operation on its input",
    "FunctionLayer": "it runs a Python function, which symnet cannot read as a formula",
}
