"""Entries of symnet/layers/loss.py: CrossEntropy, MeanSquared, MeanAbsolute and Contrastive losses."""

import torch
import torch.nn.functional as F

from symnet import ContrastiveLossLayer, CrossEntropyLossLayer, MeanAbsoluteLossLayer, MeanSquaredLossLayer

from .entry import Entry


def _probabilities(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.softmax(torch.randn(*shape, generator=generator, dtype=torch.float64), dim=-1)


def _index_inputs(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
    return [_probabilities(generator, batch, 5), torch.randint(0, 5, (batch,), generator=generator)]


def _sequence_index_inputs(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
    return [_probabilities(generator, batch, 3, 4), torch.randint(0, 4, (batch, 3), generator=generator)]


def _probabilities_inputs(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
    return [_probabilities(generator, batch, 4), _probabilities(generator, batch, 4)]


def _binary_inputs(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
    return [torch.rand(batch, 3, generator=generator, dtype=torch.float64) * 0.9 + 0.05, torch.rand(batch, 3, generator=generator, dtype=torch.float64)]


def _distance_inputs(generator: torch.Generator, batch: int) -> list[torch.Tensor]:
    # distances on both sides of the margin, away from it (the hinge's kink), and both targets
    distances = torch.tensor([0.1, 0.35, 0.8, 1.2], dtype=torch.float64)[:batch] + 0.01 * torch.rand(batch, generator=generator, dtype=torch.float64)
    return [distances, torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64)[:batch]]


ENTRIES = [
    Entry(lambda: CrossEntropyLossLayer("Index", input=5), lambda a, x, target: F.nll_loss(torch.log(x), target, reduction="none"), "Index", inputs=_index_inputs, batch=4),
    Entry(
        lambda: CrossEntropyLossLayer("Index", input=(3, 4)),
        lambda a, x, target: F.nll_loss(torch.log(x).transpose(1, 2), target, reduction="none").mean(dim=1),  # positions are averaged
        "Index-sequence",
        inputs=_sequence_index_inputs,
    ),
    Entry(lambda: CrossEntropyLossLayer("Probabilities", input=4), lambda a, x, target: -(target * torch.log(x)).sum(-1), "Probabilities", inputs=_probabilities_inputs, batch=3),
    Entry(lambda: CrossEntropyLossLayer("Binary", input=3), lambda a, x, target: F.binary_cross_entropy(x, target, reduction="none").mean(-1), "Binary", inputs=_binary_inputs, batch=4),
    Entry(lambda: MeanSquaredLossLayer(input=(2, 3)), lambda a, x, t: F.mse_loss(x, t, reduction="none").mean(dim=(1, 2)), "matrix"),
    Entry(lambda: MeanSquaredLossLayer(input="Real"), lambda a, x, t: (x - t) ** 2, "scalar"),
    Entry(lambda: MeanAbsoluteLossLayer(input=4), lambda a, x, t: F.l1_loss(x, t, reduction="none").mean(dim=1), "vector"),
    Entry(lambda: ContrastiveLossLayer(), lambda a, d, t: t * (0.5 - d).clamp_min(0) ** 2 + (1 - t) * d**2, "margin", inputs=_distance_inputs, batch=4),
]
