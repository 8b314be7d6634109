"""Layers: one file per family; each layer a frozen dataclass with a pure torch forward.

Adding a layer: write a ``@dataclass(frozen=True, eq=False, repr=False)`` subclass of
:class:`symnet.layers.base.Layer` in its family's file, with its hyperparameters as fields,
``array_names()`` if it learns arrays, ``infer(types)`` (refine port and array types in both
directions, raising ``ShapeError``) and ``forward(arrays, *inputs, training)`` (torch functions
on batched tensors). State computed from the hyperparameters is a declared field
(``derived_field()`` / ``cache_field()``), never an attribute set on the side. Export it from
``symnet/__init__.py`` and give it an entry in the layer table (``tests/layers/table/``).
Files, NetInitialize, surgery and the engine find it without registration. A layer imports only
from ``errors``, ``types``, ``symbols`` and the other layer modules: the import contract in
pyproject.toml (``make lint``) refuses anything from above.
"""
