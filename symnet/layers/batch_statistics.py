"""Batch normalization over the global batch of a distributed run (what torch calls SyncBatchNorm).

Under DistributedDataParallel each process trains on its share of a batch; a batch norm that
took its statistics from that share alone would normalize with a different mean and variance
on each process, and an N-process run would no longer equal a 1-process run. Inside
:func:`over_processes` (which the distributed runner enters around each training forward pass),
:class:`~symnet.layers.norm.BatchNormalizationLayer` takes its mean and variance over the
examples of every process instead: each process all-reduces its per-channel sums with
:class:`_AllReduce`, whose backward all-reduces the gradients of the statistics, so each
process's gradients are those of the global batch too (torch's
``torch.distributed.nn.functional.all_reduce`` does the same, but is deprecated in torch 2.13).

torch's own ``nn.SyncBatchNorm`` refuses CPU tensors and only converts ``nn.BatchNorm`` modules;
symnet's layers are functions of their arrays, so the two all-reductions are written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.distributed as dist

# the weight of this process's examples in the global statistics: 1, or 0 for a process whose
# share of a batch is empty and that runs a stand-in example only to join the collectives
_WEIGHT: ContextVar[float | None] = ContextVar("symnet_batch_statistics_weight", default=None)


@contextmanager
def over_processes(weight: float = 1.0) -> Iterator[None]:
    """Batch normalization inside this block takes its statistics over every process of the default process group."""
    token = _WEIGHT.set(weight)
    try:
        yield
    finally:
        _WEIGHT.reset(token)


def shared_weight() -> float | None:
    """This process's weight in the global statistics when inside :func:`over_processes`, else None."""
    return _WEIGHT.get()


class _AllReduce(torch.autograd.Function):
    """The sum over the processes, differentiable: the gradient of each process's part is the sum of every process's gradient of the total."""

    @staticmethod
    def forward(context: object, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(context: object, gradient: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = gradient.clone()
        dist.all_reduce(total)
        return total


def global_batch_norm(x: torch.Tensor, moving_mean: torch.Tensor, moving_variance: torch.Tensor, scaling: torch.Tensor, biases: torch.Tensor,
                      *, momentum: float, epsilon: float, weight: float) -> torch.Tensor:
    """``F.batch_norm(..., training=True)`` with the mean and variance of the examples of every process.

    Channels are axis 1 (after the batch axis). ``momentum`` is torch's (the weight of the new
    statistics); the moving variance takes the unbiased variance, as ``F.batch_norm`` does.
    Two all-reductions (the sums, then the squared deviations from the global mean) keep the
    variance as exact as one process's two-pass computation.
    """
    compute = x if x.dtype in (torch.float32, torch.float64) else x.float()  # bfloat16 under autocast: statistics in float32, as F.batch_norm
    axes = [0, *range(2, x.dim())]
    shape = [1, -1] + [1] * (x.dim() - 2)
    count = torch.tensor([x.numel() // x.shape[1] * weight], dtype=compute.dtype, device=x.device)
    sums = _AllReduce.apply(torch.cat([compute.sum(axes) * weight, count]))
    total = sums[-1]
    mean = sums[:-1] / total
    deviations = compute - mean.view(shape)
    squares = _AllReduce.apply((deviations * deviations).sum(axes) * weight)
    variance = squares / total
    with torch.no_grad():
        unbiased = variance * total / (total - 1).clamp_min(1)
        moving_mean.mul_(1 - momentum).add_(mean.detach().to(moving_mean.dtype), alpha=momentum)
        moving_variance.mul_(1 - momentum).add_(unbiased.detach().to(moving_variance.dtype), alpha=momentum)
    normalized = deviations * torch.rsqrt(variance + epsilon).view(shape)
    return normalized * scaling.view(shape) + biases.view(shape)


__all__ = ["global_batch_norm", "over_processes", "shared_weight"]
