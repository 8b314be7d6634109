"""Measurements against values computed by hand."""

import math

import numpy as np
import pytest
import torch

from symnet import metrics


def test_accuracy_and_confusion_by_hand():
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    targets = torch.tensor([0, 1, 1, 2])
    assert metrics.accuracy(scores, targets) == 0.5
    assert metrics.error_rate(scores, targets) == 0.5
    confusion = metrics.confusion_matrix(scores, targets, 3)
    assert confusion.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    # class 0: predicted twice, right once -> precision 1/2; occurs once -> recall 1
    np.testing.assert_allclose(metrics.precision(confusion), [0.5, 1.0, 0.0])
    np.testing.assert_allclose(metrics.recall(confusion), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(metrics.f1_score(confusion), [2 / 3, 2 / 3, 0.0])


def test_top_k():
    scores = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    assert metrics.top_k_accuracy(scores, torch.tensor([1, 0]), 2) == 0.5


def test_binary_decisions_threshold():
    assert metrics.decisions(torch.tensor([0.2, 0.5, 0.9])).tolist() == [0, 1, 1]


def test_auc_by_hand():
    # positives score 0.8, 0.4; negatives 0.5, 0.1: pairs (0.8>0.5, 0.8>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert metrics.area_under_roc_curve(torch.tensor([0.8, 0.5, 0.4, 0.1]), torch.tensor([1, 0, 1, 0])) == 0.75
    assert metrics.area_under_roc_curve(torch.tensor([0.5, 0.5]), torch.tensor([1, 0])) == 0.5
    assert math.isnan(metrics.area_under_roc_curve(torch.tensor([0.5]), torch.tensor([1])))


def test_regression_and_perplexity():
    assert metrics.mean_square(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0])) == 2.5
    assert metrics.mean_deviation(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0])) == 1.5
    probabilities = torch.tensor([[0.5, 0.5], [0.25, 0.75]])
    assert metrics.perplexity(probabilities, torch.tensor([0, 1])) == pytest.approx(math.exp(-(math.log(0.5) + math.log(0.75)) / 2))
