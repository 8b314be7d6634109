"""Entries of symnet/layers/augmentation.py: ImageAugmentationLayer (at evaluation: the centre crop;
its random training transformations are tested in tests/layers/test_augmentation.py)."""

from symnet import ImageAugmentationLayer

from .entry import Entry

ENTRIES = [
    Entry(lambda: ImageAugmentationLayer((3, 4), input=(2, 5, 6)), lambda a, x: x[:, :, 1:4, 1:5], "centre-crop"),
    Entry(lambda: ImageAugmentationLayer(2, reflection_probabilities=(0.5, 0.5), brightness=0.2, contrast=0.3, input=(1, 5, 4)), lambda a, x: x[:, :, 1:3, 1:3], "options"),
    Entry(lambda: ImageAugmentationLayer((4, 4), input=(3, 4, 4)), lambda a, x: x, "whole-image"),
]
