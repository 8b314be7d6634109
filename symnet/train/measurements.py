"""``training_progress_measurements``: what NetTrain measures each round, from symnet.metrics.

Names: "Accuracy", "ErrorRate", "Precision", "Recall", "F1Score" (means over the classes),
"TopKAccuracy" or ``("TopKAccuracy", k)``, "AreaUnderROCCurve" (binary outputs), "Perplexity",
"MeanSquare", "MeanDeviation"; or a function ``f(outputs, targets) -> float`` of torch tensors
(named by its ``__name__``), or a dict of name → function. ``Automatic`` measures accuracy and
error rate for classifiers and nothing beyond the loss otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from .. import metrics
from ..errors import OptionError, closest

CLASSIFIER_MEASUREMENTS = ("Accuracy", "ErrorRate", "Precision", "Recall", "F1Score", "TopKAccuracy", "Perplexity", "AreaUnderROCCurve")
REGRESSION_MEASUREMENTS = ("MeanSquare", "MeanDeviation")
NAMES = (*CLASSIFIER_MEASUREMENTS, *REGRESSION_MEASUREMENTS)

Measurement = tuple[str, Callable[[torch.Tensor, torch.Tensor], float]]


def _confusion_based(function: Callable[[np.ndarray], np.ndarray]) -> Callable[[torch.Tensor, torch.Tensor], float]:
    def measure(outputs: torch.Tensor, targets: torch.Tensor) -> float:
        classes = outputs.shape[-1] if outputs.dim() > 1 else 2
        return float(function(metrics.confusion_matrix(outputs, targets, classes)).mean())

    return measure


BUILT_IN: dict[str, Callable[..., float]] = {
    "Accuracy": metrics.accuracy,
    "ErrorRate": metrics.error_rate,
    "Precision": _confusion_based(metrics.precision),
    "Recall": _confusion_based(metrics.recall),
    "F1Score": _confusion_based(metrics.f1_score),
    "Perplexity": metrics.perplexity,
    "AreaUnderROCCurve": lambda outputs, targets: metrics.area_under_roc_curve(outputs if outputs.dim() == 1 else outputs[:, -1], targets),
    "MeanSquare": metrics.mean_square,
    "MeanDeviation": metrics.mean_deviation,
}


def parse(spec: Any, classifier: bool) -> list[Measurement]:
    from ..engine import Automatic

    if spec is Automatic:
        return [(name, BUILT_IN[name]) for name in ("Accuracy", "ErrorRate")] if classifier else []
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return [(str(name), _function(name, function)) for name, function in spec.items()]
    items = spec if isinstance(spec, list) else [spec]
    result: list[Measurement] = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and item[0] == "TopKAccuracy":
            k = int(item[1])
            result.append((f"Top{k}Accuracy", lambda outputs, targets, k=k: metrics.top_k_accuracy(outputs, targets, k)))
        elif item == "TopKAccuracy":
            result.append(("Top5Accuracy", metrics.top_k_accuracy))
        elif isinstance(item, str):
            if item not in BUILT_IN:
                raise OptionError(f'NetTrain: training_progress_measurements: unknown measurement "{item}".{closest(item, NAMES)} Known: {", ".join(NAMES)}, or a function f(outputs, targets).')
            if item in CLASSIFIER_MEASUREMENTS and not classifier:
                raise OptionError(f'NetTrain: training_progress_measurements: "{item}" measures classifiers, but this net\'s loss is not a cross-entropy over classes.')
            result.append((item, BUILT_IN[item]))
        elif callable(item):
            result.append((getattr(item, "__name__", "Custom"), item))
        else:
            raise OptionError(f"NetTrain: training_progress_measurements: {item!r} is not a measurement name or a function.")
    return result


def _function(name: Any, function: Any) -> Callable[..., float]:
    if isinstance(function, str) and function in BUILT_IN:
        return BUILT_IN[function]
    if not callable(function):
        raise OptionError(f"NetTrain: training_progress_measurements: the measurement {name!r} must be a function f(outputs, targets) -> number.")
    return function  # type: ignore[no-any-return]


def class_targets(targets: torch.Tensor, form: str | None) -> torch.Tensor:
    """Targets as class indices for the measurements (probability targets by their argmax)."""
    if form == "Probabilities":
        return targets.argmax(dim=-1)
    if form == "Binary":
        return (targets.reshape(targets.shape[0], -1)[:, 0] >= 0.5).long()
    return targets


def class_outputs(outputs: torch.Tensor, form: str | None) -> torch.Tensor:
    """A binary classifier's (N, 1) probabilities as (N,), the form the metrics take."""
    if form == "Binary":
        return outputs.reshape(outputs.shape[0], -1)[:, 0]
    return outputs


def measure(measurements: list[Measurement], outputs: torch.Tensor, targets: torch.Tensor | None) -> dict[str, float]:
    result: dict[str, float] = {}
    for name, function in measurements:
        value = function(outputs, targets)
        result[name] = float(value) if isinstance(value, int | float | np.floating | torch.Tensor) and np.ndim(value) == 0 else value
    return result
