"""Class, Boolean and Function coders; NetEncoder/NetDecoder constructors; specs."""

import json

import numpy as np
import pytest
import torch

from symnet import Automatic, InputError, NetDecoder, NetEncoder, NetError
from symnet.coders import coder_from_spec

LABELS = ["cat", "dog", "fish", "bird"]


def probabilities(rows: int, classes: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(rows, classes, generator=generator), -1)


def test_class_encoder_round_trip() -> None:
    encoder = NetEncoder("Class", LABELS)
    values = ["fish", "cat", "bird", "fish"]
    indices, was_batch = encoder.encode(values)
    assert was_batch and indices.dtype == torch.int64 and indices.tolist() == [2, 0, 3, 2]
    one_hot, _ = NetEncoder("Class", LABELS, "UnitVector").encode(values)
    assert torch.equal(one_hot, torch.eye(4)[[2, 0, 3, 2]])
    decoder = NetDecoder(encoder)
    assert decoder.decode(one_hot, Automatic) == values
    assert NetEncoder(decoder) == encoder
    assert encoder.encode("dog") == (torch.tensor([1]), False) or encoder.encode("dog")[0].tolist() == [1]


@pytest.mark.parametrize("labels, values", [(LABELS, np.array(["bird", "cat"])), ([3, 1, 2], [2, 3, 1, 1]), ([True, False], [False, True]), ([("a", 1), None, 2.5], [None, ("a", 1), 2.5])])
def test_indices_match_a_dictionary(labels, values) -> None:
    encoder = NetEncoder("Class", labels)
    lookup = {label: i for i, label in enumerate(labels)}
    expected = [lookup[v.item() if isinstance(v, np.generic) else v] for v in (values.tolist() if isinstance(values, np.ndarray) else values)]
    result = encoder.indices(values)
    assert result.dtype == np.int64 and result.tolist() == expected


def test_indices_keep_shape_and_reject_unknown_labels() -> None:
    encoder = NetEncoder("Class", LABELS)
    assert encoder.indices(np.array([["cat", "dog"], ["fish", "cat"]])).tolist() == [[0, 1], [2, 0]]
    with pytest.raises(InputError, match=r"the label 'cow' \(at position 2\) is not one of the 4 known labels: 'cat', 'dog', 'fish', 'bird'\."):
        encoder.indices(["cat", "dog", "cow", "emu"])
    with pytest.raises(InputError, match=r"the label 'dgo' is not one of the 4 known labels: .* Did you mean \"dog\"\?"):
        encoder.encode("dgo")
    with pytest.raises(InputError, match=r"the label 7 \(at position 1\) is not one of the 3 known labels: 0, 1, 2"):
        NetEncoder("Class", [0, 1, 2]).indices(np.array([1, 7]))
    with pytest.raises(InputError, match=r"the label 1 is not one of the 2 known labels: 'a', 'b'"):
        NetEncoder("Class", ["a", "b"]).indices([1])
    many = NetEncoder("Class", [f"c{i}" for i in range(30)])
    with pytest.raises(InputError, match=r"'c19', … \(30 in all\)"):
        many.indices(["zzz"])


def test_class_decoder_properties_against_numpy() -> None:
    decoder = NetDecoder("Class", LABELS)
    p = probabilities(5, 4)
    array = p.numpy().astype(np.float64)
    order = np.argsort(-array, axis=1)
    assert decoder.decode(p, "Decision") == [LABELS[i] for i in order[:, 0]]
    assert decoder.decode(p, ("TopDecisions", 2)) == [[LABELS[i] for i in row[:2]] for row in order]
    assert decoder.decode(p, "TopDecisions") == [[LABELS[i] for i in row] for row in order]
    probabilities_ = decoder.decode(p, "Probabilities")
    assert [list(d) for d in probabilities_] == [LABELS] * 5
    assert np.allclose([list(d.values()) for d in probabilities_], array)
    assert np.allclose(decoder.decode(p, ("Probability", "fish")), array[:, 2])
    top = decoder.decode(p, ("TopProbabilities", 3))
    assert [list(d) for d in top] == [[LABELS[i] for i in row[:3]] for row in order]
    assert np.allclose([list(d.values()) for d in top], np.take_along_axis(array, order[:, :3], 1))
    assert np.allclose(decoder.decode(p, "Entropy"), -(array * np.log(array)).sum(1), atol=1e-6)
    assert decoder.decode(p, ("RandomSample", {"Temperature": 0})) == decoder.decode(p, "Decision")


def test_random_sample_frequencies_follow_temperature() -> None:
    decoder = NetDecoder("Class", ["a", "b"])
    p = torch.tensor([[0.2, 0.8]]).expand(4000, 2)
    torch.manual_seed(0)
    plain = decoder.decode(p, "RandomSample").count("b") / 4000
    cold = decoder.decode(p, ("RandomSample", {"Temperature": 0.5})).count("b") / 4000
    hot = decoder.decode(p, ("RandomSample", 2.0)).count("b") / 4000
    assert abs(plain - 0.8) < 0.03
    assert abs(cold - 0.64 / 0.68) < 0.03  # p**2 renormalized
    assert abs(hot - np.sqrt(0.8) / (np.sqrt(0.8) + np.sqrt(0.2))) < 0.03


def test_class_errors() -> None:
    decoder = NetDecoder("Class", LABELS)
    p = probabilities(2, 4)
    with pytest.raises(NetError, match=r"'Decisoin' is not a property; the properties are \"Decision\", .* Did you mean \"Decision\"\?"):
        decoder.decode(p, "Decisoin")
    with pytest.raises(NetError, match=r'"Probability" needs the label: \("Probability", \'cat\'\)'):
        decoder.decode(p, "Probability")
    with pytest.raises(NetError, match=r'\("TopDecisions", n\) needs a positive int n; received 0'):
        decoder.decode(p, ("TopDecisions", 0))
    with pytest.raises(NetError, match=r"the temperature must be a number ≥ 0"):
        decoder.decode(p, ("RandomSample", {"Temperature": -1}))
    with pytest.raises(InputError, match=r"expected probability vectors of size 4 \(one per label\) but received a batch of shape \(2, 3\)"):
        decoder.decode(probabilities(2, 3), None)
    with pytest.raises(NetError, match=r"the label 'cat' appears twice \(at 0 and 2\)"):
        NetEncoder("Class", ["cat", "dog", "cat"])
    with pytest.raises(NetError, match=r'give the list of labels, such as NetEncoder\("Class", \["cat", "dog"\]\)'):
        NetEncoder("Class", [])
    with pytest.raises(NetError, match=r'Class encoder: encoding must be one of "Index", "UnitVector"; received "OneHot"\.'):
        NetEncoder("Class", LABELS, "OneHot")


def test_boolean_round_trip() -> None:
    encoder = NetEncoder("Boolean")
    values, was_batch = encoder.encode([True, False, True])
    assert was_batch and values.tolist() == [1.0, 0.0, 1.0] and encoder.port_type.dims == ()
    assert encoder.encode(False) == (torch.tensor([0.0]), False) or encoder.encode(False)[0].tolist() == [0.0]
    decoder = NetDecoder(encoder)
    assert decoder.decode(values, Automatic) == [True, False, True]
    p = torch.tensor([0.9, 0.25])
    assert np.allclose(decoder.decode(p, "Probability"), [0.9, 0.25])
    assert decoder.decode(p, "Probabilities")[1] == pytest.approx({True: 0.25, False: 0.75})
    assert np.allclose(decoder.decode(p, "Entropy"), [-(q * np.log(q) + (1 - q) * np.log(1 - q)) for q in (0.9, 0.25)])
    assert decoder.decode(p, ("RandomSample", 0)) == [True, False]
    with pytest.raises(InputError, match=r"Boolean encoder: expected True or False but received 'yes'"):
        encoder.encode(["yes"])


def double(x):
    return np.asarray(x, dtype=np.float64) * 2


def halve(x):
    return (x / 2).tolist()


def test_function_coders_round_trip() -> None:
    encoder = NetEncoder("Function", double, (3,))
    encoded, was_batch = encoder.encode([[1, 2, 3], [4, 5, 6]])
    assert was_batch and encoded.dtype == torch.float32 and encoded.tolist() == [[2, 4, 6], [8, 10, 12]]
    decoder = NetDecoder("Function", halve, (3,))
    assert decoder.decode(encoded, Automatic) == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(InputError, match=r"the function gave shape \(2,\) for example 0 but the encoder declares \(3,\)"):
        encoder.encode([[1, 2]])
    with pytest.raises(InputError, match=r"double failed on example 0: ValueError"):
        encoder.encode([["x"]])
    with pytest.raises(NetError, match=r'a "Function" encoder has no inverse'):
        NetDecoder(encoder)


def tiny_tokenizer(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=60, special_tokens=["[PAD]", "[UNK]"])
    tokenizer.train_from_iterator(["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 5, trainer)
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def all_coders(tmp_path):
    path = tiny_tokenizer(tmp_path)
    return [
        NetEncoder("Image", size=(8, 6), color_space="Grayscale", mean_image=0.5, variance_image=(0.25,), resize_method="Fit"),
        NetDecoder("Image", size=(8, 6), color_space="RGB"),
        NetEncoder("Class", LABELS, "UnitVector"),
        NetEncoder("Class", [1, 2, 3]),
        NetDecoder("Class", LABELS),
        NetEncoder("Boolean"),
        NetDecoder("Boolean"),
        NetEncoder("Characters", "abc", "UnitVector", padding_index=3),
        NetDecoder("Characters", "abc"),
        NetEncoder("Tokens", ["the", "cat"], unknown_index=2, ignore_case=True),
        NetDecoder("Tokens", ["the", "cat"], separator="_"),
        NetEncoder("SubwordTokens", path, padding_index=0),
        NetDecoder("SubwordTokens", path),
    ]


def test_every_spec_round_trips_through_json(tmp_path) -> None:
    for coder in all_coders(tmp_path):
        spec = json.loads(json.dumps(coder.to_spec()))
        again = coder_from_spec(spec)
        assert type(again) is type(coder) and again == coder and repr(again) == repr(coder)
        assert again.port_type == coder.port_type


def test_function_specs_need_permission() -> None:
    spec = json.loads(json.dumps(NetEncoder("Function", double, "Real").to_spec()))
    assert spec["function"] == "tests.coders.test_class:double"
    with pytest.raises(NetError, match=r'names the Python function "tests.coders.test_class:double"; loading it runs code, so it is refused. Pass allow_functions=True'):
        coder_from_spec(spec)
    again = coder_from_spec(spec, allow_functions=True)
    assert again.function is double and again.port_type.dims == ()
    with pytest.raises(NetError, match=r"has no import path \(a lambda or a nested function\), so it cannot be saved"):
        NetEncoder("Function", lambda x: x, 3).to_spec()
    with pytest.raises(NetError, match=r"unknown coder NetEncoder\(\"Sound\"\)"):
        coder_from_spec({"coder": "NetEncoder", "kind": "Sound"})


def test_constructor_errors() -> None:
    with pytest.raises(NetError, match=r'NetEncoder: unknown kind \'Imgae\'; the kinds are .* Did you mean "Image"\?'):
        NetEncoder("Imgae")
    with pytest.raises(NetError, match=r'NetEncoder\("Class"\): got an unexpected keyword argument \'label\'; its parameters are labels, encoding'):
        NetEncoder("Class", label=["a"])
    with pytest.raises(NetError, match=r"takes no further arguments"):
        NetDecoder(NetEncoder("Boolean"), 3)
    assert repr(NetDecoder("Class", [f"c{i}" for i in range(10)])) == 'NetDecoder("Class", labels=("c0", "c1", "c2", "c3", … 10 in all))'
