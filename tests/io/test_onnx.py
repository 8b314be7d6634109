"""ONNX: export checked by onnxruntime against symnet, import of the core operators."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from symnet import (  # noqa: E402
    ConvolutionLayer,
    ElementwiseLayer,
    Export,
    FlattenLayer,
    Import,
    LinearLayer,
    NetChain,
    NetError,
    NetGraph,
    NetInitialize,
    PoolingLayer,
    ReshapeLayer,
    SoftmaxLayer,
    ThreadingLayer,
)

RNG = np.random.default_rng(0)


def run_onnxruntime(path, inputs):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


NETS = {
    "mlp": lambda: NetChain([LinearLayer(8), "Tanh", LinearLayer(5), "LogisticSigmoid", LinearLayer(3), SoftmaxLayer()], input=4),
    "cnn": lambda: NetChain(
        [ConvolutionLayer(4, 3, padding=1), "Ramp", PoolingLayer(2), ConvolutionLayer(6, 3, stride=2), PoolingLayer(2, function="Mean"), FlattenLayer(), LinearLayer(5), SoftmaxLayer()],
        input=(2, 12, 12),
    ),
    "reshape": lambda: NetChain([LinearLayer(12), ReshapeLayer((3, 4)), SoftmaxLayer()], input=5),
    "graph": lambda: NetGraph({"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus"), "times": ThreadingLayer("Times")}, [("a", "b", "sum"), ("a", "c", "sum", "times"), ("b", "times")], input=3),
}


def example(net, batch=5):
    return RNG.normal(size=(batch, *net.types["Input"].dims)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(NETS))
def test_export_matches_onnxruntime_and_imports_back(name, tmp_path):
    net = NetInitialize(NETS[name](), random_seeding=4)
    path = Export(tmp_path / "net.onnx", net)
    x = example(net)
    expected = net(x, None)
    (actual,) = run_onnxruntime(path, {"Input": x})
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=1e-5)
    imported = Import(path)
    np.testing.assert_allclose(imported(x, None), expected, atol=1e-5, rtol=1e-5)
    assert type(imported).__name__ == ("NetGraph" if name == "graph" else "NetChain")


def test_imported_layers_are_symnet_layers(tmp_path):
    net = NetInitialize(NETS["cnn"](), random_seeding=1)
    imported = Import(Export(tmp_path / "cnn.onnx", net))
    assert [layer.kind for layer in imported.layers.values()] == [
        "ConvolutionLayer", "ElementwiseLayer", "PoolingLayer", "ConvolutionLayer", "PoolingLayer", "ReshapeLayer", "LinearLayer", "SoftmaxLayer",
    ]
    np.testing.assert_array_equal(imported.layers["0"].arrays["Weights"], net.layers["0"].arrays["Weights"])


def test_matmul_add_and_scalar_constants(tmp_path):
    weights = RNG.normal(size=(3, 2)).astype(np.float32)
    bias = RNG.normal(size=(2,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"]),
            helper.make_node("Add", ["h", "b"], ["y"]),
            helper.make_node("Mul", ["y", "two"], ["z"]),
            helper.make_node("Relu", ["z"], ["out"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor("W", TensorProto.FLOAT, [3, 2], weights.ravel()), helper.make_tensor("b", TensorProto.FLOAT, [2], bias), helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])],
    )
    path = tmp_path / "matmul.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    net = Import(path)
    assert [layer.kind for layer in net.layers.values()] == ["LinearLayer", "ElementwiseLayer", "ElementwiseLayer"]
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(net(x), np.maximum(2 * (x @ weights + bias), 0), atol=1e-5)
    np.testing.assert_allclose(net(x), run_onnxruntime(path, {"x": x})[0], atol=1e-5)


def test_unsupported_operators_are_listed(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Det", ["x"], ["d"], name="det"), helper.make_node("Hardmax", ["d"], ["h"], name="max1"), helper.make_node("Hardmax", ["h"], ["out"], name="max2")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )
    path = tmp_path / "det.onnx"
    onnx.save(helper.make_model(graph), path)
    # every unsupported operator, each with its first node; what depends on them is not reported again
    with pytest.raises(NetError, match=r'the model uses operators symnet cannot import: Det \(node "det"\)\. Supported: Abs, Add, AveragePool'):
        Import(path)


def test_bad_files(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01junk")
    with pytest.raises(NetError, match="not a readable ONNX file"):
        Import(tmp_path / "junk.onnx")
    with pytest.raises(NetError, match="no such file"):
        Import(tmp_path / "missing.onnx")


@pytest.mark.parametrize(("content", "says"), [(b"", r"is empty \(0 bytes\)"), (b"\x08\x07", r"\(2 bytes\) is not an ONNX model: it holds no graph of operators"), (b"\x12\x00", r"\(2 bytes\) is not an ONNX model: it holds no graph of operators")])
def test_empty_and_tiny_files_say_so(tmp_path, content, says):
    (tmp_path / "tiny.onnx").write_bytes(content)
    with pytest.raises(NetError, match=rf'Import\(".*tiny.onnx"\): the file {says}\. Check the path, or export the model to ONNX again\.'):
        Import(tmp_path / "tiny.onnx")


def test_export_needs_known_input_shapes(tmp_path):
    with pytest.raises(NetError, match=r'the input "Input" has the shape \(…\), which is not fully known'):
        Export(tmp_path / "x.onnx", NetInitialize(NetChain([ElementwiseLayer("Tanh")])))
