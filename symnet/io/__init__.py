"""Files: ``Export(path, net)`` and ``Import(path)``, chosen by the file's extension.

``.symnet`` is the native format (one safetensors file with the net's spec in its metadata;
see :mod:`symnet.io.native`); ``.onnx`` exports to or imports from ONNX (needs the ``onnx``
package; :mod:`symnet.io.onnx_import` lists what the importer reads: the operators of exported
CNNs, transformer encoders and recurrent nets). Loading never runs code unless ``allow_functions=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import NetError, boolean
from ..layers.base import Layer

FORMATS = (".symnet", ".onnx")


def _suffix(path: Any, function: str) -> str:
    if not isinstance(path, str | os.PathLike):
        raise NetError(f"{function}: the first argument must be a file path, not {type(path).__name__}.")
    suffix = Path(path).suffix.lower()
    if suffix == ".safetensors" and function == "Import" and Path(path).with_suffix(".symnet").exists():
        raise NetError(f'Import("{path}"): this is NetTrain\'s training state (arrays, optimizer, progress); the net saved beside it is "{Path(path).with_suffix(".symnet")}": import that file.')
    if suffix not in FORMATS:
        raise NetError(f'{function}("{path}"): unknown file format "{suffix}"; use one of {", ".join(FORMATS)}.')
    return suffix


def Export(path: str | os.PathLike[str], net: Layer, **options: Any) -> Path:
    """Write a net to a file: ``.symnet`` (native, every layer, encoders and decoders) or
    ``.onnx`` (the core layers; options go to the ONNX exporter). Returns the path.

    >>> import tempfile, os
    >>> net = NetInitialize(NetChain([LinearLayer(3), "Tanh"], input=2))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.symnet")
    >>> bool(np.allclose(Import(Export(path, net))([1.0, 2.0]), net([1.0, 2.0])))
    True
    """
    suffix = _suffix(path, "Export")
    if suffix == ".symnet":
        if options:
            raise NetError(f"Export: a .symnet file takes no options, but received {', '.join(options)}.")
        from .native import export_native

        return export_native(path, net)
    from .onnx_export import export_onnx

    return export_onnx(path, net, **options)


def Import(path: str | os.PathLike[str], *, allow_functions: bool = False) -> Layer:
    """Read a net from a ``.symnet`` or ``.onnx`` file.

    A file naming Python functions (a FunctionLayer, a "Function" coder) is refused unless
    ``allow_functions=True``, since loading them imports and runs code.
    """
    suffix = _suffix(path, "Import")
    # "no" is truthy: only a real bool may allow a file to import code.
    boolean(allow_functions, where=f'Import("{path}")', option="allow_functions")
    if suffix == ".symnet":
        from .native import import_native

        return import_native(path, allow_functions=allow_functions)
    from .onnx_import import import_onnx

    return import_onnx(path)


__all__ = ["Export", "Import"]
