"""NetChain: layers applied one after another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NetError
from ..layers.base import Layer
from ..layers.basic import ElementwiseLayer, LinearLayer, SoftmaxLayer, activation_name
from .base import Connection, Container, key_text, member_items


def to_layer(spec: Any) -> Layer:
    """Read the chain shorthand: an int is a LinearLayer, a name or known function an
    ElementwiseLayer, a list a nested NetChain."""
    if isinstance(spec, Layer):
        return spec
    if isinstance(spec, int) and not isinstance(spec, bool):
        return LinearLayer(spec)
    if isinstance(spec, tuple) and all(isinstance(d, int) for d in spec):
        return LinearLayer(spec)
    if isinstance(spec, list):
        return NetChain(spec)
    if isinstance(spec, str):
        if spec in ("Softmax", "SoftmaxLayer"):
            return SoftmaxLayer()
        return ElementwiseLayer(spec)
    if activation_name(spec) is not None:
        return ElementwiseLayer(spec)
    raise NetError(f"{_shown(spec)} is not a layer: use a layer, an int (a LinearLayer), an activation name such as \"Ramp\", or a list (a nested NetChain).")


def normalize_layers(layers: Any, container: str) -> dict[str, Layer]:
    """Members given as a list or dict, in the chain shorthand, as key → layer."""
    result: dict[str, Layer] = {}
    for key, spec in member_items(layers, container):
        try:
            result[key] = to_layer(spec)
        except NetError as error:
            raise type(error)(f"{container}/{key_text(key)}: {error}") from None
    return result


@dataclass(frozen=True, eq=False, repr=False)
class NetChain(Container):
    """Layers applied in sequence, given as a list or a dict of named layers.

    Shorthand: an int is a LinearLayer, an activation name (``"Ramp"``, ``"Tanh"``) an
    ElementwiseLayer, a nested list a nested NetChain. The chain's inputs are its first layer's
    inputs and its outputs its last layer's outputs.

    >>> net = NetChain([LinearLayer(30), "Tanh", LinearLayer(3), "Tanh", 3, "LogisticSigmoid"], input=2)
    >>> net.types["Output"]
    TensorType((3,))
    >>> NetChain([LinearLayer(), SoftmaxLayer()], input=784, output=10).layers["0"].types["Weights"]
    TensorType((10, 784))
    """

    def _members(self, layers: Any) -> dict[str, Layer]:
        return normalize_layers(layers, self.kind)

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        keys = list(self.layers)
        first, last = self.layers[keys[0]], self.layers[keys[-1]]
        connections: list[Connection] = [((None, port), (keys[0], port)) for port in first.input_ports()]
        for previous, key in zip(keys, keys[1:]):
            before, layer = self.layers[previous], self.layers[key]
            if len(before.output_ports()) != 1:
                raise NetError(f"NetChain/{key_text(previous)} ({before.kind}) has {len(before.output_ports())} outputs; only the last layer of a chain may have several. Use a NetGraph.")
            if len(layer.input_ports()) != 1:
                raise NetError(f"NetChain/{key_text(key)} ({layer.kind}) takes {len(layer.input_ports())} inputs; only the first layer of a chain may take several. Use a NetGraph.")
            connections.append(((previous, before.output_ports()[0]), (key, layer.input_ports()[0])))
        connections += [((keys[-1], port), (None, port)) for port in last.output_ports()]
        return connections, list(first.input_ports()), list(last.output_ports())


def _shown(spec: Any) -> str:
    """A member that is not a layer, shown without a memory address (``<object object at 0x…>``)."""
    text = repr(spec)
    return f"a {type(spec).__name__}" if " at 0x" in text else text
