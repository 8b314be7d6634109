"""NetPairEmbeddingOperator and the ContrastiveLossLayer NetTrain attaches to it: distances
against numpy, both distance functions, training on real Fashion-MNIST pairs, bad input."""

import numpy as np
import pytest
import torch

from symnet import (
    All,
    ContrastiveLossLayer,
    InputError,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetReplacePart,
    NetTrain,
    ShapeError,
    SummationLayer,
    datasets,
)


@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_distance_of_the_two_embeddings(distance):
    net = NetInitialize(NetPairEmbeddingOperator(LinearLayer(3), distance_function=distance, input=4), random_seeding=1)
    assert net.types["Input"].dims == (2, 4) and net.types["Output"].dims == ()
    pairs = np.random.default_rng(0).random((5, 2, 4)).astype(np.float32)
    embed = NetExtract(net, "Net")
    a, b = embed(pairs[:, 0]), embed(pairs[:, 1])
    if distance == "EuclideanDistance":
        expected = np.linalg.norm(a - b, axis=1)
    else:
        expected = 1 - (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(net(pairs), expected, atol=1e-5)


def test_contrastive_loss_against_its_formula():
    d = torch.tensor([0.0, 0.2, 0.7, 0.3, 1.5], dtype=torch.float64)
    t = torch.tensor([True, True, True, False, False])
    loss = ContrastiveLossLayer(margin=0.6).forward({}, d, t)
    expected = np.where(t.numpy(), np.maximum(0.6 - d.numpy(), 0) ** 2, d.numpy() ** 2)
    np.testing.assert_allclose(loss.numpy(), expected)


def _pairs(images, labels, count, rng):
    """``count`` pairs, half of one class (target False) and half of two classes (True)."""
    by_class = [np.flatnonzero(labels == c) for c in range(10)]
    first = rng.integers(0, len(labels), count)
    different = np.arange(count) % 2 == 1
    second = np.empty(count, np.int64)
    for i, (j, other) in enumerate(zip(first, different)):
        classes = [c for c in range(10) if c != labels[j]] if other else [labels[j]]
        second[i] = rng.choice(by_class[rng.choice(classes)])
    pairs = np.stack([images[first], images[second]], 1).astype(np.float32) / 255
    return pairs, different


def _separation(net, pairs, different):
    """The probability that a different pair is farther apart than a same pair (ROC AUC)."""
    d = np.asarray(net(pairs))
    same, other = d[~different], d[different]
    return float((other[:, None] > same[None, :]).mean())


@pytest.mark.fashion_mnist
def test_training_on_fashion_mnist_pairs_separates_same_from_different():
    rng = np.random.default_rng(0)
    train_images, train_labels = datasets.load("FashionMNIST", "train", download_missing=False).arrays()
    test_images, test_labels = datasets.load("FashionMNIST", "test", download_missing=False).arrays()
    pairs, different = _pairs(train_images[:6000], train_labels[:6000], 4000, rng)
    test_pairs, test_different = _pairs(test_images[:2000], test_labels[:2000], 1000, rng)
    embedding = NetChain([LinearLayer(32), "Ramp", LinearLayer(8)])
    untrained = NetInitialize(NetPairEmbeddingOperator(embedding, input=(28, 28)), random_seeding=0)
    results = NetTrain(untrained, (pairs, different), All, max_training_rounds=3, batch_size=64, learning_rate=0.003, random_seeding=0, training_progress_reporting=None)
    assert results["LossFunction"] == ['ContrastiveLossLayer() on "Output"']
    trained = results["TrainedNet"]
    before, after = _separation(untrained, test_pairs, test_different), _separation(trained, test_pairs, test_different)
    # the trained distance ranks held-out pairs far better than the random embedding's (measured:
    # about 0.70 before and 0.89 after)
    assert after > 0.85 and after > before + 0.1, (before, after)
    assert float(results["RoundLossList"][-1]) < float(results["RoundLossList"][0])


def test_pairs_that_do_not_fit():
    with pytest.raises(NetError, match=r'NetPairEmbeddingOperator: distance_function must be one of "EuclideanDistance", "CosineDistance"; received "Euclidean"\.'):
        NetPairEmbeddingOperator(LinearLayer(3), distance_function="Euclidean")
    with pytest.raises(ShapeError, match=r'port "Input" takes a pair of arrays \(a first axis of 2\) but has the type \(3, 4\)\.'):
        NetPairEmbeddingOperator(LinearLayer(3), ports={"Input": (3, 4)})
    with pytest.raises(ShapeError, match=r"the embedding net returns the scalar .*; it must return a vector"):
        NetPairEmbeddingOperator(NetChain([LinearLayer(2), SummationLayer()]), input=4)
    with pytest.raises(NetError, match=r"ContrastiveLossLayer: the margin .* must be a positive number, not 0\."):
        ContrastiveLossLayer(margin=0)
    net = NetInitialize(NetPairEmbeddingOperator(LinearLayer(3), input=4))
    with pytest.raises(InputError, match=r"ContrastiveLossLayer needs targets True \(a different pair\) or False \(the same pair\) but example 1 is 2\.0\."):
        NetTrain(net, (np.zeros((3, 2, 4), np.float32), np.array([0.0, 2.0, 1.0])), max_training_rounds=1, training_progress_reporting=None)


def test_member_surgery_and_extraction():
    net = NetInitialize(NetPairEmbeddingOperator(NetChain([LinearLayer(4), "Ramp", LinearLayer(2)]), input=3), random_seeding=0)
    assert NetExtract(net, ["Net", 0, "Weights"]).shape == (4, 3)
    # an embedding that maps everything to one point: every distance is 0
    flat = NetReplacePart(net, {("Net", 2, "Weights"): np.zeros((2, 4), np.float32)})
    pairs = np.random.default_rng(1).random((3, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(flat(pairs), np.zeros(3), atol=1e-7)
    assert not np.allclose(net(pairs), 0)
