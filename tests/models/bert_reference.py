"""all-MiniLM-L6-v2 written out in plain PyTorch, independent of symnet's layers: the reference
the symnet net is checked against (tests) and timed against (bench/bench_minilm.py); and
:class:`TransformersMiniLM`, the same checkpoint run by Hugging Face ``transformers`` itself.

It follows Hugging Face's ``BertModel`` and sentence-transformers' pooling line by line, reading
the tensors of the checkpoint by their own names: tokenize (the ``tokenizers`` library, padding to
the longest text, cutting at 256 tokens as sentence-transformers does), embed, six post-norm
blocks with exact GELU, the mean over real tokens (the attention mask), unit length.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LAYERS, HEADS, EPSILON, MAX_TOKENS = 6, 12, 1e-12, 256


class MiniLMReference(torch.nn.Module):
    """Sentence embeddings from a BertModel state dict (``model.safetensors``) and a tokenizer.json."""

    def __init__(self, state: dict[str, torch.Tensor], tokenizer_json: str) -> None:
        super().__init__()
        from tokenizers import Tokenizer

        # "." is not allowed in module attribute names: keep the checkpoint's names in a dict
        self.weights = {key: value.float() for key, value in state.items() if key != "embeddings.position_ids"}
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of the batch
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.int64)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64)
        return ids, mask

    def linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"])

    def layer_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weights[f"{name}.weight"], self.weights[f"{name}.bias"], EPSILON)

    def token_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        w = self.weights
        batch, length = ids.shape
        positions = torch.arange(length)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions] + w["embeddings.token_type_embeddings.weight"][0]
        x = self.layer_norm(x, "embeddings.LayerNorm")
        size = x.shape[-1]
        head = size // HEADS
        keep = mask.bool().view(batch, 1, 1, length)  # padded keys get no weight

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, HEADS, head).transpose(1, 2)

        for index in range(LAYERS):
            prefix = f"encoder.layer.{index}"
            q, k, v = (heads(self.linear(x, f"{prefix}.attention.self.{n}")) for n in ("query", "key", "value"))
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1 / math.sqrt(head))
            attended = attended.transpose(1, 2).reshape(batch, length, size)
            x = self.layer_norm(x + self.linear(attended, f"{prefix}.attention.output.dense"), f"{prefix}.attention.output.LayerNorm")
            hidden = F.gelu(self.linear(x, f"{prefix}.intermediate.dense"))
            x = self.layer_norm(x + self.linear(hidden, f"{prefix}.output.dense"), f"{prefix}.output.LayerNorm")
        return x

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids, mask = self.tokenize(texts)
        vectors = self.token_vectors(ids, mask)
        weights = mask.unsqueeze(-1).to(vectors.dtype)
        mean = (vectors * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(mean, p=2, dim=1)


class TransformersMiniLM(torch.nn.Module):
    """Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2, from the
    package's model directory: Hugging Face's tokenizer and ``BertModel`` (the real implementation,
    not a transcription), the mean over real tokens, unit length."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        from transformers import AutoTokenizer, BertModel

        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = BertModel.from_pretrained(directory).eval()

    def forward(self, texts: list[str]) -> torch.Tensor:
        # sentence_bert_config.json's max_seq_length: 256 tokens
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        vectors = self.model(**encoded).last_hidden_state
        weights = encoded["attention_mask"].unsqueeze(-1).to(vectors.dtype)
        mean = (vectors * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(mean, p=2, dim=1)
