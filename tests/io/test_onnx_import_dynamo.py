"""ONNX files from torch.onnx.export's default exporter (torch.export, ``dynamo=True``), which
writes other graphs than the TorchScript exporter the other tests use: an image net with
upsampling, recurrent nets whose zero initial states are one number expanded to the batch and
cut per layer, and nn.TransformerEncoder; each imports and matches onnxruntime."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript", reason="torch's default ONNX exporter needs onnxscript (in the dev extra)")

from symnet import Import  # noqa: E402
from tests.io.test_onnx_import import onnxruntime_output  # noqa: E402

TOLERANCE = 1e-4


def export(module, example, path):
    """torch.onnx.export as a user calls it today, with the batch axis dynamic."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), input_names=["x"], output_names=["y"], dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    return path


class Segmenter(nn.Module):
    """Downsample, upsample twice (bilinear, then nearest), as a small segmentation head does."""

    def __init__(self):
        super().__init__()
        self.down, self.bn, self.out = nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.Conv2d(8, 2, 1)

    def forward(self, x):
        y = F.interpolate(F.relu6(self.bn(self.down(x))), scale_factor=2, mode="bilinear")
        return F.interpolate(self.out(y), size=(12, 16), mode="nearest")


class Recurrent(nn.Module):
    """Two stacked layers: the exporter cuts each layer's zero initial state from one tensor."""

    def __init__(self, cell, bidirectional):
        super().__init__()
        self.recurrent = cell(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(8 if bidirectional else 4, 2)
        if cell is nn.GRU:  # symnet's GRU (Wolfram's) has no recurrence bias inside the reset
            with torch.no_grad():
                for name, bias in self.recurrent.named_parameters():
                    if name.startswith("bias_hh"):
                        bias[8:].zero_()

    def forward(self, x):
        states, _ = self.recurrent(x)
        return self.head(states[:, -1])


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (Segmenter, (3, 12, 16)),
        # (a forward LSTM and a bidirectional GRU import too; each export costs seconds, so one stands for them)
        (lambda: Recurrent(nn.LSTM, bidirectional=True), (5, 3)),
        (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu", batch_first=True), 2, enable_nested_tensor=False), (6, 32)),
    ],
    ids=["upsampling", "bidirectional-lstm", "transformer-encoder"],
)
def test_default_exporter_files_import(make, shape, tmp_path):
    torch.manual_seed(0)
    module = make()
    path = export(module, torch.randn(2, *shape), tmp_path / "net.onnx")
    net = Import(path)
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype(np.float32)
    np.testing.assert_allclose(net(x, None), onnxruntime_output(path, x), atol=TOLERANCE)
    with torch.no_grad():
        np.testing.assert_allclose(net(x, None), module(torch.from_numpy(x)).numpy(), atol=TOLERANCE)
