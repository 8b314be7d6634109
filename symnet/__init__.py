"""symnet: the Wolfram Language neural-network framework, in Python on PyTorch.

>>> net = NetInitialize(NetChain([LinearLayer(30), "Tanh", LinearLayer(3), "LogisticSigmoid"], input=2))
>>> net([0.5, -1.0]).shape
(3,)
"""

from . import datasets as datasets
from . import display as _display
from . import evaluation as _evaluation
from . import formula as _formula
from . import notebook as _notebook
from . import split_evaluation as _split_evaluation
from .coders import NetDecoder, NetEncoder
from .coders import base as _coders_base
from .containers.chain import NetChain
from .containers.graph import NetGraph
from .containers.mapthread import NetMapThreadOperator
from .containers.operators import NetBidirectionalOperator, NetFoldOperator, NetMapOperator, NetNestOperator
from .containers.pairembedding import NetPairEmbeddingOperator
from .display import NetInformation
from .engine import All, Automatic, CompiledNet, compiled
from .errors import ExpressionError, GraphError, InitializationError, InputError, NetError, OptionError, ShapeError
from .extract import NetExtract
from .formula import NetFormula
from .initialize import NetInitialize
from .io import Export, Import
from .layers import base as _layers_base
from .layers.attention import AttentionLayer
from .layers.augmentation import ImageAugmentationLayer
from .layers.base import Layer
from .layers.basic import DropoutLayer, ElementwiseLayer, LinearLayer, NetArrayLayer, SoftmaxLayer, ThreadingLayer
from .layers.conv import ConvolutionLayer, DeconvolutionLayer
from .layers.extract import ExtractLayer
from .layers.function import FunctionLayer
from .layers.loss import ContrastiveLossLayer, CrossEntropyLossLayer, MeanAbsoluteLossLayer, MeanSquaredLossLayer
from .layers.norm import BatchNormalizationLayer, NormalizationLayer, UnitVectorLayer
from .layers.pooling import PaddingLayer, PoolingLayer, ResizeLayer
from .layers.recurrent import BasicRecurrentLayer, GatedRecurrentLayer, LongShortTermMemoryLayer
from .layers.reduce import AggregationLayer, DotLayer, SummationLayer, TotalLayer
from .layers.sequence import EmbeddingLayer, SequenceIndicesLayer, SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer
from .layers.sequence_ends import AppendLayer, PrependLayer
from .layers.structure import CatenateLayer, FlattenLayer, PartLayer, ReplicateLayer, ReshapeLayer, TransposeLayer
from .measure import NetMeasurements
from .models import NetModel
from .ports import NetPort, NetPortGradient
from .surgery import NetAppend, NetDelete, NetDrop, NetFlatten, NetInsert, NetJoin, NetPrepend, NetRename, NetReplace, NetReplacePart, NetTake
from .train import NetTrain, NetTrainResults
from .types import VARYING, Index, Scaled, TensorType
from .unfold import NetStateObject, NetUnfold

# Layer is a pure specification at the bottom of the package; what a net does when called and
# how it shows itself live above it and are attached here, once, for every layer class.
_layers_base.attach("call", _evaluation.evaluate)
_evaluation.split_batches = _split_evaluation.split_batches  # net(x) on several processes (target_device=("cpu", n))
_evaluation.split_gradient = _split_evaluation.split_gradient  # NetPortGradient on several processes
_layers_base.attach("symbolic", _formula.evaluate_symbolic)
_layers_base.attach("is_symbolic", _formula.is_symbolic)
_layers_base.attach("repr", _display.layer_repr)
_layers_base.attach("html", _notebook.net_html)
_coders_base.attach_html(_notebook.coder_html)

__all__ = [
    "AggregationLayer",
    "All",
    "AppendLayer",
    "AttentionLayer",
    "Automatic",
    "BasicRecurrentLayer",
    "BatchNormalizationLayer",
    "CatenateLayer",
    "CompiledNet",
    "ConvolutionLayer",
    "ContrastiveLossLayer",
    "CrossEntropyLossLayer",
    "DeconvolutionLayer",
    "DotLayer",
    "DropoutLayer",
    "ElementwiseLayer",
    "ExtractLayer",
    "EmbeddingLayer",
    "Export",
    "ExpressionError",
    "FlattenLayer",
    "FunctionLayer",
    "GatedRecurrentLayer",
    "GraphError",
    "ImageAugmentationLayer",
    "Import",
    "Index",
    "InitializationError",
    "InputError",
    "Layer",
    "LinearLayer",
    "LongShortTermMemoryLayer",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
    "NetAppend",
    "NetArrayLayer",
    "NetBidirectionalOperator",
    "NetChain",
    "NetDecoder",
    "NetDelete",
    "NetDrop",
    "NetEncoder",
    "NetError",
    "NetExtract",
    "NetFlatten",
    "NetFoldOperator",
    "NetFormula",
    "NetGraph",
    "NetInformation",
    "NetInitialize",
    "NetInsert",
    "NetJoin",
    "NetMapOperator",
    "NetMapThreadOperator",
    "NetMeasurements",
    "NetModel",
    "NetNestOperator",
    "NetPairEmbeddingOperator",
    "NetStateObject",
    "NetUnfold",
    "NetPort",
    "NetPortGradient",
    "NetPrepend",
    "NetRename",
    "NetReplace",
    "NetReplacePart",
    "NetTake",
    "NetTrain",
    "NetTrainResults",
    "NormalizationLayer",
    "OptionError",
    "PaddingLayer",
    "PartLayer",
    "PoolingLayer",
    "PrependLayer",
    "ReplicateLayer",
    "ReshapeLayer",
    "ResizeLayer",
    "Scaled",
    "SequenceIndicesLayer",
    "SequenceLastLayer",
    "SequenceMostLayer",
    "SequenceRestLayer",
    "SequenceReverseLayer",
    "ShapeError",
    "SoftmaxLayer",
    "SummationLayer",
    "TensorType",
    "ThreadingLayer",
    "TotalLayer",
    "TransposeLayer",
    "UnitVectorLayer",
    "VARYING",
    "compiled",
]
