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
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..errors import NetError, OptionError, closest
from .arrays import load_leaf_arrays, with_leaf_arrays

FORMAT = "symnet-training-checkpoint/1"
UNITS = ("Rounds", "Batches", "Seconds")


@dataclass
class CheckpointSpec:
    path: Path
    directory: bool
    interval: int | float = 1
    unit: str = "Rounds"
    best: bool = False
    resume: Any = False
    last_time: float = field(default_factory=time.perf_counter)


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
        if not (isinstance(interval, int | float) and interval > 0):
            raise OptionError(f"NetTrain: the checkpointing interval must be a positive number, not {interval!r}.")
        return [CheckpointSpec(Path(spec["directory" if directory else "file"]), directory, interval, unit, bool(spec.get("best", False)), spec.get("resume", False))]
    raise OptionError(f'NetTrain: training_progress_checkpointing={spec!r}: use ("Directory", path), ("File", path), a path, or a dict such as {{"directory": path, "interval": 1}}.')


def due(spec: CheckpointSpec, round_done: bool, rounds: int, batches: int) -> bool:
    """Whether a checkpoint is due now (after a batch, or after a round when ``round_done``)."""
    if spec.unit == "Rounds":
        return round_done and rounds % int(spec.interval) == 0
    if spec.unit == "Batches":
        return batches % int(spec.interval) == 0
    if time.perf_counter() - spec.last_time >= spec.interval:
        spec.last_time = time.perf_counter()
        return True
    return False


def file_for(spec: CheckpointSpec, rounds: int, batches: int) -> Path:
    """The training-state file of a checkpoint (the net file is the same name with ``.symnet``)."""
    if not spec.directory:
        return state_file(spec.path)
    return spec.path / f"checkpoint-round{rounds:04d}-batch{batches:07d}.safetensors"


def state_file(path: Path) -> Path:
    """The training-state file beside a checkpoint's net file (or the file itself)."""
    return path.with_suffix(".safetensors") if path.suffix == ".symnet" else path


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


def save(path: Path, tensors: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, generators: dict[str, torch.Tensor], progress: dict[str, Any]) -> None:
    """Write one checkpoint (atomically: a half-written file never replaces a good one)."""
    optimizer_tensors, optimizer_meta = _flatten_optimizer(optimizer.state_dict())
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


def newest(spec: CheckpointSpec) -> Path | None:
    """The checkpoint to resume from: the one named, or the newest in the directory."""
    if isinstance(spec.resume, str | Path):
        return state_file(Path(spec.resume))
    if not spec.directory:
        path = state_file(spec.path)
        return path if path.exists() else None
    files = sorted(spec.path.glob("checkpoint-round*-batch*.safetensors"))
    return files[-1] if files else None


def load(path: Path) -> Loaded:
    from safetensors import safe_open

    if not path.exists():
        raise NetError(f"NetTrain: there is no checkpoint {str(path)!r} to resume from.")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("format") != FORMAT or "optimizer" not in metadata:
        raise NetError(f"NetTrain: {str(path)!r} is not a symnet training checkpoint.")
    tensors = load_file(str(path))
    optimizer_meta = json.loads(metadata["optimizer"])
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
    return Loaded(arrays, {"state": state, "param_groups": optimizer_meta["param_groups"]}, generators, json.loads(metadata["progress"]), path)


def write(s: Any, round_done: bool) -> None:
    """Write the checkpoints that are due now."""
    state = s.state
    for spec in s.checkpoints:
        if not due(spec, round_done, state.rounds, state.batches):
            continue
        if spec.unit == "Rounds" and not round_done:
            continue
        path = file_for(spec, state.rounds, state.batches)
        tensors = s.flat_arrays(s.module.leaf_arrays())
        if state.best_arrays is not None:
            tensors.update({f"best:{k}": v for k, v in s.flat_arrays(state.best_arrays).items()})
        generators = {"shuffle": s.generator.get_state(), "round_start": state.round_start if state.round_start is not None else s.generator.get_state(), "global": torch.get_rng_state()}
        net_path = path.with_suffix(".symnet")
        if str(net_path) not in state.files:
            state.files.append(str(net_path))
        save(path, tensors, s.optimizer, generators, state.progress(time.perf_counter() - s.started))
        export_net(s, net_path, s.module.leaf_arrays())


def write_best(s: Any, spec: CheckpointSpec) -> None:
    """``best.symnet``: the net that did best on the validation set so far."""
    path = (spec.path if spec.directory else spec.path.parent) / "best.symnet"
    export_net(s, path, s.state.best_arrays)
    if str(path) not in s.state.files:
        s.state.files.append(str(path))


def export_net(s: Any, path: Path, arrays: Any) -> None:
    """The net with the given arrays as a native file that Import reads (written atomically)."""
    from ..io import Export

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial.symnet")
    Export(temporary, with_leaf_arrays(s.net, arrays))
    temporary.replace(path)


def resume(s: Any) -> None:
    """Continue from the checkpoint that a spec with ``resume`` names (if it exists yet)."""
    for spec in s.checkpoints:
        if not spec.resume:
            continue
        path = newest(spec)
        if path is None:
            continue  # nothing written yet: start from the beginning
        loaded = load(path)
        arrays: dict[tuple[str, ...], dict[str, torch.Tensor]] = {}
        best: dict[tuple[str, ...], dict[str, torch.Tensor]] = {}
        for key, tensor in loaded.arrays.items():
            target = best if key.startswith("best:") else arrays
            path_text, name = key.removeprefix("best:").rsplit("/", 1)
            target.setdefault(tuple(path_text.split("/")) if path_text else (), {})[name] = tensor
        known = {leaf_path for leaf_path, _ in s.plan.leaves}
        if not set(arrays) <= known:
            raise NetError(f"NetTrain: the checkpoint {str(path)!r} was written for a different net (it has arrays for layers this net does not have).")
        load_leaf_arrays(s, arrays)
        try:
            s.optimizer.load_state_dict(loaded.optimizer)
        except (ValueError, KeyError) as error:
            raise NetError(f"NetTrain: the checkpoint {str(path)!r} does not fit these training options ({error}); resume with the same method and learning_rate_multipliers.") from None
        s.generator.set_state(loaded.generators["shuffle"])
        torch.set_rng_state(loaded.generators["global"])
        s.state.load(loaded.progress, loaded.generators.get("round_start"), best or None)
        s.state.resumed_from = str(path)
        return
