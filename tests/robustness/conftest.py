"""The robustness suite's shared check: a user's mistake must give a clear NetError.

A clear error is a :class:`NetError` whose message names *where* the mistake is (a function,
layer, path or file), *what* was expected or is wrong, and *the fix* (or the allowed values),
and holds no raw Python or torch exception text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from symnet import NetError

# Text a raw exception leaks: a traceback, an exception class name, torch internals, an address.
RAW = re.compile(
    r"Traceback|File \"|\b(?:RuntimeError|ValueError|TypeError|KeyError|IndexError|AttributeError|AssertionError|ZeroDivisionError|OverflowError)\b"
    r"|\btorch\.(?!nn\.functional:)|aten::|object at 0x|<built-in|SafetensorError|JSONDecodeError"
)
# Where: "Something: ..." at the start (NetTrain:, NetChain/1 (LinearLayer):, Import("f"):, "Image" encoder: ...).
WHERE = re.compile(r"^\S[^\n]{0,200}?: |^(?:Net|Import|Export|datasets|target_device|working_precision)\w*")
# What: a statement of what was expected or what is wrong.
WHAT = re.compile(r"must|expect|needs?\b|one of|should|only|not\b|cannot|can't|no\b|unknown|conflict|invalid|too |empty|corrupt|truncated|refused|before|neither|at least|at most|does not|has no|is not|outside|out of range|smaller|larger|twice|differ|contains|does not exist|received|would|give\b|but\b", re.I)
# The fix: an instruction, the allowed values, or a suggestion.
FIX = re.compile(r"Fix|Did you mean|\b(?:use|give|pass|add|set|choose|check|remove|call|try|write|import|upgrade|export|install|change|put|rename|make|initialize|train|drop|keep|fix|select|specify|provide|convert|look)\b|must be|one of|expected|instead|such as|e\.g\.|the (?:options|layers|properties|ports|keys|names|kinds|measurements|datasets|arrays|outputs|inputs|suboptions|values) (?:are|:)|its (?:ports|options|arrays|inputs|outputs|layers|keys|suboptions|hyperparameters|properties)|known|allowed|valid|available|must (?:have|contain)|\buse \d", re.I)


def clarity_problems(error: BaseException) -> list[str]:
    """What keeps ``error`` from being a clear NetError (empty when it is clear)."""
    if not isinstance(error, NetError):
        return [f"raised {type(error).__name__}, not a NetError: {str(error)[:200]}"]
    text = str(error)
    problems = []
    if not WHERE.search(text):
        problems.append("the message does not say where")
    if not WHAT.search(text):
        problems.append("the message does not say what was expected or is wrong")
    if not FIX.search(text):
        problems.append("the message does not give a fix or the allowed values")
    raw = RAW.search(text)
    if raw:
        problems.append(f"the message holds raw exception text {raw.group(0)!r}")
    return problems


def outcome(fn: Callable[[], Any]) -> tuple[str, BaseException | None]:
    """Run a mistake: ("accepted", None), ("clear", error) or ("unclear", error)."""
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - any exception is an outcome to classify
        return ("unclear" if clarity_problems(error) else "clear"), error
    return "accepted", None


def check_clear_error(fn: Callable[[], Any], match: str | None = None) -> NetError:
    """Call ``fn``; assert it raises a clear NetError whose message matches ``match``."""
    kind, error = outcome(fn)
    assert kind != "accepted", "the mistake was silently accepted"
    problems = clarity_problems(error)  # type: ignore[arg-type]
    assert not problems, f"{'; '.join(problems)}\n  message: {error}"
    if match is not None:
        assert re.search(match, str(error)), f"the message does not match {match!r}\n  message: {error}"
    return error  # type: ignore[return-value]


@pytest.fixture
def assert_clear_error() -> Callable[..., NetError]:
    """``assert_clear_error(fn, match=...)``: the mistake ``fn`` makes gives a clear NetError."""
    return check_clear_error
