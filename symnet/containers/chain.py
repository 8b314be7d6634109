"""NetChain: layers applied one after another."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NetError
from .base import Connection, Container, key_text


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
