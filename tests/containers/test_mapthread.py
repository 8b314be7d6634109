"""NetMapThreadOperator: inputs mapped together, at a depth, with replicated inputs; lengths
(each example mapped within its own length); ports that do not fit."""

import numpy as np
import pytest

from symnet import (
    All,
    CatenateLayer,
    Export,
    Import,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetMapThreadOperator,
    NetPort,
    NetTrain,
    ShapeError,
)


def join_and_project():
    """[a, b] → LinearLayer(3): a net of two inputs."""
    return NetGraph({"join": CatenateLayer(), "linear": LinearLayer(3)}, [([NetPort("A"), NetPort("B")], "join", "linear")], ports={"A": 2, "B": 4})


def test_depth_one_maps_every_input_like_the_map_operator():
    net = NetInitialize(NetMapThreadOperator(join_and_project()), random_seeding=1)
    assert net.types["A"].dims == (None, 2) and net.types["Output"].dims == (None, 3)
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 2), np.float32), rng.random((5, 4), np.float32)
    inner = NetExtract(net, "Net")
    expected = np.stack([inner({"A": a[t], "B": b[t]}) for t in range(5)])
    np.testing.assert_allclose(net({"A": a, "B": b}), expected, atol=1e-6)
    same = NetMapOperator(inner)
    np.testing.assert_allclose(net({"A": a, "B": b}), same({"A": a, "B": b}), atol=1e-6)


def test_replicated_input_goes_whole_to_every_element():
    net = NetInitialize(NetMapThreadOperator(join_and_project(), {"A": 1}), random_seeding=1)
    assert net.types["A"].dims == (None, 2) and net.types["B"].dims == (4,)
    inner = NetExtract(net, "Net")
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 2), np.float32), rng.random(4).astype(np.float32)
    expected = np.stack([inner({"A": a[t], "B": b}) for t in range(3)])
    np.testing.assert_allclose(net({"A": a, "B": b}), expected, atol=1e-6)


def test_mixed_lengths_each_example_as_alone():
    net = NetInitialize(NetMapThreadOperator(join_and_project(), {"A": 1}, ports={"A": ("Varying", 2)}), random_seeding=2)
    rng = np.random.default_rng(2)
    sequences = [rng.random((n, 2), np.float32) for n in (4, 1, 3)]
    vectors = [rng.random(4).astype(np.float32) for _ in sequences]
    batch = net({"A": sequences, "B": vectors})
    for a, b, result in zip(sequences, vectors, batch):
        alone = net({"A": a, "B": b})
        assert np.shape(result) == (len(a), 3)
        np.testing.assert_allclose(result, alone, atol=1e-6)


def test_depth_two_maps_over_two_axes():
    net = NetInitialize(NetMapThreadOperator(LinearLayer(2), 2, input=(3, 4, 5)), random_seeding=3)
    assert net.types["Output"].dims == (3, 4, 2)
    x = np.random.default_rng(3).random((3, 4, 5)).astype(np.float32)
    w, bias = NetExtract(net, ["Net", "Weights"]), NetExtract(net, ["Net", "Biases"])
    np.testing.assert_allclose(net(x), x @ w.T + bias, atol=1e-5)


def test_trains_and_round_trips(tmp_path):
    net = NetInitialize(NetChain([NetMapThreadOperator(LinearLayer(2), {"Input": 1})], input=(4, 3)), random_seeding=0)
    loaded = Import(Export(tmp_path / "thread.symnet", net))
    x = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(loaded(x), net(x))
    assert NetExtract(loaded, [0]).depth == {"Input": 1}


def test_ports_that_do_not_fit():
    with pytest.raises(NetError, match=r"NetMapThreadOperator: the depth must be a positive int or a dict of input port → positive int \(0 replicates the input\), not -1\."):
        NetMapThreadOperator(LinearLayer(2), -1)
    with pytest.raises(NetError, match=r'NetMapThreadOperator: the depth \{\'B\': 0\} maps over no input; give at least one input a depth ≥ 1, as in \{"Input": 1\}\.'):
        NetMapThreadOperator(join_and_project(), {"B": 0})
    with pytest.raises(NetError, match=r"are mapped at different depths; symnet maps all mapped inputs at one depth"):
        NetMapThreadOperator(join_and_project(), {"A": 1, "B": 2})
    with pytest.raises(NetError, match=r'NetMapThreadOperator: the depth names the port "C", but the net\'s inputs are A, B; name the inputs to map over\.'):
        NetMapThreadOperator(join_and_project(), {"C": 1})
    with pytest.raises(ShapeError, match=r'port "B" has 6 elements on mapped axis 1 but another mapped port has 5; the inputs mapped together must have the same lengths\.'):
        NetMapThreadOperator(join_and_project(), ports={"A": (5, 2), "B": (6, 4)})
    with pytest.raises(ShapeError, match=r'port "Input" is mapped over 2 axes but has the type .* of rank 1\.'):
        NetMapThreadOperator(LinearLayer(2), 2, input=5)


def test_netrain_on_sequences_of_different_lengths_with_a_replicated_input():
    # y[t] = sum(a[t]) + b[:3]: a linear map of [a[t], b], which the member can learn exactly
    rng = np.random.default_rng(0)
    a = [rng.random((n, 2)).astype(np.float32) for n in rng.integers(1, 6, 128)]
    b = [rng.random(4).astype(np.float32) for _ in a]
    y = [x.sum(1, keepdims=True).repeat(3, 1) + v[:3] for x, v in zip(a, b)]
    net = NetMapThreadOperator(join_and_project(), {"A": 1}, ports={"A": ("Varying", 2)})
    results = NetTrain(net, {"A": a, "B": b, "Output": y}, All, max_training_rounds=40, batch_size=16, learning_rate=0.02, random_seeding=0, training_progress_reporting=None)
    losses = results["RoundLossList"]
    assert float(losses[-1]) < 0.1 * float(losses[0])
    trained = results["TrainedNet"]
    for x, v, result in zip(a[:8], b[:8], trained({"A": a[:8], "B": b[:8]})):
        np.testing.assert_allclose(result, trained({"A": x, "B": v}), atol=1e-6)
