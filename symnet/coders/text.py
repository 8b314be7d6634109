"""Text coders: "Characters", "Tokens" and "SubwordTokens" (BPE/WordPiece via ``tokenizers``).

An encoder turns a string into a sequence of integer indices (port type ``("Varying",)``
bounded integers; the Characters encoder with ``encoding="UnitVector"`` gives one-hot rows
``("Varying", n)``). A list of strings is a batch. **Batches of different lengths**: without
``padding_index`` the encoder refuses them (the error names two lengths), because a padded
index would silently take part in the computation; with ``padding_index=i`` shorter
sequences are padded *at the end* with ``i``, and the decoders drop trailing ``i``.

Unknown characters or tokens raise an error naming them, unless ``unknown_index=i`` is
given (``i`` may be ``len(vocabulary)``: an extra "unknown" class). Decoders take index
sequences or sequences of probability vectors (taking the most probable index per step, or
with the property ``("RandomSample", {"Temperature": t, "RandomSeeding": s})`` one drawn per
step, as the Class decoder draws a label); an index outside the vocabulary decodes as "\ufffd".
"""

from __future__ import annotations

import functools
import os
import re
import string
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError, NetError
from ..types import VARYING, TensorType
from .base import Coder, as_batch_tensor, check_choice, derived, normalize_tuple, register
from .decoders import split_property
from .sampling import sample, sampling_of

DEFAULT_CHARACTERS = string.ascii_letters + string.digits + string.punctuation + " \n"
REPLACEMENT = "\ufffd"
#: what the Characters and Tokens decoders give: the most probable index per step, or one drawn
SEQUENCE_PROPERTIES = ("Decision", "RandomSample")


def pad_sequences(where: str, sequences: list[np.ndarray], padding_index: int | None) -> torch.Tensor:
    """Index sequences → int64 (N, L); unequal lengths need a padding index."""
    lengths = [len(s) for s in sequences]
    longest = max(lengths)
    if min(lengths) != longest:
        if padding_index is None:
            short = lengths.index(min(lengths))
            long = lengths.index(longest)
            raise InputError(
                f"{where}: the batch has sequences of different lengths (example {short} has {lengths[short]}, example {long} has {longest}); "
                "give the encoder a padding_index to pad them at the end, or encode them one at a time."
            )
        batch = np.full((len(sequences), longest), padding_index, dtype=np.int64)
        for row, sequence in enumerate(sequences):
            batch[row, : len(sequence)] = sequence
        return torch.from_numpy(batch)
    return torch.from_numpy(np.stack(sequences).astype(np.int64, copy=False).reshape(len(sequences), longest))


def strings_of(where: str, data: Any) -> tuple[list[str], bool]:
    """A string or a list of strings → (list, whether it was a batch)."""
    if isinstance(data, str):
        return [data], False
    if isinstance(data, list | tuple) and data and all(isinstance(s, str) for s in data):
        return list(data), True
    if isinstance(data, list | tuple) and data:
        bad = next(i for i, s in enumerate(data) if not isinstance(s, str))
        raise InputError(f"{where}: expected strings but item {bad} of the batch is {type(data[bad]).__name__}.")
    raise InputError(f"{where}: expected a string or a non-empty list of strings but received {type(data).__name__}.")


def index_rows(where: str, batch: Any, bound: int, prop: Any = None) -> list[list[int]]:
    """A decoder's input (N, L) indices or (N, L, n) probabilities → index lists: the most
    probable index per step ("Decision"), or one drawn per step ("RandomSample", sampling.py)."""
    name, argument = split_property(where, prop, SEQUENCE_PROPERTIES, "Decision")
    x = as_batch_tensor(batch)
    if name == "RandomSample":
        if not (x.is_floating_point() and x.dim() == 3):
            raise InputError(f'{where}: "RandomSample" draws from probability vectors (N, L, {bound}) but received shape {tuple(x.shape)}{" of indices" if not x.is_floating_point() else ""}; decode the output of a SoftmaxLayer.')
        x = sample(x, *sampling_of(where, argument))
    elif x.is_floating_point() and x.dim() == 3:
        x = x.argmax(-1)
    if x.dim() != 2:
        raise InputError(f"{where}: expected a batch of index sequences (N, L) or of probability vectors (N, L, {bound}) but received shape {tuple(x.shape)}.")
    return x.to(torch.int64).tolist()


def strip_padding(row: list[int], padding_index: int | None) -> list[int]:
    if padding_index is not None:
        while row and row[-1] == padding_index:
            row = row[:-1]
    return row


@dataclass(frozen=True, repr=False)
class SequenceParameters(Coder):
    """What the Characters and Tokens coders share: unknown and padding indices, case."""

    def _bound(self, size: int) -> int:
        extra = [i + 1 for i in (self.unknown_index, self.padding_index) if i is not None]  # type: ignore[attr-defined]
        return max([size, *extra])

    def _check_indices(self, size: int) -> None:
        for name in ("unknown_index", "padding_index"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size):
                raise NetError(f"{self.kind} {self.role[3:].lower()}: {name} must be an int in 0 … {size} (the vocabulary has {size} entries); received {value!r}.")


@dataclass(frozen=True, repr=False)
class CharactersParameters(SequenceParameters):
    kind: ClassVar[str] = "Characters"

    characters: str = DEFAULT_CHARACTERS
    encoding: str = "Index"
    ignore_case: bool = False
    unknown_index: int | None = None
    padding_index: int | None = None
    _table: Any = derived()  # character → index

    def __post_init__(self) -> None:
        where = f"Characters {self.role[3:].lower()}"
        chars = self.characters
        if isinstance(chars, list | tuple):
            if not all(isinstance(c, str) and len(c) == 1 for c in chars):
                raise NetError(f"{where}: the characters must be single-character strings; received {chars!r}.")
            chars = "".join(chars)
        if not isinstance(chars, str) or not chars:
            raise NetError(f'{where}: give the character set as a string, such as "abc"; received {self.characters!r}.')
        if len(set(chars)) != len(chars):
            repeated = next(c for c in chars if chars.count(c) > 1)
            raise NetError(f"{where}: the character {repeated!r} appears twice in the character set.")
        object.__setattr__(self, "characters", chars)
        check_choice(where, "encoding", self.encoding, ("Index", "UnitVector"))
        self._check_indices(len(chars))
        codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
        table = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
        table[codes] = np.arange(len(chars))
        object.__setattr__(self, "_table", table)

    @property
    def port_type(self) -> TensorType:
        bound = self._bound(len(self.characters))
        if self.encoding == "UnitVector":
            return TensorType((VARYING, bound))
        return TensorType((VARYING,), "Integer", bound)


@register
@dataclass(frozen=True, repr=False)
class CharactersEncoder(CharactersParameters):
    """Strings to sequences of character indices (or one-hot rows with ``encoding="UnitVector"``).

    Arguments: ``characters`` (a string: index i is its i-th character; default: ASCII
    letters, digits, punctuation, space and newline), ``encoding``, ``ignore_case``
    (lower-case the text first), ``unknown_index``, ``padding_index`` (module docstring).

    >>> NetEncoder("Characters", "abc").encode("cab")
    (tensor([[2, 0, 1]]), False)
    """

    role: ClassVar[str] = "NetEncoder"

    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        texts, batch = strings_of("Characters encoder", data)
        sequences = [self._indices(text, position) for position, text in enumerate(texts)]
        indices = pad_sequences("Characters encoder", sequences, self.padding_index)
        if self.encoding == "UnitVector":
            return F.one_hot(indices, self.port_type.dims[-1]).to(torch.float32), batch  # type: ignore[index]
        return indices, batch

    def _indices(self, text: str, position: int) -> np.ndarray:
        if self.ignore_case:
            text = text.lower()
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        table = self._table  # type: ignore[attr-defined]
        indices = table[np.minimum(codes, len(table) - 1)]
        indices[codes >= len(table)] = -1
        unknown = indices < 0
        if unknown.any():
            if self.unknown_index is None:
                at = int(np.flatnonzero(unknown)[0])
                example = f" of example {position}" if position else ""
                raise InputError(f"Characters encoder: the character {text[at]!r} (at {at}{example} in {text[:40]!r}) is not in the character set {self.characters[:60]!r}; add it, or give unknown_index.")
            indices[unknown] = self.unknown_index
        return indices

    def inverse(self) -> Coder:
        return CharactersDecoder(self.characters, "Index", self.ignore_case, self.unknown_index, self.padding_index)


@register
@dataclass(frozen=True, repr=False)
class CharactersDecoder(CharactersParameters):
    """Sequences of character indices or probability vectors back to strings.

    >>> NetDecoder(NetEncoder("Characters", "abc")).decode(torch.tensor([[2, 0, 1]]), Automatic)
    ['cab']
    """

    role: ClassVar[str] = "NetDecoder"
    properties: ClassVar[tuple[str, ...]] = SEQUENCE_PROPERTIES

    @property
    def port_type(self) -> TensorType:
        return TensorType((VARYING, self._bound(len(self.characters))))

    def decode(self, batch: Any, prop: Any = None) -> list[str]:
        chars = self.characters
        rows = index_rows("Characters decoder", batch, len(chars), prop)
        return ["".join(chars[i] if 0 <= i < len(chars) else REPLACEMENT for i in strip_padding(row, self.padding_index)) for row in rows]

    def inverse(self) -> Coder:
        return CharactersEncoder(self.characters, "Index", self.ignore_case, self.unknown_index, self.padding_index)


@dataclass(frozen=True, repr=False)
class TokensParameters(SequenceParameters):
    kind: ClassVar[str] = "Tokens"

    tokens: tuple[str, ...] = ()
    split_pattern: str = r"\s+"
    ignore_case: bool = False
    unknown_index: int | None = None
    padding_index: int | None = None
    separator: str = " "
    _lookup: Any = derived()  # token → index
    _pattern: Any = derived()  # the compiled split_pattern

    def __post_init__(self) -> None:
        where = f"Tokens {self.role[3:].lower()}"
        normalize_tuple(self, "tokens")
        if not self.tokens or not all(isinstance(t, str) for t in self.tokens):
            raise NetError(f'{where}: give the vocabulary as a list of strings, such as NetEncoder("Tokens", ["the", "cat", "sat"]).')
        lookup: dict[str, int] = {}
        for position, token in enumerate(self.tokens):
            key = token.lower() if self.ignore_case else token
            if key in lookup:
                raise NetError(f"{where}: the token {token!r} appears twice in the vocabulary (at {lookup[key]} and {position}).")
            lookup[key] = position
        try:
            pattern = re.compile(self.split_pattern)
        except re.error as error:
            raise NetError(f"{where}: split_pattern {self.split_pattern!r} is not a regular expression: {error}.") from None
        self._check_indices(len(self.tokens))
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "_pattern", pattern)

    @property
    def port_type(self) -> TensorType:
        return TensorType((VARYING,), "Integer", self._bound(len(self.tokens)))


@register
@dataclass(frozen=True, repr=False)
class TokensEncoder(TokensParameters):
    """Strings to sequences of token indices: split at ``split_pattern`` (a regular expression
    matching the separators; default whitespace), then look each token up in ``tokens``.

    >>> NetEncoder("Tokens", ["the", "cat", "sat"]).encode("the cat sat")
    (tensor([[0, 1, 2]]), False)
    """

    role: ClassVar[str] = "NetEncoder"

    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        texts, batch = strings_of("Tokens encoder", data)
        sequences = [self._indices(text, position) for position, text in enumerate(texts)]
        return pad_sequences("Tokens encoder", sequences, self.padding_index), batch

    def split(self, text: str) -> list[str]:
        if self.ignore_case:
            text = text.lower()
        return [token for token in self._pattern.split(text) if token]  # type: ignore[attr-defined]

    def _indices(self, text: str, position: int) -> np.ndarray:
        lookup = self._lookup  # type: ignore[attr-defined]
        indices = []
        for at, token in enumerate(self.split(text)):
            index = lookup.get(token, self.unknown_index)
            if index is None:
                example = f" of example {position}" if position else ""
                raise InputError(f"Tokens encoder: the token {token!r} (token {at}{example}) is not in the vocabulary of {len(self.tokens)} tokens; add it, or give unknown_index.")
            indices.append(index)
        return np.asarray(indices, dtype=np.int64)

    def inverse(self) -> Coder:
        return TokensDecoder(self.tokens, self.split_pattern, self.ignore_case, self.unknown_index, self.padding_index, self.separator)


@register
@dataclass(frozen=True, repr=False)
class TokensDecoder(TokensParameters):
    """Sequences of token indices or probability vectors back to text joined by ``separator``.

    >>> NetDecoder("Tokens", ["the", "cat", "sat"]).decode(torch.tensor([[1, 2]]), Automatic)
    ['cat sat']
    """

    role: ClassVar[str] = "NetDecoder"
    properties: ClassVar[tuple[str, ...]] = SEQUENCE_PROPERTIES

    @property
    def port_type(self) -> TensorType:
        return TensorType((VARYING, self._bound(len(self.tokens))))

    def decode(self, batch: Any, prop: Any = None) -> list[str]:
        tokens = self.tokens
        rows = index_rows("Tokens decoder", batch, len(tokens), prop)
        return [self.separator.join(tokens[i] if 0 <= i < len(tokens) else REPLACEMENT for i in strip_padding(row, self.padding_index)) for row in rows]

    def inverse(self) -> Coder:
        return TokensEncoder(self.tokens, self.split_pattern, self.ignore_case, self.unknown_index, self.padding_index, self.separator)


@functools.lru_cache(maxsize=16)
def _tokenizer_from(text: str) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise NetError('SubwordTokens: the tokenizers package is not installed; install it with pip install "symnet[text]".') from None
    try:
        return Tokenizer.from_str(text)
    except Exception as error:
        raise NetError(f"SubwordTokens: the tokenizer JSON cannot be read: {error}.") from None


@dataclass(frozen=True, repr=False)
class SubwordParameters(Coder):
    """A tokenizer.json file read by the ``tokenizers`` library (its JSON text is kept, so a
    saved net does not depend on the file)."""

    kind: ClassVar[str] = "SubwordTokens"

    tokenizer: str = ""
    add_special_tokens: bool = True
    padding_index: int | None = None
    json_text: str | None = field(default=None, repr=False)
    _model: Any = derived()  # the tokenizers.Tokenizer read from json_text

    def __post_init__(self) -> None:
        where = f"SubwordTokens {self.role[3:].lower()}"
        object.__setattr__(self, "tokenizer", os.fspath(self.tokenizer))
        if self.json_text is None:
            try:
                with open(self.tokenizer, encoding="utf-8") as file:
                    object.__setattr__(self, "json_text", file.read())
            except OSError as error:
                raise NetError(f'{where}: cannot read the tokenizer file "{self.tokenizer}": {error.strerror}. Give the path of a tokenizer.json file.') from None
        model = _tokenizer_from(self.json_text)
        object.__setattr__(self, "_model", model)
        size = model.get_vocab_size(with_added_tokens=True)
        if self.padding_index is not None and not (isinstance(self.padding_index, int) and 0 <= self.padding_index < size):
            raise NetError(f"{where}: padding_index must be a token id in 0 … {size - 1}; received {self.padding_index!r}.")

    @property
    def vocabulary_size(self) -> int:
        return int(self._model.get_vocab_size(with_added_tokens=True))  # type: ignore[attr-defined]

    def to_spec(self) -> dict[str, Any]:
        spec = super().to_spec()
        spec["json_text"] = self.json_text
        return spec


@register
@dataclass(frozen=True, repr=False)
class SubwordTokensEncoder(SubwordParameters):
    """Strings to subword token ids with a BPE/WordPiece/Unigram tokenizer.json."""

    role: ClassVar[str] = "NetEncoder"

    @property
    def port_type(self) -> TensorType:
        return TensorType((VARYING,), "Integer", self.vocabulary_size)

    def encode(self, data: Any) -> tuple[torch.Tensor, bool]:
        texts, batch = strings_of("SubwordTokens encoder", data)
        encodings = self._model.encode_batch(texts, add_special_tokens=self.add_special_tokens)  # type: ignore[attr-defined]
        sequences = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        return pad_sequences("SubwordTokens encoder", sequences, self.padding_index), batch

    def inverse(self) -> Coder:
        return SubwordTokensDecoder(self.tokenizer, self.add_special_tokens, self.padding_index, self.json_text)


@register
@dataclass(frozen=True, repr=False)
class SubwordTokensDecoder(SubwordParameters):
    """Token ids (or probability vectors) back to text; special tokens are skipped."""

    role: ClassVar[str] = "NetDecoder"
    properties: ClassVar[tuple[str, ...]] = SEQUENCE_PROPERTIES

    @property
    def port_type(self) -> TensorType:
        return TensorType((VARYING, self.vocabulary_size))

    def decode(self, batch: Any, prop: Any = None) -> list[str]:
        rows = [strip_padding(row, self.padding_index) for row in index_rows("SubwordTokens decoder", batch, self.vocabulary_size, prop)]
        return list(self._model.decode_batch(rows, skip_special_tokens=True))  # type: ignore[attr-defined]

    def inverse(self) -> Coder:
        return SubwordTokensEncoder(self.tokenizer, self.add_special_tokens, self.padding_index, self.json_text)


__all__ = ["CharactersDecoder", "CharactersEncoder", "SubwordTokensDecoder", "SubwordTokensEncoder", "TokensDecoder", "TokensEncoder", "pad_sequences"]
