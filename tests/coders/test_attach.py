"""Coders attached to a net's ports, end to end: net(image) → label, properties, raw arrays."""

import numpy as np
import pytest
import torch
from PIL import Image

from symnet import ConvolutionLayer, EmbeddingLayer, InputError, LinearLayer, NetChain, NetDecoder, NetEncoder, NetError, NetInitialize, PoolingLayer, SoftmaxLayer

LABELS = ["T-shirt", "Trouser", "Bag"]
rng = np.random.default_rng(1)


@pytest.fixture(scope="module")
def net():
    chain = NetChain([LinearLayer(16), "Ramp", LinearLayer(3), SoftmaxLayer()], input=NetEncoder("Image", size=(10, 8), color_space="Grayscale"), output=NetDecoder("Class", LABELS))
    return NetInitialize(chain, random_seeding=3)


def reference(net, images: np.ndarray) -> np.ndarray:
    """The net's probabilities computed by hand from the arrays, on uint8 images (N, H, W)."""
    layers = net.layers
    x = torch.from_numpy(images).double().div(255).reshape(len(images), -1)
    w1, b1 = layers["0"].arrays["Weights"].double(), layers["0"].arrays["Biases"].double()
    w2, b2 = layers["2"].arrays["Weights"].double(), layers["2"].arrays["Biases"].double()
    return torch.softmax(torch.relu(x @ w1.T + b1) @ w2.T + b2, -1).numpy()


def test_encoder_fixes_the_input_shape(net) -> None:
    assert net.types["Input"].dims == (1, 8, 10)
    assert net.layers["0"].types["Weights"].dims == (16, 80)
    text = repr(net)
    assert '← NetEncoder("Image", size=(10, 8), color_space="Grayscale")' in text
    assert '→ NetDecoder("Class", labels=("T-shirt", "Trouser", "Bag"))' in text


def test_image_in_label_out(net, tmp_path) -> None:
    images = rng.integers(0, 256, (5, 8, 10), dtype=np.uint8)
    expected = reference(net, images)
    decisions = [LABELS[i] for i in expected.argmax(1)]
    assert net(images[0]) == decisions[0]
    assert net(Image.fromarray(images[1])) == decisions[1]
    assert net(images) == decisions
    assert net([Image.fromarray(image) for image in images]) == decisions
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    assert net(paths) == decisions
    probabilities = net(images[0], "Probabilities")
    assert list(probabilities) == LABELS and np.allclose(list(probabilities.values()), expected[0], atol=1e-5)
    raw = net(images, None)
    assert isinstance(raw, np.ndarray) and raw.shape == (5, 3) and np.allclose(raw, expected, atol=1e-5)
    top = net(images[2], ("TopProbabilities", 2))
    assert list(top) == [LABELS[i] for i in np.argsort(-expected[2])[:2]]
    assert net(images[3], ("Probability", "Bag")) == pytest.approx(expected[3, 2], abs=1e-5)
    assert net(images, "Entropy") == pytest.approx(list(-(expected * np.log(expected)).sum(1)), abs=1e-5)


def test_numeric_input_bypasses_the_encoder(net) -> None:
    images = rng.integers(0, 256, (4, 8, 10), dtype=np.uint8)
    floats = images[:, None].astype(np.float32) / 255  # already the port's shape (1, 8, 10)
    assert net(floats) == net(images)
    assert np.allclose(net(floats[0], None), reference(net, images[:1])[0], atol=1e-5)


def test_image_encoder_resizes_for_the_net(net) -> None:
    big = Image.fromarray(rng.integers(0, 256, (40, 50), dtype=np.uint8))
    resized = np.asarray(big.resize((10, 8), Image.Resampling.BILINEAR))
    assert net(big) == net(resized)


def test_property_errors(net) -> None:
    image = np.zeros((8, 10), np.uint8)
    with pytest.raises(NetError, match=r"'Probabilites' is neither an output port nor a decoder property; .* Did you mean \"Probabilities\"\?"):
        net(image, "Probabilites")
    with pytest.raises(InputError, match=r"the label 'Coat' is not one of the 3 known labels"):
        net(image, ("Probability", "Coat"))


def test_class_and_characters_encoders_feed_embeddings() -> None:
    labels = ["red", "green", "blue"]
    classes = NetInitialize(NetChain([EmbeddingLayer(4)], input=NetEncoder("Class", labels)), random_seeding=0)
    table = classes.layers["0"].arrays["Weights"].numpy()
    assert table.shape == (3, 4)
    assert np.allclose(classes(["blue", "red"], None), table[[2, 0]])
    characters = NetInitialize(NetChain([EmbeddingLayer(2)], input=NetEncoder("Characters", "ab", padding_index=2)), random_seeding=0)
    table = characters.layers["0"].arrays["Weights"].numpy()
    assert table.shape == (3, 2)
    assert np.allclose(characters(["ab", "b"], None), table[[[0, 1], [1, 2]]])


def test_boolean_decoder_on_a_sigmoid_output() -> None:
    net = NetInitialize(NetChain([LinearLayer(()), "LogisticSigmoid"], input=2, output=NetDecoder("Boolean")), random_seeding=0)
    x = np.array([[1.0, -2.0], [-3.0, 0.5]], np.float32)
    p = net(x, None)
    assert net(x) == [bool(v > 0.5) for v in p]
    assert net(x, "Probability") == pytest.approx(list(p), abs=1e-6)


def test_convolutional_classifier_on_real_images() -> None:
    encoder = NetEncoder("Image", size=(12, 12), color_space="RGB", mean_image=(0.5, 0.4, 0.3))
    net = NetInitialize(NetChain([ConvolutionLayer(4, 3), "Ramp", PoolingLayer(2), LinearLayer(3), SoftmaxLayer()], input=encoder, output=NetDecoder("Class", LABELS)), random_seeding=0)
    images = [Image.fromarray(rng.integers(0, 256, (15 + i, 12, 3), dtype=np.uint8)) for i in range(3)]
    encoded = encoder.encode(images)[0].numpy()
    raw = net(encoded, None)
    assert raw.shape == (3, 3) and net(images) == [LABELS[i] for i in raw.argmax(1)]
