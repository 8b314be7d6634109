"""NetExtract: take a layer, an array or a port's coder out of a net."""

from __future__ import annotations

from typing import Any

from .containers.tree import is_container
from .errors import NetError, closest
from .layers.base import Layer, takes_net


@takes_net
def NetExtract(net: Layer, spec: Any) -> Any:
    """A member (by index, name or path), an array as a numpy array, or a port's coder.

    >>> net = NetInitialize(NetChain({"linear": LinearLayer(2), "act": "Tanh"}, input=3))
    >>> NetExtract(net, ["linear", "Weights"]).shape
    (2, 3)
    >>> NetExtract(net, "act").function
    'Tanh'
    >>> NetExtract(net, -1).kind
    'ElementwiseLayer'
    """
    if isinstance(spec, list) and spec and isinstance(spec[0], list):
        return [NetExtract(net, s) for s in spec]
    path = list(spec) if isinstance(spec, list | tuple) else [spec]
    current: Any = net
    walked: list[str] = [net.kind]
    for position, item in enumerate(path):
        last = position == len(path) - 1
        if is_container(current):
            if isinstance(item, str) and item not in current.layers and item in current.coders():
                if last:
                    return current.coders()[item]
            key = current.key_of(int(item) if isinstance(item, str) and item.lstrip("-").isdigit() and item not in current.layers else item)
            current = current.layers[key]
            walked.append(key if key.isdigit() else f'"{key}"')
            continue
        if isinstance(current, Layer):
            if last and item in current.array_names():
                array = current.arrays[item]
                if array is None:
                    raise NetError(f'NetExtract: the array "{item}" of {"/".join(walked)} ({current.kind}) is not initialized; call NetInitialize first.')
                return array.detach().cpu().numpy().copy()
            if last and item in current.coders():
                return current.coders()[item]
            names = current.array_names()
            raise NetError(f'NetExtract: {"/".join(walked)} ({current.kind}) has no array or layer {item!r}; its arrays: {", ".join(names) or "none"}.{closest(str(item), names)}')
    return current

