"""The state of one training run: its settings, data, compiled module and progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import NetError
from ..layers.base import Layer
from ..layers.loss import CrossEntropyLossLayer
from . import measurements as measuring
from .arrays import load_leaf_arrays, with_leaf_arrays
from .data import Generated, Table, check_lengths, input_column, split_ports
from .losses import target_column
from .results import NetTrainResults

EVALUATION_BATCH = 1024


@contextmanager
def one_thread() -> Iterator[None]:
    """Run a batch's small data operations (a gather, a few elementwise ops on ~100 kB) in one thread.

    They gain nothing from a second thread, and on a machine whose cores other processes share,
    each parallel region can wait milliseconds for a descheduled worker thread: measured on 2
    shared cores, gathering 128 Fashion-MNIST images took 7.9 ms with 2 threads and 0.1 ms with 1.
    Elementwise results do not depend on the thread count, so training stays reproducible.
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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
    best_arrays: Any = None
    round_start: torch.Tensor | None = None
    reason: str | None = None
    elapsed: float = 0.0
    files: list[str] = field(default_factory=list)
    resumed_from: str | None = None

    SAVED = ("rounds", "batches", "batch_in_round", "examples", "partial_loss", "partial_count", "batch_losses", "round_losses", "validation_losses",
             "round_measurements", "validation_measurements", "criterion_history", "stale", "best_value", "best_round", "files")

    def progress(self, elapsed: float) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in self.SAVED}, "elapsed": elapsed}

    def load(self, saved: dict[str, Any], round_start: torch.Tensor | None, best: Any) -> None:
        for name in self.SAVED:
            setattr(self, name, saved[name])
        self.elapsed = saved["elapsed"]
        self.round_start = round_start
        self.best_arrays = best


@dataclass
class Session:
    net: Layer
    data: Any
    loss_function: Any
    batch_size: Any
    max_training_rounds: Any
    time_goal: float | None
    validation_set: Any
    method: Any
    learning_rate: Any
    multipliers: Any
    reporters: list[Any]
    measurements_spec: Any
    criterion: Any
    checkpoints: list[Any]
    seed: int
    device: str
    precision: str
    want_results: bool = True
    channels_last: bool | None = None
    # filled in during setup
    dtype: torch.dtype = torch.float32
    plan: Any = None
    coders: dict[str, Any] = field(default_factory=dict)
    generator: Any = None
    generated: Generated | None = None
    terms: list[Any] = field(default_factory=list)
    class_names: Any = None
    table: Table | None = None
    validation: Table | None = None
    examples: int = 0
    batches_per_round: int = 1
    measurements: list[Any] = field(default_factory=list)
    module: Any = None
    optimizer: Any = None
    parameters: list[Any] = field(default_factory=list)
    image_ports: set[str] = field(default_factory=set)
    automatic: dict[str, Any] = field(default_factory=dict)
    snapshot: Any = None
    state: TrainState = field(default_factory=TrainState)
    started: float = field(default_factory=time.perf_counter)

    @property
    def target_form(self) -> str | None:
        layer = self.terms[0].layer if self.terms else None
        return layer.target_form if isinstance(layer, CrossEntropyLossLayer) else None

    # -- batches ------------------------------------------------------------------------------
    def next_batch(self, order: torch.Tensor | None, index: int) -> dict[str, torch.Tensor]:
        if self.generated is not None:
            where = "NetTrain: the generator's batch"
            columns, class_names = split_ports(self.generated.function(self.batch_size), self.net, where)
            check_lengths(columns, where)
            return self.to_device(make_table(self, columns, class_names, where).batch(slice(None)))
        indices = order[index * self.batch_size : (index + 1) * self.batch_size]  # type: ignore[index]
        with one_thread():
            return self.to_device(self.table.batch(indices))  # type: ignore[union-attr]

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        result = {}
        for name, tensor in batch.items():
            if self.device != "cpu":
                tensor = tensor.to(self.device, non_blocking=True)
            if name in self.image_ports:
                tensor = tensor.contiguous(memory_format=torch.channels_last)
            result[name] = tensor
        return result

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The weighted loss of a batch and the values the losses looked at."""
        inputs = [batch[p] for p in self.net.input_ports()]
        values = self.run(inputs, [term.wire for term in self.terms])
        loss = None
        for term, value in zip(self.terms, values):
            part = term.loss(value, batch.get(term.port)) * term.weight
            loss = part if loss is None else loss + part
        return loss, values  # type: ignore[return-value]

    def run(self, inputs: list[torch.Tensor], wires: list[int]) -> list[torch.Tensor]:
        return self.module.run(inputs, wires)  # the public fast path (single chains inside it)

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, table: Table, limit: int | None = None) -> tuple[dict[str, float], torch.Tensor | None, torch.Tensor | None]:
        """Loss and measurements on a table in evaluation mode (no dropout, batch-norm statistics)."""
        module = self.module
        module.eval()
        count = table.length if limit is None else min(limit, table.length)
        total, outputs, targets = 0.0, [], []
        autocast = torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16) if self.precision == "Mixed" else None
        try:
            with torch.inference_mode():
                for start in range(0, count, EVALUATION_BATCH):
                    batch = self.to_device(table.batch(slice(start, min(start + EVALUATION_BATCH, count))))
                    if autocast is not None:
                        with autocast:
                            loss, values = self.forward(batch)
                    else:
                        loss, values = self.forward(batch)
                    size = next(iter(batch.values())).shape[0]
                    total += float(loss) * size
                    if self.terms:
                        outputs.append(self.terms[0].scores(values[0]).float().cpu())
                        target = batch.get(self.terms[0].port)
                        targets.append(target.cpu() if target is not None else None)
        finally:
            module.train()
        row = {"Loss": total / max(count, 1)}
        output = torch.cat(outputs) if outputs else None
        target = torch.cat(targets) if targets and targets[0] is not None else None
        if self.measurements and output is not None:
            row.update(measuring.measure(self.measurements, measuring.class_outputs(output, self.target_form), measuring.class_targets(target, self.target_form) if target is not None else None))
        return row, output, target

    # -- arrays and results -------------------------------------------------------------------
    def flat_arrays(self, arrays: dict[tuple[str, ...], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {f"{'/'.join(path)}/{name}": tensor for path, named in arrays.items() for name, tensor in named.items()}

    def results(self) -> NetTrainResults:
        state = self.state
        final = with_leaf_arrays(self.net, self.module.leaf_arrays())
        trained = with_leaf_arrays(self.net, state.best_arrays) if state.best_arrays is not None else final
        confusion, labels = None, None
        term = self.terms[0] if self.terms else None
        if self.want_results and term is not None and term.classifier and state.batches:
            if state.best_arrays is not None:
                current = self.module.leaf_arrays()
                load_leaf_arrays(self, state.best_arrays)
            table = self.validation if self.validation is not None else self.table
            if table is not None:
                from .. import metrics

                _, outputs, targets = self.evaluate(table, limit=10000)
                if outputs is not None and targets is not None:
                    classes = outputs.shape[-1]
                    # a sequence of predictions (a language model's) counts every position
                    actual = measuring.class_targets(targets, self.target_form).reshape(-1)
                    confusion = metrics.confusion_matrix(outputs.reshape(-1, classes), actual, classes)
                    decoder = self.coders.get(term.port)
                    labels = list(decoder.labels) if hasattr(decoder, "labels") else (list(self.class_names) if self.class_names is not None else list(range(classes)))
            if state.best_arrays is not None:
                load_leaf_arrays(self, current)
        automatic = dict(self.automatic)
        if state.resumed_from:
            automatic["resumed_from"] = state.resumed_from
        return NetTrainResults(
            trained_net=trained, final_net=final, loss_terms=self.terms, batch_losses=state.batch_losses, round_losses=state.round_losses,
            validation_losses=state.validation_losses, round_rows=state.round_measurements, validation_rows=state.validation_measurements,
            best_validation_round=state.best_round, reason=state.reason or "MaxTrainingRounds", total_time=state.elapsed, examples_seen=state.examples,
            batches_per_round=self.batches_per_round, batch_size=self.batch_size, learning_rate=float(self.learning_rate), method=self.method.name,
            automatic=automatic, confusion=confusion, class_labels=labels, checkpoint_files=list(state.files),
        )


def make_table(s: Session, columns: dict[str, Any], class_names: Any, where: str) -> Table:
    """Check and encode every column the training needs: each input, and the targets of each loss."""
    net = s.net
    result = {}
    for port in net.input_ports():
        if port not in columns:
            raise NetError(f'{where}: there is no data for the input "{port}"; the data has {", ".join(columns) or "no columns"}.')
        result[port] = input_column(net, port, columns[port], s.coders.get(port), s.dtype, where)
    for term in s.terms:
        if not term.needs_target:
            continue
        if term.port not in columns:
            raise NetError(f'{where}: there are no targets for the output "{term.port}", which has the loss {term.describe()}.')
        result[term.port] = target_column(term, net, columns[term.port], s.coders.get(term.port), class_names, s.dtype, where)
    length = check_lengths(columns, where)
    return Table(result, length)
