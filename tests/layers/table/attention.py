"""Entries of symnet/layers/attention.py: AttentionLayer against the attention formula written
out with an explicit softmax (masks and lengths are tested in test_attention.py)."""

import math

import torch

from symnet import AttentionLayer

from .entry import Entry


def _reference(multi_head: bool, scale: float = 1.0, causal: bool = False):
    def reference(a, key, value, query):
        if not multi_head:
            key, value, query = key.unsqueeze(2), value.unsqueeze(2), query.unsqueeze(2)
        q = query @ a["Weights"].T if "Weights" in a else query
        scores = torch.einsum("bmhk,bnhk->bhmn", q, key) * scale
        if causal:
            m, n = scores.shape[-2:]
            scores = scores.masked_fill(~torch.ones(m, n, dtype=torch.bool).tril(), -math.inf)
        out = torch.einsum("bhmn,bnhv->bmhv", scores.softmax(-1), value)
        return out if multi_head else out.squeeze(2)

    return reference


ENTRIES = [
    Entry(lambda: AttentionLayer(input=[(5, 3), (5, 2), (4, 4)]), _reference(False), "bilinear"),
    Entry(lambda: AttentionLayer("Dot", score_rescaling="DimensionSqrt", input=[(5, 3), (5, 2), (4, 3)]), _reference(False, 1 / math.sqrt(3)), "dot"),
    Entry(lambda: AttentionLayer("Dot", mask="Causal", multi_head=True, input=[(5, 2, 3), (5, 2, 2), (5, 2, 3)]), _reference(True, causal=True), "causal-multihead"),
]
