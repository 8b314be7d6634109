"""Where a net runs: the ``target_device`` option's forms, parsed once for NetTrain, ``net(x)`` and NetMeasurements.

Forms (Wolfram's ``TargetDevice``, with "GPU" spelled "cuda" as PyTorch does; "gpu" is accepted):

- ``"cpu"``, ``"cuda"``, ``"cuda:N"`` — one process on one device;
- ``("cpu", n)`` — n processes on this machine, each on the CPU (they share its cores);
- ``("cuda", n)`` — n processes, one per GPU (GPUs 0 … n-1); ``("cuda", "All")`` every visible GPU;
- ``("cpu", "All")`` — one process per core this process may run on.

A :class:`Placement` says how many processes and which device each one uses, and which
``torch.distributed`` backend connects them (:func:`backend_for`: gloo between CPU processes,
NCCL between GPUs). The choices depend only on the value and on how many GPUs are visible, so
they are tested on a machine without a GPU by passing ``cuda_devices``.

>>> parse_target_device(("cpu", 2))
Placement(kind='cpu', processes=2, device='cpu')
>>> backend_for(parse_target_device(("cuda", 2), cuda_devices=4))
'nccl'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from .errors import NetError, closest
from .symbols import All

KINDS = ("cpu", "cuda")


@dataclass(frozen=True)
class Placement:
    """How a run is placed: ``processes`` processes, each on a ``kind`` device (``device`` for a single process)."""

    kind: str
    processes: int = 1
    device: str = "cpu"

    @property
    def distributed(self) -> bool:
        return self.processes > 1

    def device_for(self, local_rank: int) -> str:
        """The device of the process with this rank on its machine: the CPU, or GPU ``local_rank``."""
        if self.kind == "cpu":
            return "cpu"
        return self.device if self.processes == 1 and local_rank == 0 else f"cuda:{local_rank}"


def visible_cuda_devices() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def device_name(target_device: Any) -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` for a one-device target_device (Wolfram's "GPU" is "cuda")."""
    gpus = visible_cuda_devices()
    available = ["cpu", *(["cuda", *(f"cuda:{i}" for i in range(gpus))] if gpus else [])]
    listed = ", ".join(f'"{d}"' for d in available)
    name = target_device.lower() if isinstance(target_device, str) else None
    if name in ("gpu", "cuda"):
        name = "cuda"
    index = name[5:] if name is not None and name.startswith("cuda:") else None
    if name is None or (name not in ("cpu", "cuda") and not (index is not None and index.isdigit())):
        raise NetError(option="target_device", expected='"cpu", "cuda" (or "gpu") or "cuda:N"', received=target_device,
                       fix=f"This machine has {listed}.{closest(str(target_device), ['cpu', 'cuda'])}")
    if name.startswith("cuda") and name not in available:
        found = "no CUDA device" if len(available) == 1 else f"{len(available) - 2} CUDA devices"
        raise NetError(f"it asks for a CUDA GPU but this machine has {found}; the devices available are {listed}.", where=f'target_device="{target_device}"',
                       fix='Use target_device="cpu" here; "cuda" (or "gpu") selects a GPU on a machine with an NVIDIA GPU and a CUDA build of PyTorch.')
    return name


def _no_cuda(value: Any, where: str) -> NetError:
    return NetError(f"{where}: target_device={value!r} asks for CUDA GPUs, but no CUDA device is visible to this process "
                    f"(torch {torch.__version__}, a CUDA build: {torch.version.cuda is not None}).",
                    fix='Use ("cpu", n) for n processes on this machine\'s CPU; ("cuda", n) needs NVIDIA GPUs, their driver and a CUDA build of PyTorch '
                        "(and CUDA_VISIBLE_DEVICES must not hide the GPUs).")


def _kind(name: Any, value: Any, where: str) -> str:
    text = name.lower() if isinstance(name, str) else None
    if text == "gpu":
        text = "cuda"
    if text not in KINDS:
        raise NetError(option="target_device", where=where, expected='"cpu", "cuda", "cuda:N", ("cpu", n), ("cuda", n) or ("cuda", "All")', received=value,
                       fix=f"Name the kind of device first.{closest(str(name), KINDS)}")
    return text


def parse_target_device(value: Any, *, where: str = "NetTrain", cuda_devices: int | None = None) -> Placement:
    """Check a ``target_device`` value and say how it places the work (``cuda_devices``: how many GPUs to assume are visible, for tests)."""
    gpus = visible_cuda_devices() if cuda_devices is None else cuda_devices
    if isinstance(value, str):
        if cuda_devices is not None and value.lower() in ("cuda", "gpu") and cuda_devices > 0:
            return Placement("cuda", 1, "cuda")  # a test assuming GPUs on a machine without one
        name = device_name(value)
        return Placement("cuda" if name.startswith("cuda") else "cpu", 1, name)
    if isinstance(value, tuple | list) and len(value) == 2:
        kind = _kind(value[0], value, where)
        count = value[1]
        if kind == "cuda" and gpus == 0:
            raise _no_cuda(value, where)
        if count is All or count == "All":
            count = gpus if kind == "cuda" else usable_cores()
        elif isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise NetError(f'{where}: target_device={value!r}: the number of processes must be a positive int or "All"; received {count!r}.',
                           fix=f'Use ("{kind}", 2) for two processes, or "{kind}" for one.')
        elif kind == "cuda" and count > gpus:
            raise NetError(f"{where}: target_device={value!r} asks for {count} GPUs, but {gpus} CUDA device{'s are' if gpus != 1 else ' is'} visible.",
                           fix=f'Use ("cuda", {gpus}) or ("cuda", "All").')
        return Placement(kind, count, kind)
    raise NetError(option="target_device", where=where, expected='"cpu", "cuda", "cuda:N", ("cpu", n), ("cuda", n) or ("cuda", "All")', received=value,
                   fix='Give a device name, or a pair (device, number of processes).')


def evaluation_placement(value: Any, where: str, *, cuda_devices: int | None = None) -> Placement:
    """Where ``net(x)`` and NetMeasurements compute, for any target_device form.

    A one-device form computes in this process. ``("cpu", n)``, ``("cuda", n)`` and
    ``("cuda", "All")`` split the examples over n processes (:mod:`symnet.split_evaluation`):
    rank 0, this process, computes on ``placement.device_for(0)``, worker k on ``device_for(k)``.

    >>> evaluation_placement(("cuda", "All"), "NetChain", cuda_devices=2).device_for(1)
    'cuda:1'
    """
    if isinstance(value, str):
        name = device_name(value) if cuda_devices is None else value.lower().replace("gpu", "cuda")
        return Placement("cuda" if name.startswith("cuda") else "cpu", 1, name)
    return parse_target_device(value, where=where, cuda_devices=cuda_devices)


def backend_for(placement: Placement) -> str:
    """The torch.distributed backend between this placement's processes: NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if placement.kind == "cuda" else "gloo"


__all__ = ["Placement", "backend_for", "device_name", "evaluation_placement", "parse_target_device", "usable_cores", "visible_cuda_devices"]
