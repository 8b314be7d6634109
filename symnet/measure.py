"""NetMeasurements: how good a net is on labelled data.

The net is evaluated in batches through its compiled module (no Python loop over examples for
in-memory data); the measurements themselves are the pure functions of :mod:`symnet.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from . import metrics
from .devices import evaluation_placement
from .engine import batch_slices, cached_module, run_batches
from .errors import InputError, NetError, closest
from .evaluation import refined_for_data
from .layers.base import Layer
from .prepare import batch_size_of, bf16_supported, dtype_of, port_column, precision_of
from .split_evaluation import split_batches

CLASSIFIER = ("Accuracy", "ErrorRate", "Precision", "Recall", "F1Score", "ConfusionMatrix", "ConfusionMatrixPlot", "Perplexity", "TopKAccuracy", "AreaUnderROCCurve")
REGRESSION = ("MeanSquare", "MeanDeviation")
MEASUREMENTS = (*CLASSIFIER, *REGRESSION, "Loss")
TARGET = "Target"


# -- data ---------------------------------------------------------------------------------------


def _columns(net: Layer, data: Any) -> tuple[dict[str, Any], str, Any]:
    """Inputs by port, the measured output port and its targets."""
    inputs, outputs = net.input_ports(), net.output_ports()
    if hasattr(data, "arrays") and callable(data.arrays):
        data = tuple(data.arrays())[:2]
    if isinstance(data, Mapping):
        unknown = [k for k in data if k not in (*inputs, *outputs, TARGET)]
        if unknown:
            raise NetError(f'NetMeasurements: the data has a column "{unknown[0]}", which is not a port of the net; its ports: {", ".join((*inputs, *outputs))}.{closest(str(unknown[0]), (*inputs, *outputs))}')
        targets = [k for k in data if k in outputs or k == TARGET]
        if len(targets) != 1:
            raise NetError(f"NetMeasurements: give the targets of exactly one output port (the net's outputs: {', '.join(outputs)}), or under \"Target\".")
        port = outputs[0] if targets[0] == TARGET else targets[0]
        missing = [p for p in inputs if p not in data]
        if missing:
            raise NetError(f"NetMeasurements: the data has no column for the input {missing[0]}.")
        return {p: data[p] for p in inputs}, port, data[targets[0]]
    if len(outputs) != 1 or len(inputs) != 1:
        raise NetError(f"NetMeasurements: the net has the inputs {', '.join(inputs)} and outputs {', '.join(outputs)}; give the data as a dict of port name → values.")
    if isinstance(data, tuple) and len(data) == 2:
        return {inputs[0]: data[0]}, outputs[0], data[1]
    if isinstance(data, list) and data and all(isinstance(item, tuple | list) and len(item) == 2 for item in data):
        x = [item[0] for item in data]
        y = [item[1] for item in data]
        return {inputs[0]: x}, outputs[0], y
    raise NetError(f"NetMeasurements: {type(data).__name__} is not a form of labelled data; give (inputs, targets), a list of (input, target) pairs, a dict of port → values or a dataset.")


def _compact(values: Any) -> Any:
    """Numeric lists become one array (sliced without copying); anything else stays as is."""
    if isinstance(values, np.ndarray | torch.Tensor):
        return values
    if isinstance(values, tuple):
        values = list(values)
    if isinstance(values, list) and values and isinstance(values[0], int | float | np.number | np.ndarray | list | tuple) and not isinstance(values[0], bool):
        try:
            array = np.asarray(values)
        except ValueError:
            return values
        if array.dtype != object:
            return array
    return values


def _length(values: Any) -> int:
    if isinstance(values, np.ndarray | torch.Tensor):
        if values.ndim == 0:
            raise NetError("NetMeasurements: the data must hold a batch of examples, not a single number.")
        return int(values.shape[0])
    return len(values)


def evaluate_outputs(net: Layer, inputs: Mapping[str, Any], port: str, *, batch_size: int = 256, target_device: str | tuple[str, Any] = "cpu", working_precision: str = "Real32") -> torch.Tensor:
    """The raw output of ``port`` for every example, computed batch by batch (through the one
    data path, :func:`symnet.prepare.port_column`, and :func:`symnet.engine.run_batches`).
    An output of sequences of different lengths comes back as one row per real position."""
    return _outputs(net, inputs, port, batch_size=batch_size, target_device=target_device, working_precision=working_precision)[0]


def _outputs(net: Layer, inputs: Mapping[str, Any], port: str, *, batch_size: int, target_device: str, working_precision: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`evaluate_outputs` and, for an output of sequences of different lengths, each example's length."""
    where = "NetMeasurements"
    precision = precision_of(working_precision, where=where)
    batch_size = batch_size_of(batch_size, where) or 256
    dtype = dtype_of(precision)
    placement = evaluation_placement(target_device, where)
    device = placement.device_for(0)
    mixed = precision == "Mixed" and bf16_supported(device)
    coders = net.coders()
    values = {p: _compact(v) for p, v in inputs.items()}
    counts = {p: _length(v) for p, v in values.items()}
    if len(set(counts.values())) > 1:
        raise InputError(f"NetMeasurements: the inputs have different numbers of examples: {counts}.")
    count = next(iter(counts.values())) if counts else 0
    if count == 0:
        raise NetError("NetMeasurements: the data has no examples.")
    columns = {p: port_column(net, p, v, coders.get(p), dtype, f"{where}: input {p}", batch=True)[0] for p, v in values.items()}
    pieces, piece_lengths = [], []
    # on several processes the whole set is split once, and each process batches its own share
    for part in [slice(0, count)] if placement.distributed else batch_slices(count, batch_size):
        tensors = {p: column.batch(part) for p, column in columns.items()}
        lengths = {p: column.lengths[part] for p, column in columns.items() if column.lengths is not None}
        runnable = refined_for_data(net, tensors, lengths)
        module = cached_module(runnable, device, dtype)
        wire = module.plan.outputs[port]
        if placement.distributed:
            (value,) = split_batches(placement, runnable, module, tensors, [wire], lengths=lengths or None, batch_size=batch_size, dtype=dtype, mixed=mixed, where=where)
        else:
            (value,) = run_batches(module, tensors, [wire], lengths=lengths or None, batch_size=batch_size, device=device, mixed=mixed)
        value = value.detach().to("cpu")
        (output_lengths,) = module.wire_lengths([wire], [lengths.get(p) for p in runnable.input_ports()]) if lengths else (None,)
        if output_lengths is not None:
            # a padded batch of sequences: only each example's own positions are measured
            value = value[torch.arange(value.shape[1]).unsqueeze(0) < output_lengths.unsqueeze(1)]
            piece_lengths.append(output_lengths)
        pieces.append(value)
    return torch.cat(pieces), (torch.cat(piece_lengths) if piece_lengths else None)


def _target_positions(targets: Any, lengths: torch.Tensor, port: str) -> Any:
    """Sequence targets as one target per position, checked against each example's output length."""
    flat: list[Any] = []
    for example, (target, length) in enumerate(zip(targets, lengths.tolist())):
        size = len(target) if not isinstance(target, np.ndarray | torch.Tensor) else (target.shape[0] if target.ndim else 0)
        if size != length:
            raise InputError(f"NetMeasurements: target {port}: example {example} is a sequence of {size} elements, but the output {port} has {length} for that example; "
                             "give each example a target sequence exactly as long as its output.")
        flat.extend(target.tolist() if isinstance(target, np.ndarray | torch.Tensor) else target)
    return _compact(flat)


# -- targets ------------------------------------------------------------------------------------


def _labels_of(decoder: Any) -> tuple[Any, ...] | None:
    labels = getattr(decoder, "labels", None)
    return tuple(labels) if labels is not None else None


def _class_targets(decoder: Any, targets: Any, classes: int) -> torch.Tensor:
    """Class indices from labels (through the Class decoder), booleans, indices or probability vectors."""
    if isinstance(targets, torch.Tensor):
        targets = targets.detach().cpu().numpy()
    if decoder is not None and hasattr(decoder, "indices"):
        try:
            return torch.from_numpy(np.asarray(decoder.indices(targets), dtype=np.int64)).reshape(-1)
        except NetError as error:
            array = np.asarray(targets)
            if not (array.dtype.kind in "iu" and array.size and array.min() >= 0 and array.max() < classes):
                raise type(error)(f"NetMeasurements: targets: {error}") from None
            return torch.from_numpy(array.astype(np.int64)).reshape(-1)
    array = np.asarray(targets)
    if array.dtype == object:
        raise InputError("NetMeasurements: the targets are not numbers and the output has no Class decoder to turn labels into classes.")
    if array.ndim == 2 and array.shape[1] == classes and array.dtype.kind == "f":
        return torch.from_numpy(array.argmax(axis=1).astype(np.int64))
    if array.dtype.kind == "f" and not np.all(array == np.round(array)):
        raise InputError("NetMeasurements: class targets must be class indices (integers), labels or probability vectors.")
    indices = array.astype(np.int64).reshape(-1)
    if indices.size and (indices.min() < 0 or indices.max() >= classes):
        raise InputError(f"NetMeasurements: the targets hold class indices from {indices.min()} to {indices.max()}, but the output has {classes} classes (0 … {classes - 1}).")
    return torch.from_numpy(indices)


class _Problem:
    """The outputs and targets of one measurement run, and what kind of problem they pose."""

    def __init__(self, net: Layer, port: str, outputs: torch.Tensor, targets: Any) -> None:
        self.net, self.port, self.outputs, self.raw_targets = net, port, outputs, targets
        decoder = net.coders().get(port)
        self.decoder = decoder if hasattr(decoder, "decode") else None
        kind = getattr(self.decoder, "kind", None)
        self.binary = kind == "Boolean" or (outputs.dim() == 1 and self.decoder is None and _looks_binary(targets))
        self.labels = _labels_of(self.decoder)
        if self.binary and self.labels is None:
            self.labels = (False, True) if kind == "Boolean" else (0, 1)
        if self.labels is None and outputs.dim() == 2 and _looks_like_classes(targets, outputs.shape[1]):
            self.labels = tuple(range(outputs.shape[1]))
        self.classifier = self.labels is not None
        self._indices: torch.Tensor | None = None
        #: each row's share of the loss, for rows that are the positions of sequences (else None)
        self.weights: torch.Tensor | None = None

    @property
    def classes(self) -> int:
        return len(self.labels)  # type: ignore[arg-type]

    def indices(self) -> torch.Tensor:
        if self._indices is None:
            targets = self.raw_targets
            if self.binary:
                array = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
                self._indices = torch.from_numpy((array.astype(np.float64) >= 0.5).astype(np.int64).reshape(-1))
            else:
                self._indices = _class_targets(self.decoder, targets, self.classes)
            if self._indices.shape[0] != self.outputs.shape[0]:
                raise InputError(f"NetMeasurements: there are {self.outputs.shape[0]} inputs but {self._indices.shape[0]} targets; give one target per input.")
        return self._indices

    def probabilities(self) -> torch.Tensor:
        """Class probabilities (N, C); scores that are not probabilities go through a softmax."""
        p = self.outputs.double()
        if self.binary:
            return torch.stack([1 - p, p], dim=-1)
        if (p < 0).any() or not torch.allclose(p.sum(-1), torch.ones(p.shape[0], dtype=p.dtype), atol=1e-3):
            p = torch.softmax(p, dim=-1)
        return p

    def numeric_targets(self) -> torch.Tensor:
        targets = self.raw_targets
        tensor = targets if isinstance(targets, torch.Tensor) else torch.from_numpy(np.asarray(_compact(targets), dtype=np.float64))
        tensor = tensor.double()
        if tensor.shape != self.outputs.shape:
            raise InputError(f"NetMeasurements: the targets have shape {tuple(tensor.shape[1:])} per example but the output {self.port} has {tuple(self.outputs.shape[1:])}.")
        return tensor

    def require_classifier(self, name: str) -> None:
        if not self.classifier:
            raise NetError(
                f'NetMeasurements: "{name}" measures a classifier, but the output {self.port} has shape {tuple(self.outputs.shape[1:])} without a Class decoder '
                "and the targets are not class indices; give the output a NetDecoder(\"Class\", labels), or use \"MeanSquare\", \"MeanDeviation\" or \"Loss\"."
            )


def _looks_binary(targets: Any) -> bool:
    array = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
    return array.dtype == bool or (array.dtype.kind in "iu" and array.size > 0 and set(np.unique(array).tolist()) <= {0, 1})


def _looks_like_classes(targets: Any, classes: int) -> bool:
    array = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
    return array.ndim == 1 and array.dtype.kind in "iu"


# -- measurements -------------------------------------------------------------------------------


def _per_class(problem: _Problem, values: np.ndarray) -> dict[Any, float]:
    return {label: float(v) for label, v in zip(problem.labels, values)}  # type: ignore[arg-type]


def _confusion(problem: _Problem) -> np.ndarray:
    return metrics.confusion_matrix(problem.outputs, problem.indices(), problem.classes)


def _loss(problem: _Problem) -> float:
    """The loss NetTrain attaches automatically: cross-entropy for classes, mean square otherwise."""
    if problem.classifier:
        if problem.binary:
            p = problem.outputs.double().clamp(1e-12, 1 - 1e-12)
            y = problem.indices().double()
            return _example_mean(problem, -(y * torch.log(p) + (1 - y) * torch.log(1 - p)))
        p = problem.probabilities().gather(-1, problem.indices().unsqueeze(-1)).squeeze(-1)
        return _example_mean(problem, -torch.log(p.clamp_min(1e-300)))
    if problem.weights is None:
        return metrics.mean_square(problem.outputs, problem.numeric_targets())
    squares = (problem.outputs.double() - problem.numeric_targets()).square()
    return _example_mean(problem, squares.reshape(squares.shape[0], -1).mean(dim=1))


def _example_mean(problem: _Problem, losses: torch.Tensor) -> float:
    """The mean over the examples of each example's loss, as NetTrain reports it: for sequences
    of different lengths, each example's positions averaged first (``problem.weights``)."""
    if problem.weights is None:
        return float(losses.mean())
    return float((losses.reshape(losses.shape[0], -1).mean(dim=1) * problem.weights).sum())


#: the measurements that take an argument, ``(name, argument)``, and what the argument is
ARGUMENTS = {"Accuracy": "n", "ErrorRate": "n", "TopKAccuracy": "k", "Precision": "class", "Recall": "class", "F1Score": "class"}


def _names_a_measurement(item: Any) -> bool:
    return (isinstance(item, str) and item in MEASUREMENTS) or (isinstance(item, tuple) and bool(item) and isinstance(item[0], str) and item[0] in MEASUREMENTS)


def _several(measurement: Any) -> bool:
    """Whether ``measurement`` asks for several measurements: a list (Wolfram's {m1, m2}), or a
    tuple of them. A pair whose second item is not a measurement is one measurement with an
    argument, ("Accuracy", 2) or ("F1Score", "cat"); ("Accuracy", "ErrorRate") is two."""
    if isinstance(measurement, list):
        return True
    return isinstance(measurement, tuple) and (len(measurement) != 2 or _names_a_measurement(measurement[1]))


def _check_pairs(items: list[Any]) -> None:
    """Refuse a (name, argument) pair written as a list, in either of the two ways it happens."""
    for previous, item in zip([None, *items], items):
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and item[0] in ARGUMENTS:
            raise NetError(f"NetMeasurements: write a measurement with an argument as a tuple, {tuple(item)!r}, not the list {item!r}.".replace("'", '"'))
        if isinstance(previous, str) and previous in ARGUMENTS and not _names_a_measurement(item):
            raise NetError(f"NetMeasurements: {item!r} is not a measurement; to give {previous!r} an argument, write the tuple {(previous, item)!r}.".replace("'", '"'))


def _count_argument(name: str, argument: Any, letter: str) -> int:
    if not isinstance(argument, int) or isinstance(argument, bool) or argument < 1:
        raise NetError(f'NetMeasurements: ("{name}", {letter}) needs a positive int {letter} (the right class among the top {letter}), not {argument!r}.')
    return argument


def _top_accuracy(problem: _Problem, name: str, argument: Any) -> float:
    """Accuracy, or with an argument n Wolfram's {"Accuracy", n}: the right class among the top n."""
    outputs, targets = problem.outputs, problem.indices()
    n = 1 if argument is None else _count_argument(name, argument, "n")
    if n == 1:
        return metrics.accuracy(outputs, targets) if name == "Accuracy" else metrics.error_rate(outputs, targets)
    accuracy = metrics.top_k_accuracy(problem.probabilities(), targets, n)
    return accuracy if name == "Accuracy" else 1.0 - accuracy


def _measure(problem: _Problem, spec: Any) -> Any:
    name, argument = (spec[0], spec[1]) if isinstance(spec, tuple) and len(spec) == 2 else (spec, None)
    if name not in MEASUREMENTS:
        raise NetError(f"NetMeasurements: unknown measurement {name!r}; the measurements are {', '.join(MEASUREMENTS)}.{closest(str(name), MEASUREMENTS)}")
    if argument is not None and name not in ARGUMENTS:
        with_argument = ", ".join(f'("{n}", {a})' for n, a in ARGUMENTS.items())
        raise NetError(f'NetMeasurements: "{name}" takes no argument, but was given {spec!r}; measurements with an argument: {with_argument}.'.replace("'", '"'))
    if name == "Loss":
        return _loss(problem)
    if name in REGRESSION:
        targets = problem.numeric_targets()
        return metrics.mean_square(problem.outputs, targets) if name == "MeanSquare" else metrics.mean_deviation(problem.outputs, targets)
    problem.require_classifier(name)
    outputs, targets = problem.outputs, problem.indices()
    if name in ("Accuracy", "ErrorRate"):
        return _top_accuracy(problem, name, argument)
    if name == "TopKAccuracy":
        k = 5 if argument is None else argument
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise NetError(f'NetMeasurements: ("TopKAccuracy", k) needs a positive int k, not {k!r}.')
        return metrics.top_k_accuracy(problem.probabilities(), targets, k)
    if name == "Perplexity":
        return metrics.perplexity(problem.probabilities(), targets)
    if name == "AreaUnderROCCurve":
        if problem.binary:
            return metrics.area_under_roc_curve(outputs, targets == 1)
        p = problem.probabilities()
        return {label: metrics.area_under_roc_curve(p[:, i], targets == i) for i, label in enumerate(problem.labels)}  # type: ignore[arg-type]
    confusion = _confusion(problem)
    if name == "ConfusionMatrix":
        return confusion
    if name == "ConfusionMatrixPlot":
        return confusion_matrix_plot(confusion, problem.labels)  # type: ignore[arg-type]
    function = {"Precision": metrics.precision, "Recall": metrics.recall, "F1Score": metrics.f1_score}[name]
    values = _per_class(problem, function(confusion))
    if argument is not None:
        if argument not in values:
            raise NetError(f"NetMeasurements: ({name!r}, {argument!r}) names no class; the classes are {', '.join(map(repr, values))}.")
        return values[argument]
    return values


def confusion_matrix_plot(confusion: np.ndarray, labels: Sequence[Any]) -> Any:
    """A matplotlib figure of a confusion matrix (actual classes down, predicted across)."""
    from matplotlib.figure import Figure

    size = max(3.0, 0.45 * len(labels) + 1.5)
    figure = Figure(figsize=(size, size))
    axes = figure.add_subplot()
    axes.imshow(confusion, cmap="Blues")
    ticks = range(len(labels))
    axes.set_xticks(list(ticks), [str(label) for label in labels], rotation=90 if len(labels) > 6 else 0)
    axes.set_yticks(list(ticks), [str(label) for label in labels])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("actual class")
    high = confusion.max() if confusion.size else 0
    if len(labels) <= 20:
        for i in ticks:
            for j in ticks:
                axes.text(j, i, str(int(confusion[i, j])), ha="center", va="center", color="white" if confusion[i, j] > high / 2 else "black", fontsize=8)
    figure.tight_layout()
    return figure


def NetMeasurements(net: Layer, data: Any, measurement: Any = "Accuracy", *, batch_size: int = 256, target_device: str | tuple[str, Any] = "cpu", working_precision: str = "Real32") -> Any:
    """Measure a net on labelled data: one measurement, or a dict for a list of them.

    ``data`` is ``(inputs, targets)``, a list of ``(input, target)`` pairs, a dict of port →
    values (targets under the output port or "Target") or a dataset. Classifier measurements
    ("Accuracy", "ErrorRate", "Precision", "Recall", "F1Score" — dicts of class → value —,
    "ConfusionMatrix" (actual down, predicted across), "ConfusionMatrixPlot", "Perplexity",
    "TopKAccuracy", "AreaUnderROCCurve") take labels through the output's Class decoder, or
    class indices; "MeanSquare" and "MeanDeviation" compare numbers; "Loss" is the loss NetTrain
    would attach (cross-entropy for classes, mean square otherwise).

    Some take an argument, as a pair: ``("Accuracy", n)`` and ``("ErrorRate", n)`` count the
    right class among the top n (Wolfram's {"Accuracy", n}), ``("TopKAccuracy", k)`` (k=5 by
    default), ``("Precision", class)`` and likewise "Recall" and "F1Score" give one class's
    value. A list of measurements, or a tuple of them such as ``("Accuracy", "ErrorRate")``,
    gives a dict of measurement → value.

    >>> net = NetInitialize(NetChain([LinearLayer(2), SoftmaxLayer()], input=1, output=NetDecoder("Class", ["neg", "pos"])))
    >>> net = NetReplacePart(net, {(0, "Weights"): [[-5.0], [5.0]]})
    >>> NetMeasurements(net, ([[-1.0], [2.0], [3.0], [-4.0]], ["neg", "pos", "neg", "neg"]), "Accuracy")
    0.75
    >>> NetMeasurements(net, ([[-1.0], [2.0]], ["neg", "pos"]), ["Accuracy", "ErrorRate"])
    {'Accuracy': 1.0, 'ErrorRate': 0.0}
    """
    if not isinstance(net, Layer):
        raise NetError(f"NetMeasurements: expected a net, not {type(net).__name__}.")
    batch_size = batch_size_of(batch_size, "NetMeasurements") or 256
    inputs, port, targets = _columns(net, data)
    targets = _compact(targets)
    outputs, lengths = _outputs(net, inputs, port, batch_size=batch_size, target_device=target_device, working_precision=working_precision)
    count = outputs.shape[0] if lengths is None else len(lengths)
    if _length(targets) != count:
        raise InputError(f"NetMeasurements: there are {count} inputs but {_length(targets)} targets; give one target per input.")
    if lengths is not None:
        targets = _target_positions(targets, lengths, port)
    problem = _Problem(net, port, outputs, targets)
    if lengths is not None:
        # the loss of each position: 1 / (its example's length × the number of examples)
        problem.weights = torch.repeat_interleave(1.0 / (lengths.double().clamp_min(1) * len(lengths)), lengths)
    if _several(measurement):
        _check_pairs(list(measurement))
        return {m: _measure(problem, m) for m in measurement}
    return _measure(problem, measurement)


__all__ = ["NetMeasurements", "confusion_matrix_plot", "evaluate_outputs"]
