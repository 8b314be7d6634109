"""NetTrain's automatic batch size and number of rounds (symnet.train.prepared): the rule, not its accuracy."""

import math

import pytest

from symnet import All, NetTrain
from symnet.train.prepared import automatic_batch_size, automatic_rounds

QUIET = {"training_progress_reporting": None}
ONE_ROUND = {"training_stopping_criterion": lambda row: True, **QUIET}  # stop after the first round: the choices are made before it


@pytest.mark.parametrize(("examples", "batch"), [(10, 10), (240, 16), (1000, 16), (1024, 32), (2048, 64), (4095, 64), (4096, 128), (60_000, 128), (10**7, 128)])
def test_the_automatic_batch_grows_with_the_data_from_16_to_128(examples, batch):
    assert automatic_batch_size(examples) == batch


def test_the_automatic_rounds_are_about_4500_updates_from_5_to_1000():
    assert automatic_rounds(math.ceil(60_000 / 128)) == 10  # Fashion-MNIST: 469 batches a round
    assert automatic_rounds(math.ceil(50_000 / 128)) == 12
    assert automatic_rounds(15) == 300 and automatic_rounds(4500) == 5 and automatic_rounds(10**6) == 5 and automatic_rounds(1) == 1000


def test_nettrain_reports_the_batch_size_and_rounds_it_chose(blobs, classifier):
    x, y = blobs(n=5000)
    results = NetTrain(classifier(), (x, y), All, **ONE_ROUND)
    said = results.automatic_choices
    assert said["batch_size"] == results.batch_size == 128
    assert said["max_training_rounds"] == math.ceil(4500 / math.ceil(5000 / 128)) == 113
    assert results.total_batches == math.ceil(5000 / 128)


def test_a_given_batch_size_is_kept_and_its_updates_counted(blobs, classifier):
    x, y = blobs(n=5000)
    results = NetTrain(classifier(), (x, y), All, batch_size=500, **ONE_ROUND)
    assert "batch_size" not in results.automatic_choices and results.batch_size == 500
    assert results.automatic_choices["max_training_rounds"] == 450  # 4500 updates of 10 batches a round


def test_small_data_trains_in_small_batches_for_more_rounds(blobs, classifier):
    x, y = blobs(n=240)
    results = NetTrain(classifier(), (x, y), All, **ONE_ROUND)
    assert (results.automatic_choices["batch_size"], results.automatic_choices["max_training_rounds"]) == (16, 300)
