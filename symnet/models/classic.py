"""Small classic nets for 28×28 grayscale images (MNIST, Fashion-MNIST): LeNet-5, the PyTorch
notebook's CNN and a multilayer perceptron.

- **LeNet-5** (LeCun, Bottou, Bengio & Haffner, 1998): two 5×5 convolutions (6 and 16
  channels) with tanh and 2×2 mean pooling, then 120, 84 and 10 units: 61,706 parameters. The
  first convolution pads by 2, the usual adaptation of its 32×32 input to 28×28 images.
- **PyTorch Notebook CNN**: the CNN of "Understanding Neural Networks" (the seed notebook,
  ``examples/seeds/pytorch_mnist_notebook.py``): 32@5, 32@5 and 64@3 convolutions with ReLU
  and 2×2 max pooling, then 64 and 10 units: 49,770 parameters.
- **MLP**: Keras's MNIST multilayer perceptron, 784 → 512 → 512 → 10 with ReLU and dropout
  0.2: 669,706 parameters.
"""

from __future__ import annotations

from typing import Any

from ..coders import NetDecoder, NetEncoder
from ..containers.chain import NetChain
from ..layers.basic import DropoutLayer, LinearLayer, SoftmaxLayer
from ..layers.conv import ConvolutionLayer
from ..layers.pooling import PoolingLayer
from ..layers.structure import FlattenLayer
from .entries import Model
from .weights import dotted_mapping

DIGITS = list(range(10))


def _ports(input: Any, output: Any) -> dict[str, Any]:
    return {"input": NetEncoder("Image", (28, 28), color_space="Grayscale") if input is None else input, "output": NetDecoder("Class", DIGITS) if output is None else output}


def lenet5(input: Any = None, output: Any = None) -> NetChain:
    """LeNet-5 for 28×28 grayscale images and 10 classes."""
    return NetChain(
        {
            "conv1": ConvolutionLayer(6, 5, padding=2), "tanh1": "Tanh", "pool1": PoolingLayer(2, 2, function="Mean"),
            "conv2": ConvolutionLayer(16, 5), "tanh2": "Tanh", "pool2": PoolingLayer(2, 2, function="Mean"),
            "flatten": FlattenLayer(), "fc1": LinearLayer(120), "tanh3": "Tanh", "fc2": LinearLayer(84), "tanh4": "Tanh", "fc3": LinearLayer(10), "softmax": SoftmaxLayer(),
        },
        **_ports(input, output),
    )


def notebook_cnn(input: Any = None, output: Any = None) -> NetChain:
    """The PyTorch notebook's CNN; the layer names are its module's attributes."""
    return NetChain(
        {
            "conv1": ConvolutionLayer(32, 5), "relu1": "Ramp", "maxpool1": PoolingLayer(2, 2),
            "conv2": ConvolutionLayer(32, 5), "relu2": "Ramp", "maxpool2": PoolingLayer(2, 2),
            "conv3": ConvolutionLayer(64, 3), "relu3": "Ramp", "maxpool3": PoolingLayer(2, 2),
            "flatten": FlattenLayer(), "dense1": LinearLayer(64), "relu4": "Ramp", "dense2": LinearLayer(10), "softmax": SoftmaxLayer(),
        },
        **_ports(input, output),
    )


def mlp(input: Any = None, output: Any = None) -> NetChain:
    """Keras's MNIST multilayer perceptron."""
    return NetChain(
        {"flatten": FlattenLayer(), "dense1": LinearLayer(512), "relu1": "Ramp", "dropout1": DropoutLayer(0.2), "dense2": LinearLayer(512), "relu2": "Ramp", "dropout2": DropoutLayer(0.2), "dense3": LinearLayer(10), "softmax": SoftmaxLayer()},
        **_ports(input, output),
    )


def _model(name: str, build: Any, description: str, source: dict[str, str]) -> Model:
    # a PyTorch module with the same attribute names (conv1, fc1 …) has a state dict that maps name for name
    return Model(name=name, build=build, task="Classification", description=description, source=source, torch_mapping=lambda: dotted_mapping(build()))


MODELS = [
    _model("LeNet-5", lenet5, "LeNet-5: a small convolutional net for 28×28 grayscale images (architecture).",
           {"Creator": "Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner", "Date": "1998", "Source": "Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 86(11)"}),
    _model("PyTorch Notebook CNN", notebook_cnn, "The CNN of the PyTorch notebook \"Understanding Neural Networks\" for 28×28 grayscale images (architecture).",
           {"Source": "examples/seeds/pytorch_mnist_notebook.py"}),
    _model("MLP", mlp, "A multilayer perceptron 784 → 512 → 512 → 10 for 28×28 grayscale images (architecture).",
           {"Creator": "Keras", "Source": "keras/examples mnist_mlp.py"}),
]

__all__ = ["MODELS", "lenet5", "mlp", "notebook_cnn"]
