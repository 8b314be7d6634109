"""Measurements as pure functions of model outputs and targets (torch tensors in, numbers out).

Shared by NetTrain's progress measurements and NetMeasurements. Classifier outputs are
``(N, C)`` scores or probabilities (argmax decides), or ``(N,)`` probabilities of the positive
class for binary outputs; targets are ``(N,)`` class indices.

>>> scores = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> targets = torch.tensor([0, 1, 1])
>>> accuracy(scores, targets)
0.6666666666666666
>>> confusion_matrix(scores, targets, 2).tolist()
[[1, 0], [1, 1]]
"""

from __future__ import annotations

import math

import numpy as np
import torch


def decisions(outputs: torch.Tensor) -> torch.Tensor:
    """Predicted class indices: argmax over the last axis, or a 0.5 threshold for (N,) outputs."""
    if outputs.dim() == 1:
        return (outputs >= 0.5).long()
    return outputs.argmax(dim=-1)


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((decisions(outputs) == targets.long()).double().mean())


def error_rate(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return 1.0 - accuracy(outputs, targets)


def top_k_accuracy(outputs: torch.Tensor, targets: torch.Tensor, k: int = 5) -> float:
    k = min(k, outputs.shape[-1])
    top = outputs.topk(k, dim=-1).indices
    return float((top == targets.long().unsqueeze(-1)).any(dim=-1).double().mean())


def confusion_matrix(outputs: torch.Tensor, targets: torch.Tensor, classes: int) -> np.ndarray:
    """Counts with actual classes as rows and predicted classes as columns."""
    predicted = decisions(outputs).cpu().long()
    actual = targets.cpu().long()
    flat = torch.bincount(actual * classes + predicted, minlength=classes * classes)
    return flat.reshape(classes, classes).numpy()


def _per_class(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    true_positive = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    actual = confusion.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1


def precision(confusion: np.ndarray) -> np.ndarray:
    """Per-class precision from a confusion matrix (0 for a class never predicted)."""
    return _per_class(confusion)[0]


def recall(confusion: np.ndarray) -> np.ndarray:
    """Per-class recall from a confusion matrix (0 for a class that never occurs)."""
    return _per_class(confusion)[1]


def f1_score(confusion: np.ndarray) -> np.ndarray:
    """Per-class F1 score from a confusion matrix."""
    return _per_class(confusion)[2]


def area_under_roc_curve(scores: torch.Tensor, positives: torch.Tensor) -> float:
    """AUC of a score for a binary outcome (the Mann–Whitney statistic, ties counted half)."""
    s = scores.detach().double().cpu().numpy()
    y = positives.detach().cpu().numpy().astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_scores = s[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def mean_square(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float(((outputs.double() - targets.double()) ** 2).mean())


def mean_deviation(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((outputs.double() - targets.double()).abs().mean())


def perplexity(probabilities: torch.Tensor, targets: torch.Tensor) -> float:
    """exp of the mean negative log-probability given to the target classes."""
    p = probabilities.double().gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)
    return float(math.exp(float(-torch.log(p.clamp_min(1e-300)).mean())))
