"""The layer protocol shared by every layer and container.

A layer is a frozen dataclass of hyperparameters: a value. Its common keyword fields are
``input`` and ``output`` (port specifications: a shape, a TensorType, or a NetEncoder/NetDecoder)
and ``arrays`` (name → tensor, ``None`` until initialized), held as an :class:`Arrays` mapping
that copies on the way in and on the way out, so nothing done to a tensor changes the layer.
``types`` (the inferred type of every port and array) is computed at construction and is not a
constructor argument. A subclass declares, as pure functions:

- ``input_ports()`` / ``output_ports()``: port names (most layers: "Input" → "Output");
- ``array_names()``: the arrays it learns; ``state_array_names()``: arrays updated by
  training but not by gradients (a batch norm's moving statistics);
- ``infer(types) → types``: refine the types of ports and arrays from whatever is known, in
  either direction, raising ``ShapeError`` on a conflict;
- ``forward(arrays, *inputs, training) → output(s)``: torch functions on batched tensors;
- optionally ``init_array(name, shape, method, generator)``: its own initialization of an array
  (return None, the default, for the rule of :mod:`symnet.initialize`).

This module sits at the bottom of the package with the other specifications: it imports only
errors and types. Evaluation (``net(x)``) and the display (``repr``) belong to modules above
it, which attach their implementations with :func:`attach` when they are imported.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from html import escape as html_escape
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import NetError, ShapeError, closest, one_of
from ..symbols import Automatic
from ..types import UNKNOWN, VARYING, TensorType

MAX_INFERENCE_ROUNDS = 100

#: the default of ``Layer.__call__``'s port: Automatic (decode outputs), told apart from None (raw)
_DEFAULT_PORT = object()

#: Implementations attached from above (see :func:`attach`): "call" (net(x)), "symbolic" and
#: "is_symbolic" (net(x) on sympy values), "repr", "html".
_ATTACHED: dict[str, Callable[..., Any]] = {}

#: Types already solved by a container, handed to the next layer constructed (see
#: ``Layer._with_types``); consumed in ``__new__``, before any nested construction can see it.
_SOLVED_TYPES: ContextVar[Mapping[str, TensorType] | None] = ContextVar("symnet_solved_types", default=None)


def attach(name: str, implementation: Callable[..., Any]) -> None:
    """Give Layer an implementation that lives above it: ``"call"`` (``net(x)``), ``"repr"``
    and ``"html"``. Called by symnet.evaluation and symnet.display when they are imported."""
    _ATTACHED[name] = implementation


def cache_field() -> Any:
    """A declared field for a cache derived from the layer's value: not a constructor argument,
    not shown, not compared, and fresh (empty) in every new layer."""
    return field(default_factory=dict, init=False, repr=False, compare=False)


def derived_field() -> Any:
    """A declared field computed in ``__post_init__`` from the hyperparameters (not an argument)."""
    return field(default=None, init=False, repr=False, compare=False)


def port_type_of(spec: Any) -> TensorType:
    """The TensorType a port specification fixes: a shape, a type, or a coder's own type."""
    coder_type = getattr(spec, "port_type", None)
    if isinstance(coder_type, TensorType):
        return coder_type
    return TensorType.parse(spec)


def is_coder(spec: Any) -> bool:
    return isinstance(getattr(spec, "port_type", None), TensorType)


def as_array_tensor(name: str, value: Any) -> torch.Tensor | None:
    """A new float32 tensor (float64 stays float64) holding ``value``'s numbers: never a view of
    the caller's tensor or numpy array, so changing those later cannot change a layer."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        try:
            tensor = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as error:
            raise NetError(f'The array "{name}" must be numeric: {error}.') from None
    if not tensor.is_floating_point() or tensor.dtype not in (torch.float32, torch.float64):
        return tensor.to(torch.float32)  # a conversion is already a copy
    return tensor.clone()


class Arrays(Mapping[str, "torch.Tensor | None"]):
    """A layer's arrays, name → tensor (None until initialized), that cannot be changed: every
    read returns a copy, so ``layer.arrays["Weights"].add_(1)`` changes only the copy and the
    layer (and the module compiled from it) keeps its values.

    >>> layer = LinearLayer(2, input=3, arrays={"Weights": torch.ones(2, 3)})
    >>> layer.arrays["Weights"].add_(1).sum().item(), layer.arrays["Weights"].sum().item()
    (12.0, 6.0)
    """

    __slots__ = ("_tensors",)

    def __init__(self, tensors: Mapping[str, torch.Tensor | None]) -> None:
        # Callers hand over tensors nobody else holds (see Layer.__post_init__).
        self._tensors = dict(tensors)

    def __getitem__(self, name: str) -> torch.Tensor | None:
        tensor = self._tensors[name]
        return None if tensor is None else tensor.clone()

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def shape(self, name: str) -> tuple[int, ...] | None:
        """An array's shape, without copying it (None when it has no value yet)."""
        tensor = self._tensors[name]
        return None if tensor is None else tuple(tensor.shape)

    def dtype(self, name: str) -> torch.dtype | None:
        """An array's dtype, without copying it (None when it has no value yet)."""
        tensor = self._tensors[name]
        return None if tensor is None else tensor.dtype

    def missing(self) -> list[str]:
        """The names of the arrays without a value."""
        return [name for name, tensor in self._tensors.items() if tensor is None]

    def replacing(self, new: Mapping[str, Any]) -> Arrays:
        """These arrays with some replaced (values are copied in; None removes a value)."""
        return Arrays({**self._tensors, **{name: as_array_tensor(name, value) for name, value in new.items()}})

    def __repr__(self) -> str:
        shown = ", ".join(f"{name!r}: {'None' if t is None else tuple(t.shape)}" for name, t in self._tensors.items())
        return f"Arrays({{{shown}}})"


@dataclass(frozen=True, eq=False, repr=False)
class Layer:
    """The base of every layer and container; see the module docstring for the protocol."""

    input: Any = field(default=None, kw_only=True)
    output: Any = field(default=None, kw_only=True)
    arrays: Mapping[str, Any] = field(default_factory=dict, kw_only=True)
    #: the inferred type of every port and array (read-only); computed, never given
    types: Mapping[str, TensorType] = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]
    #: compiled torch modules by (device, precision), kept by symnet.engine
    _engine_cache: dict[Any, Any] = cache_field()

    #: whether the layer takes any number of inputs through ports Input1, Input2, …
    variadic: ClassVar[bool] = False
    #: whether ``forward`` takes the keyword ``lengths`` (each example's length along the first
    #: axis of its first input, int64 of shape (batch,), or None when every example is full
    #: length); the engine pads varying-length batches with zeros (see symnet/engine.py)
    uses_lengths: ClassVar[bool] = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        # The dataclass __init__ would raise a bare TypeError; say what the options are instead.
        fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        names = [f.name for f in fields]
        for name in kwargs:
            if name not in names:
                shown = [f.name for f in fields if not f.kw_only] + [f.name for f in fields if f.kw_only]
                raise NetError(f"{cls.__name__}: unknown option {name}=; its options are {', '.join(shown)}.{closest(name, shown)}")
        positional = [f.name for f in fields if not f.kw_only]
        if len(args) > len(positional):
            raise NetError(f"{cls.__name__} takes at most {len(positional)} positional argument{'s' if len(positional) != 1 else ''} ({', '.join(positional) or 'none'}) but was given {len(args)}.")
        layer = super().__new__(cls)
        solved = _SOLVED_TYPES.get()
        if solved is not None:
            # Consumed here, so that layers constructed inside this one infer their own types.
            _SOLVED_TYPES.set(None)
            object.__setattr__(layer, "types", solved)
        return layer

    # -- the protocol -------------------------------------------------------------------------
    def input_ports(self) -> tuple[str, ...]:
        return ("Input",)

    def output_ports(self) -> tuple[str, ...]:
        return ("Output",)

    def array_names(self) -> tuple[str, ...]:
        return ()

    def state_array_names(self) -> tuple[str, ...]:
        return ()

    def validate(self) -> None:
        """Check hyperparameters; raise NetError naming the bad one."""

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], *inputs: torch.Tensor, training: bool = False) -> Any:
        raise NotImplementedError

    def prepare_forward(self) -> None:
        """Compute now what ``forward`` would otherwise compute on first use (a parsed expression,
        an imported function), so that ``forward`` only reads the layer. NetTrain's
        ``compile=True`` calls it before ``torch.compile`` traces the net: a cache filled while
        tracing is a dict changed inside the graph, after which Dynamo breaks the graph at every
        read of a layer's ``types`` (a mappingproxy whose dict it can no longer trust)."""

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        """Each example's length along the output's first axis, given its first input's
        ``lengths``: the same lengths when the output keeps a "Varying" first axis, else None.
        A layer that changes the sequence's length (AppendLayer: ``lengths + 1``) overrides it."""
        output = (self.types or {}).get(self.output_ports()[0]) if self.output_ports() else None
        if output is not None and output.dims and output.dims[0] == VARYING:
            return lengths
        return None

    def lengths_input(self) -> int:
        """Which input's lengths ``forward`` receives (an index into ``input_ports()``): the first
        by default; AttentionLayer masks the keys by the lengths of "Key", an operator that
        replicates some inputs reads the lengths of the first input it maps over."""
        return 0

    def output_lengths_input(self) -> int:
        """Which input's lengths ``output_lengths`` is given: the outputs of AttentionLayer follow
        "Query" (in cross-attention the keys' lengths say nothing of the output's)."""
        return self.lengths_input()

    def init_array(self, name: str, shape: tuple[int, ...], method: str, generator: torch.Generator) -> torch.Tensor | None:
        """This layer's own initial value of an array, or None for symnet.initialize's rule."""
        return None

    # -- construction -------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.validate()
        names = self.array_names()
        unknown = [k for k in self.arrays if k not in names]
        if unknown:
            known = ", ".join(f'"{n}"' for n in names) or "none"
            raise NetError(f'{self.kind} has no array "{unknown[0]}" (its arrays: {known}).{closest(unknown[0], names)}')
        if isinstance(self.arrays, Arrays):
            # Another layer's arrays (dataclasses.replace): immutable, so shared, not copied.
            given = self.arrays._tensors
            arrays = Arrays({name: given.get(name) for name in names})
        else:
            arrays = Arrays({name: as_array_tensor(name, self.arrays.get(name)) for name in names})
        object.__setattr__(self, "arrays", arrays)
        if self.types is None:
            object.__setattr__(self, "types", MappingProxyType(self.solve(self._initial_types(), (self.kind,))))

    def _with_types(self, types: Mapping[str, TensorType], **changes: Any) -> Layer:
        """A copy (with ``changes``) whose types are ``types``, already solved by a container:
        the private road by which inference passes types down without a constructor argument."""
        token = _SOLVED_TYPES.set(MappingProxyType(dict(types)))
        try:
            return dataclasses.replace(self, **changes)
        finally:
            _SOLVED_TYPES.reset(token)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def port_specs(self) -> dict[str, Any]:
        """User specifications of ports given at construction (``input=``, ``output=``, …)."""
        specs: dict[str, Any] = {}
        inputs = self.input_ports()
        if self.input is not None:
            if isinstance(self.input, list) and (self.variadic or inputs[:1] == ("Input1",)):
                # A list gives one specification per input port (Input1, Input2, …).
                if len(self.input) != len(inputs):
                    raise NetError(f"{self.kind} has the inputs {', '.join(inputs)}, but input= lists {len(self.input)} shapes.")
                specs.update(zip(inputs, self.input))
            elif self.variadic:
                specs.update((port, self.input) for port in inputs)
            else:
                specs[inputs[0]] = self.input
        if self.output is not None:
            specs[self.output_ports()[0]] = self.output
        return specs

    def _initial_types(self) -> dict[str, TensorType]:
        types = {p: UNKNOWN for p in (*self.input_ports(), *self.output_ports())}
        for port, spec in self.port_specs().items():
            try:
                types[port] = port_type_of(spec)
            except ShapeError as error:  # a bad input=/output= names the port it was given for
                raise ShapeError(f"{self.kind}/{port}: {error}") from None
        for name in self.arrays:
            shape = self.arrays.shape(name)  # type: ignore[attr-defined]
            types[name] = UNKNOWN if shape is None else TensorType(shape)
        return types

    def solve(self, types: dict[str, TensorType], path: tuple[str, ...]) -> dict[str, TensorType]:
        """Run ``infer`` until nothing changes; errors name the layer's path."""
        for _ in range(MAX_INFERENCE_ROUNDS):
            try:
                refined = self.infer(dict(types))
            except ShapeError as error:
                context = ""
                if " conflicts with " in str(error) and "port" not in str(error):
                    # a bare unification failure inside infer: show what the ports are
                    shown = ", ".join(f"{p} {types[p]}" for p in (*self.input_ports(), *self.output_ports(), *self.array_names()))
                    context = f" (ports and arrays: {shown}). Fix: change the layer's sizes or what it is connected to."
                raise ShapeError(f"{'/'.join(path)} ({self.kind}): {error}{context}") from None
            new = {}
            for key, value in refined.items():
                try:
                    new[key] = types[key].unify(value) if key in types else value
                except ShapeError:
                    what = "array" if key in self.array_names() else "port"
                    raise ShapeError(
                        f'{"/".join(path)} ({self.kind}): the {what} "{key}" must be {value} by this layer\'s sizes but is {types[key]} '
                        "by its connections or arguments. Fix: change the layer's sizes or what it is connected to."
                    ) from None
            if new == types:
                return new
            types = new
        return types

    def merged_types(self, types: Mapping[str, TensorType], path: tuple[str, ...]) -> dict[str, TensorType]:
        """This layer's types unified with what its surroundings know of some ports."""
        merged = dict(self.types)  # type: ignore[arg-type]
        for port, t in types.items():
            try:
                merged[port] = merged[port].unify(t)
            except ShapeError:
                raise ShapeError(f'{"/".join(path)} ({self.kind}): port "{port}" has type {merged[port]} but is connected to {t}.') from None
        return merged

    def refine(self, types: Mapping[str, TensorType], path: tuple[str, ...]) -> Layer:
        """This layer with its port types narrowed by what its surroundings know."""
        merged = self.merged_types(types, path)
        if merged == self.types:
            return self
        solved = self.solve(merged, path)
        return self._with_types(solved) if solved != self.types else self

    # -- queries ------------------------------------------------------------------------------
    def port_type(self, port: str) -> TensorType:
        return self.types[port]  # type: ignore[index]

    def coders(self) -> dict[str, Any]:
        """Encoders and decoders attached to this layer's ports."""
        return {port: spec for port, spec in self.port_specs().items() if is_coder(spec)}

    @property
    def initialized(self) -> bool:
        return not self.arrays.missing()  # type: ignore[attr-defined]

    def array_shape(self, name: str) -> tuple[Any, ...] | None:
        return self.types[name].dims  # type: ignore[index]

    def with_arrays(self, arrays: Mapping[str, Any]) -> Layer:
        """A copy whose named arrays are replaced; the layer keeps the types it was solved with
        (in its container), narrowed by the new arrays' shapes, which must agree with them."""
        new = self.arrays.replacing(arrays)  # type: ignore[attr-defined]
        types = dict(self.types)
        for name in arrays:
            shape = new.shape(name)
            if shape is not None:
                try:
                    types[name] = types[name].unify(TensorType(shape))
                except ShapeError:
                    raise ShapeError(f'{self.kind}: the array "{name}" must have the shape {types[name].shape_str()}, not {shape}.') from None
        return self._with_types(self.solve(types, (self.kind,)), arrays=new)

    # -- evaluation ---------------------------------------------------------------------------
    def __call__(
        self,
        data: Any,
        port: Any = _DEFAULT_PORT,
        *,
        batch_size: int | None = None,
        target_device: str | tuple[str, Any] = "cpu",
        working_precision: str = "Real32",
        evaluation_mode: str = "Test",
        **unknown: Any,
    ) -> Any:
        """Evaluate on one example or a batch; ``port`` names an output, a NetPort, a
        NetPortGradient or a decoder property (default: every output, decoded by its decoder);
        ``None`` gives raw arrays. Options: ``batch_size``, ``target_device`` ("cpu", "cuda"),
        ``working_precision`` ("Real32", "Real64"), ``evaluation_mode`` ("Test", "Train")."""
        if unknown:
            options = ("batch_size", "target_device", "working_precision", "evaluation_mode")
            name = next(iter(unknown))
            raise NetError(f"{self.kind}: unknown option {name}=; the options are {', '.join(options)}.{closest(name, options)}")
        symbolic = _ATTACHED.get("symbolic")
        if symbolic is not None and _ATTACHED["is_symbolic"](data):  # sympy values: the net's formula (symnet/formula)
            return symbolic(self, data, None if port is _DEFAULT_PORT else port)
        return _ATTACHED["call"](
            self, data, Automatic if port is _DEFAULT_PORT else port,
            batch_size=batch_size, target_device=target_device, working_precision=working_precision, evaluation_mode=evaluation_mode,
        )

    def __repr__(self) -> str:
        implementation = _ATTACHED.get("repr")
        return implementation(self) if implementation is not None else f"{self.kind}(…)"

    def _repr_html_(self) -> str:
        implementation = _ATTACHED.get("html")
        return implementation(self) if implementation is not None else html_escape(repr(self))

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


def takes_net(function: Callable[..., Any]) -> Callable[..., Any]:
    """Make a public function whose first argument is a net say so when it is given something else."""

    @functools.wraps(function)
    def checked(net: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(net, Layer):
            raise NetError(f"{function.__name__}: the first argument must be a net (a layer, NetChain or NetGraph), not {type(net).__name__} {net!r:.60}.")
        return function(net, *args, **kwargs)

    return checked


def same_type(types: dict[str, TensorType], a: str = "Input", b: str = "Output") -> dict[str, TensorType]:
    """Infer ``a`` and ``b`` to have the same type (elementwise layers)."""
    t = types[a].unify(types[b])
    types[a] = t
    types[b] = t
    return types


def require_rank(t: TensorType, ranks: tuple[int, ...], port: str, what: str) -> None:
    if t.rank is not None and t.rank not in ranks:
        wanted = " or ".join(str(r) for r in ranks)
        raise ShapeError(f'port "{port}" needs a tensor of rank {wanted} ({what}) but received {t} of rank {t.rank}.')


def option_value(kind: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Check that a string hyperparameter is one of ``allowed``; suggest the closest."""
    return one_of(value, allowed, where=kind, option=name, error=NetError)
