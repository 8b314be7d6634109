"""symnet: the Wolfram Language neural-network framework, in Python on PyTorch.

>>> net = NetInitialize(NetChain([LinearLayer(30), "Tanh", LinearLayer(3), "LogisticSigmoid"], input=2))
>>> net([0.5, -1.0]).shape
(3,)
"""

from .containers.chain import NetChain
from .containers.graph import NetGraph
from .display import NetInformation
from .engine import All, Automatic, CompiledNet, compiled
from .errors import ExpressionError, GraphError, InitializationError, InputError, NetError, OptionError, ShapeError
from .extract import NetExtract
from .initialize import NetInitialize
from .layers.base import Layer
from .layers.basic import DropoutLayer, ElementwiseLayer, LinearLayer, NetArrayLayer, SoftmaxLayer, ThreadingLayer
from .layers.norm import BatchNormalizationLayer, NormalizationLayer
from .layers.sequence import EmbeddingLayer
from .ports import NetPort, NetPortGradient
from .types import VARYING, Index, TensorType

__all__ = [
    "All",
    "Automatic",
    "BatchNormalizationLayer",
    "CompiledNet",
    "DropoutLayer",
    "ElementwiseLayer",
    "EmbeddingLayer",
    "ExpressionError",
    "GraphError",
    "Index",
    "InitializationError",
    "InputError",
    "Layer",
    "LinearLayer",
    "NetArrayLayer",
    "NetChain",
    "NetError",
    "NetExtract",
    "NetGraph",
    "NetInformation",
    "NetInitialize",
    "NetPort",
    "NetPortGradient",
    "NormalizationLayer",
    "OptionError",
    "ShapeError",
    "SoftmaxLayer",
    "TensorType",
    "ThreadingLayer",
    "VARYING",
    "compiled",
]
