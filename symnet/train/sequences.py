"""NetTrain on sequences of different lengths: padded batches, their lengths, bucketing.

A column of varying-length sequences (an input, or the targets of a sequence output) is padded
with zeros to its longest example once, when the data is prepared, and each example's length
is kept (``Column.lengths``). A training batch drawn from it

- is cut to the longest example *of the batch* (so batches of short sequences stay short);
- carries each example's length beside the port's tensor, under :func:`lengths_key`, batch axis
  first: a runner that shares a batch between processes shares the lengths with it.

The runner passes the inputs' lengths to ``module.run``, and each loss gets the lengths of the
output it looks at: an example's loss is the mean over its own positions (what it gets alone),
and the batch loss the mean over the examples, so padding never counts. Measurements
(Accuracy …) of a sequence output count each real position once (:func:`real_positions`).

Bucketing (option ``bucketing``): a round's order puts examples of similar length in the same
batch, as torchtext's ``BucketIterator`` does: the shuffled examples are sorted by length within
pools of 100 batches, cut into batches, and the batches shuffled. Every example comes once per
round and the order depends only on the seed. ``Automatic`` uses it when it saves at least 5%
of the sequence positions of a round (estimated on one shuffled round before training).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..engine import Automatic, plan_wire_lengths
from ..errors import InputError, boolean
from ..layers.base import Layer
from ..prepare import Column
from ..types import VARYING, TensorType

LENGTHS = "/Lengths"
POOL_BATCHES = 100  # torchtext's BucketIterator sorts pools of 100 batches
MINIMUM_SAVING = 0.05  # bucketing must save this fraction of a round's sequence positions


def lengths_key(port: str) -> str:
    """The batch entry holding each example's length on a padded ``port``."""
    return port + LENGTHS


def batch_lengths(batch: Mapping[str, torch.Tensor], ports: Sequence[str]) -> list[torch.Tensor | None] | None:
    """The lengths of ``ports`` in a batch, for ``module.run``; None when no port is padded."""
    found = [batch.get(lengths_key(port)) for port in ports]
    return found if any(length is not None for length in found) else None


def is_varying(port_type: TensorType | None) -> bool:
    return port_type is not None and bool(port_type.dims) and port_type.dims[0] == VARYING  # type: ignore[index]


def parse_bucketing(value: Any) -> Any:
    """The ``bucketing`` option: Automatic, True or False."""
    if value is Automatic:
        return value
    return boolean(value, where="NetTrain", option="bucketing")


# -- batches ------------------------------------------------------------------------------------
def column_batch(column: Column, index: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A batch of a column and its lengths; a padded column's batch is cut to its longest example."""
    if column.lengths is None:
        return column.batch(index), None
    lengths = column.lengths[index]
    chunk = column.values[index]
    longest = int(lengths.max()) if len(lengths) else 0
    if longest < chunk.shape[1]:
        chunk = chunk[:, :longest]
    return (column.encode(chunk) if column.encode is not None else chunk), lengths


def fit_length(tensor: torch.Tensor, length: int) -> torch.Tensor:
    """``tensor`` cut or zero-padded along its sequence axis (axis 1) to ``length``: a target
    batch is cut to its longest target, which the output's padded length may exceed."""
    if tensor.dim() < 2 or tensor.shape[1] == length:
        return tensor
    if tensor.shape[1] > length:
        return tensor[:, :length]
    padding = torch.zeros((tensor.shape[0], length - tensor.shape[1], *tensor.shape[2:]), dtype=tensor.dtype, device=tensor.device)
    return torch.cat([tensor, padding], dim=1)


def real_positions(scores: torch.Tensor, targets: torch.Tensor | None, lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A padded batch of sequence outputs (and targets) as one row per real position, what the
    measurements count; unchanged without lengths."""
    if lengths is None:
        return scores, targets
    real = torch.arange(scores.shape[1], device=scores.device).unsqueeze(0) < lengths.to(scores.device).unsqueeze(1)
    if targets is not None:
        targets = fit_length(targets, scores.shape[1])[real.to(targets.device)]
    return scores[real], targets


# -- checks -------------------------------------------------------------------------------------
def _full_lengths(column: Column) -> torch.Tensor:
    """Every example's length in a column that is not padded: its sequence axis, encoded."""
    return torch.full((len(column),), int(column.batch(slice(0, 1)).shape[1]), dtype=torch.int64)


def check_target_lengths(net: Layer, plan: Any, columns: Mapping[str, Column], terms: Sequence[Any], where: str) -> None:
    """Each sequence target must be as long as the output the net computes for its example."""
    inputs = net.input_ports()
    for term in terms:
        target = columns.get(term.port) if term.needs_target else None
        if target is None or not is_varying(term.layer.types["Target"]):
            continue
        given = [columns[p].lengths if columns[p].lengths is not None else _full_lengths(columns[p]) if is_varying(net.types[p]) else None for p in inputs]  # type: ignore[index]
        (expected,) = plan_wire_lengths(plan, [plan.outputs[term.port]], given)
        if expected is None:
            continue
        actual = target.lengths if target.lengths is not None else _full_lengths(target)
        wrong = (actual != expected).nonzero()
        if len(wrong):
            example = int(wrong[0, 0])
            source = next((f" (its input {p} has {int(length[example])})" for p, length in zip(inputs, given) if length is not None), "")
            raise InputError(f"{where}: target {term.port}: example {example} is a sequence of {int(actual[example])} elements, but the net's output {term.port} "
                             f"has {int(expected[example])} for that example{source}; give each example a target sequence exactly as long as its output.")
        empty = (expected == 0).nonzero()
        if len(empty):
            raise InputError(f"{where}: target {term.port}: the net's output {term.port} is an empty sequence for example {int(empty[0, 0])}, "
                             "so its loss has no position to average; remove that example or give it a longer input.")


# -- bucketing ----------------------------------------------------------------------------------
def bucket_key(table: Any) -> torch.Tensor | None:
    """Each example's total length over the padded columns (None when nothing is padded)."""
    lengths = [column.lengths for column in table.columns.values() if column.lengths is not None]
    if not lengths:
        return None
    return torch.stack(lengths).sum(dim=0)


def by_length(table: Any) -> Any:
    """A table of sequences sorted by length (unchanged without padded columns): evaluation runs
    over it in consecutive chunks, and sorted chunks hold little padding. The order of the
    examples does not matter to a loss or a measurement."""
    key = bucket_key(table)
    return table if key is None else table.subset(torch.sort(key, stable=True).indices)


def bucketed_order(key: torch.Tensor, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A round's order of examples: batches of similar ``key`` (length), in shuffled order; the
    one incomplete batch, if any, last (the loop takes batches as consecutive slices)."""
    count = len(key)
    shuffled = torch.randperm(count, generator=generator)
    pool = batch_size * POOL_BATCHES
    pieces = [members[torch.sort(key[members], stable=True).indices] for members in shuffled.split(pool)]
    ordered = torch.cat(pieces)
    full = count // batch_size * batch_size
    batches = ordered[:full].view(-1, batch_size)
    batches = batches[torch.randperm(len(batches), generator=generator)]
    return torch.cat([batches.reshape(-1), ordered[full:]])


def padding_fraction(table: Any, order: torch.Tensor, batch_size: int) -> float:
    """The fraction of the padded columns' positions that are padding, over a round in ``order``."""
    positions = real = 0
    count = len(order)
    batches = -(-count // batch_size)
    sizes = torch.full((batches,), batch_size, dtype=torch.int64)
    sizes[-1] = count - (batches - 1) * batch_size
    for column in table.columns.values():
        if column.lengths is None:
            continue
        ordered = torch.zeros(batches * batch_size, dtype=torch.int64)
        ordered[:count] = column.lengths[order]
        positions += int((ordered.view(batches, batch_size).amax(dim=1) * sizes).sum())
        real += int(column.lengths.sum())
    return 1 - real / positions if positions else 0.0


def choose_bucketing(table: Any, batch_size: int, setting: Any, seed: int) -> tuple[torch.Tensor | None, str | None]:
    """(the bucketing key, or None for shuffled batches) and what AutomaticChoices says of it."""
    key = bucket_key(table)
    if key is None:
        return None, None
    # the estimate draws from its own generator: the training's random stream stays as it was
    generator = torch.Generator().manual_seed(seed)
    without = padding_fraction(table, torch.randperm(table.length, generator=generator), batch_size)
    within = padding_fraction(table, bucketed_order(key, batch_size, generator), batch_size)
    use = (without - within >= MINIMUM_SAVING) if setting is Automatic else bool(setting)
    padding = f"padding is {100 * without:.0f}% of the sequence positions in shuffled batches, {100 * within:.0f}% in batches by length"
    return (key if use else None), f"{'by length' if use else 'off'} ({padding})"
