"""Entries of symnet/containers/mapthread.py: NetMapThreadOperator against the member's linear
map written out (lengths, depths and errors: tests/containers/test_mapthread.py)."""

import torch
import torch.nn.functional as F

from symnet import CatenateLayer, LinearLayer, NetGraph, NetMapThreadOperator, NetPort

from .entry import Entry


def join_and_project() -> NetGraph:
    return NetGraph({"join": CatenateLayer(), "linear": LinearLayer(3)}, [([NetPort("A"), NetPort("B")], "join", "linear")], ports={"A": 2, "B": 4})


def _threaded(a, x, y):
    return F.linear(torch.cat([x, y], -1), a["Net/linear/Weights"], a["Net/linear/Biases"])


def _replicated(a, x, y):
    return _threaded(a, x, y.unsqueeze(1).expand(-1, x.shape[1], -1))


ENTRIES = [
    Entry(lambda: NetMapThreadOperator(join_and_project(), ports={"A": (4, 2)}), _threaded, "threaded"),
    Entry(lambda: NetMapThreadOperator(join_and_project(), {"A": 1}, ports={"A": (3, 2)}), _replicated, "replicated"),
    Entry(lambda: NetMapThreadOperator(LinearLayer(2), 2, input=(2, 3, 4)), lambda a, x: F.linear(x, a["Net/Weights"], a["Net/Biases"]), "depth-2"),
]
