"""SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer,
SequenceIndicesLayer: values, lengths (each example within its own length), gradients, errors."""

import numpy as np
import pytest
import torch

from symnet import (
    EmbeddingLayer,
    NetChain,
    NetError,
    NetInitialize,
    SequenceIndicesLayer,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    ShapeError,
    TensorType,
)

LENGTHS = torch.tensor([4, 2, 3])


def padded(seed=0, steps=4, size=2):
    x = torch.rand(3, steps, size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return x * (torch.arange(steps).view(1, steps, 1) < LENGTHS.view(3, 1, 1))


def test_sequence_layers_match_slicing(check_layer):
    check_layer(SequenceLastLayer(input=(4, 2)), lambda a, x: x[:, -1])
    check_layer(SequenceMostLayer(input=(4, 2)), lambda a, x: x[:, :-1])
    check_layer(SequenceRestLayer(input=(4, 2)), lambda a, x: x[:, 1:])
    check_layer(SequenceReverseLayer(input=(4, 2)), lambda a, x: x.flip(1))
    assert SequenceMostLayer(input=(4, 2)).types["Output"] == TensorType((3, 2))
    assert SequenceRestLayer(output=("Varying", 5)).types["Input"] == TensorType(("Varying", 5))
    assert SequenceLastLayer(input=("Varying", 3)).types["Output"] == TensorType((3,))


@pytest.mark.parametrize(
    "layer, alone",
    [
        (SequenceLastLayer(), lambda x: x[-1]),
        (SequenceMostLayer(), lambda x: x[:-1]),
        (SequenceRestLayer(), lambda x: x[1:]),
        (SequenceReverseLayer(), lambda x: x.flip(0)),
    ],
)
def test_sequence_layers_with_lengths(layer, alone):
    x = padded().requires_grad_(True)
    out = layer.forward({}, x, lengths=LENGTHS)
    out_lengths = layer.output_lengths(LENGTHS) if hasattr(layer, "output_lengths") and layer.output_lengths(LENGTHS) is not None else None
    for b, length in enumerate(LENGTHS.tolist()):
        want = alone(x[b, :length])
        if out_lengths is None and want.dim() == 1:
            torch.testing.assert_close(out[b], want)
        else:
            n = len(want)
            torch.testing.assert_close(out[b, :n], want)
            assert bool((out[b, n:] == 0).all()), "padding stays zero"
    # gradients in float64, lengths fixed
    assert torch.autograd.gradcheck(lambda x: layer.forward({}, x, lengths=LENGTHS), (x,), eps=1e-6, atol=1e-5)


def test_sequence_output_lengths():
    assert SequenceMostLayer().output_lengths(LENGTHS).tolist() == [3, 1, 2]
    assert SequenceRestLayer().output_lengths(LENGTHS).tolist() == [3, 1, 2]
    assert SequenceLastLayer().output_lengths(LENGTHS) is None


def test_sequence_indices():
    layer = SequenceIndicesLayer(10, input=("Varying", 2))
    assert layer.types["Output"] == TensorType(("Varying",), "Integer", 10)
    out = layer.forward({}, padded(), lengths=LENGTHS)
    assert out.tolist() == [[0, 1, 2, 3], [0, 1, 0, 0], [0, 1, 2, 0]]
    assert layer.forward({}, padded()).tolist() == [[0, 1, 2, 3]] * 3
    # positional embeddings the Wolfram way: positions into an EmbeddingLayer
    net = NetInitialize(NetChain([SequenceIndicesLayer(6), EmbeddingLayer(3)], input="Varying"))
    assert net.layers["1"].types["Weights"].dims == (6, 3)
    assert net([5.0, 1.0, 2.0]).shape == (3, 3)


def test_sequence_errors():
    with pytest.raises(NetError, match=r'SequenceLastLayer: port "Input" received a sequence of length 0 \(example 1 of the batch\), but it needs at least 1 element; give every example at least 1\.'):
        SequenceLastLayer().forward({}, padded(), lengths=torch.tensor([4, 0, 3]))
    with pytest.raises(NetError, match=r'SequenceMostLayer: port "Input" received a sequence of length 0'):
        SequenceMostLayer().forward({}, torch.zeros(2, 0, 3))
    with pytest.raises(ShapeError, match=r'SequenceLastLayer \(SequenceLastLayer\): port "Input" needs a sequence .* but received the scalar \(\)'):
        SequenceLastLayer(input="Real")
    with pytest.raises(ShapeError, match=r'SequenceRestLayer \(SequenceRestLayer\): port "Input" has shape \(1, 3\), a sequence of one element; SequenceRestLayer needs at least 2'):
        SequenceRestLayer(input=(1, 3))
    # lengths beyond a positional table, found from the type or from the data
    with pytest.raises(ShapeError, match=r'SequenceIndicesLayer \(SequenceIndicesLayer\): port "Input" has sequences of length 12, beyond the 10 positions of max_length=10; shorten the sequences or use a larger max_length\.'):
        SequenceIndicesLayer(10, input=12)
    net = NetInitialize(NetChain({"positions": SequenceIndicesLayer(4), "embedding": EmbeddingLayer(3)}, input="Varying"))
    with pytest.raises(NetError, match=r'NetChain/"positions" \(SequenceIndicesLayer\): port "Input" has sequences of length 5, beyond the 4 positions of max_length=4'):
        net(np.ones(5))
    with pytest.raises(NetError, match=r"SequenceIndicesLayer: port \"Input\" received a sequence of length 5, beyond its max_length=4 positions .* use a larger max_length\."):
        SequenceIndicesLayer(4).forward({}, torch.zeros(2, 6), lengths=torch.tensor([5, 2]))
    with pytest.raises(NetError, match=r"max_length .* must be a positive int or None, not 0\."):
        SequenceIndicesLayer(0)
