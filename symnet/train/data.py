"""Training data: the forms NetTrain accepts, turned into columns of tensors checked up front.

Data forms: a list of ``(input, target)`` pairs; a pair of arrays ``(inputs, targets)``; a dict
of port name → values; a symnet dataset (anything with ``arrays()`` or ``images``/``labels``); a
dataset name; or a generator function called with the batch size (optionally as
``(function, {"round_length": n})``).

In-memory data stays as one tensor per port, in its most compact form (uint8 images stay
uint8), and is encoded batch by batch with tensor operations: a training batch is an index
into these tensors, never a loop over examples.

Inputs go through the one data path, :func:`symnet.prepare.port_column` (the encoder bypass
rule, checks, padding of varying-length sequences), exactly as ``net(x)``'s do. A dataset's
uint8 images given to an input without an encoder are converted as the Image encoder would
convert them: channels first ((N, 28, 28) → (N, 1, 28, 28) for an input of shape (1, 28, 28);
unchanged for (28, 28)) and pixels scaled to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import InputError, NetError, closest
from ..layers.base import Layer
from ..prepare import Column, ImageArray, first_nonfinite, numeric_tensor, port_column
from .sequences import column_batch, is_varying, lengths_key

TARGET = "Target"
__all__ = ["Column", "Generated", "ImageArray", "Table", "first_nonfinite", "input_column", "numeric_tensor"]


@dataclass
class Table:
    """Columns of equal length, by port name (inputs by input port, targets by output port)."""

    columns: dict[str, Column]
    length: int

    def batch(self, index: torch.Tensor | slice) -> dict[str, torch.Tensor]:
        """The examples at ``index`` by port; a padded column's batch is cut to its longest
        example, with each example's length under ``lengths_key(port)``."""
        result = {}
        for name, column in self.columns.items():
            result[name], lengths = column_batch(column, index)
            if lengths is not None:
                result[lengths_key(name)] = lengths
        return result

    def subset(self, index: torch.Tensor) -> Table:
        return Table({name: column.subset(index) for name, column in self.columns.items()}, len(index))


@dataclass
class Generated:
    """Data from a function called with the batch size, for data that does not fit in memory."""

    function: Callable[[int], Any]
    round_length: int | None = None
    converter: Callable[[Any], Table] | None = field(default=None, repr=False)


def _marked_images(values: Any) -> Any:
    if isinstance(values, np.ndarray) and values.dtype == np.uint8 and values.ndim in (3, 4):
        return values.view(ImageArray)
    return values


def is_dataset(data: Any) -> bool:
    return hasattr(data, "arrays") or (hasattr(data, "images") and hasattr(data, "labels"))


def _dataset_columns(data: Any) -> tuple[Any, Any, Any]:
    """(inputs, targets, class names or None) of a symnet dataset."""
    names = getattr(data, "class_names", None)
    if hasattr(data, "images") and hasattr(data, "labels"):
        return data.images, data.labels, names
    arrays = data.arrays()
    if isinstance(arrays, Mapping):
        values = list(arrays.values())
        return values[0], values[1], names
    return arrays[0], arrays[1], names


def load_named(name: str, where: str = "NetTrain", split: str = "train") -> Any:
    """The dataset a string names; text that names no dataset is a mistake in ``where``."""
    try:
        from .. import datasets
    except ImportError:
        raise NetError(f'{where}: the data "{name}" names a dataset, but symnet.datasets is not available in this installation.') from None
    try:
        return datasets.load(name, split=split)
    except NetError as error:
        prefix = "datasets.load: unknown dataset"
        if not str(error).startswith(prefix):
            raise
        # Text as data can only be a dataset's name: say so where the user wrote it.
        detail = str(error)[len(prefix):].strip()
        raise NetError(f"{where}: text is read as the name of a dataset, but there is no dataset {detail} "
                       "Otherwise give data as (inputs, targets), a list of pairs, a dict of ports or a dataset.") from None


def _length(values: Any) -> int:
    if isinstance(values, np.ndarray | torch.Tensor):
        return int(values.shape[0]) if values.ndim else 1
    return len(values)


def split_ports(data: Any, net: Layer, where: str) -> tuple[dict[str, Any], Any]:
    """The data as {port: values} (targets under the net's output port names) and class names of a dataset."""
    inputs, outputs = net.input_ports(), net.output_ports()
    if isinstance(data, str):
        data = load_named(data, where)
    class_names = None
    if is_dataset(data):
        x, y, class_names = _dataset_columns(data)
        data = (_marked_images(x), y)
    if isinstance(data, Mapping):
        known = (*inputs, *outputs, TARGET)
        for key in data:
            if key not in known:
                raise NetError(f'{where}: the data has a column "{key}", which is not a port of the net; its ports: {", ".join(inputs + outputs)}.{closest(str(key), known)}')
        columns = dict(data)
        if TARGET in columns and TARGET not in outputs and TARGET not in inputs:
            if len(outputs) != 1:
                raise NetError(f'{where}: the net has the outputs {", ".join(outputs)}; name the targets by output port instead of "Target".')
            columns[outputs[0]] = columns.pop(TARGET)
        return columns, class_names
    if isinstance(data, tuple) and len(data) == 2 and not _looks_like_one_pair(data):
        x, y = data
    elif isinstance(data, list | tuple):
        if not data:
            raise NetError(f"{where}: the data is empty; give at least one example.")
        if all(isinstance(item, Mapping) for item in data[:1]):
            keys = list(data[0])
            return split_ports({k: [item[k] for item in data] for k in keys}, net, where), class_names
        for position, item in enumerate(data):
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise NetError(f"{where}: example {position} is {_short(item)}, not an (input, target) pair; give a list of pairs, or a pair of arrays (inputs, targets).")
        x = [item[0] for item in data]
        y = [item[1] for item in data]
        # sequences of different lengths for a "Varying" input stay a list: the data path pads them
        ragged = len(inputs) == 1 and is_varying(net.types[inputs[0]]) and len({np.shape(v) for v in x}) > 1  # type: ignore[index]
        if all(isinstance(v, np.ndarray | torch.Tensor | int | float) for v in x[:1]) and not ragged:
            x = _stack(x, where, "inputs")
    else:
        raise NetError(f"{where}: {type(data).__name__} is not a form of training data; give (inputs, targets), a list of (input, target) pairs, a dict of port → values, a dataset or a function of the batch size.")
    if len(outputs) != 1:
        raise NetError(f'{where}: the net has the outputs {", ".join(outputs)}; give the data as a dict of port name → values.')
    if len(inputs) == 1:
        return {inputs[0]: x, outputs[0]: y}, class_names
    if isinstance(x, Mapping):
        return {**x, outputs[0]: y}, class_names
    raise NetError(f'{where}: the net has the inputs {", ".join(inputs)}; give the data as a dict of port name → values.')


def _looks_like_one_pair(data: tuple[Any, Any]) -> bool:
    """``(x, y)`` with scalar or single-example parts is a one-element list of pairs, not two columns."""
    return all(isinstance(part, int | float | str) for part in data)


def _stack(values: list[Any], where: str, what: str) -> Any:
    try:
        return np.stack([np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v) for v in values])
    except ValueError:
        shapes = [np.shape(v) for v in values]
        first = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise NetError(f"{where}: the {what} have different shapes: example 0 has shape {shapes[0]} but example {first} has {shapes[first]}.") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "…"


def check_lengths(columns: Mapping[str, Any], where: str) -> int:
    lengths = {name: _length(values) for name, values in columns.items()}
    if not lengths:
        raise NetError(f"{where}: the data has no columns.")
    counts = set(lengths.values())
    if len(counts) > 1:
        text = ", ".join(f"{name}: {count}" for name, count in lengths.items())
        shortest = min(lengths.values())
        raise NetError(f"{where}: the inputs and targets have different lengths ({text}); example {shortest} is the first without a partner. Give one target per input example.")
    count = counts.pop()
    if count == 0:
        raise NetError(f"{where}: the data is empty; give at least one example.")
    return count


def check_example_shape(tensor: torch.Tensor, dims: Sequence[Any] | None, where: str, what: str) -> None:
    if dims is None:
        return
    actual = tuple(tensor.shape[1:])
    if len(actual) != len(dims) or any(isinstance(d, int) and d != a for d, a in zip(dims, actual)):
        shown = "(" + ", ".join("?" if not isinstance(d, int) else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
        raise InputError(f"{where}: the {what} must each have shape {shown} but example 0 has shape {actual}.")


def input_column(net: Layer, port: str, values: Any, coder: Any, dtype: torch.dtype, where: str) -> Column:
    """One input port's examples, checked, with their per-batch encoding: the one data path
    (:func:`symnet.prepare.port_column`) reading the data as a batch."""
    column, _ = port_column(net, port, values, coder, dtype, f"{where}: input {port}", batch=True)
    return column


def integer_values(tensor: torch.Tensor, bound: int | None, where: str, what: str) -> torch.Tensor:
    """Integers (class indices) as int64, checked against ``0 … bound-1``; errors name the example."""
    if tensor.is_floating_point():
        bad = first_nonfinite(tensor)
        if bad is not None:
            raise InputError(f"{where}: example {bad} contains NaN or infinite values; remove or replace those examples (for instance with numpy.nan_to_num) before training.")
        fractional = (tensor != tensor.round()).reshape(tensor.shape[0], -1).any(dim=1)
        if bool(fractional.any()):
            position = int(fractional.nonzero()[0, 0])
            raise InputError(f"{where}: the {what} must be integers but example {position} is {_short(tensor[position].tolist())}.")
    tensor = tensor.to(torch.int64)
    if bound is not None and tensor.numel():
        outside = ((tensor < 0) | (tensor >= bound)).reshape(tensor.shape[0], -1).any(dim=1)
        if bool(outside.any()):
            position = int(outside.nonzero()[0, 0])
            raise InputError(f"{where}: the {what} must be integers in 0 … {bound - 1} but example {position} is {_short(tensor[position].tolist())}.")
    return tensor


def scaled_fraction(value: Any) -> float | None:
    """The fraction of a ``Scaled(f)`` validation set, else None."""
    if type(value).__name__ == "Scaled" and hasattr(value, "factor"):
        return float(value.factor)
    return None


def split_off(table: Table, fraction: float, generator: torch.Generator, classes: torch.Tensor | None, where: str) -> tuple[Table, Table]:
    """(training, validation): a shuffled fraction split off, stratified by class when given."""
    if not 0 < fraction < 1:
        raise NetError(f"{where}: validation_set=Scaled({fraction}) must be a fraction between 0 and 1.")
    order = torch.randperm(table.length, generator=generator)
    if classes is not None:
        held: list[torch.Tensor] = []
        shuffled = classes[order]
        for label in torch.unique(shuffled):
            members = order[shuffled == label]
            held.append(members[: int(round(len(members) * fraction))])
        validation = torch.cat(held)
        mask = torch.ones(table.length, dtype=torch.bool)
        mask[validation] = False
        training = order[mask[order]]
    else:
        count = int(round(table.length * fraction))
        validation, training = order[:count], order[count:]
    if len(validation) == 0 or len(training) == 0:
        raise NetError(f"{where}: validation_set=Scaled({fraction}) leaves {len(training)} training and {len(validation)} validation examples of {table.length}; use more data or another fraction.")
    return table.subset(training), table.subset(validation)
