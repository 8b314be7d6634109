"""The layer table drives the layer tests: every entry of tests/layers/table/ against its reference,
gradcheck in float64, a .symnet round trip (bit for bit), ONNX export checked by onnxruntime and
read back by the ONNX importer.
How to add an entry: the docstring of tests/layers/table/__init__.py."""

import json

import numpy as np
import pytest
import torch

import symnet
from symnet import Export, Import, NetError, NetInformation, NetInitialize, NetReplacePart, compiled
from symnet.io.spec import layer_classes, net_to_spec, spec_to_net
from symnet.layers.base import Layer
from tests.layers.table import ENTRIES, Entry

#: base classes, never used as layers themselves
ABSTRACT = {"Layer", "Container", "LossLayer"}

SEED = 3

#: table entries whose ONNX export the importer refuses, and what it says (a new entry the
#: importer cannot read goes here, with the operator it names)
ONNX_NOT_IMPORTED = {
    "NetArrayLayer": r'the output "Output" is a constant, not computed from the inputs',
    # the extra rows of output_padding are computed, not padding: DeconvolutionLayer only crops
    "DeconvolutionLayer-same-wide-stride": r"\(ConvTranspose\): output_padding \[1\] exceeds the padding",
    "SequenceLastLayer": r"is a constant whose shape depends on the batch size",
    "SequenceIndicesLayer": r"\(Expand\): it builds a tensor whose size depends on the batch size",
    "NetFoldOperator": r"\(Concat\): it joins computed tensors with constants",
    **{f"ExtractLayer-{label}": r"\(Range\): it builds a tensor whose size depends on the batch size" for label in ("rows", "depth2", "one")},
    # the pair's two arrays are stacked along the batch to run the embedding net once
    **{f"NetPairEmbeddingOperator-{label}": r"\(Concat\): it works along axis 0, which holds the batch" for label in ("euclidean", "cosine")},
}


def public_layer_kinds() -> set[str]:
    """Layer classes exported by symnet, and every Layer subclass the .symnet format knows."""
    exported = {name for name in symnet.__all__ if isinstance(getattr(symnet, name), type) and issubclass(getattr(symnet, name), Layer)}
    registered = {name for name, cls in layer_classes().items() if cls.__module__.startswith("symnet.")}
    return (exported | registered) - ABSTRACT


def test_every_public_layer_has_an_entry():
    kinds = {entry.kind for entry in ENTRIES}
    missing = sorted(public_layer_kinds() - kinds)
    assert not missing, f"no entry in the layer table for {', '.join(missing)}: add one (see tests/layers/table/__init__.py)"
    unknown = sorted(kinds - public_layer_kinds())
    assert not unknown, f"the layer table has entries for {', '.join(unknown)}, which symnet does not export"


def test_entry_ids_are_unique():
    ids = [entry.id for entry in ENTRIES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def example(entry: Entry) -> Layer:
    """The entry's layer, initialized, with random values for arrays that initialization leaves
    constant (zero biases, unit scaling, moving statistics), so a reference that forgets one fails."""
    net = NetInitialize(entry.layer(), random_seeding=SEED)
    rng = np.random.default_rng(SEED)
    constant = {path: value for path, value in NetInformation(net, "Arrays").items() if value.size and (value == value.flat[0]).all()}
    if constant:
        net = NetReplacePart(net, {path: rng.uniform(0.5, 1.5, value.shape).astype(value.dtype) for path, value in constant.items()})
    return net


def example_inputs(entry: Entry, net: Layer, random_input) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    if entry.inputs is not None:
        return list(entry.inputs(generator, entry.batch))
    return [random_input(net, port, entry.batch, generator, entry.low, entry.high) for port in net.input_ports()]


def single_precision(inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [x.float() if x.is_floating_point() else x for x in inputs]


def evaluate(net: Layer, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    with torch.inference_mode():
        outputs = compiled(net)(*inputs)
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


entries = pytest.mark.parametrize("entry", ENTRIES, ids=[entry.id for entry in ENTRIES])


@entries
def test_matches_reference_with_gradients(entry, check_layer, random_input):
    net = example(entry)
    inputs = example_inputs(entry, net, random_input)
    check_layer(net, entry.reference, inputs=inputs, gradcheck=entry.gradcheck, training=entry.training, atol=entry.atol)


@entries
def test_symnet_file_round_trip(entry, tmp_path, random_input):
    net = example(entry)
    loaded = Import(Export(tmp_path / "net.symnet", net), allow_functions=True)
    assert type(loaded) is type(net)
    assert loaded.types == net.types
    assert net_to_spec(loaded)[0] == net_to_spec(net)[0]
    inputs = single_precision(example_inputs(entry, net, random_input))
    for before, after in zip(evaluate(net, inputs), evaluate(loaded, inputs), strict=True):
        assert torch.equal(before, after)
    # an uninitialized layer keeps its hyperparameters through the spec alone
    fresh = entry.layer()
    spec, tensors = net_to_spec(fresh)
    again = spec_to_net(json.loads(json.dumps(spec)), tensors, allow_functions=True)
    assert net_to_spec(again)[0] == spec and again.types == fresh.types


@entries
def test_onnx_export_runs_in_onnxruntime(entry, tmp_path, random_input):
    onnxruntime = pytest.importorskip("onnxruntime")
    net = example(entry)
    path = tmp_path / "net.onnx"
    if entry.onnx is not True:
        with pytest.raises(NetError, match=r"Export: "):
            Export(path, net)
        return
    Export(path, net)
    inputs = single_precision(example_inputs(entry, net, random_input))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(None, {port: x.numpy() for port, x in zip(net.input_ports(), inputs)})
    expected = evaluate(net, inputs)
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=1e-5)
    # ... and Import reads the file back as symnet layers that compute the same, or names what it cannot import
    if entry.id in ONNX_NOT_IMPORTED:
        with pytest.raises(NetError, match=ONNX_NOT_IMPORTED[entry.id]):
            Import(path)
        return
    imported = Import(path)
    by_port = dict(zip(net.input_ports(), inputs))
    outputs = dict(zip(imported.output_ports(), evaluate(imported, [by_port[port] for port in imported.input_ports()]), strict=True))
    for port, want in zip(net.output_ports(), expected, strict=True):
        np.testing.assert_allclose(outputs[port], want.numpy(), atol=1e-5, rtol=1e-5)
