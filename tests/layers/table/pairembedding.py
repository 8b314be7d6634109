"""Entries of symnet/containers/pairembedding.py: NetPairEmbeddingOperator against the two
embeddings and their distance written out (training and errors: tests/containers/test_pairembedding.py)."""

import torch.nn.functional as F

from symnet import LinearLayer, NetPairEmbeddingOperator

from .entry import Entry


def _reference(distance: str):
    def reference(a, pair):
        a_embedded, b_embedded = (F.linear(pair[:, i], a["Net/Weights"], a["Net/Biases"]) for i in (0, 1))
        if distance == "CosineDistance":
            return 1 - (a_embedded * b_embedded).sum(1) / (a_embedded.norm(dim=1) * b_embedded.norm(dim=1))
        return (a_embedded - b_embedded).norm(dim=1)

    return reference


ENTRIES = [
    Entry(lambda: NetPairEmbeddingOperator(LinearLayer(3), input=4), _reference("EuclideanDistance"), "euclidean"),
    Entry(lambda: NetPairEmbeddingOperator(LinearLayer(3), distance_function="CosineDistance", input=4), _reference("CosineDistance"), "cosine"),
]
