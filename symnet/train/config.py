"""NetTrain's configuration: every option, its default and its check, declared once.

:class:`TrainConfig` is the single list of NetTrain's options. Each field is declared with
:func:`option`, which attaches the Wolfram-style default the user sees and the function that
checks and parses the user's value. From these fields come NetTrain's keyword signature
(``inspect.signature(NetTrain)``), :data:`OPTIONS`, and the "unknown option … Did you mean"
message. The parsed configuration is frozen: later stages read it and never change it.

To add an option: add one field here (its type, ``option(default, parse)``), then read
``config.<name>`` in the stage that uses it (the data stage, the runner or the loop).

Values that depend on the data or the net (an ``Automatic`` batch size, the rounds that fill a
budget of updates, ``learning_rate_multipliers`` paths) are checked here as far as the value
alone allows, and resolved by the stage that knows the rest (:mod:`symnet.train.prepared`,
:mod:`symnet.train.runner`) — still before the first batch.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..devices import Placement, parse_target_device
from ..errors import OptionError, boolean, closest, number, one_of
from ..initialize import DEFAULT_SEED
from ..symbols import Automatic
from . import checkpoint as checkpoints
from . import measurements as measuring
from .options import Method, StoppingCriterion, parse_method, parse_stopping_criterion, precision_of
from .report import Reporter, reporters
from .sequences import parse_bucketing


def option(default: Any, parse: Callable[[Any], Any]) -> Any:
    """A NetTrain option: ``default`` is what the signature shows, ``parse(value)`` checks a value
    (raising an :class:`OptionError` that names the option) and returns its parsed form."""
    return dataclasses.field(metadata={"default": default, "parse": parse})


def _keep(value: Any) -> Any:
    """Options whose checks need the net or the data, done by the stage that has them."""
    return value


def _positive_integer(name: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if value is Automatic:
            return value
        return number(value, where="NetTrain", option=name, integer=True, minimum=1, fix="Or give Automatic.")

    return parse


def _time_goal(value: Any) -> float | None:
    return number(value, where="NetTrain", option="time_goal", minimum=0, exclusive_minimum=True, none_ok=True, fix="Give seconds.")


def _learning_rate(value: Any) -> Any:
    if value is Automatic:
        return value
    return number(value, where="NetTrain", option="learning_rate", minimum=0, exclusive_minimum=True, fix="Or give Automatic.")


def _measurements(value: Any) -> Any:
    # Checked now without knowing whether the net is a classifier; the data stage parses it again
    # knowing that (a classifier measurement on a regression net fails there, still before training).
    measuring.parse(value, classifier=True)
    return value


def _seed(value: Any) -> int:
    if value is None or value is Automatic:
        return DEFAULT_SEED
    if value == "Inherited":
        return int(torch.randint(0, 2**62, (1,)).item())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise OptionError(f'NetTrain: random_seeding={value!r} must be an integer seed or "Inherited".')


def _cache_frozen_features(value: Any) -> bool:
    """Automatic or True: cache a frozen front's features when it can be done (see symnet.train.caching); False: never."""
    if value is Automatic:
        return True
    return boolean(value, where="NetTrain", option="cache_frozen_features")


def _compile(value: Any) -> bool:
    # off by default (AutomaticChoices["compile"] says False): it does not pay on the CPUs measured.
    # The notebook CNN, float32, batch 128, 1 thread, compiled and eager interleaved in one process:
    # a compiled step, traced as one graph without breaks (symnet.train.compiled), took 0.90-1.39x
    # the eager step's time (per-batch medians, median 1.21 over 6 pairs; 1.41-1.44 before max
    # pooling was kept as torch's kernels; bench/bench_speed.py --compile, whole rounds: 1.24 and
    # 1.47), since inductor calls the same oneDNN convolutions and adds layout copies,
    # while eager already has the fused Adam, channels-last and the ReLU after pooling; and
    # compiling cost 15 s cold (4-7 s with inductor's disk cache warm), about an eager epoch.
    return boolean(value, where="NetTrain", option="compile")


def _parallelism(value: Any) -> str:
    """How several processes share the net: "DDP" (each holds it whole; Automatic) or "FSDP" (each holds 1/n, symnet.train.sharded)."""
    if value is Automatic:
        return "DDP"
    if isinstance(value, str) and value.upper() in ("DDP", "FSDP"):
        return value.upper()
    return str(one_of(value, ("DDP", "FSDP"), where="NetTrain", option="parallelism",
                      fix='"DDP" replicates the net on every process; "FSDP" shards its arrays, gradients and optimizer state over them.'))


def _checkpointing(value: Any) -> tuple[checkpoints.CheckpointSpec, ...]:
    # whether the places can be written is checked just before the first batch (checkpoint.check_writable)
    return tuple(checkpoints.parse(value))


@dataclass(frozen=True)
class TrainConfig:
    """NetTrain's options, checked and parsed (see the package docstring for their meaning)."""

    loss_function: Any = option(Automatic, _keep)
    batch_size: Any = option(Automatic, _positive_integer("batch_size"))
    max_training_rounds: Any = option(Automatic, _positive_integer("max_training_rounds"))
    time_goal: float | None = option(None, _time_goal)
    validation_set: Any = option(None, _keep)
    method: Method = option("ADAM", parse_method)
    learning_rate: Any = option(Automatic, _learning_rate)
    learning_rate_multipliers: Any = option(None, _keep)
    training_progress_reporting: tuple[Reporter, ...] = option(Automatic, lambda value: tuple(reporters(value)))
    training_progress_measurements: Any = option(Automatic, _measurements)
    training_stopping_criterion: StoppingCriterion | None = option(None, parse_stopping_criterion)
    training_progress_checkpointing: tuple[checkpoints.CheckpointSpec, ...] = option(None, _checkpointing)
    random_seeding: int = option(DEFAULT_SEED, _seed)
    target_device: Placement = option("cpu", parse_target_device)
    working_precision: str = option("Real32", precision_of)
    cache_frozen_features: bool = option(Automatic, _cache_frozen_features)
    # not a Wolfram option (its NetTrain buckets sequences without asking): batches of examples
    # of similar length, Automatic when that saves padding (symnet.train.sequences)
    bucketing: Any = option(Automatic, parse_bucketing)
    compile: bool = option(False, _compile)
    # not a Wolfram option: how the processes of a distributed run share the net (Lightning's "strategy")
    parallelism: str = option(Automatic, _parallelism)

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> TrainConfig:
        """Check every option (unknown names first), before any work is done."""
        for name in options:
            if name not in OPTIONS:
                raise OptionError(f'NetTrain: unknown option {name}.{closest(name, OPTIONS)} The options are: {", ".join(OPTIONS)}.')
        values = {}
        for field in dataclasses.fields(cls):
            given = options.get(field.name, field.metadata["default"])
            values[field.name] = field.metadata["parse"](given)
        return cls(**values)


OPTIONS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(TrainConfig))


def signature(function: Callable[..., Any]) -> inspect.Signature:
    """``function``'s signature with ``**options`` spelled out as TrainConfig's keyword options."""
    parameters = [p for p in inspect.signature(function).parameters.values() if p.kind != p.VAR_KEYWORD]
    for field in dataclasses.fields(TrainConfig):
        parameters.append(inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=field.metadata["default"]))
    return inspect.Signature(parameters, return_annotation=Any)
