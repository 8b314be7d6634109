"""The errors symnet raises for mistakes a user can make, and the one format their messages take.

Every error is a :class:`NetError`, itself a :class:`ValueError`. It carries the parts of a
message a user can act on as fields — *where* (the layer's path in the net, e.g.
``NetChain/"conv2"/Input``, or the function and option), *what was expected*, *what was
received* and *the fix* — and :func:`render` turns them into the one sentence ``str(error)``
shows::

    >>> error = OptionError(where="NetTrain", option="batch_size", expected="a positive int", received=0)
    >>> str(error)
    'NetTrain: batch_size must be a positive int; received 0.'
    >>> error.expected, error.received
    ('a positive int', 0)

Options are checked with :func:`one_of` (a value from a list, suggesting the closest) and
:func:`number` (an int or real number in a range), so every option refuses a bad value with the
same words.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

_SHOWN_LENGTH = 80
_NOTHING: Any = object()  # "not given", so that None can be a received value


class NetError(ValueError):
    """A mistake in a net, its data or its options, described so that a user can act on it.

    Args:
        message: free text; the whole message when no other field is given, else the part that
            says what went wrong before the expected/received clause.
        where: the layer path, function or file the mistake is in (``NetTrain``, ``NetChain/1/Input``).
        option: the option or hyperparameter that has the bad value (``batch_size``).
        expected: what would have been accepted, as a noun phrase (``"a positive int"``).
        received: the value given; rendered with :func:`shown` (strings in double quotes).
        fix: what to do about it, a sentence (``'Use "cuda".'``).
    """

    def __init__(self, message: str = "", *, where: str | None = None, option: str | None = None,
                 expected: str | None = None, received: Any = _NOTHING, fix: str | None = None) -> None:
        self.message = message
        self.where = where
        self.option = option
        self.expected = expected
        self.received = None if received is _NOTHING else received
        self.fix = fix
        super().__init__(render(message, where=where, option=option, expected=expected, received=received, fix=fix))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling (multiprocessing, pytest-xdist) rebuilds from the rendered text alone.
        return (type(self), (str(self),))


class ShapeError(NetError):
    """Port shapes that conflict or cannot be inferred."""


class InputError(NetError):
    """Data given to a net that does not fit its input port."""


class InitializationError(NetError):
    """A net evaluated or trained before its arrays exist."""


class ExpressionError(NetError):
    """An expression string that the safe expression language does not accept."""


class GraphError(NetError):
    """A NetGraph whose edges are dangling, ambiguous or cyclic."""


class OptionError(NetError):
    """An unknown option or option value."""


class FileFormatError(NetError):
    """A file that is damaged, empty or not in the format its reader expects."""


def render(message: str = "", *, where: str | None = None, option: str | None = None,
           expected: str | None = None, received: Any = _NOTHING, fix: str | None = None) -> str:
    """The one message format: ``where: message option must be expected; received value. fix``.

    Each part is left out when it is not given, so a plain ``NetError("text")`` reads ``text``.

    >>> render(where="NetTrain", option="method", expected='one of "ADAM", "SGD"', received="Adam", fix='Did you mean "ADAM"?')
    'NetTrain: method must be one of "ADAM", "SGD"; received "Adam". Did you mean "ADAM"?'
    >>> render("the file is empty.", where='Import["a.onnx"]', fix="Export the net again.")
    'Import["a.onnx"]: the file is empty. Export the net again.'
    """
    parts: list[str] = []
    if message:
        parts.append(message.strip())
    has_received = received is not _NOTHING
    if expected is not None:
        clause = f"{option} must be {expected}" if option else f"expected {expected}"
        if has_received:
            clause += f"; received {shown(received)}"
        parts.append(_sentence(clause))
    elif has_received:
        parts.append(_sentence(f"{option}={shown(received)} is refused" if option else f"received {shown(received)}"))
    if fix:
        parts.append(_sentence(fix.strip()))
    text = " ".join(parts)
    if where:
        text = f"{where}: {text}" if text else str(where)
    return text


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!", ":")) else text + "."


def shown(value: Any) -> str:
    """A value as messages show it: strings in double quotes, anything else by ``repr``, cut short."""
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return text


def listing(values: Iterable[Any]) -> str:
    """``"A", "B", None`` — allowed values joined the way messages list them."""
    return ", ".join(shown(v) for v in values)


def suggestion(value: Any, candidates: Iterable[Any]) -> str | None:
    """The candidate closest to ``value`` (same letters in another case first), or None."""
    names = [str(c) for c in candidates if c is not None]
    text = str(value)
    same_letters = [n for n in names if n.lower() == text.lower()]
    if same_letters:
        return same_letters[0]
    matches = difflib.get_close_matches(text, names, n=1, cutoff=0.5)
    return matches[0] if matches else None


def closest(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean "x"?' suffix naming the closest candidate, or ''."""
    match = suggestion(name, candidates)
    return f' Did you mean "{match}"?' if match is not None else ""


def did_you_mean(value: Any, candidates: Iterable[Any]) -> str | None:
    """The fix sentence ``Did you mean "x"?`` for the closest candidate, or None."""
    match = suggestion(value, candidates)
    return f'Did you mean "{match}"?' if match is not None else None


def format_where(path: Iterable[str], port: str | None = None) -> str:
    """Render a layer path the way messages show it: ``NetChain/"conv2"/Input``."""
    parts = [str(p) for p in path]
    if port is not None:
        parts.append(port)
    return "/".join(parts)


def one_of(value: Any, allowed: Iterable[Any], *, where: str, option: str, fix: str | None = None,
           error: type[NetError] = OptionError) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise ``error`` suggesting the closest.

    >>> one_of("SGD", ("ADAM", "SGD"), where="NetTrain", option="method")
    'SGD'
    >>> one_of("sgd", ("ADAM", "SGD"), where="NetTrain", option="method")
    Traceback (most recent call last):
    symnet.errors.OptionError: NetTrain: method must be one of "ADAM", "SGD"; received "sgd". Did you mean "SGD"?
    """
    allowed = tuple(allowed)
    for candidate in allowed:
        if _same(value, candidate):
            return candidate
    hint = did_you_mean(value, allowed) if isinstance(value, str) else None
    raise error(where=where, option=option, expected=f"one of {listing(allowed)}", received=value,
                fix=" ".join(p for p in (hint, fix) if p) or None)


def _same(value: Any, candidate: Any) -> bool:
    # True == 1 in Python: a bool matches only a bool. Arrays compare elementwise: never a match.
    if isinstance(value, bool) != isinstance(candidate, bool):
        return False
    try:
        return bool(value == candidate)
    except (TypeError, ValueError, RuntimeError):
        return False


def boolean(value: Any, *, where: str, option: str, error: type[NetError] = OptionError) -> bool:
    """Return ``value`` if it is a bool (numpy's too), else raise: ``"no"`` is not False.

    >>> boolean("no", where="Import", option="allow_functions")
    Traceback (most recent call last):
    symnet.errors.OptionError: Import: allow_functions must be True or False; received "no".
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise error(where=where, option=option, expected="True or False", received=value)


def number(value: Any, *, where: str, option: str, integer: bool = False, minimum: float | None = None,
           maximum: float | None = None, exclusive_minimum: bool = False, exclusive_maximum: bool = False,
           none_ok: bool = False, finite: bool = True, fix: str | None = None,
           error: type[NetError] = OptionError) -> Any:
    """Return ``value`` (as a Python int or float) if it is a number in range, else raise ``error``.

    Booleans, strings and NaN are never numbers; an ``integer`` option refuses 1.5 and 2.0
    alike. The expected text is phrased from the bounds: "a positive int", "a non-negative
    number", "a number in [0, 1)", "an int ≥ 2".

    >>> number(3, where="NetTrain", option="batch_size", integer=True, minimum=1)
    3
    >>> number(1.5, where="NetTrain", option="warmup", minimum=0, maximum=1, exclusive_maximum=True)
    Traceback (most recent call last):
    symnet.errors.OptionError: NetTrain: warmup must be a number in [0, 1); received 1.5.
    """
    if value is None and none_ok:
        return None
    expected = describe_number(integer=integer, minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                               exclusive_maximum=exclusive_maximum, none_ok=none_ok)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    if ok and integer:
        ok = isinstance(value, numbers.Integral)
    if ok:
        value = int(value) if integer else float(value)
        ok = not math.isnan(value) and (not finite or math.isfinite(value))
        if ok and minimum is not None:
            ok = value > minimum if exclusive_minimum else value >= minimum
        if ok and maximum is not None:
            ok = value < maximum if exclusive_maximum else value <= maximum
    if not ok:
        raise error(where=where, option=option, expected=expected, received=value, fix=fix)
    return value


def describe_number(*, integer: bool = False, minimum: float | None = None, maximum: float | None = None,
                    exclusive_minimum: bool = False, exclusive_maximum: bool = False, none_ok: bool = False) -> str:
    """The expected-text of :func:`number`: ``"a positive int"``, ``"a number in [0, 1)"`` …"""
    noun = "int" if integer else "number"
    article = "an" if integer else "a"
    if maximum is None and minimum is not None and minimum in (0, 1) and (minimum == 0 or integer):
        positive = exclusive_minimum or (integer and minimum == 1)
        text = f"a {'positive' if positive else 'non-negative'} {noun}"
    elif minimum is not None and maximum is not None:
        text = f"{article} {noun} in {'(' if exclusive_minimum else '['}{_bound(minimum)}, {_bound(maximum)}{')' if exclusive_maximum else ']'}"
    elif minimum is not None:
        text = f"{article} {noun} {'>' if exclusive_minimum else '≥'} {_bound(minimum)}"
    elif maximum is not None:
        text = f"{article} {noun} {'<' if exclusive_maximum else '≤'} {_bound(maximum)}"
    else:
        text = f"{article} {noun}"
    return text + " or None" if none_ok else text


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
