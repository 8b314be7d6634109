"""Checkpoints: the net as a file Import reads, and the whole training state for resuming.

``training_progress_checkpointing`` takes ``("Directory", path)`` (new files per checkpoint),
``("File", path)`` (one checkpoint, overwritten), a path (a ``.symnet`` or ``.safetensors`` name
is a file, anything else a directory), or a dict ``{"directory": path, "interval": 2, "best": True,
"resume": True}``:

- ``interval``: every n rounds (default 1), or ``(n, "Rounds" | "Batches" | "Seconds")``;
- ``best``: also keep ``best.symnet`` with the net that did best on the validation set;
- ``resume``: continue from the newest checkpoint in the directory (or the file, or the
  checkpoint file given, either of its two files); with the same data and options, training
  then ends with the same weights, bit for bit, as a run that was never interrupted.

Each checkpoint is two files with the same name: ``….symnet``, the net at that point (``Import``
reads it; these are the results' ``"CheckpointingFiles"``, as Wolfram's are net files), and
``….safetensors``, the training state that ``resume`` reads: the net's arrays, the optimizer's
state, the random generators and the progress so far (tensors as safetensors, everything else
as JSON in its metadata). Nothing is pickled, so loading a checkpoint never runs code.

Failures keep the work: the places checkpoints go are checked (created and written to) before
the first batch; a write that fails later (a full disk, a directory removed) stops training
with ``"CheckpointWriteFailed"`` and the net trained so far; a damaged checkpoint (truncated,
bad metadata, missing entries) is named with its damage, and resuming falls back to the newest
intact one before it.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..errors import NetError, OptionError, closest
from .arrays import LeafArrays, with_leaf_arrays

FORMAT = "symnet-training-checkpoint/1"
UNITS = ("Rounds", "Batches", "Seconds")
PATTERN = "checkpoint-round*-batch*.safetensors"


@dataclass(frozen=True)
class CheckpointSpec:
    path: Path
    directory: bool
    interval: int | float = 1
    unit: str = "Rounds"
    best: bool = False
    resume: Any = False

def parse(spec: Any) -> list[CheckpointSpec]:
    if spec is None:
        return []
    if isinstance(spec, list):
        return [s for item in spec for s in parse(item)]
    if isinstance(spec, str | Path):
        path = Path(spec)
        return [CheckpointSpec(path, path.suffix not in (".safetensors", ".symnet"))]
    if isinstance(spec, tuple) and len(spec) >= 2 and spec[0] in ("File", "Directory"):
        extra = dict(spec[2]) if len(spec) > 2 and isinstance(spec[2], Mapping) else {}
        return parse({spec[0].lower(): spec[1], **extra})
    if isinstance(spec, Mapping):
        allowed = ("file", "directory", "interval", "best", "resume")
        for key in spec:
            if key not in allowed:
                raise OptionError(f'NetTrain: training_progress_checkpointing has no key {key!r}.{closest(str(key), allowed)} Its keys: {", ".join(allowed)}.')
        if ("file" in spec) == ("directory" in spec):
            raise OptionError('NetTrain: training_progress_checkpointing needs exactly one of "file" or "directory".')
        directory = "directory" in spec
        interval, unit = spec.get("interval", 1), "Rounds"
        if isinstance(interval, tuple):
            interval, unit = interval
            if unit not in UNITS:
                raise OptionError(f'NetTrain: the checkpointing interval unit {unit!r} is not one of {", ".join(UNITS)}.{closest(str(unit), UNITS)}')
        if not (isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0):
            raise OptionError(f"NetTrain: the checkpointing interval must be a positive number, not {interval!r}.")
        if unit != "Seconds" and not isinstance(interval, int):
            raise OptionError(f"NetTrain: the checkpointing interval {interval!r} {unit} must be a whole number.")
        for key in ("best",):
            if not isinstance(spec.get(key, False), bool):
                raise OptionError(f"NetTrain: training_progress_checkpointing: {key}={spec[key]!r} must be True or False.")
        resume = spec.get("resume", False)
        if not isinstance(resume, bool | str | Path):
            raise OptionError(f"NetTrain: training_progress_checkpointing: resume={resume!r} must be True, False or a checkpoint file.")
        place = spec["directory" if directory else "file"]
        if not isinstance(place, str | Path):
            raise OptionError(f"NetTrain: training_progress_checkpointing: the {'directory' if directory else 'file'} {place!r} must be a path.")
        return [CheckpointSpec(Path(place), directory, interval, unit, spec.get("best", False), resume)]
    raise OptionError(f'NetTrain: training_progress_checkpointing={spec!r}: use ("Directory", path), ("File", path), a path, or a dict such as {{"directory": path, "interval": 1}}.')


def file_for(spec: CheckpointSpec, rounds: int, batches: int) -> Path:
    """The training-state file of a checkpoint (the net file is the same name with ``.symnet``)."""
    if not spec.directory:
        return state_file(spec.path)
    return spec.path / f"checkpoint-round{rounds:04d}-batch{batches:07d}.safetensors"


def state_file(path: Path) -> Path:
    """The training-state file beside a checkpoint's net file (or the file itself)."""
    return path.with_suffix(".safetensors") if path.suffix == ".symnet" else path


def check_writable(spec: CheckpointSpec) -> None:
    """Create the place checkpoints go and write a file there, so that a path that cannot hold
    them fails before the first batch rather than after hours of training."""
    directory = spec.path if spec.directory else spec.path.parent
    what = "directory" if spec.directory else "file"
    try:
        if not spec.directory and spec.path.is_dir():
            raise NetError(f"NetTrain: training_progress_checkpointing: the checkpoint file {str(spec.path)!r} is a directory; give a file name, or (\"Directory\", path).")
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".symnet-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise NetError(f"NetTrain: training_progress_checkpointing: cannot write the checkpoint {what} {str(spec.path)!r} ({reason}: {error.filename or directory}); give a directory you can write to.") from None


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{index}/{key}"] = value
            else:
                scalars[f"{index}/{key}"] = value
    return tensors, {"scalars": scalars, "param_groups": state["param_groups"]}


def save(path: Path, tensors: dict[str, torch.Tensor], optimizer: dict[str, Any], generators: dict[str, torch.Tensor], progress: dict[str, Any]) -> None:
    """Write one checkpoint (atomically: a half-written file never replaces a good one)."""
    optimizer_tensors, optimizer_meta = _flatten_optimizer(optimizer)
    everything = {**{f"arrays/{k}": v for k, v in tensors.items()}, **optimizer_tensors, **{f"rng/{k}": v for k, v in generators.items()}}
    everything = {k: v.detach().to("cpu").contiguous() for k, v in everything.items()}
    metadata = {"format": FORMAT, "optimizer": json.dumps(optimizer_meta), "progress": json.dumps(progress)}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    save_file(everything, str(temporary), metadata=metadata)
    temporary.replace(path)


@dataclass
class Loaded:
    arrays: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generators: dict[str, torch.Tensor]
    progress: dict[str, Any]
    path: Path


PROGRESS = ("rounds", "batches", "batch_in_round", "examples", "partial_loss", "partial_count", "batch_losses", "round_losses", "validation_losses",
            "round_measurements", "validation_measurements", "criterion_history", "stale", "best_value", "best_round", "files", "elapsed")


def candidates(spec: CheckpointSpec) -> list[Path]:
    """The checkpoints to resume from, best first: the one named (or the newest in the
    directory), then the older ones beside it, to fall back on when it is damaged."""
    if isinstance(spec.resume, str | Path):
        first = state_file(Path(spec.resume))
        older = sorted((p for p in first.parent.glob(PATTERN) if p.name < first.name), reverse=True) if first.parent.is_dir() else []
        return [first, *older]
    if not spec.directory:
        path = state_file(spec.path)
        return [path] if path.exists() else []
    return sorted(spec.path.glob(PATTERN), reverse=True) if spec.path.is_dir() else []


def load(path: Path) -> Loaded:
    """Read a checkpoint's training state; a NetError names the file and what is wrong with it."""
    if not path.exists():
        raise NetError(f"NetTrain: there is no checkpoint {str(path)!r} to resume from.")
    try:
        return _read(path)
    except NetError:
        raise
    except (SafetensorError, OSError, json.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as error:
        damage = f"missing entry {error}" if isinstance(error, KeyError) else f"{type(error).__name__}: {error}"
        raise NetError(f"NetTrain: the checkpoint {str(path)!r} is damaged ({damage}); resume from another checkpoint, or start again without resume.") from None


def _read(path: Path) -> Loaded:
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("format") != FORMAT or "optimizer" not in metadata:
        raise NetError(f"NetTrain: {str(path)!r} is not a symnet training checkpoint.")
    tensors = load_file(str(path))
    optimizer_meta = json.loads(metadata["optimizer"])
    progress = json.loads(metadata["progress"])
    if not isinstance(progress, dict) or not isinstance(optimizer_meta, dict):
        raise ValueError("the progress or optimizer metadata is not a JSON object")
    missing = [key for key in PROGRESS if key not in progress]
    if missing:
        raise KeyError(f"progress {', '.join(missing)}")
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in optimizer_meta["scalars"].items():
        index, name = key.split("/", 1)
        state.setdefault(int(index), {})[name] = value
    arrays = {k[len("arrays/"):]: v for k, v in tensors.items() if k.startswith("arrays/")}
    generators = {k[len("rng/"):]: v for k, v in tensors.items() if k.startswith("rng/")}
    for name in ("shuffle", "global"):
        if name not in generators:
            raise KeyError(f"random generator {name}")
    return Loaded(arrays, {"state": state, "param_groups": optimizer_meta["param_groups"]}, generators, progress, path)


def flat_arrays(arrays: LeafArrays) -> dict[str, torch.Tensor]:
    return {f"{'/'.join(path)}/{name}": tensor for path, named in arrays.items() for name, tensor in named.items()}


class Checkpointer:
    """Writes the checkpoints that are due, and resumes from the newest intact one."""

    def __init__(self, specs: tuple[CheckpointSpec, ...], net: Any, plan: Any, main: bool = True) -> None:
        # every process of a distributed run resumes from the checkpoints; only the main one (rank 0) writes them
        self.specs, self.net, self.plan, self.main = specs, net, plan, main
        self.last_time = [time.perf_counter() for _ in specs]
        self.started = time.perf_counter()

    def check_writable(self) -> None:
        for spec in self.specs if self.main else ():
            check_writable(spec)

    def _due(self, number: int, round_done: bool, rounds: int, batches: int) -> bool:
        spec = self.specs[number]
        if spec.unit == "Rounds":
            return round_done and rounds % int(spec.interval) == 0
        if spec.unit == "Batches":
            return batches % int(spec.interval) == 0
        if time.perf_counter() - self.last_time[number] >= spec.interval:
            self.last_time[number] = time.perf_counter()
            return True
        return False

    def write(self, runner: Any, state: Any, generator: torch.Generator, round_done: bool) -> None:
        """Write the checkpoints due now (after a batch, or after a round when ``round_done``); an
        OSError (a full disk, a removed directory) reaches the loop, which stops and keeps the work."""
        # a sharded run (FSDP) gathers the arrays and the optimizer state from every process: all of them take part,
        # on rank 0's decision (a checkpoint every so many seconds follows rank 0's clock), and rank 0 writes
        gathering = getattr(runner, "gathers_for_checkpoints", False)
        for number, spec in enumerate(self.specs if self.main or gathering else ()):
            due = self._due(number, round_done, state.rounds, state.batches)
            if gathering and spec.unit not in ("Rounds", "Batches"):
                due = bool(runner.main_value(1.0 if due else 0.0))
            if not due:
                continue
            current = runner.arrays()
            if not self.main:
                runner.optimizer_state()  # this rank's part in gathering it; rank 0 writes
                continue
            path = file_for(spec, state.rounds, state.batches)
            tensors = flat_arrays(current)
            if state.best_arrays is not None:
                tensors.update({f"best:{k}": v for k, v in flat_arrays(state.best_arrays).items()})
            generators = {"shuffle": generator.get_state(), "round_start": state.round_start if state.round_start is not None else generator.get_state(), "global": torch.get_rng_state()}
            net_path = path.with_suffix(".symnet")
            save(path, tensors, runner.optimizer_state(), generators, state.progress(time.perf_counter() - self.started))
            self.export_net(net_path, current)
            if str(net_path) not in state.files:
                state.files.append(str(net_path))

    def write_best(self, state: Any) -> None:
        """``best.symnet``: the net that did best on the validation set so far."""
        for spec in self.specs if self.main else ():
            if spec.best:
                path = (spec.path if spec.directory else spec.path.parent) / "best.symnet"
                self.export_net(path, state.best_arrays)
                if str(path) not in state.files:
                    state.files.append(str(path))

    def export_net(self, path: Path, arrays: LeafArrays) -> None:
        """The net with the given arrays as a native file that Import reads (written atomically)."""
        from ..io import Export

        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".partial.symnet")
        Export(temporary, with_leaf_arrays(self.net, arrays))
        temporary.replace(path)

    def resume(self, runner: Any, state: Any, generator: torch.Generator, automatic: dict[str, Any]) -> None:
        """Continue from the newest intact checkpoint of a spec with ``resume`` (if there is one yet)."""
        for spec in self.specs:
            if not spec.resume:
                continue
            paths = candidates(spec)
            damaged: list[str] = []
            for path in paths:
                try:
                    self._apply(load(path), runner, state, generator)
                except NetError as error:
                    if "is damaged" not in str(error) or path == paths[-1]:
                        if damaged:
                            raise NetError(f"{error} The newer checkpoints are damaged too: {'; '.join(damaged)}.") from None
                        raise
                    damaged.append(str(error).removeprefix("NetTrain: the checkpoint ").split("; resume from")[0])
                    continue
                if damaged:
                    automatic["damaged_checkpoints"] = damaged
                    warnings.warn(f"NetTrain: resumed from {str(path)!r}, the newest intact checkpoint; skipped {'; '.join(damaged)}.", stacklevel=4)
                return

    def _apply(self, loaded: Loaded, runner: Any, state: Any, generator: torch.Generator) -> None:
        path = loaded.path
        arrays: dict[tuple[str, ...], dict[str, torch.Tensor]] = {}
        best: dict[tuple[str, ...], dict[str, torch.Tensor]] = {}
        for key, tensor in loaded.arrays.items():
            target = best if key.startswith("best:") else arrays
            path_text, name = key.removeprefix("best:").rsplit("/", 1)
            target.setdefault(tuple(path_text.split("/")) if path_text else (), {})[name] = tensor
        known = {leaf_path for leaf_path, _ in self.plan.leaves}
        if not set(arrays) <= known:
            raise NetError(f"NetTrain: the checkpoint {str(path)!r} was written for a different net (it has arrays for layers this net does not have).")
        try:
            runner.load_arrays(arrays)
        except RuntimeError as error:
            raise NetError(f"NetTrain: the checkpoint {str(path)!r} was written for a different net ({str(error).splitlines()[0]}).") from None
        try:
            runner.load_optimizer_state(loaded.optimizer)
        except (ValueError, KeyError) as error:
            raise NetError(f"NetTrain: the checkpoint {str(path)!r} does not fit these training options ({error}); resume with the same method and learning_rate_multipliers.") from None
        try:
            generator.set_state(loaded.generators["shuffle"])
            torch.set_rng_state(loaded.generators["global"])
        except (RuntimeError, TypeError) as error:
            raise NetError(f"NetTrain: the checkpoint {str(path)!r} is damaged (its random generator state: {error}).") from None
        state.load(loaded.progress, loaded.generators.get("round_start"), best or None)
        state.resumed_from = str(path)
