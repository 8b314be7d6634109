"""NetPairEmbeddingOperator: one embedding net applied to both arrays of a pair, and the distance
between the two embeddings; NetTrain attaches a ContrastiveLossLayer to it (Wolfram's rule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError, one_of
from ..layers.base import Layer, is_coder
from ..types import TensorType
from .base import Connection
from .operators import Runner, _Operator

DISTANCE_FUNCTIONS = ("EuclideanDistance", "CosineDistance")


def pair_distance(a: torch.Tensor, b: torch.Tensor, distance_function: str) -> torch.Tensor:
    """The distance between the rows of two batches of embeddings (flattened per example)."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    if distance_function == "CosineDistance":
        return 1 - F.cosine_similarity(a, b, dim=1)
    return torch.linalg.vector_norm(a - b, dim=1)


@dataclass(frozen=True, eq=False, repr=False)
class NetPairEmbeddingOperator(_Operator):
    """Embeds both arrays of a pair with the same ``net`` and returns the distance between the
    two embeddings.

    Ports: "Input", the pair as one array ``(2, *shape)`` (``input=`` gives the shape of each of
    the two, as Wolfram's ``"Input" -> {n1, n2, …}``) → "Output", a real number. Options:
    ``distance_function`` "EuclideanDistance" (default) or "CosineDistance" (``1 - cos``).
    The net takes one input and returns one output (any shape: it is flattened to a vector).
    NetTrain on such a net, with targets True (the distance should grow: a different pair) or
    False (it should shrink: the same), attaches ``ContrastiveLossLayer()`` to "Output".

    >>> net = NetInitialize(NetPairEmbeddingOperator(LinearLayer(3), input=2))
    >>> net.types["Input"], net.types["Output"]
    (TensorType((2, 2)), TensorType(()))
    >>> bool(net([[1.0, 2.0], [1.0, 2.0]]) == 0.0)
    True
    """

    distance_function: str = "EuclideanDistance"

    def validate(self) -> None:
        one_of(self.distance_function, DISTANCE_FUNCTIONS, where=self.kind, option="distance_function", error=NetError)
        if is_coder(self.input):
            raise NetError(f"{self.kind}: input= gives the shape of each array of the pair, such as (28, 28); an encoder on pairs is not supported yet: encode the arrays first.")

    def port_specs(self) -> dict[str, Any]:
        specs = dict(self.ports)
        if self.input is not None:
            try:
                element = TensorType.parse(self.input)
            except ShapeError as error:
                raise ShapeError(f"{self.kind}/Input: {error}") from None
            specs["Input"] = TensorType(None if element.dims is None else (2, *element.dims), element.element, element.bound)
        if self.output is not None:
            specs["Output"] = self.output
        return specs

    def _wire(self) -> tuple[list[Connection], list[str], list[str]]:
        inputs, outputs = self.net.input_ports(), self.net.output_ports()
        if len(inputs) != 1 or len(outputs) != 1:
            raise self.fit_error(f"the embedding net must take one input and return one output, but it has the inputs {', '.join(inputs) or 'none'} and the outputs {', '.join(outputs) or 'none'}.")
        return [((None, "Input"), ("Net", inputs[0])), (("Net", outputs[0]), (None, "Output"))], ["Input"], ["Output"]

    def member_types(self, types: dict[str, TensorType]) -> dict[str, dict[str, TensorType]]:
        pair = types["Input"]
        if pair.dims is None:
            return {"Net": {}}
        return {"Net": {self.net.input_ports()[0]: TensorType(pair.dims[1:], pair.element, pair.bound)}}

    def port_types(self, types: dict[str, TensorType], members: dict[str, Layer]) -> dict[str, TensorType]:
        pair = types["Input"]
        if pair.rank == 0 or (pair.dims is not None and pair.dims[0] not in (2, None)):
            raise ShapeError(f'port "Input" takes a pair of arrays (a first axis of 2) but has the type {pair}.')
        net = members["Net"]
        element = net.types[net.input_ports()[0]]  # type: ignore[index]
        if element.dims is not None:
            types["Input"] = pair.unify(TensorType((2, *element.dims), element.element, element.bound))
        elif pair.dims is not None:
            types["Input"] = pair.with_dims((2, *pair.dims[1:]))
        embedding = net.types[net.output_ports()[0]]  # type: ignore[index]
        if embedding.rank == 0:
            raise ShapeError(f"the embedding net returns the scalar {embedding}; it must return a vector (an embedding) to measure a distance between.")
        types["Output"] = types["Output"].unify(TensorType(()))
        return types

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        return None  # a distance has no sequence axis

    def run_members(self, runners: dict[str, Runner], pair: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        batch = pair.shape[0]
        # both arrays of every example in one call of the net: (2 * batch, …)
        both = torch.cat([pair[:, 0], pair[:, 1]])
        embeddings = runners["Net"](both)[0]
        return pair_distance(embeddings[:batch], embeddings[batch:], self.distance_function)


__all__ = ["DISTANCE_FUNCTIONS", "NetPairEmbeddingOperator", "pair_distance"]
