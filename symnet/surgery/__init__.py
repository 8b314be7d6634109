"""Net surgery: new nets made from old ones, keeping every array that still fits.

Every function returns a new net and leaves its argument unchanged. Layers are named by index
(from 0; negative counts from the end) or by name, nested layers by a path list such as
``["block", 0]``. Shapes are inferred again after each operation; an array whose shape no
longer fits is reported in a ``ShapeError`` naming the layer and both shapes, unless the caller
passes ``drop_mismatched_arrays=True`` (those arrays are then left uninitialized, for
``NetInitialize`` to fill).
"""

from .flatten import NetFlatten, NetRename
from .join import NetAppend, NetDelete, NetInsert, NetJoin, NetPrepend
from .replace import NetReplace, NetReplacePart
from .take import NetDrop, NetTake

__all__ = ["NetAppend", "NetDelete", "NetDrop", "NetFlatten", "NetInsert", "NetJoin", "NetPrepend", "NetRename", "NetReplace", "NetReplacePart", "NetTake"]
