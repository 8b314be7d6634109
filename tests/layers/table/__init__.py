"""The layer table: example entries of every public layer, checked by tests/layers/test_table.py.

Each entry (an :class:`Entry`) builds a small layer and gives a reference: a function that
computes the same output(s) with torch or numpy directly. For every entry, test_table.py checks
- inferred shapes == actual shapes and values == the reference (tests/conftest.py's harness),
- ``torch.autograd.gradcheck`` in float64, for the inputs and the learned arrays,
- a round trip through a ``.symnet`` file (Export, Import): the same spec and bit-for-bit the
  same outputs,
- ONNX export, run by onnxruntime, against symnet's own outputs (atol 1e-5), and the file
  imported back (or, for the entries listed in test_table.ONNX_NOT_IMPORTED, refused by name),
and test_every_public_layer_has_an_entry fails for a public layer with no entry (a Layer
subclass exported by ``symnet``, or one the .symnet format knows).

Adding a layer (say ``GatedLayer`` in symnet/layers/gated.py):
1. Append an entry to ENTRIES in the module named like the layer's own module
   (tests/layers/table/gated.py; for a new module, add it to FAMILIES below)::

       Entry(lambda: GatedLayer(4, input=(3, 5)), lambda a, x: torch.sigmoid(x) * F.linear(x, a["Weights"]), "matrix")

   ``a`` holds the layer's initialized arrays (float64) by name; the other arguments are the
   batched inputs, one per input port. Give several entries where options change the
   computation (strides, levels, target forms), each with a short label.
2. Where random uniform inputs in [-1, 1) of the declared shapes do not fit, pass
   ``inputs=`` (or ``low=``/``high=``); ``gradcheck=False`` and ``onnx="why not"`` need a
   reason (see :class:`Entry`).
3. Run ``pytest tests/layers/test_table.py -k GatedLayer``.
Behaviour that is not a reference comparison (inference, errors, training-only effects) stays
in the layer's own test module (tests/layers/test_gated.py).
"""

from . import attention, augmentation, basic, containers, conv, extract, function, loss, mapthread, norm, operators, pairembedding, pooling, recurrent, reduce, sequence, structure
from .entry import Entry

FAMILIES = (basic, conv, pooling, norm, structure, reduce, sequence, recurrent, attention, loss, function, augmentation, containers, operators, mapthread, pairembedding, extract)

ENTRIES: list[Entry] = [entry for family in FAMILIES for entry in family.ENTRIES]

__all__ = ["ENTRIES", "FAMILIES", "Entry"]
