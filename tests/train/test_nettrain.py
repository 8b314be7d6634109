"""NetTrain: data forms, automatic losses, results, and training small separable problems."""

import numpy as np
import pytest
import torch

from symnet import (
    All,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LinearLayer,
    MeanAbsoluteLossLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    NetTrain,
    SoftmaxLayer,
)

QUIET = {"training_progress_reporting": None}


def accuracy(net, x, y):
    return float((np.asarray(net(x)).argmax(axis=1) == y).mean())


def test_separable_problem_reaches_high_accuracy_and_leaves_the_input_net_alone(blobs, classifier):
    x, y = blobs(classes=3)
    net = classifier(3)
    trained = NetTrain(net, (x, y), max_training_rounds=15, **QUIET)
    assert accuracy(trained, x, y) >= 0.97
    assert not net.initialized  # the input net is a value: unchanged
    assert trained is not net


def test_results_object_properties_by_name_and_attribute(tmp_path, blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, max_training_rounds=4, **QUIET)
    assert results["TotalRounds"] == 4 == len(results.round_loss_list)
    assert len(results["BatchLossList"]) == results.total_batches == 4 * -(-240 // results.batch_size)
    assert results["ReasonTrainingStopped"] == "MaxTrainingRounds"
    assert results.mean_examples_per_second > 0 and results["TotalTrainingTime"] > 0
    assert set(results["RoundMeasurementsLists"]) == {"Loss", "Accuracy", "ErrorRate"}
    assert results["RoundLossList"][-1] < results["RoundLossList"][0]
    assert results["LossFunction"] == ['CrossEntropyLossLayer("Index") on "Output" (from logits)']
    assert {"batch_size", "learning_rate", "learning_rate_schedule"} <= set(results.automatic_choices)
    results.loss_plot.savefig(tmp_path / "loss.png")
    plots = results["FinalPlots"]
    assert {"Loss", "Accuracy", "ConfusionMatrix"} <= set(plots)
    plots["ConfusionMatrix"].savefig(tmp_path / "confusion.png")
    assert (tmp_path / "loss.png").stat().st_size > 1000 and (tmp_path / "confusion.png").stat().st_size > 1000
    assert results["ConfusionMatrix"].sum() == 240
    training_net = results["TrainingNet"]
    assert "Target" in training_net.input_ports()
    assert results["TrainedNet"] is results.trained_net


def test_a_single_property(blobs, classifier):
    x, y = blobs()
    figure = NetTrain(classifier(), (x, y), "LossPlot", max_training_rounds=2, **QUIET)
    assert hasattr(figure, "savefig")
    assert NetTrain(classifier(), (x, y), "ReasonTrainingStopped", max_training_rounds=1, **QUIET) == "MaxTrainingRounds"


@pytest.mark.parametrize("form", ["pairs", "arrays", "dict", "target-key", "tensors", "dataset"])
def test_data_forms_give_the_same_training(form, blobs, classifier):
    x, y = blobs(n=64)
    data = {
        "pairs": list(zip(x, y)),
        "arrays": (x, y),
        "dict": {"Input": x, "Output": y},
        "target-key": {"Input": x, "Target": y},
        "tensors": (torch.from_numpy(x), torch.from_numpy(y)),
        "dataset": type("Data", (), {"arrays": lambda self: (x, y), "class_names": None})(),
    }[form]
    trained = NetTrain(classifier(), data, max_training_rounds=2, **QUIET)
    reference = NetTrain(classifier(), (x, y), max_training_rounds=2, **QUIET)
    np.testing.assert_array_equal(NetExtract(trained, [0, "Weights"]), NetExtract(reference, [0, "Weights"]))


def test_generator_function_gets_the_batch_size(blobs, classifier):
    sizes = []

    def generator(batch_size):
        sizes.append(batch_size)
        return blobs(n=batch_size, seed=len(sizes))

    results = NetTrain(classifier(), (generator, {"round_length": 160}), All, batch_size=32, max_training_rounds=3, **QUIET)
    assert set(sizes) == {32}
    assert results.total_batches == 15
    assert results.round_measurements["Accuracy"] > 0.9


def test_class_decoder_labels_are_encoded_as_indices(blobs, classifier):
    x, y = blobs()
    labels = np.array(["left", "right"])[y]
    net = classifier(output=NetDecoder("Class", ["right", "left"]))
    trained = NetTrain(net, (x, labels.tolist()), max_training_rounds=10, **QUIET)
    assert np.mean(np.array(trained(x)) == labels) > 0.97


def test_dataset_class_names_map_to_decoder_labels(blobs, classifier):
    x, y = blobs()
    names = ("left", "right")
    dataset = type("Data", (), {"images": x, "labels": y, "class_names": names})()
    trained = NetTrain(classifier(output=NetDecoder("Class", ["right", "left"])), dataset, max_training_rounds=10, **QUIET)
    assert np.mean(np.array(trained(x)) == np.array(names)[y]) > 0.97


def test_automatic_loss_rules(blobs, classifier):
    x, y = blobs(n=32)
    loss = lambda net, target: NetTrain(net, (x, target), "LossFunction", max_training_rounds=1, **QUIET)[0]  # noqa: E731
    assert loss(classifier(), y).startswith('CrossEntropyLossLayer("Index")')
    probabilities = np.stack([1.0 - y * 0.9, y * 0.9 + 0.0], axis=1).astype(np.float32) + 0.05
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    assert loss(classifier(), probabilities).startswith('CrossEntropyLossLayer("Probabilities")')
    sigmoid = NetChain([LinearLayer(1), ElementwiseLayer("LogisticSigmoid")], input=2)
    assert loss(sigmoid, y[:, None].astype(np.float32)) == 'CrossEntropyLossLayer("Binary") on "Output" (from logits)'
    assert loss(NetChain([LinearLayer(1)], input=2), y[:, None].astype(np.float32)) == 'MeanSquaredLossLayer() on "Output"'
    decoded = NetChain([LinearLayer(2)], input=2, output=NetDecoder("Class", [0, 1]))
    assert loss(decoded, y) == 'CrossEntropyLossLayer("Index") on "Output"'


def test_binary_classifier_with_sigmoid_learns(blobs):
    x, y = blobs()
    net = NetChain([LinearLayer(1), ElementwiseLayer("LogisticSigmoid")], input=2)
    results = NetTrain(net, (x, y[:, None].astype(np.float32)), All, max_training_rounds=10, learning_rate=0.05, **QUIET)
    assert results.round_measurements["Accuracy"] > 0.97


def test_regression_with_mean_squared_loss():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float32)
    results = NetTrain(NetChain([LinearLayer(())], input=3), (x, y), All, max_training_rounds=40, learning_rate=0.05, **QUIET)
    assert results.round_loss_list[-1] < 1e-2
    np.testing.assert_allclose(NetExtract(results.trained_net, [0, "Weights"]).ravel(), [1.0, -2.0, 0.5], atol=0.05)


def test_explicit_loss_layer_overrides():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(128, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True).astype(np.float32)
    results = NetTrain(NetChain([LinearLayer(1)], input=3), (x, y), All, loss_function=MeanAbsoluteLossLayer(), max_training_rounds=2, **QUIET)
    assert results.loss_function == ['MeanAbsoluteLossLayer() on "Output"']


def test_loss_function_as_an_output_port_of_a_net_that_computes_its_loss(blobs, classifier):
    x, y = blobs()
    graph = NetGraph({"net": classifier(), "loss": CrossEntropyLossLayer("Index")}, [("net", "loss")])
    results = NetTrain(graph, {"Input": x, "Target": y}, All, loss_function="Loss", max_training_rounds=8, **QUIET)
    assert results.loss_function == ['the output "Loss" (a loss)']
    assert results.round_loss_list[-1] < 0.2


def test_several_weighted_losses(blobs, classifier):
    x, y = blobs(n=64)
    graph = NetGraph({"a": classifier(), "b": NetChain([LinearLayer(1)], input=2)}, [(NetPort("Input"), "a"), (NetPort("Input"), "b")])
    ports = graph.output_ports()
    data = {"Input": x, ports[0]: y, ports[1]: y[:, None].astype(np.float32)}
    spec = {ports[0]: CrossEntropyLossLayer("Index"), ports[1]: (MeanAbsoluteLossLayer(), 0.5)}
    results = NetTrain(graph, data, All, loss_function=spec, max_training_rounds=2, **QUIET)
    assert len(results.loss_function) == 2 and "× 0.5" in results.loss_function[1]


def test_uint8_images_through_an_image_encoder_train_a_conv_net():
    from symnet import ConvolutionLayer, FlattenLayer, NetEncoder, PoolingLayer

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 96)
    images = rng.integers(0, 100, size=(96, 8, 8)).astype(np.uint8)
    images[y == 1, 2:6, 2:6] += 150  # class 1 has a bright square in the middle
    encoder = NetEncoder("Image", size=(8, 8), color_space="Grayscale")
    net = NetChain([ConvolutionLayer(4, 3), "Ramp", PoolingLayer(2, 2), FlattenLayer(), LinearLayer(2), SoftmaxLayer()], input=encoder,
                   output=NetDecoder("Class", ["plain", "square"]))
    results = NetTrain(net, (images, np.array(["plain", "square"])[y]), All, max_training_rounds=8, learning_rate=0.02, **QUIET)
    assert results.automatic_choices["channels_last"] is True
    assert results.round_measurements["Accuracy"] > 0.95
    assert results.trained_net(images[:3]) == list(np.array(["plain", "square"])[y[:3]])


def test_initialized_net_starts_from_its_arrays(blobs, classifier):
    x, y = blobs()
    net = NetInitialize(classifier(), random_seeding=3)
    results = NetTrain(net, (x, y), All, max_training_rounds=1, learning_rate_multipliers={"2": 1, "*": 0}, **QUIET)
    np.testing.assert_array_equal(NetExtract(results.trained_net, [0, "Weights"]), NetExtract(net, [0, "Weights"]))


def test_automatic_loss_uses_a_loss_output_already_in_the_net():
    from symnet import MeanSquaredLossLayer

    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(128, 3)).astype(np.float32)
    targets = inputs @ rng.normal(size=(3, 2)).astype(np.float32)
    graph = NetGraph({"l": LinearLayer(2), "loss": MeanSquaredLossLayer()},
                     [(NetPort("Input"), "l", NetPort("loss", "Input")), (NetPort("Target"), NetPort("loss", "Target")), ("l", NetPort("Prediction"))], input=3)
    assert set(graph.output_ports()) == {"Loss", "Prediction"}
    results = NetTrain(graph, {"Input": inputs, "Target": targets}, All, learning_rate=0.05, max_training_rounds=30, **QUIET)
    assert results.loss_function == ['the output "Loss" (a loss)']  # the net's own loss; "Prediction" needs no targets
    trained = results.trained_net
    prediction = np.asarray(trained({"Input": inputs, "Target": targets}, NetPort("Prediction")))
    mean_squared = float(((prediction - targets) ** 2).mean())
    assert mean_squared < 0.05 * float((targets**2).mean())
    assert np.isclose(results.round_loss_list[-1], mean_squared, rtol=0.5)
