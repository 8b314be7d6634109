"""The errors symnet raises for mistakes a user can make.

Every error is a :class:`NetError`, itself a :class:`ValueError`, and its message says *where*
(the layer's path in the net, e.g. ``NetChain/"conv2"/Input``), *what was expected*, *what was
received* and, where one exists, *the fix*.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NetError(ValueError):
    """A mistake in a net, its data or its options, described so that a user can act on it."""


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


def closest(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean "x"?' suffix naming the closest candidate, or ''."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return f' Did you mean "{matches[0]}"?' if matches else ""


def format_where(path: Iterable[str], port: str | None = None) -> str:
    """Render a layer path the way messages show it: ``NetChain/"conv2"/Input``."""
    parts = [str(p) for p in path]
    if port is not None:
        parts.append(port)
    return "/".join(parts)
