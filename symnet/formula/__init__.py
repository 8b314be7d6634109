"""NetFormula: a net as a sympy formula of its inputs, and exact gradients of it.

symnet's nets are symbolic values, so a net can be read as mathematics: every layer whose
operation is algebraic has a rule (symnet/formula/rules.py), and a symbolic interpreter walks
the net's containers applying them. Needs sympy (``pip install symnet[symbolic]``); imported
only when a formula is asked for.

Inputs are named ``x1, x2, …`` (port "Input"; ``x2_1, …`` for "Input2", ``y1, …`` for "Target");
arrays are their numbers, or with ``arrays="Symbolic"`` symbols named ``W1_ij``, ``b1_i`` (the
first layer with arrays is 1; indices count from 1). ``net(symbols)`` on sympy values gives the
same formula.

>>> net = NetInitialize(NetChain([LinearLayer(1, input=2), "Tanh"]), random_seeding=1)
>>> NetFormula(net, arrays="Symbolic")
Matrix([[tanh(W1_11*x1 + W1_12*x2 + b1_1)]])
>>> NetFormula(net, loss=MeanSquaredLossLayer(), wrt=[0, "Biases"], arrays="Symbolic")
Matrix([[(2 - 2*tanh(W1_11*x1 + W1_12*x2 + b1_1)**2)*(-y1 + tanh(W1_11*x1 + W1_12*x2 + b1_1))]])
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import NetError, number, one_of
from ..layers.base import Layer, takes_net

ARRAY_MODES = ("Numeric", "Symbolic")


def _sympy_missing() -> NetError:
    return NetError("NetFormula needs the sympy package: pip install 'symnet[symbolic]' (or pip install sympy).")


def is_symbolic(data: Any) -> bool:
    """Whether data given to a net holds sympy expressions (checked without importing sympy)."""
    if "sympy" not in sys.modules:
        return False
    import sympy

    if isinstance(data, sympy.Basic | sympy.MatrixBase):
        return not isinstance(data, sympy.Number)
    if isinstance(data, Mapping):
        return any(is_symbolic(v) for v in data.values())
    if isinstance(data, list | tuple):
        try:  # numbers become a numeric array at C speed; only object arrays need a look
            data = np.asarray(data)
        except ValueError:  # ragged
            return any(is_symbolic(v) for v in data)
    if getattr(getattr(data, "dtype", None), "kind", None) == "O":
        return any(is_symbolic(v) for v in data.reshape(-1).tolist())
    return False


@takes_net
def NetFormula(
    net: Layer,
    port: str | None = None,
    *,
    inputs: Any = None,
    arrays: str = "Numeric",
    loss: Layer | str | None = None,
    wrt: Any = None,
    max_terms: int | None = None,
) -> Any:
    """The net's outputs as sympy expressions of its inputs, or an exact gradient.

    Args:
        port: one output port (default: every output; a dict when there are several), or
            "Symbols" for the symbols the formula uses (inputs, and arrays when symbolic).
        inputs: values for the input ports (sympy symbols, numbers or a mix), default symbols.
        arrays: "Numeric" (the net's array values) or "Symbolic" (``W1_ij``, ``b1_i`` …).
        loss: a loss layer to attach to the net's output (its "Target" becomes the symbols
            ``y1, …``), or the name of the net's own loss port.
        wrt: differentiate (the loss, else the sum of the outputs, as NetPortGradient does) with
            respect to an input port ("Input"), an array ([layer, …, "Weights"]) or "Arrays"
            (a dict of every array's gradient). The gradient has the shape of what it is taken
            with respect to.
        max_terms: refuse a formula estimated to have more terms (default 100,000).

    Scalars are expressions, vectors column Matrix objects, matrices Matrix, higher ranks Array.
    """
    try:
        import sympy  # noqa: F401
    except ImportError:
        raise _sympy_missing() from None
    from . import interpreter as ip

    one_of(arrays, ARRAY_MODES, where="NetFormula", option="arrays")
    limit = number(max_terms, where="NetFormula", option="max_terms", integer=True, minimum=1, none_ok=True)
    limit = ip.MAX_TERMS if limit is None else limit
    user_net = net
    if isinstance(loss, Layer):
        net, port = ip.with_loss(net, loss), "Loss"
    elif isinstance(loss, str):
        if loss not in net.output_ports():
            raise NetError(f'NetFormula: loss="{loss}" is not an output port of the net; its outputs: {", ".join(net.output_ports())}.')
        port = loss
    elif loss is not None:
        raise NetError(f"NetFormula: loss= must be a loss layer (such as MeanSquaredLossLayer()) or the name of the net's loss port, not {loss!r}.")
    if port is not None and port != "Symbols" and port not in net.output_ports():
        raise NetError(f'NetFormula: the net has no output "{port}"; its outputs: {", ".join(net.output_ports())}.')
    prefix = ("net",) if net is not user_net else ()

    # which arrays are symbols: all (arrays="Symbolic"), or those differentiated with respect to
    wanted_arrays: set[tuple[tuple[str, ...], str]] | None = None
    if isinstance(wrt, list | tuple):
        keys, name = ip.array_path(user_net, wrt)
        wanted_arrays = {((*prefix, *keys), name)}
    elif wrt == "Arrays":
        wanted_arrays = None
    elif wrt is not None and wrt not in user_net.input_ports():
        raise NetError(f'NetFormula: wrt={wrt!r} must be an input port ({", ".join(user_net.input_ports())}), an array such as [0, "Weights"], or "Arrays".')

    def symbolic(path: tuple[str, ...], name: str) -> bool:
        if arrays == "Symbolic" or wrt == "Arrays":
            return True
        return wanted_arrays is not None and (path, name) in wanted_arrays

    ip.check_size(net, limit)
    values = ip.default_inputs(net) if inputs is None else ip.given_inputs(net, inputs)
    interpreter = ip.Interpreter(net, symbolic)
    outputs = ip.walk(net, values, interpreter.leaf)
    numbers = {} if arrays == "Symbolic" else interpreter.numbers_rule()

    if port == "Symbols":
        found: dict[Any, Any] = {p: ip.as_sympy(v) for p, v in values.items()}
        for (path, name), (symbols, _) in interpreter.arrays.items():
            if symbols is not None:
                found[(*path[len(prefix):], name)] = ip.as_sympy(symbols)
        return found
    if wrt is None:
        chosen = {port: outputs[port]} if port is not None else outputs
        result = {p: ip.as_sympy(ip.elementwise_sympify(v)) for p, v in chosen.items()}
        result = {p: (r.xreplace(numbers) if numbers else r) for p, r in result.items()}
        return next(iter(result.values())) if len(result) == 1 else result

    target = outputs[port] if port is not None else None
    total = sympy.Add(*target.reshape(-1)) if target is not None else sympy.Add(*(e for v in outputs.values() for e in v.reshape(-1)))

    def gradient(symbols: Any) -> Any:
        derivative = ip.elementwise_sympify(np.vectorize(lambda s: sympy.diff(total, s), otypes=[object])(symbols))
        value = ip.as_sympy(derivative)
        return value.xreplace(numbers) if numbers else value

    if isinstance(wrt, str) and wrt != "Arrays":
        return gradient(values[wrt])
    if wrt == "Arrays":
        return {(*path[len(prefix):], name): gradient(symbols) for (path, name), (symbols, _) in interpreter.arrays.items()}
    assert wanted_arrays is not None
    return gradient(interpreter.arrays[next(iter(wanted_arrays))][0])


def evaluate_symbolic(net: Layer, data: Any, port: Any = None) -> Any:
    """``net(symbols)``: the formula of the net on the given sympy values (arrays as numbers)."""
    if port is not None and not isinstance(port, str):
        raise NetError(f"{net.kind}: on symbolic input the net gives formulas of its outputs; name an output port, not {port!r}.")
    return NetFormula(net, port, inputs=data)


__all__ = ["NetFormula", "evaluate_symbolic", "is_symbolic"]
