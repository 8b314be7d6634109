"""The one data path (symnet/prepare.py): the encoder bypass rule on net(x) and NetTrain alike,
pixel rules, checks, options, and varying-length batches (padding, lengths, cutting back)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from symnet import (
    All,
    AppendLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetMeasurements,
    NetPort,
    NetPortGradient,
    NetTrain,
    PrependLayer,
    TotalLayer,
)
from symnet.engine import CompiledNet
from symnet.errors import InputError, NetError
from symnet.layers.base import Layer
from symnet.prepare import bf16_supported
from symnet.train.data import input_column

QUIET = {"training_progress_reporting": None}


# -- the bypass rule: the same cases on net(x) and NetTrain -------------------------------------
def _image_port() -> Any:
    return NetEncoder("Image", size=(2, 2), color_space="Grayscale")


def _pixels(dtype: Any, shape: tuple[int, ...], high: float) -> np.ndarray:
    x = np.zeros(shape, dtype=dtype)
    x.reshape(shape[0], -1)[:, :2] = high  # two bright pixels per example
    return x


CASES = [
    # (name, data, the encoded batch the net must see, or the error it must raise)
    ("int64 pixels in the net's (C, H, W) layout go through the encoder", _pixels(np.int64, (3, 1, 2, 2), 255), lambda x: x / 255.0),
    ("uint8 grayscale batch (N, H, W) goes through the encoder", _pixels(np.uint8, (3, 2, 2), 255), lambda x: x[:, None] / 255.0),
    ("uint8 channels-last batch (N, H, W, 1)", _pixels(np.uint8, (3, 2, 2, 1), 255), lambda x: np.moveaxis(x, -1, 1) / 255.0),
    ("floats of the encoded shape bypass the encoder", _pixels(np.float32, (3, 1, 2, 2), 0.5), lambda x: x),
    ("floats of another shape are channels-last images in [0, 1]", _pixels(np.float32, (3, 2, 2), 0.5), lambda x: x[:, None]),
    ("floats in 0 … 255 are refused", _pixels(np.float32, (3, 2, 2), 255.0), r"float pixels must be in \[0, 1\] but these range from 0 to 255; divide by 255 \(x / 255\)"),
    ("integers beyond 255 are refused", _pixels(np.int64, (3, 1, 2, 2), 300), r"integer pixels must be in 0 … 255 but these range from 0 to 300"),
    ("complex numbers are refused", _pixels(np.complex64, (3, 1, 2, 2), 0.5), r"received complex numbers, but nets compute with real numbers; give the real part \(x\.real\)"),
]


@pytest.mark.parametrize("name, data, expected", CASES, ids=[case[0] for case in CASES])
def test_bypass_rule_in_evaluation(name: str, data: np.ndarray, expected: Any) -> None:
    identity = NetInitialize(NetChain([ElementwiseLayer("x")], input=_image_port()))
    if isinstance(expected, str):
        with pytest.raises(NetError, match=expected):
            identity(data, None)
        return
    np.testing.assert_allclose(identity(data, None), expected(data.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("name, data, expected", CASES, ids=[case[0] for case in CASES])
def test_bypass_rule_in_training(name: str, data: np.ndarray, expected: Any) -> None:
    # NetTrain's first-round loss (learning rate ~0, one batch) is the loss of what it was fed
    net = NetInitialize(NetChain([FlattenLayer(), LinearLayer(1)], input=_image_port()), random_seeding=3)
    targets = np.arange(3, dtype=np.float32).reshape(3, 1)
    options = {"batch_size": 3, "max_training_rounds": 1, "learning_rate": 1e-12, **QUIET}
    if isinstance(expected, str):
        with pytest.raises(NetError, match=expected):
            NetTrain(net, (data, targets), All, **options)
        return
    results = NetTrain(net, (data, targets), All, **options)
    fed = torch.from_numpy(expected(data.astype(np.float64)).astype(np.float32))
    weights, biases = (torch.as_tensor(net.layers["1"].arrays[name]) for name in ("Weights", "Biases"))
    loss = float(((fed.reshape(3, -1) @ weights.T + biases - torch.from_numpy(targets)) ** 2).mean())
    assert results["RoundLossList"][0] == pytest.approx(loss, rel=1e-5)


def test_int_pixel_batch_is_scaled_in_both_paths() -> None:
    """The issue's example: an int64 (3, 1, 2, 2) batch summed raw gave 510; it is pixels."""
    net = NetInitialize(NetChain([TotalLayer()], input=_image_port()))
    x = _pixels(np.int64, (3, 1, 2, 2), 255)
    assert net(x).tolist() == pytest.approx([2.0, 2.0, 2.0])
    column = input_column(net, "Input", x, net.coders()["Input"], torch.float32, "NetTrain")
    assert column.batch(slice(None)).sum(dim=(1, 2, 3)).tolist() == pytest.approx([2.0, 2.0, 2.0])


# -- pixel rules (issue 9.6) --------------------------------------------------------------------
def test_float_pixels_outside_unit_range_are_refused_when_resizing_too() -> None:
    encoder = NetEncoder("Image", size=(4, 4), color_space="Grayscale")
    with pytest.raises(InputError, match=r"float pixels must be in \[0, 1\] but these range from 200 to 200; divide by 255"):
        encoder.encode(np.full((6, 6), 200.0, np.float32))  # would be resized: used to clip to white
    with pytest.raises(InputError, match=r"float pixels must be in \[0, 1\]"):
        encoder.encode(np.full((4, 4), 200.0, np.float32))  # at its own size: used to pass unscaled


def test_one_image_with_a_wrong_channel_count_is_not_a_batch() -> None:
    net = NetInitialize(NetChain([TotalLayer()], input=NetEncoder("Image", size=(8, 8))))
    with pytest.raises(InputError, match=r"an array of shape \(8, 8, 5\) is one 8×8 image with 5 channels, but an image has 1, 3 or 4 channels"):
        net(np.zeros((8, 8, 5), np.uint8))
    assert len(net(np.zeros((2, 6, 5), np.uint8))) == 2  # not the encoder's size: a batch to resize


def test_complex_input_is_refused_without_an_encoder() -> None:
    net = NetInitialize(LinearLayer(2, input=3))
    with pytest.raises(InputError, match=r"LinearLayer/Input: received complex numbers"):
        net(np.ones(3, np.complex128))
    with pytest.raises(InputError, match=r"NetTrain: input Input: received complex numbers"):
        NetTrain(net, (np.ones((4, 3), np.complex64), np.ones((4, 2), np.float32)), **QUIET)


def test_nonfinite_inputs_are_refused_in_evaluation() -> None:
    net = NetInitialize(LinearLayer(2, input=3))
    with pytest.raises(InputError, match=r"LinearLayer/Input: example 1 contains NaN or infinite values"):
        net(np.array([[0.0, 1, 2], [np.nan, 0, 0]]))


# -- options ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, shown", [(0, "0"), (-1, "-1"), ("2", '"2"'), (1.5, "1.5"), (True, "True")])
def test_evaluation_batch_size_is_checked(value: Any, shown: str) -> None:
    net = NetInitialize(LinearLayer(2, input=3))
    with pytest.raises(NetError, match=rf"LinearLayer: batch_size must be a positive int or None; received {re.escape(shown)}\. It is the number of examples"):
        net(np.ones((4, 3)), batch_size=value)
    with pytest.raises(NetError, match=rf"NetMeasurements: batch_size must be a positive int or None; received {re.escape(shown)}"):
        NetMeasurements(net, (np.ones((4, 3)), np.ones((4, 2))), "MeanSquare", batch_size=value)


def test_evaluation_batch_size_gives_the_same_answer() -> None:
    net = NetInitialize(LinearLayer(2, input=3))
    x = np.random.default_rng(0).random((10, 3))
    np.testing.assert_allclose(net(x, batch_size=3), net(x), rtol=1e-6)


def test_mixed_precision_evaluation() -> None:
    net = NetInitialize(NetChain([LinearLayer(8), "Ramp", LinearLayer(2)], input=4))
    x = np.random.default_rng(1).random((5, 4)).astype(np.float32)
    mixed = net(x, working_precision="Mixed")
    assert mixed.dtype == np.float32
    np.testing.assert_allclose(mixed, net(x), rtol=0.05, atol=0.05)  # bfloat16 keeps ~3 digits
    if bf16_supported():
        assert not np.array_equal(mixed, net(x))  # it did compute in bfloat16
    with pytest.raises(NetError, match=r'NetChain: working_precision must be one of "Real32", "Real64", "Mixed"; received "Half"'):
        net(x, working_precision="Half")


# -- lengths: varying-length batches ------------------------------------------------------------
SEQUENCES = [np.array([3, 1, 4]), np.array([1]), np.array([5, 9, 2, 6, 5])]


def _each_alone_equals_batch(net: Layer, batch: Any, alone: list[Any]) -> None:
    together = net(batch)
    assert isinstance(together, list) and len(together) == len(alone)
    for position, (got, single) in enumerate(zip(together, alone)):
        expected = net(single)
        assert got.shape == expected.shape, f"example {position}"
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_layers_that_ignore_lengths_work_on_padded_batches() -> None:
    net = NetInitialize(NetChain([EmbeddingLayer(3, 10), ElementwiseLayer("Tanh")], input="Varying"), random_seeding=1)
    _each_alone_equals_batch(net, SEQUENCES, SEQUENCES)


def test_append_and_prepend_on_padded_batches() -> None:
    graph = NetGraph(
        {"embed": EmbeddingLayer(2, 10), "append": AppendLayer(), "prepend": PrependLayer(), "tanh": ElementwiseLayer("Tanh")},
        [(NetPort("Input"), "embed", "append", "prepend", "tanh"), (NetPort("end"), NetPort("append", "Element")), (NetPort("start"), NetPort("prepend", "Element"))],
        ports={"Input": "Varying", "end": 2, "start": 2},
    )
    net = NetInitialize(graph, random_seeding=2)
    ends = [np.array([0.5, -0.5]), np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    starts = [np.array([7.0, 8.0]), np.array([9.0, 10.0]), np.array([11.0, 12.0])]
    batch = {"Input": SEQUENCES, "end": np.stack(ends), "start": np.stack(starts)}
    alone = [{"Input": s, "end": e, "start": b} for s, e, b in zip(SEQUENCES, ends, starts)]
    _each_alone_equals_batch(net, batch, alone)
    lengths = [len(out) for out in net(batch)]
    assert lengths == [len(s) + 2 for s in SEQUENCES]
    assert net(batch)[1][-1].tolist() == pytest.approx(np.tanh([1.0, 2.0]).tolist())  # appended right after the one element


def test_netport_and_gradients_on_padded_batches() -> None:
    net = NetInitialize(NetChain({"embed": EmbeddingLayer(2, 10), "tanh": ElementwiseLayer("Tanh")}, input="Varying"), random_seeding=4)
    hidden = net(SEQUENCES, NetPort(["embed", "Output"]))
    assert [h.shape for h in hidden] == [(3, 2), (1, 2), (5, 2)]
    together = net(SEQUENCES, NetPortGradient(["embed", "Weights"]))
    one_by_one = sum(net(s, NetPortGradient(["embed", "Weights"])) for s in SEQUENCES)
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)  # padding takes no part


def test_real_sequences_are_padded_with_zeros() -> None:
    net = NetInitialize(NetChain([ElementwiseLayer("x + 1")], input=("Varying", 2)))
    out = net([np.ones((2, 2)), np.ones((4, 2))])
    assert [o.shape for o in out] == [(2, 2), (4, 2)] and all((o == 2).all() for o in out)


@dataclass(frozen=True, eq=False, repr=False)
class _LengthsProbe(Layer):
    """A layer that uses lengths: each example's length as a one-element output."""

    uses_lengths: ClassVar[bool] = True

    def infer(self, types: dict[str, Any]) -> dict[str, Any]:
        from symnet.types import TensorType

        types["Output"] = TensorType(())
        return types

    def forward(self, arrays: Any, x: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> torch.Tensor:
        full = torch.full((x.shape[0],), x.shape[1])
        return (full if lengths is None else lengths).to(torch.float32)


def test_engine_passes_and_propagates_lengths() -> None:
    net = NetInitialize(NetChain([EmbeddingLayer(2, 10), ElementwiseLayer("Tanh"), _LengthsProbe()], input="Varying"))
    assert net(SEQUENCES).tolist() == [3.0, 1.0, 5.0]
    assert net(SEQUENCES[2]) == 5.0  # one example: no lengths, the full length
    module = CompiledNet(net)
    x = torch.zeros(3, 5, dtype=torch.int64)
    lengths = torch.tensor([3, 1, 5])
    (out,) = module.run([x], module.output_wires, [lengths])
    assert out.tolist() == [3.0, 1.0, 5.0]
    embedded = module.plan.port_wires[(module.plan.leaves[0][0], "Output")]
    assert module.wire_lengths([embedded, module.output_wires[0]], [lengths])[0].tolist() == [3, 1, 5]
    assert module.wire_lengths([module.output_wires[0]], [lengths]) == [None]  # a scalar output has no length


def test_nettrain_takes_sequences_of_different_lengths() -> None:
    # the losses average each example's real positions (tests/train/test_sequences.py)
    net = NetChain([EmbeddingLayer(2, 10), ElementwiseLayer("Tanh")], input="Varying")
    data = {"Input": [np.array([1, 2, 3]), np.array([1, 2, 3, 4, 5])], "Output": [np.zeros((3, 2)), np.zeros((5, 2))]}
    results = NetTrain(net, data, "RoundLossList", max_training_rounds=20, **QUIET)
    assert results[-1] < results[0]


def test_strings_of_different_lengths_are_padded_by_the_data_path() -> None:
    net = NetInitialize(NetChain([EmbeddingLayer(2), ElementwiseLayer("Tanh")], input=NetEncoder("Characters", "abc")), random_seeding=0)
    _each_alone_equals_batch(net, ["abc", "a", "cabca"], ["abc", "a", "cabca"])
