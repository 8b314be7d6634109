"""Entries of symnet/layers/function.py: FunctionLayer."""

import torch.nn.functional as F

from symnet import FunctionLayer

from .entry import Entry

ENTRIES = [
    Entry(lambda: FunctionLayer("torch.nn.functional:softplus", input=3), lambda a, x: F.softplus(x), "import-path"),
]
