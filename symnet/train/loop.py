"""NetTrain: one call trains a net, in stages.

1. :class:`~symnet.train.config.TrainConfig` checks and parses every option (before any work);
2. :func:`~symnet.train.prepared.prepare` checks and encodes the data (:class:`TrainingData`);
3. a :class:`~symnet.train.runner.SingleProcessRunner` compiles the net and owns the module,
   the optimizer, the precision and each step;
4. the loop here orders the batches, applies the learning-rate schedule, records progress,
   reports, checkpoints and decides when to stop. It talks to the net only through the runner.

Speed: in-memory data stays one tensor per port and a batch is an index into it (a seeded
``torch.randperm`` per round), encoders run once per batch with tensor operations, the loss
is fused with a final softmax where possible, gradients are cleared with ``set_to_none``,
convolutional nets run in the channels-last memory format, and ``working_precision="Mixed"``
runs the forward pass in bfloat16.

Reliability: once the first batch has run, nothing raises the work away. A non-finite loss
returns the arrays from before the losses exploded; a failed checkpoint write, a bad batch
from a generator or an error in a callback stops training with a reason in
``"ReasonTrainingStopped"`` (details in ``"ReasonTrainingStoppedDetails"``, and a warning) and
returns the net trained so far.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from safetensors import SafetensorError

from ..engine import All, Automatic, flatten_net
from ..errors import NetError, closest
from ..initialize import NetInitialize
from ..layers.base import Layer
from . import measurements as measuring
from . import processes
from .caching import cache_frozen_features
from .checkpoint import Checkpointer
from .config import TrainConfig, signature
from .distributed import DistributedRunner, ProcessFailed
from .kernels import describe as describe_kernels
from .memory import keep_freed_memory
from .options import AUTOMATIC_LEARNING_RATES, MAXIMIZED, bf16_supported, check_schedule, schedule_factor
from .prepared import TrainingData, prepare
from .results import PROPERTIES, NetTrainResults
from .runner import Runner, SingleProcessRunner
from .sharded import FullyShardedRunner
from .state import TrainState, measure_table, results

EXPLOSION = 1000.0  # a batch loss this many times the recent loss means the training is diverging


def NetTrain(net: Layer, data: Any = None, prop: Any = None, **options: Any) -> Any:
    """Train ``net`` on ``data`` and return the trained net (a new net; ``net`` is unchanged).

    ``data``: ``(inputs, targets)``, a list of ``(input, target)`` pairs, a dict of port → values,
    a symnet dataset or its name, or a function of the batch size. ``prop``: ``All`` for the
    results object, or one of its property names (``"LossPlot"``, ``"TrainedNet"``, …).
    Options are Wolfram's, in snake_case (see the package docstring of :mod:`symnet.train`);
    :class:`~symnet.train.config.TrainConfig` lists them with their defaults.

    >>> x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    >>> y = (x[:, 0] > x[:, 1]).astype(np.int64)
    >>> net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2)
    >>> trained = NetTrain(net, (x, y), max_training_rounds=20, training_progress_reporting=None)
    >>> float((trained(x).argmax(axis=1) == y).mean()) > 0.95
    True
    """
    config = TrainConfig.parse(options)
    if prop is not None and prop is not All and not (isinstance(prop, str) and prop in PROPERTIES) and not isinstance(prop, list):
        raise NetError(f"NetTrain: {prop!r} is not a property of the results; use All or one of {', '.join(PROPERTIES)}.{closest(str(prop), PROPERTIES)}")
    if data is None:
        raise NetError("NetTrain: give training data, such as NetTrain(net, (inputs, targets)) or NetTrain(net, \"FashionMNIST\").")
    if not isinstance(net, Layer):
        raise NetError(f"NetTrain: the first argument must be a net (a layer, NetChain or NetGraph), not {type(net).__name__}.")
    outcome = train(net, data, config, want_confusion=prop is not None)
    if outcome.reason not in ("MaxTrainingRounds", "TimeGoal", "StoppingCriterion", "ManualStop"):
        warnings.warn(f"NetTrain stopped early ({outcome.reason}): {outcome.details.get('Message', '')} The net trained so far is returned.", stacklevel=2)
    if prop is None:
        return outcome.trained_net
    if prop is All:
        return outcome
    return outcome[prop]


NetTrain.__signature__ = signature(NetTrain)  # type: ignore[attr-defined]


def train(net: Layer, data: Any, config: TrainConfig, want_confusion: bool = True) -> NetTrainResults:
    """Run the stages: prepare the data and the runner (checking everything before the first batch), then the loop.

    On several processes (``target_device=("cpu", n)``, torchrun, an existing process group),
    every process runs these same stages (see :mod:`symnet.train.processes`)."""
    keep_freed_memory()
    placement = config.target_device
    if placement.distributed and isinstance(config.batch_size, int) and config.batch_size < placement.processes:
        raise NetError(f'NetTrain: target_device=("{placement.kind}", {placement.processes}) splits each batch over {placement.processes} processes, '
                       f"but batch_size is {config.batch_size}: a process without examples would only wait.",
                       fix=f"Use batch_size={placement.processes} or more, or at most {config.batch_size} processes.")
    seed = config.random_seeding
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = net if net.initialized else NetInitialize(net, random_seeding=seed)
        with processes.session(config.target_device, lambda: (net, data, processes.worker_config(config), want_confusion), train) as place:
            return _train(net, data, config, want_confusion, place, seed)


def _train(net: Layer, data: Any, config: TrainConfig, want_confusion: bool, place: processes.Session, seed: int) -> NetTrainResults:
    automatic: dict[str, Any] = {}
    precision, device = config.working_precision, place.device
    if precision == "Mixed" and not (bf16_supported() or device.startswith("cuda")):
        automatic["working_precision"] = "Real32 (this processor has no bfloat16 support)"
        precision = "Real32"
    dtype = torch.float64 if precision == "Real64" else torch.float32
    plan = flatten_net(net)
    generator = torch.Generator().manual_seed(seed)
    prepared = prepare(net, plan, data, config, dtype, generator)
    automatic.update(prepared.automatic)
    # a frozen front is evaluated once here; the runner then trains the rest on its output
    cached = cache_frozen_features(net, plan, prepared, config, device, dtype, precision == "Mixed", distributed=place.distributed)
    prepared = cached.data
    automatic.update(cached.automatic)
    _check_criterion(config, prepared)
    learning_rate = config.learning_rate
    if learning_rate is Automatic:
        learning_rate = AUTOMATIC_LEARNING_RATES[config.method.name]
        automatic["learning_rate"] = learning_rate
    check_schedule(config.method, prepared.total_batches)
    example_size = sum(int(column.values[0].numel()) for column in prepared.table.columns.values())
    arguments = (net, cached.plan, prepared.terms, config.method, learning_rate, cached.multipliers, device, dtype,
                 precision == "Mixed", prepared.batch_size, example_size)
    runner: SingleProcessRunner
    if config.parallelism == "FSDP" and not place.distributed:
        raise NetError(f'NetTrain: parallelism="FSDP" shards the net over several processes, but this run has one (target_device={config.target_device.device!r}).',
                       fix='Give target_device=("cpu", n) or ("cuda", n) with n > 1, or launch the script with torchrun.')
    if place.distributed:
        kind = FullyShardedRunner if config.parallelism == "FSDP" else DistributedRunner
        runner = kind(*arguments, describe_failure=place.describe_failure, threads=place.threads)
        automatic["target_device"] = f"{place.world} processes ({place.how}), {runner.parallelism} over {torch.distributed.get_backend()}"
        if any(layer.kind == "BatchNormalizationLayer" for _, layer in cached.plan.leaves):
            automatic["batch_normalization"] = f"SyncBatchNorm: batch statistics over the global batch of all {place.world} processes"
    else:
        runner = SingleProcessRunner(*arguments, compile=config.compile)
    if not runner.is_main:
        config = dataclasses.replace(config, training_progress_reporting=())  # rank 0 reports
    automatic.setdefault("learning_rate_schedule", config.method.schedule if isinstance(config.method.schedule, str) else "custom")
    automatic["channels_last"] = bool(runner.image_ports)
    if isinstance(runner, FullyShardedRunner):
        automatic["sharding"] = runner.sharding
        if runner.image_ports:
            automatic["channels_last"] = "the images only (FSDP2 shards contiguous arrays)"
    automatic["optimizer_implementation"] = runner.optimizer_implementation
    automatic["compile"] = runner.compiled
    if runner.pools_before_ramps:
        automatic["max_pooling_before_ramp"] = f"{runner.pools_before_ramps} ReLU(s) moved after the max pooling they feed (the same values, a quarter of the work)"
    if runner.kernels:
        automatic["training_kernels"] = describe_kernels(runner.kernels)
    if runner.single_thread:
        automatic["threads"] = 1
    checkpointer = Checkpointer(config.training_progress_checkpointing, net, plan, main=runner.is_main)
    checkpointer.check_writable()
    training = Training(config, prepared, runner, checkpointer, generator, learning_rate, automatic)
    with runner:
        training.run()
        if isinstance(runner, DistributedRunner) and runner.communication.all_reduces:
            # the gradients' all-reduce on this rank, launch to completion (it overlaps the backward pass): bench_distributed's communication share
            automatic["communication"] = {"gradient_all_reduce_seconds": round(runner.communication.seconds, 4), "all_reduces": runner.communication.all_reduces}
        fallback = runner.compile_fallback
        if fallback is not None:
            automatic["compile"] = f"False: torch.compile could not trace the training step as one graph ({fallback}); it ran eagerly"
        probe = runner.thread_probe
        if probe is not None and probe.report is not None:
            automatic["threads"] = probe.report
        # inside: the final measurements of a distributed run are collectives of its runner
        return results(prepared, runner, training.state, method=config.method.name, learning_rate=learning_rate, automatic=automatic, want_confusion=want_confusion)


def _check_criterion(config: TrainConfig, data: TrainingData) -> None:
    """A stopping criterion must name something measured (checked before the first batch, not after a round)."""
    criterion = config.training_stopping_criterion
    if criterion is None or callable(criterion.criterion):
        return
    measured = ["Loss", *(name for name, _ in data.measurements)]
    if criterion.criterion not in measured:
        raise NetError(f'NetTrain: training_stopping_criterion: "{criterion.criterion}" is not measured; measured are {", ".join(measured)}.{closest(criterion.criterion, measured)} Add it to training_progress_measurements.')


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


@dataclass
class Training:
    """The loop: batches in order, the schedule, progress, reports, checkpoints, stopping."""

    config: TrainConfig
    data: TrainingData
    runner: Runner
    checkpointer: Checkpointer
    generator: torch.Generator
    learning_rate: float
    automatic: dict[str, Any]
    state: TrainState = field(default_factory=TrainState)
    start: float = 0.0
    progress: dict[str, Any] = field(default_factory=dict)
    # divergence watch: the recent normal loss, the batch whose arrays the runner keeps, the first exploding batch
    reference_loss: float | None = None
    kept_batch: int = 1
    exploding_from: int | None = None

    def run(self) -> None:
        state, data = self.state, self.data
        self.checkpointer.resume(self.runner, state, self.generator, self.automatic)
        reporters = self.config.training_progress_reporting
        for reporter in reporters:
            reporter.start(data.max_training_rounds if data.total_batches else None, data.batches_per_round)
        self.start = time.perf_counter() - state.elapsed
        try:
            with _Interrupt() as interrupt:
                while state.rounds < data.max_training_rounds and state.reason is None:
                    self.round(interrupt)
        except KeyboardInterrupt:
            state.stop("ManualStop", "interrupted")
        except ProcessFailed:
            raise  # another process is gone: nothing here can finish the run (the error says what happened)
        except (OSError, SafetensorError) as error:
            state.stop("CheckpointWriteFailed", f"writing a checkpoint failed ({type(error).__name__}: {error}).")
        except Exception as error:  # an error in a callback, a measurement or a custom schedule: keep the work
            state.stop("Error", f"{type(error).__name__}: {error}")
        state.elapsed = time.perf_counter() - self.start
        for reporter in reporters:
            try:
                reporter.finish(self.progress)
            except Exception as error:  # the run is over: a reporter's failure must not lose it
                warnings.warn(f"NetTrain: a progress reporter failed at the end ({type(error).__name__}: {error}).", stacklevel=3)

    def round(self, interrupt: _Interrupt) -> None:
        state, data, runner = self.state, self.data, self.runner
        round_start = self.generator.get_state()
        if state.batch_in_round:
            self.generator.set_state(state.round_start)
            round_start = state.round_start
        order = data.order(self.generator)
        state.round_start = round_start
        collected: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        round_loss, round_count = state.partial_loss, state.partial_count
        total = data.total_batches
        for index in range(state.batch_in_round, data.batches_per_round):
            try:
                batch = data.batch(order, index)
            except Exception as error:  # a generator's bad batch (or its own error) midway: stop, keep the work
                state.stop("InvalidBatch", f"batch {state.batches + 1} could not be used: {type(error).__name__}: {error}")
                batch = None
            failed = batch is None
            if data.generated is not None:
                failed = runner.agree(failed)  # each process calls its own generator: all stop if one batch failed
            if failed or batch is None:
                state.stop("InvalidBatch", f"batch {state.batches + 1} of another process could not be used")
                return
            size = next(iter(batch.values())).shape[0]
            elapsed = time.perf_counter() - self.start
            if self.config.time_goal is not None:
                elapsed = runner.main_value(elapsed)  # every process follows rank 0's clock: the same schedule, the same stop
            fraction = (state.batches + 1) / total if total else 0.0
            if self.config.time_goal:
                fraction = max(fraction, elapsed / self.config.time_goal)
            factor = schedule_factor(self.config.method, fraction, state.batches + 1, total)
            runner.remember()
            loss_value = runner.step(batch, factor)
            if runner.stop_agreed:  # a process asked to stop after the last batch: this one's step was taken by none
                state.stop("ManualStop", "interrupted")
                return
            if loss_value is None:
                self.diverged()
                return
            self.watch(loss_value)
            state.batches += 1
            state.batch_in_round = index + 1
            state.examples += size
            state.batch_losses.append(loss_value)
            round_loss += loss_value * size
            round_count += size
            state.partial_loss, state.partial_count = round_loss, round_count
            if data.measurements and data.terms:
                collected.append(runner.last_scores())
            self.progress = {"Round": state.rounds + 1, "Batch": index + 1, "AbsoluteBatch": state.batches, "BatchLoss": loss_value,
                             "Time": elapsed, "LearningRate": self.learning_rate * factor, "TotalRounds": data.max_training_rounds if total else None}
            self.guarded(self.report_batch)
            if self.config.time_goal is not None and elapsed >= self.config.time_goal:
                state.stop("TimeGoal", f"the time goal of {self.config.time_goal:g} s was reached")
            stop = interrupt.requested or state.reason is not None
            if runner.defers_agreement and index + 1 < data.batches_per_round:
                runner.ask_to_stop(stop)  # told with the next batch's gradients; every process stops there, before its step
                continue
            if runner.agree(stop):  # one process stopping stops all after this batch
                state.stop("ManualStop", "interrupted")
            if state.reason:
                return
        if state.batch_in_round == data.batches_per_round:
            self.end_round(round_loss / max(round_count, 1), collected)

    def report_batch(self) -> None:
        for reporter in self.config.training_progress_reporting:
            reporter.batch(self.progress)
        self.checkpointer.write(self.runner, self.state, self.generator, round_done=False)

    def guarded(self, work: Any) -> None:
        """Run work only rank 0 does (reports, checkpoints, a criterion function): its failure stops training
        with a reason, which the loop then agrees on, instead of leaving the other processes waiting."""
        try:
            work()
        except (OSError, SafetensorError) as error:
            self.state.stop("CheckpointWriteFailed", f"writing a checkpoint failed ({type(error).__name__}: {error}).")
        except ProcessFailed:
            raise
        except Exception as error:  # an error in a callback or a custom criterion: keep the work
            self.state.stop("Error", f"{type(error).__name__}: {error}")

    # -- divergence ---------------------------------------------------------------------------
    def watch(self, loss: float) -> None:
        """Keep the arrays from before this batch when its loss is normal (not far above the recent loss)."""
        reference = self.reference_loss
        if reference is not None and loss > EXPLOSION * max(reference, 1e-30):
            if self.exploding_from is None:
                self.exploding_from = self.state.batches + 1
            return
        self.runner.keep()
        self.kept_batch = self.state.batches + 1
        self.exploding_from = None
        self.reference_loss = loss if reference is None else 0.9 * reference + 0.1 * loss

    def diverged(self) -> None:
        """A non-finite loss: return the arrays from before the losses exploded, and say where."""
        self.runner.recall()
        batch = self.state.batches + 1
        blew_up = self.exploding_from or batch
        history = f"; the losses exploded from batch {blew_up} on" if blew_up != batch else ""
        kept = "the arrays it started with" if self.kept_batch == 1 and batch == 1 else f"the arrays from before batch {self.kept_batch}, the last batch whose loss was normal"
        self.state.stop("NonFiniteLoss", f"the loss of batch {batch} is not finite (NaN or infinity){history}; the net returned has {kept}. "
                        "Try a smaller learning_rate or gradient_clipping.",
                        DivergedBatch=blew_up, NonFiniteBatch=batch, ArraysFromBatch=self.kept_batch)

    # -- rounds -------------------------------------------------------------------------------
    def end_round(self, round_loss: float, collected: list[Any]) -> None:
        state, data = self.state, self.data
        state.rounds += 1
        state.batch_in_round = 0
        state.partial_loss, state.partial_count = 0.0, 0
        state.round_losses.append(round_loss)
        row = {"Loss": round_loss}
        if collected and data.measurements:
            outputs, targets = self.runner.round_scores(collected)  # several processes exchange them here, once a round
            form = data.target_form
            row.update(measuring.measure(data.measurements, measuring.class_outputs(outputs, form), measuring.class_targets(targets, form) if targets is not None else None))
        state.round_measurements.append(row)
        validation_row: dict[str, float] | None = None
        if data.validation is not None:
            validation_row, _, _ = measure_table(data, self.runner, data.validation)
            state.validation_losses.append(validation_row["Loss"])
            state.validation_measurements.append(validation_row)
            self.track_best(validation_row)
        elapsed = time.perf_counter() - self.start
        total_rounds = data.max_training_rounds if data.total_batches else None
        self.progress = {"Round": state.rounds, "Batch": data.batches_per_round, "AbsoluteBatch": state.batches, "RoundLoss": round_loss,
                         "ValidationLoss": validation_row["Loss"] if validation_row else None, "RoundMeasurements": row, "ValidationMeasurements": validation_row,
                         "Time": elapsed, "ExamplesPerSecond": state.examples / max(elapsed, 1e-9), "TotalRounds": total_rounds,
                         "BatchLoss": state.batch_losses[-1] if state.batch_losses else float("nan")}
        self.guarded(lambda: self.report_round(validation_row or row))
        if self.runner.agree(state.reason is not None):
            state.stop("ManualStop", "another process stopped training")

    def report_round(self, row: dict[str, float]) -> None:
        for reporter in self.config.training_progress_reporting:
            reporter.round(self.progress)
        if self.config.training_stopping_criterion is not None and self.should_stop(row):
            self.state.stop("StoppingCriterion", "the stopping criterion was met")
        self.checkpointer.write(self.runner, self.state, self.generator, round_done=True)

    def criterion_value(self, row: dict[str, float]) -> tuple[float, bool]:
        criterion = self.config.training_stopping_criterion
        name = criterion.criterion if criterion is not None and isinstance(criterion.criterion, str) else "Loss"
        if name not in row:
            raise NetError(f'NetTrain: training_stopping_criterion: "{name}" is not measured; measured are {", ".join(row)}.{closest(name, row)} Add it to training_progress_measurements.')
        return row[name], name.endswith(MAXIMIZED) or name in MAXIMIZED

    def track_best(self, row: dict[str, float]) -> None:
        value, maximize = self.criterion_value(row)
        state = self.state
        if state.best_value is None or (value > state.best_value if maximize else value < state.best_value):
            state.best_value = value
            state.best_round = state.rounds
            state.best_arrays = self.runner.arrays()
            self.checkpointer.write_best(state)

    def should_stop(self, row: dict[str, float]) -> bool:
        criterion = self.config.training_stopping_criterion
        assert criterion is not None
        if callable(criterion.criterion):
            return bool(criterion.criterion(dict(row)))
        value, maximize = self.criterion_value(row)
        history = self.state.criterion_history
        history.append(value)
        best_before = (max if maximize else min)(history[:-1]) if len(history) > 1 else None
        if best_before is None:
            return False
        gain = (value - best_before) if maximize else (best_before - value)
        needed = max(criterion.absolute_change, criterion.relative_change * abs(best_before))
        if gain > needed:
            self.state.stale = 0
            return False
        self.state.stale += 1
        return self.state.stale > criterion.patience


__all__ = ["NetTrain", "train"]
