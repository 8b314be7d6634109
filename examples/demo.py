"""Fashion-MNIST in one NetTrain call: a small batch-normalized CNN, trained and tested in 3 minutes.

The PyTorch notebook spends forty lines on a training loop; here the net says what its input is
(an image encoder) and what its output means (a class decoder), and NetTrain does the rest.
Writes the trained net, the loss plot and the test set's confusion matrix into ``out/``.

The demo has a budget of 3 minutes: NetTrain trains for ``TIME_GOAL`` seconds (its learning
rate follows the clock, so the schedule ends when the time does), on as many rounds as the
machine gets through.

The net is not the notebook's CNN (kept below as :func:`notebook_cnn`, which the benchmarks
train): that one levels off near 0.91 test accuracy however long it trains. Judged on the last
10,000 *training* images held out (never the test set), it reached 0.913 after 12 rounds,
0.915 after 15 with mirrored images, 0.905 with shifted ones as well, 0.909 with batch
normalization (it overfits); the 2-conv batch-norm CNN of symnet's model repository
("2-Conv BatchNorm CNN Trained on Fashion-MNIST": shifted and mirrored images, dropout; measured
with the 64-unit dense layer it had before it was shipped with 128) reached 0.921 after 10
rounds, at about twice the notebook CNN's cost per round.

    python examples/demo.py            # or: make demo
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from symnet import (
    All,
    ConvolutionLayer,
    Export,
    FlattenLayer,
    ImageAugmentationLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetInitialize,
    NetModel,
    NetTrain,
    PoolingLayer,
    SoftmaxLayer,
    datasets,
    metrics,
)
from symnet.train.report import confusion_plot

OUT = Path(__file__).resolve().parent.parent / "out"
TIME_GOAL = 165  # seconds of training; loading, testing and writing the files took 5-8 s more (make demo: 2m38 with 150)


def notebook_cnn(class_names: tuple[str, ...], mirrored: bool = False) -> NetChain:
    """conv 32@5, pool, conv 32@5, pool, conv 64@3, pool, dense 64, dense 10 (ReLU after each conv and the first dense);
    ``mirrored``: each training image mirrored left-right with probability 1/2 (in evaluation the identity)."""
    augmentation = [ImageAugmentationLayer((28, 28), reflection_probabilities=(0.0, 0.5))] if mirrored else []
    return NetChain(
        [
            *augmentation,
            ConvolutionLayer(32, 5), "Ramp", PoolingLayer(2, 2),
            ConvolutionLayer(32, 5), "Ramp", PoolingLayer(2, 2),
            ConvolutionLayer(64, 3), "Ramp", PoolingLayer(2, 2),
            FlattenLayer(), LinearLayer(64), "Ramp", LinearLayer(10), SoftmaxLayer(),
        ],
        # Fashion-MNIST's pixel mean and variance: inputs centred near 0 train faster.
        input=NetEncoder("Image", size=(28, 28), color_space="Grayscale", mean_image=0.286, variance_image=0.353**2),
        output=NetDecoder("Class", list(class_names)),
    )


def initialized_cnn(class_names: tuple[str, ...], mirrored: bool = False) -> NetChain:
    """The notebook's CNN, started from weights of the scale PyTorch gives the notebook's layers.

    PyTorch starts them at about ±1/√fan-in; "Xavier" is close to that, while NetInitialize's
    default, Kaiming (as Wolfram's), starts 2.4× larger and overfits this net: 0.898 and 0.898
    test accuracy (seeds 1234 and 2) against 0.910 and 0.910 with Xavier, with the same
    automatic training settings.
    """
    return NetInitialize(notebook_cnn(class_names, mirrored), method="Xavier")


def main() -> int:
    start = time.perf_counter()
    train = datasets.load("FashionMNIST", split="train")
    test = datasets.load("FashionMNIST", split="test")
    # the architecture of a net in symnet's model repository: two 3x3 convolutions with batch
    # normalization, trained here from NetInitialize's default (Kaiming) start
    net = NetInitialize(NetModel("2-Conv BatchNorm CNN Trained on Fashion-MNIST", "UninitializedEvaluationNet"))

    results = NetTrain(net, train, All, learning_rate=3e-3, working_precision="Mixed", time_goal=TIME_GOAL)
    trained = results["TrainedNet"]
    choices = ", ".join(f"{k}={v}" for k, v in results["AutomaticChoices"].items())
    print(f"trained {results['TotalBatches']} batches ({results['TotalBatches'] * results['BatchSize'] / len(train.labels):.1f} rounds) in {results['TotalTrainingTime']:.0f} s "
          f"({results['MeanExamplesPerSecond']:.0f} examples/s); automatic choices: {choices}")

    probabilities = torch.from_numpy(trained(test.images, None))  # None: the raw output, not decoded
    labels = torch.from_numpy(test.labels)
    accuracy = metrics.accuracy(probabilities, labels)
    print(f"test accuracy: {accuracy:.4f} (goal: 0.915 within 3 minutes)")

    OUT.mkdir(exist_ok=True)
    Export(OUT / "fashion_mnist_cnn.symnet", trained)
    results["LossPlot"].savefig(OUT / "loss.png")
    confusion_plot(metrics.confusion_matrix(probabilities, labels, 10), list(test.class_names)).savefig(OUT / "confusion_matrix.png")
    print(f"saved {OUT / 'fashion_mnist_cnn.symnet'}, {OUT / 'loss.png'} and {OUT / 'confusion_matrix.png'}")

    print("what the trained net says about the first test images:")
    actual = np.array(test.class_names)[test.labels]
    for guess, truth, p in zip(trained(test.images[:5]), actual[:5], trained(test.images[:5], "Probabilities")):
        print(f"  {truth:>12} → {guess:<12} ({p[guess]:.0%} sure)")
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    return 0 if accuracy >= 0.90 else 1


if __name__ == "__main__":
    sys.exit(main())
