"""What every encoder and decoder shares: a compact one-line repr, a JSON spec, batch helpers.

A coder is a frozen dataclass. Its fields are its parameters; ``to_spec()`` gives them as a
JSON-able dict ``{"coder": "NetEncoder" | "NetDecoder", "kind": ..., <fields>}`` and
``from_spec`` reads one back (tuples travel as lists and come back as tuples).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import NetError, one_of
from ..functions import function_path as shared_function_path
from ..functions import import_function as shared_import_function
from ..types import TensorType

#: every coder class by (role, kind); filled by ``register``
REGISTRY: dict[tuple[str, str], type[Coder]] = {}

#: the notebook display, which lives above the coders (symnet/notebook.py); see ``attach_html``
_HTML: dict[str, Callable[[Coder], str]] = {}


def attach_html(implementation: Callable[[Coder], str]) -> None:
    """Give coders their ``_repr_html_``; symnet/__init__ calls it once."""
    _HTML["html"] = implementation


def derived() -> Any:
    """A declared field computed in ``__post_init__`` (a lookup table, a compiled pattern):
    not a constructor argument, not shown, not saved, not compared."""
    return dataclasses.field(default=None, init=False, repr=False, compare=False)


def register(cls: type[Coder]) -> type[Coder]:
    REGISTRY[(cls.role, cls.kind)] = cls
    return cls


def _literal(value: Any) -> str:
    """A value as Python source, with strings in double quotes (as the docs write them)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _short(value: Any) -> str:
    """A value for a one-line repr: long sequences and strings are cut."""
    if isinstance(value, tuple) and len(value) > 6:
        head = ", ".join(_literal(v) for v in value[:4])
        return f"({head}, … {len(value)} in all)"
    if isinstance(value, str) and len(value) > 40:
        return _literal(value[:30]) + "…"
    if callable(value):
        return getattr(value, "__qualname__", None) or repr(value)
    return _literal(value)


def _as_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise NetError(f"{value!r} cannot be written to a net file (only numbers, strings, booleans, None and lists of them can).")


def function_path(function: Callable[..., Any], where: str) -> str:
    """``module:qualname`` of an importable function, so a file can name it without pickle."""
    path = shared_function_path(function)
    if path is None:
        raise NetError(f"{where}: the function {function!r} has no import path (a lambda or a nested function), so it cannot be saved; define it at the top level of a module.")
    return path


def import_function(path: str, where: str, allow_functions: bool) -> Callable[..., Any]:
    """The function at ``module:qualname``; refused unless the caller allows running code."""
    if not allow_functions:
        raise NetError(f'{where}: the spec names the Python function "{path}"; loading it runs code, so it is refused. Pass allow_functions=True if you trust the file.')
    return shared_import_function(path, where)


class Coder:
    """The shared behaviour of encoders and decoders (see the module docstring)."""

    role: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    @property
    def port_type(self) -> TensorType:
        raise NotImplementedError

    def __call__(self, data: Any, prop: Any = None) -> Any:
        """Apply the coder on its own, as Wolfram's ``enc[image]`` / ``dec[tensor]``: an encoder
        gives a numpy array (with a batch axis for a batch), a decoder its answer for one example
        or a list of answers for a batch (``prop`` as in ``net(x, prop)``)."""
        if self.role == "NetEncoder":
            tensor, batched = self.encode(data)  # type: ignore[attr-defined]
            array = tensor.detach().cpu().numpy()
            return array if batched else array[0]
        batch = as_batch_tensor(data)
        single = batch.dim() == self.port_type.rank
        answers = self.decode(batch.unsqueeze(0) if single else batch, prop)  # type: ignore[attr-defined]
        return answers[0] if single else answers

    def _fields(self) -> list[tuple[str, Any, bool]]:
        """(name, value, is_default) of the fields shown in repr and spec."""
        result = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not f.repr:
                continue
            value = getattr(self, f.name)
            default = f.default if f.default is not dataclasses.MISSING else (f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)  # type: ignore[misc]
            result.append((f.name, value, default is not dataclasses.MISSING and value == default and type(value) is type(default)))
        return result

    def __repr__(self) -> str:
        parts = [f'"{self.kind}"'] + [f"{name}={_short(value)}" for name, value, is_default in self._fields() if not is_default]
        return f"{self.role}({', '.join(parts)})"

    def _repr_html_(self) -> str:
        implementation = _HTML.get("html")
        if implementation is None:
            import html

            return f"<code>{html.escape(repr(self))}</code>"
        return implementation(self)

    def to_spec(self) -> dict[str, Any]:
        """The coder as a JSON-able dict; :func:`symnet.coders.coder_from_spec` reads it back."""
        spec: dict[str, Any] = {"coder": self.role, "kind": self.kind}
        for name, value, _ in self._fields():
            spec[name] = _jsonable(value)
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any], allow_functions: bool = False) -> Coder:
        fields = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
        values = {k: _as_tuples(v) for k, v in spec.items() if k in fields}
        return cls(**values)


def normalize_tuple(coder: Any, name: str) -> None:
    """Store a list field as a tuple (frozen dataclasses compare and hash tuples)."""
    value = getattr(coder, name)
    if isinstance(value, list | np.ndarray):
        object.__setattr__(coder, name, tuple(value.tolist() if isinstance(value, np.ndarray) else value))


def check_choice(where: str, name: str, value: Any, allowed: Sequence[str]) -> None:
    one_of(value, allowed, where=where, option=name, error=NetError)


def as_batch_tensor(value: Any) -> torch.Tensor:
    """A decoder's input as a CPU tensor (it may be given a numpy array directly)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu")
    return torch.as_tensor(np.asarray(value))
