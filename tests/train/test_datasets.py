"""NetTrain on a symnet dataset of images for a net whose input has no encoder."""

import numpy as np
import pytest
import torch

from symnet import FlattenLayer, LinearLayer, NetChain, NetDecoder, NetError, NetTrain, SoftmaxLayer, datasets
from symnet.train.data import input_column, split_ports

QUIET = {"training_progress_reporting": None}


def _fashion_mnist():
    try:
        return datasets.load("FashionMNIST", "test", download_missing=False).subset(np.arange(1000))
    except NetError:
        return None


FASHION = _fashion_mnist()
pytestmark = pytest.mark.skipif(FASHION is None, reason="Fashion-MNIST is not installed or cached; the test does not download it")


def accuracy(net, pixels, labels):
    return float((np.asarray(net(pixels)).argmax(axis=1) == labels).mean())


@pytest.mark.parametrize("shape", [(1, 28, 28), (28, 28)])
def test_dataset_images_are_converted_like_the_image_encoder_for_a_net_without_one(shape):
    net = NetChain([FlattenLayer(), LinearLayer(10), SoftmaxLayer()], input=shape)
    trained = NetTrain(net, FASHION, max_training_rounds=5, **QUIET)
    # what the Image encoder gives: channels first, pixels / 255
    pixels = (FASHION.images.astype(np.float32) / 255).reshape(-1, *shape)
    assert accuracy(trained, pixels, FASHION.labels) > 0.7
    columns, _ = split_ports(FASHION, net, "NetTrain")
    batch = input_column(net, "Input", columns["Input"], None, torch.float32, "NetTrain").batch(slice(0, 8))
    np.testing.assert_array_equal(batch.numpy(), pixels[:8])


def test_dataset_labels_go_through_a_class_decoder():
    names = list(FASHION.class_names)
    net = NetChain([FlattenLayer(), LinearLayer(10), SoftmaxLayer()], input=(1, 28, 28), output=NetDecoder("Class", names[::-1]))
    trained = NetTrain(net, FASHION, max_training_rounds=5, **QUIET)
    pixels = (FASHION.images.astype(np.float32) / 255)[:, None]
    guesses = trained(pixels[:200])
    assert np.mean(np.array(guesses) == np.array(names)[FASHION.labels[:200]]) > 0.7


def test_dataset_images_that_fit_no_input_shape():
    net = NetChain([FlattenLayer(), LinearLayer(10), SoftmaxLayer()], input=(3, 28, 28))
    with pytest.raises(NetError, match=r"NetTrain: input Input: the dataset's images have shape \(28, 28\) but the input takes shape \(3, 28, 28\), which no arrangement of them fits; "
                                       r"attach an encoder that makes that shape, such as input=NetEncoder\(\"Image\", size=\(width, height\), color_space=\"Grayscale\"\), or give the net input=\(1, 28, 28\)\."):
        NetTrain(net, FASHION, max_training_rounds=1, **QUIET)
