"""The results of a training run: Wolfram's properties by name or as attributes.

``results["LossPlot"]`` and ``results.loss_plot`` are the same property; ``results.properties``
lists them all. Plots are matplotlib figures (``figure.savefig("loss.png")``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NetError, closest
from ..layers.base import Layer
from . import report
from .notebook import results_html

PROPERTIES = (
    "TrainedNet", "FinalNet", "TrainingNet", "BatchLossList", "RoundLossList", "ValidationLossList", "RoundMeasurements",
    "ValidationMeasurements", "RoundMeasurementsLists", "ValidationMeasurementsLists", "BestValidationRound", "ReasonTrainingStopped",
    "ReasonTrainingStoppedDetails",
    "TotalTrainingTime", "MeanExamplesPerSecond", "TotalRounds", "TotalBatches", "BatchSize", "LearningRate", "Method",
    "LossFunction", "AutomaticChoices", "ConfusionMatrix", "LossPlot", "FinalPlots", "CheckpointingFiles", "Properties",
)


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


ALIASES = {snake_case(name): name for name in PROPERTIES}


@dataclass
class NetTrainResults:
    """What NetTrain returns with ``All``: the trained net and the record of the run."""

    trained_net: Layer
    final_net: Layer
    loss_terms: list[Any]
    batch_losses: list[float] = field(default_factory=list)
    round_losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    round_rows: list[dict[str, float]] = field(default_factory=list)
    validation_rows: list[dict[str, float]] = field(default_factory=list)
    best_validation_round: int | None = None
    reason: str = "MaxTrainingRounds"
    total_time: float = 0.0
    examples_seen: int = 0
    batches_per_round: float = 1.0
    batch_size: int = 0
    learning_rate: float = 0.0
    method: Any = None
    automatic: dict[str, Any] = field(default_factory=dict)
    confusion: np.ndarray | None = None
    class_labels: list[Any] | None = None
    checkpoint_files: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- access -------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        if isinstance(name, list):
            return [self[n] for n in name]
        if name not in PROPERTIES:
            raise NetError(f'NetTrainResults has no property "{name}".{closest(str(name), PROPERTIES)} Its properties: {", ".join(PROPERTIES)}.')
        return getattr(self, "_" + snake_case(name))()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in ALIASES:
            raise AttributeError(f"'NetTrainResults' has no attribute {name!r}.{closest(name, ALIASES)}")
        return self[ALIASES[name]]

    @property
    def properties(self) -> list[str]:
        return list(PROPERTIES)

    def __repr__(self) -> str:
        loss = f"{self.round_losses[-1]:.4g}" if self.round_losses else "–"
        return f"NetTrainResults(rounds={len(self.round_losses)}, final loss={loss}, reason={self.reason!r}, time={self.total_time:.1f} s)"

    def _repr_html_(self) -> str:
        return results_html(self)

    # -- properties ---------------------------------------------------------------------------
    def _trained_net(self) -> Layer:
        return self.trained_net

    def _final_net(self) -> Layer:
        return self.final_net

    def _training_net(self) -> Layer | None:
        if "TrainingNet" not in self._cache:
            self._cache["TrainingNet"] = training_net(self.trained_net, self.loss_terms)
        return self._cache["TrainingNet"]

    def _batch_loss_list(self) -> list[float]:
        return list(self.batch_losses)

    def _round_loss_list(self) -> list[float]:
        return list(self.round_losses)

    def _validation_loss_list(self) -> list[float]:
        return list(self.validation_losses)

    def _round_measurements(self) -> dict[str, float]:
        return dict(self.round_rows[-1]) if self.round_rows else {}

    def _validation_measurements(self) -> dict[str, float]:
        return dict(self.validation_rows[-1]) if self.validation_rows else {}

    def _round_measurements_lists(self) -> dict[str, list[float]]:
        return _lists(self.round_rows)

    def _validation_measurements_lists(self) -> dict[str, list[float]]:
        return _lists(self.validation_rows)

    def _best_validation_round(self) -> int | None:
        return self.best_validation_round

    def _reason_training_stopped(self) -> str:
        return self.reason

    def _reason_training_stopped_details(self) -> dict[str, Any]:
        """Why training stopped early, when it did: ``"Reason"``, a ``"Message"``, where
        (``"Round"``, ``"AbsoluteBatch"``: the batches done) and what more the reason knows (for
        ``"NonFiniteLoss"``, ``"DivergedBatch"`` and ``"ArraysFromBatch"``); empty otherwise."""
        return dict(self.details)

    def _total_training_time(self) -> float:
        return self.total_time

    def _mean_examples_per_second(self) -> float:
        return self.examples_seen / self.total_time if self.total_time > 0 else 0.0

    def _total_rounds(self) -> int:
        return len(self.round_losses)

    def _total_batches(self) -> int:
        return len(self.batch_losses)

    def _batch_size(self) -> int:
        return self.batch_size

    def _learning_rate(self) -> float:
        return self.learning_rate

    def _method(self) -> Any:
        return self.method

    def _loss_function(self) -> list[str]:
        return [term.describe() for term in self.loss_terms]

    def _automatic_choices(self) -> dict[str, Any]:
        return dict(self.automatic)

    def _confusion_matrix(self) -> np.ndarray | None:
        return self.confusion

    def _loss_plot(self) -> Any:
        if "LossPlot" not in self._cache:
            self._cache["LossPlot"] = report.loss_plot(self.batch_losses, self.round_losses, self.validation_losses, self.batches_per_round)
        return self._cache["LossPlot"]

    def _final_plots(self) -> dict[str, Any]:
        if "FinalPlots" not in self._cache:
            plots = {"Loss": self._loss_plot()}
            training, validation = _lists(self.round_rows), _lists(self.validation_rows)
            for name in dict.fromkeys([*training, *validation]):
                if name != "Loss" and all(isinstance(v, int | float) for v in training.get(name, []) + validation.get(name, [])):
                    plots[name] = report.measurement_plot(name, training.get(name, []), validation.get(name, []))
            if self.confusion is not None and self.class_labels is not None:
                plots["ConfusionMatrix"] = report.confusion_plot(self.confusion, self.class_labels)
            self._cache["FinalPlots"] = plots
        return self._cache["FinalPlots"]

    def _checkpointing_files(self) -> list[str]:
        """The checkpoints' net files (``.symnet``, which Import reads); each has its training state for resuming beside it in ``.safetensors``."""
        return list(self.checkpoint_files)

    def _properties(self) -> list[str]:
        return list(PROPERTIES)


def _lists(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name, float("nan")) for row in rows] for name in names}


def training_net(net: Layer, terms: list[Any]) -> Layer | None:
    """The net with its loss layers attached (a NetGraph), as it was trained."""
    from ..containers.graph import NetGraph
    from ..ports import NetPort

    attached = [t for t in terms if t.layer is not None]
    if not attached:
        return net
    layers: dict[str, Any] = {"net": net}
    edges = []
    for term in attached:
        name = f"loss{term.port}" if len(attached) > 1 else "loss"
        layers[name] = term.layer
        edges.append((NetPort("net", term.port), NetPort(name, "Input")))
    try:
        return NetGraph(layers, edges)
    except NetError:
        return None
