"""The "Class", "Boolean" and "Function" encoders (images: image.py; text: text.py).

A class encoder maps labels to class indices (``encoding="Index"``, port type ``Index(n)``) or
to one-hot vectors (``encoding="UnitVector"``, port type ``(n,)``). ``indices(values)`` is the
vectorized label → index map that NetTrain uses for targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError, NetError, closest
from ..types import Index, TensorType
from .base import REGISTRY, Coder, check_choice, derived, function_path, import_function, normalize_tuple, register


def _listing(labels: tuple[Any, ...], limit: int = 20) -> str:
    shown = ", ".join(repr(label) for label in labels[:limit])
    return shown + (f", … ({len(labels)} in all)" if len(labels) > limit else "")


def _homogeneous_kind(values: tuple[Any, ...]) -> str | None:
    """'U' if every value is a str, 'i' if every value is an int (not bool), else None."""
    if all(isinstance(v, str) for v in values):
        return "U"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in values):
        return "i"
    return None


@dataclass(frozen=True, repr=False)
class Labelled(Coder):
    """Shared by the Class encoder and decoder: the labels and the label → index map."""

    kind: ClassVar[str] = "Class"

    labels: tuple[Any, ...] = ()
    #: label → index, the labels' common kind, and (for numeric labels) a sorted search table
    _lookup: dict[Any, int] = derived()
    _label_kind: str = derived()
    _sorted: Any = derived()

    def __post_init__(self) -> None:
        normalize_tuple(self, "labels")
        if not isinstance(self.labels, tuple):
            raise NetError(f"Class {self.role[3:].lower()}: the labels must be a list, not {type(self.labels).__name__}.")
        labels = tuple(v.item() if isinstance(v, np.generic) else v for v in self.labels)
        object.__setattr__(self, "labels", labels)
        if not labels:
            raise NetError(f'Class {self.role[3:].lower()}: give the list of labels, such as NetEncoder("Class", ["cat", "dog"]).')
        lookup: dict[Any, int] = {}
        for position, label in enumerate(labels):
            try:
                if label in lookup:
                    raise NetError(f"Class {self.role[3:].lower()}: the label {label!r} appears twice (at {lookup[label]} and {position}); labels must be distinct.")
            except TypeError:
                raise NetError(f"Class {self.role[3:].lower()}: the label {label!r} is not hashable; use strings, numbers or booleans as labels.") from None
            lookup[label] = position
        object.__setattr__(self, "_lookup", lookup)
        kind = _homogeneous_kind(labels)
        object.__setattr__(self, "_label_kind", kind)
        if kind is not None:
            array = np.asarray(labels)
            order = np.argsort(array, kind="stable")
            object.__setattr__(self, "_sorted", (array[order], order.astype(np.int64)))

    def indices(self, values: Any) -> np.ndarray:
        """The class index of each label in ``values`` (any shape), as int64; unknown labels raise.

        >>> NetEncoder("Class", ["cat", "dog", "fish"]).indices(["fish", "cat"])
        array([2, 0])
        """
        if isinstance(values, torch.Tensor):
            values = values.cpu().numpy()
        array = self._as_array(values)
        kind = self._label_kind  # type: ignore[attr-defined]
        if kind is not None and array.size and (array.dtype.kind == kind or (kind == "i" and array.dtype.kind == "u")):
            sorted_labels, order = self._sorted  # type: ignore[attr-defined]
            position = np.clip(np.searchsorted(sorted_labels, array), 0, len(sorted_labels) - 1)
            found = sorted_labels[position] == array
            if not np.all(found):
                self._unknown(array.reshape(-1), int(np.flatnonzero(~found.reshape(-1))[0]))
            return order[position]
        flat = array.reshape(-1) if array.dtype == object else array.reshape(-1).tolist()
        lookup = self._lookup  # type: ignore[attr-defined]
        result = np.empty(len(flat), dtype=np.int64)
        for position, value in enumerate(flat):
            try:
                result[position] = lookup[value.item() if isinstance(value, np.generic) else value]
            except (KeyError, TypeError):
                self._unknown(flat, position)
        return result.reshape(array.shape)

    def _as_array(self, values: Any) -> np.ndarray:
        """Values as an array: typed (str or int) when the labels are, else a 1-D object array."""
        if isinstance(values, np.ndarray):
            return values
        if self._label_kind is not None:  # type: ignore[attr-defined]
            try:
                array = np.asarray(values)
                if array.dtype != object:
                    return array
            except ValueError:
                pass
        items = list(values) if isinstance(values, list | tuple) else [values]
        array = np.empty(len(items), dtype=object)
        for position, item in enumerate(items):
            array[position] = item
        return array

    def _unknown(self, values: Any, position: int) -> None:
        value = values[position]
        value = value.item() if isinstance(value, np.generic) else value
        hint = closest(str(value), [str(label) for label in self.labels]) if isinstance(value, str) else ""
        where = f" (at position {position})" if len(values) > 1 else ""
        raise InputError(f"Class {self.role[3:].lower()}: the label {value!r}{where} is not one of the {len(self.labels)} known labels: {_listing(self.labels)}.{hint}")

    def _is_batch(self, data: Any) -> bool:
        if isinstance(data, np.ndarray | torch.Tensor):
            return data.ndim > 0
        if isinstance(data, list):
            return True
        if isinstance(data, tuple):
            try:
                return data not in self._lookup  # type: ignore[attr-defined]
            except TypeError:
                return True
        return False


@register
@dataclass(frozen=True, repr=False)
class ClassEncoder(Labelled):
    """Class labels to indices (``encoding="Index"``) or one-hot vectors (``"UnitVector"``).

    >>> encoder = NetEncoder("Class", ["cat", "dog"])
    >>> encoder.port_type
    TensorType((), element='Integer', bound=2)
    >>> encoder.encode(["dog", "cat", "dog"])[0]
    tensor([1, 0, 1])
    >>> NetEncoder("Class", ["cat", "dog"], "UnitVector").encode("dog")
    (tensor([[0., 1.]]), False)
    """

    role: ClassVar[str] = "NetEncoder"

    encoding: str = "Index"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("Class encoder", "encoding", self.encoding, ("Index", "UnitVector"))

    @property
    def port_type(self) -> TensorType:
        return Index(len(self.labels)) if self.encoding == "Index" else TensorType((len(self.labels),))

    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        """One label or a batch (a list or array) → (int64 (N,) or float32 (N, n), whether a batch)."""
        batch = self._is_batch(data)
        indices = torch.from_numpy(np.ascontiguousarray(self.indices(data if batch else [data])))
        if self.encoding == "UnitVector":
            return F.one_hot(indices, len(self.labels)).to(torch.float32), batch
        return indices, batch

    def inverse(self) -> Coder:
        # By the registry, not an import: decoders.py builds on this module, not the reverse.
        return REGISTRY[("NetDecoder", "Class")](self.labels)  # type: ignore[call-arg]


def _check_booleans(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.bool_:
        return array
    if array.dtype != object and np.issubdtype(array.dtype, np.number) and np.all((array == 0) | (array == 1)):
        return array.astype(np.bool_)
    bad = next(v for v in array.reshape(-1).tolist() if not (isinstance(v, bool) or v in (0, 1)))
    raise InputError(f"Boolean encoder: expected True or False but received {bad!r}.")


@register
@dataclass(frozen=True, repr=False)
class BooleanEncoder(Coder):
    """True/False to the real scalars 1.0/0.0.

    >>> NetEncoder("Boolean").encode([True, False])
    (tensor([1., 0.]), True)
    """

    role: ClassVar[str] = "NetEncoder"
    kind: ClassVar[str] = "Boolean"

    @property
    def port_type(self) -> TensorType:
        return TensorType(())

    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        if isinstance(data, torch.Tensor):
            data = data.cpu().numpy()
        batch = isinstance(data, list | tuple) or (isinstance(data, np.ndarray) and data.ndim > 0)
        array = _check_booleans(np.asarray(data if batch else [data], dtype=None if batch or not isinstance(data, bool) else np.bool_))
        return torch.from_numpy(array.astype(np.float32)), batch

    def inverse(self) -> Coder:
        return REGISTRY[("NetDecoder", "Boolean")]()


def port_type_from(shape: Any) -> TensorType:
    """A Function coder's shape: an int, a tuple, "Real", "Varying", a TensorType, or a spec dict."""
    if isinstance(shape, dict):
        dims = shape.get("dims")
        return TensorType(None if dims is None else tuple(dims), shape.get("element", "Real"), shape.get("bound"))
    return TensorType.parse(shape)


def shape_spec(shape: Any) -> Any:
    t = port_type_from(shape)
    return {"dims": None if t.dims is None else list(t.dims), "element": t.element, "bound": t.bound}


@dataclass(frozen=True, repr=False)
class FunctionCoder(Coder):
    """Shared by the Function encoder and decoder: a user function and the port shape."""

    kind: ClassVar[str] = "Function"

    function: Callable[..., Any] | None = None
    shape: Any = None

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise NetError(f"Function {self.role[3:].lower()}: give a function, such as {self.role}(\"Function\", my_function, (3,)); received {self.function!r}.")
        if isinstance(self.shape, list):
            object.__setattr__(self, "shape", tuple(self.shape))
        port_type_from(self.shape)

    @property
    def port_type(self) -> TensorType:
        return port_type_from(self.shape)

    def to_spec(self) -> dict[str, Any]:
        where = f"Function {self.role[3:].lower()}"
        return {"coder": self.role, "kind": self.kind, "function": function_path(self.function, where), "shape": shape_spec(self.shape)}  # type: ignore[arg-type]

    @classmethod
    def from_spec(cls, spec: dict[str, Any], allow_functions: bool = False) -> Coder:
        function = import_function(spec["function"], f"Function {cls.role[3:].lower()}", allow_functions)
        return cls(function, port_type_from(spec["shape"]))


@register
@dataclass(frozen=True, repr=False)
class FunctionEncoder(FunctionCoder):
    """Any data to tensors through ``function`` (applied to each example), giving ``shape``.

    A list is a batch (the function is applied to each item); anything else is one example.

    >>> encoder = NetEncoder("Function", len, "Real")
    >>> encoder.encode(["ab", "abc"])
    (tensor([2., 3.]), True)
    """

    role: ClassVar[str] = "NetEncoder"

    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        batch = isinstance(data, list)
        items = data if batch else [data]
        t = self.port_type
        arrays = []
        for position, item in enumerate(items):
            try:
                value = np.asarray(self.function(item))  # type: ignore[misc]
            except Exception as error:
                raise InputError(f"Function encoder: {getattr(self.function, '__name__', 'the function')} failed on example {position}: {type(error).__name__}: {error}") from error
            if t.dims is not None and (len(value.shape) != len(t.dims) or any(isinstance(d, int) and d != s for d, s in zip(t.dims, value.shape))):
                raise InputError(f"Function encoder: the function gave shape {value.shape} for example {position} but the encoder declares {t.shape_str()}.")
            arrays.append(value)
        try:
            stacked = np.stack(arrays)
        except ValueError:
            raise InputError(f"Function encoder: the function gave examples of different shapes ({arrays[0].shape} and others); a batch needs one shape.") from None
        tensor = torch.from_numpy(np.ascontiguousarray(stacked, dtype=np.int64 if t.element == "Integer" else np.float32))
        return tensor, batch

    def inverse(self) -> Coder:
        raise NetError('NetDecoder: a "Function" encoder has no inverse; give the decoding function: NetDecoder("Function", function, shape).')


__all__ = ["BooleanEncoder", "ClassEncoder", "FunctionCoder", "FunctionEncoder", "Labelled"]
