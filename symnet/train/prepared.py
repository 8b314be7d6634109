"""NetTrain's data stage: the user's data, checked and encoded once, with the choices it decides.

:func:`prepare` turns the data, the validation set and the loss specification into a
:class:`TrainingData`: a :class:`~symnet.train.data.Table` of training examples (or a generator
function), an optional validation table, the loss terms, and the settings that depend on the
data (an ``Automatic`` batch size, the number of rounds, the measurements). Everything here
runs before the first batch, so a mistake in the data fails before any training.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import NetError, OptionError
from ..layers.base import Layer
from ..layers.loss import CrossEntropyLossLayer
from ..symbols import Automatic
from . import measurements as measuring
from .config import TrainConfig
from .data import Generated, Table, check_lengths, input_column, is_dataset, scaled_fraction, split_off, split_ports
from .losses import LossTerm, build_terms, target_column
from .sequences import bucketed_order, by_length, check_target_lengths, choose_bucketing

UNTIL_TIME_GOAL = 10**9  # max_training_rounds when only a time goal ends training


@dataclass(frozen=True)
class TrainingData:
    """Training examples ready for batching, with the loss terms and data-dependent settings."""

    net: Layer
    coders: dict[str, Any]
    dtype: torch.dtype
    table: Table
    validation: Table | None
    generated: Generated | None
    terms: list[LossTerm]
    class_names: Any
    examples: int
    batch_size: int
    batches_per_round: int
    max_training_rounds: int
    measurements: list[measuring.Measurement]
    automatic: dict[str, Any] = field(default_factory=dict)
    plan: Any = None
    #: each example's length for batching by length (symnet.train.sequences), or None
    bucket_key: torch.Tensor | None = None

    @property
    def total_batches(self) -> int | None:
        """The number of batches training runs for, or None when it runs to a time goal."""
        return self.max_training_rounds * self.batches_per_round if self.max_training_rounds < UNTIL_TIME_GOAL else None

    @property
    def target_form(self) -> str | None:
        layer = self.terms[0].layer if self.terms else None
        return layer.target_form if isinstance(layer, CrossEntropyLossLayer) else None

    def order(self, generator: torch.Generator) -> torch.Tensor | None:
        """A round's shuffled example order, by length when bucketing (None for generated data)."""
        if self.generated is not None:
            return None
        if self.bucket_key is not None:
            return bucketed_order(self.bucket_key, self.batch_size, generator)
        return torch.randperm(self.table.length, generator=generator)

    def batch(self, order: torch.Tensor | None, index: int) -> dict[str, torch.Tensor]:
        """Batch ``index`` of a round (on the CPU), by port name: inputs and the losses' targets."""
        if self.generated is not None:
            where = "NetTrain: the generator's batch"
            columns, class_names = split_ports(self.generated.function(self.batch_size), self.net, where)
            check_lengths(columns, where)
            return make_table(self.net, self.coders, self.terms, self.dtype, columns, class_names, where, self.plan).batch(slice(None))
        indices = order[index * self.batch_size : (index + 1) * self.batch_size]  # type: ignore[index]
        with one_thread():
            return self.table.batch(indices)


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


def make_table(net: Layer, coders: dict[str, Any], terms: list[LossTerm], dtype: torch.dtype, columns: dict[str, Any], class_names: Any, where: str, plan: Any = None) -> Table:
    """Check and encode every column the training needs: each input, and the targets of each
    loss (sequence targets as long as the net's outputs for them, given the ``plan``)."""
    result = {}
    for port in net.input_ports():
        if port not in columns:
            raise NetError(f'{where}: there is no data for the input "{port}"; the data has {", ".join(columns) or "no columns"}.')
        result[port] = input_column(net, port, columns[port], coders.get(port), dtype, where)
    for term in terms:
        if not term.needs_target:
            continue
        if term.port not in columns:
            raise NetError(f'{where}: there are no targets for the output "{term.port}", which has the loss {term.describe()}.')
        result[term.port] = target_column(term, net, columns[term.port], coders.get(term.port), class_names, dtype, where)
    length = check_lengths(columns, where)
    if plan is not None:
        check_target_lengths(net, plan, result, terms, where)
    return Table(result, length)


UPDATE_BUDGET = 4500  # updates the automatic number of rounds is counted from (automatic_rounds)


def automatic_batch_size(examples: int) -> int:
    """NetTrain's ``batch_size=Automatic``: a power of 2 near ``examples / 32``, from 16 to 128.

    Small batches learn more per example on small data; 128 keeps a CPU busy on large data.
    Batch 64 on large data was measured and not taken (bench/bench_schedule.py: the notebook CNN
    on the first 50,000 Fashion-MNIST training images, validated on the other 10,000): over the
    same 12 rounds it reached validation accuracy 0.90 after 5 and 7 rounds (two seeds) against
    7 and 7 for 128 and ended equal (0.911, 0.913 against 0.912, 0.914), while each example cost
    1.12× as much on one thread (and, while NetTrain measured the thread count only from batches
    of 2**16 values, a batch of 64 images was 8.6× slower on 2 busy cores; symnet.train.runner
    now measures it from 2**15).
    """
    return min(max(16, 2 ** int(math.log2(max(examples / 32, 1)))), 128, examples)


def automatic_rounds(batches_per_round: int) -> int:
    """NetTrain's ``max_training_rounds=Automatic``: the rounds of about 4500 updates, at least 5
    and at most 1000 — the horizon of the learning-rate schedule, which decides the final accuracy.

    10 rounds of Fashion-MNIST's 60,000 images in batches of 128. A shorter horizon reaches a
    given accuracy sooner and ends lower, measured as in :func:`automatic_batch_size` (validation
    accuracy per round, two seeds each): half the horizon (6 rounds of 50,000 images) reached
    0.90 after 5 rounds instead of 7 but ended at 0.903 and 0.903 instead of 0.912 and 0.914
    (with batch 64: after 4 rounds, ending at 0.908 and 0.907). The rate's shape did not make up
    for it: an exponential decay to the same floor over 12 rounds reached 0.90 after 7 rounds
    and ended at 0.906; Adam at 4e-3 with a 5% warmup stayed below 0.894 for 6 rounds; at 3e-3
    it reached 0.90 after 7 and 6 rounds and ended at 0.915 and 0.913 (at 2e-3: 7 and 7, 0.912 and
    0.914), too close to call a better rule.
    """
    return min(1000, max(5, math.ceil(UPDATE_BUDGET / batches_per_round)))


def _generator_form(data: Any) -> tuple[Any, dict[str, Any]] | None:
    """(function, extra) when ``data`` is a generator function, or ``(function, {"round_length": n})``."""
    if callable(data) and not is_dataset(data):
        return data, {}
    if isinstance(data, tuple) and data and callable(data[0]) and not is_dataset(data[0]):
        extra = data[1] if len(data) > 1 else {}
        return data[0], extra if isinstance(extra, dict) else {}
    return None


def prepare(net: Layer, plan: Any, data: Any, config: TrainConfig, dtype: torch.dtype, generator: torch.Generator) -> TrainingData:
    """Check and encode the data and validation set, and decide what depends on them."""
    where = "NetTrain"
    coders = net.coders()
    automatic: dict[str, Any] = {}
    batch_size = config.batch_size
    generated = None
    form = _generator_form(data)
    if form is not None:
        function, extra = form
        generated = Generated(function, extra.get("round_length"))
        batch_size = 64 if batch_size is Automatic else batch_size
        columns, class_names = split_ports(function(batch_size), net, f"{where}: the generator's batch")
        check_lengths(columns, where)
        terms = build_terms(net, plan, coders, config.loss_function, columns, where)
        table = make_table(net, coders, terms, dtype, columns, class_names, f"{where}: the generator's batch", plan)
        examples = generated.round_length or 100 * batch_size
    else:
        columns, class_names = split_ports(data, net, where)
        examples = check_lengths(columns, where)
        terms = build_terms(net, plan, coders, config.loss_function, columns, where)
        table = make_table(net, coders, terms, dtype, columns, class_names, where, plan)
    table, validation, examples = _validation(net, plan, coders, terms, dtype, config.validation_set, table, examples, generated, generator, automatic)
    if validation is not None:
        validation = by_length(validation)
    if batch_size is Automatic:
        batch_size = automatic_batch_size(examples)
        automatic["batch_size"] = batch_size
    if generated is None and batch_size > examples:
        raise NetError(f"{where}: batch_size={batch_size} is larger than the {examples} training examples; use a batch size of at most {examples}.")
    batches_per_round = math.ceil(examples / batch_size)
    rounds = config.max_training_rounds
    if rounds is Automatic:
        if config.time_goal is not None:
            rounds = UNTIL_TIME_GOAL
            automatic["max_training_rounds"] = "until the time goal"
        else:
            rounds = automatic_rounds(batches_per_round)
            automatic["max_training_rounds"] = rounds
    classifier = bool(terms) and (terms[0].classifier or (terms[0].layer is not None and getattr(terms[0].layer, "target_form", None) == "Binary"))
    measurements = measuring.parse(config.training_progress_measurements, classifier)
    bucket_key = None
    if generated is None:
        bucket_key, said = choose_bucketing(table, batch_size, config.bucketing, config.random_seeding)
        if said is not None:
            automatic["bucketing"] = said
    return TrainingData(net, coders, dtype, table, validation, generated, terms, class_names, examples, batch_size, batches_per_round, rounds, measurements, automatic,
                        plan, bucket_key)


def _validation(
    net: Layer, plan: Any, coders: dict[str, Any], terms: list[LossTerm], dtype: torch.dtype, spec: Any, table: Table, examples: int,
    generated: Generated | None, generator: torch.Generator, automatic: dict[str, Any],
) -> tuple[Table, Table | None, int]:
    """(training table, validation table or None, training examples) for ``validation_set``."""
    where = "NetTrain"
    if spec is None:
        return table, None, examples
    fraction = scaled_fraction(spec)
    if fraction is None:
        columns, class_names = split_ports(spec, net, f"{where}: validation_set")
        check_lengths(columns, f"{where}: validation_set")
        return table, make_table(net, coders, terms, dtype, columns, class_names, f"{where}: validation_set", plan), examples
    if generated is not None:
        raise OptionError(f"{where}: validation_set=Scaled(…) needs in-memory data; give a validation set explicitly for generated data.")
    term = terms[0] if terms else None
    classes = None
    if term is not None and term.classifier and term.layer.target_form == "Index":  # type: ignore[union-attr]
        values = table.columns[term.port].values
        classes = values if values.dim() == 1 else None
    training, validation = split_off(table, fraction, generator, classes, where)
    automatic["validation_set"] = f"{validation.length} examples split off (Scaled({fraction:g}))"
    return training, validation, training.length
