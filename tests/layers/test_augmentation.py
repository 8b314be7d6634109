"""ImageAugmentationLayer: centre crop at evaluation, random crops/reflections/brightness/contrast
while training, reproducible under NetTrain's seed, bad sizes refused naming the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symnet import (
    FlattenLayer,
    ImageAugmentationLayer,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetInitialize,
    NetTrain,
    SoftmaxLayer,
)


def _images(batch: int, channels: int = 2, height: int = 5, width: int = 6) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(batch, channels, height, width)).astype(np.float32)


def _crop_positions(image: np.ndarray, crop: np.ndarray) -> list[tuple[int, int, bool, bool]]:
    """Every (top, left, vertical, horizontal) placing crop in image, by brute force."""
    h, w = crop.shape[1:]
    found = []
    for top in range(image.shape[1] - h + 1):
        for left in range(image.shape[2] - w + 1):
            window = image[:, top : top + h, left : left + w]
            for vertical in (False, True):
                for horizontal in (False, True):
                    flipped = window[:, ::-1] if vertical else window
                    flipped = flipped[:, :, ::-1] if horizontal else flipped
                    if np.allclose(flipped, crop):
                        found.append((top, left, vertical, horizontal))
    return found


def test_evaluation_is_the_centre_crop(check_layer) -> None:
    layer = ImageAugmentationLayer((3, 4), input=(2, 5, 6))
    check_layer(layer, lambda a, x: x[:, :, 1:4, 1:5])
    odd = ImageAugmentationLayer(2, input=(1, 5, 5))
    assert odd.types["Output"].dims == (1, 2, 2)
    np.testing.assert_array_equal(odd(np.arange(25.0).reshape(1, 5, 5)), [[[6.0, 7.0], [11.0, 12.0]]])


def test_training_crops_at_random_places() -> None:
    layer = ImageAugmentationLayer((3, 3), input=(2, 5, 6))
    x = _images(40)
    torch.manual_seed(1)
    y = layer(x, evaluation_mode="Train")
    assert y.shape == (40, 2, 3, 3)
    positions = [_crop_positions(image, crop) for image, crop in zip(x, y)]
    assert all(p and not p[0][2] and not p[0][3] for p in positions)  # every output is an unreflected crop
    assert len({p[0][:2] for p in positions}) > 6  # at many places (12 are possible)


def test_reflections() -> None:
    x = _images(30, height=4, width=4)
    torch.manual_seed(2)
    always = ImageAugmentationLayer((4, 4), reflection_probabilities=(1, 1), input=(2, 4, 4))
    np.testing.assert_array_equal(always(x, evaluation_mode="Train"), x[:, :, ::-1, ::-1])
    sometimes = ImageAugmentationLayer((4, 4), reflection_probabilities=(0, 0.5), input=(2, 4, 4))
    y = sometimes(x, evaluation_mode="Train")
    mirrored = [bool(np.array_equal(a, b[:, :, ::-1])) for a, b in zip(y, x)]
    assert all(m or np.array_equal(a, b) for m, a, b in zip(mirrored, y, x))
    assert 5 <= sum(mirrored) <= 25
    np.testing.assert_array_equal(sometimes(x), x)  # evaluation: untouched


def test_brightness_and_contrast() -> None:
    x = _images(50, height=3, width=3)
    torch.manual_seed(3)
    brighter = ImageAugmentationLayer((3, 3), brightness=0.2, input=(2, 3, 3))(x, evaluation_mode="Train")
    shift = (brighter - x).reshape(50, -1)
    np.testing.assert_allclose(shift, shift[:, :1].repeat(shift.shape[1], axis=1), atol=1e-6)  # one number per image
    assert np.all(np.abs(shift) <= 0.2) and shift[:, 0].std() > 0.05
    contrasted = ImageAugmentationLayer((3, 3), contrast=0.5, input=(2, 3, 3))(x, evaluation_mode="Train")
    mean = x.reshape(50, -1).mean(axis=1)[:, None]
    factor = (contrasted.reshape(50, -1) - mean) / (x.reshape(50, -1) - mean)
    np.testing.assert_allclose(factor, factor[:, :1].repeat(factor.shape[1], axis=1), rtol=1e-4)
    assert np.all((factor > 0.5 - 1e-6) & (factor < 1.5 + 1e-6)) and factor[:, 0].std() > 0.1


def test_training_is_reproducible_under_netTrain_seed() -> None:
    net = NetChain([ImageAugmentationLayer((4, 4), reflection_probabilities=(0.5, 0.5), brightness=0.1), FlattenLayer(), LinearLayer(3), SoftmaxLayer()], input=(1, 6, 6))
    x = _images(32, channels=1, height=6, width=6).astype(np.float32)
    labels = np.arange(32) % 3
    options = {"max_training_rounds": 2, "batch_size": 8, "training_progress_reporting": None}
    weights = [NetExtract(NetTrain(net, (x, labels), random_seeding=seed, **options), [2, "Weights"]) for seed in (5, 5, 6)]
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.allclose(weights[0], weights[2])


def test_evaluation_and_formula_of_a_trained_net() -> None:
    net = NetInitialize(NetChain([ImageAugmentationLayer((2, 2)), FlattenLayer(), LinearLayer(1)], input=(1, 3, 3)), random_seeding=0)
    x = np.arange(9.0).reshape(1, 3, 3)
    w = NetExtract(net, [2, "Weights"])[0]
    b = NetExtract(net, [2, "Biases"])[0]
    assert net(x, working_precision="Real64")[0] == pytest.approx(w @ [0.0, 1.0, 3.0, 4.0] + b)


def test_bad_sizes_and_options_name_the_layer() -> None:
    with pytest.raises(NetError, match=r'NetChain/0 \(ImageAugmentationLayer\): port "Input" has images of height and width \(4, 4\), smaller than the crop size \(5, 3\)\. Fix: make the crop no larger'):
        NetChain([ImageAugmentationLayer((5, 3)), FlattenLayer(), LinearLayer(2)], input=(1, 4, 4))
    with pytest.raises(NetError, match=r"ImageAugmentationLayer: the size must be \(height, width\), two positive ints \(or one for a square\), not \(0, 3\)"):
        ImageAugmentationLayer((0, 3))
    with pytest.raises(NetError, match=r"ImageAugmentationLayer: reflection_probabilities must be \(vertical, horizontal\), two probabilities in \[0, 1\]; received \(1\.5, 0\)\."):
        ImageAugmentationLayer((2, 2), reflection_probabilities=(1.5, 0))
    with pytest.raises(NetError, match=r"ImageAugmentationLayer: brightness must be a non-negative number; received -0\.5\. It is the largest change drawn while training\."):
        ImageAugmentationLayer((2, 2), brightness=-0.5)
    with pytest.raises(NetError, match=r"ImageAugmentationLayer: contrast must be a number in \[0, 1\]; received 1\.5\. The contrast factor is drawn from"):
        ImageAugmentationLayer((2, 2), contrast=1.5)
    with pytest.raises(NetError, match=r'ImageAugmentationLayer \(ImageAugmentationLayer\): port "Input" needs a tensor of rank 3 \(images: channels, height, width\) but received \(4, 4\) of rank 2\.'):
        ImageAugmentationLayer((2, 2), input=(4, 4))
