"""The PyTorch notebook of "Understanding Neural Networks" (seed document 001), in symnet.

The notebook loads MNIST, looks at one image, defines a CNN as an ``nn.Module``, picks
``nn.CrossEntropyLoss`` and Adam (lr 1e-3), trains for two epochs at batch size 8 with a
hand-written loop that prints the running loss every 2000 batches and the train accuracy per
epoch, then measures the test accuracy and shows the predictions for a batch of test images.
In symnet the net is a NetChain whose layer names are the module's attribute names, and the
loop is one NetTrain call.

MNIST is not installed on these machines (and the tests do not download): the same code runs
on Fashion-MNIST, which has the same format (28×28 grayscale images, 10 classes) but is harder,
so expect about 90% rather than the notebook's 98.85%.

    python examples/seeds/pytorch_mnist_notebook.py            # as the notebook: 2 epochs at batch 8 (about 7 minutes on a CPU; 89.5% test accuracy)
    python examples/seeds/pytorch_mnist_notebook.py --quick    # 3000 images, 1 round at batch 32: a few seconds
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from symnet import (
    All,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetMeasurements,
    NetTrain,
    PoolingLayer,
    SoftmaxLayer,
    datasets,
)


def notebook_net(class_names: list[str]) -> NetChain:
    """class Net(nn.Module), as a NetChain: the layer names are the module's attributes."""
    return NetChain(
        {
            # Conv/pool: (Batch size, 1, 28, 28) -> (Batch size, 32, 24, 24) -> (Batch size, 32, 12, 12)
            "conv1": ConvolutionLayer(32, 5), "relu1": "Ramp", "maxpool1": PoolingLayer((2, 2), stride=(2, 2)),
            # Conv/pool: (Batch size, 32, 12, 12) -> (Batch size, 32, 8, 8) -> (Batch size, 32, 4, 4)
            "conv2": ConvolutionLayer(32, 5), "relu2": "Ramp", "maxpool2": PoolingLayer((2, 2), stride=(2, 2)),
            # Conv/pool: (Batch size, 32, 4, 4) -> (Batch size, 64, 2, 2) -> (Batch size, 64, 1, 1)
            "conv3": ConvolutionLayer(64, 3), "relu3": "Ramp", "maxpool3": PoolingLayer((2, 2), stride=(2, 2)),
            # Flatten: (Batch size, 64, 1, 1) -> (Batch size, 64*1*1)
            "flatten": FlattenLayer(),
            # Dense Layer 1: (Batch size, 64) -> (Batch size, 64)
            "dense1": LinearLayer(64), "relu4": "Ramp",
            # Dense Layer 2: (Batch size, 64) -> (Batch size, 10)
            "dense2": LinearLayer(10),
            # the notebook's net ends in logits and nn.CrossEntropyLoss applies the softmax; here the
            # net gives probabilities and NetTrain fuses softmax and cross-entropy from the logits
            "softmax": SoftmaxLayer(),
        },
        # pil2tnsr = torchvision.transforms.ToTensor(): pixels 0 … 255 → floats 0 … 1, shape (1, 28, 28)
        input=NetEncoder("Image", (28, 28), color_space="Grayscale"),
        output=NetDecoder("Class", class_names),
    )


def main(quick: bool = False) -> dict[str, Any]:
    # train = torchvision.datasets.MNIST(data_dir, train=True, …); test = …(train=False, …)
    train = datasets.load("FashionMNIST", split="train")
    test = datasets.load("FashionMNIST", split="test")
    print(f"Number of images in training set: {len(train)}")
    print(f"Number of images in test set: {len(test)}")

    # index = 10; img, label = train[index]
    index = 10
    img, label = train[index]
    print(f"Image label: {label} ({train.class_names[label]})")
    print(f"Image size: {img.shape[::-1]}")

    # model = Net()
    model = notebook_net(list(train.class_names))
    print(model)
    shapes = {name: model.layers[name].types["Output"].dims for name in ("maxpool1", "maxpool2", "conv3", "maxpool3", "flatten", "dense2")}

    # train_loader = DataLoader(train, batch_size=8, shuffle=True); num_epochs = 2
    if quick:
        train, test = train.subset(range(3000)), test.subset(range(1000))
    batch_size, num_epochs = (32, 1) if quick else (8, 2)
    report_every = 20 if quick else 2000
    running = {"loss": 0.0}

    def print_running_loss(progress: dict[str, Any]) -> None:
        # running_loss += loss.item(); if i % 2000 == 1999: print(f'Loss: {running_loss/2000}'); running_loss = 0.0
        running["loss"] += progress["BatchLoss"]
        if progress["Batch"] % report_every == 0:
            print(f"Loss: {running['loss'] / report_every}")
            running["loss"] = 0.0

    def print_epoch(progress: dict[str, Any]) -> None:
        print(f"Epoch: {progress['Round']}/{num_epochs}  Finished in {progress['Time']:.2f}s  "
              f"Accuracy on train set: {100 * progress['RoundMeasurements']['Accuracy']}")
        running["loss"] = 0.0

    # loss_function = nn.CrossEntropyLoss(); optimizer = torch.optim.Adam(model.parameters(), lr=1e-3); the loop
    results = NetTrain(
        model, train, All,
        loss_function=CrossEntropyLossLayer("Index"),
        method="ADAM", learning_rate=1e-3,
        batch_size=batch_size, max_training_rounds=num_epochs,
        training_progress_measurements=["Accuracy"],
        training_progress_reporting=[print_running_loss, (print_epoch, "Round")],
    )
    trained = results["TrainedNet"]

    # correct / total over test_loader, under torch.no_grad()
    accuracy = NetMeasurements(trained, test, "Accuracy")
    print(f"Accuracy on test set: {100 * accuracy}")

    # images, labels = next(iter(test_loader)); _, predicted = torch.max(model(images), 1)
    images, labels = test.images[:8], test.labels[:8]
    predicted = trained(images)
    probabilities = trained(images, None)  # the raw output: one probability vector per image
    print(f"GroundTruth: {[test.class_names[i] for i in labels]}")
    print(f"Predicted:   {predicted}")
    print(f"as in the notebook, torch.max(y_pred, 1): {torch.tensor(np.argmax(probabilities, axis=1))}")
    return {
        "shapes": shapes,
        "train_accuracy": results["RoundMeasurements"]["Accuracy"],
        "test_accuracy": accuracy,
        "predicted": list(predicted),
        "labels": [test.class_names[i] for i in labels],
        "argmax": np.argmax(probabilities, axis=1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3000 training images, one round at batch 32 (for tests)")
    quick = parser.parse_args().quick
    if quick:
        # small batches: one thread is faster than two that wait for each other on a busy machine
        torch.set_num_threads(1)
    main(quick=quick)
