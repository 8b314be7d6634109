"""What the repository knows about a model: its architecture, its weights and their origin.

Each family file (``efficientnet.py``, ``resnet.py``, …) describes its models with these
records; ``registry.py`` collects them and answers ``NetModel``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..layers.base import Layer
from .weights import WeightMapping


@dataclass(frozen=True)
class PackagedWeights:
    """Trained arrays shipped by a Python package (installed with pip, never committed here)."""

    #: the import name and the pip name of the package
    package: str
    distribution: str
    #: the file inside the package, and its SHA-256, checked before every use
    file: str
    sha256: str
    #: the Dublin Core fields of "SourceMetadata": Creator, Date, Rights, Source, Description
    source: Mapping[str, str] = field(default_factory=dict)
    #: how to install the package, where plain ``pip install <distribution>`` is not the way
    install: str | None = None


@dataclass(frozen=True)
class Model:
    """One net of the repository (a variant of a family, or a model on its own)."""

    name: str
    #: the uninitialized evaluation net; ``input``/``output`` override its encoder and decoder
    build: Callable[..., Layer]
    task: str
    description: str
    family: str | None = None
    #: this variant's family parameters, such as {"depth": 50}
    parameters: Mapping[str, Any] = field(default_factory=dict)
    #: the architecture's origin (a paper), for "SourceMetadata" of architecture-only models
    source: Mapping[str, str] = field(default_factory=dict)
    training_set: str | None = None
    weights: PackagedWeights | None = None
    #: symnet array → state dict key, for the PyTorch (torchvision-format) state dicts of this architecture
    torch_mapping: Callable[[], WeightMapping] | None = None
    #: the state dict as the mapping expects it (entries the net does not use dropped), if it differs from the file's
    convert_state: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None
    #: the same for timm-format state dicts, where timm's names differ from torch_mapping's
    timm_mapping: Callable[[], WeightMapping] | None = None
    input_domains: tuple[str, ...] = ("Image",)
    #: a whole trained net in symnet's format, in symnet/models/data (nets symnet trained itself)
    shipped: str | None = None

    def layouts(self) -> dict[str, WeightMapping]:
        """The state dict layouts this model reads, by name ("PyTorch", "timm")."""
        found: dict[str, WeightMapping] = {}
        if self.torch_mapping is not None:
            found["PyTorch"] = self.torch_mapping()
        if self.timm_mapping is not None:
            found["timm"] = self.timm_mapping()
        return found


@dataclass(frozen=True)
class Family:
    """A parameterized family: ``NetModel("ResNet", depth=50)`` is the variant "ResNet-50"."""

    name: str
    #: parameter → its allowed values, and each parameter's default and meaning
    allowed: Mapping[str, tuple[Any, ...]]
    defaults: Mapping[str, Any]
    descriptions: Mapping[str, str]
    #: the variant's model name for given parameters
    variant: Callable[..., str]


__all__ = ["Family", "Model", "PackagedWeights"]
