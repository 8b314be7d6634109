"""The safe expression language of ``ElementwiseLayer("x**2 + sin(x)")`` and ThreadingLayer.

An expression is parsed with Python's ``ast`` module (parsing runs no code) and only a
whitelist of nodes is accepted: numbers, the variables it declares, ``+ - * / ** %``, unary
minus, comparisons-free calls of the functions in :data:`FUNCTIONS`. The tree is then
interpreted on torch tensors; nothing is ever passed to ``eval``. The text itself is what is
saved with a net, so a file never carries code.

>>> f = compile_expression("x**2 + sin(x)", ("x",))
>>> float(f(torch.tensor(0.5)))  # doctest: +ELLIPSIS
0.729...
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..errors import ExpressionError, closest

FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "tanh": torch.tanh,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "arctan": torch.atan,
    "sigmoid": torch.sigmoid,
    "logistic_sigmoid": torch.sigmoid,
    "relu": F.relu,
    "ramp": F.relu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "elu": F.elu,
    "selu": F.selu,
    "swish": F.silu,
    "erf": torch.erf,
    "sign": torch.sign,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "max": torch.maximum,
    "min": torch.minimum,
    "clip": lambda x, low, high: torch.clamp(x, low, high),
    "pow": torch.pow,
}

CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY: dict[type, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
    ast.Mod: torch.remainder,
}

_OPERATOR_TEXT = {ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}


def _token(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text, node)
    return segment if segment is not None else type(node).__name__


def _check(node: ast.AST, text: str, variables: Sequence[str]) -> None:
    """Refuse anything outside the whitelist, naming the offending token."""
    where = f' in "{text}"'
    if isinstance(node, ast.Expression):
        _check(node.body, text, variables)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float) or isinstance(node.value, bool):
            raise ExpressionError(f"The token {_token(node, text)} is not a number{where}: expressions may only contain numbers, the variables {', '.join(variables)} and the functions listed in symnet.layers.expressions.FUNCTIONS.")
    elif isinstance(node, ast.Name):
        if node.id not in variables and node.id not in CONSTANTS:
            names = [*variables, *CONSTANTS]
            raise ExpressionError(f'Unknown variable "{node.id}"{where}: the variables are {", ".join(variables)}.{closest(node.id, names)}')
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(f'The operator "{symbol}" is not allowed{where}: use + - * / ** %.')
        _check(node.left, text, variables)
        _check(node.right, text, variables)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError(f'The token "{_token(node, text)}" is not allowed{where}: only unary minus and plus are.')
        _check(node.operand, text, variables)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f'The call "{_token(node.func, text)}" is not allowed{where}: only the functions in symnet.layers.expressions.FUNCTIONS can be called by name.')
        if node.func.id not in FUNCTIONS:
            raise ExpressionError(f'Unknown function "{node.func.id}"{where}.{closest(node.func.id, FUNCTIONS)}')
        if node.keywords:
            raise ExpressionError(f'Keyword arguments are not allowed{where} (in the call of "{node.func.id}").')
        for arg in node.args:
            _check(arg, text, variables)
    else:
        raise ExpressionError(f'The token "{_token(node, text)}" is not allowed{where}: expressions may only contain numbers, variables, + - * / ** % and function calls.')


def _evaluate(node: ast.AST, env: dict[str, torch.Tensor | float]) -> torch.Tensor | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in env else CONSTANTS[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if not isinstance(left, torch.Tensor) and not isinstance(right, torch.Tensor):
            return float(_BINARY[type(node.op)](torch.tensor(left), torch.tensor(right)))
        if not isinstance(left, torch.Tensor):
            left = torch.as_tensor(left, dtype=right.dtype, device=right.device)  # type: ignore[union-attr]
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        args = [_evaluate(a, env) for a in node.args]
        reference = next((a for a in args if isinstance(a, torch.Tensor)), None)
        name = node.func.id  # type: ignore[attr-defined]
        if name in ("clip",):
            tensors = [args[0]] + [float(a) for a in args[1:]]
            return FUNCTIONS[name](*tensors)
        converted = [a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=reference.dtype if reference is not None else torch.float32, device=reference.device if reference is not None else None) for a in args]
        return FUNCTIONS[name](*converted)
    raise ExpressionError(f"Unexpected node {type(node).__name__}")  # unreachable after _check


def parse_expression(text: str, variables: Sequence[str]) -> ast.Expression:
    """Parse and check an expression; raise ExpressionError naming the offending token."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"An expression must be a non-empty string, not {text!r}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        column = (error.offset or 1) - 1
        token = text.strip()[column : column + 1] or "end of text"
        raise ExpressionError(f'The expression "{text}" cannot be parsed: unexpected "{token}" at column {column + 1}.') from None
    _check(tree, text.strip(), variables)
    return tree


def compile_expression(text: str, variables: Sequence[str]) -> Callable[..., torch.Tensor]:
    """A function of ``len(variables)`` tensors computing the expression."""
    tree = parse_expression(text, variables)

    def function(*values: torch.Tensor) -> torch.Tensor:
        result = _evaluate(tree, dict(zip(variables, values)))
        if not isinstance(result, torch.Tensor):
            return torch.full_like(values[0], result)
        return result

    return function


def expression_variables(text: str) -> list[str]:
    """The variable names an expression uses, in order of first appearance."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return []
    seen: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in CONSTANTS and node.id not in seen:
            seen.append(node.id)
    return seen
