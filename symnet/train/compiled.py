"""NetTrain's ``compile=True``: a training step's forward pass and losses as one ``torch.compile`` graph.

:class:`TrainingForward` compiles, with ``fullgraph=True``, a function of the batch's inputs and
targets that runs the compiled net up to the wires the losses read and sums the weighted losses:
Dynamo traces the whole step into one graph (the backward follows from it through AOTAutograd),
or raises, in which case the step stays eager and :attr:`TrainingForward.fallback` says why —
never the silent mix of graph fragments and per-layer recompiles a graph break would cause.

What keeps the trace whole:

- every leaf's :meth:`~symnet.layers.base.Layer.prepare_forward` runs first, so no layer fills a
  cache while it is traced (a dict changed inside the graph makes Dynamo break the graph at each
  later read of a layer's ``types``, a mappingproxy);
- the shapes are static and compiled once, for the first batch: a batch of another shape (the
  last, smaller batch of a round: NetTrain neither pads nor drops it) runs the same module eagerly
  (one batch a round; a second compile, static or dynamic, costs more than it saves);
- max pooling stays torch's kernels (:func:`opaque_max_pooling`, custom operators inductor
  calls as they are): inductor's own max-pooling backward was 4x slower on the notebook CNN;
- the step is one module-level function, so Dynamo's guards (on the layers' hyperparameters and
  the arrays' shapes, not on the objects) let a later NetTrain of the same net reuse its graph:
  retraining a net in a notebook or a benchmark's repeats compile once. Dynamo keeps at most
  ``torch._dynamo.config.recompile_limit`` (8) graphs per function; a process that trains more
  different nets with ``compile=True`` trains the rest eagerly (torch warns), unless it raises
  that limit.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from ..engine import CompiledNet, Plan
from .losses import LossTerm, weighted_loss


def _step(module: CompiledNet, wires: Sequence[int], terms: Sequence[LossTerm], inputs: list[torch.Tensor],
          targets: list[torch.Tensor | None]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The weighted loss of a batch and the values the losses look at (what the runner's eager forward computes)."""
    values = module.run(inputs, wires)
    return weighted_loss(terms, values, targets), values


class TrainingForward:
    """The compiled loss and values of a training batch; ``None`` where the batch runs eagerly."""

    def __init__(self, module: CompiledNet, wires: Sequence[int], terms: Sequence[LossTerm], plan: Plan) -> None:
        for _, layer in plan.leaves:
            layer.prepare_forward()
        self.module, self.wires, self.terms = module, tuple(wires), tuple(terms)
        self._compiled = torch.compile(_step, fullgraph=True, dynamic=False)
        self._shapes: tuple[Any, ...] | None = None
        #: why the steps run eagerly after all (Dynamo could not trace the net as one graph), or None
        self.fallback: str | None = None

    def __call__(self, inputs: list[torch.Tensor], targets: list[torch.Tensor | None]) -> tuple[torch.Tensor, list[torch.Tensor]] | None:
        if self.fallback is not None:
            return None
        shapes = tuple(None if x is None else (x.shape, x.dtype) for x in (*inputs, *targets))
        if self._shapes is None:
            self._shapes = shapes
        elif shapes != self._shapes:
            return None
        try:
            return self._compiled(self.module, self.wires, self.terms, inputs, targets)  # type: ignore[no-any-return]
        except (torch._dynamo.exc.Unsupported, torch._dynamo.exc.BackendCompilerFailed) as error:
            self.fallback = str(error).strip().splitlines()[0]
            return None


# -- max pooling as torch's own kernels ---------------------------------------------------------
# Inductor generates its own max-pooling backward (a gather over each input element's windows,
# fused with what surrounds it); on the notebook CNN it took 27 ms a batch against 7 ms for torch's
# kernel and its zero fill (torch.profiler, batch 128, 1 thread). Wrapped as custom operators,
# the pooling and its backward stay calls of torch's kernels inside the compiled graph.
@torch.library.custom_op("symnet::max_pool2d", mutates_args=())
def _max_pool2d(x: torch.Tensor, kernel: list[int], stride: list[int], padding: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.ops.aten.max_pool2d_with_indices(x, kernel, stride, padding)  # type: ignore[no-any-return]


@_max_pool2d.register_fake
def _(x: torch.Tensor, kernel: list[int], stride: list[int], padding: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.ops.aten.max_pool2d_with_indices(x, kernel, stride, padding)  # type: ignore[no-any-return]


@torch.library.custom_op("symnet::max_pool2d_backward", mutates_args=())
def _max_pool2d_backward(grad: torch.Tensor, x: torch.Tensor, kernel: list[int], stride: list[int], padding: list[int], indices: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, kernel, stride, padding, [1, 1], False, indices)  # type: ignore[no-any-return]


@_max_pool2d_backward.register_fake
def _(grad: torch.Tensor, x: torch.Tensor, kernel: list[int], stride: list[int], padding: list[int], indices: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, kernel, stride, padding, [1, 1], False, indices)  # type: ignore[no-any-return]


def _setup(ctx: Any, inputs: tuple[Any, ...], output: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, kernel, stride, padding = inputs
    ctx.save_for_backward(x, output[1])
    ctx.geometry = (kernel, stride, padding)


def _backward(ctx: Any, grad: torch.Tensor, _: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
    x, indices = ctx.saved_tensors
    return _max_pool2d_backward(grad, x, *ctx.geometry, indices), None, None, None


_max_pool2d.register_autograd(_backward, setup_context=_setup)


def _opaque_max_pool2d(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int]) -> torch.Tensor:
    return _max_pool2d(x, list(kernel), list(stride), list(padding))[0]


def opaque_max_pooling(plan: Plan) -> Plan:
    """``plan`` with each 2D max pooling a copy of its layer that pools with :func:`_opaque_max_pool2d`."""
    leaves = list(plan.leaves)
    for index, (path, layer) in enumerate(leaves):
        forward_plan = getattr(layer, "_plan", None)
        if layer.kind != "PoolingLayer" or forward_plan is None or forward_plan[0] is not F.max_pool2d:
            continue
        pooling = copy.copy(layer)
        object.__setattr__(pooling, "_plan", (_opaque_max_pool2d, *forward_plan[1:]))
        leaves[index] = (path, pooling)
    return replace(plan, leaves=leaves)
