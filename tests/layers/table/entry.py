"""One example of a layer for the layer table (see tests/layers/table/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from symnet.layers.base import Layer


@dataclass(frozen=True)
class Entry:
    """A small layer and what its outputs must be.

    - ``layer``: builds the example: hyperparameters and input shapes (arrays optional; arrays
      that initialization leaves constant, such as zero biases, get random values in the test).
    - ``reference(arrays, *inputs)``: the expected batched output(s), computed with torch or
      numpy directly (not with symnet). ``arrays`` are float64 tensors by name (``"Weights"``),
      or by path inside a container (``"linear/Weights"``); the inputs are batched, float64
      for real ports and int64 for integer ports.
    - ``label``: tells several entries of one layer apart in test ids (``LinearLayer-tensor``).
    - ``inputs(generator, batch)``: the batched inputs, when uniform values in [low, high) of
      each port's declared shape do not fit (probabilities, varying lengths, chosen indices).
    - ``gradcheck``: False where finite differences are invalid (say why in a comment).
    - ``onnx``: True, or a sentence saying why the layer cannot be exported to ONNX; the test
      then checks that Export refuses it with a NetError.
    - ``training``: run the reference check in training mode (the file and ONNX checks
      always evaluate).
    """

    layer: Callable[[], Layer]
    reference: Callable[..., Any]
    label: str = ""
    inputs: Callable[[torch.Generator, int], Sequence[torch.Tensor]] | None = None
    low: float = -1.0
    high: float = 1.0
    batch: int = 2
    atol: float = 1e-6
    gradcheck: bool = True
    onnx: bool | str = True
    training: bool = False

    @property
    def kind(self) -> str:
        return self.layer().kind

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.label}" if self.label else self.kind
