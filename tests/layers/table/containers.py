"""Entries of symnet/containers/: NetChain and NetGraph, with references built from their members' arrays."""

import torch
import torch.nn.functional as F

from symnet import LinearLayer, NetChain, NetGraph, NetPort, SoftmaxLayer, ThreadingLayer

from .entry import Entry


def _chain_reference(a: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    hidden = torch.tanh(F.linear(x, a["linear/Weights"], a["linear/Biases"]))
    return torch.softmax(F.linear(hidden, a["out/0/Weights"], a["out/0/Biases"]), -1)


def _graph_reference(a: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    hidden = F.linear(x, a["a/Weights"], a["a/Biases"])
    return torch.tanh(hidden) + torch.relu(hidden)


def _two_inputs_reference(a: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    left = F.linear(x, a["left/Weights"], a["left/Biases"])
    return left * y, torch.tanh(y)


ENTRIES = [
    Entry(lambda: NetChain({"linear": LinearLayer(4), "act": "Tanh", "out": NetChain([LinearLayer(2), SoftmaxLayer()])}, input=3), _chain_reference, "nested"),
    Entry(
        lambda: NetGraph(
            {"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus")},
            [(NetPort("Input"), "a", "b", "sum"), ("a", "c", "sum"), ("sum", NetPort("Result"))],
            input=3,
        ),
        _graph_reference,
        # a ramp of a sum of random values: away from its kink, finite differences are valid
        "fan-out-fan-in",
    ),
    Entry(
        lambda: NetGraph(
            {"left": LinearLayer(3), "times": ThreadingLayer("Times"), "act": "Tanh"},
            [(NetPort("X"), "left", "times"), (NetPort("Y"), "times"), ("times", NetPort("Product")), (NetPort("Y"), "act", NetPort("Squashed"))],
            ports={"X": 2, "Y": 3},
        ),
        _two_inputs_reference,
        "two-inputs-two-outputs",
    ),
]
