"""NetTrain on sequences of different lengths: the gradients of a padded batch equal those of the
examples' losses computed alone (per-position losses average each example's real positions only),
validation and measurements count real positions, bucketing by length, and the errors."""

import re

import numpy as np
import pytest
import torch

from symnet import (
    All,
    Automatic,
    CrossEntropyLossLayer,
    EmbeddingLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetError,
    NetInitialize,
    NetMapOperator,
    NetTrain,
    SequenceLastLayer,
    SequenceMostLayer,
    SoftmaxLayer,
    TensorType,
    compiled,
)
from symnet.prepare import Column
from symnet.train.data import Table
from symnet.train.sequences import bucketed_order, padding_fraction

QUIET = {"training_progress_reporting": None}
SGD = ("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"})
CHARACTERS = 7


def words(count=24, seed=0, low=2, high=9):
    """Sequences of character indices of lengths low … high-1 and their next characters."""
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(1, CHARACTERS, n) for n in rng.integers(low, high, count)]
    return sequences, [np.roll(s, -1) for s in sequences]


def language_model():
    return NetChain([EmbeddingLayer(5), LongShortTermMemoryLayer(6), NetMapOperator(LinearLayer(CHARACTERS)), SoftmaxLayer()],
                    input=TensorType(("Varying",), "Integer", CHARACTERS))


def classifier():
    return NetChain([EmbeddingLayer(5), GatedRecurrentLayer(6), SequenceLastLayer(), LinearLayer(3), SoftmaxLayer()],
                    input=TensorType(("Varying",), "Integer", CHARACTERS))


def one_sgd_step_alone(net, inputs, loss_of_example, rate):
    """The arrays after one SGD step on the mean of the examples' losses, each computed alone in torch."""
    module = compiled(net, working_precision="Real64").train()
    for parameter in module.parameters():
        parameter.requires_grad_(True)
    total = sum(loss_of_example(module(torch.as_tensor(x).unsqueeze(0))[0], i) for i, x in enumerate(inputs)) / len(inputs)
    total.backward()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter -= rate * parameter.grad
    return module.leaf_arrays(), float(total.detach())


def assert_same_arrays(trained, expected):
    # the trained net keeps float32 arrays: equal up to float32 rounding of the float64 update
    got = compiled(trained, working_precision="Real64").leaf_arrays()
    assert got.keys() == expected.keys()
    for path in got:
        for name in got[path]:
            torch.testing.assert_close(got[path][name], expected[path][name], rtol=2e-7, atol=1e-8)


def test_a_padded_batch_of_a_language_model_trains_as_its_examples_alone():
    inputs, targets = words()
    net = NetInitialize(language_model(), random_seeding=3)
    rate = 0.5

    def loss(probabilities, i):  # per example: the mean over its own positions
        return -torch.log(probabilities.gather(-1, torch.as_tensor(targets[i]).unsqueeze(-1))).mean()

    expected, expected_loss = one_sgd_step_alone(net, inputs, loss, rate)
    results = NetTrain(net, (inputs, targets), All, method=SGD, learning_rate=rate, batch_size=len(inputs), max_training_rounds=1,
                       working_precision="Real64", **QUIET)
    assert results["RoundLossList"][0] == pytest.approx(expected_loss, rel=1e-9)
    assert_same_arrays(results["TrainedNet"], expected)


def test_a_mean_squared_loss_on_sequences_masks_the_padding_as_a_hand_written_mask_does():
    rng = np.random.default_rng(1)
    lengths = [5, 2, 4, 1]
    inputs = [rng.normal(size=(n, 3)) for n in lengths]
    targets = [rng.normal(size=(n, 2)) for n in lengths]
    net = NetInitialize(NetChain([GatedRecurrentLayer(4), NetMapOperator(LinearLayer(2))], input=("Varying", 3)), random_seeding=0)
    module = compiled(net, working_precision="Real64").train()
    for parameter in module.parameters():
        parameter.requires_grad_(True)
    # the torch reference: one padded batch, a mask, each example's mean over its real positions
    padded_x = torch.zeros(4, 5, 3, dtype=torch.float64)
    padded_t = torch.zeros(4, 5, 2, dtype=torch.float64)
    for i, (x, t) in enumerate(zip(inputs, targets)):
        padded_x[i, : len(x)], padded_t[i, : len(t)] = torch.as_tensor(x), torch.as_tensor(t)
    length = torch.tensor(lengths)
    (y,) = module.run([padded_x], module.output_wires, [length])
    mask = (torch.arange(5).view(1, 5) < length.view(4, 1)).double()
    per_position = (y - padded_t).square().mean(dim=2)
    reference = ((per_position * mask).sum(dim=1) / length).mean()
    reference.backward()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter -= 0.1 * parameter.grad
    results = NetTrain(net, (inputs, targets), All, loss_function=MeanSquaredLossLayer(), method=SGD, learning_rate=0.1, batch_size=4,
                       max_training_rounds=1, working_precision="Real64", **QUIET)
    assert results["RoundLossList"][0] == pytest.approx(float(reference.detach()), rel=1e-9)
    assert_same_arrays(results["TrainedNet"], module.leaf_arrays())


def test_a_per_example_loss_after_sequence_last_is_unaffected_by_padding():
    inputs, _ = words(seed=2)
    labels = np.arange(len(inputs)) % 3
    net = NetInitialize(classifier(), random_seeding=1)

    def loss(probabilities, i):
        return -torch.log(probabilities[labels[i]])

    expected, expected_loss = one_sgd_step_alone(net, inputs, loss, 0.3)
    results = NetTrain(net, (inputs, labels), All, method=SGD, learning_rate=0.3, batch_size=len(inputs), max_training_rounds=1,
                       working_precision="Real64", **QUIET)
    assert results["RoundLossList"][0] == pytest.approx(expected_loss, rel=1e-9)
    assert_same_arrays(results["TrainedNet"], expected)


def test_validation_loss_and_accuracy_count_real_positions_only():
    inputs, targets = words(count=30, seed=4)
    results = NetTrain(language_model(), (inputs, targets), All, validation_set=(inputs, targets), batch_size=8, max_training_rounds=1,
                       working_precision="Real64", **QUIET)
    trained = results["TrainedNet"]
    module = compiled(trained, working_precision="Real64")
    losses, hits = [], []
    with torch.no_grad():
        for x, t in zip(inputs, targets):
            p = module(torch.as_tensor(x).unsqueeze(0))[0]
            losses.append(float(-torch.log(p.gather(-1, torch.as_tensor(t).unsqueeze(-1))).mean()))
            hits.extend((p.argmax(-1).numpy() == t).tolist())
    row = results["ValidationMeasurements"]
    assert row["Loss"] == pytest.approx(np.mean(losses), rel=1e-9)
    assert row["Accuracy"] == pytest.approx(np.mean(hits), rel=1e-12)


def test_targets_whose_lengths_differ_from_the_outputs_name_the_port_and_example():
    inputs, targets = words(count=6, seed=5)
    targets[3] = targets[3][:-1]
    with pytest.raises(NetError, match=r"NetTrain: target Output: example 3 is a sequence of \d+ elements, but the net's output Output has \d+ for that example "
                                       r"\(its input Input has \d+\); give each example a target sequence exactly as long as its output\."):
        NetTrain(language_model(), (inputs, targets), **QUIET)


def test_output_lengths_follow_the_net_sequence_most_shortens_by_one():
    inputs, _ = words(count=12, seed=6, low=3)
    net = NetChain([EmbeddingLayer(5), SequenceMostLayer(), GatedRecurrentLayer(6), NetMapOperator(LinearLayer(CHARACTERS)), SoftmaxLayer()],
                   input=TensorType(("Varying",), "Integer", CHARACTERS))
    shorter = [x[1:] for x in inputs]
    NetTrain(net, (inputs, shorter), max_training_rounds=1, **QUIET)  # lengths n-1 fit
    with pytest.raises(NetError, match=r"target Output: example 0 is a sequence of \d+ elements, but the net's output Output has \d+ for that example"):
        NetTrain(net, (inputs, inputs), max_training_rounds=1, **QUIET)


def test_explicit_loss_on_probabilities_unfused_equals_fused():
    inputs, targets = words(count=10, seed=7)
    common = {"method": SGD, "learning_rate": 0.2, "batch_size": 10, "max_training_rounds": 1, "working_precision": "Real64", **QUIET}
    net = NetInitialize(language_model(), random_seeding=2)
    fused = NetTrain(net, (inputs, targets), All, **common)
    # a list of (input, target) pairs, and the loss given explicitly: the same training
    pairs = NetTrain(net, list(zip(inputs, targets)), All, loss_function=CrossEntropyLossLayer("Index"), **common)
    assert pairs["RoundLossList"][0] == pytest.approx(fused["RoundLossList"][0], rel=1e-9)


# -- bucketing ----------------------------------------------------------------------------------
def test_bucketed_order_takes_every_example_once_in_batches_of_similar_length():
    key = torch.as_tensor(np.random.default_rng(0).integers(1, 40, 1000))
    order = bucketed_order(key, 32, torch.Generator().manual_seed(5))
    assert sorted(order.tolist()) == list(range(1000))
    spread = [int(key[batch].max() - key[batch].min()) for batch in order.split(32)]
    assert max(spread) <= 2  # 1000 examples fit in one pool: sorted, then cut into batches
    again = bucketed_order(key, 32, torch.Generator().manual_seed(5))
    other = bucketed_order(key, 32, torch.Generator().manual_seed(6))
    assert torch.equal(order, again) and not torch.equal(order, other)


def test_padding_fraction_counts_the_padding_of_each_batch():
    lengths = torch.tensor([1, 3, 2, 2, 4])
    table = Table({"Input": Column(torch.zeros(5, 4), lengths=lengths)}, 5)
    # batches [1, 3], [2, 2], [4]: 6 + 4 + 4 = 14 positions, 12 of them real
    assert padding_fraction(table, torch.arange(5), 2) == pytest.approx(1 - 12 / 14)


def test_nettrain_buckets_varying_lengths_and_says_so():
    inputs, targets = words(count=200, seed=8, low=1, high=40)
    results = NetTrain(language_model(), (inputs, targets), All, batch_size=16, max_training_rounds=1, **QUIET)
    said = results["AutomaticChoices"]["bucketing"]
    assert said.startswith("by length (padding is ") and "in shuffled batches" in said
    shuffled, bucketed = (int(n) for n in re.findall(r"(\d+)%", said))
    assert bucketed < shuffled
    off = NetTrain(language_model(), (inputs, targets), All, batch_size=16, max_training_rounds=1, bucketing=False, **QUIET)
    assert off["AutomaticChoices"]["bucketing"].startswith("off (")
    # equal lengths: nothing to bucket, nothing said
    same = NetTrain(language_model(), ([x[:1] for x in inputs], [t[:1] for t in targets]), All, max_training_rounds=1, **QUIET)
    assert "bucketing" not in same["AutomaticChoices"]


def test_bucketed_training_is_reproducible_with_the_seed():
    inputs, targets = words(count=80, seed=9, low=1, high=30)
    first = NetTrain(language_model(), (inputs, targets), All, batch_size=8, max_training_rounds=2, bucketing=True, **QUIET)
    second = NetTrain(language_model(), (inputs, targets), All, batch_size=8, max_training_rounds=2, bucketing=True, **QUIET)
    assert first["BatchLossList"] == second["BatchLossList"]


def test_bucketing_option_is_checked():
    inputs, targets = words(count=8)
    with pytest.raises(NetError, match=r'NetTrain: bucketing must be True or False; received "yes"'):
        NetTrain(language_model(), (inputs, targets), bucketing="yes", **QUIET)
    assert NetTrain(language_model(), (inputs, targets), max_training_rounds=1, bucketing=Automatic, **QUIET).initialized


def test_a_bucketed_run_resumed_from_a_checkpoint_mid_round_equals_the_uninterrupted_run(tmp_path):
    inputs, targets = words(count=60, seed=10, low=1, high=30)
    options = dict(batch_size=8, max_training_rounds=2, bucketing=True, **QUIET)
    uninterrupted = NetTrain(language_model(), (inputs, targets), All, **options)
    spec = {"directory": tmp_path, "interval": (3, "Batches")}

    def stop_after_ten(progress):
        if progress["AbsoluteBatch"] == 10:  # round 2, batch 2: resumed from the checkpoint after batch 9
            raise KeyboardInterrupt

    NetTrain(language_model(), (inputs, targets), training_progress_checkpointing=spec, **{**options, "training_progress_reporting": stop_after_ten})
    resumed = NetTrain(language_model(), (inputs, targets), All, training_progress_checkpointing={**spec, "resume": True}, **options)
    assert resumed["BatchLossList"][-5:] == uninterrupted["BatchLossList"][-5:]
    assert_same_arrays(resumed["FinalNet"], compiled(uninterrupted["FinalNet"], working_precision="Real64").leaf_arrays())


def test_a_generator_of_varying_length_batches_trains_and_its_bad_targets_are_named():
    rng = np.random.default_rng(11)

    def batches(size, short=False):
        inputs = [rng.integers(1, CHARACTERS, n) for n in rng.integers(1, 9, size)]
        return inputs, [(x + 1) % CHARACTERS if not short else x[:-1] for x in inputs]

    results = NetTrain(language_model(), batches, All, batch_size=16, max_training_rounds=4, **QUIET)
    assert results["RoundLossList"][-1] < results["RoundLossList"][0]
    assert "bucketing" not in results["AutomaticChoices"]  # each batch is drawn as it comes
    with pytest.raises(NetError, match=r"NetTrain: the generator's batch: target Output: example 0 is a sequence of \d+ elements"):
        NetTrain(language_model(), lambda size: batches(size, short=True), **QUIET)
