"""The Wolfram blog post "Neural Networks: An Introduction", line by line in symnet.

Each section below is one section of the post (seed document 000): the NetEncoder/NetDecoder
image round trip, ``LinearLayer[2, "Input" -> 3]`` against ``w.x + b`` by hand, the NetChain
with a 2-vector input, the NetGraph of Ramp/Tanh/Times/Plus, the remedies for overfitting
(DropoutLayer, ImageAugmentationLayer, L1 and L2 regularization), and the net surgery (NetDrop, a new NetChain with a class decoder, NetTrain with
``learning_rate_multipliers`` and ``validation_set``).

Two things of the post are not available here and are replaced:
- the puppy picture (``CloudGet["https://wolfr.am/De49Ylam"]``): a Fashion-MNIST test image;
- ``NetModel["ResNet-50 Trained on ImageNet Competition Data"]`` (symnet has no model
  repository yet): a small CNN trained here on five Fashion-MNIST classes plays the
  pretrained net, and "Sneaker" versus "Ankle boot" plays "dog" versus "cat"; for the same
  reason ``RandomSample[NetModel[], 10]`` is left out.

    python examples/seeds/wolfram_intro.py            # 15000 images, 3 + 10 rounds: under a minute on a CPU
    python examples/seeds/wolfram_intro.py --quick    # a few seconds (fewer images and rounds)
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from PIL import Image

from symnet import (
    All,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    DotLayer,
    DropoutLayer,
    ElementwiseLayer,
    FlattenLayer,
    ImageAugmentationLayer,
    LinearLayer,
    NetArrayLayer,
    NetChain,
    NetDecoder,
    NetDrop,
    NetEncoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetMeasurements,
    NetPort,
    NetReplacePart,
    NetTrain,
    PoolingLayer,
    ReshapeLayer,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
    datasets,
)


def encoder_and_decoder(test: datasets.Dataset) -> dict[str, Any]:
    """Encoder in action: an image to a 64×64 grayscale tensor and back."""
    # image = CloudGet["https://wolfr.am/De49Ylam"]  (the puppy is not available offline:
    # the first Fashion-MNIST test image, enlarged to 96×96 so that the encoder really resizes it)
    image = Image.fromarray(test.images[0]).resize((96, 96), Image.Resampling.BILINEAR)
    label = test.class_names[test.labels[0]]

    # enc = NetEncoder[{"Image", {64, 64}, ColorSpace -> "Grayscale"}]
    enc = NetEncoder("Image", (64, 64), color_space="Grayscale")
    # encoded = enc[image]; Dimensions@encoded   (a symnet coder is not callable: encode() gives a batch of one)
    batch, _ = enc.encode(image)
    encoded = batch[0]
    print(f"enc = {enc}")
    print(f"Dimensions@encoded -> {tuple(encoded.shape)}  (one grayscale channel of 64×64; the image is a {label!r})")

    # dec = NetDecoder[{"Image", ColorSpace -> "Grayscale"}]; dec[encoded]   (decode() takes and gives a batch)
    dec = NetDecoder("Image", color_space="Grayscale")
    decoded = dec.decode(encoded[None])[0]
    print(f"dec = {dec}")
    print(f"dec[encoded] -> a grayscale image (mode {decoded.mode}) of {decoded.size[0]}×{decoded.size[1]} pixels")
    # the decoded image is the 64×64 version of the original, up to rounding to 8-bit pixels
    original = np.asarray(image.resize((64, 64), Image.Resampling.BILINEAR), dtype=np.int16)
    difference = int(np.abs(np.asarray(decoded, dtype=np.int16) - original).max())
    print(f"largest pixel difference to the original resized to 64×64: {difference} (of 255)")
    return {"encoded_shape": tuple(encoded.shape), "decoded_size": decoded.size, "decoded_mode": decoded.mode, "round_trip_difference": difference}


def linear_layer_by_hand() -> dict[str, Any]:
    """Applying layers: LinearLayer[2, "Input" -> 3] equals weight.data + bias."""
    # data = {2, 10, 3}; layer = NetInitialize@LinearLayer[2, "Input" -> 3]
    data = [2.0, 10.0, 3.0]
    layer = NetInitialize(LinearLayer(2, input=3))

    # linear[data_, weight_, bias_] := weight.data + bias
    def linear(data: Any, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return weight @ data + bias

    # linear[data, Normal@NetExtract[layer, "Weights"], Normal@NetExtract[layer, "Biases"]]
    by_hand = linear(data, NetExtract(layer, "Weights"), NetExtract(layer, "Biases"))
    by_layer = layer(data)
    print(f"layer[data]                               -> {np.round(by_layer, 5)}")
    print(f"linear[data, Weights, Biases] (w.x + b)   -> {np.round(by_hand, 5)}")
    return {"by_layer": by_layer, "by_hand": by_hand}


def containers() -> dict[str, Any]:
    """Using containers: a NetChain with a 2-vector input, and a NetGraph of four layers."""
    # NetChain[{LinearLayer[30], ElementwiseLayer[Tanh], LinearLayer[3], ElementwiseLayer[Tanh],
    #           LinearLayer[3], ElementwiseLayer[LogisticSigmoid]}, "Input" -> 2]
    chain = NetChain(
        [LinearLayer(30), ElementwiseLayer("Tanh"), LinearLayer(3), ElementwiseLayer("Tanh"), LinearLayer(3), ElementwiseLayer("LogisticSigmoid")],
        input=2,
    )
    print(chain)
    chain_output = NetInitialize(chain)([0.5, -1.0])
    print(f"NetInitialize[chain][{{0.5, -1.}}] -> {np.round(chain_output, 4)}  (sigmoid outputs, in (0, 1))")

    # NetGraph[{ElementwiseLayer[Ramp], ElementwiseLayer[Tanh], ThreadingLayer[Times], ThreadingLayer[Plus]},
    #          {1 -> 2 -> 3, 1 -> 3 -> 4, 2 -> 4}]        (symnet counts layers from 0)
    graph = NetGraph(
        [ElementwiseLayer("Ramp"), ElementwiseLayer("Tanh"), ThreadingLayer("Times"), ThreadingLayer("Plus")],
        [(0, 1, 2), (0, 2, 3), (1, 3)],
    )
    print(graph)
    x = np.array([-1.0, 0.5, 2.0])
    graph_output = graph(x)
    # what the edges say: ramp = Ramp[x]; tanh = Tanh[ramp]; times = tanh*ramp; plus = times + tanh
    ramp = np.maximum(x, 0)
    by_hand = np.tanh(ramp) * ramp + np.tanh(ramp)
    print(f"graph[{x.tolist()}] -> {np.round(graph_output, 5)};  by hand Tanh[Ramp[x]]*Ramp[x] + Tanh[Ramp[x]] -> {np.round(by_hand, 5)}")
    return {"chain_output": chain_output, "graph_output": graph_output, "graph_by_hand": by_hand}


def dropout(p: float = 0.5) -> dict[str, Any]:
    """The problem of overfitting: DropoutLayer zeroes elements with probability p while training."""
    layer = DropoutLayer(p)
    x = np.ones(10_000, dtype=np.float32)
    evaluated = layer(x)  # evaluation: the identity
    # training mode (NetEvaluationMode -> "Train" in Wolfram; symnet has no such option, so
    # call the layer's forward as NetTrain does)
    torch.manual_seed(0)
    trained = layer.forward({}, torch.from_numpy(x)[None], training=True)[0].numpy()
    zeros = float((trained == 0).mean())
    kept = np.unique(trained[trained != 0])
    print(f"DropoutLayer[{p}] when evaluating: unchanged ({bool(np.array_equal(evaluated, x))}); "
          f"when training: {zeros:.1%} of the elements set to 0, the others multiplied by {kept[0]:.1f} = 1/(1 - {p})")
    return {"evaluation_unchanged": bool(np.array_equal(evaluated, x)), "zero_fraction": zeros, "kept_values": kept}


def augmentation(test: datasets.Dataset) -> dict[str, Any]:
    """ImageAugmentationLayer: random crops (and reflections) while training, the centre crop when evaluating."""
    layer = ImageAugmentationLayer((24, 24), reflection_probabilities=(0, 0.5), input=(1, 28, 28))
    image = (test.images[:1, None] / 255).astype(np.float32)
    centre = layer(image)
    torch.manual_seed(0)  # NetTrain seeds this generator with random_seeding, so training stays reproducible
    variants = [layer(image, evaluation_mode="Train") for _ in range(4)]
    distinct = len({v.tobytes() for v in variants})
    print(f"ImageAugmentationLayer[{{24, 24}}] on a 28×28 image: the centre crop when evaluating (equal to image[2:26, 2:26]: "
          f"{bool(np.array_equal(centre[0, 0], image[0, 0, 2:26, 2:26]))}); {distinct} different crops in 4 training-mode calls")
    return {"augmentation_centre": bool(np.array_equal(centre[0, 0], image[0, 0, 2:26, 2:26])), "augmentation_distinct": distinct}


def l1_penalty_graph(penalty: float) -> NetGraph:
    """A linear classifier whose loss carries penalty·Σ|W|: its weights are a NetArrayLayer, so the graph can read them."""
    return NetGraph(
        {"weights": NetArrayLayer(dims=(10, 784)), "flatten": FlattenLayer(), "scores": DotLayer(), "probabilities": SoftmaxLayer(),
         "loss": CrossEntropyLossLayer("Index"), "abs": ElementwiseLayer("Abs"), "l1": SummationLayer(), "penalty": ElementwiseLayer(f"{penalty} * x"),
         "total": ThreadingLayer("Plus")},
        [(NetPort("Input"), "flatten"), ("weights", NetPort("scores", "Input1")), ("flatten", NetPort("scores", "Input2")),
         ("scores", "probabilities", NetPort("loss", "Input")), ("weights", "abs", "l1", "penalty"), ("loss", "total"), ("penalty", "total"), ("total", NetPort("Loss"))],
        input=(28, 28),
    )


def regularization(train: datasets.Dataset, test: datasets.Dataset, quick: bool) -> dict[str, Any]:
    """L1 and L2 regularization and augmentation against overfitting: a linear classifier on few images."""
    count, rounds = (300, 15) if quick else (1000, 40)
    x, y = (train.images[:count] / 255).astype(np.float32), train.labels[:count]
    x_test, y_test = (test.images[:2000] / 255).astype(np.float32), test.labels[:2000]
    options = {"max_training_rounds": rounds, "batch_size": 32, "random_seeding": 1, "training_progress_reporting": None}
    classifier = NetChain([FlattenLayer(), LinearLayer(10, biases=False), SoftmaxLayer()], input=(28, 28))
    weights: dict[str, np.ndarray] = {}
    # no regularization; L2 (a suboption of NetTrain's method, as in Wolfram); L1 (the penalty written into the loss)
    weights["none"] = NetExtract(NetTrain(classifier, (x, y), **options), [1, "Weights"])
    weights["L2"] = NetExtract(NetTrain(classifier, (x, y), method=("ADAM", {"l2_regularization": 0.01}), **options), [1, "Weights"])
    weights["L1"] = NetExtract(NetTrain(l1_penalty_graph(1e-3), {"Input": x, "Target": y}, loss_function="Loss", **options), ["weights", "Array"])
    # augmentation: the classifier sees random 24×24 crops while training and the centre crop when evaluating
    augmented = NetChain([ReshapeLayer((1, 28, 28)), ImageAugmentationLayer((24, 24)), FlattenLayer(), LinearLayer(10, biases=False), SoftmaxLayer()], input=(28, 28))
    augmented = NetTrain(augmented, (x, y), **options)
    results: dict[str, Any] = {}
    for name, w in weights.items():
        net = NetReplacePart(classifier, {(1, "Weights"): w})
        accuracy = (NetMeasurements(net, (x, y), "Accuracy"), NetMeasurements(net, (x_test, y_test), "Accuracy"))
        results[name] = {"accuracy": accuracy, "l1_norm": float(np.abs(w).sum()), "l2_norm": float(np.sqrt((w**2).sum())), "near_zero": float((np.abs(w) < 1e-3).mean())}
    results["augmentation"] = {"accuracy": (NetMeasurements(augmented, (x, y), "Accuracy"), NetMeasurements(augmented, (x_test, y_test), "Accuracy"))}
    print(f"a linear classifier on {count} images, {rounds} rounds:    train / test accuracy   |W|_1   |W|_2   weights below 1e-3")
    for name, r in results.items():
        train_accuracy, test_accuracy = r["accuracy"]
        norms = f"{r['l1_norm']:7.1f} {r['l2_norm']:7.2f}   {r['near_zero']:6.1%}" if "l1_norm" in r else ""
        print(f"  {name:<42}{train_accuracy:7.3f} / {test_accuracy:.3f}  {norms}")
    return {"regularization": results}


def pretrained_net(train: datasets.Dataset, limit: int, rounds: int) -> NetChain:
    """Stands in for NetModel["ResNet-50 …"]: a small CNN trained on Fashion-MNIST classes 0-4."""
    names = list(train.class_names[:5])
    net = NetChain(
        [
            ConvolutionLayer(16, 5), "Ramp", PoolingLayer(2, 2),
            ConvolutionLayer(32, 5), "Ramp", PoolingLayer(2, 2),
            FlattenLayer(), LinearLayer(64), "Ramp", DropoutLayer(0.2),
            LinearLayer(5), SoftmaxLayer(),
        ],
        input=NetEncoder("Image", (28, 28), color_space="Grayscale"),
        output=NetDecoder("Class", names),
    )
    images, labels = _subset(train, range(0, 5), limit, seed=1)
    return NetTrain(net, (images, labels), max_training_rounds=rounds, batch_size=64, training_progress_reporting=None)


def _subset(data: datasets.Dataset, classes: range | list[int], limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The images of ``classes`` (at most ``limit``, drawn at random) and their class names."""
    index = np.flatnonzero(np.isin(data.labels, list(classes)))
    if limit is not None and limit < len(index):
        index = np.sort(np.random.default_rng(seed).choice(index, limit, replace=False))
    return data.images[index], np.asarray(data.class_names, dtype=object)[data.labels[index]]


def network_surgery(train: datasets.Dataset, test: datasets.Dataset, quick: bool) -> dict[str, Any]:
    """Performing network surgery: reuse the features of a trained net for a new two-class task."""
    limit, rounds = (1500, 1) if quick else (15000, 3)
    # net = NetModel["ResNet-50 Trained on ImageNet Competition Data"]   (see the module docstring)
    net = pretrained_net(train, limit, rounds)
    print(f"the 'pretrained' net: {len(net.layers)} layers, accuracy {NetMeasurements(net, _subset(test, range(0, 5), 1000, seed=2), 'Accuracy'):.3f} on its own five classes")

    # netFeature = NetDrop[net, -2]   (the last two layers are specialized for the old task)
    net_feature = NetDrop(net, -2)
    print(f"netFeature = NetDrop[net, -2]: {len(net_feature.layers)} layers, output {net_feature.types['Output']}")

    # netNew = NetChain[<|"feature" -> netFeature, "classifier" -> LinearLayer[], "probabilities" -> SoftmaxLayer[]|>,
    #                   "Output" -> NetDecoder[{"Class", {"dog", "cat"}}]]
    new_classes = ["Sneaker", "Ankle boot"]  # "dog" and "cat": two classes the features never saw
    net_new = NetChain(
        {"feature": net_feature, "classifier": LinearLayer(), "probabilities": SoftmaxLayer()},
        output=NetDecoder("Class", new_classes),
    )
    print(net_new)

    wanted = [train.class_names.index(name) for name in new_classes]
    catdog_train = _subset(train, wanted, 600 if quick else None, seed=3)
    catdog_test = _subset(test, wanted, 400 if quick else None, seed=4)
    # NetTrain[netNew, catdogTrain, "FinalPlots", LearningRateMultipliers -> {"classifier" -> 1, _ -> 0},
    #          ValidationSet -> catdogTest, MaxTrainingRounds -> 10, Method -> "SGD"]
    # ("FinalPlots" alone, as in the post, would return only the plots; All returns them with the trained net)
    results = NetTrain(
        net_new, catdog_train, All,
        learning_rate_multipliers={"classifier": 1, "*": 0},
        validation_set=catdog_test,
        max_training_rounds=2 if quick else 10,
        method="SGD",
        training_progress_reporting=None,
    )
    trained = results["TrainedNet"]
    print(f"FinalPlots: {', '.join(results['FinalPlots'])}")
    validation = results["ValidationMeasurements"]
    print(f"after {results['TotalRounds']} rounds of SGD on the classifier alone: validation loss {validation['Loss']:.3f}, accuracy {validation['Accuracy']:.3f}")
    frozen = np.array_equal(NetExtract(trained, ["feature", 0, "Weights"]), NetExtract(net, [0, "Weights"]))
    print(f"the features are unchanged (learning rate multiplier 0): {frozen}")
    images, labels = catdog_test
    decided = trained(images[:6])
    print(f"netNew on six test images -> {decided}")
    print(f"                   labels -> {list(labels[:6])}")
    return {
        "surgery_validation_accuracy": validation["Accuracy"],
        "surgery_features_frozen": frozen,
        "surgery_plots": sorted(results["FinalPlots"]),
        "surgery_decisions": list(decided),
        "surgery_labels": list(labels[:6]),
    }


def main(quick: bool = False) -> dict[str, Any]:
    train = datasets.load("FashionMNIST", split="train")
    test = datasets.load("FashionMNIST", split="test")
    results: dict[str, Any] = {}
    for title, section in [
        ("Encoder in action", lambda: encoder_and_decoder(test)),
        ("Applying layers", linear_layer_by_hand),
        ("Using containers", containers),
        ("The problem of overfitting: DropoutLayer", dropout),
        ("The problem of overfitting: ImageAugmentationLayer", lambda: augmentation(test)),
        ("The problem of overfitting: L1 and L2 regularization", lambda: regularization(train, test, quick)),
        ("Performing network surgery", lambda: network_surgery(train, test, quick)),
    ]:
        print(f"\n== {title} ==")
        results.update(section())
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and training rounds (for tests)")
    quick = parser.parse_args().quick
    if quick:
        # small batches: one thread is faster than two that wait for each other on a busy machine
        torch.set_num_threads(1)
    main(quick=quick)
