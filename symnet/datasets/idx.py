"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzip-compressed or plain.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of axes), one
big-endian uint32 per axis, then the values in C order, big-endian. A name ending in ``.gz``
is gzip-compressed.

>>> import tempfile, os
>>> from symnet.datasets import read_idx, write_idx
>>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte.gz")
>>> write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
>>> read_idx(path).shape
(2, 3, 4)
"""

from __future__ import annotations

import gzip
import os
import struct
from typing import IO, Any

import numpy as np

from ..errors import NetError

#: IDX type code → numpy dtype (big-endian as stored)
TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
CODES = {dtype.newbyteorder("="): code for code, dtype in TYPES.items()}


def _open(path: str, mode: str, compressed: bool) -> IO[bytes]:
    if compressed:
        return gzip.open(path, mode)  # type: ignore[return-value]
    return open(path, mode)  # noqa: SIM115


def _read_into(file: IO[bytes], view: memoryview) -> int:
    """Fill ``view`` from ``file``; the number of bytes read (less only at the end of the file)."""
    filled = 0
    while filled < len(view):
        count = file.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
    return filled


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file, contiguous and in native byte order."""
    path = os.fspath(path)
    try:
        with _open(path, "rb", path.endswith(".gz")) as file:
            header = file.read(4)
            if len(header) != 4 or header[:2] != b"\0\0" or header[2] not in TYPES:
                raise NetError(f'read_idx: "{path}" is not an IDX file (its first bytes are {header!r}, expected 00 00, a type code and the number of axes).')
            dtype, rank = TYPES[header[2]], header[3]
            dims = struct.unpack(f">{rank}I", file.read(4 * rank))
            array = np.empty(dims, dtype=dtype)
            count = _read_into(file, memoryview(array.reshape(-1)).cast("B")) if array.size else 0
            if count != array.nbytes:
                raise NetError(f'read_idx: "{path}" is truncated: its header promises shape {dims} ({array.nbytes} bytes of data) but it holds {count} bytes.')
    except FileNotFoundError:
        raise NetError(f'read_idx: the file "{path}" does not exist.') from None
    except (OSError, EOFError, struct.error) as error:
        raise NetError(f'read_idx: cannot read "{path}": {error}. The file is corrupt or truncated; delete it and fetch it again.') from None
    if dtype.byteorder not in ("=", "|"):
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(path: str | os.PathLike[str], array: Any) -> None:
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) to an IDX file; a name
    ending in ``.gz`` is compressed. The file appears complete or not at all."""
    path = os.fspath(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in CODES:
        raise NetError(f"write_idx: IDX files hold uint8, int8, int16, int32, float32 or float64 values, not {array.dtype}.")
    if array.ndim > 255:
        raise NetError(f"write_idx: IDX files hold at most 255 axes; the array has {array.ndim}.")
    code = CODES[native]
    data = np.ascontiguousarray(array, dtype=TYPES[code])
    temporary = f"{path}.partial-{os.getpid()}"
    try:
        with _open(temporary, "wb", path.endswith(".gz")) as file:
            file.write(bytes((0, 0, code, array.ndim)))
            file.write(struct.pack(f">{array.ndim}I", *array.shape))
            file.write(data.tobytes())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


__all__ = ["read_idx", "write_idx"]
