"""Writes the example notebooks from the cells below, without outputs.

The notebooks are data (JSON); their cells live here as code, so a change to them is read and
reviewed as Python. Run after editing a cell:

    python examples/notebooks/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

FIRST_NET = [
    ("md", "# A first net\n\nA net is a value: build it, look at it, initialize it, evaluate it. "
           "In a notebook a net shows itself as a panel: its ports, its layers with their output shapes and parameter counts, and a picture of its graph."),
    ("code", "import numpy as np\n\nfrom symnet import LinearLayer, NetChain, NetDecoder, NetEncoder, NetGraph, NetInitialize, SoftmaxLayer, ThreadingLayer"),
    ("code", 'net = NetChain(\n    {"hidden": LinearLayer(16), "act": "Ramp", "out": LinearLayer(3), "probs": SoftmaxLayer()},\n'
             '    input=4,\n    output=NetDecoder("Class", ["setosa", "versicolor", "virginica"]),\n)\nnet'),
    ("md", "A `NetGraph` can branch: two activations of the same features are added by a two-input `ThreadingLayer`, then a nested chain reads the sum. "
           "The picture draws every wire, the two inputs of `\"sum\"` and the nested chain with its own ports."),
    ("code", 'graph = NetGraph(\n    {"features": LinearLayer(8), "tanh": "Tanh", "ramp": "Ramp", "sum": ThreadingLayer("Plus"), "head": NetChain([LinearLayer(3), "Tanh"])},\n'
             '    [("features", "tanh", "sum"), ("features", "ramp", "sum"), ("sum", "head")],\n    input=4,\n)\ngraph'),
    ("md", "Initializing gives the net its arrays; evaluating it on an example decodes the output into a class."),
    ("code", "net = NetInitialize(net, random_seeding=1)\nexample = np.array([5.1, 3.5, 1.4, 0.2], dtype=np.float32)\nnet(example), net(example, \"Probabilities\")"),
    ("md", "Encoders and decoders show themselves too."),
    ("code", 'NetEncoder("Class", ["cat", "dog", "bird"])'),
]

TRAIN = [
    ("md", "# Training on Fashion-MNIST\n\nWhile `NetTrain` runs, a panel below the cell shows the round, the losses and the time left, and redraws itself in place. "
           "The results show their plots inline.\n\nThe next cell sets the size of the run: the environment variables let a test run it small."),
    ("code", 'import os\n\nEXAMPLES = int(os.environ.get("SYMNET_NOTEBOOK_EXAMPLES", "60000"))  # training images\n'
             'ROUNDS = int(os.environ.get("SYMNET_NOTEBOOK_ROUNDS", "3"))\nWIDTH = int(os.environ.get("SYMNET_NOTEBOOK_WIDTH", "32"))  # convolution channels'),
    ("code", "from symnet import All, ConvolutionLayer, FlattenLayer, LinearLayer, NetChain, NetDecoder, NetEncoder, NetMeasurements, NetTrain, PoolingLayer, SoftmaxLayer, datasets\n\n"
             'train = datasets.load("FashionMNIST", split="train").subset(range(EXAMPLES))\n'
             'test = datasets.load("FashionMNIST", split="test").subset(range(min(EXAMPLES, 10000)))\nlen(train), len(test)'),
    ("code", "net = NetChain(\n    [ConvolutionLayer(WIDTH, 5), \"Ramp\", PoolingLayer(2, 2), ConvolutionLayer(WIDTH, 5), \"Ramp\", PoolingLayer(2, 2),\n"
             "     FlattenLayer(), LinearLayer(64), \"Ramp\", LinearLayer(10), SoftmaxLayer()],\n"
             '    input=NetEncoder("Image", size=(28, 28), color_space="Grayscale", mean_image=0.286, variance_image=0.353**2),\n'
             "    output=NetDecoder(\"Class\", list(train.class_names)),\n)\nnet"),
    ("code", "results = NetTrain(net, train, All, max_training_rounds=ROUNDS, validation_set=test, random_seeding=1)\nresults"),
    ("code", 'trained = results["TrainedNet"]\naccuracy = NetMeasurements(trained, test, "Accuracy")\nprint(f"test accuracy: {accuracy:.3f}")\n'
             "images, labels = test.arrays()\n[(train.class_names[label], guess) for label, guess in zip(labels[:5], trained(images[:5]))]"),
]

SURGERY = [
    ("md", "# Net surgery\n\nEvery operation returns a new net; the old one is unchanged. Each result shows its panel, so what was taken, dropped or replaced can be seen."),
    ("code", "from symnet import LinearLayer, NetChain, NetDrop, NetInitialize, NetReplacePart, NetTake, SoftmaxLayer\n\n"
             'net = NetInitialize(NetChain(\n    {"hidden1": LinearLayer(16), "act1": "Ramp", "hidden2": LinearLayer(8), "act2": "Tanh", "out": LinearLayer(3), "probs": SoftmaxLayer()},\n'
             "    input=4,\n), random_seeding=1)\nnet"),
    ("md", "`NetTake` keeps the layers from the first up to a named one: here a feature extractor, with its trained arrays."),
    ("code", 'features = NetTake(net, "act2")\nfeatures'),
    ("md", "`NetDrop(net, -2)` drops the last two layers, as Wolfram's `NetDrop[net, -2]`."),
    ("code", "NetDrop(net, -2)"),
    ("md", "`NetReplacePart` puts a new layer in place of an old one: a five-class head. Shapes are inferred again; the new layer is uninitialized."),
    ("code", 'new_head = NetReplacePart(net, {"out": LinearLayer(5)})\nnew_head'),
]


def write(name: str, cells: list[tuple[str, str]]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text) for kind, text in cells]
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{name.split('.')[0].replace('_', '-')}-{index}"  # stable ids: a rewrite changes only what changed
    path = HERE / name
    nbformat.write(notebook, path)
    return path


def main() -> None:
    for name, cells in (("first_net.ipynb", FIRST_NET), ("train_fashion_mnist.ipynb", TRAIN), ("surgery.ipynb", SURGERY)):
        print(f"wrote {write(name, cells)}")


if __name__ == "__main__":
    main()
