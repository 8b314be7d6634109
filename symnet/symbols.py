"""Wolfram's ``Automatic`` and ``All``: sentinels every layer of the package may use.

They sit at the bottom of the package (beside errors and types) so that a layer's
hyperparameter can default to ``All`` without importing the engine.
"""

from __future__ import annotations


class _Automatic:
    """Wolfram's ``Automatic``: let symnet choose."""

    _instance = None

    def __new__(cls) -> _Automatic:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Automatic"


class _All:
    """Wolfram's ``All``."""

    _instance = None

    def __new__(cls) -> _All:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "All"


Automatic = _Automatic()
All = _All()

__all__ = ["All", "Automatic"]
