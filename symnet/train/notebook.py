"""NetTrain in a notebook: the live progress panel's markup and the results' ``_repr_html_``.

The progress panel is redrawn in place through an IPython display handle
(``report.NotebookReporter``); here is only what it shows, as HTML built from the progress
dict NetTrain hands its reporters and the losses seen so far. Plots of a finished run are the
results' matplotlib figures (``FinalPlots``) embedded as SVG, so they print and scale.
"""

from __future__ import annotations

import io
import math
import sys
from typing import Any

from .. import panels

#: at most this many points in the progress panel's loss curve (batch losses are averaged in bins)
CURVE_POINTS = 240


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (an IPython shell with a kernel behind it), where
    output can be HTML updated in place; a terminal IPython is not."""
    ipython = sys.modules.get("IPython")  # a kernel has always imported it; never import it here
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _binned(values: list[float], points: int) -> list[float]:
    """``values`` averaged in ``points`` equal bins (or as they are when there are fewer)."""
    if len(values) <= points:
        return list(values)
    size = len(values) / points
    return [sum(values[int(i * size) : int((i + 1) * size)]) / max(1, int((i + 1) * size) - int(i * size)) for i in range(points)]


def loss_curve_svg(batch_losses: list[float], round_losses: list[float], validation_losses: list[float], batches_per_round: float, width: int = 340, height: int = 110) -> str:
    """A small loss-against-rounds chart as inline SVG: batch losses as a line, round means
    (blue) and validation losses (orange) as dots; log scale when the losses span over 30x."""
    finite = [v for v in [*batch_losses, *round_losses, *validation_losses] if math.isfinite(v)]
    if not finite:
        return ""
    log = min(finite) > 0 and max(finite) / min(finite) > 30

    def level(value: float) -> float:
        return math.log10(value) if log else value

    low, high = level(min(finite)), level(max(finite))
    span = high - low or 1.0
    rounds = max(len(batch_losses) / max(batches_per_round, 1e-9), len(round_losses), len(validation_losses), 1e-9)
    left, right, top, bottom = 44, width - 8, 8, height - 18

    def point(x_rounds: float, value: float) -> tuple[float, float]:
        return left + (right - left) * x_rounds / rounds, bottom - (bottom - top) * (level(value) - low) / span

    parts = [f'<svg class="symnet-loss-curve" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="9">']
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#c8d3e0"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#c8d3e0"/>')
    for value, y in ((max(finite), top), (min(finite), bottom)):
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#6a7683">{value:.3g}</text>')
    parts.append(f'<text x="{right}" y="{height - 4}" text-anchor="end" fill="#6a7683">{rounds:.3g} rounds{" (log scale)" if log else ""}</text>')
    binned = _binned([v for v in batch_losses if math.isfinite(v)], CURVE_POINTS)
    if binned:
        step = len(batch_losses) / len(binned) / max(batches_per_round, 1e-9)
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point((i + 1) * step, v) for i, v in enumerate(binned)))
        parts.append(f'<polyline points="{line}" fill="none" stroke="#4a6fa5" stroke-opacity="0.45" stroke-width="1"/>')
    for values, colour, name in ((round_losses, "#1f5fa8", "round"), (validation_losses, "#e07b00", "validation")):
        for index, value in enumerate(values):
            if math.isfinite(value):
                x, y = point(index + 1, value)
                parts.append(f'<circle class="symnet-{name}-loss" cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>')
    legend = [("#4a6fa5", "batch", True), ("#1f5fa8", "round", bool(round_losses)), ("#e07b00", "validation", bool(validation_losses))]
    x = left + 4
    for colour, name, shown in legend:
        if shown:
            parts.append(f'<circle cx="{x}" cy="{height - 7}" r="2.6" fill="{colour}"/><text x="{x + 5}" y="{height - 4}" fill="#6a7683">{name}</text>')
            x += 12 + 5.5 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _bar(fraction: float | None) -> str:
    if fraction is None:
        return ""
    percent = max(0.0, min(1.0, fraction)) * 100
    return (
        '<div style="display:flex;align-items:center;gap:8px;margin:2px 0 6px 0">'
        f'<div style="background:#e6ecf3;width:300px;height:9px;border-radius:5px;overflow:hidden"><div class="symnet-progress-bar" style="width:{percent:.1f}%;background:#4a6fa5;height:9px"></div></div>'
        f"<span>{percent:.0f}%</span></div>"
    )


def _clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}" if seconds >= 60 else f"{seconds:.1f} s"


def progress_html(progress: dict[str, Any], history: dict[str, list[float]], batches_per_round: int | None, done: bool = False) -> str:
    """The live panel: where training is (round, batch, a bar when the total is known), the
    latest losses and measurements, time so far and left, and the loss curve so far."""
    total_rounds = progress.get("TotalRounds")
    round_number, batch = progress.get("Round", 0), progress.get("Batch", 0)
    absolute = progress.get("AbsoluteBatch", 0)
    total_batches = total_rounds * batches_per_round if total_rounds and batches_per_round else None
    fraction = 1.0 if done and total_batches else (absolute / total_batches if total_batches else None)
    where = f"round {round_number}" + (f"/{total_rounds}" if total_rounds else "") + f" · batch {batch}" + (f"/{batches_per_round}" if batches_per_round else "")
    rows: list[list[Any]] = []
    for name, key in (("batch loss", "BatchLoss"), ("round loss", "RoundLoss"), ("validation loss", "ValidationLoss")):
        value = progress.get(key, history.get(key, [None])[-1] if history.get(key) else None)
        if isinstance(value, int | float):
            rows.append([name, float(value)])
    for prefix, key in (("", "RoundMeasurements"), ("validation ", "ValidationMeasurements")):
        for name, value in (progress.get(key) or {}).items():
            if name != "Loss" and isinstance(value, int | float):
                rows.append([f"{prefix}{name}", float(value)])
    elapsed = float(progress.get("Time", 0.0))
    rows.append(["time", _clock(elapsed)])
    if fraction and not done and fraction > 0:
        rows.append(["time left (estimate)", _clock(elapsed * (1 - fraction) / fraction)])
    if progress.get("ExamplesPerSecond"):
        rows.append(["examples/s", f"{progress['ExamplesPerSecond']:,.0f}"])
    if progress.get("LearningRate") is not None:
        rows.append(["learning rate", float(progress["LearningRate"])])
    curve = loss_curve_svg(history["BatchLoss"], history["RoundLoss"], history["ValidationLoss"], float(batches_per_round or max(len(history["BatchLoss"]), 1)))
    title = ("NetTrain finished · " if done else "NetTrain · ") + where
    body = f'<div class="symnet-row"><div>{_bar(fraction)}{panels.table(["", "value"], rows)}</div><div>{curve}</div></div>'
    return panels.panel("progress", title, [body])


# -- results ------------------------------------------------------------------------------------
def figure_svg(figure: Any) -> str:
    """A matplotlib figure as inline SVG markup, its text kept as text (smaller, searchable)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def results_html(results: Any) -> str:
    """The notebook panel of a NetTrainResults: a summary of the run and its final plots."""
    rows: list[list[Any]] = [
        ["ReasonTrainingStopped", results.reason],
        ["TotalRounds", len(results.round_losses)],
        ["TotalBatches", len(results.batch_losses)],
        ["BatchSize", results.batch_size],
    ]
    if results.round_losses:
        rows.append(["final round loss", float(results.round_losses[-1])])
    if results.validation_losses:
        rows.append(["final validation loss", float(results.validation_losses[-1])])
    for prefix, table in (("", results.round_rows), ("validation ", results.validation_rows)):
        for name, value in (table[-1] if table else {}).items():
            if name != "Loss" and isinstance(value, int | float):
                rows.append([f"{prefix}{name}", float(value)])
    if results.best_validation_round is not None:
        rows.append(["BestValidationRound", results.best_validation_round])
    rows += [
        ["TotalTrainingTime", f"{results.total_time:.2f} s"],
        ["MeanExamplesPerSecond", f"{results['MeanExamplesPerSecond']:,.0f}"],
        ["Method", str(results.method)],
        ["LearningRate", float(results.learning_rate) if isinstance(results.learning_rate, int | float) else str(results.learning_rate)],
        ["LossFunction", ", ".join(results["LossFunction"])],
    ]
    # values as text, so the column reads left-aligned beside the long loss-function names
    shown = [[name, f"{value:,}" if isinstance(value, int) else f"{value:.4g}" if isinstance(value, float) else value] for name, value in rows]
    parts = [panels.section("Summary", panels.table(["property", "value"], shown))]
    plots = "".join(f'<figure style="margin:0"><figcaption class="symnet-section">{panels.escape(name)}</figcaption><div class="symnet-plot" style="width:360px">{figure_svg(figure)}</div></figure>' for name, figure in results["FinalPlots"].items())
    parts.append(f'<div class="symnet-row symnet-plots">{plots}</div>')
    choices = results["AutomaticChoices"]
    if choices:
        listing = panels.table(["choice", "value"], [[name, str(value)] for name, value in choices.items()])
        parts.append(f'<details><summary class="symnet-section">AutomaticChoices</summary>{listing}</details>')
    parts.append(panels.note('results["TrainedNet"] is the trained net; results.properties lists every property.'))
    return panels.panel("results", f"NetTrainResults · {len(results.round_losses)} rounds · {results.reason}", parts)
