"""The "Very Short Intro to Neural Networks" (seed document 002), in symnet.

The article's steps, in order: one neuron ``y = f(w·x + b)``; a layer of 10 neurons on 28×28
images (``y = Wx + b``) and a minibatch as a tensor; elementwise tensor arithmetic; the model
``Sequential(Flatten(), Linear(784, 10), Softmax())``; softmax outputs against a one-hot target
and the loss; the gradient of the loss and one step of gradient descent; the training loop
(PyTorch's ``SGD(lr=0.01)`` for 10 epochs, Keras's ``fit`` with ``validation_data``) as one
NetTrain call; predictions with ``argmax``; and loading your own images from a folder,
``ImageFolder('path', transform=Compose([Resize(255), CenterCrop(224), ToTensor()]))`` with a
``DataLoader(batch_size=32, shuffle=True)``, trained and measured.

MNIST is not installed on these machines (and the tests do not download): the same code runs on
Fashion-MNIST, which has the same format; its class 5 ("Sandal") plays the digit 5.

    python examples/seeds/intro_to_neural_nets.py            # as the article: 10 epochs on 60000 images (about 1.5 minutes; 82% test accuracy)
    python examples/seeds/intro_to_neural_nets.py --quick    # 5000 images, 2 epochs: a few seconds
    python examples/seeds/intro_to_neural_nets.py --folder PATH   # the image-folder part on your own folder of class sub-folders
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from symnet import (
    All,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    FlattenLayer,
    ImageAugmentationLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetMeasurements,
    NetPort,
    NetPortGradient,
    NetReplacePart,
    NetTake,
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


# -- loading images from a folder ----------------------------------------------------------------
def write_image_folder(dataset: datasets.Dataset, path: str | Path, per_class: int, seed: int = 0) -> Path:
    """Images of ``dataset`` as PNG files ``path/<class name>/<n>.png``, at assorted sizes and aspect
    ratios (as photographs come), for ImageFolder to read."""
    rng = np.random.default_rng(seed)
    root = Path(path)
    for index, name in enumerate(dataset.class_names):
        folder = root / name.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        for n, i in enumerate(rng.choice(np.flatnonzero(dataset.labels == index), per_class, replace=False)):
            width, height = (int(v) for v in rng.integers(32, 48, size=2))
            Image.fromarray(dataset.images[i]).resize((width, height), Image.BILINEAR).save(folder / f"{n}.png")
    return root


def image_folder(path: str | Path, quick: bool = False) -> dict[str, Any]:
    """dataset = ImageFolder('path', transform=Compose([Resize(255), CenterCrop(224), ToTensor()])), trained and measured."""
    folder = datasets.ImageFolder(path)
    files, names = folder.arrays()  # the files and their class names
    print(f"{folder}: {dict(zip(folder.class_names, np.bincount(folder.labels).tolist()))}")
    # Resize(255) scales the shorter side to 255 and CenterCrop(224) keeps the centre. At
    # Fashion-MNIST's scale that is Resize(32), CenterCrop(28): the image encoder's "Fill" resizes
    # so that the shorter side fits and keeps the centre (ToTensor()'s 0 … 1 floats included), and
    # ImageAugmentationLayer((28, 28)) is the centre crop when evaluating; while training it crops
    # at a random place, the augmentation torchvision's RandomCrop would add.
    encoder = NetEncoder("Image", (32, 32), color_space="Grayscale", resize_method="Fill")
    net = NetChain(
        [ImageAugmentationLayer((28, 28)), FlattenLayer(), LinearLayer(64), "Ramp", LinearLayer(len(folder.class_names)), SoftmaxLayer()],
        input=encoder, output=NetDecoder("Class", list(folder.class_names)),
    )
    centre = NetTake(NetInitialize(net), 1)(files[0])  # the first layer: the crop
    by_hand = _resize_then_centre_crop(files[0], 32, 28)
    print(f"Resize(32) then CenterCrop(28) of {Path(files[0]).name}: shape {centre.shape}, largest difference from Pillow by hand {np.abs(centre[0] - by_hand).max():.3f}")

    # a held-out fifth for measuring; DataLoader(dataset, batch_size=32, shuffle=True) is NetTrain's batch_size (it shuffles)
    order = np.random.default_rng(1).permutation(len(files))
    test_count = len(files) // 5
    train_part, test_part = order[test_count:], order[:test_count]
    training = NetTrain(
        net, ([files[i] for i in train_part], names[train_part]), All, batch_size=32, max_training_rounds=10 if quick else 30,
        random_seeding=2, training_progress_reporting=None,
    )
    trained = training["TrainedNet"]
    test_files, test_names = [files[i] for i in test_part], names[test_part]
    accuracy = NetMeasurements(trained, (test_files, test_names), "Accuracy")
    train_accuracy = NetMeasurements(trained, ([files[i] for i in train_part], names[train_part]), "Accuracy")
    print(f"trained on {len(train_part)} images ({training['RoundLossList'][0]:.3f} -> {training['RoundLossList'][-1]:.3f} loss): "
          f"accuracy {train_accuracy:.3f} on them, {accuracy:.3f} on the {len(test_part)} held-out images")
    return {"folder_classes": folder.class_names, "folder_crop": (centre, by_hand), "folder_accuracy": accuracy, "folder_train_accuracy": train_accuracy,
            "folder_losses": training["RoundLossList"], "folder_decisions": trained(test_files[:8]), "folder_truth": list(test_names[:8])}


def _resize_then_centre_crop(file: str, resize: int, crop: int) -> np.ndarray:
    """torchvision's Resize(resize), CenterCrop(crop), ToTensor() written with Pillow and numpy."""
    image = Image.open(file).convert("L")
    scale = resize / min(image.size)
    image = image.resize((max(resize, round(image.width * scale)), max(resize, round(image.height * scale))), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255
    top, left = (pixels.shape[0] - crop) // 2, (pixels.shape[1] - crop) // 2
    return pixels[top : top + crop, left : left + crop]


def main(quick: bool = False, folder: str | Path | None = None) -> dict[str, Any]:
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

    print("\n== Your own images: ImageFolder, Resize, CenterCrop ==")
    if folder is None:
        # no folder given: write out Fashion-MNIST test images as files, as a folder of photos would be
        with tempfile.TemporaryDirectory() as temporary:
            results.update(image_folder(write_image_folder(test, temporary, per_class=30 if quick else 100), quick))
    else:
        results.update(image_folder(folder, quick))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5000 training images, 2 epochs (for tests)")
    parser.add_argument("--folder", help="a folder with one sub-folder of images per class (default: Fashion-MNIST images written to a temporary folder)")
    arguments = parser.parse_args()
    quick = arguments.quick
    if quick:
        # small batches: one thread is faster than two that wait for each other on a busy machine
        torch.set_num_threads(1)
    main(quick=quick, folder=arguments.folder)
