"""The "RandomSample" property with a temperature and a seed: Class and Characters/Tokens
decoders draw from p ** (1/t) renormalized (frequencies against numpy), the same seed gives the
same draws, and bad arguments are named."""

import numpy as np
import pytest
import torch

from symnet import EmbeddingLayer, InputError, LinearLayer, NetChain, NetDecoder, NetError, NetInitialize, NetMapOperator, SoftmaxLayer, TensorType

P = torch.tensor([0.5, 0.3, 0.15, 0.05])


def sharpened(temperature):
    weights = P.numpy().astype(np.float64) ** (1 / temperature)
    return weights / weights.sum()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sequence_draws_follow_the_sharpened_distribution(temperature):
    decoder = NetDecoder("Characters", "abcd")
    draws = decoder.decode(P.expand(4, 5000, 4), ("RandomSample", {"Temperature": temperature, "RandomSeeding": 0}))
    counts = np.array([sum(text.count(c) for text in draws) for c in "abcd"]) / 20000
    np.testing.assert_allclose(counts, sharpened(temperature), atol=0.015)


def test_class_and_tokens_decoders_sample_alike():
    tokens = NetDecoder("Tokens", ["the", "cat", "sat", "mat"])
    labels = NetDecoder("Class", ["the", "cat", "sat", "mat"])
    argument = ("RandomSample", {"Temperature": 0.7, "RandomSeeding": 5})
    sequence = tokens.decode(P.expand(1, 50, 4), argument)[0].split(" ")
    one_by_one = labels.decode(P.expand(50, 4), argument)
    assert sequence == one_by_one  # one draw per step from one generator, in the same order


def test_seed_repeats_and_temperature_zero_is_the_decision():
    decoder = NetDecoder("Characters", "abcd")
    p = torch.softmax(torch.randn(3, 20, 4, generator=torch.Generator().manual_seed(1)), -1)
    seeded = ("RandomSample", {"RandomSeeding": 7})
    assert decoder.decode(p, seeded) == decoder.decode(p, seeded)
    assert decoder.decode(p, seeded) != decoder.decode(p, ("RandomSample", {"RandomSeeding": 8}))
    assert decoder.decode(p, ("RandomSample", 0)) == decoder.decode(p)
    assert NetDecoder("Class", list("abcd")).decode(p[0], ("RandomSample", {"Temperature": 0})) == list(decoder.decode(p[:1])[0])


def test_through_a_net_with_a_characters_decoder():
    net = NetInitialize(NetChain([EmbeddingLayer(3), NetMapOperator(LinearLayer(4)), SoftmaxLayer()],
                                 input=TensorType(("Varying",), "Integer", 4), output=NetDecoder("Characters", "abcd")), random_seeding=0)
    x = np.array([0, 1, 2, 3, 0, 1])
    drawn = net(x, ("RandomSample", {"Temperature": 0.8, "RandomSeeding": 2}))
    assert len(drawn) == 6 and set(drawn) <= set("abcd")
    assert drawn == net(x, ("RandomSample", {"Temperature": 0.8, "RandomSeeding": 2}))
    assert net(x, ("RandomSample", {"Temperature": 0})) == net(x)


def test_bad_sampling_arguments():
    decoder = NetDecoder("Characters", "abcd")
    p = P.expand(1, 3, 4)
    with pytest.raises(NetError, match=r'Characters decoder: "RandomSample" takes the keys "Temperature" and "RandomSeeding", not \'Seed\''):
        decoder.decode(p, ("RandomSample", {"Seed": 1}))
    with pytest.raises(NetError, match=r'Class decoder: "RandomSeeding" must be an int \(the same int gives the same draws\); received 1\.5\.'):
        NetDecoder("Class", list("abcd")).decode(P.expand(2, 4), ("RandomSample", {"RandomSeeding": 1.5}))
    with pytest.raises(NetError, match=r"Tokens decoder: the temperature must be a number ≥ 0"):
        NetDecoder("Tokens", ["a", "b", "c", "d"]).decode(p, ("RandomSample", -1))
    with pytest.raises(InputError, match=r'Characters decoder: "RandomSample" draws from probability vectors \(N, L, 4\) but received shape \(1, 3\) of indices; decode the output of a SoftmaxLayer\.'):
        decoder.decode(torch.tensor([[0, 1, 2]]), "RandomSample")
