"""A net as a JSON-able spec and named tensors, and back.

Every layer is written generically: its class name and its constructor's fields (except
``arrays``; derived fields such as ``types`` are not constructor arguments and are re-inferred), with the arrays as tensors named by their path in the
net. Layer classes are found by name among the subclasses of :class:`Layer`, so a new layer
needs no registration. Field values may be None, booleans, numbers, strings, lists, tuples,
dicts, slices, TensorTypes, NetPorts, layers, encoders and decoders, and tensors; tagged
objects such as ``{"$tuple": [...]}`` keep tuples apart from lists.

Reading never runs code: no pickle and no eval. A Python function (a FunctionLayer, a
"Function" coder) is written as its import path and refused on reading unless
``allow_functions=True``. Anything malformed raises a :class:`NetError` saying where.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
import re
import sys
import types as pytypes
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from ..coders import coder_from_spec
from ..errors import NetError, closest
from ..functions import function_path, import_function
from ..layers.base import Layer, is_coder
from ..ports import NetPort
from ..symbols import All, Automatic
from ..types import Scaled, TensorType

SKIPPED_FIELDS = ("arrays",)

#: The deepest spec read or written, in JSON levels: a net nested 200 containers deep needs about
#: 800. Deeper specs are refused before parsing, so a crafted file cannot exhaust the stack.
MAX_SPEC_NESTING = 2000


def spec_nesting(text: str) -> int:
    """How deeply a JSON text nests objects and lists (strings skipped), without parsing it."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', "", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


@contextmanager
def deep_enough() -> Iterator[None]:
    """Room on Python's stack for walking a spec of up to MAX_SPEC_NESTING levels: reading and
    writing a spec, and building the net, recurse once or a few times per level."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * MAX_SPEC_NESTING + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
_MODULES_LOADED = False


def _load_layer_modules() -> None:
    """Import every module of symnet.layers and symnet.containers, so all layer classes exist."""
    global _MODULES_LOADED
    if _MODULES_LOADED:
        return
    for package_name in ("symnet.layers", "symnet.containers"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{info.name}")
    _MODULES_LOADED = True


def layer_classes() -> dict[str, type[Layer]]:
    """Every Layer subclass by class name (symnet's own first, when two share a name)."""
    _load_layer_modules()
    found: dict[str, type[Layer]] = {}
    stack: list[type[Layer]] = [Layer]
    seen: set[type[Layer]] = set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack += cls.__subclasses__()
        name = cls.__name__
        if name.startswith("_"):
            continue
        if name not in found or (not found[name].__module__.startswith("symnet.") and cls.__module__.startswith("symnet.")):
            found[name] = cls
    return found


def _where(path: tuple[str, ...]) -> str:
    return "/".join(path) if path else "the net"


# -- writing ------------------------------------------------------------------------------------


class SpecWriter:
    """Collects the spec of a net and the tensors it refers to."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def _tensor_name(self, base: str) -> str:
        name = base
        i = 2
        while name in self.tensors:
            name = f"{base}#{i}"
            i += 1
        return name

    def add_tensor(self, base: str, value: Any) -> str:
        tensor = value.detach().cpu() if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value))
        name = self._tensor_name(base)
        self.tensors[name] = tensor.contiguous().clone()
        return name

    def layer(self, layer: Layer, path: tuple[str, ...]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(layer):
            if not f.init or f.name in SKIPPED_FIELDS:
                continue
            fields[f.name] = self.value(getattr(layer, f.name), (*path, f.name), path)
        arrays = {}
        for name, array in layer.arrays.items():
            if array is not None:
                arrays[name] = self.add_tensor("/".join((*path, name)), array)
        return {"$layer": layer.kind, "fields": fields, "arrays": arrays}

    def value(self, value: Any, where: tuple[str, ...], path: tuple[str, ...]) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Layer):
            return self.layer(value, where)
        if isinstance(value, list):
            return [self.value(v, where, path) for v in value]
        if isinstance(value, tuple):
            return {"$tuple": [self.value(v, where, path) for v in value]}
        if isinstance(value, Mapping):
            if where and where[-1] == "layers" and all(isinstance(k, str) and isinstance(v, Layer) for k, v in value.items()):
                return {"$dict": [[k, self.layer(v, (*path, k))] for k, v in value.items()]}
            return {"$dict": [[self.value(k, where, path), self.value(v, where, path)] for k, v in value.items()]}
        if isinstance(value, slice):
            return {"$slice": [self.value(value.start, where, path), self.value(value.stop, where, path), self.value(value.step, where, path)]}
        if isinstance(value, TensorType):
            return {"$type": {"dims": None if value.dims is None else list(value.dims), "element": value.element, "bound": value.bound}}
        if isinstance(value, NetPort):
            return {"$port": [self.value(p, where, path) for p in value.path]}
        if isinstance(value, Scaled):
            return {"$scaled": value.factor}
        if is_coder(value) and hasattr(value, "to_spec"):
            return {"$coder": value.to_spec()}
        if isinstance(value, torch.Tensor | np.ndarray):
            return {"$tensor": self.add_tensor("/".join(("$hyperparameters", *where)), value), "numpy": isinstance(value, np.ndarray)}
        symbol = _symbol_name(value)
        if symbol is not None:
            return {"$symbol": symbol}
        if callable(value):
            path_text = function_path(value)
            if path_text is None:
                raise NetError(
                    f"{_where(where)}: the function {value!r} has no import path (a lambda or a nested function), so it cannot be saved; "
                    "define it at the top level of a module, or give its import path as a string \"module:name\"."
                )
            return {"$function": path_text}
        raise NetError(f"{_where(where)}: the value {value!r} of type {type(value).__name__} cannot be saved in a net file.")


def _symbol_name(value: Any) -> str | None:
    if value is Automatic:
        return "Automatic"
    if value is All:
        return "All"
    return None


def net_to_spec(net: Layer) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The JSON-able spec of ``net`` and the tensors it names (arrays by path)."""
    writer = SpecWriter()
    with deep_enough():
        spec = writer.layer(net, ())
    return spec, writer.tensors


# -- reading ------------------------------------------------------------------------------------


def _hint_text(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if not typing.get_args(hint) else None
    return text or str(hint).replace("typing.", "")


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value read from a file can be of the annotated type (lenient where unsure)."""
    if hint is Any or hint is None and value is None:
        return True
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is pytypes.UnionType:
        return any(_fits(value, a) for a in args)
    if origin is typing.ClassVar:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list) or hint in (tuple, list):
        if not isinstance(value, tuple | list):
            return False
        if origin is tuple and args:
            if len(args) == 2 and args[1] is Ellipsis:
                return all(_fits(v, args[0]) for v in value)
            return len(args) == len(value) and all(_fits(v, a) for v, a in zip(value, args))
        if origin is list and args:
            return all(_fits(v, args[0]) for v in value)
        return True
    if origin in (dict, Mapping) or hint in (dict, Mapping) or origin is typing.Mapping:
        return isinstance(value, Mapping)
    if origin is Sequence or hint is Sequence:
        return isinstance(value, Sequence) and not isinstance(value, str)
    if isinstance(hint, type):
        if issubclass(hint, Layer) or hint is TensorType:
            return isinstance(value, hint)
        return True
    return True


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A class's field annotations, evaluated once per class (a file may hold 20,000 layers)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation this Python cannot evaluate: skip the check
        return {}


class SpecReader:
    """Rebuilds a net from a spec and tensors; every problem is a NetError saying where."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], allow_functions: bool) -> None:
        self.tensors = tensors
        self.allow_functions = allow_functions
        self.classes = layer_classes()

    def tensor(self, name: Any, where: str) -> torch.Tensor:
        if not isinstance(name, str) or name not in self.tensors:
            raise NetError(f"{where}: the file names the tensor {name!r}, which it does not contain.")
        return self.tensors[name]

    def layer(self, spec: Any, path: tuple[str, ...]) -> Layer:
        where = _where(path)
        if not isinstance(spec, dict) or not isinstance(spec.get("$layer"), str):
            raise NetError(f"{where}: expected a layer, found {_short(spec)}.")
        kind = spec["$layer"]
        cls = self.classes.get(kind)
        if cls is None:
            raise NetError(f'{where}: the file names the layer "{kind}", which this symnet does not have; it may come from a newer version or a plugin that is not imported.{closest(kind, self.classes)}')
        where = f"{where} ({kind})"
        if getattr(cls, "imports_code", False) and not self.allow_functions:
            function = spec.get("fields", {}).get("function") if isinstance(spec.get("fields"), dict) else None
            raise NetError(f"{where}: the file contains a {kind} naming the Python function {function!r}; loading it would import and run code, so it is refused. Pass allow_functions=True if you trust the file.")
        fields_spec = spec.get("fields", {})
        arrays_spec = spec.get("arrays", {})
        if not isinstance(fields_spec, dict) or not isinstance(arrays_spec, dict):
            raise NetError(f"{where}: the layer's fields and arrays must be objects.")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in SKIPPED_FIELDS}
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for name, encoded in fields_spec.items():
            if name not in fields:
                raise NetError(f'{where}: the file gives the hyperparameter "{name}", which {kind} does not have; its hyperparameters: {", ".join(fields)}.{closest(str(name), fields)}')
            if name == "layers" and isinstance(encoded, dict) and "$dict" in encoded:
                value = self.members(encoded, path)
            else:
                value = self.value(encoded, (*path, name))
            hint = hints.get(name, Any)
            if not _fits(value, hint):
                raise NetError(f'{where}: the hyperparameter "{name}" must be {_hint_text(hint)}, but the file gives {value!r} ({type(value).__name__}).')
            values[name] = value
        arrays = {}
        for name, tensor_name in arrays_spec.items():
            arrays[name] = self.tensor(tensor_name, f'{where}, array "{name}"')
        try:
            return cls(**values, arrays=arrays)
        except NetError as error:
            raise type(error)(f"{where}: {error}") from None
        except Exception as error:  # a constructor meeting values no user would write
            raise NetError(f"{where}: the file's hyperparameters do not make a valid {kind}: {type(error).__name__}: {error}.") from None

    def members(self, encoded: Any, path: tuple[str, ...]) -> dict[str, Layer]:
        if not isinstance(encoded, dict) or not isinstance(encoded.get("$dict"), list):
            raise NetError(f"{_where(path)}: the layers must be a list of [name, layer] pairs.")
        result: dict[str, Layer] = {}
        for item in encoded["$dict"]:
            if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
                raise NetError(f"{_where(path)}: each member must be a [name, layer] pair, not {_short(item)}.")
            result[item[0]] = self.layer(item[1], (*path, item[0]))
        return result

    def value(self, encoded: Any, where: tuple[str, ...]) -> Any:
        if encoded is None or isinstance(encoded, bool | int | float | str):
            return encoded
        if isinstance(encoded, list):
            return [self.value(v, where) for v in encoded]
        if not isinstance(encoded, dict) or len([k for k in encoded if k.startswith("$")]) != 1:
            raise NetError(f"{_where(where)}: unreadable value {_short(encoded)}.")
        tag = next(k for k in encoded if k.startswith("$"))
        body = encoded[tag]
        if tag == "$layer":
            return self.layer(encoded, where)
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.value(v, where) for v in body)
        if tag == "$dict" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
            result = {}
            for k, v in body:
                key = self.value(k, where)
                try:
                    result[key] = self.value(v, where)
                except TypeError:
                    raise NetError(f"{_where(where)}: the key {key!r} cannot be a dict key.") from None
            return result
        if tag == "$slice" and isinstance(body, list) and len(body) == 3:
            parts = [self.value(v, where) for v in body]
            if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
                raise NetError(f"{_where(where)}: a slice needs integers or None, not {parts!r}.")
            return slice(*parts)
        if tag == "$type" and isinstance(body, dict):
            dims = body.get("dims")
            if dims is not None and not isinstance(dims, list):
                raise NetError(f"{_where(where)}: a port type needs a list of dims, not {dims!r}.")
            bound = body.get("bound")
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool) or bound < 1):
                raise NetError(f"{_where(where)}: a port type's bound must be a positive int, not {bound!r}.")
            return TensorType(None if dims is None else tuple(dims), body.get("element", "Real"), bound)
        if tag == "$port" and isinstance(body, list):
            return NetPort(*[self.value(v, where) for v in body])
        if tag == "$scaled":
            try:
                return Scaled(body)
            except NetError as error:
                raise NetError(f"{_where(where)}: {error}") from None
        if tag == "$coder":
            try:
                return coder_from_spec(body, allow_functions=self.allow_functions)
            except NetError as error:
                raise type(error)(f"{_where(where)}: {error}") from None
            except Exception as error:
                raise NetError(f"{_where(where)}: the file's coder is not valid: {type(error).__name__}: {error}.") from None
        if tag == "$tensor":
            tensor = self.tensor(body, _where(where))
            return tensor.numpy().copy() if encoded.get("numpy") else tensor.clone()
        if tag == "$symbol" and body in ("Automatic", "All"):
            return Automatic if body == "Automatic" else All
        if tag == "$function" and isinstance(body, str):
            if not self.allow_functions:
                raise NetError(f'{_where(where)}: the file names the Python function "{body}"; loading it would import and run code, so it is refused. Pass allow_functions=True if you trust the file.')
            return import_function(body, _where(where))
        raise NetError(f"{_where(where)}: unreadable value {_short(encoded)}.")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def spec_to_net(spec: Any, tensors: Mapping[str, torch.Tensor], allow_functions: bool = False, root: str = "NetChain") -> Layer:
    """The net a spec describes (see :func:`net_to_spec`)."""
    kind = spec.get("$layer") if isinstance(spec, dict) else None
    with deep_enough():
        return SpecReader(tensors, allow_functions).layer(spec, (kind if isinstance(kind, str) else root,))


def check_spec_roundtrip(net: Layer) -> Callable[[], Layer]:
    """For tests: a function rebuilding ``net`` from its spec."""
    spec, tensors = net_to_spec(net)
    return lambda: spec_to_net(spec, tensors, allow_functions=True)
