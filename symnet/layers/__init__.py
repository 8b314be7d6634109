"""Layers: one file per family; each layer a frozen dataclass with a pure torch forward."""
