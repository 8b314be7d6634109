"""ImageFolder (symnet/datasets/folder.py): files and classes, the forms NetTrain and NetMeasurements take, errors."""

import numpy as np
import pytest
from PIL import Image

from symnet import FlattenLayer, LinearLayer, NetChain, NetDecoder, NetEncoder, NetError, NetMeasurements, NetReplacePart, NetTrain, SoftmaxLayer
from symnet.datasets import ImageFolder

rng = np.random.default_rng(0)


@pytest.fixture
def folder(tmp_path):
    pixels = {}
    for name, count in (("dog", 3), ("cat", 2)):
        (tmp_path / name).mkdir()
        for i in range(count):
            image = rng.integers(0, 256, (6, 7), dtype=np.uint8)
            path = tmp_path / name / f"{i}.png"
            Image.fromarray(image).save(path)
            pixels[str(path)] = image
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    return tmp_path, pixels


def test_image_folder(folder) -> None:
    root, pixels = folder
    data = ImageFolder(root)
    assert data.class_names == ("cat", "dog") and len(data) == 5
    assert data.labels.tolist() == [0, 0, 1, 1, 1] and data.labels.dtype == np.int64
    assert data.pairs() == [(str(root / "cat" / "0.png"), "cat"), (str(root / "cat" / "1.png"), "cat")] + [(str(root / "dog" / f"{i}.png"), "dog") for i in range(3)]
    files, labels = data.arrays()
    encoded = NetEncoder("Image", size=(7, 6), color_space="Grayscale").encode(files)[0]
    assert np.array_equal((encoded[:, 0] * 255).round().numpy().astype(np.uint8), np.stack([pixels[f] for f in files]))
    subset = data.subset([4, 0])
    assert subset.files == (files[4], files[0]) and subset.labels.tolist() == [1, 0] and subset.class_names == data.class_names


def test_arrays_is_the_form_nettrain_and_netmeasurements_take_with_a_class_decoder(folder) -> None:
    root, _ = folder
    data = ImageFolder(root)
    files, labels = data.arrays()
    assert files == list(data.files) and labels.tolist() == ["cat", "cat", "dog", "dog", "dog"]
    assert data.labels.tolist() == [0, 0, 1, 1, 1]  # the class indices stay available
    net = NetChain([FlattenLayer(), LinearLayer(2), SoftmaxLayer()], input=NetEncoder("Image", size=(7, 6), color_space="Grayscale"), output=NetDecoder("Class", data.class_names))
    trained = NetTrain(net, data.arrays(), max_training_rounds=1, batch_size=5, training_progress_reporting=None)
    assert NetMeasurements(trained, data.arrays(), "Accuracy") == NetMeasurements(trained, data.pairs(), "Accuracy")
    # names, not indices: a decoder that lists the classes in another order still measures the right ones
    swapped = NetReplacePart(trained, {"Output": NetDecoder("Class", ("dog", "cat"))})
    assert NetMeasurements(swapped, data.arrays(), "ConfusionMatrix").tolist() == NetMeasurements(swapped, data.pairs(), "ConfusionMatrix").tolist()


def test_image_folder_errors(tmp_path) -> None:
    with pytest.raises(NetError, match=r'ImageFolder: ".*missing" is not a folder; give a folder with one sub-folder of images per class'):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(NetError, match=r"has no sub-folders; put the images of each class in a sub-folder named after the class"):
        ImageFolder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NetError, match=r"\(empty…\) hold no image files"):
        ImageFolder(tmp_path)
