"""Native .symnet files: round trips for every layer, coders, bad files refused with NetError."""

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
    All,
    BatchNormalizationLayer,
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
from symnet.engine import compiled
from symnet.io import native
from symnet.io.spec import layer_classes, net_to_spec, spec_to_net
from symnet.layers.base import Layer

# One small example of every layer class in symnet. A new layer class without an example here
# makes test_every_layer_class_has_an_example fail, so that its file round trip gets tested.
EXAMPLES = {
    "LinearLayer": lambda: LinearLayer((2, 3), input=(4, 2), biases=False),
    "ElementwiseLayer": lambda: symnet.ElementwiseLayer("x**2 + sin(x)", input=3),
    "ThreadingLayer": lambda: ThreadingLayer("x1 * x2 + x3", input=[3, 3, 3]),
    "SoftmaxLayer": lambda: SoftmaxLayer(0, input=(3, 2)),
    "DropoutLayer": lambda: symnet.DropoutLayer(0.25, input=4),
    "NetArrayLayer": lambda: symnet.NetArrayLayer((2, 3)),
    "BatchNormalizationLayer": lambda: BatchNormalizationLayer(epsilon=1e-3, momentum=0.8, input=(3, 4)),
    "NormalizationLayer": lambda: symnet.NormalizationLayer(levels=(-2, -1), input=(2, 3)),
    "EmbeddingLayer": lambda: symnet.EmbeddingLayer(3, 7, input="Varying"),
    "ConvolutionLayer": lambda: symnet.ConvolutionLayer(4, (3, 2), stride=(1, 2), padding=1, input=(2, 6, 6)),
    "DeconvolutionLayer": lambda: symnet.DeconvolutionLayer(3, 4, stride=2, padding=1, input=(2, 3, 3)),
    "PoolingLayer": lambda: symnet.PoolingLayer(2, function="Mean", input=(2, 4, 4)),
    "ResizeLayer": lambda: symnet.ResizeLayer((4, 6), input=(2, 2, 3)),
    "PaddingLayer": lambda: symnet.PaddingLayer([(0, 0), (1, 2)], padding_value=0.5, input=(2, 3)),
    "FlattenLayer": lambda: symnet.FlattenLayer(1, input=(2, 3, 4)),
    "ReshapeLayer": lambda: symnet.ReshapeLayer((3, -1), input=(2, 6)),
    "TransposeLayer": lambda: symnet.TransposeLayer((2, 0, 1), input=(2, 3, 4)),
    "CatenateLayer": lambda: symnet.CatenateLayer(input=[(2, 3), (4, 3)]),
    "AppendLayer": lambda: symnet.AppendLayer(input=(2, 3)),
    "PrependLayer": lambda: symnet.PrependLayer(input=(2, 3)),
    "PartLayer": lambda: symnet.PartLayer((slice(1, 3), All), input=(4, 5)),
    "ReplicateLayer": lambda: symnet.ReplicateLayer(3, -1, input=2),
    "AggregationLayer": lambda: symnet.AggregationLayer("Mean", input=(3, 4, 4)),
    "TotalLayer": lambda: symnet.TotalLayer(0, input=(2, 3)),
    "SummationLayer": lambda: symnet.SummationLayer(input=(2, 3)),
    "DotLayer": lambda: symnet.DotLayer(input=[(2, 3), (3, 4)]),
    "CrossEntropyLossLayer": lambda: symnet.CrossEntropyLossLayer("Probabilities", input=4),
    "MeanSquaredLossLayer": lambda: symnet.MeanSquaredLossLayer(input=3),
    "MeanAbsoluteLossLayer": lambda: symnet.MeanAbsoluteLossLayer(input=3),
    "FunctionLayer": lambda: FunctionLayer("torch.nn.functional:softplus", input=3),
    "NetChain": lambda: NetChain({"linear": LinearLayer(4), "act": "Tanh", "out": [LinearLayer(2), SoftmaxLayer()]}, input=3),
    "NetGraph": lambda: NetGraph(
        {"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus")},
        [(NetPort("Input"), "a", "b", "sum"), ("a", "c", "sum"), ("sum", NetPort("Result"))],
        input=3,
    ),
}

#: base classes, never used as layers themselves
ABSTRACT = {"Layer", "Container", "LossLayer"}


def _symnet_classes() -> dict[str, type[Layer]]:
    return {name: cls for name, cls in layer_classes().items() if cls.__module__.startswith("symnet.") and name not in ABSTRACT}


def test_every_layer_class_has_an_example():
    missing = sorted(set(_symnet_classes()) - set(EXAMPLES))
    assert not missing, f"add an example of {', '.join(missing)} to EXAMPLES in tests/io/test_native.py"


def _outputs(net: Layer, random_input, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    if any(d == "Varying" for port in net.input_ports() for d in (net.types[port].dims or ())):
        inputs = [torch.randint(0, 7, (2, 5), generator=generator)]
    else:
        inputs = [random_input(net, port, 2, generator, low=0.05, high=1.0) for port in net.input_ports()]
        inputs = [x.float() if x.is_floating_point() else x for x in inputs]
    with torch.inference_mode():
        result = compiled(net).run(inputs, compiled(net).output_wires)
    return result


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip_gives_identical_outputs(name, tmp_path, random_input):
    if name == "NetArrayLayer":
        net = NetInitialize(EXAMPLES[name](), random_seeding=3)
        net = symnet.NetReplacePart(net, {"Array": np.arange(6.0).reshape(2, 3)})
    else:
        net = NetInitialize(EXAMPLES[name](), random_seeding=3)
    path = tmp_path / "net.symnet"
    Export(path, net)
    loaded = Import(path, allow_functions=True)
    assert type(loaded) is type(net)
    assert loaded.types == net.types
    if isinstance(net, Layer) and net.input_ports():
        for a, b in zip(_outputs(net, random_input), _outputs(loaded, random_input)):
            assert torch.equal(a, b)
    else:
        assert torch.equal(net.arrays["Array"], loaded.arrays["Array"])


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_uninitialized_round_trip_keeps_hyperparameters(name):
    net = EXAMPLES[name]()
    spec, tensors = net_to_spec(net)
    assert tensors == {}
    loaded = spec_to_net(json.loads(json.dumps(spec)), tensors, allow_functions=True)
    assert net_to_spec(loaded)[0] == spec
    assert loaded.types == net.types and not loaded.initialized or not net.array_names()


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
    net = NetInitialize(EXAMPLES["NetGraph"]())
    loaded = Import(Export(tmp_path / "graph.symnet", net))
    assert loaded.output_ports() == ("Result",)
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_array_equal(loaded(x), net(x))


def test_container_members_keep_their_names(tmp_path):
    net = NetInitialize(EXAMPLES["NetChain"]())
    loaded = Import(Export(tmp_path / "chain.symnet", net))
    assert list(loaded.layers) == ["linear", "act", "out"]
    assert isinstance(loaded.layers["out"], Container)


def test_import_of_a_checkpoint_state_file_names_the_net_file(tmp_path):
    from symnet import Import

    (tmp_path / "round-3.safetensors").write_bytes(b"state")
    (tmp_path / "round-3.symnet").write_bytes(b"net")
    with pytest.raises(NetError, match=r"this is NetTrain's training state .*; the net saved beside it is \".*round-3\.symnet\": import that file\."):
        Import(tmp_path / "round-3.safetensors")
