"""The sequence layers in .symnet files (same outputs bit for bit), in ONNX (onnxruntime agrees
with symnet) and in the display."""

import numpy as np
import pytest

from symnet import (
    AttentionLayer,
    BasicRecurrentLayer,
    EmbeddingLayer,
    Export,
    GatedRecurrentLayer,
    Import,
    LongShortTermMemoryLayer,
    NetChain,
    NetInitialize,
    SequenceIndicesLayer,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    UnitVectorLayer,
)

NETS = {
    "lstm": lambda: NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer()], input=("Varying", 2)),
    "gru": lambda: NetChain([GatedRecurrentLayer(3), SequenceReverseLayer(), SequenceMostLayer(), SequenceRestLayer()], input=("Varying", 2)),
    "rnn-states": lambda: BasicRecurrentLayer(3, final_states=True, initial_states=True, input=("Varying", 2)),
    "attention": lambda: AttentionLayer(mask="Causal", multi_head=True, score_rescaling="DimensionSqrt", input=[("Varying", 2, 3)] * 3),
    "positions": lambda: NetChain([SequenceIndicesLayer(10), EmbeddingLayer(3), UnitVectorLayer()], input="Varying"),
}


def example(net, length, batch=None):
    rng = np.random.default_rng(0)
    shapes = {p: tuple(length if d == "Varying" else d for d in net.types[p].dims) for p in net.input_ports()}
    data = {p: rng.random(s if batch is None else (batch, *s)).astype(np.float32) for p, s in shapes.items()}
    return data if len(data) > 1 else next(iter(data.values()))


def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


@pytest.mark.parametrize("name", NETS)
def test_sequence_nets_round_trip(name, tmp_path):
    net = NetInitialize(NETS[name](), random_seeding=3)
    Export(tmp_path / "net.symnet", net)
    back = Import(tmp_path / "net.symnet")
    x = example(net, 4)
    assert same(net(x), back(x))
    assert repr(back) == repr(net)


@pytest.mark.parametrize("name", NETS)
def test_sequence_nets_onnx(name, tmp_path):
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    net = NetInitialize(NETS[name](), random_seeding=3)
    Export(tmp_path / "net.onnx", net)
    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"))
    x = example(net, 5, batch=2)  # a length other than the export's example length
    feeds = x if isinstance(x, dict) else {net.input_ports()[0]: x}
    results = session.run(None, feeds)
    expected = net(x)
    expected = [expected[p] for p in net.output_ports()] if isinstance(expected, dict) else [expected]
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_sequence_layers_display():
    assert repr(AttentionLayer(mask="Causal", multi_head=True)).splitlines()[0] == "AttentionLayer(mask='Causal', multi_head=True)  <uninitialized>"
    assert repr(LongShortTermMemoryLayer(4, final_states=True)).splitlines()[0] == "LongShortTermMemoryLayer(4, final_states=True)  <uninitialized>"
    text = repr(NetInitialize(GatedRecurrentLayer(2, input=("Varying", 3))))
    assert "Output     matrix (n, 2)" in text and "ResetGateStateWeights array (2, 2)" in text
