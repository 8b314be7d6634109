"""Transfer learning: a net trained on ImageNet learns Fashion-MNIST from a few thousand images.

The Wolfram introduction's workflow ("adapting a pretrained net to your own problem is almost
always a better approach"), line by line:

1. ``NetModel("EfficientNet-Lite0 Trained on ImageNet")``, with an encoder that resizes the
   28×28 grayscale images to 96×96 and replicates them to RGB;
2. ``NetDrop(net, -2)``: drop its classifier (the last two layers, linear and softmax),
   keeping a net that turns an image into 1,280 features;
3. a new chain: the features, a ``LinearLayer`` "classifier" and a softmax, with a Class decoder
   for the ten Fashion-MNIST classes;
4. ``NetTrain`` with ``learning_rate_multipliers={"classifier": 1, "*": 0}``: only the new
   classifier learns, the 4.0 M pretrained numbers stay frozen. NetTrain sees that the frozen
   features are the same every round, computes them once per image and trains the classifier
   on them (``cache_frozen_features=False`` would recompute them for every batch).

Then it trains the notebook's small CNN from scratch on the same images (28×28, every weight
learning) and prints both test accuracies.

    python examples/transfer_learning.py            # 3,000 training images, 10 rounds: a few minutes on a CPU
    python examples/transfer_learning.py --quick    # a reduced run, as in CI
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from symnet import All, LinearLayer, NetChain, NetDecoder, NetDrop, NetEncoder, NetExtract, NetMeasurements, NetModel, NetTrain, SoftmaxLayer, datasets

PRETRAINED = "EfficientNet-Lite0 Trained on ImageNet"


def sample(data: datasets.Dataset, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images of ``data`` and their labels as class names, drawn at random."""
    index = np.sort(np.random.default_rng(seed).choice(len(data), count, replace=False))
    names = np.asarray(data.class_names, dtype=object)
    return data.images[index], names[data.labels[index]]


def transfer_net(class_names: list[str], size: int) -> NetChain:
    """The pretrained features with a new classifier on top."""
    # The weights' own pixel scaling, (x·255 − 127)/128; color_space="RGB" repeats the gray channel.
    encoder = NetEncoder("Image", size, color_space="RGB", mean_image=127 / 255, variance_image=(128 / 255) ** 2)
    pretrained = NetModel(PRETRAINED, input=encoder)
    features = NetDrop(pretrained, -2)
    return NetChain(
        {"feature": features, "classifier": LinearLayer(), "probabilities": SoftmaxLayer()},
        output=NetDecoder("Class", class_names),
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run: fewer and smaller images, fewer rounds (for CI)")
    arguments = parser.parse_args(argv)
    train_count, validation_count, test_count, rounds, size = (400, 100, 400, 3, 64) if arguments.quick else (3000, 500, 2000, 10, 96)

    train, test = datasets.load("FashionMNIST", "train"), datasets.load("FashionMNIST", "test")
    class_names = list(train.class_names)
    training = sample(train, train_count + validation_count, seed=1)
    training, validation = (training[0][:train_count], training[1][:train_count]), (training[0][train_count:], training[1][train_count:])
    testing = sample(test, test_count, seed=2)

    # 1. The pretrained net's features, a new classifier, only the classifier learning.
    net = transfer_net(class_names, size)
    start = time.perf_counter()
    results = NetTrain(
        net, training, All, learning_rate_multipliers={"classifier": 1, "*": 0}, validation_set=validation,
        max_training_rounds=rounds, method="SGD", batch_size=64, training_progress_reporting=None,
    )
    transfer_seconds = time.perf_counter() - start
    trained = results["TrainedNet"]
    # The frozen features are computed once per image and the classifier trains on them (symnet.train.caching).
    print(f"frozen features: {results['AutomaticChoices'].get('cache_frozen_features', 'not cached')}")
    frozen = [("feature", "stem", "conv", "Weights"), ("feature", "block15", "project_conv", "Weights")]
    assert all(np.array_equal(NetExtract(trained, path), NetExtract(net, path)) for path in frozen), "the pretrained features changed"
    transfer = NetMeasurements(trained, testing, "Accuracy")
    print(f"{PRETRAINED}, new classifier only ({train_count} images at {size}×{size}, {rounds} rounds, {transfer_seconds:.0f} s): test accuracy {transfer:.3f}")

    # 2. The notebook's CNN from scratch on the same images, every weight learning.
    scratch_net = NetModel("PyTorch Notebook CNN", output=NetDecoder("Class", class_names))
    start = time.perf_counter()
    scratch_trained = NetTrain(scratch_net, training, validation_set=validation, max_training_rounds=rounds, batch_size=64, training_progress_reporting=None)
    scratch_seconds = time.perf_counter() - start
    scratch = NetMeasurements(scratch_trained, testing, "Accuracy")
    print(f"PyTorch Notebook CNN from scratch ({train_count} images at 28×28, {rounds} rounds, {scratch_seconds:.0f} s): test accuracy {scratch:.3f}")
    return {"transfer": transfer, "scratch": scratch}


if __name__ == "__main__":
    main()
