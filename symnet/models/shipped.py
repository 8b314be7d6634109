"""Nets trained by symnet itself and shipped inside the package (``symnet/models/data/``).

- **PyTorch Notebook CNN Trained on Fashion-MNIST**: the seed notebook's CNN
  (:func:`symnet.models.classic.notebook_cnn`) with Fashion-MNIST's class names.
- **2-Conv BatchNorm CNN Trained on Fashion-MNIST**: two 3×3 convolutions (32 and 64
  channels), each followed by batch normalization, ReLU and 2×2 max pooling, then dropout, 128
  units with batch normalization and 10 classes — the "2 Conv + pooling + BN" row of the
  Fashion-MNIST benchmark table (0.934 there). While training it sees each image shifted by up
  to 2 pixels and mirrored left–right half of the time (a padding and an
  :class:`~symnet.layers.augmentation.ImageAugmentationLayer`, which in evaluation crops the
  centre back: the identity). 30 rounds of ADAM (learning rate 2e-3, cosine schedule, batch
  128) reach 0.9335 test accuracy; with 64 units and 12 rounds it had stopped at 0.9188.

Both are trained by ``scripts/train_shipped.py`` with a fixed seed, on Fashion-MNIST's 60,000
training images; their files hold the whole net (encoder, decoder and arrays) in symnet's
native format, and each file's SHA-256 is checked before it is read. The accuracies on the
10,000 test images are re-checked by ``tests/models/test_shipped.py`` when the data is present.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..coders import NetDecoder, NetEncoder
from ..containers.chain import NetChain
from ..layers.augmentation import ImageAugmentationLayer
from ..layers.basic import DropoutLayer, LinearLayer, SoftmaxLayer
from ..layers.conv import ConvolutionLayer
from ..layers.norm import BatchNormalizationLayer
from ..layers.pooling import PaddingLayer, PoolingLayer
from ..layers.structure import FlattenLayer
from .classic import notebook_cnn
from .entries import Model
from .weights import dotted_mapping

DATA = Path(__file__).resolve().parent / "data"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Fashion-MNIST's pixel mean and standard deviation (of pixels / 255): inputs centred near 0 train faster
MEAN, STD = 0.286, 0.353


def _ports(input: Any, output: Any) -> dict[str, Any]:
    encoder = NetEncoder("Image", (28, 28), color_space="Grayscale", mean_image=MEAN, variance_image=STD**2)
    return {"input": encoder if input is None else input, "output": NetDecoder("Class", FASHION_CLASSES) if output is None else output}


def fashion_notebook_cnn(input: Any = None, output: Any = None) -> NetChain:
    """The notebook's CNN with a Fashion-MNIST encoder (normalized pixels) and class names."""
    return notebook_cnn(**_ports(input, output))


def two_conv_batchnorm(input: Any = None, output: Any = None) -> NetChain:
    """Two convolutions with batch normalization, for 28×28 grayscale images (see the module docstring)."""
    return NetChain(
        {
            "shift": PaddingLayer([(0, 0), (2, 2), (2, 2)]),
            "augment": ImageAugmentationLayer((28, 28), reflection_probabilities=(0.0, 0.5)),
            "conv1": ConvolutionLayer(32, 3, padding=1), "bn1": BatchNormalizationLayer(), "relu1": "Ramp", "pool1": PoolingLayer(2, 2),
            "conv2": ConvolutionLayer(64, 3, padding=1), "bn2": BatchNormalizationLayer(), "relu2": "Ramp", "pool2": PoolingLayer(2, 2),
            "flatten": FlattenLayer(), "dropout1": DropoutLayer(0.25),
            "dense1": LinearLayer(128), "bn3": BatchNormalizationLayer(), "relu3": "Ramp", "dropout2": DropoutLayer(0.25),
            "dense2": LinearLayer(10), "softmax": SoftmaxLayer(),
        },
        **_ports(input, output),
    )


#: name → (architecture, file in symnet/models/data)
SHIPPED: dict[str, tuple[Any, str]] = {
    "PyTorch Notebook CNN Trained on Fashion-MNIST": (fashion_notebook_cnn, "notebook_cnn_fashion_mnist.symnet"),
    "2-Conv BatchNorm CNN Trained on Fashion-MNIST": (two_conv_batchnorm, "two_conv_bn_fashion_mnist.symnet"),
}


@functools.cache
def _record() -> dict[str, Any]:
    """What scripts/train_shipped.py wrote beside the files: seed, settings, sha256, test accuracy."""
    import json

    path = DATA / "shipped.json"
    return json.loads(path.read_text()) if path.exists() else {}


def shipped_file(name: str) -> Path:
    return DATA / SHIPPED[name][1]


def shipped_record(name: str) -> dict[str, Any]:
    """The training record of a shipped net (empty when the file was never trained)."""
    return dict(_record().get(name, {}))


def _model(name: str, description: str) -> Model:
    build, file = SHIPPED[name]
    record = shipped_record(name)
    source = {
        "Creator": "symnet",
        "Source": "scripts/train_shipped.py",
        "Description": description,
        **{key: str(value) for key, value in record.items()},
    }
    return Model(name=name, build=build, task="Classification", description=description, source=source,
                 training_set="Fashion-MNIST (60,000 training images; accuracy measured on its 10,000 test images)", shipped=file,
                 torch_mapping=lambda: dotted_mapping(build()))


MODELS = [
    _model("PyTorch Notebook CNN Trained on Fashion-MNIST", "The PyTorch notebook's CNN trained by symnet on Fashion-MNIST."),
    _model("2-Conv BatchNorm CNN Trained on Fashion-MNIST", "A two-convolution CNN with batch normalization trained by symnet on Fashion-MNIST."),
]

__all__ = ["FASHION_CLASSES", "MODELS", "SHIPPED", "fashion_notebook_cnn", "shipped_file", "shipped_record", "two_conv_batchnorm"]
