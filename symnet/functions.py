"""Python functions named by import path (``"module:qualname"``), so files never pickle code.

Used by FunctionLayer, the Function coders and the file format. Importing a module runs its
code, so callers that load from files ask the user's permission first.

>>> import math
>>> function_path(math.sqrt)
'math:sqrt'
>>> import_function("math:sqrt", "example")(9.0)
3.0
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .errors import NetError


def function_path(function: Any) -> str | None:
    """``"module:qualname"`` of an importable function (a string is returned as it is), or
    None for a function that has none (a lambda, a nested function)."""
    if isinstance(function, str):
        return function
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def import_function(path: str, where: str) -> Callable[..., Any]:
    """The function at ``module:qualname``; a NetError naming ``where`` if it cannot be had."""
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError) as error:
        raise NetError(f'{where}: cannot import the function "{path}": {error}.') from None
    if not callable(target):
        raise NetError(f'{where}: "{path}" is not a function.')
    return target  # type: ignore[no-any-return]
