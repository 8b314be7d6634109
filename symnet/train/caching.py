"""Frozen features, computed once: NetTrain trains a net's head on the cached output of its frozen front.

When ``learning_rate_multipliers`` freeze the front of a net (``{"classifier": 1, "*": 0}`` on a
pretrained feature extractor with a new classifier), every round would push each example through
the same frozen layers again and get the same numbers. Here NetTrain finds that frozen front,
evaluates it once per example (training and validation sets, in batches, in evaluation mode, in
the training's precision) and trains the rest of the net on the stored features: rounds after
the first cost only the head.

The front that is cached is the part of the net computed from its input by layers that

- have all their learned arrays frozen (multiplier 0) — at least one such array, so that an
  ordinary NetTrain is untouched; layers without arrays (pooling, flatten) join it;
- draw no random numbers while training: no ``DropoutLayer`` (p > 0), ``ImageAugmentationLayer``,
  attention with dropout, ``FunctionLayer`` (whose randomness NetTrain cannot know), nor any layer
  that declares ``random_in_training = True``. A frozen batch norm normalizes with its moving
  statistics in training too (see ``BatchNormalizationLayer``), so it is deterministic.

It must meet the trained part at one wire (a chain, nested chains, or a graph whose frozen part
ends in one port feeding the head). The cut is a pair of :class:`~symnet.engine.Plan`\\ s over the
net's own wires and leaf paths: the runner trains the head plan, so its arrays, the checkpoints,
the results and ``"TrainedNet"`` are by the full net's paths and hold the full net.

Not cached (``results["AutomaticChoices"]["cache_frozen_features"]`` says why): generated data
(each batch is new), a front whose output varies in length (its input may: the front gets each
example's length, as in training), features that would not fit in memory,
distributed training (each process would cache its own share; the distributed runner passes
``distributed=True``), and ``cache_frozen_features=False``.

The result equals uncached training with the same seed to float tolerance: the frozen layers
compute the same function in both, the random numbers drawn (batch order, the head's dropout)
are the same, and the optimizer sees the same trainable arrays in the same order.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import torch

from ..engine import CompiledNet, Plan, batch_slices, run_batches
from ..layers.base import Layer
from .data import Column, Table
from .options import check_globs_match, multiplier_for, parse_multipliers
from .prepared import TrainingData

OPTION = "cache_frozen_features"
RANDOM_KINDS = ("ImageAugmentationLayer",)
UNKNOWN_KINDS = ("FunctionLayer",)  # user code: whether it is random cannot be known
CONVOLUTIONS = ("ConvolutionLayer", "DeconvolutionLayer", "PoolingLayer")
MEMORY_FRACTION = 0.5  # the features may take at most this share of the memory available now


@dataclass(frozen=True)
class Cached:
    """What the runner trains: the data (cached features as the input column when cached), the
    plan of the part to run, its learning-rate multipliers, and what to say in AutomaticChoices."""

    data: TrainingData
    plan: Plan
    multipliers: Any
    automatic: dict[str, Any]


@dataclass(frozen=True)
class Split:
    """A net cut in two at one wire: the frozen front (``prefix``) and the rest (``head``)."""

    prefix: Plan
    head: Plan
    wire: int
    dims: tuple[Any, ...]
    layers: int
    last: tuple[str, ...]
    multipliers: list[tuple[tuple[str, ...], float]]


def cache_frozen_features(net: Layer, plan: Plan, data: TrainingData, config: Any, device: str, dtype: torch.dtype, mixed: bool,
                          *, distributed: bool = False) -> Cached:
    """The data and plan NetTrain's runner trains: the head on cached features when the front is frozen, else everything."""
    unchanged = Cached(data, plan, config.learning_rate_multipliers, {})
    found = frozen_split(net, plan, data.terms, config.learning_rate_multipliers)
    if found is None:
        return unchanged
    if isinstance(found, str):
        return dataclasses.replace(unchanged, automatic={OPTION: f"not cached: {found}"})
    split = found
    port = net.input_ports()[0]
    count = data.examples + (data.validation.length if data.validation is not None else 0)
    size = count * math.prod(split.dims) * torch.empty((), dtype=dtype).element_size()
    reason = None
    if not config.cache_frozen_features:
        reason = f"{OPTION}=False"
    elif distributed:
        reason = "the training is distributed (each process would cache only its share)"
    elif data.generated is not None:
        reason = "the data is a generator function (each batch is new)"
    elif size > MEMORY_FRACTION * available_memory():
        reason = f"the features would take {_bytes(size)}, more than {MEMORY_FRACTION:.0%} of the {_bytes(available_memory())} of memory available"
    if reason is not None:
        return dataclasses.replace(unchanged, automatic={OPTION: f"not cached: {reason}"})
    start = time.perf_counter()
    module = _prefix_module(net, split, device, dtype)
    table = _cached_table(module, data.table, port, split, device, dtype, mixed)
    validation = _cached_table(module, data.validation, port, split, device, dtype, mixed) if data.validation is not None else None
    seconds = time.perf_counter() - start
    what = f"{split.layers} frozen layers through {'/'.join(split.last)}"
    shape = "(" + ", ".join(map(str, split.dims)) + ("," if len(split.dims) == 1 else "") + ")"
    said = f"{what} computed once: {count} examples × {shape} {str(dtype).removeprefix('torch.')} = {_bytes(size)} in {seconds:.1f} s"
    cached_data = dataclasses.replace(data, table=table, validation=validation)
    return Cached(cached_data, split.head, split.multipliers, {OPTION: said})


# -- finding the frozen front -------------------------------------------------------------------
def frozen_split(net: Layer, plan: Plan, terms: list[Any], multipliers: Any) -> Split | str | None:
    """The net cut after its frozen, deterministic front; a reason (str) when a frozen front exists
    but cannot be cut off; None when nothing at the front is frozen."""
    rules = parse_multipliers(multipliers, net)
    if not any(rule.factor == 0 for rule in rules) or len(net.input_ports()) != 1:
        return None  # nothing frozen (every ordinary NetTrain), or several inputs: train as usual
    check_globs_match(rules, [path for path, _ in plan.leaves])

    def frozen(index: int) -> bool:
        path, leaf = plan.leaves[index]
        return all(multiplier_for(rules, path, name) == 0 for name in _learned(leaf))

    front: list[int] = []  # positions in plan.steps of the frozen, deterministic front
    reached = set(plan.inputs.values())
    blocked = None
    for position, (index, ins, outs) in enumerate(plan.steps):
        if not set(ins) <= reached:
            continue
        members = _step_leaves(plan, index)
        if not all(frozen(i) for i in members):
            continue
        random = next((plan.leaves[i] for i in members if _random(plan.leaves[i][1])), None)
        if random is not None:
            blocked = blocked or random
            continue
        front.append(position)
        reached.update(outs)
    front_leaves = [i for position in front for i in _step_leaves(plan, plan.steps[position][0])]
    if not any(_learned(plan.leaves[i][1]) for i in front_leaves):
        if blocked is not None:
            path, layer = blocked
            return f"the frozen layer {'/'.join(path)} ({layer.kind}) draws random numbers in training, so its output differs each round"
        return None
    in_front = set(front)
    produced = {w for position in front for w in plan.steps[position][2]} | set(plan.inputs.values())
    cut = sorted({w for position, (_, ins, _) in enumerate(plan.steps) if position not in in_front for w in ins if w in produced})
    if any(term.wire in produced for term in terms) or any(w in produced for w in plan.outputs.values()):
        return "a loss or an output of the net reads the frozen layers directly"
    if len(cut) != 1:
        return f"the frozen layers meet the trained ones at {len(cut)} places (caching needs one)"
    wire = cut[0]
    if wire in plan.inputs.values():
        return None
    index, _, outs = next(plan.steps[p] for p in front if wire in plan.steps[p][2])
    layer = plan.leaves[index][1]
    dims = tuple(layer.types[layer.output_ports()[outs.index(wire)]].dims)  # type: ignore[index]
    if not all(isinstance(d, int) for d in dims):
        return "the frozen layers' output varies in length"
    head_steps = [position for position in range(len(plan.steps)) if position not in in_front]
    head = _sub_plan(plan, head_steps, inputs={p: wire for p in plan.inputs}, outputs=dict(plan.outputs))
    prefix = _sub_plan(plan, front, inputs=dict(plan.inputs), outputs={p: wire for p in plan.outputs})
    input_rank = len(net.types[net.input_ports()[0]].dims or ())  # type: ignore[index]
    if input_rank == 3 and len(dims) != 3 and any(leaf.kind in CONVOLUTIONS for _, leaf in head.leaves):
        # the runner lays out an image input's batches channels-last when the net it trains convolves
        return "the trained layers convolve features that are not images"
    head_multipliers = [((*path, name), multiplier_for(rules, path, name)) for path, leaf in head.leaves for name in _learned(leaf)]
    return Split(prefix, head, wire, dims, len(front_leaves), plan.leaves[max(front_leaves)][0], head_multipliers)


def _learned(layer: Layer) -> list[str]:
    """The arrays gradients train (not a batch norm's moving statistics)."""
    state = set(layer.state_array_names())
    return [name for name in layer.array_names() if name not in state]


def _random(layer: Layer) -> bool:
    """Whether a layer may draw random numbers while training."""
    if getattr(layer, "random_in_training", False) or layer.kind in RANDOM_KINDS or layer.kind in UNKNOWN_KINDS:
        return True
    if layer.kind == "DropoutLayer":
        return bool(layer.p > 0)  # type: ignore[attr-defined]
    rate = getattr(layer, "dropout", 0)
    return isinstance(rate, int | float) and rate > 0


def _step_leaves(plan: Plan, index: int) -> list[int]:
    """The leaf of a step and, for an operator (NetMapOperator …), the leaves of its member nets."""
    found = [index]
    for sub in plan.members.get(index, {}).values():
        for inner, _, _ in sub.steps:
            found += _step_leaves(plan, inner)
    return found


def _sub_plan(plan: Plan, positions: list[int], inputs: dict[str, int], outputs: dict[str, int]) -> Plan:
    """The steps at ``positions`` of ``plan`` as a plan of their own, on the same wires and leaf paths."""
    kept = sorted({i for position in positions for i in _step_leaves(plan, plan.steps[position][0])})
    renumbered = {old: new for new, old in enumerate(kept)}
    leaves = [plan.leaves[i] for i in kept]
    members: dict[int, dict[str, Plan]] = {}

    def moved(sub: Plan) -> Plan:
        return dataclasses.replace(sub, leaves=leaves, steps=[(renumbered[i], ins, outs) for i, ins, outs in sub.steps], members=members)

    for old, subs in plan.members.items():
        if old in renumbered:
            members[renumbered[old]] = {key: moved(sub) for key, sub in subs.items()}
    steps = [(renumbered[plan.steps[p][0]], plan.steps[p][1], plan.steps[p][2]) for p in positions]
    return dataclasses.replace(plan, leaves=leaves, steps=steps, inputs=inputs, outputs=outputs, members=members)


# -- computing the features ---------------------------------------------------------------------
def _prefix_module(net: Layer, split: Split, device: str, dtype: torch.dtype) -> CompiledNet:
    module = CompiledNet(net, split.prefix).to(device=device, dtype=dtype).eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    input_rank = len(net.types[net.input_ports()[0]].dims or ())  # type: ignore[index]
    if input_rank == 3 and dtype != torch.float64 and any(leaf.kind in CONVOLUTIONS for _, leaf in split.prefix.leaves):
        # as net(x) and the runner do: the CPU's convolution kernels are faster channels-last
        module = module.to(memory_format=torch.channels_last)
        module.channels_last = True
    return module


def _cached_table(module: CompiledNet, table: Table, port: str, split: Split, device: str, dtype: torch.dtype, mixed: bool) -> Table:
    """``table`` with its input column replaced by the frozen front's output for each example."""
    column = table.columns[port]
    features = torch.empty((table.length, *split.dims), dtype=dtype)
    per_example = math.prod(column.batch(slice(0, 1)).shape[1:])
    with torch.no_grad():
        for part in batch_slices(table.length, None, per_example):
            # encode a batch at a time (an image encoder's resizing) so the encoded inputs never all exist at once
            # sequences of varying length: the front gets each example's length, as in training; its output has a fixed shape
            lengths = {port: column.lengths[part]} if column.lengths is not None else None
            (value,) = run_batches(module, {port: column.batch(part)}, [split.wire], lengths=lengths, batch_size=part.stop - part.start, device=device, mixed=mixed)
            features[part] = value.to("cpu", dtype)
    return Table({**table.columns, port: Column(features)}, table.length)


def available_memory() -> int:
    """Bytes of memory available now (Linux's MemAvailable; the free pages elsewhere)."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**31


def _bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"
