"""Which loss NetTrain attaches to which output, and how targets are encoded to match.

Automatic rules (Wolfram's): when the net already has outputs computed by loss layers, those
outputs are the loss (summed) and the other outputs get none; otherwise an output with a Class
decoder, or one computed by a SoftmaxLayer, gets ``CrossEntropyLossLayer("Index")`` against
class indices (``"Probabilities"`` when the targets are probability vectors); an output
computed by a LogisticSigmoid gets
``CrossEntropyLossLayer("Binary")``; the distance a NetPairEmbeddingOperator computes gets
``ContrastiveLossLayer()`` (targets True/False); any other output gets ``MeanSquaredLossLayer()``. An
explicit ``loss_function`` overrides: an output port that already is a loss, a loss layer,
or a dict of port → loss layer / weight / ``(loss layer, weight)``.

When the output comes from a final softmax (or sigmoid) and the loss is a cross-entropy, the
loss is computed from the logits before it (``log_softmax``/``cross_entropy``), skipping the
softmax: faster, and exact where probabilities underflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..containers.pairembedding import NetPairEmbeddingOperator
from ..errors import InputError, NetError, closest
from ..layers.base import Layer
from ..layers.basic import ElementwiseLayer, SoftmaxLayer
from ..layers.loss import ContrastiveLossLayer, CrossEntropyLossLayer, LossLayer, MeanSquaredLossLayer
from ..prepare import padded, ragged
from .data import Column, check_example_shape, first_nonfinite, integer_values, numeric_tensor
from .sequences import fit_length


@dataclass
class LossTerm:
    """One loss: the output ``port`` it looks at, the loss layer (None when the port is itself
    a loss), its weight, and whether it is computed from the logits before a final activation."""

    port: str
    layer: LossLayer | None
    weight: float = 1.0
    fused: bool = False
    wire: int = -1

    @property
    def needs_target(self) -> bool:
        return self.layer is not None

    @property
    def classifier(self) -> bool:
        return isinstance(self.layer, CrossEntropyLossLayer) and self.layer.target_form in ("Index", "Probabilities")

    def loss(self, value: torch.Tensor, target: torch.Tensor | None, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The mean loss of a batch (a scalar tensor). ``lengths``: each example's length when
        ``value`` is a padded batch of sequences; an example's loss then averages its own
        positions only (symnet.train.sequences)."""
        value = at_least_float32(value)
        if self.layer is None:
            return value.mean()
        if lengths is not None and target is not None:
            target = fit_length(target, value.shape[1])
        if self.fused:
            return self.layer.from_logits(value, target, lengths).mean()  # type: ignore[arg-type]
        return self.layer.forward({}, value, target, lengths=lengths).mean()  # type: ignore[arg-type, call-arg]

    def scores(self, value: torch.Tensor) -> torch.Tensor:
        """The net's actual output (probabilities) from what the loss looks at."""
        if not self.fused:
            return value
        if isinstance(self.layer, CrossEntropyLossLayer) and self.layer.target_form == "Binary":
            return torch.sigmoid(value)
        return torch.softmax(at_least_float32(value), dim=-1)

    def describe(self) -> str:
        if self.layer is None:
            return f'the output "{self.port}" (a loss)'
        form = f'("{self.layer.target_form}")' if isinstance(self.layer, CrossEntropyLossLayer) else "()"
        weight = f" × {self.weight:g}" if self.weight != 1 else ""
        return f'{self.layer.kind}{form} on "{self.port}"{weight}' + (" (from logits)" if self.fused else "")


def weighted_loss(terms: Sequence[LossTerm], values: Sequence[torch.Tensor], targets: Sequence[torch.Tensor | None],
                  lengths: Sequence[torch.Tensor | None] | None = None) -> torch.Tensor:
    """A batch's loss: each term's mean loss on its value (and target, and lengths where padded) times its weight, summed."""
    loss = None
    for index, (term, value, target) in enumerate(zip(terms, values, targets)):
        part = term.loss(value, target, None if lengths is None else lengths[index]) * term.weight
        loss = part if loss is None else loss + part
    return loss  # type: ignore[return-value]


def at_least_float32(value: torch.Tensor) -> torch.Tensor:
    """The loss is summed in float32 under mixed precision (bfloat16 outputs) and stays float64 for Real64."""
    return value.float() if value.dtype in (torch.bfloat16, torch.float16) or not value.is_floating_point() else value


def last_layer(plan: Any, wire: int) -> tuple[Layer | None, int | None]:
    """The leaf layer that computes ``wire`` and the wire of its input."""
    for index, ins, outs in plan.steps:
        if wire in outs:
            return plan.leaves[index][1], (ins[0] if len(ins) == 1 else None)
    return None, None


def _is_sigmoid(layer: Layer | None) -> bool:
    return isinstance(layer, ElementwiseLayer) and layer.function in ("LogisticSigmoid", "Sigmoid")


def _is_class_decoder(coder: Any) -> bool:
    return coder is not None and hasattr(coder, "indices") and hasattr(coder, "decode")


def automatic_loss(net: Layer, port: str, coder: Any, producer: Layer | None, target: Any) -> LossLayer:
    """The loss Wolfram's rules choose for one output."""
    if isinstance(producer, NetPairEmbeddingOperator):
        return ContrastiveLossLayer()  # a distance, with targets True (different) / False (same)
    if _is_class_decoder(coder):
        return CrossEntropyLossLayer("Index")
    if isinstance(producer, SoftmaxLayer):
        output_rank = net.types[port].rank  # type: ignore[index]
        tensor = target if isinstance(target, torch.Tensor) else None
        if tensor is None and isinstance(target, np.ndarray):
            tensor = torch.from_numpy(target) if target.dtype != object else None
        if tensor is not None and output_rank is not None and tensor.dim() == output_rank + 1 and tensor.is_floating_point() and not torch.equal(tensor, tensor.round()):
            return CrossEntropyLossLayer("Probabilities")
        return CrossEntropyLossLayer("Index")
    if _is_sigmoid(producer):
        return CrossEntropyLossLayer("Binary")
    return MeanSquaredLossLayer()


def _weight(value: Any, where: str) -> float:
    if type(value).__name__ == "Scaled" and hasattr(value, "factor"):
        return float(value.factor)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise NetError(f"{where}: {value!r} is not a loss weight; use a number or Scaled(w).")


# names a user may write for a loss, and the layer that is that loss
LOSS_NAMES = {
    **{name: "MeanSquaredLossLayer()" for name in ("MeanSquare", "MeanSquared", "MeanSquaredLoss", "MeanSquaredLossLayer", "MSE", "L2")},
    **{name: "MeanAbsoluteLossLayer()" for name in ("MeanAbsolute", "MeanAbsoluteLoss", "MeanAbsoluteLossLayer", "MeanDeviation", "MAE", "L1")},
    **{name: 'CrossEntropyLossLayer("Index")' for name in ("CrossEntropy", "CrossEntropyLoss", "CrossEntropyLossLayer")},
}


def parse_loss_function(spec: Any, net: Layer, where: str) -> dict[str, tuple[LossLayer | None, float]] | None:
    """{output port: (loss layer or None for a port that is a loss, weight)}; None means automatic."""
    from ..engine import Automatic

    outputs = net.output_ports()
    where = f"{where}: loss_function"

    def port_name(name: Any) -> str:
        if name not in outputs and isinstance(name, str) and name in LOSS_NAMES:
            raise NetError(f'{where}: "{name}" is not an output port of the net, and a loss is given as a layer, not a name: '
                           f'use {LOSS_NAMES[name]}, or one of the output ports {", ".join(outputs)}.')
        if name not in outputs:
            raise NetError(f'{where}: the net has no output port "{name}"; its outputs: {", ".join(outputs)}.{closest(str(name), outputs)}')
        return name

    if spec is None or spec is Automatic:
        return None
    if isinstance(spec, LossLayer):
        if len(outputs) != 1:
            raise NetError(f"{where}: the net has the outputs {', '.join(outputs)}; say which gets the loss: loss_function={{\"{outputs[0]}\": ...}}.")
        return {outputs[0]: (spec, 1.0)}
    if isinstance(spec, str):
        return {port_name(spec): (None, 1.0)}
    if isinstance(spec, list | tuple):
        terms: dict[str, tuple[LossLayer | None, float]] = {}
        for item in spec:
            parsed = parse_loss_function(item, net, where.rsplit(": loss_function", 1)[0])
            terms.update(parsed or {})
        return terms
    if isinstance(spec, Mapping):
        terms = {}
        for name, value in spec.items():
            port = port_name(name)
            if isinstance(value, LossLayer):
                terms[port] = (value, 1.0)
            elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], LossLayer):
                terms[port] = (value[0], _weight(value[1], where))
            else:
                terms[port] = (None, _weight(value, where))
        return terms
    raise NetError(f"{where}: {spec!r} is not a loss specification; give an output port name, a loss layer such as CrossEntropyLossLayer(\"Index\"), or a dict of port → loss layer or weight.")


def existing_losses(net: Layer, plan: Any) -> dict[str, tuple[LossLayer | None, float]]:
    """The outputs computed by a loss layer: with the automatic loss_function they are the loss (Wolfram's rule)."""
    found: dict[str, tuple[LossLayer | None, float]] = {}
    for port in net.output_ports():
        producer, _ = last_layer(plan, plan.outputs[port])
        if isinstance(producer, LossLayer):
            found[port] = (None, 1.0)
    return found


def build_terms(net: Layer, plan: Any, coders: Mapping[str, Any], spec: Any, targets: Mapping[str, Any], where: str) -> list[LossTerm]:
    """The loss terms of a training run, with the fused (logits) form where it applies."""
    explicit = parse_loss_function(spec, net, where)
    if explicit is None:
        explicit = existing_losses(net, plan)
    if not explicit:
        for port in net.output_ports():
            producer, _ = last_layer(plan, plan.outputs[port])
            explicit[port] = (automatic_loss(net, port, coders.get(port), producer, targets.get(port)), 1.0)
    terms = []
    for port, (layer, weight) in explicit.items():
        output_wire = plan.outputs[port]
        producer, input_wire = last_layer(plan, output_wire)
        if layer is not None:
            layer = attach(layer, net, port, where)
        fused = layer is not None and producer is not None and input_wire is not None and layer.fuses(producer)
        terms.append(LossTerm(port, layer, weight, fused, input_wire if fused else output_wire))  # type: ignore[arg-type]
    return terms


def attach(layer: LossLayer, net: Layer, port: str, where: str) -> LossLayer:
    """The loss layer with its Input port fixed to the output's type (a ShapeError if it does not fit)."""
    from ..errors import ShapeError

    try:
        return layer.refine({"Input": net.types[port]}, (f"{where}: loss on {port}",))  # type: ignore[index, return-value]
    except ShapeError as error:
        raise ShapeError(f"{error} The loss does not fit the output {port}: choose another loss_function.") from None


def target_column(term: LossTerm, net: Layer, values: Any, coder: Any, class_names: Any, dtype: torch.dtype, where: str) -> Column:
    """The targets of one loss, checked and encoded as the loss expects them."""
    layer = term.layer
    outer, where = where, f"{where}: target {term.port}"
    target_type = layer.types["Target"]  # type: ignore[union-attr, index]
    if ragged(values, target_type):
        # sequence targets of different lengths: padded with zeros, lengths kept (checked against
        # the outputs' lengths by sequences.check_target_lengths)
        tensor, lengths = padded(values, target_type, where)
        column = target_column(term, net, tensor, None, class_names, dtype, outer)
        return Column(column.values, column.encode, lengths)
    if isinstance(layer, CrossEntropyLossLayer) and layer.target_form == "Index":
        if _is_class_decoder(coder):
            indices = class_indices(coder, values, class_names, where)
            return Column(torch.from_numpy(np.ascontiguousarray(indices)))
        tensor = numeric_tensor(values, where)
        if tensor is None:
            raise InputError(f"{where}: the targets must be class indices (integers 0 … {(target_type.bound or 1) - 1}) but example 0 is {values[0]!r}; to train on labels, give the output a NetDecoder(\"Class\", labels).")
        check_example_shape(tensor, target_type.dims, where, "class indices")
        return Column(integer_values(tensor, target_type.bound, where, "targets"))
    tensor = numeric_tensor(values, where)
    if tensor is None:
        raise InputError(f"{where}: the targets must be numbers for {layer.kind} but example 0 is {_first(values)!r}.")  # type: ignore[union-attr]
    dims = target_type.dims
    if dims is not None and tuple(tensor.shape[1:]) != tuple(dims):
        if tuple(tensor.shape[1:]) == () and tuple(dims) == (1,):
            tensor = tensor.unsqueeze(1)
        elif tuple(tensor.shape[1:]) == (1,) and tuple(dims) == ():
            tensor = tensor.squeeze(1)
        else:
            check_example_shape(tensor, dims, where, "targets")
    bad = first_nonfinite(tensor.to(torch.float64) if not tensor.is_floating_point() else tensor)
    if bad is not None:
        raise InputError(f"{where}: example {bad} contains NaN or infinite values; remove or replace those examples (for instance with numpy.nan_to_num) first.")
    if isinstance(layer, ContrastiveLossLayer):
        not_boolean = ((tensor != 0) & (tensor != 1)).reshape(tensor.shape[0], -1).any(dim=1)
        if bool(not_boolean.any()):
            position = int(not_boolean.nonzero()[0, 0])
            raise InputError(f"{where}: ContrastiveLossLayer needs targets True (a different pair) or False (the same pair) but example {position} is {tensor[position].tolist()}.")
    tensor = tensor.to(dtype)
    if isinstance(layer, CrossEntropyLossLayer):
        outside = ((tensor < 0) | (tensor > 1)).reshape(tensor.shape[0], -1).any(dim=1)
        if bool(outside.any()):
            position = int(outside.nonzero()[0, 0])
            raise InputError(f'{where}: CrossEntropyLossLayer("{layer.target_form}") needs targets between 0 and 1 but example {position} is {tensor[position].tolist()}.')
    return Column(tensor)


def _first(values: Any) -> Any:
    try:
        return values[0]
    except (TypeError, IndexError, KeyError):
        return values


def class_indices(decoder: Any, values: Any, class_names: Any, where: str) -> np.ndarray:
    """Labels → class indices through the decoder's labels (a dataset's integer labels through its class names)."""
    labels = tuple(decoder.labels)
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values
    if class_names is not None:
        names = tuple(class_names)
        integer = isinstance(array, np.ndarray) and array.dtype.kind in "iu"
        if integer and names == labels:
            return array.astype(np.int64)
        if integer and not all(isinstance(label, int | np.integer) for label in labels):
            array = np.asarray(names, dtype=object)[array]
    try:
        return np.asarray(decoder.indices(array), dtype=np.int64)
    except NetError as error:
        raise type(error)(f"{where}: {error}") from None
