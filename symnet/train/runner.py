"""Runners: what executes NetTrain's batches. The training loop talks only to a runner.

A runner owns the compiled module, the optimizer, the precision (autocast) and the device;
the loop owns the order of batches, the schedule, the progress, the stopping rules and the
checkpoints. :class:`SingleProcessRunner` runs everything in this process.

The runner protocol (what the loop calls; a torch.distributed runner implements the same):

- ``with runner:`` — set up and release compute resources (threads here; a process group,
  device placement and ``DistributedDataParallel`` wrapping for a distributed runner);
- ``step(batch, factor) -> float | None`` — one optimizer update on a batch (port name → CPU
  tensor, the *whole* batch; a padded port of sequences has each example's length beside it
  under ``sequences.lengths_key(port)``, batch axis first, which ``module.run`` and the losses
  take: see :meth:`SingleProcessRunner.forward`; a distributed runner trains on its rank's share of it, all-reduces
  the gradients as DDP does, and returns the mean loss over all ranks). ``factor`` scales each
  parameter group's learning rate (the schedule). Returns the batch loss, or None (with the
  arrays unchanged) when the loss is not finite — on every rank, so all ranks stop together;
- ``last_scores() -> (scores, targets)`` — the first loss's scores and targets of the last
  batch (a distributed runner: of this rank's share), for the round's measurements;
- ``round_scores(collected) -> (scores, targets)`` — a round's scores and targets from its
  batches' ``last_scores``, all-gathered over the ranks once per round (not per batch);
- ``remember()`` / ``keep()`` / ``recall()`` — copy the arrays before a batch, keep that copy
  once the batch's loss proved it good, restore the kept copy: how a non-finite stop returns the
  net from before the batch that blew up (each rank keeps its own copy: they are identical);
- ``evaluate(table, limit) -> (mean loss, scores, targets)`` — a pass in evaluation mode
  (no dropout, batch-norm statistics) over a table; a distributed runner evaluates a shard per
  rank and all-gathers the scores and targets;
- ``arrays()`` / ``load_arrays(arrays)`` — the arrays by leaf path (copies on the CPU or the
  device) and loading them back (a distributed runner loads on every rank);
- ``optimizer_state()`` / ``load_optimizer_state(state)`` — the optimizer's ``state_dict``
  (consolidated on the main rank for checkpoints);
- ``is_main`` — whether this process writes checkpoints and reports progress (rank 0);
- ``agree(flag) -> bool`` — whether any process raised a flag (Ctrl-C, a time goal, a failed
  checkpoint write): a single process returns the flag, a distributed runner all-reduces it,
  so every rank leaves the loop after the same batch;
- ``defers_agreement``, ``ask_to_stop(flag)``, ``stop_agreed`` — a distributed runner can carry the
  flag of :meth:`agree` with the next batch's gradients instead: ``ask_to_stop`` hands it over,
  and the next ``step`` returns None with ``stop_agreed`` set on every rank, its update untaken,
  if any rank raised it;
- ``main_value(value) -> float`` — rank 0's value of a number each process measures for itself
  (the elapsed time a time goal's schedule follows), so that every rank takes the same steps.

:class:`symnet.train.distributed.DistributedRunner` is the torch.distributed runner.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Any, Protocol

import torch
from torch import nn

from ..engine import CompiledNet
from ..errors import NetError
from ..layers.base import Layer
from .arrays import LeafArrays
from .compiled import TrainingForward, opaque_max_pooling
from .data import Table
from .kernels import training_kernels
from .losses import LossTerm, weighted_loss
from .options import Method, check_globs_match, multiplier_for, parse_multipliers
from .prepared import one_thread
from .rewrite import training_plan
from .sequences import batch_lengths, real_positions
from .threads import ThreadProbe

PROBED_BATCH_VALUES = 2**15  # the smallest batch (examples × values each) whose thread count NetTrain measures

CONVOLUTIONS = ("ConvolutionLayer", "DeconvolutionLayer", "PoolingLayer")
EVALUATION_BATCH = 1024


class Runner(Protocol):
    """What the training loop needs from whatever runs the batches (see the module docstring)."""

    is_main: bool

    def __enter__(self) -> Runner: ...
    def __exit__(self, *exc: Any) -> None: ...
    def step(self, batch: dict[str, torch.Tensor], factor: float) -> float | None: ...
    def last_scores(self) -> tuple[torch.Tensor, torch.Tensor | None]: ...
    def round_scores(self, collected: list[tuple[torch.Tensor, torch.Tensor | None]]) -> tuple[torch.Tensor, torch.Tensor | None]: ...
    def remember(self) -> None: ...
    def keep(self) -> None: ...
    def recall(self) -> None: ...
    def evaluate(self, table: Table, limit: int | None = None) -> tuple[float, torch.Tensor | None, torch.Tensor | None]: ...
    def arrays(self) -> LeafArrays: ...
    def load_arrays(self, arrays: LeafArrays) -> None: ...
    def optimizer_state(self) -> dict[str, Any]: ...
    def load_optimizer_state(self, state: dict[str, Any]) -> None: ...
    def agree(self, flag: bool) -> bool: ...
    defers_agreement: bool
    stop_agreed: bool
    def ask_to_stop(self, flag: bool) -> None: ...
    def main_value(self, value: float) -> float: ...


class SingleProcessRunner:
    """Trains a compiled net in this process, on one device."""

    is_main = True

    def __init__(self, net: Layer, plan: Any, terms: list[LossTerm], method: Method, learning_rate: float, multipliers: Any,
                 device: str, dtype: torch.dtype, mixed: bool, batch_size: int, example_size: int, compile: bool = False) -> None:
        self.net, self.plan, self.terms, self.device = net, plan, terms, device
        self.wires = [term.wire for term in terms]
        self.input_ports = net.input_ports()
        # the same leaves (arrays by path) in a cheaper order of steps: see symnet.train.rewrite
        compiled_plan, self.pools_before_ramps = training_plan(plan, self.wires)
        # and convolutions that oneDNN computes slowly, as matrix products: see symnet.train.kernels
        compiled_plan, self.kernels = training_kernels(compiled_plan, device=device, dtype=dtype, autocast=mixed, compiled=compile)
        if compile:  # max pooling by torch's kernels inside the compiled graph: see symnet.train.compiled
            compiled_plan = opaque_max_pooling(compiled_plan)
        module = CompiledNet(net, compiled_plan).to(device=device, dtype=dtype)
        has_convolution = any(layer.kind in CONVOLUTIONS for _, layer in plan.leaves)
        images = {p for p in self.input_ports if net.types[p].rank == 3}  # type: ignore[index]
        # channels-last makes the CPU's convolution kernels faster; not for float64, which they lack
        self.image_ports = images if has_convolution and images and dtype != torch.float64 else set()
        if self.image_ports:
            module = module.to(memory_format=torch.channels_last)
        module.train()
        self.module = module
        self.parameters, groups = _parameter_groups(net, plan, module, multipliers)
        self.learning_rate = learning_rate
        self.optimizer, self.optimizer_implementation = _fast_optimizer(method, groups, learning_rate)
        # torch.compile traces the training step's forward pass and losses as one graph, once,
        # for the shapes of the first batch (symnet.train.compiled); other shapes (a smaller last
        # batch) and evaluation (inference mode, other batch sizes) stay eager: a second compile
        # would cost more than it saves
        self._compiled = TrainingForward(module, self.wires, terms, compiled_plan) if compile else None
        self.compiled = compile
        self.clip = method.settings["gradient_clipping"]
        self.autocast = (lambda: torch.autocast(device.split(":")[0], dtype=torch.bfloat16)) if mixed else nullcontext
        # Tiny batches on a CPU: waking a second thread costs more than it saves.
        parameters = sum(p.numel() for p in self.parameters)
        self.single_thread = device == "cpu" and not has_convolution and batch_size * example_size < 2**15 and parameters < 2**16
        # Convolutional batches on a CPU: all threads, unless the first batches show that one is
        # faster because other processes keep the cores busy (symnet.train.threads). From 2**15
        # values a batch: the notebook CNN's batches of 64 (50,176 values) ran 8.6x slower on 2 busy
        # cores than on 1 while the bound was 2**16; below 2**15 the batch is small enough that the
        # probe's own batches would be most of a short training
        threads = torch.get_num_threads()
        large = device == "cpu" and has_convolution and batch_size * example_size >= PROBED_BATCH_VALUES and threads > 1
        self.thread_probe = ThreadProbe(threads) if large else None
        self._last: tuple[list[torch.Tensor], dict[str, torch.Tensor]] = ([], {})
        self._kept: list[torch.Tensor] | None = None
        self._pending: list[torch.Tensor] | None = None
        self._threads = torch.get_num_threads()

    # -- resources ----------------------------------------------------------------------------
    def __enter__(self) -> SingleProcessRunner:
        self._threads = torch.get_num_threads()
        if self.single_thread:
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        torch.set_num_threads(self._threads)

    def agree(self, flag: bool) -> bool:
        return flag

    defers_agreement = False  # one process has nothing to agree with
    stop_agreed = False

    def ask_to_stop(self, flag: bool) -> None:
        return None

    def main_value(self, value: float) -> float:
        return value

    # -- batches ------------------------------------------------------------------------------
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
        """The weighted loss of a batch (already on the device) and the values the losses looked at."""
        lengths = batch_lengths(batch, self.input_ports)
        inputs = [batch[p] for p in self.input_ports]
        if self._compiled is not None and self.module.training and lengths is None and torch.is_grad_enabled():
            # fixed-size data only: sequences of varying length stay eager
            computed = self._compiled(inputs, [batch.get(term.port) for term in self.terms])
            if computed is not None:
                return computed
        values = self.module.run(inputs, self.wires, lengths)
        return weighted_loss(self.terms, values, [batch.get(term.port) for term in self.terms], self.value_lengths(batch)), values

    @property
    def compile_fallback(self) -> str | None:
        """Why ``compile=True`` trained eagerly after all (Dynamo could not trace one graph), or None."""
        return self._compiled.fallback if self._compiled is not None else None

    def value_lengths(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor | None]:
        """Each example's length on the values the losses look at (None where not padded)."""
        return self.module.wire_lengths(self.wires, batch_lengths(batch, self.input_ports))

    def step(self, batch: dict[str, torch.Tensor], factor: float) -> float | None:
        with one_thread():
            batch = self.to_device(batch)
        if self.thread_probe is None:
            return self._step(batch, factor)
        self.thread_probe.before()
        value = self._step(batch, factor)
        self.thread_probe.after()
        return value

    def _step(self, batch: dict[str, torch.Tensor], factor: float) -> float | None:
        with self.autocast():
            loss, values = self.forward(batch)
        value = loss.detach().item()
        if not math.isfinite(value):
            return None
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate * group["multiplier"] * factor
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.clip)
        self.optimizer.step()
        self._last = (values, batch)
        return value

    def last_scores(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first loss's scores and targets of the last batch, for the round's measurements."""
        values, batch = self._last
        term = self.terms[0]
        return real_positions(term.scores(values[0].detach()).float(), batch.get(term.port), self.value_lengths(batch)[0])

    def round_scores(self, collected: list[tuple[torch.Tensor, torch.Tensor | None]]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A round's scores and targets, from its batches' :meth:`last_scores` (a distributed runner gathers every rank's here)."""
        targets = torch.cat([c[1] for c in collected]) if collected[0][1] is not None else None  # type: ignore[misc]
        return torch.cat([c[0] for c in collected]), targets

    # -- arrays -------------------------------------------------------------------------------
    def _tensors(self) -> list[torch.Tensor]:
        return [getattr(leaf, name) for leaf in self.module.leaves for name in leaf.names]

    def remember(self) -> None:
        """Copy the arrays (before a batch) into a spare buffer; :meth:`keep` makes it the one :meth:`recall` restores."""
        tensors = [t.detach() for t in self._tensors()]
        if self._pending is None:
            self._pending = [t.clone() for t in tensors]
        else:
            torch._foreach_copy_(self._pending, tensors)

    def keep(self) -> None:
        """The arrays copied by the last :meth:`remember` were good: keep them (swapping buffers, so nothing is allocated per batch)."""
        self._kept, self._pending = self._pending, self._kept

    def recall(self) -> None:
        """Restore the kept arrays (or, before any were kept, those of the last :meth:`remember`)."""
        kept = self._kept if self._kept is not None else self._pending
        if kept is None:
            return
        with torch.no_grad():
            torch._foreach_copy_([t.detach() for t in self._tensors()], kept)

    def arrays(self) -> LeafArrays:
        return self.module.leaf_arrays()

    def load_arrays(self, arrays: LeafArrays) -> None:
        with torch.no_grad():
            for (path, _), leaf in zip(self.plan.leaves, self.module.leaves):
                for name, tensor in arrays.get(path, {}).items():
                    self._load_array(getattr(leaf, name), tensor)

    def _load_array(self, target: torch.Tensor, whole: torch.Tensor) -> None:
        """Copy a whole array into the module's (a sharded runner copies its shard of it)."""
        target.copy_(whole)

    def optimizer_state(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, table: Table, limit: int | None = None) -> tuple[float, torch.Tensor | None, torch.Tensor | None]:
        """Mean loss, scores and targets of the first loss on a table, in evaluation mode."""
        module = self.module
        module.eval()
        count = table.length if limit is None else min(limit, table.length)
        total, outputs, targets = 0.0, [], []
        try:
            with torch.inference_mode():
                for start in range(0, count, EVALUATION_BATCH):
                    batch = self.to_device(table.batch(slice(start, min(start + EVALUATION_BATCH, count))))
                    with self.autocast():
                        loss, values = self.forward(batch)
                    size = next(iter(batch.values())).shape[0]
                    total += float(loss) * size
                    if self.terms:
                        scores, target = real_positions(self.terms[0].scores(values[0]).float(), batch.get(self.terms[0].port), self.value_lengths(batch)[0])
                        outputs.append(scores.cpu())
                        targets.append(target.cpu() if target is not None else None)
        finally:
            module.train()
        output = torch.cat(outputs) if outputs else None
        target = torch.cat(targets) if targets and targets[0] is not None else None  # type: ignore[arg-type]
        return total / max(count, 1), output, target


def _fast_optimizer(method: Method, groups: list[dict[str, Any]], learning_rate: float) -> tuple[torch.optim.Optimizer, str]:
    """The method's optimizer in its fastest implementation torch accepts for these arrays (fused
    kernels need every array on one supported device and dtype), falling back to "foreach"."""
    implementation = method.implementation
    try:
        return method.optimizer(groups, learning_rate, implementation), implementation
    except (RuntimeError, ValueError):
        return method.optimizer(groups, learning_rate, "foreach"), "foreach"


def _parameter_groups(net: Layer, plan: Any, module: CompiledNet, multipliers: Any) -> tuple[list[nn.Parameter], list[dict[str, Any]]]:
    """The trained parameters, and optimizer groups by learning-rate multiplier (0 freezes an array)."""
    rules = parse_multipliers(multipliers, net)
    check_globs_match(rules, [path for path, _ in plan.leaves])
    by_multiplier: dict[float, list[nn.Parameter]] = {}
    for (path, _), leaf in zip(plan.leaves, module.leaves):
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
        raise NetError("NetTrain: the net has nothing to train: it has no arrays, or learning_rate_multipliers sets every layer's factor to 0.")
    groups = [{"params": params, "multiplier": factor} for factor, params in by_multiplier.items()]
    return [p for params in by_multiplier.values() for p in params], groups
