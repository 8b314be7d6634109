"""FunctionLayer: a Python function of torch tensors as a layer, saved by its import path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..errors import NetError
from ..functions import function_path, import_function
from ..types import TensorType
from .base import Layer, cache_field


@dataclass(frozen=True, eq=False, repr=False)
class FunctionLayer(Layer):
    """Applies a Python function to a batch: ``function(x)`` with the batch axis first.

    ``function`` is an import path ``"module:name"`` (``"torch.nn.functional:gelu"``) or an
    importable Python function; a file stores the path, and ``Import`` refuses to load it unless
    called with ``allow_functions=True`` (importing runs code). ``output`` is the output shape;
    without one, the output has the input's shape. Shapes are not checked by running the function.

    >>> layer = FunctionLayer("torch.nn.functional:softplus", input=2)
    >>> [round(v, 4) for v in layer([0.0, 1.0]).tolist()]
    [0.6931, 1.3133]
    """

    function: Any = None
    #: the function an import path names, imported on first use
    _function_cache: dict[str, Callable[..., Any]] = cache_field()

    #: loading this layer from a file imports Python code
    imports_code: ClassVar[bool] = True

    def validate(self) -> None:
        if isinstance(self.function, str):
            module, colon, name = self.function.partition(":")
            if not colon or not module or not name or not all(part.isidentifier() for part in (*module.split("."), *name.split("."))):
                raise NetError(f'FunctionLayer: the function must be an import path "module:name" such as "torch.nn.functional:gelu", not {self.function!r}.')
        elif not callable(self.function):
            raise NetError(f'FunctionLayer: give a Python function or an import path "module:name", not {self.function!r}.')

    @property
    def path(self) -> str | None:
        """The import path a file stores, or None for a function that has none."""
        return function_path(self.function)

    def prepare_forward(self) -> None:
        _ = self._callable  # imports the function now

    @property
    def _callable(self) -> Callable[..., Any]:
        if callable(self.function):
            return self.function  # type: ignore[no-any-return]
        if "function" not in self._function_cache:
            self._function_cache["function"] = import_function(self.function, "FunctionLayer")
        return self._function_cache["function"]

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        if self.output is None:
            t = types["Input"].unify(types["Output"])
            types["Input"] = t
            types["Output"] = TensorType(t.dims) if t.bound is not None else t
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:  # type: ignore[override]
        result = self._callable(x)
        if not isinstance(result, torch.Tensor):
            raise NetError(f"FunctionLayer: the function {self.path or self.function!r} returned a {type(result).__name__}, not a torch tensor; it must compute with torch operations on the batch.")
        expected = self.types["Output"]  # type: ignore[index]
        if expected.dims is not None:
            actual = tuple(result.shape[1:])
            if result.shape[:1] != x.shape[:1] or len(actual) != len(expected.dims) or any(isinstance(d, int) and d != a for d, a in zip(expected.dims, actual)):
                raise NetError(
                    f"FunctionLayer: the function {self.path or self.function!r} returned shape {actual} for each of {x.shape[0]} examples "
                    f"(a batch of shape {tuple(result.shape)}) but the layer's output is declared {expected}; give output= the shape it computes."
                )
        return result
