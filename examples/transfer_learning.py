"""Transfer learning: reuse a trained net's features for new classes.

The Wolfram introduction's example, on Fashion-MNIST: train the notebook CNN on classes 0–4
(T-shirt … coat), drop its classifier (the last two layers), append a new one for classes
5–9 (sandal … ankle boot), freeze everything else with ``learning_rate_multipliers``, train
only the new classifier, and report its accuracy on the test images of classes 5–9.

    python examples/transfer_learning.py            # full size: a few minutes on a CPU
    python examples/transfer_learning.py --quick    # a reduced run, as in CI
"""

from __future__ import annotations

import argparse

import numpy as np

from symnet import (
    ConvolutionLayer,
    FlattenLayer,
    LinearLayer,
    NetAppend,
    NetChain,
    NetDecoder,
    NetDrop,
    NetEncoder,
    NetExtract,
    NetMeasurements,
    NetReplacePart,
    NetTrain,
    PoolingLayer,
    SoftmaxLayer,
    datasets,
)


def notebook_cnn(class_names: list[str]) -> NetChain:
    """The CNN of the Wolfram notebook example (LeNet), with a classifier for ``class_names``."""
    return NetChain(
        [
            ConvolutionLayer(20, 5), "Ramp", PoolingLayer(2, stride=2),
            ConvolutionLayer(50, 5), "Ramp", PoolingLayer(2, stride=2),
            FlattenLayer(), LinearLayer(500), "Ramp",
            LinearLayer(len(class_names)), SoftmaxLayer(),
        ],
        input=NetEncoder("Image", (28, 28), color_space="Grayscale"),
        output=NetDecoder("Class", class_names),
    )


def classes(data: datasets.Dataset, wanted: range, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The images of the ``wanted`` classes and their labels as class names (at most ``limit``)."""
    index = np.flatnonzero(np.isin(data.labels, list(wanted)))
    if limit is not None and limit < len(index):
        index = np.sort(np.random.default_rng(seed).choice(index, limit, replace=False))
    names = np.asarray(data.class_names, dtype=object)
    return data.images[index], names[data.labels[index]]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run: fewer images and rounds (for CI)")
    arguments = parser.parse_args(argv)
    train_limit, test_limit, rounds = (2000, 500, 1) if arguments.quick else (None, None, 3)

    train, test = datasets.load("FashionMNIST", "train"), datasets.load("FashionMNIST", "test")
    old_classes, new_classes = range(0, 5), range(5, 10)

    # 1. Train the CNN on the first five classes.
    net = notebook_cnn(list(train.class_names[:5]))
    net = NetTrain(net, classes(train, old_classes, train_limit, seed=1), max_training_rounds=rounds, batch_size=64, training_progress_reporting=None)
    old_accuracy = NetMeasurements(net, classes(test, old_classes, test_limit, seed=2), "Accuracy")
    print(f"classes 0-4: accuracy {old_accuracy:.3f} on test images")

    # 2. Replace the classifier: drop the last two layers, append new ones for classes 5-9.
    features = NetDrop(net, -2)
    new_net = NetAppend(features, {"classifier": LinearLayer(5), "probabilities": SoftmaxLayer()})
    new_net = NetReplacePart(new_net, ("Output", NetDecoder("Class", list(train.class_names[5:]))))

    # 3. Train only the new classifier.
    trained = NetTrain(
        new_net, classes(train, new_classes, train_limit, seed=3), max_training_rounds=rounds, batch_size=64,
        learning_rate_multipliers={"classifier": 1, "*": 0}, training_progress_reporting=None,
    )
    assert np.array_equal(NetExtract(trained, [0, "Weights"]), NetExtract(net, [0, "Weights"])), "the frozen features changed"
    new_accuracy = NetMeasurements(trained, classes(test, new_classes, test_limit, seed=4), "Accuracy")
    print(f"classes 5-9 with frozen features and a new classifier: accuracy {new_accuracy:.3f} on test images")
    return {"old": old_accuracy, "new": new_accuracy}


if __name__ == "__main__":
    main()
