"""Coders applied on their own, as Wolfram's enc[image] and dec[tensor]."""

import numpy as np

from symnet import NetDecoder, NetEncoder


def test_encoder_call_one_and_batch():
    encoder = NetEncoder("Image", size=(4, 4), color_space="Grayscale")
    image = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    one = encoder(image)
    assert one.shape == (1, 4, 4)
    np.testing.assert_allclose(one[0], image / 255, atol=1e-6)
    batch = encoder(np.stack([image, image, image]).reshape(3, 4, 4, 1))
    assert batch.shape == (3, 1, 4, 4)
    assert NetEncoder("Class", ["a", "b"])("b") == 1
    assert NetEncoder("Class", ["a", "b"])(["b", "a"]).tolist() == [1, 0]


def test_decoder_call_one_and_batch():
    decoder = NetDecoder("Class", ["cat", "dog"])
    assert decoder([0.2, 0.8]) == "dog"
    assert decoder([[0.9, 0.1], [0.2, 0.8]]) == ["cat", "dog"]
    probabilities = decoder([0.25, 0.75], "Probabilities")
    assert probabilities == {"cat": 0.25, "dog": 0.75}


def test_image_round_trip_through_calls():
    encoder = NetEncoder("Image", size=(4, 4), color_space="Grayscale")
    image = (np.arange(16, dtype=np.uint8).reshape(4, 4) * 16)
    decoded = NetDecoder(encoder)(encoder(image))
    np.testing.assert_array_equal(np.asarray(decoded), image)
