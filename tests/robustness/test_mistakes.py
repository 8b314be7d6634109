"""A catalogue of user mistakes: each must give a clear NetError (where, what, the fix, no raw text).

Each entry is ``(id, mistake, match)``: calling ``mistake()`` must raise a NetError whose message
matches ``match`` and passes the suite's clarity check (see conftest). Entries for faults that
belong to another part of the work are ``xfail(strict=True)`` with the issue item as the reason,
so they turn into failures the moment they are fixed and must be moved into the catalogue proper.
``scripts/robustness_report.py`` runs the same list and counts the outcomes.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest

from symnet import (
    AggregationLayer,
    AttentionLayer,
    BasicRecurrentLayer,
    BatchNormalizationLayer,
    CatenateLayer,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    DeconvolutionLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    Export,
    FlattenLayer,
    FunctionLayer,
    GatedRecurrentLayer,
    ImageAugmentationLayer,
    Import,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetAppend,
    NetArrayLayer,
    NetChain,
    NetDecoder,
    NetDelete,
    NetDrop,
    NetEncoder,
    NetExtract,
    NetFlatten,
    NetGraph,
    NetInformation,
    NetInitialize,
    NetInsert,
    NetJoin,
    NetMeasurements,
    NetModel,
    NetPort,
    NetRename,
    NetReplace,
    NetReplacePart,
    NetTake,
    NetTrain,
    NormalizationLayer,
    PaddingLayer,
    PartLayer,
    PoolingLayer,
    ReplicateLayer,
    ReshapeLayer,
    ResizeLayer,
    SequenceIndicesLayer,
    SoftmaxLayer,
    ThreadingLayer,
    TransposeLayer,
    datasets,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4)).astype(np.float32)
LABELS = np.array(["a", "b"] * 8)


@functools.cache
def classifier():
    return NetInitialize(NetChain({"linear": LinearLayer(3), "act": "Tanh", "out": LinearLayer(2), "soft": SoftmaxLayer()}, input=4, output=NetDecoder("Class", ["a", "b"])))


@functools.cache
def regressor():
    return NetInitialize(NetChain([LinearLayer(3), "Tanh", LinearLayer(1)], input=4))


def uninitialized():
    return NetChain([LinearLayer(3), "Tanh", LinearLayer(2)], input=4)


def graph():
    return NetGraph({"a": LinearLayer(3), "b": "Tanh"}, [("a", "b")])


def train(**options):
    """NetTrain on a tiny regression with one round, quiet: a mistake must stop it before any work."""
    options.setdefault("max_training_rounds", 1)
    options.setdefault("training_progress_reporting", None)
    return NetTrain(regressor(), (X, X[:, :1]), **options)


def train_classifier(**options):
    options.setdefault("max_training_rounds", 1)
    options.setdefault("training_progress_reporting", None)
    return NetTrain(classifier(), (X, LABELS), **options)


def file_with(tmp, name, content):
    path = tmp / name
    path.write_bytes(content)
    return path


# one folder for the whole catalogue, removed when the test process ends (the cases are lambdas
# without pytest's tmp_path: a mkdtemp each left thousands of folders in /tmp over the sessions)
_SCRATCH = tempfile.TemporaryDirectory(prefix="symnet-mistakes-")


def scratch(suffix: str = "") -> Path:
    """A new empty folder inside the catalogue's scratch folder."""
    return Path(tempfile.mkdtemp(suffix=suffix, dir=_SCRATCH.name))


def import_bytes(name, content):
    return Import(file_with(scratch(), name, content))


def export_to(name, net, **options):
    return Export(scratch() / name, net, **options)


def saved_then(change):
    """Export the classifier, let ``change(path)`` damage it, import it again."""
    path = scratch() / "net.symnet"
    Export(path, classifier())
    change(path)
    return Import(path)


def truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


DATA_95 = "issue 9.5 (data): evaluation batch_size not validated"
DATA_96 = "issue 9.6 (data): silently wrong input conversion"


def owned(reason, *entry):
    return pytest.param(*entry, id=entry[0], marks=pytest.mark.xfail(strict=True, reason=reason))


MISTAKES = [
    # -- layers: hyperparameters ------------------------------------------------------------
    ("linear-size-0", lambda: LinearLayer(0), r"LinearLayer: the size must be a positive int"),
    ("linear-size-negative", lambda: LinearLayer(-3), r"LinearLayer: the size"),
    ("linear-size-float", lambda: LinearLayer(2.5), r"LinearLayer: the size"),
    ("linear-size-string", lambda: LinearLayer("3"), r"LinearLayer"),
    ("linear-size-tuple-zero", lambda: LinearLayer((2, 0)), r"LinearLayer: the size"),
    ("linear-unknown-option", lambda: LinearLayer(3, bias=False), r"unknown option bias=.*Did you mean \"biases\""),
    ("linear-input-zero", lambda: LinearLayer(3, input=0), r"positive int"),
    ("linear-input-negative-dim", lambda: LinearLayer(3, input=(2, -1)), r"positive int"),
    ("linear-weights-wrong-shape", lambda: NetInitialize(LinearLayer(3, input=4, arrays={"Weights": np.zeros((2, 2))})), r"Weights"),
    ("linear-unknown-array", lambda: LinearLayer(3, input=4, arrays={"Wieghts": np.zeros((3, 4))}), r"has no array \"Wieghts\".*Did you mean \"Weights\""),
    ("linear-array-text", lambda: LinearLayer(3, input=4, arrays={"Weights": "zeros"}), r"Weights"),
    ("elementwise-unknown-name", lambda: ElementwiseLayer("Rampp"), r"unknown activation \"Rampp\".*Did you mean \"Ramp\""),
    ("elementwise-bad-syntax", lambda: ElementwiseLayer("x**"), r'ElementwiseLayer: The expression "x\*\*" cannot be parsed'),
    ("elementwise-unknown-function", lambda: ElementwiseLayer("foo(x)"), r"Unknown function \"foo\""),
    ("elementwise-unknown-variable", lambda: ElementwiseLayer("y + 1"), r"Unknown variable \"y\""),
    ("elementwise-number", lambda: ElementwiseLayer(42), r"ElementwiseLayer"),
    ("elementwise-attribute-escape", lambda: ElementwiseLayer("x.__class__"), r"ElementwiseLayer"),
    ("threading-unknown", lambda: ThreadingLayer("Plu"), r"ThreadingLayer: unknown function \"Plu\""),
    ("dropout-above-one", lambda: DropoutLayer(1.5), r"DropoutLayer"),
    ("dropout-negative", lambda: DropoutLayer(-0.1), r"DropoutLayer"),
    ("dropout-text", lambda: DropoutLayer("half"), r"DropoutLayer"),
    ("softmax-level-text", lambda: SoftmaxLayer(level="last", input=3), r"SoftmaxLayer"),
    ("conv-channels-0", lambda: ConvolutionLayer(0, 3), r"ConvolutionLayer: the number of output channels must be a positive int"),
    ("conv-kernel-0", lambda: ConvolutionLayer(8, 0), r"ConvolutionLayer: kernel_size"),
    ("conv-stride-0", lambda: ConvolutionLayer(8, 3, stride=0), r"ConvolutionLayer: stride"),
    ("conv-padding-negative", lambda: ConvolutionLayer(8, 3, padding=-1), r"ConvolutionLayer: padding"),
    ("conv-padding-name", lambda: ConvolutionLayer(8, 3, padding="Sam"), r"ConvolutionLayer: padding"),
    ("conv-groups-0", lambda: ConvolutionLayer(8, 3, groups=0), r"ConvolutionLayer: groups must be a positive int"),
    ("conv-groups-not-dividing", lambda: ConvolutionLayer(8, 3, groups=3, input=(4, 8, 8)), r"ConvolutionLayer.*group"),
    ("conv-dilation-0", lambda: ConvolutionLayer(8, 3, dilation=0), r"ConvolutionLayer: dilation"),
    ("conv-kernel-larger-than-input", lambda: ConvolutionLayer(8, 5, input=(3, 2, 2)), r"ConvolutionLayer"),
    ("conv-input-rank-1", lambda: ConvolutionLayer(8, 3, input=5), r"ConvolutionLayer"),
    ("deconv-channels-0", lambda: DeconvolutionLayer(0, 3), r"DeconvolutionLayer"),
    ("pooling-function", lambda: PoolingLayer(2, function="Average"), r'PoolingLayer: function must be one of "Max", "Mean", "Total"; received "Average"'),
    ("pooling-kernel-0", lambda: PoolingLayer(0), r"PoolingLayer"),
    ("pooling-stride-0", lambda: PoolingLayer(2, stride=0), r"PoolingLayer"),
    ("pooling-too-large", lambda: PoolingLayer(5, input=(1, 2, 2)), r"PoolingLayer"),
    ("resize-size-0", lambda: ResizeLayer((0, 3)), r"ResizeLayer"),
    ("resize-method", lambda: ResizeLayer((4, 4), method="Bilinaer"), r'ResizeLayer: method must be one of .*Did you mean "Bilinear"'),
    ("padding-method", lambda: PaddingLayer([(1, 1)], method="Reflect"), r'PaddingLayer: method must be one of .*Did you mean "Reflected"'),
    ("padding-negative", lambda: PaddingLayer(-1), r"PaddingLayer"),
    ("batchnorm-epsilon-0", lambda: BatchNormalizationLayer(epsilon=0), r"BatchNormalizationLayer: epsilon must be a positive number; received 0"),
    ("batchnorm-momentum-2", lambda: BatchNormalizationLayer(momentum=2), r"BatchNormalizationLayer: momentum"),
    ("normalization-epsilon-negative", lambda: NormalizationLayer(epsilon=-1), r"NormalizationLayer: epsilon"),
    ("embedding-size-0", lambda: EmbeddingLayer(0, 10), r"EmbeddingLayer: the size"),
    ("embedding-vocabulary-float", lambda: EmbeddingLayer(4, 2.5), r"EmbeddingLayer: the vocabulary"),
    ("recurrent-size-0", lambda: BasicRecurrentLayer(0), r"BasicRecurrentLayer: the size"),
    ("gru-size-negative", lambda: GatedRecurrentLayer(-1), r"GatedRecurrentLayer: the size"),
    ("lstm-size-text", lambda: LongShortTermMemoryLayer("8"), r"LongShortTermMemoryLayer: the size"),
    ("attention-scoring", lambda: AttentionLayer("Dott"), r'AttentionLayer: scoring must be one of "Dot", "Bilinear"; received "Dott"'),
    ("attention-mask", lambda: AttentionLayer(mask="causal"), r'AttentionLayer: mask must be one of None, "Causal"; received "causal"'),
    ("attention-dropout", lambda: AttentionLayer(dropout=2), r"AttentionLayer: dropout"),
    ("reshape-wrong-count", lambda: ReshapeLayer((2, 2), input=5), r"ReshapeLayer"),
    ("reshape-zero", lambda: ReshapeLayer((0,)), r"ReshapeLayer"),
    ("transpose-bad-axes", lambda: TransposeLayer((0, 5), input=(2, 3)), r"TransposeLayer"),
    ("catenate-arity-0", lambda: CatenateLayer(arity=0), r"CatenateLayer: the number of inputs must be a positive int"),
    ("part-out-of-range", lambda: PartLayer(10, input=3), r"PartLayer"),
    ("replicate-0", lambda: ReplicateLayer(0), r"ReplicateLayer: the size must be a positive int"),
    ("flatten-level-text", lambda: FlattenLayer(level="all"), r"FlattenLayer"),
    ("aggregation-function", lambda: AggregationLayer("Maxx"), r'AggregationLayer: function must be one of .*Did you mean "Max"'),
    ("cross-entropy-form", lambda: CrossEntropyLossLayer("Indx"), r'CrossEntropyLossLayer: target_form must be one of .*Did you mean "Index"'),
    ("netarray-dims-0", lambda: NetArrayLayer(dims=(0,)), r"NetArrayLayer"),
    ("augmentation-size-0", lambda: ImageAugmentationLayer((0, 0)), r"ImageAugmentationLayer"),
    ("sequence-indices-max-length-0", lambda: SequenceIndicesLayer(max_length=0), r"max_length"),
    ("function-layer-no-colon", lambda: NetInitialize(NetChain([FunctionLayer("gelu")], input=3))(np.zeros(3, np.float32)), r"FunctionLayer"),
    ("function-layer-missing-module", lambda: NetInitialize(NetChain([FunctionLayer("no_such_module_x:f")], input=3))(np.zeros(3, np.float32)), r"FunctionLayer"),
    # -- containers ---------------------------------------------------------------------------
    ("chain-empty", lambda: NetChain([]), r"NetChain"),
    ("chain-member-number-float", lambda: NetChain([LinearLayer(3), 4.5]), r"NetChain"),
    ("chain-member-object", lambda: NetChain([LinearLayer(3), object()]), r"NetChain"),
    ("chain-member-unknown-name", lambda: NetChain([LinearLayer(3), "Rampp"]), r"Rampp"),
    ("chain-output-conflict", lambda: NetChain([LinearLayer(3), LinearLayer(2)], input=4, output=3), r"NetChain"),
    ("chain-input-text", lambda: NetChain([LinearLayer(3)], input="four"), r"NetChain/Input: 'four' is not a port shape"),
    ("chain-input-negative", lambda: NetChain([LinearLayer(3)], input=-1), r"positive int"),
    ("chain-decoder-classes-conflict", lambda: NetChain([LinearLayer(3), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["a", "b"])), r'decoder NetDecoder\("Class"'),
    ("chain-unknown-port", lambda: NetChain([LinearLayer(3)], ports={"Inptu": 4}), r"NetChain"),
    ("chain-not-a-list", lambda: NetChain(LinearLayer(3), input=4)(np.zeros(4)), r"NetChain"),
    ("chain-unknown-option", lambda: NetChain([LinearLayer(3)], inputs=4), r"NetChain"),
    ("graph-edge-unknown-layer", lambda: NetGraph({"a": LinearLayer(3)}, [("a", "b")]), r"NetGraph: the edge names the layer"),
    ("graph-edge-unknown-port", lambda: NetGraph({"a": LinearLayer(3), "b": "Tanh"}, [(("a", "Outptu"), "b")]), r"NetGraph: the edge names the layer"),
    ("graph-cycle", lambda: NetGraph({"a": LinearLayer(3), "b": LinearLayer(3)}, [("a", "b"), ("b", "a")]), r"NetGraph"),
    ("graph-edge-not-pair", lambda: NetGraph({"a": LinearLayer(3)}, ["a"]), r"NetGraph"),
    ("graph-empty", lambda: NetGraph({}, []), r"NetGraph"),
    ("graph-shape-conflict", lambda: NetGraph({"a": LinearLayer(3, input=2), "b": LinearLayer(2, input=4)}, [("a", "b")]), r"NetGraph"),
    ("graph-two-sources-one-port", lambda: NetGraph({"a": LinearLayer(3), "b": LinearLayer(3), "c": "Tanh"}, [("a", "c"), ("b", "c")]), r"NetGraph"),
    # -- coders --------------------------------------------------------------------------------
    ("encoder-unknown-kind", lambda: NetEncoder("Imag", (4, 4)), r'unknown kind "Imag"|Did you mean "Image"'),
    ("decoder-unknown-kind", lambda: NetDecoder("Clas", ["a", "b"]), r'Did you mean "Class"'),
    ("image-encoder-size-0", lambda: NetEncoder("Image", (0, 4)), r"size"),
    ("image-encoder-color-space", lambda: NetEncoder("Image", (4, 4), color_space="Greyscale"), r'color_space must be one of .*Did you mean "Grayscale"'),
    ("image-encoder-variance-0", lambda: NetEncoder("Image", (4, 4), variance_image=0), r"variance_image must be positive"),
    ("class-encoder-empty", lambda: NetEncoder("Class", []), r"give the list of labels"),
    ("class-encoder-duplicate", lambda: NetEncoder("Class", ["a", "b", "a"]), r"appears twice"),
    ("class-encoder-encoding", lambda: NetEncoder("Class", ["a", "b"], encoding="OneHot"), r'encoding must be one of "Index", "UnitVector"; received "OneHot"'),
    ("class-decoder-empty", lambda: NetDecoder("Class", []), r"labels"),
    ("class-decoder-property", lambda: classifier()(X[0], "Probabilitiez"), r"Did you mean"),
    ("class-encoder-unknown-label", lambda: NetInitialize(NetChain([LinearLayer(2)], input=NetEncoder("Class", ["cat", "dog"])))("cow"), r"the label \"cow\"|'cow'"),
    ("tokens-encoder-no-tokens", lambda: NetEncoder("Tokens", []), r"Tokens"),
    ("boolean-decoder-after-two", lambda: NetChain([LinearLayer(2)], input=3, output=NetDecoder("Boolean")), r"Boolean"),
    ("image-encoder-given-text", lambda: NetInitialize(NetChain([FlattenLayer(), LinearLayer(2)], input=NetEncoder("Image", (4, 4))))("not an image"), r"Image"),
    ("coder-unknown-option", lambda: NetEncoder("Image", (4, 4), colour_space="RGB"), r"colour_space"),
    # -- evaluation ----------------------------------------------------------------------------
    ("evaluate-uninitialized", lambda: uninitialized()(X[0]), r"NetInitialize"),
    ("evaluate-wrong-length", lambda: regressor()(np.zeros(5, np.float32)), r"\(4,\)"),
    ("evaluate-wrong-rank", lambda: regressor()(np.zeros((2, 2, 4), np.float32)), r"\(4,\)"),
    ("evaluate-text", lambda: regressor()("hello"), r"NetChain|Input"),
    ("evaluate-none", lambda: regressor()(None), r"NetChain|Input"),
    ("evaluate-ragged", lambda: regressor()([[1.0, 2.0, 3.0, 4.0], [1.0]]), r"ragged"),
    ("evaluate-dict-unknown-port", lambda: regressor()({"Inptu": X[0]}), r'no input port "Inptu"'),
    ("evaluate-unknown-output", lambda: regressor()(X[0], "Outptu"), r'Did you mean "Output"'),
    ("evaluate-unknown-option", lambda: regressor()(X[0], batchsize=2), r'Did you mean "batch_size"'),
    ("evaluate-device-tpu", lambda: regressor()(X[0], target_device="tpu"), r'target_device must be "cpu", "cuda"'),
    ("evaluate-device-gpu", lambda: regressor()(X[0], target_device="gpu"), r'target_device="gpu": it asks for a CUDA GPU'),
    ("evaluate-precision", lambda: regressor()(X[0], working_precision="Real16"), r"working_precision.*Real16"),
    ("evaluate-mode", lambda: regressor()(X[0], evaluation_mode="Training"), r'Did you mean "Train"'),
    ("evaluate-object-array", lambda: regressor()(np.array([object()] * 4)), r"NetChain|Input"),
    ("evaluate-batch-size-0", lambda: regressor()(X, batch_size=0), r"batch_size"),
    ("evaluate-batch-size-negative", lambda: regressor()(X, batch_size=-1), r"batch_size"),
    ("evaluate-batch-size-text", lambda: regressor()(X, batch_size="2"), r"batch_size"),
    ("evaluate-batch-size-float", lambda: regressor()(X, batch_size=1.5), r"batch_size"),
    ("evaluate-complex-input", lambda: regressor()(X[0].astype(np.complex64)), r"complex"),
    ("netport-unknown", lambda: classifier()(X[0], NetPort("nope")), r"nope"),
    ("netport-unknown-layer-port", lambda: classifier()(X[0], NetPort(["lineer", "Output"])), r"lineer"),
    ("extract-unknown-layer", lambda: NetExtract(classifier(), "lineer"), r'Did you mean "linear"'),
    ("extract-unknown-array", lambda: NetExtract(classifier(), ["linear", "Wieghts"]), r'Did you mean "Weights"'),
    ("extract-index-out-of-range", lambda: NetExtract(classifier(), 99), r"no layer 99"),
    ("information-unknown-property", lambda: NetInformation(classifier(), "Layercount"), r"NetInformation: unknown property"),
    ("initialize-method", lambda: NetInitialize(uninitialized(), method="Kaimin"), r'NetInitialize: method must be one of .*Did you mean "Kaiming"'),
    ("initialize-second-argument", lambda: NetInitialize(uninitialized(), "some"), r"NetInitialize: the second argument"),
    ("initialize-method-number", lambda: NetInitialize(uninitialized(), method=3), r"NetInitialize: method must be one of"),
    ("initialize-not-a-net", lambda: NetInitialize([LinearLayer(3)]), r"NetInitialize"),
    ("initialize-unknown-shape", lambda: NetInitialize(NetChain([LinearLayer(3)]))(np.zeros(4)), r"NetChain|Input"),
    # -- measurements --------------------------------------------------------------------------
    ("measure-unknown-name", lambda: NetMeasurements(classifier(), (X, LABELS), "Acuracy"), r'Did you mean "Accuracy"'),
    ("measure-batch-size-0", lambda: NetMeasurements(classifier(), (X, LABELS), "Accuracy", batch_size=0), r"batch_size"),
    ("measure-precision", lambda: NetMeasurements(classifier(), (X, LABELS), "Accuracy", working_precision="Real16"), r"NetMeasurements: working_precision.*Real16"),
    ("measure-lengths-differ", lambda: NetMeasurements(classifier(), (X, LABELS[:5]), "Accuracy"), r"NetMeasurements"),
    ("measure-unknown-label", lambda: NetMeasurements(classifier(), (X, np.array(["a", "c"] * 8)), "Accuracy"), r"'c'|\"c\""),
    ("measure-unknown-column", lambda: NetMeasurements(classifier(), {"Inptu": X, "Output": LABELS}, "Accuracy"), r'Did you mean "Input"'),
    ("measure-list-pair", lambda: NetMeasurements(classifier(), (X, LABELS), ["Accuracy", 2]), r"NetMeasurements"),
    ("measure-device", lambda: NetMeasurements(classifier(), (X, LABELS), "Accuracy", target_device="tpu"), r"target_device"),
    # -- surgery -------------------------------------------------------------------------------
    ("take-too-many", lambda: NetTake(classifier(), 99), r"NetTake"),
    ("take-zero", lambda: NetTake(classifier(), 0), r"NetTake"),
    ("take-unknown-name", lambda: NetTake(classifier(), "lineer"), r"NetTake|linear"),
    ("take-float", lambda: NetTake(classifier(), 1.5), r"NetTake"),
    ("take-not-a-net", lambda: NetTake("net", 1), r"NetTake: the first argument must be a net"),
    ("drop-too-many", lambda: NetDrop(classifier(), 99), r"NetDrop"),
    ("drop-unknown-name", lambda: NetDrop(classifier(), "nope"), r"NetDrop|nope"),
    ("join-not-a-net", lambda: NetJoin(classifier(), "Rampp"), r"NetJoin|Rampp"),
    ("join-nothing", lambda: NetJoin(), r"NetJoin"),
    ("join-shape-mismatch", lambda: NetJoin(NetChain([LinearLayer(3)], input=4), NetChain([LinearLayer(2)], input=5)), r"NetChain|NetJoin"),
    ("append-not-a-layer", lambda: NetAppend(classifier(), 5.5), r"NetAppend|NetChain"),
    ("insert-out-of-range", lambda: NetInsert(classifier(), LinearLayer(3), 99), r"NetInsert"),
    ("insert-unknown-name", lambda: NetInsert(classifier(), LinearLayer(3), "nope"), r"NetInsert|nope"),
    ("delete-unknown", lambda: NetDelete(classifier(), "nope"), r"NetDelete|nope"),
    ("rename-unknown", lambda: NetRename(classifier(), {"nope": "x"}), r"NetRename|nope"),
    ("rename-clash", lambda: NetRename(classifier(), {"linear": "act"}), r"NetRename|act"),
    ("replace-part-unknown", lambda: NetReplacePart(classifier(), {"nope": LinearLayer(3)}), r"NetReplacePart|nope"),
    ("replace-part-shape-mismatch", lambda: NetReplacePart(classifier(), {"linear": LinearLayer(7)}), r"NetReplacePart|NetChain"),
    ("replace-part-not-a-layer", lambda: NetReplacePart(classifier(), {"linear": 3.5}), r"NetReplacePart|layer"),
    ("replace-unknown-class", lambda: NetReplace(classifier(), {"NoSuchLayer": LinearLayer(3)}), r"NetReplace|NoSuchLayer"),
    ("flatten-negative-levels", lambda: NetFlatten(classifier(), -1), r"NetFlatten"),
    # -- files ---------------------------------------------------------------------------------
    ("import-unknown-extension", lambda: Import("net.h5"), r'unknown file format ".h5"'),
    ("import-missing", lambda: Import("/nonexistent/net.symnet"), r"no such file"),
    ("import-not-a-path", lambda: Import(123), r"Import: the first argument must be a file path"),
    ("import-empty-symnet", lambda: import_bytes("empty.symnet", b""), r"truncated"),
    ("import-junk-symnet", lambda: import_bytes("junk.symnet", b"\x00" * 64), r"Import"),
    ("import-text-as-symnet", lambda: import_bytes("text.symnet", b"hello, I am a text file" * 3), r"Import"),
    ("import-truncated-symnet", lambda: saved_then(truncate), r"truncated|corrupt"),
    ("import-directory", lambda: Import(scratch(suffix=".symnet")), r"Import"),
    ("import-allow-functions-text", lambda: Import(export_to("f.symnet", NetChain([FunctionLayer("torch.nn.functional:gelu")], input=2)), allow_functions="no"), r"allow_functions must be True or False"),
    ("import-function-not-allowed", lambda: Import(export_to("f.symnet", NetChain([FunctionLayer("torch.nn.functional:gelu")], input=2))), r"Pass allow_functions=True"),
    ("import-empty-onnx", lambda: import_bytes("empty.onnx", b""), r"is empty"),
    ("import-tiny-onnx", lambda: import_bytes("tiny.onnx", b"\x08\x07"), r"not an ONNX model"),
    ("import-junk-onnx", lambda: import_bytes("junk.onnx", b"\x00\x01junk"), r"not a readable ONNX file"),
    ("import-training-state", lambda: Import("/nonexistent/state.safetensors"), r"unknown file format|Import"),
    ("export-unknown-extension", lambda: export_to("net.h5", classifier()), r'unknown file format ".h5"'),
    ("export-missing-directory", lambda: Export("/nonexistent/dir/net.symnet", classifier()), r"does not exist"),
    ("export-not-a-net", lambda: export_to("net.symnet", "not a net"), r"Export"),
    ("export-options-to-symnet", lambda: export_to("net.symnet", classifier(), opset=17), r"a .symnet file takes no options"),
    ("export-lambda", lambda: export_to("net.symnet", NetChain([FunctionLayer(lambda x: x)], input=2)), r"cannot be saved"),
    ("export-onnx-uninitialized", lambda: export_to("net.onnx", uninitialized()), r"NetInitialize"),
    # -- datasets and models -------------------------------------------------------------------
    ("datasets-unknown", lambda: datasets.load("FashionMNSIT"), r'Did you mean "FashionMNIST"'),
    ("datasets-split", lambda: datasets.load("MNIST", "validation"), r'split must be "train" or "test"'),
    ("netmodel-unknown", lambda: NetModel("ResNet-5000"), r"NetModel"),
    ("netmodel-property", lambda: NetModel("ResNet-18", "Sizee"), r"NetModel"),
    # -- NetTrain options ----------------------------------------------------------------------
    ("train-unknown-option", lambda: train(batchsize=4), r'NetTrain: unknown option batchsize.*Did you mean "batch_size"'),
    ("train-batch-size-0", lambda: train(batch_size=0), r"batch_size"),
    ("train-batch-size-negative", lambda: train(batch_size=-1), r"batch_size"),
    ("train-batch-size-text", lambda: train(batch_size="2"), r"batch_size"),
    ("train-batch-size-float", lambda: train(batch_size=1.5), r"batch_size"),
    ("train-rounds-0", lambda: train(max_training_rounds=0), r"max_training_rounds"),
    ("train-rounds-text", lambda: train(max_training_rounds="ten"), r"max_training_rounds"),
    ("train-learning-rate-negative", lambda: train(learning_rate=-1), r"learning_rate"),
    ("train-learning-rate-text", lambda: train(learning_rate="fast"), r"learning_rate"),
    ("train-method-case", lambda: train(method="Adam"), r'Did you mean "ADAM"'),
    ("train-method-unknown", lambda: train(method="LBFGS"), r"method must be one of"),
    ("train-method-suboption-unknown", lambda: train(method=("SGD", {"momentun": 0.5})), r'Did you mean "momentum"'),
    ("train-momentum-negative", lambda: train(method=("SGD", {"momentum": -1})), r"momentum"),
    ("train-beta1-above-one", lambda: train(method=("ADAM", {"beta1": 2})), r"beta1"),
    ("train-l2-negative", lambda: train(method=("ADAM", {"l2_regularization": -1})), r"l2_regularization"),
    ("train-epsilon-text", lambda: train(method=("ADAM", {"epsilon": "small"})), r"epsilon"),
    ("train-warmup-negative", lambda: train(method=("ADAM", {"warmup": -0.5})), r"warmup"),
    ("train-time-goal-negative", lambda: train(time_goal=-5), r"time_goal"),
    ("train-patience-text", lambda: train(training_stopping_criterion={"criterion": "Loss", "patience": "two"}), r"patience"),
    ("train-schedule", lambda: train(method=("SGD", {"learning_rate_schedule": "Cosin"})), r'Did you mean "Cosine"'),
    ("train-clipping-negative", lambda: train(method=("SGD", {"gradient_clipping": -1})), r"gradient_clipping"),
    ("train-loss-function-name", lambda: train(loss_function="MeanSquare"), r"MeanSquare"),
    ("train-device", lambda: train(target_device="tpu"), r"target_device"),
    ("train-device-gpu", lambda: train(target_device="gpu"), r'target_device="gpu"'),
    ("train-precision", lambda: train(working_precision="Real16"), r'working_precision must be one of "Real32", "Real64", "Mixed"'),
    ("train-reporting", lambda: train(training_progress_reporting="Loud"), r"training_progress_reporting"),
    ("train-measurement-unknown", lambda: train(training_progress_measurements=["Acc"]), r"unknown measurement \"Acc\""),
    ("train-stopping-key", lambda: train(training_stopping_criterion={"criterion": "Loss", "patiance": 2}), r'Did you mean "patience"'),
    ("train-stopping-not-measured", lambda: train(training_stopping_criterion="Accuracy"), r"training_stopping_criterion"),
    ("train-seed-text", lambda: train(random_seeding="seven"), r"random_seeding"),
    ("train-validation-text", lambda: train(validation_set="some"), r"validation_set"),
    ("train-validation-fraction", lambda: train(validation_set=1.5), r"validation_set"),
    ("train-multipliers-unknown", lambda: train(learning_rate_multipliers={"nope": 0}), r"learning_rate_multipliers"),
    ("train-checkpoint-key", lambda: train(training_progress_checkpointing={"directry": "/tmp"}), r'Did you mean "directory"'),
    ("train-checkpoint-unwritable", lambda: train(training_progress_checkpointing={"directory": "/proc/symnet-cannot-write"}), r"training_progress_checkpointing|directory"),
    ("train-results-property", lambda: train(max_training_rounds=1) and NetTrain(regressor(), (X, X[:, :1]), "TrainedNett", max_training_rounds=1, training_progress_reporting=None), r'Did you mean "TrainedNet"'),
    ("train-data-lengths-differ", lambda: train_classifier() and NetTrain(classifier(), (X, LABELS[:5]), max_training_rounds=1, training_progress_reporting=None), r"NetTrain"),
    ("train-data-wrong-width", lambda: NetTrain(regressor(), (X[:, :3], X[:, :1]), max_training_rounds=1, training_progress_reporting=None), r"NetTrain"),
    ("train-data-unknown-label", lambda: NetTrain(classifier(), (X, np.array(["a", "c"] * 8)), max_training_rounds=1, training_progress_reporting=None), r"'c'|\"c\""),
    ("train-data-not-data", lambda: NetTrain(regressor(), 42, max_training_rounds=1, training_progress_reporting=None), r"NetTrain"),
    ("train-data-empty", lambda: NetTrain(regressor(), (X[:0], X[:0, :1]), max_training_rounds=1, training_progress_reporting=None), r"NetTrain"),
    ("train-not-a-net", lambda: NetTrain("net", (X, X[:, :1])), r"NetTrain"),
    ("train-data-nan", lambda: NetTrain(regressor(), (np.full_like(X, np.nan), X[:, :1]), max_training_rounds=1, training_progress_reporting=None), r"NetTrain"),
]


def _param(entry):
    return entry if hasattr(entry, "marks") else pytest.param(*entry, id=entry[0])


@pytest.mark.parametrize(("name", "mistake", "match"), [_param(e) for e in MISTAKES])
def test_mistake_gives_a_clear_net_error(name, mistake, match, assert_clear_error):
    assert_clear_error(mistake, match=match)


def test_the_catalogue_is_large_and_its_names_are_distinct():
    names = [(e.values if hasattr(e, "values") else e)[0] for e in MISTAKES]
    assert len(names) == len(set(names)) and len(names) >= 150
