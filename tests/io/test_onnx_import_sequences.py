"""ONNX import of bidirectional LSTM and GRU (NetBidirectionalOperator) and of GatherElements
(torch.gather), from nets torch exports; each imported net matches onnxruntime, and what symnet
cannot compute is refused naming the node."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from symnet import Import, NetError, NetTrain  # noqa: E402

TOLERANCE = 1e-4


def export(module, examples, path, names=("x",), dynamic=None):
    """torch's TorchScript exporter, with dynamic batch axes (and ``dynamic`` more axes of the first input)."""
    axes = {name: {0: "batch"} for name in names} | {"y": {0: "batch"}}
    axes[names[0]] |= dynamic or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), tuple(examples), str(path), dynamo=False, input_names=list(names), output_names=["y"], dynamic_axes=axes, opset_version=17)
    return path


def onnxruntime_output(path, feeds):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


class Bidirectional(nn.Module):
    """A bidirectional recurrent layer read three ways: every state, the final states, or both."""

    def __init__(self, cell, read, batch_first=True):
        super().__init__()
        self.recurrent = cell(3, 4, batch_first=batch_first, bidirectional=True)
        self.head, self.read, self.batch_first = nn.Linear(8, 2), read, batch_first
        if cell is nn.GRU:  # symnet's GRU (Wolfram's) has no recurrence bias inside the reset
            with torch.no_grad():
                self.recurrent.bias_hh_l0[8:].zero_()
                self.recurrent.bias_hh_l0_reverse[8:].zero_()

    def forward(self, x):
        states, final = self.recurrent(x)
        final = final[0] if isinstance(final, tuple) else final  # the LSTM's (h, c)
        joined = torch.cat([final[0], final[1]], -1)  # Y_h: (directions, batch, size)
        if self.read == "states":
            return self.head(states)
        if self.read == "final":
            return self.head(joined)
        return self.head(states[:, 0] if self.batch_first else states[0]) + self.head(joined)


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("read", ["states", "final", "both"])
def test_bidirectional_recurrent_nets_match_onnxruntime(cell, read, tmp_path):
    torch.manual_seed(0)
    module = Bidirectional(cell, read)
    path = export(module, [torch.randn(2, 5, 3)], tmp_path / "birnn.onnx", dynamic={1: "length"})
    net = Import(path)
    assert "NetBidirectionalOperator" in [layer.kind for layer in net.layers.values()]
    for length in (5, 8):  # the length was exported as dynamic
        x = np.random.default_rng(length).normal(size=(3, length, 3)).astype(np.float32)
        expected = onnxruntime_output(path, {"x": x})
        np.testing.assert_allclose(net(x, None), expected, atol=TOLERANCE)
        with torch.no_grad():
            np.testing.assert_allclose(net(x, None), module(torch.from_numpy(x)).numpy(), atol=TOLERANCE)
    if read != "states":
        # a batch of different lengths: each example read backwards from its own last element
        examples = [np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32) for n in (3, 6, 4)]
        together = net(examples, None)
        for example, result in zip(examples, together):
            np.testing.assert_allclose(result, onnxruntime_output(path, {"x": example[None]})[0], atol=TOLERANCE)


def test_imported_bidirectional_lstm_trains(tmp_path):
    torch.manual_seed(0)
    net = Import(export(Bidirectional(nn.LSTM, "final"), [torch.randn(2, 5, 3)], tmp_path / "birnn.onnx"))
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(16, 5, 3)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)
    trained = NetTrain(net, (x, y), max_training_rounds=2, batch_size=8, random_seeding=0, training_progress_reporting=None)
    assert not np.allclose(trained(x, None), net(x, None))


class FinalCells(nn.Module):
    def __init__(self):
        super().__init__()
        self.recurrent = nn.LSTM(3, 4, batch_first=True, bidirectional=True)

    def forward(self, x):
        _, (_, cells) = self.recurrent(x)
        return cells.transpose(0, 1).reshape(x.shape[0], 8)


def test_final_cell_states_of_a_bidirectional_lstm_are_refused(tmp_path):
    path = export(FinalCells(), [torch.randn(2, 5, 3)], tmp_path / "cells.onnx")
    with pytest.raises(NetError, match=r'node "/recurrent/LSTM" \(LSTM\): the final cell states Y_c of a bidirectional LSTM are not supported'):
        Import(path)


# -- GatherElements ---------------------------------------------------------------------------
class Gather(nn.Module):
    def __init__(self, axis):
        super().__init__()
        self.linear, self.axis = nn.Linear(4, 4), axis

    def forward(self, x, index):
        return torch.gather(self.linear(x), self.axis, index)


@pytest.mark.parametrize(("axis", "index_shape"), [(1, (2, 4)), (2, (5, 3)), (-1, (5, 1)), (1, (5, 4))])
def test_gather_elements_matches_onnxruntime(axis, index_shape, tmp_path):
    torch.manual_seed(0)
    data_shape = (5, 4)
    rng = np.random.default_rng(1)
    size = data_shape[axis % 3 - 1]
    example = torch.from_numpy(rng.integers(0, size, (2, *index_shape)))
    path = export(Gather(axis), [torch.randn(2, *data_shape), example], tmp_path / "gather.onnx", names=("x", "index"))
    net = Import(path)
    assert "ExtractLayer" in [layer.kind for layer in net.layers.values()]
    x = rng.normal(size=(3, *data_shape)).astype(np.float32)
    index = rng.integers(-size, size, (3, *index_shape))  # negative indices count from the end
    expected = onnxruntime_output(path, {"x": x, "index": index})
    np.testing.assert_allclose(net({"x": x, "index": index}, None), expected, atol=TOLERANCE)


def test_gather_elements_along_the_batch_axis_is_refused(tmp_path):
    path = export(Gather(0), [torch.randn(2, 5, 4), torch.zeros(2, 5, 4, dtype=torch.int64)], tmp_path / "gather.onnx", names=("x", "index"))
    with pytest.raises(NetError, match=r'node "/GatherElements" \(GatherElements\): it works along axis 0, which holds the batch'):
        Import(path)


def test_gather_elements_with_constant_indices_is_refused(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("GatherElements", ["x", "index"], ["y"], axis=1, name="pick")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("index", TensorProto.INT64, [2, 1], [0, 3])],
    )
    path = tmp_path / "gather.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    with pytest.raises(NetError, match=r'node "pick" \(GatherElements\): its indices are a constant; symnet imports GatherElements with indices computed from the net\'s inputs'):
        Import(path)
