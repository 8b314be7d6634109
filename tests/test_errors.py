"""The one error format: NetError's fields, the formatter and the option helpers."""

import pickle

import numpy as np
import pytest

from symnet.errors import InputError, NetError, OptionError, boolean, describe_number, number, one_of, render


def test_plain_message_is_the_whole_text():
    assert str(NetError("LinearLayer: the size is wrong.")) == "LinearLayer: the size is wrong."
    assert str(InputError("x")) == "x"


def test_fields_are_kept_and_rendered_in_one_format():
    error = NetError("the decoder does not fit.", where="NetChain/2", option="classes", expected="3 classes", received=2, fix="Give 3 classes.")
    assert (error.where, error.option, error.expected, error.received, error.fix) == ("NetChain/2", "classes", "3 classes", 2, "Give 3 classes.")
    assert str(error) == "NetChain/2: the decoder does not fit. classes must be 3 classes; received 2. Give 3 classes."
    assert isinstance(error, ValueError)


def test_render_leaves_out_what_is_not_given():
    assert render(where="Import") == "Import"
    assert render("empty file.", fix="Export it again") == "empty file. Export it again."
    assert render(expected="a bool", received=None) == "expected a bool; received None."
    assert render(where="f", option="x", received="y") == 'f: x="y" is refused.'


def test_received_values_are_shown_short_and_strings_quoted():
    error = OptionError(where="NetTrain", option="method", expected="a name", received="x" * 500)
    assert len(str(error)) < 200 and str(error).endswith('...".') is False and "..." in str(error)


def test_errors_pickle_with_their_text():
    error = OptionError(where="NetTrain", option="batch_size", expected="a positive int", received=0)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is OptionError and str(again) == str(error)


def test_one_of_returns_the_canonical_value():
    assert one_of("SGD", ("ADAM", "SGD"), where="NetTrain", option="method") == "SGD"
    assert one_of(None, (None, "Causal"), where="AttentionLayer", option="mask") is None
    assert one_of(np.str_("SGD"), ("ADAM", "SGD"), where="NetTrain", option="method") == "SGD"


@pytest.mark.parametrize(("value", "hint"), [("sgd", 'Did you mean "SGD"'), ("ADAMM", 'Did you mean "ADAM"'), (3, None), (np.zeros(2), None), ([1], None)])
def test_one_of_refuses_with_the_closest_suggestion(value, hint):
    with pytest.raises(OptionError, match=r'NetTrain: method must be one of "ADAM", "SGD"; received ') as info:
        one_of(value, ("ADAM", "SGD"), where="NetTrain", option="method")
    assert (hint in str(info.value)) if hint else ("Did you mean" not in str(info.value))


def test_one_of_does_not_take_true_for_one():
    with pytest.raises(OptionError, match=r"must be one of 0, 1; received True"):
        one_of(True, (0, 1), where="f", option="flag")


def test_one_of_takes_an_error_class_and_a_fix():
    with pytest.raises(InputError, match=r'f: x must be one of "a"; received "b". See the docs.'):
        one_of("b", ("a",), where="f", option="x", fix="See the docs.", error=InputError)


@pytest.mark.parametrize("value", ["no", 1, 0, None, "True"])
def test_boolean_refuses_truthy_values(value):
    with pytest.raises(OptionError, match=r"Import: allow_functions must be True or False; received "):
        boolean(value, where="Import", option="allow_functions")


def test_boolean_takes_numpy_bools():
    assert boolean(np.bool_(True), where="f", option="x") is True


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        ({"integer": True, "minimum": 1}, "a positive int"),
        ({"integer": True, "minimum": 0}, "a non-negative int"),
        ({"minimum": 0, "exclusive_minimum": True}, "a positive number"),
        ({"minimum": 0}, "a non-negative number"),
        ({"minimum": 0, "maximum": 1, "exclusive_maximum": True}, "a number in [0, 1)"),
        ({"integer": True, "minimum": 2}, "an int ≥ 2"),
        ({"maximum": 0.5, "exclusive_maximum": True}, "a number < 0.5"),
        ({"integer": True, "minimum": 1, "none_ok": True}, "a positive int or None"),
        ({}, "a number"),
    ],
)
def test_number_describes_its_range(bounds, text):
    assert describe_number(**bounds) == text


@pytest.mark.parametrize("value", [0, -1, "2", 1.5, 2.0, True, None, float("nan")])
def test_number_refuses_bad_batch_sizes(value):
    with pytest.raises(OptionError, match=r"NetTrain: batch_size must be a positive int; received "):
        number(value, where="NetTrain", option="batch_size", integer=True, minimum=1)


def test_number_accepts_numpy_scalars_and_returns_python_numbers():
    assert type(number(np.int64(4), where="f", option="n", integer=True, minimum=1)) is int
    assert number(np.float32(0.5), where="f", option="p", minimum=0, maximum=1) == 0.5
    assert number(None, where="f", option="n", none_ok=True) is None


def test_number_refuses_infinity_unless_allowed():
    with pytest.raises(OptionError, match=r"time_goal must be a positive number; received inf"):
        number(float("inf"), where="NetTrain", option="time_goal", minimum=0, exclusive_minimum=True)
    assert number(float("inf"), where="f", option="t", minimum=0, finite=False) == float("inf")


def test_number_bounds_are_inclusive_or_exclusive():
    assert number(0, where="f", option="w", minimum=0, maximum=1, exclusive_maximum=True) == 0
    with pytest.raises(OptionError, match=r"w must be a number in \[0, 1\); received 1.0"):
        number(1, where="f", option="w", minimum=0, maximum=1, exclusive_maximum=True)
