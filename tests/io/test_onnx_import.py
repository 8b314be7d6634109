"""ONNX import of torch-exported nets: a ResNet-18-shaped CNN, transformer encoders (hand-written
and nn.TransformerEncoder) and recurrent nets become symnet layers whose outputs match
onnxruntime's; what symnet cannot import is refused naming the operator and the node."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from symnet import Export, Import, NetError, NetTrain  # noqa: E402
from tests.models.torch_reference import randomized  # noqa: E402

TOLERANCE = 1e-4


def export(module, example, path, *, opset=17, dynamic=None, **options):
    """The legacy (TorchScript) exporter, with a dynamic batch axis as users are told to export."""
    axes = {"x": {0: "batch", **(dynamic or {})}, "y": {0: "batch"}}
    # not under no_grad: nn.TransformerEncoderLayer would take its fused path, which has no ONNX form
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), dynamo=False, input_names=["x"], output_names=["y"], dynamic_axes=axes, opset_version=opset, **options)
    return path


def onnxruntime_output(path, x):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def kinds(net):
    return [layer.kind for layer in net.layers.values()]


# -- a ResNet-18-shaped CNN ---------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, channels, width, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width)
        self.downsample = nn.Sequential(nn.Conv2d(channels, width, 1, stride, bias=False), nn.BatchNorm2d(width)) if stride != 1 or channels != width else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18Shaped(nn.Module):
    """ResNet-18's layout (7×7 stem, max pool, four stages of two basic blocks, global pool, fc) at an eighth of the width."""

    def __init__(self, widths=(8, 16, 32, 64), classes=10):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0])
        blocks, channels = [], widths[0]
        for stage, width in enumerate(widths):
            blocks += [BasicBlock(channels, width, 2 if stage else 1), BasicBlock(width, width, 1)]
            channels = width
        self.blocks, self.pool, self.fc = nn.Sequential(*blocks), nn.AdaptiveAvgPool2d(1), nn.Linear(channels, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.fc(torch.flatten(self.pool(self.blocks(x)), 1))


@pytest.mark.parametrize("batch_norm", ["folded", "kept"])
def test_resnet18_shaped_cnn_matches_onnxruntime(batch_norm, tmp_path):
    torch.manual_seed(0)
    module = randomized(ResNet18Shaped(), seed=None)
    # the exporter folds batch norms into the convolutions unless constant folding is off
    path = export(module, torch.randn(2, 3, 32, 32), tmp_path / "resnet.onnx", do_constant_folding=batch_norm == "folded")
    net = Import(path)
    x = np.random.default_rng(1).normal(size=(3, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
    assert kinds(net).count("ConvolutionLayer") == 20
    assert kinds(net).count("BatchNormalizationLayer") == (20 if batch_norm == "kept" else 0)
    # global average pooling then Flatten: one AggregationLayer, no reshape
    assert "AggregationLayer" in kinds(net) and "ReshapeLayer" not in kinds(net)


# -- transformer encoders ---------------------------------------------------------------------
class SelfAttentionBlock(nn.Module):
    """Multi-head self-attention, then a GELU feed-forward, each with a residual and a LayerNorm (post-norm, as BERT)."""

    def __init__(self, size=32, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv, self.out = nn.Linear(size, 3 * size), nn.Linear(size, size)
        self.norm1, self.norm2 = nn.LayerNorm(size), nn.LayerNorm(size)
        self.hidden, self.back = nn.Linear(size, 2 * size), nn.Linear(2 * size, size)

    def forward(self, x):
        batch, length, size = x.shape
        split = [t.view(batch, length, self.heads, size // self.heads).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1)]
        q, k, v = split
        attention = torch.softmax(q @ k.transpose(-2, -1) / (size // self.heads) ** 0.5, dim=-1) @ v
        x = self.norm1(x + self.out(attention.transpose(1, 2).reshape(batch, length, size)))
        return self.norm2(x + self.back(F.gelu(self.hidden(x))))


class TokenEncoder(nn.Module):
    """Token and learned position embeddings, two attention blocks, mean over the sequence, a linear head."""

    def __init__(self, vocabulary=50, length=6, size=32):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, size)
        self.position = nn.Parameter(torch.randn(1, length, size) * 0.1)
        self.blocks = nn.Sequential(SelfAttentionBlock(size), SelfAttentionBlock(size))
        self.head = nn.Linear(size, 3)

    def forward(self, tokens):
        return self.head(self.blocks(self.embedding(tokens) + self.position).mean(dim=1))


@pytest.mark.parametrize("opset", [17, 16])
def test_hand_written_transformer_encoder_matches_onnxruntime(opset, tmp_path):
    torch.manual_seed(0)
    tokens = torch.randint(0, 50, (2, 6))
    # opset 16 has no LayerNormalization: torch writes it out as ReduceMean/Sub/Pow/…/Div/Mul/Add
    path = export(TokenEncoder(), tokens, tmp_path / "encoder.onnx", opset=opset)
    net = Import(path)
    x = np.random.default_rng(2).integers(0, 50, size=(4, 6))
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
    assert kinds(net).count("NormalizationLayer") == 4 and kinds(net).count("EmbeddingLayer") == 1
    # GELU's Erf form (x·0.5·(1 + erf(x/√2))) is recognised as the one activation it is
    functions = [layer.function for layer in net.layers.values() if layer.kind == "ElementwiseLayer"]
    assert functions.count("GELU") == 2 and "Erf" not in functions


class VaryingLengthEncoder(nn.Module):
    """Tokens of any length: embeddings, two attention blocks, mean over the sequence (``positions``: add a learned table cut to the length)."""

    def __init__(self, positions=False):
        super().__init__()
        self.embedding, self.blocks, self.head = nn.Embedding(50, 32), nn.Sequential(SelfAttentionBlock(), SelfAttentionBlock()), nn.Linear(32, 3)
        self.position = nn.Parameter(torch.randn(1, 8, 32) * 0.1) if positions else None

    def forward(self, tokens):
        x = self.embedding(tokens)
        if self.position is not None:
            x = x + self.position[:, : tokens.shape[1]]
        return self.head(self.blocks(x).mean(dim=1))


def test_encoder_exported_with_a_dynamic_length_takes_any_length(tmp_path):
    torch.manual_seed(0)
    path = export(VaryingLengthEncoder(), torch.randint(0, 50, (2, 6)), tmp_path / "encoder.onnx", dynamic={1: "length"})
    net = Import(path)
    assert net.types[net.input_ports()[0]].dims == ("Varying",)
    x = np.random.default_rng(7).integers(0, 50, size=(3, 4))  # exported with length 6
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)


def test_constants_cut_to_a_dynamic_length_are_refused(tmp_path):
    # the position table cut to the input's length: a constant whose size only the running net knows
    path = export(VaryingLengthEncoder(positions=True), torch.randint(0, 50, (2, 6)), tmp_path / "encoder.onnx", dynamic={1: "length"})
    with pytest.raises(NetError, match=r"\(Slice\): it builds a tensor whose size depends on the batch size or a sequence's length; symnet cannot make such a constant\."):
        Import(path)


def test_torch_transformer_encoder_matches_onnxruntime(tmp_path):
    # nn.MultiheadAttention works on (length, batch·heads, size/heads): the batch moves and merges with the heads
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu", batch_first=True)
    module = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    path = export(module, torch.randn(2, 5, 32), tmp_path / "encoder.onnx")
    net = Import(path)
    x = np.random.default_rng(3).normal(size=(3, 5, 32)).astype(np.float32)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
    with torch.no_grad():
        np.testing.assert_allclose(net(x, None), module(torch.from_numpy(x)).numpy(), atol=TOLERANCE)
    assert kinds(net).count("NormalizationLayer") == 4


def test_imported_encoder_saves_and_loads_as_symnet(tmp_path):
    torch.manual_seed(1)
    net = Import(export(TokenEncoder(), torch.randint(0, 50, (2, 6)), tmp_path / "encoder.onnx"))
    loaded = Import(Export(tmp_path / "encoder.symnet", net))
    x = np.random.default_rng(4).integers(0, 50, size=(3, 6))
    np.testing.assert_array_equal(loaded(x, None), net(x, None))


# -- recurrent nets ---------------------------------------------------------------------------
class LastState(nn.Module):
    def __init__(self, cell, final_state=False):
        super().__init__()
        self.recurrent, self.head, self.final_state = cell(3, 8, batch_first=True), nn.Linear(8, 2), final_state

    def forward(self, x):
        states, final = self.recurrent(x)
        if self.final_state:  # the LSTM's Y_h output, (directions, batch, size)
            return self.head(final[0][0])
        return self.head(states[:, -1])


@pytest.mark.parametrize(("cell", "final_state", "varying"), [(nn.LSTM, False, False), (nn.GRU, False, False), (nn.LSTM, True, False), (nn.LSTM, False, True), (nn.RNN, False, False)])
def test_recurrent_nets_match_onnxruntime(cell, final_state, varying, tmp_path):
    torch.manual_seed(0)
    module = LastState(cell, final_state).eval()
    if cell is nn.GRU:
        # symnet's GRU (Wolfram's) has no recurrence bias inside the reset: torch's b_hn must be 0
        with torch.no_grad():
            module.recurrent.bias_hh_l0[16:].zero_()
    path = export(module, torch.randn(2, 5, 3), tmp_path / "rnn.onnx", dynamic={1: "length"} if varying else None)
    net = Import(path)
    recurrent = {"LSTM": "LongShortTermMemoryLayer", "GRU": "GatedRecurrentLayer", "RNN": "BasicRecurrentLayer"}[cell.__name__]
    assert recurrent in kinds(net)
    length = 7 if varying else 5
    x = np.random.default_rng(5).normal(size=(4, length, 3)).astype(np.float32)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
    if varying:
        assert net.types[net.input_ports()[0]].dims == ("Varying", 3)


def test_imported_recurrent_net_trains(tmp_path):
    torch.manual_seed(0)
    net = Import(export(LastState(nn.LSTM), torch.randn(2, 5, 3), tmp_path / "rnn.onnx"))
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(32, 5, 3)).astype(np.float32), rng.normal(size=(32, 2)).astype(np.float32)
    trained = NetTrain(net, (x, y), max_training_rounds=3, batch_size=8, random_seeding=0, training_progress_reporting=None)
    assert not np.allclose(trained(x, None), net(x, None))


def test_gru_with_a_recurrence_bias_in_the_memory_gate_is_refused(tmp_path):
    torch.manual_seed(0)
    path = export(LastState(nn.GRU), torch.randn(2, 5, 3), tmp_path / "gru.onnx")
    with pytest.raises(NetError, match=r'node "/recurrent/GRU" \(GRU\): the recurrence bias of the memory gate \(torch\'s bias_hh_l0\[2h:3h\]\) is not zero'):
        Import(path)


# -- what cannot be imported ------------------------------------------------------------------
def save(tmp_path, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path


def test_unsupported_operators_are_named_with_their_first_node(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("TopK", ["x", "k"], ["values", "indices"], name="top"), helper.make_node("NonZero", ["values"], ["nz"], name="nonzero"), helper.make_node("Relu", ["nz"], ["out"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        [helper.make_tensor("k", TensorProto.INT64, [1], [2])],
    )
    with pytest.raises(NetError, match=r'the model uses operators symnet cannot import: TopK \(node "top"\)\. Supported: Abs, Add, .*LSTM.*, and any operator on constants\.'):
        Import(path)


def test_reshape_across_examples_is_refused(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("Reshape", ["x", "shape"], ["out"], name="mix")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [2, -1])],
    )
    with pytest.raises(NetError, match=r'node "mix" \(Reshape\): reshaping \(batch, 6\) to \(2, batch·3\) mixes elements of different examples\.'):
        Import(path)


def test_static_batch_sizes_say_how_to_export(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("Reshape", ["x", "shape"], ["out"], name="fixed")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [2, 12])],
    )
    with pytest.raises(NetError, match=r"the target shape \(2, 12\) does not keep the batch on one axis; export the model with a dynamic batch axis"):
        Import(path)


def test_constants_sized_by_the_batch_are_refused(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("Shape", ["x"], ["shape"]), helper.make_node("ConstantOfShape", ["shape"], ["ones"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])), helper.make_node("Add", ["x", "ones"], ["out"], name="plus")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )
    with pytest.raises(NetError, match=r'node "plus" \(Add\): its input "ones" is a constant whose shape depends on the batch size'):
        Import(path)


class CausalBlock(nn.Module):
    """GPT-style: scores masked with masked_fill(-inf) above the diagonal, exported at a fixed length."""

    def __init__(self, size=16, length=5):
        super().__init__()
        self.qkv, self.out = nn.Linear(size, 3 * size), nn.Linear(size, size)
        self.register_buffer("mask", torch.tril(torch.ones(length, length)))

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = (q @ k.transpose(-2, -1)).masked_fill(self.mask == 0, float("-inf"))
        return self.out(torch.softmax(scores / 4.0, dim=-1) @ v)


def test_causal_mask_by_masked_fill_imports(tmp_path):
    torch.manual_seed(0)
    path = export(CausalBlock(), torch.randn(2, 5, 16), tmp_path / "causal.onnx")
    net = Import(path)
    x = np.random.default_rng(8).normal(size=(3, 5, 16)).astype(np.float32)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
