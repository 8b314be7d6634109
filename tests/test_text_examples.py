"""examples/language_classifier.py and examples/word_generator.py run at a reduced size (--quick)
on Debian's word lists and learn: the classifier beats chance by far, the language model's loss
falls below that of guessing characters uniformly."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytestmark = pytest.mark.skipif(
    not all((Path("/usr/share/dict") / name).exists() for name in ("american-english", "french", "ngerman", "italian", "spanish")),
    reason="Debian's word lists are not installed (scripts/ensure-data.sh installs them)",
)


def load(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


def test_language_classifier_quick(capsys):
    accuracy = load("language_classifier").main(["--quick"])
    assert accuracy > 0.5  # five languages: chance is 0.2
    assert "test accuracy" in capsys.readouterr().out


def test_word_generator_quick(capsys):
    result = load("word_generator").main(["--quick"])
    # below the loss of a uniform guess over the ~40 characters
    assert result["loss"] < math.log(30)
    assert len(result["words"]) == 12 and all("^" not in w and "\x00" not in w for w in result["words"])
    assert "sampled at temperature 0.8" in capsys.readouterr().out
