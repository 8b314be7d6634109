"""NetTrain's options come from one place: TrainConfig's fields give the signature, OPTIONS and the checks."""

import dataclasses
import inspect

import pytest

from symnet import Automatic, NetTrain, OptionError
from symnet.train.config import OPTIONS, TrainConfig


def test_the_signature_lists_every_option_with_its_default():
    parameters = inspect.signature(NetTrain).parameters
    assert list(parameters)[:3] == ["net", "data", "prop"]
    options = [p for p in parameters.values() if p.kind == p.KEYWORD_ONLY]
    assert tuple(p.name for p in options) == OPTIONS == tuple(f.name for f in dataclasses.fields(TrainConfig))
    assert parameters["batch_size"].default is Automatic and parameters["method"].default == "ADAM" and parameters["working_precision"].default == "Real32"


def test_the_parsed_configuration_is_frozen_and_typed():
    config = TrainConfig.parse({"method": ("SGD", {"momentum": 0.5}), "time_goal": 2})
    assert config.method.name == "SGD" and config.method.settings["momentum"] == 0.5
    assert config.time_goal == 2.0 and config.batch_size is Automatic and config.training_progress_checkpointing == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 3  # type: ignore[misc]


def test_unknown_options_are_suggested_from_the_fields():
    with pytest.raises(OptionError, match=r'NetTrain: unknown option workng_precision\. Did you mean "working_precision"\? The options are: loss_function, batch_size'):
        TrainConfig.parse({"workng_precision": "Real64"})
