"""Characters, Tokens and SubwordTokens coders: round trips, padding, unknowns, errors."""

import pytest
import torch
import torch.nn.functional as F

from symnet import Automatic, InputError, NetDecoder, NetEncoder, NetError
from symnet.types import VARYING

from .test_class import tiny_tokenizer


def test_characters_round_trip() -> None:
    encoder = NetEncoder("Characters", "abc ")
    assert encoder.port_type.dims == (VARYING,) and encoder.port_type.bound == 4
    indices, was_batch = encoder.encode(["cab ", "abba"])
    assert was_batch and indices.tolist() == [[2, 0, 1, 3], [0, 1, 1, 0]]
    decoder = NetDecoder(encoder)
    assert decoder.decode(indices, Automatic) == ["cab ", "abba"]
    # probability vectors decode through their most probable index
    assert decoder.decode(F.one_hot(indices, 4).float(), Automatic) == ["cab ", "abba"]
    one_hot, _ = NetEncoder("Characters", "abc ", "UnitVector").encode("ca")
    assert torch.equal(one_hot, torch.eye(4)[[2, 0]].unsqueeze(0))
    assert NetEncoder("Characters", "abc ", "UnitVector").port_type.dims == (VARYING, 4)


def test_characters_default_set_case_unknown_and_padding() -> None:
    default = NetEncoder("Characters")
    assert NetDecoder(default).decode(default.encode("Hello, World!\n")[0], None) == ["Hello, World!\n"]
    assert NetEncoder("Characters", "ab", ignore_case=True).encode("AbA")[0].tolist() == [[0, 1, 0]]
    with_unknown = NetEncoder("Characters", "ab", unknown_index=2)
    indices = with_unknown.encode("axb")[0]
    assert indices.tolist() == [[0, 2, 1]] and with_unknown.port_type.bound == 3
    assert NetDecoder(with_unknown).decode(indices, None) == ["a\ufffdb"]
    padded = NetEncoder("Characters", "ab", padding_index=2)
    batch = padded.encode(["ab", "b", "abab"])[0]
    assert batch.tolist() == [[0, 1, 2, 2], [1, 2, 2, 2], [0, 1, 0, 1]]
    assert NetDecoder(padded).decode(batch, None) == ["ab", "b", "abab"]


def test_characters_errors() -> None:
    encoder = NetEncoder("Characters", "abc")
    with pytest.raises(InputError, match=r"the character 'z' \(at 1 of example 1 in 'azc'\) is not in the character set 'abc'; add it, or give unknown_index"):
        encoder.encode(["abc", "azc"])
    with pytest.raises(InputError, match=r"different lengths \(example 1 has 1, example 0 has 3\); give the encoder a padding_index to pad them at the end, or encode them one at a time"):
        encoder.encode(["abc", "a"])
    with pytest.raises(InputError, match=r"expected strings but item 1 of the batch is int"):
        encoder.encode(["abc", 3])
    with pytest.raises(NetError, match=r"the character 'a' appears twice"):
        NetEncoder("Characters", "aba")
    with pytest.raises(NetError, match=r"padding_index must be an int in 0 … 3"):
        NetEncoder("Characters", "abc", padding_index=7)


def test_tokens_round_trip_unknown_and_padding() -> None:
    vocabulary = ["the", "cat", "sat", "on", "mat", "<unk>"]
    encoder = NetEncoder("Tokens", vocabulary, unknown_index=5, padding_index=6)
    assert encoder.port_type.bound == 7
    batch, was_batch = encoder.encode(["the cat sat", "the  dog\ton the mat"])
    assert was_batch and batch.tolist() == [[0, 1, 2, 6, 6], [0, 5, 3, 0, 4]]
    assert NetDecoder(encoder).decode(batch, None) == ["the cat sat", "the <unk> on the mat"]
    assert NetEncoder("Tokens", vocabulary, split_pattern=r"[\s,]+", ignore_case=True).encode("The,cat")[0].tolist() == [[0, 1]]
    with pytest.raises(InputError, match=r"the token 'dog' \(token 1\) is not in the vocabulary of 6 tokens; add it, or give unknown_index"):
        NetEncoder("Tokens", vocabulary).encode("the dog")
    with pytest.raises(NetError, match=r"split_pattern '\(' is not a regular expression"):
        NetEncoder("Tokens", vocabulary, split_pattern="(")
    with pytest.raises(NetError, match=r"the token 'the' appears twice in the vocabulary \(at 0 and 1\)"):
        NetEncoder("Tokens", ["the", "the"])


def test_subword_tokens_round_trip(tmp_path) -> None:
    from tokenizers import Tokenizer

    path = tiny_tokenizer(tmp_path)
    reference = Tokenizer.from_file(str(path))
    encoder = NetEncoder("SubwordTokens", path, padding_index=reference.token_to_id("[PAD]"))
    assert encoder.port_type.bound == reference.get_vocab_size()
    texts = ["the cat sat", "a dog sat on the mat"]
    batch, was_batch = encoder.encode(texts)
    expected = [reference.encode(t).ids for t in texts]
    assert was_batch and batch[1].tolist() == expected[1] and batch[0, : len(expected[0])].tolist() == expected[0]
    assert NetDecoder(encoder).decode(batch, None) == [reference.decode(ids) for ids in expected] == texts
    assert encoder.encode("the mat")[0].tolist() == [reference.encode("the mat").ids]
    # a coder rebuilt from its spec does not need the file any more
    spec = encoder.to_spec()
    path.unlink()
    from symnet.coders import coder_from_spec

    assert coder_from_spec(spec).encode("the cat")[0].tolist() == [reference.encode("the cat").ids]
    with pytest.raises(NetError, match=r'cannot read the tokenizer file ".*tokenizer.json": No such file or directory. Give the path of a tokenizer.json file'):
        NetEncoder("SubwordTokens", path)
