"""GPT-2-style decoders (Radford et al., 2019): causal transformer language models.

The layout, as OpenAI's GPT-2 and Hugging Face's ``GPT2LMHeadModel`` compute it, from symnet's
layers:

    embeddings   the rows of the token table at the token ids, plus a learned vector per position
    decoder      N pre-norm transformer blocks: layer normalization, causal multi-head
                 self-attention, residual addition; layer normalization, a feed-forward net with
                 GELU (GPT-2's tanh approximation), residual addition
    norm         a final layer normalization
    output       scores against every row of the token table (the same table as the input
                 embedding: GPT-2's tied embeddings), softmax to next-token probabilities

GPT-2's token table is used twice, so it is one array: a NetArrayLayer whose output feeds an
ExtractLayer (the rows at the ids) and, transposed, a DotLayer (the scores). Counting it once,
as GPT-2 does, the small configuration (12 blocks of 768 numbers, 12 heads, 50,257 tokens,
1,024 positions) has 124,439,808 parameters, the published count: 38,597,376 in the token
table, 786,432 in the position table, 7,087,872 per block and 1,536 in the final norm.

No trained GPT-2 weights are available here: the net comes uninitialized, to be trained.
(NetInitialize starts the token table, a NetArrayLayer, at zero; the first gradient step moves
each row apart, since every token's row gets the gradient of its own score.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..blocks import transformer_encoder_block
from ..containers.chain import NetChain
from ..containers.graph import NetGraph
from ..layers.basic import NetArrayLayer, SoftmaxLayer, ThreadingLayer
from ..layers.extract import ExtractLayer
from ..layers.norm import NormalizationLayer
from ..layers.reduce import DotLayer
from ..layers.sequence import EmbeddingLayer, SequenceIndicesLayer
from ..layers.structure import ReplicateLayer, TransposeLayer
from ..ports import NetPort
from ..types import VARYING, TensorType
from .entries import Model

#: GPT-2's activation ("gelu_new"): the tanh approximation of GELU, kept for its checkpoints' sake
GELU_TANH = "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))"


@dataclass(frozen=True)
class GPT2Configuration:
    """The sizes of a GPT-2 decoder (the fields of Hugging Face's ``GPT2Config``)."""

    vocabulary_size: int = 50257
    size: int = 768
    layers: int = 12
    heads: int = 12
    max_length: int = 1024
    epsilon: float = 1e-5
    #: GPT-2 trains with dropout 0.1 after attention, in the feed-forward net and on the embeddings' sum
    dropout: float = 0.0


SMALL = GPT2Configuration()
NAME = "GPT-2 Small Decoder"


def decoder(config: GPT2Configuration) -> NetChain:
    """The pre-norm causal transformer blocks."""
    block = transformer_encoder_block(config.size, config.heads, 4 * config.size, activation=GELU_TANH, dropout=config.dropout, norm_first=True, mask="Causal", epsilon=config.epsilon)
    return NetChain([block] * config.layers)


def gpt2_language_model(config: GPT2Configuration = SMALL, input: Any = None, output: Any = None) -> NetGraph:
    """The uninitialized GPT-2 language model: token ids ``("Varying",)`` → for each position, the
    probabilities of the next token ``("Varying", vocabulary_size)``.

    >>> net = gpt2_language_model()
    >>> net.types["Output"], NetInformation(net, "ArraysTotalElementCount")
    (TensorType(('Varying', 50257)), 124439808)
    """
    members = {
        "token_table": NetArrayLayer(dims=(config.vocabulary_size, config.size)),
        "token_positions": ReplicateLayer(1, -1),  # each id a position of depth 1 in the table
        "token_embedding": ExtractLayer(),
        "positions": SequenceIndicesLayer(config.max_length),
        "position_embedding": EmbeddingLayer(config.size, config.max_length),
        "embedding": ThreadingLayer("Plus"),
        "decoder": decoder(config),
        "norm": NormalizationLayer(epsilon=config.epsilon),
        "table_transposed": TransposeLayer(),
        "scores": DotLayer(),
        "probabilities": SoftmaxLayer(),
    }
    edges = [
        (NetPort("Input"), "token_positions", NetPort("token_embedding", "Position")),
        ("token_table", NetPort("token_embedding", "Input")),
        (NetPort("Input"), "positions", "position_embedding"),
        # the positions first: the sum keeps the lengths of its first input
        ("position_embedding", "embedding"),
        ("token_embedding", "embedding"),
        ("embedding", "decoder", "norm", NetPort("scores", "Input1")),
        ("token_table", "table_transposed", NetPort("scores", "Input2")),
        ("scores", "probabilities", NetPort("Output")),
    ]
    ids = input if input is not None else TensorType((VARYING,), "Integer", config.vocabulary_size)
    return NetGraph(members, edges, ports={"Input": ids, **({"Output": output} if output is not None else {})})


MODELS = [
    Model(
        name=NAME,
        build=lambda input=None, output=None: gpt2_language_model(SMALL, input, output),
        task="Language Modeling",
        description="The GPT-2 small decoder (12 pre-norm causal blocks of 768 numbers, 12 heads, tied token table): token ids → next-token probabilities; 124,439,808 parameters, uninitialized.",
        source={"Creator": "Alec Radford, Jeffrey Wu, Rewon Child, David Luan, Dario Amodei, Ilya Sutskever (OpenAI)", "Date": "2019", "Source": "Language Models are Unsupervised Multitask Learners, https://openai.com/research/better-language-models"},
        input_domains=("Text",),
    )
]

__all__ = ["GELU_TANH", "NAME", "SMALL", "GPT2Configuration", "decoder", "gpt2_language_model"]
