"""AttentionLayer against an explicit softmax reference and nn.MultiheadAttention's core;
masks (causal, key padding from lengths), multi-head, dropout, gradcheck, errors."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from symnet import AttentionLayer, NetError, NetExtract, NetGraph, NetInitialize, NetPort, ShapeError, TensorType
from symnet.engine import LeafModule


def reference(key, value, query, weights=None, scale=1.0, causal=False, lengths=None):
    """softmax(scores) . values written out, for inputs (batch, length, heads, size)."""
    q = query if weights is None else query @ weights.T
    scores = torch.einsum("bmhk,bnhk->bhmn", q, key) * scale
    n, m = key.shape[1], query.shape[1]
    allowed = torch.ones(key.shape[0], 1, m, n, dtype=torch.bool)
    if causal:
        allowed = allowed & torch.ones(m, n, dtype=torch.bool).tril()
    if lengths is not None:
        allowed = allowed & (torch.arange(n).view(1, 1, 1, n) < lengths.view(-1, 1, 1, 1))
    scores = scores.masked_fill(~allowed, -math.inf)
    return torch.einsum("bhmn,bnhv->bmhv", scores.softmax(-1), value)


@pytest.mark.parametrize("scoring", ["Dot", "Bilinear"])
@pytest.mark.parametrize("mask", [None, "Causal"])
@pytest.mark.parametrize("multi_head", [False, True])
def test_attention_matches_reference(scoring, mask, multi_head, check_layer):
    heads = (2,) if multi_head else ()
    q_size = 3 if scoring == "Dot" else 4
    layer = AttentionLayer(scoring, score_rescaling="DimensionSqrt", mask=mask, multi_head=multi_head,
                           input=[(5, *heads, 3), (5, *heads, 2), (5, *heads, q_size)])
    assert layer.types["Output"] == TensorType((5, *heads, 2))

    def expected(a, key, value, query):
        lift = (lambda t: t) if multi_head else (lambda t: t.unsqueeze(2))
        out = reference(lift(key), lift(value), lift(query), a.get("Weights"), 1 / math.sqrt(3), mask == "Causal")
        return out if multi_head else out.squeeze(2)

    check_layer(layer, expected)


def test_attention_single_query_vector(check_layer):
    layer = AttentionLayer(input=[("Varying", 3), ("Varying", 2), 4])
    assert layer.types["Output"] == TensorType((2,))
    key, value, query = (torch.rand(2, 6, 3, dtype=torch.float64), torch.rand(2, 6, 2, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64))
    check_layer(NetInitialize(AttentionLayer(input=[(6, 3), (6, 2), 4])),
                lambda a, k, v, q: reference(k.unsqueeze(2), v.unsqueeze(2), q.view(2, 1, 1, 4), a["Weights"]).view(2, 2),
                inputs=[key, value, query])


def test_attention_equals_multihead_attention_core():
    # nn.MultiheadAttention with identity projections is scaled dot-product attention per head.
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, bias=False, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([torch.eye(4)] * 3))
        mha.out_proj.weight.copy_(torch.eye(4))
    x = torch.rand(3, 5, 4, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 4])
    padding = torch.arange(5).view(1, 5) >= lengths.view(3, 1)
    want, _ = mha(x, x, x, key_padding_mask=padding, need_weights=False)
    layer = AttentionLayer("Dot", score_rescaling="DimensionSqrt", multi_head=True, input=[(5, 2, 2)] * 3)
    split = x.view(3, 5, 2, 2)
    got = layer.forward({}, split, split, split, lengths=lengths).reshape(3, 5, 4)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(got[b, :n], want[b, :n])


@pytest.mark.parametrize("mask", [None, "Causal"])
def test_attention_padding_invariance(mask):
    layer = NetInitialize(AttentionLayer(mask=mask, input=[("Varying", 3), ("Varying", 2), ("Varying", 3)]))
    module = LeafModule(layer).double()
    arrays = {n: getattr(module, n) for n in module.names}
    lengths = torch.tensor([4, 1, 3])
    x = torch.rand(3, 4, 3, dtype=torch.float64) * (torch.arange(4).view(1, 4, 1) < lengths.view(3, 1, 1))
    v = torch.rand(3, 4, 2, dtype=torch.float64) * (torch.arange(4).view(1, 4, 1) < lengths.view(3, 1, 1))
    x.requires_grad_(True)
    batched = layer.forward(arrays, x, v, x, lengths=lengths)
    (batched * (torch.arange(4).view(1, 4, 1) < lengths.view(3, 1, 1))).sum().backward()
    batch_grad = x.grad.clone()
    for b, n in enumerate(lengths.tolist()):
        alone_x = x.detach()[b : b + 1, :n].clone().requires_grad_(True)
        alone = layer.forward(arrays, alone_x, v[b : b + 1, :n], alone_x)
        torch.testing.assert_close(batched[b, :n], alone[0])
        alone.sum().backward()
        torch.testing.assert_close(batch_grad[b, :n], alone_x.grad[0])
        assert bool((batch_grad[b, n:] == 0).all())
    assert torch.autograd.gradcheck(lambda k, w: layer.forward({"Weights": w}, k, v, k, lengths=lengths),
                                    (x.detach().requires_grad_(True), arrays["Weights"].detach().double().requires_grad_(True)), eps=1e-6, atol=1e-5)


def test_attention_dropout_only_in_training():
    layer = AttentionLayer("Dot", dropout=0.5, input=[(50, 2), (50, 2), (50, 2)])
    x = torch.rand(4, 50, 2)
    torch.testing.assert_close(layer.forward({}, x, x, x), layer.forward({}, x, x, x, training=False))
    torch.manual_seed(0)
    trained = layer.forward({}, x, x, x, training=True)
    assert not torch.allclose(trained, layer.forward({}, x, x, x))
    # dropped weights are zeros and kept ones are scaled by 1 / (1 - p): the mean is kept
    assert abs(trained.mean().item() - layer.forward({}, x, x, x).mean().item()) < 0.1


def test_attention_through_net_call():
    layer = NetInitialize(AttentionLayer(input={"Key": ("Varying", 2), "Value": ("Varying", 3), "Query": ("Varying", 2)}))
    out = layer({"Key": np.ones((4, 2)), "Value": np.arange(12.0).reshape(4, 3), "Query": np.ones((2, 2))})
    np.testing.assert_allclose(out, np.tile(np.arange(12.0).reshape(4, 3).mean(0), (2, 1)), atol=1e-5)


def test_attention_errors():
    with pytest.raises(NetError, match=r'AttentionLayer: scoring must be one of "Dot", "Bilinear"; received "Dott"\.'):
        AttentionLayer("Dott")
    with pytest.raises(NetError, match=r'AttentionLayer: mask must be one of None, "Causal"; received "causal"\.'):
        AttentionLayer(mask="causal")
    with pytest.raises(NetError, match=r"AttentionLayer: dropout must be a number in \[0, 1\)"):
        AttentionLayer(dropout=1.5)
    with pytest.raises(ShapeError, match=r'AttentionLayer \(AttentionLayer\): port "Key" needs a sequence of vectors \(length, size\) but has shape \(5,\) of rank 1\.'):
        AttentionLayer(input=[5, (5, 2), 2])
    with pytest.raises(ShapeError, match=r'"Dot" scoring needs keys and queries of the same size, but port "Key" has vectors of size 3 and port "Query" of size 4'):
        AttentionLayer("Dot", input=[(5, 3), (5, 2), (5, 4)])
    with pytest.raises(ShapeError, match=r'port "Key" has the length 5 but port "Value" has 6; they must agree\.'):
        AttentionLayer(input=[(5, 3), (6, 2), (5, 4)])
    with pytest.raises(NetError, match=r'AttentionLayer: port "Key" received an empty sequence'):
        AttentionLayer("Dot").forward({}, torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), lengths=torch.tensor([3, 0]))
    with pytest.raises(NetError, match=r"input= must give the inputs Key, Value and Query"):
        AttentionLayer(input=[(5, 3), (6, 2)])


def test_cross_attention_output_follows_the_query_lengths():
    # keys from one sequence, queries from another of other lengths: each example's output has
    # one vector per query, and the padded keys get no weight (the result equals the example alone)
    net = NetInitialize(NetGraph({"attend": AttentionLayer()}, [(NetPort("Source"), NetPort("attend", "Key")), (NetPort("Source"), NetPort("attend", "Value")), (NetPort("Target"), NetPort("attend", "Query"))],
                                 ports={"Source": ("Varying", 2), "Target": ("Varying", 3)}), random_seeding=2)
    rng = np.random.default_rng(0)
    sources = [rng.random((n, 2)).astype(np.float32) for n in (4, 1, 3)]
    targets = [rng.random((m, 3)).astype(np.float32) for m in (2, 5, 1)]
    batch = net({"Source": sources, "Target": targets})
    for source, target, result in zip(sources, targets, batch):
        alone = net({"Source": source, "Target": target})
        assert np.shape(result) == (len(target), 2)
        np.testing.assert_allclose(result, alone, atol=1e-5)
        weights = NetExtract(net, ["attend", "Weights"])
        scores = source @ (target @ weights.T).T  # (n, m): key . W . query
        expected = (np.exp(scores) / np.exp(scores).sum(0)).T @ source
        np.testing.assert_allclose(result, expected, atol=1e-5)
