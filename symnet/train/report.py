"""Progress reporting while NetTrain runs, and the plots of a finished run.

``training_progress_reporting``:

- ``Automatic``: a live HTML panel in a Jupyter notebook, a rich progress panel on a terminal,
  "Print" lines otherwise (pipes, CI);
- ``"Panel"`` / ``"ProgressIndicator"``: the notebook panel in Jupyter, else the rich progress bar;
  ``"Print"``: a line per round;
- a file name ending in ``.csv`` or ``.json``: a row per round written to that file;
- a function: called after every batch with a dict of the progress so far
  (``(function, "Round")`` calls it once per round instead);
- ``None``: nothing; a list of these combines them.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import OptionError
from .notebook import in_notebook, progress_html


class Reporter:
    """Receives ``batch(progress)`` after every batch and ``round(progress)`` after every round."""

    def start(self, total_rounds: int | None, batches_per_round: int | None) -> None:
        pass

    def batch(self, progress: dict[str, Any]) -> None:
        pass

    def round(self, progress: dict[str, Any]) -> None:
        pass

    def finish(self, progress: dict[str, Any]) -> None:
        pass


def _format_round(progress: dict[str, Any]) -> str:
    rounds = progress.get("TotalRounds")
    parts = [f"round {progress['Round']}" + (f"/{rounds}" if rounds else "")]
    parts.append(f"loss {progress['RoundLoss']:.4f}")
    if progress.get("ValidationLoss") is not None:
        parts.append(f"validation loss {progress['ValidationLoss']:.4f}")
    for name, value in (progress.get("RoundMeasurements") or {}).items():
        if name != "Loss" and isinstance(value, int | float):
            parts.append(f"{name} {value:.4f}")
    for name, value in (progress.get("ValidationMeasurements") or {}).items():
        if name != "Loss" and isinstance(value, int | float):
            parts.append(f"validation {name} {value:.4f}")
    parts.append(f"{progress['Time']:.1f} s")
    parts.append(f"{progress['ExamplesPerSecond']:.0f} examples/s")
    return "  ".join(parts)


class PrintReporter(Reporter):
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream

    def round(self, progress: dict[str, Any]) -> None:
        print(_format_round(progress), file=self.stream or sys.stdout, flush=True)


class PanelReporter(Reporter):
    """A rich progress bar over all batches, updated at most ten times a second."""

    def start(self, total_rounds: int | None, batches_per_round: int | None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]NetTrain"), BarColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
        total = total_rounds * batches_per_round if total_rounds and batches_per_round else None
        self.task = self.progress.add_task("", total=total)
        self.progress.start()
        self.last = 0.0

    def batch(self, progress: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - self.last < 0.1:
            return
        self.last = now
        description = f"round {progress['Round']}  batch {progress['Batch']}  loss {progress['BatchLoss']:.4f}"
        self.progress.update(self.task, completed=progress["AbsoluteBatch"], description=description)

    def round(self, progress: dict[str, Any]) -> None:
        self.progress.update(self.task, completed=progress["AbsoluteBatch"])
        self.progress.console.print(_format_round(progress))

    def finish(self, progress: dict[str, Any]) -> None:
        self.progress.stop()


class NotebookReporter(Reporter):
    """A panel in the notebook cell's output, redrawn in place through an IPython display handle
    after a batch (at most four times a second, so the front-end keeps up) and after every round.

    ``display`` is IPython.display.display or a stand-in with its signature (tests)."""

    interval = 0.25

    def __init__(self, display: Callable[..., Any] | None = None) -> None:
        self.display = display
        self.history: dict[str, list[float]] = {"BatchLoss": [], "RoundLoss": [], "ValidationLoss": []}

    def _html(self, progress: dict[str, Any], done: bool = False) -> Any:
        from IPython.display import HTML

        return HTML(progress_html(progress, self.history, self.batches_per_round, done))

    def start(self, total_rounds: int | None, batches_per_round: int | None) -> None:
        if self.display is None:
            from IPython.display import display

            self.display = display
        self.batches_per_round = batches_per_round
        self.handle = self.display(self._html({"TotalRounds": total_rounds}), display_id=True)
        self.last = time.perf_counter()

    def batch(self, progress: dict[str, Any]) -> None:
        self.history["BatchLoss"].append(float(progress["BatchLoss"]))
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self.handle.update(self._html(progress))

    def round(self, progress: dict[str, Any]) -> None:
        self.history["RoundLoss"].append(float(progress["RoundLoss"]))
        if progress.get("ValidationLoss") is not None:
            self.history["ValidationLoss"].append(float(progress["ValidationLoss"]))
        self.last = time.perf_counter()
        self.handle.update(self._html(progress))

    def finish(self, progress: dict[str, Any]) -> None:
        self.handle.update(self._html(progress, done=True))


class FileReporter(Reporter):
    """A row per round in a CSV file, or a JSON list of rows (rewritten each round)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def round(self, progress: dict[str, Any]) -> None:
        row = {"Round": progress["Round"], "Loss": progress["RoundLoss"], "ValidationLoss": progress.get("ValidationLoss"), "Time": progress["Time"]}
        row.update({f"{k}": v for k, v in (progress.get("RoundMeasurements") or {}).items() if k != "Loss"})
        row.update({f"Validation{k}": v for k, v in (progress.get("ValidationMeasurements") or {}).items() if k != "Loss"})
        self.rows.append(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.suffix == ".json":
            self.path.write_text(json.dumps(self.rows, indent=1))
            return
        fields = list(dict.fromkeys(key for r in self.rows for key in r))
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fields)
            writer.writeheader()
            writer.writerows(self.rows)


class CallbackReporter(Reporter):
    def __init__(self, function: Callable[[dict[str, Any]], Any], per_round: bool) -> None:
        self.function = function
        self.per_round = per_round

    def batch(self, progress: dict[str, Any]) -> None:
        if not self.per_round:
            self.function(progress)

    def round(self, progress: dict[str, Any]) -> None:
        if self.per_round:
            self.function(progress)


def interactive() -> bool:
    return sys.stdout.isatty() and not os.environ.get("CI")


def reporters(spec: Any) -> list[Reporter]:
    from ..engine import Automatic

    if spec is None:
        return []
    if spec is Automatic:
        if in_notebook():
            return [NotebookReporter()]
        return [PanelReporter() if interactive() else PrintReporter()]
    if isinstance(spec, Reporter):  # a reporter object of one's own (or a NotebookReporter with its display)
        return [spec]
    if isinstance(spec, list):
        return [r for item in spec for r in reporters(item)]
    if isinstance(spec, tuple) and len(spec) == 2 and callable(spec[0]):
        if spec[1] not in ("Round", "Batch"):
            raise OptionError(f'NetTrain: training_progress_reporting=({spec[0]!r}, {spec[1]!r}): the interval must be "Round" or "Batch".')
        return [CallbackReporter(spec[0], spec[1] == "Round")]
    if callable(spec):
        return [CallbackReporter(spec, False)]
    if isinstance(spec, str | Path):
        text = str(spec)
        if text in ("Panel", "ProgressIndicator"):
            return [NotebookReporter() if in_notebook() else PanelReporter()]
        if text == "Print":
            return [PrintReporter()]
        if Path(text).suffix in (".csv", ".json"):
            return [FileReporter(Path(text))]
    raise OptionError(
        f'NetTrain: training_progress_reporting={spec!r} is not a form of reporting; use "Panel", "Print", a .csv or .json file name, a function of the progress, None, or a list of these.'
    )


# -- plots ------------------------------------------------------------------------------------
def _figure(width: float = 6.0, height: float = 4.0) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="tight")


def loss_plot(batch_losses: list[float], round_losses: list[float], validation_losses: list[float], batches_per_round: float) -> Any:
    """Loss against training rounds: batch losses (faint), round means, validation losses."""
    figure = _figure()
    axes = figure.add_subplot()
    if batch_losses:
        xs = [(i + 1) / batches_per_round for i in range(len(batch_losses))]
        axes.plot(xs, batch_losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="batch loss")
    if round_losses:
        axes.plot(range(1, len(round_losses) + 1), round_losses, "o-", color="tab:blue", label="training loss")
    if validation_losses:
        axes.plot(range(1, len(validation_losses) + 1), validation_losses, "o-", color="tab:orange", label="validation loss")
    positive = [v for v in [*batch_losses, *round_losses, *validation_losses] if v > 0]
    if positive and max(positive) / min(positive) > 30:
        axes.set_yscale("log")
    axes.set_xlabel("training rounds")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def measurement_plot(name: str, training: list[float], validation: list[float]) -> Any:
    figure = _figure()
    axes = figure.add_subplot()
    if training:
        axes.plot(range(1, len(training) + 1), training, "o-", label=f"training {name}")
    if validation:
        axes.plot(range(1, len(validation) + 1), validation, "o-", label=f"validation {name}")
    axes.set_xlabel("training rounds")
    axes.set_ylabel(name)
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def confusion_plot(matrix: Any, labels: list[Any]) -> Any:
    """A confusion matrix: actual classes as rows, predicted classes as columns, counts in the cells."""
    size = max(4.0, 0.55 * len(labels) + 2)
    figure = _figure(size, size)
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    ticks = range(len(labels))
    axes.set_xticks(list(ticks), [str(label) for label in labels], rotation=45, ha="right")
    axes.set_yticks(list(ticks), [str(label) for label in labels])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("actual class")
    limit = matrix.max() / 2 if matrix.size else 0
    if len(labels) <= 30:
        for i in ticks:
            for j in ticks:
                axes.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8, color="white" if matrix[i, j] > limit else "black")
    return figure
