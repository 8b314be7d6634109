"""Native .symnet files: coders, containers, bad files refused with NetError. (The round trip of
every layer, bit for bit, is part of the layer table: tests/layers/test_table.py.)"""

import json
import os
import struct

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet import (
    Export,
    FunctionLayer,
    Import,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetError,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    SoftmaxLayer,
    ThreadingLayer,
)
from symnet.containers.base import Container
from symnet.io import native
from symnet.io.spec import net_to_spec, spec_to_net
from symnet.layers.base import Layer


def test_tuples_lists_slices_and_dicts_keep_their_types():
    layer = symnet.PartLayer((slice(1, None, 2), [2, 0]), input=(5, 3))
    spec, tensors = net_to_spec(layer)
    loaded = spec_to_net(json.loads(json.dumps(spec)), tensors)
    assert loaded.spec == (slice(1, None, 2), [2, 0])
    assert isinstance(loaded.spec, tuple) and isinstance(loaded.spec[1], list)


def test_encoders_and_decoders_survive(tmp_path):
    net = NetInitialize(NetChain(
        [symnet.FlattenLayer(), LinearLayer(3), SoftmaxLayer()],
        input=NetEncoder("Image", size=(4, 4), color_space="Grayscale"),
        output=NetDecoder("Class", ["cat", "dog", "fish"]),
    ))
    loaded = Import(Export(tmp_path / "coded.symnet", net))
    images = np.random.default_rng(0).integers(0, 255, (5, 4, 4), dtype=np.uint8)
    assert loaded(images) == net(images)
    assert repr(loaded.coders()["Output"]) == repr(net.coders()["Output"])
    assert repr(loaded.coders()["Input"]) == repr(net.coders()["Input"])


def test_float64_arrays_and_partly_initialized_nets(tmp_path):
    net = NetChain([LinearLayer(2, arrays={"Weights": np.ones((2, 3), np.float64), "Biases": np.zeros(2)}), LinearLayer(4)])
    loaded = Import(Export(tmp_path / "partial.symnet", net))
    assert loaded.layers["0"].arrays["Weights"].dtype == torch.float64
    assert loaded.layers["1"].arrays["Weights"] is None
    np.testing.assert_array_equal(NetExtract(loaded, [0, "Weights"]), np.ones((2, 3)))


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = tmp_path / "net.symnet"
    first = NetInitialize(NetChain([LinearLayer(2)], input=3))
    Export(path, first)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        Export(path, NetInitialize(NetChain([LinearLayer(5)], input=3)))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.symnet"]


def test_function_layer_is_refused_unless_allowed(tmp_path):
    path = Export(tmp_path / "function.symnet", NetChain([LinearLayer(3), FunctionLayer("torch.nn.functional:gelu")], input=2))
    with pytest.raises(NetError, match=r"FunctionLayer naming the Python function 'torch.nn.functional:gelu'.*Pass allow_functions=True"):
        Import(path)
    assert Import(path, allow_functions=True).layers["1"].function == "torch.nn.functional:gelu"


def test_function_layer_with_a_callable_is_stored_by_import_path(tmp_path):
    import torch.nn.functional as F

    net = NetInitialize(NetChain([LinearLayer(3), FunctionLayer(F.gelu)], input=2))
    loaded = Import(Export(tmp_path / "callable.symnet", net), allow_functions=True)
    np.testing.assert_allclose(loaded([1.0, 2.0]), net([1.0, 2.0]), rtol=1e-6)


def test_a_lambda_cannot_be_saved(tmp_path):
    net = NetChain([FunctionLayer(lambda x: x * 2)], input=2)
    with pytest.raises(NetError, match="has no import path .a lambda or a nested function., so it cannot be saved"):
        Export(tmp_path / "lambda.symnet", net)
    assert not (tmp_path / "lambda.symnet").exists()


def _rewrite(path, change):
    """Rewrite a file's metadata with ``change(metadata)`` and a correct checksum."""
    content = path.read_bytes()
    (length,) = struct.unpack("<Q", content[:8])
    header = json.loads(content[8 : 8 + length])
    metadata = header["__metadata__"]
    change(metadata)
    from safetensors.torch import load

    tensors = load(content)
    metadata["checksum"] = native._checksum(metadata["format_version"], metadata["spec"], tensors)
    from safetensors.torch import save

    path.write_bytes(save(tensors, metadata=metadata))


@pytest.fixture
def saved(tmp_path):
    return Export(tmp_path / "net.symnet", NetInitialize(NetChain({"linear": LinearLayer(3), "act": "Tanh"}, input=2)))


def test_newer_format_version_is_refused(saved):
    _rewrite(saved, lambda m: m.update(format_version="7"))
    with pytest.raises(NetError, match=r"format version 7, newer than this symnet reads \(up to 1\)\. Upgrade symnet"):
        Import(saved)


@pytest.mark.parametrize("version", ["²", "١", "1.0", "-1", "", " 1"])
def test_a_format_version_that_is_not_ascii_digits_is_a_net_error(saved, version):
    _rewrite(saved, lambda m: m.update(format_version=version))
    with pytest.raises(NetError, match=r"net.symnet.\): the file is corrupted: its format version .* is not a number"):
        Import(saved)


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None])
def test_allow_functions_must_be_a_bool(tmp_path, value):
    path = Export(tmp_path / "function.symnet", NetChain([LinearLayer(3), FunctionLayer("torch.nn.functional:gelu")], input=2))
    with pytest.raises(NetError, match=r'Import\(".*function.symnet"\): allow_functions must be True or False; received '):
        Import(path, allow_functions=value)


def test_unknown_layer_is_refused(saved):
    _rewrite(saved, lambda m: m.update(spec=m["spec"].replace('"LinearLayer"', '"QuantumLayer"')))
    with pytest.raises(NetError, match=r'NetChain/linear: the file names the layer "QuantumLayer", which this symnet does not have'):
        Import(saved)


def test_wrong_hyperparameter_type_is_refused(saved):
    _rewrite(saved, lambda m: m.update(spec=m["spec"].replace('"size": 3', '"size": "three"')))
    with pytest.raises(NetError, match=r'NetChain/linear \(LinearLayer\): the hyperparameter "size" must be .*but the file gives \'three\' \(str\)'):
        Import(saved)


def test_unknown_hyperparameter_is_refused(saved):
    _rewrite(saved, lambda m: m.update(spec=m["spec"].replace('"size": 3', '"width": 3')))
    with pytest.raises(NetError, match='the file gives the hyperparameter "width", which LinearLayer does not have'):
        Import(saved)


def test_array_of_the_wrong_shape_is_refused(saved, tmp_path):
    other = Export(tmp_path / "other.symnet", NetInitialize(NetChain({"linear": LinearLayer(3), "act": "Tanh"}, input=5)))
    _rewrite(saved, lambda m: m.update(spec=json.loads(other.read_bytes()[8 : 8 + struct.unpack("<Q", other.read_bytes()[:8])[0]])["__metadata__"]["spec"].replace('"input": {"$type": {"dims": [5]', '"input": {"$type": {"dims": [2]')))
    with pytest.raises(NetError, match="NetChain"):
        Import(saved)


def test_corrupted_and_truncated_files(saved, tmp_path):
    content = saved.read_bytes()
    (tmp_path / "short.symnet").write_bytes(content[: len(content) // 2])
    with pytest.raises(NetError, match="truncated|corrupted"):
        Import(tmp_path / "short.symnet")
    flipped = bytearray(content)
    flipped[-3] ^= 0x40
    (tmp_path / "flipped.symnet").write_bytes(bytes(flipped))
    with pytest.raises(NetError, match="checksum does not match"):
        Import(tmp_path / "flipped.symnet")
    with pytest.raises(NetError, match="no such file"):
        Import(tmp_path / "missing.symnet")
    (tmp_path / "plain.symnet").write_bytes(b"hello")
    with pytest.raises(NetError, match="truncated"):
        Import(tmp_path / "plain.symnet")


def test_unknown_extension():
    with pytest.raises(NetError, match=r'unknown file format ".h5"; use one of .symnet, .onnx'):
        Export("net.h5", LinearLayer(2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_raise_net_error_only(data, tmp_path_factory):
    net = NetInitialize(NetChain({"linear": LinearLayer(3), "act": "Tanh", "out": [LinearLayer(2), SoftmaxLayer()]}, input=2, output=NetDecoder("Class", ["a", "b"])))
    content = bytearray(native.net_bytes(net))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(content) - 1))
        damaged = bytes(content[:cut])
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            position = data.draw(st.integers(0, len(content) - 1))
            content[position] ^= data.draw(st.integers(1, 255))
        damaged = bytes(content)
    try:
        loaded = native.net_from_bytes(damaged, "test")
    except NetError:
        return
    assert isinstance(loaded, Layer)  # a flip in insignificant header whitespace may leave the file intact


@settings(max_examples=60, deadline=None)
@given(spec=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["$layer", "$tuple", "$dict", "$slice", "$type", "$port", "$coder", "$tensor", "$symbol", "$function", "fields", "arrays", "layers", "x"]), children, max_size=3),
    max_leaves=12,
))
def test_arbitrary_specs_raise_net_error_only(spec):
    try:
        spec_to_net(spec, {})
    except NetError:
        pass


def test_graph_with_named_ports_round_trips(tmp_path):
    layers = {"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus")}
    net = NetInitialize(NetGraph(layers, [(NetPort("Input"), "a", "b", "sum"), ("a", "c", "sum"), ("sum", NetPort("Result"))], input=3))
    loaded = Import(Export(tmp_path / "graph.symnet", net))
    assert loaded.output_ports() == ("Result",)
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_array_equal(loaded(x), net(x))


def test_container_members_keep_their_names(tmp_path):
    net = NetInitialize(NetChain({"linear": LinearLayer(4), "act": "Tanh", "out": [LinearLayer(2), SoftmaxLayer()]}, input=3))
    loaded = Import(Export(tmp_path / "chain.symnet", net))
    assert list(loaded.layers) == ["linear", "act", "out"]
    assert isinstance(loaded.layers["out"], Container)


def test_import_of_a_checkpoint_state_file_names_the_net_file(tmp_path):
    from symnet import Import

    (tmp_path / "round-3.safetensors").write_bytes(b"state")
    (tmp_path / "round-3.symnet").write_bytes(b"net")
    with pytest.raises(NetError, match=r"this is NetTrain's training state .*; the net saved beside it is \".*round-3\.symnet\": import that file\."):
        Import(tmp_path / "round-3.safetensors")
