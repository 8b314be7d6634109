"""The "Very Short Intro to Neural Networks" (seed document 002), in symnet.

The article's steps, in order: one neuron ``y = f(w·x + b)``; a layer of 10 neurons on 28×28
images (``y = Wx + b``) and a minibatch as a tensor; elementwise tensor arithmetic; the model
``Sequential(Flatten(), Linear(784, 10), Softmax())``; softmax outputs against a one-hot target
and the loss; the gradient of the loss and one step of gradient descent; the training loop
(PyTorch's ``SGD(lr=0.01)`` for 10 epochs, Keras's ``fit`` with ``validation_data``) as one
NetTrain call; and predictions with ``argmax``.

MNIST is not installed on these machines (and the tests do not download): the same code runs on
Fashion-MNIST, which has the same format; its class 5 ("Sandal") plays the digit 5.

    python examples/seeds/intro_to_neural_nets.py            # as the article: 10 epochs on 60000 images (about 1.5 minutes; 82% test accuracy)
    python examples/seeds/intro_to_neural_nets.py --quick    # 5000 images, 2 epochs: a few seconds
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from symnet import (
    All,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPortGradient,
    NetReplacePart,
    NetTrain,
    SoftmaxLayer,
    ThreadingLayer,
    datasets,
)

# PyTorch's SGD: no momentum, the same learning rate throughout (symnet's "SGD" defaults to
# momentum 0.9 and a cosine schedule)
PLAIN_SGD = ("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"})


def neuron() -> dict[str, Any]:
    """Neurons: y = f(Σ x_i w_i + b), here with f = LogisticSigmoid and N = 3 inputs."""
    # a LinearLayer with the output size () gives one number: the weighted sum plus the bias
    net = NetInitialize(NetChain([LinearLayer(()), ElementwiseLayer("LogisticSigmoid")], input=3))
    x = np.array([0.5, -1.0, 2.0])
    w, b = NetExtract(net, [0, "Weights"]), NetExtract(net, [0, "Biases"])
    by_hand = 1 / (1 + np.exp(-(w @ x + b)))
    print(f"one neuron: net(x) = {float(net(x)):.6f}; f(W·X + b) by hand = {float(by_hand[0]):.6f}")
    return {"neuron": (float(net(x)), float(by_hand[0]))}


def tensors(images: np.ndarray) -> dict[str, Any]:
    """Neurons and tensors: y = Wx + b for 10 neurons on 28×28 images, and a minibatch of 100."""
    layer = NetInitialize(LinearLayer(10, input=(28, 28)))
    print(f"10 neurons on 28×28 = 784 inputs: W has shape {NetExtract(layer, 'Weights').shape} (a row per neuron), b {NetExtract(layer, 'Biases').shape}")
    minibatch = images[:100] / 255
    print(f"a minibatch of 100 images is a tensor of shape {minibatch.shape}; y = Wx + b gives {layer(minibatch).shape}")

    # data = [[1, 2], [3, 4]]; x = torch.tensor(data); rand = torch.rand((2, 2)); ones = …; res = rand + ones*x
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    rand = np.random.default_rng(0).random((2, 2))
    ones = np.ones((2, 2))
    res = ThreadingLayer("x1 + x2 * x3")({"Input1": rand, "Input2": ones, "Input3": x})
    print(f"res = rand + ones*x (elementwise, a ThreadingLayer) -> {np.round(res.astype(float), 4).tolist()}")
    # "Dimensions are also expanded as needed": a vector is broadcast over the rows of a matrix
    broadcast = NetGraph([ThreadingLayer("Plus")], [], ports={"Input1": (2, 2), "Input2": 2})({"Input1": x, "Input2": [10.0, 20.0]})
    print(f"x + [10, 20] (broadcast) -> {broadcast.tolist()}")
    return {"layer_output_shape": layer(minibatch).shape, "res": (res, rand + ones * x), "broadcast": broadcast}


def model() -> NetChain:
    """model = Sequential(Flatten(), Linear(784, 10), Softmax())
    (Keras: Sequential([Flatten(input_shape=(28, 28)), Dense(10, activation='softmax')]))."""
    return NetChain([FlattenLayer(), LinearLayer(10), SoftmaxLayer()], input=(28, 28))


def loss_and_gradient(net: NetChain, image: np.ndarray, label: int, learning_rate: float) -> dict[str, Any]:
    """Training a network: softmax output, one-hot target, the loss, its gradient, one step down."""
    probabilities = net(image)
    print(f"before training, the probabilities for a class-{label} image: {np.round(probabilities.astype(float), 3).tolist()}")
    one_hot = np.eye(10)[label]
    print(f"the target, one-hot: {one_hot.astype(int).tolist()}")
    # the loss of the net's output against the one-hot target, and against the class index: the same number
    loss_one_hot = float(CrossEntropyLossLayer("Probabilities")({"Input": probabilities, "Target": one_hot}))
    loss_index = float(CrossEntropyLossLayer("Index")({"Input": probabilities, "Target": label}))
    print(f"cross-entropy loss: {loss_one_hot:.4f} (one-hot target) = {loss_index:.4f} (index target) = -log p[{label}] = {-np.log(probabilities[label]):.4f}")

    # the net with its loss attached; NetPortGradient differentiates the loss (summed over examples)
    training_net = NetGraph({"model": net, "loss": CrossEntropyLossLayer("Index")}, [("model", NetPort("loss", "Input"))])
    example = {"Input": image, "Target": label}
    weights, biases = NetExtract(net, [1, "Weights"]), NetExtract(net, [1, "Biases"])
    gradient_w = training_net(example, NetPortGradient(["model", 1, "Weights"]))
    gradient_b = training_net(example, NetPortGradient(["model", 1, "Biases"]))
    # for softmax + cross-entropy the gradient at the logits is p - onehot; then the chain rule through Wx + b
    by_hand_w = np.outer(probabilities - one_hot, image.reshape(-1))
    print(f"gradient of the loss: NetPortGradient vs (p - onehot) ⊗ x by hand: largest difference {np.abs(gradient_w - by_hand_w).max():.2e}")

    # one step of gradient descent: move the parameters against the gradient
    stepped = NetReplacePart(net, [([1, "Weights"], weights - learning_rate * gradient_w), ([1, "Biases"], biases - learning_rate * gradient_b)])
    loss_after = float(NetGraph({"model": stepped, "loss": CrossEntropyLossLayer("Index")}, [("model", NetPort("loss", "Input"))])(example))
    print(f"one gradient-descent step (learning rate {learning_rate}): loss {loss_index:.4f} -> {loss_after:.4f}, p[{label}] {probabilities[label]:.3f} -> {stepped(image)[label]:.3f}")

    # NetTrain with plain SGD on this one example takes exactly the same step
    trained = NetTrain(net, ([image], [label]), loss_function=CrossEntropyLossLayer("Index"), method=PLAIN_SGD, learning_rate=learning_rate,
                       batch_size=1, max_training_rounds=1, training_progress_reporting=None)
    step_difference = float(np.abs(NetExtract(trained, [1, "Weights"]) - NetExtract(stepped, [1, "Weights"])).max())
    print(f"NetTrain (SGD, one step) vs the step by hand: largest difference {step_difference:.2e}")
    return {
        "losses": (loss_one_hot, loss_index, float(-np.log(probabilities[label]))),
        "gradient": (gradient_w, by_hand_w),
        "step_losses": (loss_index, loss_after),
        "step_difference": step_difference,
    }


def main(quick: bool = False) -> dict[str, Any]:
    # dataset = MNIST(root="data", train=True, download=True, transform=ToTensor())
    train = datasets.load("FashionMNIST", split="train")
    test = datasets.load("FashionMNIST", split="test")
    results: dict[str, Any] = {}
    print("== Neurons ==")
    results.update(neuron())
    print("\n== Neurons and tensors ==")
    results.update(tensors(test.images))

    print("\n== Defining a network ==")
    net = NetInitialize(model())
    print(net)

    print("\n== Training a network: softmax, loss, gradient ==")
    first_five = int(np.flatnonzero(train.labels == 5)[0])
    results.update(loss_and_gradient(net, (train.images[first_five] / 255).astype(np.float32), 5, learning_rate=0.01))

    print("\n== The training loop ==")
    count, epochs = (5000, 2) if quick else (len(train), 10)
    # ToTensor(): pixels 0 … 255 → floats 0 … 1
    x_train, y_train = (train.images[:count] / 255).astype(np.float32), train.labels[:count]
    x_test, y_test = (test.images / 255).astype(np.float32), test.labels
    if quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    # loss_fn = CrossEntropyLoss(); optimizer = SGD(model.parameters(), lr=0.01); for epoch in range(10): for X, y in dataloader: …
    # (Keras: model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy']); model.fit(…, validation_data=…))
    training = NetTrain(
        net, (x_train, y_train), All,
        loss_function=CrossEntropyLossLayer("Index"), method=PLAIN_SGD, learning_rate=0.01,
        batch_size=64, max_training_rounds=epochs,
        validation_set=(x_test, y_test), training_progress_measurements=["Accuracy"],
        training_progress_reporting="Print",
    )
    accuracies = training["ValidationMeasurementsLists"]["Accuracy"]
    print(f"test accuracy after each epoch (the list to plot): {[round(a, 3) for a in accuracies]}")
    trained = training["TrainedNet"]

    print("\n== Predictions ==")
    # out = model(inp) for 20 images: a 20×10 tensor; argmax gives the predicted classes
    out = trained(x_test[:20])
    predicted = out.argmax(axis=1)
    print(f"out has shape {out.shape}; argmax: {predicted.tolist()}")
    print(f"           the true classes: {y_test[:20].tolist()}")
    results.update(accuracies=accuracies, round_losses=training["RoundLossList"], predicted=predicted, truth=y_test[:20], out_shape=out.shape)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5000 training images, 2 epochs (for tests)")
    quick = parser.parse_args().quick
    if quick:
        # small batches: one thread is faster than two that wait for each other on a busy machine
        torch.set_num_threads(1)
    main(quick=quick)
