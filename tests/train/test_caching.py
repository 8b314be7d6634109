"""Frozen features computed once (issue 11.6): NetTrain with a frozen front trains the head on cached
features, and the result equals the uncached training with the same seed."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from symnet import (
    All,
    BatchNormalizationLayer,
    ConvolutionLayer,
    DropoutLayer,
    FlattenLayer,
    ImageAugmentationLayer,
    Import,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetError,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    NetTake,
    NetTrain,
    PoolingLayer,
    SequenceLastLayer,
    SoftmaxLayer,
    ThreadingLayer,
)
from symnet.engine import CompiledNet, flatten_net
from symnet.prepare import port_column
from symnet.train import caching
from symnet.train.arrays import LeafArrays, with_leaf_arrays
from symnet.train.config import TrainConfig
from symnet.train.data import Table
from symnet.train.prepared import prepare

FROZEN_FRONT = {"classifier": 1, "*": 0}
QUIET = {"training_progress_reporting": None}


def images(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Small 1×8×8 images whose class is which half is brighter: learnable from pooled features."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(scale=0.3, size=(n, 1, 8, 8)).astype(np.float32)
    x[y == 0, :, :4] += 1.0
    x[y == 1, :, 4:] += 1.0
    return x, y.astype(np.int64)


def conv_features() -> NetChain:
    """A convolutional feature extractor with a batch norm (frozen: it normalizes with its moving statistics)."""
    return NetChain([ConvolutionLayer(4, 3, padding=1), BatchNormalizationLayer(), "Ramp", PoolingLayer(2, 2), FlattenLayer()])


def transfer_net(features: NetChain | None = None, head: list | None = None, seed: int = 7) -> NetChain:
    layers = {"feature": features or conv_features(), "classifier": LinearLayer(3), "probabilities": SoftmaxLayer()}
    if head is not None:
        layers = {"feature": features or conv_features(), **{f"head{i}": layer for i, layer in enumerate(head)}, "classifier": LinearLayer(3), "probabilities": SoftmaxLayer()}
    net = NetInitialize(NetChain(layers, input=(1, 8, 8)), random_seeding=seed)
    # moving statistics that are not the initial 0/1, so a batch norm run with batch statistics would differ
    bn = ("feature", 1)
    return _with_bn_statistics(net, bn)


def _with_bn_statistics(net: NetChain, path: tuple) -> NetChain:
    rng = np.random.default_rng(1)
    mean = rng.normal(size=4).astype(np.float32)
    variance = rng.uniform(0.5, 2.0, size=4).astype(np.float32)
    keys = tuple(str(p) for p in path)
    return with_leaf_arrays(net, {keys: {"MovingMean": torch.tensor(mean), "MovingVariance": torch.tensor(variance)}})


def both(net, data, **options):
    """(cached results, uncached results) of the same training."""
    options = {**QUIET, "max_training_rounds": 3, "batch_size": 16, **options}
    cached = NetTrain(net, data, All, **options)
    uncached = NetTrain(net, data, All, cache_frozen_features=False, **options)
    return cached, uncached


def leaf_arrays(net) -> LeafArrays:
    return CompiledNet(net).leaf_arrays()


def assert_same_training(cached, uncached, tolerance=1e-5):
    np.testing.assert_allclose(cached["BatchLossList"], uncached["BatchLossList"], rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(cached["RoundLossList"], uncached["RoundLossList"], rtol=tolerance, atol=tolerance)
    ours, theirs = leaf_arrays(cached["TrainedNet"]), leaf_arrays(uncached["TrainedNet"])
    assert ours.keys() == theirs.keys()
    for path in ours:
        for name in ours[path]:
            np.testing.assert_allclose(ours[path][name].numpy(), theirs[path][name].numpy(), rtol=tolerance, atol=tolerance, err_msg=f"{path} {name}")


def test_cached_training_equals_uncached_training():
    x, y = images()
    net = transfer_net()
    cached, uncached = both(net, (x, y), learning_rate_multipliers=FROZEN_FRONT, validation_set=images(32, seed=1))
    said = cached["AutomaticChoices"]["cache_frozen_features"]
    # the front: conv, batch norm, ramp, pooling, flatten; 64 + 32 examples of 4·4·4 features
    assert said.startswith("5 frozen layers through feature/4 computed once: 96 examples × (64,) float32 = 24.6 kB")
    assert uncached["AutomaticChoices"]["cache_frozen_features"] == "not cached: cache_frozen_features=False"
    assert_same_training(cached, uncached)
    np.testing.assert_allclose(cached["ValidationLossList"], uncached["ValidationLossList"], rtol=1e-5)
    ours, theirs = cached["ValidationMeasurementsLists"], uncached["ValidationMeasurementsLists"]
    assert ours.keys() == theirs.keys() >= {"Loss", "Accuracy"}
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, err_msg=name)
    # the full net comes back: the frozen arrays as they were, the classifier trained
    trained = cached["TrainedNet"]
    assert trained.layers.keys() == net.layers.keys()
    np.testing.assert_array_equal(NetExtract(trained, ["feature", 0, "Weights"]), NetExtract(net, ["feature", 0, "Weights"]))
    np.testing.assert_array_equal(NetExtract(trained, ["feature", 1, "MovingMean"]), NetExtract(net, ["feature", 1, "MovingMean"]))
    assert not np.allclose(NetExtract(trained, ["classifier", "Weights"]), NetExtract(net, ["classifier", "Weights"]))
    np.testing.assert_allclose(trained(x[:8]), uncached["TrainedNet"](x[:8]), rtol=1e-5, atol=1e-6)


def test_the_front_runs_once_per_example_not_once_per_round(monkeypatch):
    x, y = images()
    calls = []
    original = ConvolutionLayer.forward

    def counted(self, arrays, *inputs, **kwargs):
        calls.append(inputs[0].shape[0])
        return original(self, arrays, *inputs, **kwargs)

    monkeypatch.setattr(ConvolutionLayer, "forward", counted)
    net = transfer_net()
    NetTrain(net, (x, y), learning_rate_multipliers=FROZEN_FRONT, max_training_rounds=4, batch_size=16, **QUIET)
    assert sum(calls) == len(x)
    calls.clear()
    NetTrain(net, (x, y), learning_rate_multipliers=FROZEN_FRONT, max_training_rounds=4, batch_size=16, cache_frozen_features=False, **QUIET)
    assert sum(calls) == 4 * len(x)


def test_float64_training_is_equal_to_rounding():
    x, y = images(64)
    cached, uncached = both(transfer_net(), (x, y), learning_rate_multipliers=FROZEN_FRONT, working_precision="Real64", method="SGD")
    assert "float64" in cached["AutomaticChoices"]["cache_frozen_features"]
    assert_same_training(cached, uncached, tolerance=1e-12)


def test_a_dropout_in_the_head_draws_the_same_random_numbers():
    x, y = images()
    net = transfer_net(head=[LinearLayer(16), DropoutLayer(0.3)])
    cached, uncached = both(net, (x, y), learning_rate_multipliers={"head*": 1, "classifier": 1, "*": 0})
    assert "frozen layers through feature/4" in cached["AutomaticChoices"]["cache_frozen_features"]
    assert_same_training(cached, uncached)


def test_a_cut_inside_a_nested_chain():
    """Fine-tuning the last layers of the features: the cut falls inside the "feature" chain."""
    x, y = images()
    features = NetChain({"conv": ConvolutionLayer(4, 3, padding=1), "bn": BatchNormalizationLayer(), "ramp": "Ramp",
                         "conv2": ConvolutionLayer(4, 3), "pool": PoolingLayer(2, 2), "flat": FlattenLayer()})
    net = transfer_net(features)
    rules = {("feature", "conv2"): 1, "classifier": 1, "*": 0}
    cached, uncached = both(net, (x, y), learning_rate_multipliers=rules)
    assert cached["AutomaticChoices"]["cache_frozen_features"].startswith("3 frozen layers through feature/ramp computed once: 64 examples × (4, 8, 8)")
    assert_same_training(cached, uncached)
    assert not np.allclose(NetExtract(cached["TrainedNet"], ["feature", "conv2", "Weights"]), NetExtract(net, ["feature", "conv2", "Weights"]))


def test_a_graph_whose_frozen_part_feeds_the_head():
    x, y = images()
    graph = NetGraph(
        {"backbone": conv_features(), "left": LinearLayer(3), "right": LinearLayer(3), "sum": ThreadingLayer("Plus"), "probabilities": SoftmaxLayer()},
        [(NetPort("Input"), "backbone"), ("backbone", "left"), ("backbone", "right"), ("left", NetPort("sum", "Input1")),
         ("right", NetPort("sum", "Input2")), ("sum", "probabilities")],
        input=(1, 8, 8),
    )
    net = _with_bn_statistics(NetInitialize(graph, random_seeding=2), ("backbone", 1))
    cached, uncached = both(net, (x, y), learning_rate_multipliers={"backbone": 0})
    assert cached["AutomaticChoices"]["cache_frozen_features"].startswith("5 frozen layers through backbone/4 computed once")
    assert_same_training(cached, uncached)


def test_checkpoints_hold_the_full_net(tmp_path: Path):
    x, y = images()
    net = transfer_net()
    result = NetTrain(net, (x, y), All, learning_rate_multipliers=FROZEN_FRONT, max_training_rounds=2, batch_size=16,
                      training_progress_checkpointing=("Directory", tmp_path), **QUIET)
    assert "computed once" in result["AutomaticChoices"]["cache_frozen_features"]
    last = Import(sorted(tmp_path.glob("*.symnet"))[-1])
    ours, theirs = leaf_arrays(last), leaf_arrays(result["TrainedNet"])
    assert ours.keys() == theirs.keys() == leaf_arrays(net).keys()
    for path in ours:
        for name in ours[path]:
            np.testing.assert_array_equal(ours[path][name].numpy(), theirs[path][name].numpy())


def test_resuming_a_cached_run_gives_the_uninterrupted_weights(tmp_path: Path):
    x, y = images()
    net = transfer_net()
    # a constant schedule, so that 2 rounds then 2 more follow the same learning rates as 4 rounds
    options = {"learning_rate_multipliers": FROZEN_FRONT, "batch_size": 16, "method": ("ADAM", {"learning_rate_schedule": "Constant"}), **QUIET}
    straight = NetTrain(net, (x, y), max_training_rounds=4, **options)
    NetTrain(net, (x, y), max_training_rounds=2, training_progress_checkpointing=("Directory", tmp_path), **options)
    resumed = NetTrain(net, (x, y), max_training_rounds=4, training_progress_checkpointing={"directory": tmp_path, "resume": True}, **options)
    np.testing.assert_array_equal(NetExtract(resumed, ["classifier", "Weights"]), NetExtract(straight, ["classifier", "Weights"]))


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ([DropoutLayer(0.2)], r"not cached: the frozen layer feature/0 \(DropoutLayer\) draws random numbers in training"),
        ([ImageAugmentationLayer((6, 6))], r"not cached: the frozen layer feature/0 \(ImageAugmentationLayer\) draws random numbers"),
    ],
)
def test_a_random_front_is_not_cached(front, expected):
    x, y = images(32)
    net = NetInitialize(NetChain({"feature": NetChain([*front, FlattenLayer(), LinearLayer(8)]), "classifier": LinearLayer(3), "probabilities": SoftmaxLayer()},
                                 input=(1, 8, 8)))
    result = NetTrain(net, (x, y), All, learning_rate_multipliers=FROZEN_FRONT, max_training_rounds=1, batch_size=16, **QUIET)
    assert re.match(expected, result["AutomaticChoices"]["cache_frozen_features"])


def test_generated_data_is_not_cached():
    x, y = images(64)
    rng = np.random.default_rng(0)

    def batches(size: int):
        index = rng.integers(0, len(x), size)
        return x[index], y[index]

    result = NetTrain(transfer_net(), (batches, {"round_length": 64}), All, learning_rate_multipliers=FROZEN_FRONT, max_training_rounds=1, batch_size=16, **QUIET)
    assert result["AutomaticChoices"]["cache_frozen_features"] == "not cached: the data is a generator function (each batch is new)"


def test_features_that_do_not_fit_in_memory_are_not_cached(monkeypatch):
    monkeypatch.setattr(caching, "available_memory", lambda: 30_000)
    x, y = images()
    result = NetTrain(transfer_net(), (x, y), All, learning_rate_multipliers=FROZEN_FRONT, max_training_rounds=1, batch_size=16, **QUIET)
    # 64 examples × 64 float32 numbers = 16.4 kB, more than half of 30 kB
    assert result["AutomaticChoices"]["cache_frozen_features"] == "not cached: the features would take 16.4 kB, more than 50% of the 30.0 kB of memory available"


def test_ordinary_training_is_untouched():
    x, y = images(32)
    result = NetTrain(transfer_net(), (x, y), All, max_training_rounds=1, batch_size=16, **QUIET)
    assert "cache_frozen_features" not in result["AutomaticChoices"]


def test_distributed_training_is_not_cached():
    x, y = images(32)
    net = transfer_net()
    plan = flatten_net(net)
    config = TrainConfig.parse({"learning_rate_multipliers": FROZEN_FRONT, "batch_size": 16})
    data = prepare(net, plan, (x, y), config, torch.float32, torch.Generator().manual_seed(0))
    cached = caching.cache_frozen_features(net, plan, data, config, "cpu", torch.float32, False, distributed=True)
    assert cached.data is data and cached.plan is plan
    assert cached.automatic == {"cache_frozen_features": "not cached: the training is distributed (each process would cache only its share)"}


def test_the_option_value_is_checked():
    x, y = images(32)
    with pytest.raises(NetError, match=r'NetTrain: cache_frozen_features must be True or False; received "yes"'):
        NetTrain(transfer_net(), (x, y), learning_rate_multipliers=FROZEN_FRONT, cache_frozen_features="yes")


def test_sequences_of_varying_length_give_each_example_its_own_features():
    """A frozen recurrent front ending in SequenceLastLayer: cached features of a padded batch
    equal each sequence evaluated alone (the front gets each example's length)."""
    sequences = [np.random.default_rng(n).random((n, 2)).astype(np.float32) for n in (5, 2, 3, 1)]
    net = NetInitialize(NetChain({"feature": NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer()]), "classifier": LinearLayer(2),
                                  "probabilities": SoftmaxLayer()}, input=("Varying", 2)), random_seeding=1)
    column, _ = port_column(net, "Input", sequences, None, torch.float32, "test", batch=True)
    assert column.lengths is not None
    split = caching.frozen_split(net, flatten_net(net), [], FROZEN_FRONT)
    assert split.dims == (3,)
    module = caching._prefix_module(net, split, "cpu", torch.float32)
    cached = caching._cached_table(module, Table({"Input": column}, len(sequences)), "Input", split, "cpu", torch.float32, False)
    features = NetTake(net, "feature")
    for sequence, row in zip(sequences, cached.columns["Input"].values):
        np.testing.assert_allclose(row.numpy(), features(sequence), rtol=1e-5, atol=1e-6)


def test_training_on_sequences_of_varying_length_equals_uncached_training():
    rng = np.random.default_rng(3)
    sequences = [rng.random((int(n), 2)).astype(np.float32) for n in rng.integers(1, 7, 48)]
    classes = np.array([int(s[:, 0].mean() > 0.5) for s in sequences])
    net = NetInitialize(NetChain({"feature": NetChain([LongShortTermMemoryLayer(4), SequenceLastLayer()]), "classifier": LinearLayer(2),
                                  "probabilities": SoftmaxLayer()}, input=("Varying", 2)), random_seeding=1)
    cached, uncached = both(net, (sequences, classes), learning_rate_multipliers=FROZEN_FRONT, batch_size=8)
    assert cached["AutomaticChoices"]["cache_frozen_features"].startswith("2 frozen layers through feature/1 computed once: 48 examples × (4,)")
    assert_same_training(cached, uncached)
