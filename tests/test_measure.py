"""NetMeasurements (symnet/measure.py) against values computed by hand."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from symnet import (
    ElementwiseLayer,
    InputError,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetError,
    NetInitialize,
    NetMeasurements,
    SoftmaxLayer,
)

# An identity net: its outputs are exactly the probabilities given as inputs.
PROBABILITIES = np.array([
    [0.70, 0.20, 0.10],  # predicts a, target a  (right)
    [0.10, 0.80, 0.10],  # predicts b, target b  (right)
    [0.30, 0.30, 0.40],  # predicts c, target c  (right)
    [0.60, 0.10, 0.30],  # predicts a, target b  (wrong; b is not even in the top 2)
    [0.20, 0.50, 0.30],  # predicts b, target c  (wrong; c is second)
    [0.15, 0.05, 0.80],  # predicts c, target a  (wrong; a is second)
])
LABELS = ["a", "b", "c", "b", "c", "a"]


@pytest.fixture
def classifier():
    return NetChain([ElementwiseLayer("Identity")], input=3, output=NetDecoder("Class", ["a", "b", "c"]))


def test_accuracy_and_error_rate(classifier):
    assert NetMeasurements(classifier, (PROBABILITIES, LABELS), "Accuracy") == 3 / 6
    assert NetMeasurements(classifier, (PROBABILITIES, LABELS), "ErrorRate") == 3 / 6


def test_confusion_matrix_precision_recall_f1(classifier):
    # rows: actual a, b, c; columns: predicted a, b, c
    expected = [[1, 0, 1], [1, 1, 0], [0, 1, 1]]
    assert NetMeasurements(classifier, (PROBABILITIES, LABELS), "ConfusionMatrix").tolist() == expected
    assert NetMeasurements(classifier, (PROBABILITIES, LABELS), "Precision") == {"a": 0.5, "b": 0.5, "c": 0.5}
    assert NetMeasurements(classifier, (PROBABILITIES, LABELS), "Recall") == {"a": 0.5, "b": 0.5, "c": 0.5}
    assert NetMeasurements(classifier, (PROBABILITIES, LABELS), ("F1Score", "b")) == 0.5


def test_uneven_precision_and_recall():
    net = NetChain([ElementwiseLayer("Identity")], input=2, output=NetDecoder("Class", ["no", "yes"]))
    scores = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.2, 0.8]]
    targets = ["no", "yes", "yes", "no", "yes"]  # predictions: no, no, yes, yes, yes
    # "yes": predicted 3 times, right twice (precision 2/3); occurs 3 times, found twice (recall 2/3)
    # "no": predicted twice, right once (1/2); occurs twice, found once (1/2)
    assert NetMeasurements(net, (scores, targets), "Precision") == pytest.approx({"no": 1 / 2, "yes": 2 / 3})
    assert NetMeasurements(net, (scores, targets), "Recall") == pytest.approx({"no": 1 / 2, "yes": 2 / 3})


def test_top_k_perplexity_loss_and_auc(classifier):
    data = (PROBABILITIES, LABELS)
    assert NetMeasurements(classifier, data, ("TopKAccuracy", 2)) == pytest.approx(5 / 6)
    assert NetMeasurements(classifier, data, ("TopKAccuracy", 1)) == pytest.approx(3 / 6)
    target_probabilities = [0.70, 0.80, 0.40, 0.10, 0.30, 0.15]
    mean_log = sum(math.log(p) for p in target_probabilities) / 6
    assert NetMeasurements(classifier, data, "Perplexity") == pytest.approx(math.exp(-mean_log))
    assert NetMeasurements(classifier, data, "Loss") == pytest.approx(-mean_log)
    # class a: positives score 0.70 and 0.15, negatives 0.10, 0.30, 0.60, 0.20: 5 of 8 pairs ordered right
    assert NetMeasurements(classifier, data, "AreaUnderROCCurve")["a"] == pytest.approx(5 / 8)


def test_accuracy_and_error_rate_with_n_count_the_top_n_as_in_wolfram(classifier):
    # Wolfram's {"Accuracy", n}: the fraction of examples whose right class is among the top n
    data = (PROBABILITIES, LABELS)
    assert NetMeasurements(classifier, data, ("Accuracy", 2)) == pytest.approx(5 / 6)
    assert NetMeasurements(classifier, data, ("ErrorRate", 2)) == pytest.approx(1 / 6)
    assert NetMeasurements(classifier, data, ("Accuracy", 1)) == NetMeasurements(classifier, data, "Accuracy")
    assert NetMeasurements(classifier, data, ("Accuracy", 3)) == 1.0
    with pytest.raises(NetError, match=r'NetMeasurements: \("Accuracy", n\) needs a positive int n \(the right class among the top n\), not 2\.5\.'):
        NetMeasurements(classifier, data, ("Accuracy", 2.5))


def test_a_tuple_of_measurement_names_measures_each(classifier):
    data = (PROBABILITIES, LABELS)
    assert NetMeasurements(classifier, data, ("Accuracy", "ErrorRate")) == {"Accuracy": 0.5, "ErrorRate": 0.5}
    assert NetMeasurements(classifier, data, ("Accuracy", "ErrorRate", "Loss")) == NetMeasurements(classifier, data, ["Accuracy", "ErrorRate", "Loss"])
    # a (name, argument) pair is still one measurement
    assert NetMeasurements(classifier, data, ("F1Score", "b")) == 0.5


def test_a_pair_written_as_a_list_says_to_use_a_tuple(classifier):
    with pytest.raises(NetError, match=r'NetMeasurements: 2 is not a measurement; to give "TopKAccuracy" an argument, write the tuple \("TopKAccuracy", 2\)\.'):
        NetMeasurements(classifier, (PROBABILITIES, LABELS), ["TopKAccuracy", 2])
    with pytest.raises(NetError, match=r'NetMeasurements: write a measurement with an argument as a tuple, \("Accuracy", 2\), not the list \["Accuracy", 2\]\.'):
        NetMeasurements(classifier, (PROBABILITIES, LABELS), [["Accuracy", 2], "Loss"])


def test_an_argument_to_a_measurement_that_takes_none_is_refused(classifier):
    with pytest.raises(NetError, match=r'NetMeasurements: "Loss" takes no argument, but was given \("Loss", 2\); measurements with an argument: \("Accuracy", n\), \("ErrorRate", n\), \("TopKAccuracy", k\), \("Precision", class\), \("Recall", class\), \("F1Score", class\)\.'):
        NetMeasurements(classifier, (PROBABILITIES, LABELS), ("Loss", 2))


def test_several_measurements_at_once(classifier):
    result = NetMeasurements(classifier, list(zip(PROBABILITIES, LABELS)), ["Accuracy", ("TopKAccuracy", 2), "ConfusionMatrixPlot"])
    assert result["Accuracy"] == 0.5
    assert result[("TopKAccuracy", 2)] == pytest.approx(5 / 6)
    assert isinstance(result["ConfusionMatrixPlot"], Figure)


def test_batches_give_the_same_answer(classifier):
    one = NetMeasurements(classifier, (PROBABILITIES, LABELS), ["Accuracy", "Perplexity"], batch_size=4)
    two = NetMeasurements(classifier, (PROBABILITIES, LABELS), ["Accuracy", "Perplexity"])
    assert one == pytest.approx(two)


def test_class_indices_without_a_decoder():
    net = NetChain([SoftmaxLayer()], input=3)
    logits = np.log(PROBABILITIES)
    assert NetMeasurements(net, (logits, np.array([0, 1, 2, 1, 2, 0])), "Accuracy") == 0.5
    assert NetMeasurements(net, {"Input": logits, "Output": [0, 1, 2, 1, 2, 0]}, "ErrorRate") == 0.5


def test_boolean_outputs():
    net = NetChain([ElementwiseLayer("Identity")], input="Real", output=NetDecoder("Boolean"))
    p = [0.9, 0.2, 0.6, 0.4]
    targets = [True, False, False, True]  # predictions: True, False, True, False
    assert NetMeasurements(net, (p, targets), "Accuracy") == 0.5
    # positives 0.9, 0.4 against negatives 0.2, 0.6: three of four pairs ordered right
    assert NetMeasurements(net, (p, targets), "AreaUnderROCCurve") == pytest.approx(3 / 4)
    assert NetMeasurements(net, (p, targets), "Loss") == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4)


def test_regression_measurements():
    net = NetChain([ElementwiseLayer("Identity")], input=2)
    outputs = [[1.0, 2.0], [3.0, 4.0]]
    targets = [[1.0, 1.0], [1.0, 1.0]]  # differences 0, 1, 2, 3
    assert NetMeasurements(net, (outputs, targets), "MeanSquare") == pytest.approx((0 + 1 + 4 + 9) / 4)
    assert NetMeasurements(net, (outputs, targets), "MeanDeviation") == pytest.approx((0 + 1 + 2 + 3) / 4)
    assert NetMeasurements(net, (outputs, targets), "Loss") == pytest.approx(3.5)


def test_trained_like_net_measures_its_own_predictions():
    net = NetInitialize(NetChain([LinearLayer(3), SoftmaxLayer()], input=4, output=NetDecoder("Class", ["x", "y", "z"])), random_seeding=3)
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    predictions = net(x)
    assert NetMeasurements(net, (x, predictions), "Accuracy") == 1.0


def test_errors(classifier):
    with pytest.raises(NetError, match=r"unknown measurement 'Acuracy'; the measurements are .*Did you mean \"Accuracy\"\?"):
        NetMeasurements(classifier, (PROBABILITIES, LABELS), "Acuracy")
    with pytest.raises(NetError, match=r'"Accuracy" measures a classifier, but the output Output has shape \(2,\) without a Class decoder'):
        NetMeasurements(NetChain([ElementwiseLayer("Identity")], input=2), ([[0.5, 1.0]], [[0.2, 0.1]]), "Accuracy")
    with pytest.raises(NetError, match=r"targets: .*dog"):
        NetMeasurements(classifier, (PROBABILITIES, ["a", "b", "c", "b", "c", "dog"]), "Accuracy")
    with pytest.raises(InputError, match="there are 6 inputs but 2 targets"):
        NetMeasurements(classifier, (PROBABILITIES, ["a", "b"]), "Accuracy")
    with pytest.raises(NetError, match='the data has a column "Label", which is not a port of the net'):
        NetMeasurements(classifier, {"Input": PROBABILITIES, "Label": LABELS})
    with pytest.raises(NetError, match=r'\("TopKAccuracy", k\) needs a positive int k, not 0'):
        NetMeasurements(classifier, (PROBABILITIES, LABELS), ("TopKAccuracy", 0))


# -- sequences of different lengths -----------------------------------------------------------------
def _language_model():
    from symnet import EmbeddingLayer, GatedRecurrentLayer, NetMapOperator, TensorType

    net = NetChain([EmbeddingLayer(4), GatedRecurrentLayer(5), NetMapOperator(LinearLayer(6)), SoftmaxLayer()], input=TensorType(("Varying",), "Integer", 6))
    return NetInitialize(net, random_seeding=0)


def _sequences(count=9):
    rng = np.random.default_rng(3)
    inputs = [rng.integers(0, 6, n) for n in rng.integers(1, 8, count)]
    return inputs, [rng.integers(0, 6, len(x)) for x in inputs]


def test_sequence_outputs_of_different_lengths_count_each_real_position_once():
    net = _language_model()
    inputs, targets = _sequences()
    # each example alone: no padding anywhere
    alone = [np.asarray(net(x)) for x in inputs]
    hits = np.concatenate([p.argmax(-1) == t for p, t in zip(alone, targets)])
    # the loss as NetTrain reports it: each example's mean over its positions, then the mean of those
    losses = [-np.log(p[np.arange(len(t)), t]).mean() for p, t in zip(alone, targets)]
    # batches of 4: the parts are padded to different lengths
    measured = NetMeasurements(net, (inputs, targets), ["Accuracy", "Loss"], batch_size=4)
    assert measured["Accuracy"] == pytest.approx(hits.mean())
    assert measured["Loss"] == pytest.approx(np.mean(losses), rel=1e-5)


def test_sequence_targets_of_the_wrong_length_name_the_example():
    net = _language_model()
    inputs, targets = _sequences()
    targets[2] = targets[2][:-1] if len(targets[2]) > 1 else np.zeros(3, np.int64)
    with pytest.raises(InputError, match=r"NetMeasurements: target Output: example 2 is a sequence of \d+ elements, but the output Output has \d+ for that example; "
                                          r"give each example a target sequence exactly as long as its output\."):
        NetMeasurements(net, (inputs, targets), "Accuracy")
