"""examples/transfer_learning.py runs at a reduced size and learns both tasks."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "transfer_learning.py"



@pytest.mark.fashion_mnist
def test_transfer_learning_example_quick(capsys):
    spec = importlib.util.spec_from_file_location("transfer_learning", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(["--quick"])
    # five classes: chance is 0.2
    assert accuracy["old"] > 0.5
    assert accuracy["new"] > 0.5
    printed = capsys.readouterr().out
    assert "classes 5-9 with frozen features and a new classifier: accuracy" in printed
