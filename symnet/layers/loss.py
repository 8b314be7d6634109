"""Loss layers: cross-entropy, mean squared, mean absolute and contrastive loss.

A loss layer has the ports ``Input`` (what the net computed), ``Target`` (what it should have
computed) and ``Loss``: one real number per example. Positions beyond the batch axis (a
sequence, an image) are averaged, so every example's loss has the same scale.

NetTrain attaches these layers to a net's outputs automatically; when the net ends in a
SoftmaxLayer (or a LogisticSigmoid), training computes the cross-entropy from the logits
before it (``from_logits``), which is faster and stable for probabilities near 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError
from ..types import TensorType
from .base import Layer, option_value
from .basic import ElementwiseLayer, SoftmaxLayer

TARGET_FORMS = ("Index", "Probabilities", "Binary")

# log(p) for p → 0 is clipped at this value, as F.binary_cross_entropy does.
LOG_FLOOR = -100.0


def _per_example(values: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Average everything but the batch axis: one loss per example.

    With ``lengths`` (a padded batch of sequences) an example's loss is the mean over its own
    positions only: what it gets alone, whatever the padding. ``torch.where`` rather than a
    product with the mask, so a NaN or infinity computed at a padded position cannot leak in.
    """
    if lengths is None or values.dim() < 2:
        return values.reshape(values.shape[0], -1).mean(dim=1) if values.dim() > 1 else values
    per_position = values.reshape(values.shape[0], values.shape[1], -1).mean(dim=2)
    real = torch.arange(values.shape[1], device=values.device).unsqueeze(0) < lengths.to(values.device).unsqueeze(1)
    total = torch.where(real, per_position, torch.zeros((), dtype=per_position.dtype, device=per_position.device)).sum(dim=1)
    return total / lengths.to(device=values.device, dtype=per_position.dtype).clamp_min(1)


def _safe_log(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p).clamp_min(LOG_FLOOR)


class LossLayer(Layer):
    """What loss layers share: the ports Input, Target → Loss and a scalar loss per example.

    Loss layers take each example's length (``uses_lengths``): on a padded batch of sequences
    the loss of an example averages its real positions only (see :func:`_per_example`).
    """

    uses_lengths: ClassVar[bool] = True

    def input_ports(self) -> tuple[str, ...]:
        return ("Input", "Target")

    def output_ports(self) -> tuple[str, ...]:
        return ("Loss",)

    def port_specs(self) -> dict[str, Any]:
        specs: dict[str, Any] = {}
        if self.input is not None:
            specs["Input"] = self.input
        if self.output is not None:
            specs["Loss"] = self.output
        return specs

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        types["Loss"] = types["Loss"].unify(TensorType(()))
        return self.infer_target(types)

    def infer_target(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        """Input and Target have the same shape (real numbers)."""
        x, t = types["Input"], types["Target"]
        dims = TensorType(x.dims).unify(TensorType(t.dims)).dims
        types["Input"] = x.with_dims(dims)
        types["Target"] = TensorType(dims)
        return types

    def from_logits(self, logits: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The loss per example computed from the input before a final softmax or sigmoid."""
        raise NotImplementedError(f"{self.kind} has no logits form")

    def fuses(self, last_layer: Layer) -> bool:
        """Whether ``from_logits`` can replace ``last_layer`` followed by this loss."""
        return False


@dataclass(frozen=True, eq=False, repr=False)
class CrossEntropyLossLayer(LossLayer):
    """The cross-entropy between predicted probabilities and a target.

    ``target_form`` says what the target is: ``"Index"`` (a class index per position; the input
    is a vector of class probabilities), ``"Probabilities"`` (a probability vector like the
    input) or ``"Binary"`` (a probability in [0, 1] for each input element).

    >>> loss = CrossEntropyLossLayer("Index")
    >>> round(float(loss({"Input": [0.1, 0.7, 0.2], "Target": 1})), 4)
    0.3567
    >>> round(float(CrossEntropyLossLayer("Binary")({"Input": [0.9], "Target": [1.0]})), 4)
    0.1054
    """

    target_form: str = "Index"

    def validate(self) -> None:
        option_value("CrossEntropyLossLayer", "target_form", self.target_form, TARGET_FORMS)

    def infer_target(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        if self.target_form != "Index":
            return super().infer_target(types)
        x, t = types["Input"], types["Target"]
        if x.rank == 0:
            raise ShapeError(f'port "Input" must be a vector of class probabilities for the target form "Index" but received {x}.')
        if x.dims is not None:
            classes = x.dims[-1] if isinstance(x.dims[-1], int) else None
            t = t.unify(TensorType(x.dims[:-1], "Integer", classes))
        elif t.dims is not None:
            x = x.unify(TensorType((*t.dims, t.bound)))
            t = TensorType(t.dims, "Integer", t.bound)
        else:
            t = TensorType(None, "Integer", t.bound)
        types["Input"], types["Target"] = x, t
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, target: torch.Tensor, training: bool = False,  # type: ignore[override]
                lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.target_form == "Index":
            log_p = _safe_log(x).gather(-1, target.long().unsqueeze(-1)).squeeze(-1)
            return _per_example(-log_p, lengths)
        target = target.to(x.dtype)
        if self.target_form == "Probabilities":
            return _per_example(-(target * _safe_log(x)).sum(dim=-1), lengths)
        return _per_example(-(target * _safe_log(x) + (1 - target) * _safe_log(1 - x)), lengths)

    def fuses(self, last_layer: Layer) -> bool:
        if self.target_form == "Binary":
            return isinstance(last_layer, ElementwiseLayer) and last_layer.function in ("LogisticSigmoid", "Sigmoid")
        if not isinstance(last_layer, SoftmaxLayer):
            return False
        rank = last_layer.types["Input"].rank  # type: ignore[index]
        return rank is not None and last_layer.level in (-1, rank - 1)

    def from_logits(self, logits: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.target_form == "Index":
            classes = logits.shape[-1]
            losses = F.cross_entropy(logits.reshape(-1, classes), target.reshape(-1).long(), reduction="none")
            return _per_example(losses.reshape(target.shape), lengths)
        target = target.to(logits.dtype)
        if self.target_form == "Probabilities":
            return _per_example(-(target * F.log_softmax(logits, dim=-1)).sum(dim=-1), lengths)
        return _per_example(F.binary_cross_entropy_with_logits(logits, target, reduction="none"), lengths)


@dataclass(frozen=True, eq=False, repr=False)
class MeanSquaredLossLayer(LossLayer):
    """The mean of the squared differences between input and target, per example.

    >>> float(MeanSquaredLossLayer()({"Input": [1.0, 2.0], "Target": [0.0, 4.0]}))
    2.5
    """

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, target: torch.Tensor, training: bool = False,  # type: ignore[override]
                lengths: torch.Tensor | None = None) -> torch.Tensor:
        return _per_example((x - target.to(x.dtype)).square(), lengths)


@dataclass(frozen=True, eq=False, repr=False)
class MeanAbsoluteLossLayer(LossLayer):
    """The mean of the absolute differences between input and target, per example.

    >>> float(MeanAbsoluteLossLayer()({"Input": [1.0, 2.0], "Target": [0.0, 4.0]}))
    1.5
    """

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, target: torch.Tensor, training: bool = False,  # type: ignore[override]
                lengths: torch.Tensor | None = None) -> torch.Tensor:
        return _per_example((x - target.to(x.dtype)).abs(), lengths)


@dataclass(frozen=True, eq=False, repr=False)
class ContrastiveLossLayer(LossLayer):
    """A loss on a distance: ``Input`` (a real number, the distance between two embeddings) and
    ``Target`` True (the pair differs: the distance should grow until ``margin``) or False (the
    pair is the same: the distance should shrink). The loss is ``max(margin - d, 0) ** 2`` for
    True and ``d ** 2`` for False (Hadsell, Chopra and LeCun's contrastive loss; Wolfram's
    default margin 0.5). NetTrain attaches it to a NetPairEmbeddingOperator's output.

    >>> loss = ContrastiveLossLayer()
    >>> [round(float(loss({"Input": d, "Target": t})), 4) for d, t in ((0.2, True), (0.7, True), (0.3, False))]
    [0.09, 0.0, 0.09]
    """

    margin: float = 0.5

    def validate(self) -> None:
        if isinstance(self.margin, bool) or not isinstance(self.margin, int | float) or not self.margin > 0:
            raise NetError(f"{self.kind}: the margin (the distance beyond which a different pair costs nothing) must be a positive number, not {self.margin!r}.")

    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        for port in ("Input", "Target"):
            if types[port].rank not in (None, 0):
                raise ShapeError(f'port "{port}" takes one number per example ({"a distance" if port == "Input" else "True or False"}) but has shape {types[port]}.')
        types["Input"] = types["Input"].unify(TensorType(()))
        types["Target"] = TensorType(())
        types["Loss"] = types["Loss"].unify(TensorType(()))
        return types

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, target: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        # a distance per example: no sequence axis, so ``lengths`` has nothing to mask
        different = target.to(x.dtype)
        return different * (self.margin - x).clamp_min(0).square() + (1 - different) * x.square()


__all__ = ["ContrastiveLossLayer", "CrossEntropyLossLayer", "LossLayer", "MeanAbsoluteLossLayer", "MeanSquaredLossLayer"]
