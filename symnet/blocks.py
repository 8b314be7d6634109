"""Transformer blocks and positional embeddings, built as nets from symnet's layers (not one
opaque layer): a block is a NetGraph whose members can be extracted, replaced and trained like
any other.

Each function returns a net on a sequence of vectors ``("Varying", size)``:

- :func:`transformer_encoder_block`: self-attention and a position-wise feed-forward net, each
  with a residual connection and layer normalization (``torch.nn.TransformerEncoderLayer``'s
  computation, with its weights in the members' arrays);
- :func:`transformer_decoder_block`: causal self-attention, attention over an encoder's output
  (the port "Memory"), and the feed-forward net (``torch.nn.TransformerDecoderLayer``'s);
- :func:`positional_embedding`: adds a learned vector for each position (SequenceIndicesLayer
  into an EmbeddingLayer, as Wolfram's language models do).
"""

from __future__ import annotations

from typing import Any

from .containers.chain import NetChain
from .containers.graph import NetGraph
from .containers.operators import NetMapOperator
from .errors import NetError
from .layers.attention import AttentionLayer
from .layers.basic import DropoutLayer, ElementwiseLayer, LinearLayer, ThreadingLayer
from .layers.norm import NormalizationLayer
from .layers.sequence import EmbeddingLayer, SequenceIndicesLayer
from .ports import NetPort


def _check_sizes(where: str, size: Any, heads: Any, hidden_size: Any) -> int:
    for name, value in (("size", size), ("heads", heads), ("hidden_size", hidden_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise NetError(f"{where}: {name} must be a positive int, not {value!r}.")
    if size % heads:
        raise NetError(f"{where}: the size {size} must be a multiple of the number of heads {heads}, since each head gets size/heads numbers of each vector.")
    return size // heads  # type: ignore[no-any-return]


def _attention_members(prefix: str, size: int, heads: int, mask: str | None, dropout: float) -> dict[str, Any]:
    """Projections into heads, attention, and the projection back (nn.MultiheadAttention's parts)."""
    head_size = size // heads
    members: dict[str, Any] = {
        f"{prefix}query": NetMapOperator(LinearLayer((heads, head_size))),
        f"{prefix}key": NetMapOperator(LinearLayer((heads, head_size))),
        f"{prefix}value": NetMapOperator(LinearLayer((heads, head_size))),
        f"{prefix}attention": AttentionLayer("Dot", score_rescaling="DimensionSqrt", mask=mask, multi_head=True, dropout=dropout),
        f"{prefix}output": NetMapOperator(LinearLayer(size, input=(heads, head_size))),
    }
    if dropout:
        members[f"{prefix}dropout"] = DropoutLayer(dropout)
    return members


def _attention_edges(prefix: str, query_source: Any, memory_source: Any, dropout: float) -> list[tuple[Any, ...]]:
    after = (f"{prefix}output", f"{prefix}dropout") if dropout else (f"{prefix}output",)
    return [
        # Key first: the attention masks padded keys with the lengths of its first input
        (memory_source, f"{prefix}key", NetPort(f"{prefix}attention", "Key")),
        (memory_source, f"{prefix}value", NetPort(f"{prefix}attention", "Value")),
        (query_source, f"{prefix}query", NetPort(f"{prefix}attention", "Query")),
        (f"{prefix}attention", *after),
    ]


def _feed_forward(size: int, hidden_size: int, activation: str, dropout: float) -> NetMapOperator:
    layers: list[Any] = [LinearLayer(hidden_size), ElementwiseLayer(activation)]
    if dropout:
        layers.append(DropoutLayer(dropout))
    return NetMapOperator(NetChain([*layers, LinearLayer(size)]))


def _sublayer(members: dict[str, Any], edges: list[tuple[Any, ...]], name: str, source: Any, body_in: list[tuple[Any, ...]], body_out: str, norm_first: bool, epsilon: float = 1e-5) -> str:
    """A residual sublayer ``x + body(x)`` with layer normalization after it (post-norm) or
    before the body (pre-norm); returns the member whose output is the sublayer's."""
    members[f"{name}_norm"] = NormalizationLayer(epsilon=epsilon)
    members[f"{name}_residual"] = ThreadingLayer("Plus")
    if norm_first:
        edges.append((source, f"{name}_norm"))
        edges += [tuple(f"{name}_norm" if e == "$in" else e for e in edge) for edge in body_in]
        # the stream itself first: the sum keeps its lengths
        edges += [(source, f"{name}_residual"), (body_out, f"{name}_residual")]
        return f"{name}_residual"
    edges += [tuple(source if e == "$in" else e for e in edge) for edge in body_in]
    edges += [(source, f"{name}_residual"), (body_out, f"{name}_residual"), (f"{name}_residual", f"{name}_norm")]
    return f"{name}_norm"


def transformer_encoder_block(
    size: int, heads: int, hidden_size: int | None = None, *, activation: str = "Ramp", dropout: float = 0.0, norm_first: bool = False, mask: str | None = None, epsilon: float = 1e-5, input: Any = None
) -> NetGraph:
    """A transformer encoder block on sequences of vectors of ``size``: multi-head self-attention
    (``heads`` heads) and a feed-forward net (``hidden_size``, default ``4 * size``, with
    ``activation`` "Ramp" or "GELU" …), each added to its input and layer-normalized
    (``norm_first=True``: normalized before, as in pre-norm transformers). ``mask="Causal"``
    lets each position attend only to itself and earlier ones (a language model's block).
    ``epsilon`` is the layer normalizations' (BERT's checkpoints use 1e-12).

    >>> block = NetInitialize(transformer_encoder_block(8, 2, input=("Varying", 8)))
    >>> block.types["Output"]
    TensorType(('Varying', 8))
    >>> block(np.ones((5, 8), np.float32)).shape
    (5, 8)
    """
    hidden = 4 * size if hidden_size is None and isinstance(size, int) else hidden_size
    _check_sizes("transformer_encoder_block", size, heads, hidden)
    members: dict[str, Any] = {**_attention_members("self_", size, heads, mask, dropout), "feed_forward": _feed_forward(size, hidden, activation, dropout)}  # type: ignore[arg-type]
    edges: list[tuple[Any, ...]] = []
    attention_out = "self_dropout" if dropout else "self_output"
    first = _sublayer(members, edges, "attention", NetPort("Input"), _attention_edges("self_", "$in", "$in", dropout), attention_out, norm_first, epsilon)
    second = _sublayer(members, edges, "feed_forward", first, [("$in", "feed_forward")], "feed_forward", norm_first, epsilon)
    edges.append((second, NetPort("Output")))
    return NetGraph(members, edges, ports={"Input": input if input is not None else ("Varying", size)})


def transformer_decoder_block(size: int, heads: int, hidden_size: int | None = None, *, activation: str = "Ramp", dropout: float = 0.0, norm_first: bool = False, input: Any = None, memory: Any = None) -> NetGraph:
    """A transformer decoder block: causal multi-head self-attention over "Input", attention
    from it over "Memory" (an encoder's output sequence, of vectors of ``size``) and a
    feed-forward net, each with a residual connection and layer normalization.

    >>> block = NetInitialize(transformer_decoder_block(8, 2))
    >>> block.input_ports()
    ('Input', 'Memory')
    >>> block({"Input": np.ones((3, 8), np.float32), "Memory": np.ones((6, 8), np.float32)}).shape
    (3, 8)
    """
    hidden = 4 * size if hidden_size is None and isinstance(size, int) else hidden_size
    _check_sizes("transformer_decoder_block", size, heads, hidden)
    members: dict[str, Any] = {
        **_attention_members("self_", size, heads, "Causal", dropout),
        **_attention_members("cross_", size, heads, None, dropout),
        "feed_forward": _feed_forward(size, hidden, activation, dropout),  # type: ignore[arg-type]
    }
    edges: list[tuple[Any, ...]] = []
    first = _sublayer(members, edges, "attention", NetPort("Input"), _attention_edges("self_", "$in", "$in", dropout), "self_dropout" if dropout else "self_output", norm_first)
    second = _sublayer(members, edges, "cross_attention", first, _attention_edges("cross_", "$in", NetPort("Memory"), dropout), "cross_dropout" if dropout else "cross_output", norm_first)
    third = _sublayer(members, edges, "feed_forward", second, [("$in", "feed_forward")], "feed_forward", norm_first)
    edges.append((third, NetPort("Output")))
    ports = {"Input": input if input is not None else ("Varying", size), "Memory": memory if memory is not None else ("Varying", size)}
    return NetGraph(members, edges, ports=ports)


def positional_embedding(size: int, max_length: int, *, input: Any = None) -> NetGraph:
    """Adds to each vector of a sequence a learned vector for its position (0 … max_length-1):
    SequenceIndicesLayer(max_length) into an EmbeddingLayer, summed with the input. A longer
    sequence is refused with a NetError naming the SequenceIndicesLayer.

    >>> net = NetInitialize(positional_embedding(4, 10))
    >>> net(np.zeros((3, 4), np.float32)).shape
    (3, 4)
    """
    return NetGraph(
        {"positions": SequenceIndicesLayer(max_length), "embedding": EmbeddingLayer(size, max_length), "sum": ThreadingLayer("Plus")},
        [(NetPort("Input"), "positions", "embedding"), (NetPort("Input"), "sum"), ("embedding", "sum"), ("sum", NetPort("Output"))],
        ports={"Input": input if input is not None else ("Varying", size)},
    )
