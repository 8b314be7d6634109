"""NetPort and NetPortGradient: naming a port of a net, or the gradient at one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _path(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(parts) == 1 and isinstance(parts[0], list | tuple):
        return tuple(parts[0])
    return tuple(parts)


@dataclass(frozen=True, init=False)
class NetPort:
    """A port: ``NetPort("Input")`` of a graph, ``NetPort("conv1", "Output")`` or
    ``NetPort(["block", "conv1", "Output"])`` of a layer at any depth.

    >>> NetPort(["conv1", "Output"]).path
    ('conv1', 'Output')
    """

    path: tuple[Any, ...]

    def __init__(self, *parts: Any) -> None:
        object.__setattr__(self, "path", _path(parts))

    def __repr__(self) -> str:
        return f"NetPort({', '.join(repr(p) for p in self.path)})"


@dataclass(frozen=True, init=False)
class NetPortGradient:
    """The gradient of the net's summed outputs at a port (``NetPortGradient("Input")``) or
    with respect to an array (``NetPortGradient(["linear", "Weights"])``)."""

    path: tuple[Any, ...]

    def __init__(self, *parts: Any) -> None:
        object.__setattr__(self, "path", _path(parts))

    def __repr__(self) -> str:
        return f"NetPortGradient({', '.join(repr(p) for p in self.path)})"
