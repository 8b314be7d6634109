"""NetTrain: one call trains a net.

The training loop owns the whole pipeline: in-memory data stays one tensor per port and a
batch is an index into it (a seeded ``torch.randperm`` per round), encoders run once per
batch with tensor operations, the loss is fused with a final softmax where possible,
gradients are cleared with ``set_to_none``, convolutional nets run in the channels-last
memory format, and ``working_precision="Mixed"`` runs the forward pass in bfloat16.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from ..engine import All, Automatic, CompiledNet, _device, flatten_net
from ..errors import NetError
from ..initialize import DEFAULT_SEED, NetInitialize
from ..layers.base import Layer
from . import checkpoint as checkpoints
from . import measurements as measuring
from .arrays import load_leaf_arrays
from .data import Generated, check_lengths, is_dataset, scaled_fraction, split_off, split_ports
from .losses import build_terms
from .memory import keep_freed_memory
from .options import (
    AUTOMATIC_LEARNING_RATES,
    MAXIMIZED,
    bf16_supported,
    check_globs_match,
    check_schedule,
    check_unknown_options,
    multiplier_for,
    parse_method,
    parse_multipliers,
    parse_stopping_criterion,
    positive_int,
    precision_of,
    schedule_factor,
)
from .report import reporters
from .results import PROPERTIES, NetTrainResults
from .session import Session, make_table

CONVOLUTIONS = ("ConvolutionLayer", "DeconvolutionLayer", "PoolingLayer")


def NetTrain(
    net: Layer,
    data: Any = None,
    prop: Any = None,
    *,
    loss_function: Any = Automatic,
    batch_size: Any = Automatic,
    max_training_rounds: Any = Automatic,
    time_goal: float | None = None,
    validation_set: Any = None,
    method: Any = "ADAM",
    learning_rate: Any = Automatic,
    learning_rate_multipliers: Any = None,
    training_progress_reporting: Any = Automatic,
    training_progress_measurements: Any = Automatic,
    training_stopping_criterion: Any = None,
    training_progress_checkpointing: Any = None,
    random_seeding: Any = DEFAULT_SEED,
    target_device: str = "cpu",
    working_precision: str = "Real32",
    **unknown: Any,
) -> Any:
    """Train ``net`` on ``data`` and return the trained net (a new net; ``net`` is unchanged).

    ``data``: ``(inputs, targets)``, a list of ``(input, target)`` pairs, a dict of port → values,
    a symnet dataset or its name, or a function of the batch size. ``prop``: ``All`` for the
    results object, or one of its property names (``"LossPlot"``, ``"TrainedNet"``, …).
    Options are Wolfram's, in snake_case (see the package docstring of :mod:`symnet.train`).

    >>> x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    >>> y = (x[:, 0] > x[:, 1]).astype(np.int64)
    >>> net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2)
    >>> trained = NetTrain(net, (x, y), max_training_rounds=20, training_progress_reporting=None)
    >>> float((trained(x).argmax(axis=1) == y).mean()) > 0.95
    True
    """
    check_unknown_options(unknown)
    if prop is not None and prop is not All and not (isinstance(prop, str) and prop in PROPERTIES) and not isinstance(prop, list):
        from ..errors import closest

        raise NetError(f"NetTrain: {prop!r} is not a property of the results; use All or one of {', '.join(PROPERTIES)}.{closest(str(prop), PROPERTIES)}")
    if data is None:
        raise NetError("NetTrain: give training data, such as NetTrain(net, (inputs, targets)) or NetTrain(net, \"FashionMNIST\").")
    if not isinstance(net, Layer):
        raise NetError(f"NetTrain: the first argument must be a net (a layer, NetChain or NetGraph), not {type(net).__name__}.")
    session = Session(
        net=net, data=data, loss_function=loss_function, batch_size=batch_size, max_training_rounds=max_training_rounds, time_goal=time_goal,
        validation_set=validation_set, method=parse_method(method), learning_rate=learning_rate, multipliers=learning_rate_multipliers,
        reporters=reporters(training_progress_reporting), measurements_spec=training_progress_measurements,
        criterion=parse_stopping_criterion(training_stopping_criterion), checkpoints=checkpoints.parse(training_progress_checkpointing),
        seed=_seed(random_seeding), device=_device(target_device), precision=precision_of(working_precision), want_results=prop is not None,
    )
    results = train(session)
    if prop is None:
        return results.trained_net
    if prop is All:
        return results
    return results[prop]


def _seed(value: Any) -> int:
    if value is None or value is Automatic:
        return DEFAULT_SEED
    if value == "Inherited":
        return int(torch.randint(0, 2**62, (1,)).item())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise NetError(f'NetTrain: random_seeding={value!r} must be an integer seed or "Inherited".')


def train(s: Session) -> NetTrainResults:
    """Set up (checking everything before the first batch), then run the loop."""
    where = "NetTrain"
    keep_freed_memory()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        net = s.net if s.net.initialized else NetInitialize(s.net, random_seeding=s.seed)
        s.net = net
        s.dtype = torch.float64 if s.precision == "Real64" else torch.float32
        if s.precision == "Mixed" and not (bf16_supported() or s.device.startswith("cuda")):
            s.automatic["working_precision"] = "Real32 (this processor has no bfloat16 support)"
            s.precision = "Real32"
        s.plan = flatten_net(net)
        s.coders = net.coders()
        s.generator = torch.Generator().manual_seed(s.seed)
        _prepare_data(s, where)
        _prepare_module(s, where)
        threads = torch.get_num_threads()
        if _small_batches(s):
            # Tiny batches: waking a second thread costs more than it saves.
            torch.set_num_threads(1)
            s.automatic["threads"] = 1
        try:
            return run(s)
        finally:
            torch.set_num_threads(threads)


def _small_batches(s: Session) -> bool:
    if s.device != "cpu" or any(layer.kind in CONVOLUTIONS for _, layer in s.plan.leaves):
        return False
    per_example = sum(int(column.values[0].numel()) for column in s.table.columns.values())  # type: ignore[union-attr]
    parameters = sum(p.numel() for p in s.parameters)
    return s.batch_size * per_example < 2**15 and parameters < 2**16


def _prepare_data(s: Session, where: str) -> None:
    data = s.data
    if callable(data) and not is_dataset(data) or (isinstance(data, tuple) and data and callable(data[0]) and not is_dataset(data[0])):
        function, extra = (data[0], data[1] if len(data) > 1 else {}) if isinstance(data, tuple) else (data, {})
        s.generated = Generated(function, extra.get("round_length") if isinstance(extra, dict) else None)
        batch = s.batch_size if s.batch_size is not Automatic else 64
        s.batch_size = positive_int(batch, "batch_size")
        sample = function(s.batch_size)
        columns, class_names = split_ports(sample, s.net, f"{where}: the generator's batch")
        check_lengths(columns, where)
        s.terms = build_terms(s.net, s.plan, s.coders, s.loss_function, columns, where)
        s.class_names = class_names
        s.table = make_table(s, columns, class_names, f"{where}: the generator's batch")
        s.examples = s.generated.round_length or 100 * s.batch_size
    else:
        columns, class_names = split_ports(data, s.net, where)
        count = check_lengths(columns, where)
        s.terms = build_terms(s.net, s.plan, s.coders, s.loss_function, columns, where)
        s.class_names = class_names
        s.table = make_table(s, columns, class_names, where)
        s.examples = count
    _prepare_validation(s, where)
    if s.batch_size is Automatic:
        # Small batches learn more per example on small data; 128 keeps a CPU busy on large data.
        size = 2 ** int(math.log2(max(s.examples / 32, 1)))
        s.batch_size = min(max(16, size), 128, s.examples)
        s.automatic["batch_size"] = s.batch_size
    s.batch_size = positive_int(s.batch_size, "batch_size")
    if s.generated is None and s.batch_size > s.examples:
        raise NetError(f"{where}: batch_size={s.batch_size} is larger than the {s.examples} training examples; use a batch size of at most {s.examples}.")
    s.batches_per_round = math.ceil(s.examples / s.batch_size)
    if s.max_training_rounds is Automatic:
        if s.time_goal is not None:
            s.max_training_rounds = 10**9
            s.automatic["max_training_rounds"] = "until the time goal"
        else:
            # a budget of about 4500 updates, at least 5 rounds (and at most 1000): 10 rounds
            # of Fashion-MNIST at batch size 128, what the notebook's CNN needs for 0.90-0.91
            s.max_training_rounds = min(1000, max(5, math.ceil(4500 / s.batches_per_round)))
            s.automatic["max_training_rounds"] = s.max_training_rounds
    s.max_training_rounds = positive_int(s.max_training_rounds, "max_training_rounds")
    classifier = bool(s.terms) and s.terms[0].classifier or (bool(s.terms) and s.terms[0].layer is not None and getattr(s.terms[0].layer, "target_form", None) == "Binary")
    s.measurements = measuring.parse(s.measurements_spec, classifier)


def _prepare_validation(s: Session, where: str) -> None:
    spec = s.validation_set
    if spec is None:
        return
    fraction = scaled_fraction(spec)
    if fraction is not None:
        if s.generated is not None:
            raise NetError(f"{where}: validation_set=Scaled(…) needs in-memory data; give a validation set explicitly for generated data.")
        term = s.terms[0] if s.terms else None
        classes = None
        if term is not None and term.classifier and term.layer.target_form == "Index":  # type: ignore[union-attr]
            values = s.table.columns[term.port].values
            classes = values if values.dim() == 1 else None
        s.table, s.validation = split_off(s.table, fraction, s.generator, classes, where)
        s.examples = s.table.length
        s.automatic["validation_set"] = f"{s.validation.length} examples split off (Scaled({fraction:g}))"
        return
    columns, class_names = split_ports(spec, s.net, f"{where}: validation_set")
    check_lengths(columns, f"{where}: validation_set")
    s.validation = make_table(s, columns, class_names, f"{where}: validation_set")


def _uses_channels_last(s: Session) -> bool:
    has_convolution = any(layer.kind in CONVOLUTIONS for _, layer in s.plan.leaves)
    images = [p for p in s.net.input_ports() if s.net.types[p].rank == 3]  # type: ignore[index]
    return has_convolution and bool(images) and s.precision != "Real64" and s.channels_last is not False


def _prepare_module(s: Session, where: str) -> None:
    module = CompiledNet(s.net, s.plan).to(device=s.device, dtype=s.dtype)
    if _uses_channels_last(s):
        module = module.to(memory_format=torch.channels_last)
        s.image_ports = {p for p in s.net.input_ports() if s.net.types[p].rank == 3}  # type: ignore[index]
    module.train()
    s.module = module
    rules = parse_multipliers(s.multipliers, s.net)
    check_globs_match(rules, [path for path, _ in s.plan.leaves])
    by_multiplier: dict[float, list[nn.Parameter]] = {}
    for (path, _), leaf in zip(s.plan.leaves, module.leaves):
        for name in leaf.names:
            parameter = getattr(leaf, name)
            if not isinstance(parameter, nn.Parameter):
                continue
            factor = multiplier_for(rules, path, name)
            if factor == 0:
                parameter.requires_grad_(False)
            else:
                by_multiplier.setdefault(factor, []).append(parameter)
    if not by_multiplier:
        raise NetError(f"{where}: the net has nothing to train: it has no arrays, or learning_rate_multipliers sets every layer's factor to 0.")
    if s.learning_rate is Automatic:
        s.learning_rate = AUTOMATIC_LEARNING_RATES[s.method.name]
        s.automatic["learning_rate"] = s.learning_rate
    if not (isinstance(s.learning_rate, int | float) and s.learning_rate > 0):
        raise NetError(f"{where}: learning_rate={s.learning_rate!r} must be a positive number.")
    check_schedule(s.method, s.max_training_rounds * s.batches_per_round if s.max_training_rounds < 10**9 else None)
    groups = [{"params": params, "multiplier": factor} for factor, params in by_multiplier.items()]
    s.optimizer = s.method.optimizer(groups, float(s.learning_rate))
    s.parameters = [p for params in by_multiplier.values() for p in params]
    s.automatic.setdefault("learning_rate_schedule", s.method.schedule if isinstance(s.method.schedule, str) else "custom")
    s.automatic["channels_last"] = bool(s.image_ports)


# -- the loop ---------------------------------------------------------------------------------
class _Interrupt:
    """Ctrl-C sets a flag that the loop checks after each batch, so a batch is never cut in half;
    a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self.previous: Any = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, number: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def run(s: Session) -> NetTrainResults:
    state = s.state
    checkpoints.resume(s)
    total_batches = s.max_training_rounds * s.batches_per_round if s.max_training_rounds < 10**9 else None
    for reporter in s.reporters:
        reporter.start(s.max_training_rounds if total_batches else None, s.batches_per_round)
    autocast = torch.autocast(s.device.split(":")[0], dtype=torch.bfloat16) if s.precision == "Mixed" else nullcontext()
    start = time.perf_counter() - state.elapsed
    groups = s.optimizer.param_groups
    clip = s.method.settings["gradient_clipping"]
    progress: dict[str, Any] = {}
    try:
        with _Interrupt() as interrupt:
            while state.rounds < s.max_training_rounds and state.reason is None:
                round_start = s.generator.get_state()
                if state.batch_in_round:
                    s.generator.set_state(state.round_start)
                    round_start = state.round_start
                order = torch.randperm(s.table.length, generator=s.generator) if s.generated is None else None
                state.round_start = round_start
                s.snapshot = s.module.leaf_arrays()
                collected: list[tuple[torch.Tensor, torch.Tensor | None]] = []
                round_loss, round_count = state.partial_loss, state.partial_count
                for index in range(state.batch_in_round, s.batches_per_round):
                    batch = s.next_batch(order, index)
                    size = next(iter(batch.values())).shape[0]
                    with autocast:
                        loss, values = s.forward(batch)
                    loss_value = loss.detach().item()
                    if not math.isfinite(loss_value):
                        state.reason = "NonFiniteLoss"
                        _restore_finite(s)
                        break
                    elapsed = time.perf_counter() - start
                    fraction = (state.batches + 1) / total_batches if total_batches else 0.0
                    if s.time_goal:
                        fraction = max(fraction, elapsed / s.time_goal)
                    factor = schedule_factor(s.method, fraction, state.batches + 1, total_batches)
                    for group in groups:
                        group["lr"] = s.learning_rate * group["multiplier"] * factor
                    s.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if clip:
                        torch.nn.utils.clip_grad_norm_(s.parameters, clip)
                    s.optimizer.step()
                    state.batches += 1
                    state.batch_in_round = index + 1
                    state.examples += size
                    state.batch_losses.append(loss_value)
                    round_loss += loss_value * size
                    round_count += size
                    state.partial_loss, state.partial_count = round_loss, round_count
                    if s.measurements and s.terms:
                        term = s.terms[0]
                        collected.append((term.scores(values[0].detach()).float(), batch.get(term.port)))
                    progress = {"Round": state.rounds + 1, "Batch": index + 1, "AbsoluteBatch": state.batches, "BatchLoss": loss_value,
                                "Time": elapsed, "LearningRate": s.learning_rate * factor, "TotalRounds": s.max_training_rounds if total_batches else None}
                    for reporter in s.reporters:
                        reporter.batch(progress)
                    checkpoints.write(s, round_done=False)
                    if s.time_goal is not None and elapsed >= s.time_goal:
                        state.reason = "TimeGoal"
                    if interrupt.requested:
                        state.reason = "ManualStop"
                    if state.reason:
                        break
                if state.batch_in_round == s.batches_per_round:
                    _end_round(s, round_loss / max(round_count, 1), collected, start)
    except KeyboardInterrupt:
        state.reason = "ManualStop"
    state.elapsed = time.perf_counter() - start
    for reporter in s.reporters:
        reporter.finish(progress)
    return s.results()


def _restore_finite(s: Session) -> None:
    """After a non-finite loss, keep the current arrays if they are finite, else the round's start."""
    if all(torch.isfinite(p).all() for p in s.module.parameters()):
        return
    load_leaf_arrays(s, s.snapshot)


def _end_round(s: Session, round_loss: float, collected: list[Any], start: float) -> None:
    state = s.state
    state.rounds += 1
    state.batch_in_round = 0
    state.partial_loss, state.partial_count = 0.0, 0
    state.round_losses.append(round_loss)
    row = {"Loss": round_loss}
    if collected and s.measurements:
        outputs = torch.cat([c[0] for c in collected])
        targets = torch.cat([c[1] for c in collected]) if collected[0][1] is not None else None
        row.update(measuring.measure(s.measurements, measuring.class_outputs(outputs, s.target_form), measuring.class_targets(targets, s.target_form) if targets is not None else None))
    state.round_measurements.append(row)
    validation_row: dict[str, float] | None = None
    if s.validation is not None:
        validation_row, _, _ = s.evaluate(s.validation)
        state.validation_losses.append(validation_row["Loss"])
        state.validation_measurements.append(validation_row)
        _track_best(s, validation_row)
    elapsed = time.perf_counter() - start
    progress = {"Round": state.rounds, "Batch": s.batches_per_round, "AbsoluteBatch": state.batches, "RoundLoss": round_loss,
                "ValidationLoss": validation_row["Loss"] if validation_row else None, "RoundMeasurements": row, "ValidationMeasurements": validation_row,
                "Time": elapsed, "ExamplesPerSecond": state.examples / max(elapsed, 1e-9), "TotalRounds": s.max_training_rounds if s.max_training_rounds < 10**9 else None,
                "BatchLoss": state.batch_losses[-1] if state.batch_losses else float("nan")}
    for reporter in s.reporters:
        reporter.round(progress)
    if s.criterion is not None and _should_stop(s, validation_row or row):
        state.reason = "StoppingCriterion"
    checkpoints.write(s, round_done=True)


def _criterion_value(s: Session, row: dict[str, float]) -> tuple[float, bool]:
    name = s.criterion.criterion if s.criterion is not None and isinstance(s.criterion.criterion, str) else "Loss"
    if name not in row:
        from ..errors import closest

        raise NetError(f'NetTrain: training_stopping_criterion: "{name}" is not measured; measured are {", ".join(row)}.{closest(name, row)} Add it to training_progress_measurements.')
    return row[name], name.endswith(MAXIMIZED) or name in MAXIMIZED


def _track_best(s: Session, row: dict[str, float]) -> None:
    value, maximize = _criterion_value(s, row)
    best = s.state.best_value
    if best is None or (value > best if maximize else value < best):
        s.state.best_value = value
        s.state.best_round = s.state.rounds
        s.state.best_arrays = s.module.leaf_arrays()
        for spec in s.checkpoints:
            if spec.best:
                checkpoints.write_best(s, spec)


def _should_stop(s: Session, row: dict[str, float]) -> bool:
    criterion = s.criterion
    if callable(criterion.criterion):  # type: ignore[union-attr]
        return bool(criterion.criterion(dict(row)))  # type: ignore[union-attr]
    value, maximize = _criterion_value(s, row)
    history = s.state.criterion_history
    history.append(value)
    best_before = (max if maximize else min)(history[:-1]) if len(history) > 1 else None
    if best_before is None:
        return False
    gain = (value - best_before) if maximize else (best_before - value)
    needed = max(criterion.absolute_change, criterion.relative_change * abs(best_before))  # type: ignore[union-attr]
    if gain > needed:
        s.state.stale = 0
        return False
    s.state.stale += 1
    return s.state.stale > criterion.patience  # type: ignore[union-attr]


__all__ = ["NetTrain"]
