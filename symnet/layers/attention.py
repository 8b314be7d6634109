"""AttentionLayer: each query takes a softmax-weighted sum of the values, weighted by its scores
against the keys; on ``torch.nn.functional.scaled_dot_product_attention``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..errors import NetError, ShapeError, boolean, one_of
from ..types import TensorType
from .base import Layer, option_value

SCORINGS = ("Dot", "Bilinear")
RESCALINGS = (None, "DimensionSqrt")
MASKS = (None, "Causal")


def _known(*sizes: Any) -> Any:
    """The one known value among ``sizes`` (None if none is known)."""
    return next((s for s in sizes if s is not None), None)


@dataclass(frozen=True, eq=False, repr=False)
class AttentionLayer(Layer):
    """Attention over a sequence: for each query vector, the values averaged with the weights
    ``softmax(score(key, query))`` over the keys.

    Ports (Wolfram's): "Key" ``(n, k)``, "Value" ``(n, v)`` and "Query" ``(m, q)`` (or a single
    query vector ``(q,)``) → "Output" ``(m, v)`` (or ``(v,)``). With ``multi_head=True`` the
    second-to-last axis holds the heads: "Key" ``(n, h, k)``, "Value" ``(n, h, v)``, "Query"
    ``(m, h, q)`` → "Output" ``(m, h, v)``; each head attends on its own.

    Options (Wolfram's, snake_case): ``scoring`` "Dot" (``score = k . q``, needs ``q == k``)
    or "Bilinear" (the default, ``score = k . Weights . q`` with a learned "Weights" ``(k, q)``);
    ``score_rescaling`` None or "DimensionSqrt" (divide the scores by ``sqrt(k)``); ``mask`` None
    or "Causal" (query ``i`` sees keys ``0 … i`` only); ``dropout``, the rate at which attention
    weights are dropped while training.

    In a batch of sequences of different lengths the padded keys get no weight (masked by the
    lengths of "Key") and the output has one vector per query: the engine cuts it back to the
    lengths of "Query", which in cross-attention differ from the keys'.

    >>> layer = AttentionLayer("Dot", input=[("Varying", 2), ("Varying", 3), ("Varying", 2)])
    >>> layer.types["Output"]
    TensorType(('Varying', 3))
    >>> layer({"Key": [[1.0, 0.0], [0.0, 1.0]], "Value": [[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]], "Query": [[0.0, 0.0]]}).tolist()
    [[3.0, 4.0, 5.0]]
    """

    scoring: str = "Bilinear"
    score_rescaling: str | None = None
    mask: str | None = None
    multi_head: bool = False
    dropout: float = 0.0

    uses_lengths: ClassVar[bool] = True

    def validate(self) -> None:
        option_value(self.kind, "scoring", self.scoring, SCORINGS)
        one_of(self.score_rescaling, RESCALINGS, where=self.kind, option="score_rescaling", error=NetError)
        one_of(self.mask, MASKS, where=self.kind, option="mask", error=NetError)
        boolean(self.multi_head, where=self.kind, option="multi_head", error=NetError)
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float) or not 0 <= self.dropout < 1:
            raise NetError(f"{self.kind}: dropout must be a number in [0, 1) (the rate at which attention weights are dropped), not {self.dropout!r}.")

    def input_ports(self) -> tuple[str, ...]:
        return ("Key", "Value", "Query")

    def port_specs(self) -> dict[str, Any]:
        # input= gives the three inputs as a list (Key, Value, Query) or a dict by port name.
        if isinstance(self.input, list | dict):
            given = dict(zip(self.input_ports(), self.input)) if isinstance(self.input, list) else dict(self.input)
            unknown = [p for p in given if p not in self.input_ports()]
            if (isinstance(self.input, list) and len(self.input) != 3) or unknown:
                raise NetError(f"{self.kind}: input= must give the inputs Key, Value and Query, as a list of three shapes or a dict by port name, not {self.input!r}.")
            specs = dict(given)
            if self.output is not None:
                specs["Output"] = self.output
            return specs
        return super().port_specs()

    def array_names(self) -> tuple[str, ...]:
        return ("Weights",) if self.scoring == "Bilinear" else ()

    # -- inference ----------------------------------------------------------------------------
    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        heads_axes = 1 if self.multi_head else 0
        what = "(length, heads, size)" if self.multi_head else "(length, size)"
        for port in ("Key", "Value"):
            t = types[port]
            if t.rank is not None and t.rank != 2 + heads_axes:
                raise ShapeError(f'port "{port}" needs a sequence of vectors {what} but has shape {t} of rank {t.rank}.')
        query, output = types["Query"], types["Output"]
        ranks = (1 + heads_axes, 2 + heads_axes)
        for port, t in (("Query", query), ("Output", output)):
            if t.rank is not None and t.rank not in ranks:
                raise ShapeError(f'port "{port}" needs a sequence of vectors {what} or a single vector but has shape {t} of rank {t.rank}.')
        key, value = (types[p].dims or (None,) * (2 + heads_axes) for p in ("Key", "Value"))
        sequence_query = _known(query.rank, output.rank)
        sequence_query = None if sequence_query is None else sequence_query == 2 + heads_axes
        q_dims = query.dims or ((None,) * ((2 if sequence_query else 1) + heads_axes) if sequence_query is not None else None)
        o_dims = output.dims or (tuple(None for _ in q_dims) if q_dims is not None else None)
        # sizes: the key's length n, heads h, k, v, q and the query's length m
        n = self._same("Key", "Value", "length", key[0], value[0])
        h = self._same("Key", "Value", "number of heads", key[1], value[1]) if heads_axes else None
        k, v = key[-1], value[-1]
        q = q_dims[-1] if q_dims is not None else None
        v = self._same("Value", "Output", "vector size", v, o_dims[-1] if o_dims is not None else None)
        if heads_axes and q_dims is not None:
            h = self._same("Key", "Query", "number of heads", h, q_dims[-2])
            h = self._same("Key", "Output", "number of heads", h, o_dims[-2])  # type: ignore[index]
        if self.scoring == "Dot":
            if k is not None and q is not None and k != q:
                raise ShapeError(f'"Dot" scoring needs keys and queries of the same size, but port "Key" has vectors of size {k} and port "Query" of size {q}; use scoring="Bilinear" to compare vectors of different sizes.')
            k = q = _known(k, q)
        else:
            w = types["Weights"]
            if w.rank is not None and w.rank != 2:
                raise ShapeError(f'the array "Weights" must be a matrix (key size, query size) but has shape {w.shape_str()}.')
            wk, wq = w.dims if w.dims is not None else (None, None)
            k = self._same("Key", "Weights", "key size", k, wk)
            q = self._same("Query", "Weights", "query size", q, wq)
            types["Weights"] = TensorType((k, q))
        middle = (h,) if heads_axes else ()
        types["Key"] = types["Key"].with_dims((n, *middle, k))
        types["Value"] = types["Value"].with_dims((n, *middle, v))
        if q_dims is not None:
            m = self._same("Query", "Output", "length", q_dims[0], o_dims[0]) if sequence_query else None  # type: ignore[index]
            front = (m,) if sequence_query else ()
            types["Query"] = query.with_dims((*front, *middle, q))
            types["Output"] = TensorType((*front, *middle, v))
        return types

    @staticmethod
    def _same(a: str, b: str, what: str, x: Any, y: Any) -> Any:
        if isinstance(x, int) and isinstance(y, int) and x != y:
            where = f'the array "{b}"' if b == "Weights" else f'port "{b}"'
            raise ShapeError(f'port "{a}" has the {what} {x} but {where} has {y}; they must agree.')
        return y if x is None or (x == "Varying" and y is not None) else x

    # -- evaluation ---------------------------------------------------------------------------
    def forward(self, arrays: Mapping[str, torch.Tensor], key: torch.Tensor, value: torch.Tensor, query: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        heads_axes = 1 if self.multi_head else 0
        single_query = query.dim() == 2 + heads_axes
        if single_query:
            query = query.unsqueeze(1)
        if not self.multi_head:
            key, value, query = key.unsqueeze(2), value.unsqueeze(2), query.unsqueeze(2)
        # scaled_dot_product_attention wants (batch, heads, length, size)
        k, v, q = key.transpose(1, 2), value.transpose(1, 2), query.transpose(1, 2)
        if self.scoring == "Bilinear":
            q = q @ arrays["Weights"].T  # k . (W q) == k . W . q
        scale = 1.0 / math.sqrt(k.shape[-1]) if self.score_rescaling == "DimensionSqrt" else 1.0
        n, m = k.shape[2], q.shape[2]
        if n == 0 or (lengths is not None and bool((lengths == 0).any())):
            raise NetError(f'{self.kind}: port "Key" received an empty sequence; attention needs at least one key to weigh.')
        attention_mask = None
        if lengths is not None and bool((lengths < n).any()):
            attention_mask = (torch.arange(n, device=k.device).unsqueeze(0) < lengths.to(k.device).unsqueeze(1)).view(-1, 1, 1, n)
        causal = self.mask == "Causal"
        if causal and attention_mask is not None:
            attention_mask = attention_mask & torch.ones(m, n, dtype=torch.bool, device=k.device).tril()
            causal = False
        output = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attention_mask, dropout_p=self.dropout if training else 0.0, is_causal=causal, scale=scale,
        ).transpose(1, 2)
        if not self.multi_head:
            output = output.squeeze(2)
        return output.squeeze(1) if single_query else output

    def output_lengths_input(self) -> int:
        return self.input_ports().index("Query")

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor | None:
        # ``lengths`` are the queries' (output_lengths_input): one output vector per query
        return lengths if self.types["Output"].rank == (3 if self.multi_head else 2) else None  # type: ignore[index]
