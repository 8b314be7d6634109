"""NetInitialize: give a net's arrays values, seeded and reproducible."""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from .containers.tree import map_leaves
from .errors import NetError, ShapeError, one_of
from .layers.base import Layer, takes_net
from .layers.initializers import default_init
from .symbols import All

METHODS = ("Kaiming", "Xavier", "Orthogonal", "Random")
DEFAULT_SEED = 1234


def _seed_for(seed: int, path: tuple[str, ...], name: str) -> int:
    """Each array's own seed, so initializing one layer never shifts another's values."""
    digest = hashlib.sha256(f"{seed}/{'/'.join(path)}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _initialize(layer: Layer, path: tuple[str, ...], everything: bool, method: str, seed: int, root: str) -> Layer:
    """One leaf with its missing (or, with ``everything``, all) arrays given values."""
    new_arrays: dict[str, Any] = {}
    missing = layer.arrays.missing()  # type: ignore[attr-defined]
    for name in layer.array_names():
        if name not in missing and not everything:
            continue
        t = layer.types[name]  # type: ignore[index]
        if not t.fixed:
            where = "/".join([root, *path]) or root
            ports = ", ".join(f"{p} {layer.types[p]}" for p in (*layer.input_ports(), *layer.output_ports()))  # type: ignore[index]
            raise ShapeError(
                f'{where} ({layer.kind}): the array "{name}" has the shape {t.shape_str()}, which could not be inferred (ports: {ports}). '
                "Fix: give the net's input a shape (e.g. input=784), or give the layer its sizes explicitly."
            )
        generator = torch.Generator().manual_seed(_seed_for(seed, path, name))
        shape = tuple(t.dims)  # type: ignore[arg-type]
        # A layer may initialize an array its own way (a batch norm's scale starts at one).
        value = layer.init_array(name, shape, method, generator)
        new_arrays[name] = (default_init(name, shape, method, generator) if value is None else value).to(torch.float32)
    if not new_arrays:
        return layer
    return layer.with_arrays(new_arrays)


@takes_net
def NetInitialize(net: Layer, which: Any = None, *, method: str = "Kaiming", random_seeding: Any = None) -> Layer:
    """Give the net's uninitialized arrays values (all arrays when ``which`` is ``All``).

    ``method`` is "Kaiming" (default), "Xavier", "Orthogonal" or "Random"; ``random_seeding``
    an int for a given seed (the default is a fixed seed, so the same net initializes the same
    way every time) or "Inherited" to draw from torch's global generator.

    >>> net = NetInitialize(NetChain([3, "Tanh"], input=2), random_seeding=7)
    >>> net.initialized
    True
    >>> bool((NetExtract(NetInitialize(net, All, random_seeding=8), [0, "Weights"]) != NetExtract(net, [0, "Weights"])).any())
    True
    """
    one_of(method, METHODS, where="NetInitialize", option="method")
    if which is not None and which is not All:
        raise NetError(f"NetInitialize: the second argument must be All (re-initialize every array) or omitted, not {which!r}.")
    if random_seeding is None:
        seed = DEFAULT_SEED
    elif random_seeding == "Inherited":
        seed = int(torch.randint(0, 2**62, (1,)).item())
    elif isinstance(random_seeding, int):
        seed = random_seeding
    else:
        seed = int.from_bytes(hashlib.sha256(repr(random_seeding).encode()).digest()[:8], "little")
    # Shapes do not change, so containers keep their solved types.
    return map_leaves(net, lambda path, leaf: _initialize(leaf, path, which is All, method, seed, net.kind), same_types=True)
