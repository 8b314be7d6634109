"""ImageFolder, Dataset and the stratified split."""

import numpy as np
import pytest
from PIL import Image

from symnet import NetEncoder, NetError
from symnet.datasets import Dataset, ImageFolder, split, split_indices

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


def test_image_folder_errors(tmp_path) -> None:
    with pytest.raises(NetError, match=r'ImageFolder: ".*missing" is not a folder; give a folder with one sub-folder of images per class'):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(NetError, match=r"has no sub-folders; put the images of each class in a sub-folder named after the class"):
        ImageFolder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NetError, match=r"\(empty…\) hold no image files"):
        ImageFolder(tmp_path)


def test_dataset_iteration_subset_and_errors() -> None:
    images = rng.integers(0, 256, (6, 3, 3), dtype=np.uint8)
    data = Dataset(images, [0, 1, 2, 0, 1, 2], ("a", "b", "c"), "Toy", "train")
    pairs = list(data)
    assert len(pairs) == 6 and all(np.array_equal(image, images[i]) and label == data.labels[i] for i, (image, label) in enumerate(pairs))
    assert data.arrays()[0] is data.images and repr(data) == 'Dataset("Toy", split="train", 6 examples of shape (3, 3), 3 classes)'
    masked = data.subset(data.labels == 2)
    assert masked.labels.tolist() == [2, 2] and np.array_equal(masked.images, images[[2, 5]])
    assert data.subset([-1]).labels.tolist() == [2]
    with pytest.raises(NetError, match=r"index 6 is out of range for 6 examples \(use 0 … 5, or negative indices from the end\)"):
        data.subset([6])
    with pytest.raises(NetError, match=r"a boolean mask needs 6 entries \(one per example\) but has shape \(2,\)"):
        data.subset(np.array([True, False]))
    with pytest.raises(NetError, match=r"6 examples but 5 labels; they must match"):
        Dataset(images, [0] * 5, ("a",))
    with pytest.raises(NetError, match=r"labels must be class indices in 0 … 1, but they range from 0 to 2"):
        Dataset(images, [0, 1, 2, 0, 1, 2], ("a", "b"))


def test_split_is_stratified_seeded_and_a_partition() -> None:
    labels = np.repeat(np.arange(4), [10, 20, 30, 41])
    rng.shuffle(labels)
    data = Dataset(np.arange(len(labels), dtype=np.uint8)[:, None, None], labels, tuple("abcd"))
    first, second = split(data, 0.3, seed=5)
    assert np.bincount(first.labels).tolist() == [3, 6, 9, 12]
    assert np.bincount(second.labels).tolist() == [7, 14, 21, 29]
    chosen = np.concatenate([first.images.ravel(), second.images.ravel()])
    assert sorted(chosen.tolist()) == list(range(len(labels)))
    again, _ = split(data, 0.3, seed=5)
    other, _ = split(data, 0.3, seed=6)
    assert np.array_equal(again.images, first.images) and not np.array_equal(other.images, first.images)
    a, b = split_indices(labels, 1.0)
    assert len(a) == len(labels) and len(b) == 0
    with pytest.raises(NetError, match=r"fraction must be a number in \[0, 1\]"):
        split(data, 1.5)
    with pytest.raises(NetError, match=r"expected a Dataset or an ImageFolder \(anything with labels and subset\), not list"):
        split([1, 2], 0.5)
