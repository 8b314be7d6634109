"""Entries of symnet/containers/operators.py: the operators against loops and torch's
bidirectional GRU, with the member nets' arrays (lengths and errors: tests/containers/test_operators.py)."""

import torch
import torch.nn.functional as F
from torch import nn

from symnet import CatenateLayer, GatedRecurrentLayer, LinearLayer, NetBidirectionalOperator, NetFoldOperator, NetGraph, NetMapOperator, NetNestOperator, NetPort

from .entry import Entry


def fold_step() -> NetGraph:
    """s' = tanh(W . [x, s] + b): a step of a recurrence for NetFoldOperator."""
    return NetGraph({"join": CatenateLayer(), "linear": LinearLayer(3), "tanh": "Tanh"},
                    [([NetPort("Input"), NetPort("State")], "join", "linear", "tanh")], ports={"Input": 2, "State": 3})


def _fold_reference(a, x):
    state = torch.zeros(x.shape[0], 3, dtype=x.dtype)
    states = []
    for t in range(x.shape[1]):
        state = torch.tanh(F.linear(torch.cat([x[:, t], state], -1), a["Net/linear/Weights"], a["Net/linear/Biases"]))
        states.append(state)
    return torch.stack(states, 1)


def _bidirectional_reference(a, x):
    # torch's bidirectional GRU with the two members' arrays: (r, z, n) stacking, zero second bias
    gru = nn.GRU(2, 3, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for key, suffix in (("ForwardNet", ""), ("BackwardNet", "_reverse")):
            gates = ("ResetGate", "InputGate", "MemoryGate")
            getattr(gru, f"weight_ih_l0{suffix}").copy_(torch.cat([a[f"{key}/{g}InputWeights"] for g in gates]))
            getattr(gru, f"weight_hh_l0{suffix}").copy_(torch.cat([a[f"{key}/{g}StateWeights"] for g in gates]))
            getattr(gru, f"bias_ih_l0{suffix}").copy_(torch.cat([a[f"{key}/{g}Biases"] for g in gates]))
            getattr(gru, f"bias_hh_l0{suffix}").zero_()
    return gru(x)[0]


def _nest_reference(a, x):
    for _ in range(3):
        x = torch.tanh(F.linear(x, a["Net/0/Weights"], a["Net/0/Biases"]))
    return x


ENTRIES = [
    Entry(lambda: NetMapOperator(LinearLayer(2), input=(4, 3)), lambda a, x: F.linear(x, a["Net/Weights"], a["Net/Biases"])),
    Entry(lambda: NetFoldOperator(fold_step(), input=(4, 2)), _fold_reference),
    Entry(lambda: NetNestOperator([LinearLayer(3), "Tanh"], 3, input=3), _nest_reference),
    Entry(lambda: NetBidirectionalOperator(GatedRecurrentLayer(3), input=(4, 2)), _bidirectional_reference),
]
