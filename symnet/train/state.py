"""The progress of a training run (what a checkpoint saves), and the results built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from . import measurements as measuring
from .arrays import LeafArrays, with_leaf_arrays
from .prepared import TrainingData
from .results import NetTrainResults


@dataclass
class TrainState:
    """Progress: what a checkpoint saves and a resumed run continues from."""

    rounds: int = 0
    batches: int = 0
    batch_in_round: int = 0
    examples: int = 0
    partial_loss: float = 0.0
    partial_count: int = 0
    batch_losses: list[float] = field(default_factory=list)
    round_losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    round_measurements: list[dict[str, float]] = field(default_factory=list)
    validation_measurements: list[dict[str, float]] = field(default_factory=list)
    criterion_history: list[float] = field(default_factory=list)
    stale: int = 0
    best_value: float | None = None
    best_round: int | None = None
    best_arrays: LeafArrays | None = None
    round_start: torch.Tensor | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    files: list[str] = field(default_factory=list)
    resumed_from: str | None = None

    SAVED = ("rounds", "batches", "batch_in_round", "examples", "partial_loss", "partial_count", "batch_losses", "round_losses", "validation_losses",
             "round_measurements", "validation_measurements", "criterion_history", "stale", "best_value", "best_round", "files")

    def progress(self, elapsed: float) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in self.SAVED}, "elapsed": elapsed}

    def load(self, saved: dict[str, Any], round_start: torch.Tensor | None, best: LeafArrays | None) -> None:
        for name in self.SAVED:
            setattr(self, name, saved[name])
        self.elapsed = saved["elapsed"]
        self.round_start = round_start
        self.best_arrays = best

    def stop(self, reason: str, message: str, **details: Any) -> None:
        """Stop after this batch, saying why (``ReasonTrainingStopped``) and with what details."""
        if self.reason is None:
            self.reason = reason
            self.details = {"Reason": reason, "Message": message, "Round": self.rounds + 1, "AbsoluteBatch": self.batches, **details}


def measure_table(data: TrainingData, runner: Any, table: Any, limit: int | None = None) -> tuple[dict[str, float], torch.Tensor | None, torch.Tensor | None]:
    """Loss and measurements on a table, in evaluation mode."""
    loss, outputs, targets = runner.evaluate(table, limit)
    row = {"Loss": loss}
    if data.measurements and outputs is not None:
        form = data.target_form
        row.update(measuring.measure(data.measurements, measuring.class_outputs(outputs, form), measuring.class_targets(targets, form) if targets is not None else None))
    return row, outputs, targets


def results(data: TrainingData, runner: Any, state: TrainState, *, method: str, learning_rate: float, automatic: dict[str, Any], want_confusion: bool) -> NetTrainResults:
    """The results object of a finished (or stopped) run."""
    net = data.net
    current = runner.arrays()
    final = with_leaf_arrays(net, current)
    trained = with_leaf_arrays(net, state.best_arrays) if state.best_arrays is not None else final
    confusion, labels = None, None
    term = data.terms[0] if data.terms else None
    if want_confusion and term is not None and term.classifier and state.batches:
        if state.best_arrays is not None:
            runner.load_arrays(state.best_arrays)
        table = data.validation if data.validation is not None else data.table
        from .. import metrics

        _, outputs, targets = measure_table(data, runner, table, limit=10000)
        if outputs is not None and targets is not None:
            classes = outputs.shape[-1]
            # a sequence of predictions (a language model's) counts every position
            actual = measuring.class_targets(targets, data.target_form).reshape(-1)
            confusion = metrics.confusion_matrix(outputs.reshape(-1, classes), actual, classes)
            decoder = data.coders.get(term.port)
            labels = list(decoder.labels) if hasattr(decoder, "labels") else (list(data.class_names) if data.class_names is not None else list(range(classes)))
        if state.best_arrays is not None:
            runner.load_arrays(current)
    automatic = dict(automatic)
    if state.resumed_from:
        automatic["resumed_from"] = state.resumed_from
    return NetTrainResults(
        trained_net=trained, final_net=final, loss_terms=data.terms, batch_losses=state.batch_losses, round_losses=state.round_losses,
        validation_losses=state.validation_losses, round_rows=state.round_measurements, validation_rows=state.validation_measurements,
        best_validation_round=state.best_round, reason=state.reason or "MaxTrainingRounds", total_time=state.elapsed, examples_seen=state.examples,
        batches_per_round=data.batches_per_round, batch_size=data.batch_size, learning_rate=learning_rate, method=method,
        automatic=automatic, confusion=confusion, class_labels=labels, checkpoint_files=list(state.files), details=dict(state.details),
    )
