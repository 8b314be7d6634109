"""NetTrain options: each changes behaviour as documented."""

import json

import numpy as np
import pytest
import torch

from symnet import All, LinearLayer, NetChain, NetError, NetExtract, NetInitialize, NetTrain, Scaled, SoftmaxLayer
from symnet.train.options import bf16_supported

QUIET = {"training_progress_reporting": None}


def arrays_of(net):
    return {(i, name): NetExtract(net, [i, name]) for i, layer in enumerate(net.layers.values()) for name in layer.array_names()}


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not(blobs, classifier):
    x, y = blobs()
    first = NetTrain(classifier(), (x, y), max_training_rounds=3, random_seeding=7, **QUIET)
    second = NetTrain(classifier(), (x, y), max_training_rounds=3, random_seeding=7, **QUIET)
    third = NetTrain(classifier(), (x, y), max_training_rounds=3, random_seeding=8, **QUIET)
    for key, value in arrays_of(first).items():
        np.testing.assert_array_equal(value, arrays_of(second)[key])
    assert not np.array_equal(arrays_of(first)[(0, "Weights")], arrays_of(third)[(0, "Weights")])


def test_frozen_layers_keep_their_arrays_bit_for_bit(blobs):
    x, y = blobs()
    net = NetInitialize(NetChain({"features": LinearLayer(16), "act": "Tanh", "classifier": LinearLayer(2), "softmax": SoftmaxLayer()}, input=2))
    trained = NetTrain(net, (x, y), learning_rate_multipliers={"classifier": 1, "*": 0}, max_training_rounds=3, **QUIET)
    np.testing.assert_array_equal(NetExtract(trained, ["features", "Weights"]), NetExtract(net, ["features", "Weights"]))
    np.testing.assert_array_equal(NetExtract(trained, ["features", "Biases"]), NetExtract(net, ["features", "Biases"]))
    assert not np.array_equal(NetExtract(trained, ["classifier", "Weights"]), NetExtract(net, ["classifier", "Weights"]))


def test_learning_rate_multiplier_scales_the_step(blobs, classifier):
    x, y = blobs()
    net = NetInitialize(classifier())
    slow = NetTrain(net, (x, y), learning_rate_multipliers={"0": 0.01}, max_training_rounds=1, method=("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"}), **QUIET)
    fast = NetTrain(net, (x, y), max_training_rounds=1, method=("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"}), **QUIET)
    change = lambda trained: np.abs(NetExtract(trained, [0, "Weights"]) - NetExtract(net, [0, "Weights"])).sum()  # noqa: E731
    assert change(slow) < 0.05 * change(fast)


@pytest.mark.parametrize("method", ["ADAM", "AdamW", "SGD", "RMSProp", ("SGD", {"momentum": 0.5, "nesterov": True}), ("ADAM", {"beta1": 0.8, "gradient_clipping": 1.0, "l2_regularization": 1e-4})])
def test_every_method_trains(method, blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, method=method, max_training_rounds=8, **QUIET)
    assert results.round_measurements["Accuracy"] > 0.95
    assert results.method == (method if isinstance(method, str) else method[0])


@pytest.mark.parametrize("schedule", ["Cosine", "OneCycle", "Constant", "Linear", lambda progress: 1 - progress / 2])
def test_learning_rate_schedules(schedule, blobs, classifier):
    x, y = blobs(n=64)
    seen = []
    NetTrain(classifier(), (x, y), method=("ADAM", {"learning_rate_schedule": schedule}), learning_rate=0.01, batch_size=16, max_training_rounds=5,
             training_progress_reporting=lambda progress: seen.append(progress["LearningRate"]))
    assert len(seen) == 20 and max(seen) <= 0.01 + 1e-12
    if schedule == "Constant":
        assert seen == [0.01] * 20
    elif schedule == "OneCycle":
        assert seen[0] < seen[6] and seen[-1] < seen[6]
    else:
        assert seen[-1] < seen[0]


def test_warmup_raises_the_rate_first(blobs, classifier):
    x, y = blobs(n=64)
    seen = []
    NetTrain(classifier(), (x, y), method=("ADAM", {"warmup": 8}), learning_rate=0.01, batch_size=16, max_training_rounds=5,
             training_progress_reporting=lambda progress: seen.append(progress["LearningRate"]))
    assert seen[0] < seen[3] < seen[7]


def test_batch_size_and_rounds(blobs, classifier):
    x, y = blobs(n=100)
    results = NetTrain(classifier(), (x, y), All, batch_size=25, max_training_rounds=3, **QUIET)
    assert results.batch_size == 25 and results.total_batches == 12 and "batch_size" not in results.automatic_choices


def test_time_goal_stops_training(blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, time_goal=0.3, batch_size=8, **QUIET)
    assert results.reason_training_stopped == "TimeGoal"
    assert 0.3 <= results.total_training_time < 5


def test_validation_set_scaled_is_stratified_and_gives_the_best_net(blobs, classifier):
    x, y = blobs(n=200, classes=2)
    results = NetTrain(classifier(), (x, y), All, validation_set=Scaled(0.25), max_training_rounds=4, **QUIET)
    assert len(results.validation_loss_list) == 4
    assert results.best_validation_round in (1, 2, 3, 4)
    assert results.confusion_matrix.sum() == 50  # measured on the validation set
    assert abs(results.confusion_matrix[0].sum() - np.mean(y == 0) * 50) <= 1  # stratified
    assert set(results.validation_measurements_lists) == {"Loss", "Accuracy", "ErrorRate"}


def test_validation_set_as_data(blobs, classifier):
    x, y = blobs(n=200)
    results = NetTrain(classifier(), (x[:150], y[:150]), All, validation_set=(x[150:], y[150:]), max_training_rounds=3, **QUIET)
    assert results.validation_measurements["Accuracy"] > 0.9


def test_stopping_criterion_stops_when_the_measurement_stalls(blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, max_training_rounds=200, training_stopping_criterion={"criterion": "Loss", "patience": 1, "absolute_change": 1.0}, **QUIET)
    assert results.reason_training_stopped == "StoppingCriterion"
    assert results.total_rounds == 3  # round 2 and 3 did not improve the loss by 1.0


def test_stopping_criterion_as_a_function(blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, max_training_rounds=100, training_stopping_criterion=lambda row: row["Accuracy"] > 0.9, **QUIET)
    assert results.reason_training_stopped == "StoppingCriterion" and results.round_measurements["Accuracy"] > 0.9


def test_measurements_named_and_custom(blobs, classifier):
    x, y = blobs()

    def largest_probability(outputs, targets):
        return float(outputs.max(dim=1).values.mean())

    measurements = ["Precision", "Recall", "F1Score", largest_probability]
    results = NetTrain(classifier(), (x, y), All, training_progress_measurements=measurements, max_training_rounds=3, **QUIET)
    assert set(results.round_measurements) == {"Loss", "Precision", "Recall", "F1Score", "largest_probability"}
    assert 0.5 < results.round_measurements["largest_probability"] <= 1


def test_print_reporting(capsys, blobs, classifier):
    x, y = blobs()
    NetTrain(classifier(), (x, y), max_training_rounds=2, training_progress_reporting="Print")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("round 2/2  loss ") and "Accuracy" in lines[1]


def test_file_reporting(tmp_path, blobs, classifier):
    x, y = blobs()
    NetTrain(classifier(), (x, y), max_training_rounds=2, training_progress_reporting=[str(tmp_path / "log.csv"), str(tmp_path / "log.json")])
    assert (tmp_path / "log.csv").read_text().splitlines()[0].startswith("Round,Loss,ValidationLoss,Time,Accuracy")
    rows = json.loads((tmp_path / "log.json").read_text())
    assert [row["Round"] for row in rows] == [1, 2]


def test_callback_reporting_per_batch_and_per_round(blobs, classifier):
    x, y = blobs(n=64)
    batches, rounds = [], []
    NetTrain(classifier(), (x, y), batch_size=16, max_training_rounds=2, training_progress_reporting=[batches.append, (rounds.append, "Round")])
    assert [p["AbsoluteBatch"] for p in batches] == list(range(1, 9))
    assert [p["Round"] for p in rounds] == [1, 2] and "RoundLoss" in rounds[0]


@pytest.mark.skipif(not bf16_supported(), reason="no bfloat16 on this processor")
def test_mixed_precision_trains(blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, working_precision="Mixed", max_training_rounds=8, **QUIET)
    assert results.round_measurements["Accuracy"] > 0.95
    assert NetExtract(results.trained_net, [0, "Weights"]).dtype == np.float32


def test_real64_precision(blobs, classifier):
    x, y = blobs()
    trained = NetTrain(classifier(), (x, y), working_precision="Real64", max_training_rounds=2, **QUIET)
    assert trained.layers["0"].arrays["Weights"].dtype == torch.float32  # arrays keep their type


def test_panel_reporting_runs_without_a_terminal(capsys, blobs, classifier):
    x, y = blobs(n=64)
    NetTrain(classifier(), (x, y), max_training_rounds=2, training_progress_reporting="Panel")
    assert "round 2/2" in capsys.readouterr().out


def test_target_device_without_cuda(blobs, classifier):
    x, y = blobs(n=16)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(NetError, match=r'target_device="cuda": it asks for a CUDA GPU but this machine has no CUDA device; the devices available are "cpu". Use target_device="cpu" here'):
        NetTrain(classifier(), (x, y), target_device="cuda", **QUIET)


def nested_net():
    return NetInitialize(NetChain([NetChain([LinearLayer(4), LinearLayer(4)]), LinearLayer(2), SoftmaxLayer()], input=2))


def changed(trained, net, *path):
    return not np.array_equal(NetExtract(trained, [*path]), NetExtract(net, [*path]))


def test_multiplier_keys_are_paths_from_the_top(blobs):
    x, y = blobs(n=64)
    net = nested_net()

    def train(rules):
        return NetTrain(net, (x, y), learning_rate_multipliers=rules, max_training_rounds=2, **QUIET)

    top = train({1: 0})  # top-level layer 1 only, not the nested layer (0, 1)
    assert not changed(top, net, 1, "Weights") and changed(top, net, 0, 1, "Weights") and changed(top, net, 0, 0, "Weights")
    block = train({"0": 0})  # top-level layer 0: everything inside the nested chain
    assert not changed(block, net, 0, 0, "Weights") and not changed(block, net, 0, 1, "Weights") and changed(block, net, 1, "Weights")
    nested = train({(0, 1): 0})  # a nested path
    assert not changed(nested, net, 0, 1, "Weights") and changed(nested, net, 0, 0, "Weights") and changed(nested, net, 1, "Weights")
    last = train([(-2, 0)])  # negative indices count from the end, as in NetExtract
    assert not changed(last, net, 1, "Biases") and changed(last, net, 0, 0, "Biases")


def test_multiplier_patterns_match_names_at_any_depth_and_per_array_keys(blobs):
    x, y = blobs(n=64)
    net = NetInitialize(NetChain({"block": NetChain({"conv1": LinearLayer(4), "conv2": LinearLayer(4)}), "head": LinearLayer(2), "softmax": SoftmaxLayer()}, input=2))
    globbed = NetTrain(net, (x, y), learning_rate_multipliers={"conv*": 0}, max_training_rounds=2, **QUIET)
    assert not changed(globbed, net, "block", "conv1", "Weights") and not changed(globbed, net, "block", "conv2", "Weights")
    assert changed(globbed, net, "head", "Weights")
    named = NetTrain(net, (x, y), learning_rate_multipliers={("block", "conv2"): 0, "head": 1, "*": 0}, max_training_rounds=2, **QUIET)
    assert not changed(named, net, "block", "conv1", "Weights") and changed(named, net, "head", "Weights")
    biases = NetTrain(net, (x, y), learning_rate_multipliers={("head", "Biases"): 0}, max_training_rounds=2, **QUIET)
    assert not changed(biases, net, "head", "Biases") and changed(biases, net, "head", "Weights")


def test_multiplier_keys_that_name_nothing(blobs):
    x, y = blobs(n=16)
    net = nested_net()
    with pytest.raises(NetError, match=r"learning_rate_multipliers: \(0, 7\): the NetChain at 0 has 2 layers; there is no layer 7"):
        NetTrain(net, (x, y), learning_rate_multipliers={(0, 7): 0})
    with pytest.raises(NetError, match=r"learning_rate_multipliers: \(1, 'Bias'\): 1 is a LinearLayer, which has no layer 'Bias' and no array 'Bias'; its arrays: \"Weights\", \"Biases\"\. Did you mean \"Biases\"\?"):
        NetTrain(net, (x, y), learning_rate_multipliers={(1, "Bias"): 0})
    with pytest.raises(NetError, match=r"learning_rate_multipliers: the pattern 'conv\*' matches no layer name"):
        NetTrain(net, (x, y), learning_rate_multipliers={"conv*": 0})
    with pytest.raises(NetError, match=r"learning_rate_multipliers: the factor for 1 must be a number ≥ 0, not -1"):
        NetTrain(net, (x, y), learning_rate_multipliers={1: -1})


def test_schedule_of_batch_and_total_as_in_wolfram(blobs, classifier):
    x, y = blobs(n=64)
    calls, seen = [], []

    def schedule(batch, total):
        calls.append((batch, total))
        return 1 - batch / (2 * total)

    NetTrain(classifier(), (x, y), method=("SGD", {"learning_rate_schedule": schedule}), learning_rate=0.1, batch_size=16, max_training_rounds=3,
             training_progress_reporting=lambda progress: seen.append(progress["LearningRate"]))
    assert calls[0] == (1, 12)  # the check before the first batch
    assert calls[1:] == [(batch, 12) for batch in range(1, 13)]
    np.testing.assert_allclose(seen, [0.1 * (1 - batch / 24) for batch in range(1, 13)])
    constant = []
    NetTrain(classifier(), (x, y), method=("SGD", {"learning_rate_schedule": lambda batch, total: 1.0}), learning_rate=0.1, batch_size=16, max_training_rounds=1,
             training_progress_reporting=lambda progress: constant.append(progress["LearningRate"]))
    assert constant == [0.1] * 4


def test_schedule_with_the_wrong_arguments_fails_before_the_first_batch(blobs, classifier):
    x, y = blobs(n=16)
    seen = []
    report = {"training_progress_reporting": lambda progress: seen.append(progress)}
    with pytest.raises(NetError, match=r"learning_rate_schedule: the function <lambda>\(a, b, c\) must take f\(batch, total\) \(Wolfram's form: the batch number, counted from 1, "
                                       r"and the total number of batches\) or f\(progress\)"):
        NetTrain(classifier(), (x, y), method=("SGD", {"learning_rate_schedule": lambda a, b, c: 1.0}), **report)
    with pytest.raises(NetError, match=r"learning_rate_schedule\(1, 5\) returned 'fast'; it must return a number ≥ 0"):
        NetTrain(classifier(), (x, y), method=("SGD", {"learning_rate_schedule": lambda batch, total: "fast"}), batch_size=16, max_training_rounds=5, **report)
    with pytest.raises(NetError, match=r"learning_rate_schedule\(0.25,\) raised KeyError: 0.25; it must take f\(batch, total\)"):
        NetTrain(classifier(), (x, y), method=("ADAM", {"learning_rate_schedule": lambda progress: {}[progress]}), max_training_rounds=4, **report)
    assert seen == []


def test_real64_training_matches_a_float64_sgd_loop():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3))
    y = x @ rng.normal(size=(3, 2)) + 0.1
    net = NetInitialize(NetChain([LinearLayer(2)], input=3))
    results = NetTrain(net, (x, y), All, working_precision="Real64", batch_size=32, max_training_rounds=3, learning_rate=0.1,
                       method=("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"}), **QUIET)
    weights = torch.tensor(NetExtract(net, [0, "Weights"]), dtype=torch.float64, requires_grad=True)
    biases = torch.tensor(NetExtract(net, [0, "Biases"]), dtype=torch.float64, requires_grad=True)
    inputs, targets, losses = torch.from_numpy(x), torch.from_numpy(y), []
    for _ in range(3):
        loss = ((inputs @ weights.T + biases - targets) ** 2).mean()
        losses.append(loss.item())
        weights.grad = biases.grad = None
        loss.backward()
        with torch.no_grad():
            weights -= 0.1 * weights.grad
            biases -= 0.1 * biases.grad
    np.testing.assert_allclose(results.batch_loss_list, losses, rtol=1e-12, atol=0)
    np.testing.assert_allclose(NetExtract(results.trained_net, [0, "Weights"]), weights.detach().numpy(), rtol=1e-6)


def test_training_keeps_freed_memory_for_the_next_batch_on_glibc(blobs, classifier):
    import platform

    from symnet.train.memory import keep_freed_memory

    x, y = blobs(n=16)
    NetTrain(classifier(), (x, y), max_training_rounds=1, **QUIET)
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is glibc and keep_freed_memory() is glibc  # applied once per process
