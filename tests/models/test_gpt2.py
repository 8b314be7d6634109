"""GPT-2-style decoders: the published parameter count with the tied token table, agreement with
a plain PyTorch GPT-2 written here from the same arrays, causality, and training."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from symnet import All, NetError, NetExtract, NetInformation, NetInitialize, NetReplacePart, NetTrain
from symnet.models import NetModel
from symnet.models.gpt2 import NAME, SMALL, GPT2Configuration, gpt2_language_model
from symnet.models.weights import trainable_count

#: GPT-2 small's published size (GPT2LMHeadModel: the output layer is the token table, counted once)
PUBLISHED_PARAMETERS = 124_439_808
TINY = GPT2Configuration(vocabulary_size=11, size=16, layers=2, heads=2, max_length=12)


def _size_of(config: GPT2Configuration) -> int:
    """GPT-2's parameters, counted from the configuration by hand: token and position tables,
    per block two norms, the attention's four projections and the feed-forward net, a final norm."""
    s = config.size
    block = 2 * 2 * s + 4 * (s * s + s) + (s * 4 * s + 4 * s) + (4 * s * s + s)
    return (config.vocabulary_size + config.max_length) * s + config.layers * block + 2 * s


def test_parameter_count_is_the_published_one_with_the_table_counted_once():
    net = NetModel(NAME, "UninitializedEvaluationNet")
    assert not net.initialized
    assert trainable_count(net) == _size_of(SMALL) == PUBLISHED_PARAMETERS
    assert NetModel(NAME, "ByteCount") == 4 * PUBLISHED_PARAMETERS
    assert trainable_count(gpt2_language_model(TINY)) == _size_of(TINY)
    # the output scores use the token table itself: no separate output matrix of the table's size
    assert NetInformation(net, "ArraysTotalElementCount") - PUBLISHED_PARAMETERS == 0


def _tiny_net(seed: int = 0):
    net = NetInitialize(gpt2_language_model(TINY), random_seeding=seed)
    # NetInitialize starts a NetArrayLayer at zero: give the table values, as a trained net has
    table = np.random.default_rng(seed).normal(0, 0.5, (TINY.vocabulary_size, TINY.size)).astype(np.float32)
    return NetReplacePart(net, {("token_table", "Array"): table})


def _reference(net, ids: torch.Tensor) -> torch.Tensor:
    """GPT-2's forward in plain PyTorch (Hugging Face's GPT2LMHeadModel), reading the net's arrays."""

    def array(*path):
        return torch.as_tensor(np.asarray(NetExtract(net, list(path))))

    def norm(x, *path):
        return F.layer_norm(x, x.shape[-1:], array(*path, "Scaling"), array(*path, "Biases"), TINY.epsilon)

    def linear(x, *path):
        return F.linear(x, array(*path, "Weights"), array(*path, "Biases"))

    table = array("token_table", "Array")
    batch, length = ids.shape
    x = table[ids] + array("position_embedding", "Weights")[torch.arange(length)]
    heads, head = TINY.heads, TINY.size // TINY.heads
    for index in range(TINY.layers):
        block = ("decoder", str(index))
        h = norm(x, *block, "attention_norm")
        q, k, v = (linear(h, *block, f"self_{n}", "Net").view(batch, length, heads, head).transpose(1, 2) for n in ("query", "key", "value"))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(batch, length, TINY.size)
        x = x + linear(attended, *block, "self_output", "Net")
        h = norm(x, *block, "feed_forward_norm")
        x = x + linear(F.gelu(linear(h, *block, "feed_forward", "Net", "0"), approximate="tanh"), *block, "feed_forward", "Net", "2")
    return torch.softmax(norm(x, "norm") @ table.T, dim=-1)  # tied: the same table scores the next token


def test_probabilities_equal_a_plain_pytorch_gpt2_with_the_same_arrays():
    net = _tiny_net()
    ids = torch.tensor(np.random.default_rng(1).integers(0, TINY.vocabulary_size, (3, 9)))
    np.testing.assert_allclose(net(ids.numpy()), _reference(net, ids).numpy(), atol=1e-5)


def test_attention_is_causal_and_padding_changes_nothing():
    net = _tiny_net()
    ids = np.random.default_rng(2).integers(0, TINY.vocabulary_size, 8)
    changed = ids.copy()
    changed[5:] = (changed[5:] + 1) % TINY.vocabulary_size
    np.testing.assert_allclose(net(changed)[:5], net(ids)[:5], atol=1e-6)
    assert not np.allclose(net(changed)[5:], net(ids)[5:], atol=1e-3)
    # sequences of different lengths in one batch: each as if alone
    short, long = net([ids[:3], ids])
    np.testing.assert_allclose(short, net(ids[:3]), atol=1e-5)
    np.testing.assert_allclose(long, net(ids), atol=1e-5)


def test_a_tiny_configuration_learns_to_count():
    # next token = this token + 1 (mod 11): learnable from the current token alone
    rng = np.random.default_rng(0)
    starts = rng.integers(0, TINY.vocabulary_size, 256)
    rows = (starts[:, None] + np.arange(9)[None, :]) % TINY.vocabulary_size
    inputs, targets = rows[:, :-1], rows[:, 1:]
    results = NetTrain(gpt2_language_model(TINY), (inputs, targets), All, max_training_rounds=10, batch_size=32, learning_rate=0.01, random_seeding=0, training_progress_reporting=None)
    losses = results["RoundLossList"]
    assert losses[-1] < 0.5 * losses[0]
    trained = results["TrainedNet"]
    predicted = trained(inputs[:16]).argmax(-1)
    assert (predicted == targets[:16]).mean() > 0.5  # chance is 1/11
    # training kept one table for both uses: still the published layout's count
    assert trainable_count(trained) == _size_of(TINY)


def test_unknown_parameter_is_refused():
    with pytest.raises(NetError, match=r'NetModel: "GPT-2 Small Decoder" is not a family and takes no parameters, but received layers='):
        NetModel(NAME, layers=6)
