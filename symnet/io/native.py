"""The native net file: one safetensors file with the spec in its metadata.

The metadata holds ``"format": "symnet"``, ``"format_version"``, ``"spec"`` (the JSON of
:func:`symnet.io.spec.net_to_spec`) and ``"checksum"``, a SHA-256 over the version, the spec
and every tensor's name, dtype, shape and bytes, so a damaged file is refused instead of
loading wrong weights. The tensors are the net's arrays, named by their path in the net.
Writes go to a temporary file that replaces the target only when complete. Nothing here
unpickles or evaluates anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ..errors import NetError
from ..layers.base import Layer
from .spec import MAX_SPEC_NESTING, deep_enough, net_to_spec, spec_nesting, spec_to_net

FORMAT = "symnet"
FORMAT_VERSION = 1


def _checksum(version: str, spec_text: str, tensors: Mapping[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    digest.update(version.encode())
    digest.update(b"\0")
    digest.update(spec_text.encode())
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        digest.update(b"\0" + name.encode() + b"\0" + str(tensor.dtype).encode() + str(tuple(tensor.shape)).encode() + b"\0")
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def net_bytes(net: Layer) -> bytes:
    """The file's content for ``net``."""
    if not isinstance(net, Layer):
        raise NetError(f"Export: expected a net (a layer, NetChain or NetGraph), not {type(net).__name__}.")
    spec, tensors = net_to_spec(net)
    with deep_enough():
        spec_text = json.dumps(spec, ensure_ascii=False, allow_nan=True)
    version = str(FORMAT_VERSION)
    metadata = {"format": FORMAT, "format_version": version, "spec": spec_text, "checksum": _checksum(version, spec_text, tensors)}
    return save_safetensors(tensors, metadata=metadata)


def write_atomically(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise NetError(f'Export: the directory "{directory}" does not exist.')
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def export_native(path: str | os.PathLike[str], net: Layer) -> Path:
    write_atomically(path, net_bytes(net))
    return Path(path)


def _metadata(content: bytes, where: str) -> dict[str, str]:
    if len(content) < 8:
        raise NetError(f"{where}: the file is truncated ({len(content)} bytes); it is not a complete symnet file.")
    (length,) = struct.unpack("<Q", content[:8])
    if length > len(content) - 8:
        raise NetError(f"{where}: the file is truncated or corrupted (its header claims {length} bytes but only {len(content) - 8} follow).")
    try:
        header = json.loads(content[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NetError(f"{where}: the file is corrupted: its header is not valid JSON.") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise NetError(f"{where}: not a symnet net file (a safetensors file without symnet's metadata, or a corrupted one).")
    return metadata


def net_from_bytes(content: bytes, where: str, allow_functions: bool = False) -> Layer:
    """The net in a file's content; any problem is a NetError naming ``where``."""
    metadata = _metadata(content, where)
    version_text = metadata.get("format_version")
    # isdigit() alone takes "²", which int() refuses: only ASCII digits are a version.
    if not isinstance(version_text, str) or not version_text.isascii() or not version_text.isdigit():
        raise NetError(f"{where}: the file is corrupted: its format version {version_text!r} is not a number.")
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise NetError(f"{where}: the file has format version {version}, newer than this symnet reads (up to {FORMAT_VERSION}). Upgrade symnet to load it.")
    try:
        tensors = load_safetensors(content)
    except Exception as error:  # safetensors reports damage with its own exception types
        raise NetError(f"{where}: the file is corrupted: {error}.") from None
    spec_text = metadata.get("spec")
    if not isinstance(spec_text, str):
        raise NetError(f"{where}: the file is corrupted: it has no net spec.")
    if metadata.get("checksum") != _checksum(version_text, spec_text, tensors):
        raise NetError(f"{where}: the file is corrupted: its checksum does not match its content.")
    if spec_nesting(spec_text) > MAX_SPEC_NESTING:
        raise NetError(f"{where}: the net spec nests more than {MAX_SPEC_NESTING} levels deep; symnet reads nets nested up to a few hundred containers deep.")
    try:
        with deep_enough():
            spec = json.loads(spec_text)
    except (ValueError, RecursionError):
        raise NetError(f"{where}: the file is corrupted: its net spec is not valid JSON.") from None
    try:
        return spec_to_net(spec, tensors, allow_functions=allow_functions)
    except NetError as error:
        raise type(error)(f"{where}: {error}") from None
    except RecursionError:
        raise NetError(f"{where}: the net spec is nested too deeply to read.") from None


def import_native(path: str | os.PathLike[str], allow_functions: bool = False) -> Layer:
    where = f'Import("{path}")'
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError:
        raise NetError(f'{where}: no such file.') from None
    except OSError as error:
        raise NetError(f"{where}: cannot read the file: {error.strerror}.") from None
    return net_from_bytes(content, where, allow_functions)


def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata of a net file (format, version, spec) without building the net."""
    content = Path(path).read_bytes()
    metadata = _metadata(content, f'"{path}"')
    return {**metadata, "spec": json.loads(metadata["spec"])}
