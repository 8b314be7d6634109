"""EmbeddingLayer: inference, indices, errors (reference values and gradients: the layer table,
tests/layers/table/sequence.py)."""

import numpy as np
import pytest
import torch

from symnet import EmbeddingLayer, Index, InputError, LinearLayer, NetChain, NetError, NetExtract, NetInitialize, ShapeError, SoftmaxLayer, TensorType


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_embedding_port_types(shape):
    layer = EmbeddingLayer(4, 7, input=shape)
    assert layer.types["Input"] == TensorType(shape, "Integer", 7)
    assert layer.types["Output"].dims == (*shape, 4)


def test_embedding_inference_in_both_directions():
    from_weights = EmbeddingLayer(arrays={"Weights": np.ones((7, 3))})
    assert from_weights.types["Input"].bound == 7
    assert from_weights.types["Weights"].dims == (7, 3)
    from_ports = EmbeddingLayer(input=Index(9), output=(4,))
    assert from_ports.types["Weights"].dims == (9, 4)
    assert from_ports.types["Input"] == TensorType((), "Integer", 9)
    from_output = EmbeddingLayer(vocabulary=5, output=("Varying", 6))
    assert from_output.types["Input"] == TensorType(("Varying",), "Integer", 5)
    assert from_output.types["Weights"].dims == (5, 6)


def test_embedding_rows_by_hand():
    layer = NetInitialize(EmbeddingLayer(3, 10, input="Varying"))
    weights = NetExtract(layer, "Weights")
    np.testing.assert_array_equal(layer([4, 0, 4, 9]), weights[[4, 0, 4, 9]])
    any_shape = NetInitialize(EmbeddingLayer(3, 10))  # no input shape: inferred from the data
    assert any_shape(2).tolist() == NetExtract(any_shape, "Weights")[2].tolist()
    assert any_shape([[1, 2], [3, 4]]).shape == (2, 2, 3)


def test_embedding_in_chain_with_fixed_length_sequence():
    net = NetInitialize(NetChain([EmbeddingLayer(8, 20), LinearLayer(3)], input=(5,)))
    assert net.types["Input"] == TensorType((5,), "Integer", 20)
    assert net.layers["1"].types["Weights"].dims == (3, 40)
    indices = np.array([[1, 2, 3, 4, 5], [19, 0, 0, 7, 7]])
    embedded = NetExtract(net, [0, "Weights"])[indices].reshape(2, 40)
    expected = embedded @ NetExtract(net, [1, "Weights"]).T + NetExtract(net, [1, "Biases"])
    np.testing.assert_allclose(net(indices), expected, atol=1e-5)


def test_embedding_in_chain_with_varying_sequence():
    net = NetInitialize(NetChain([EmbeddingLayer(6, 12), SoftmaxLayer()], input="Varying"))
    assert net.types["Output"].dims == ("Varying", 6)
    weights = torch.as_tensor(NetExtract(net, [0, "Weights"]))
    for sequence in ([3], [1, 11, 2], list(range(12))):
        np.testing.assert_allclose(net(sequence), torch.softmax(weights[sequence], -1), atol=1e-6)


def test_embedding_index_out_of_range():
    net = NetInitialize(NetChain([EmbeddingLayer(8, 20), LinearLayer(3)], input=(5,)))
    with pytest.raises(InputError, match=r"NetChain/Input: expected integers in 0 … 19 but received values from 1 to 25\."):
        net([1, 2, 3, 4, 25])
    with pytest.raises(InputError, match=r"expected integers in 0 … 19 but received values from -1 to 4\."):
        net([-1, 1, 2, 3, 4])
    layer = NetInitialize(EmbeddingLayer(2, 4))
    with pytest.raises(InputError, match=r"EmbeddingLayer/Input: expected integers in 0 … 3 but received values from 0 to 4\."):
        layer([0, 4])


def test_embedding_non_integer_input():
    net = NetInitialize(NetChain([EmbeddingLayer(8, 20), LinearLayer(3)], input=(5,)))
    with pytest.raises(InputError, match=r"NetChain/Input: expected integers but received non-integer values\."):
        net([1, 2, 3, 4, 2.5])
    # Real numbers from an earlier layer are refused with advice, not a torch stack trace.
    after_linear = NetInitialize(NetChain([LinearLayer(5), EmbeddingLayer(8, 20)], input=3))
    with pytest.raises(NetError, match=r'EmbeddingLayer: port "Input" needs integer indices but received torch.float32 values; feed it the net\'s \(integer\) input'):
        after_linear(np.ones(3))


def test_embedding_errors():
    with pytest.raises(NetError, match=r"EmbeddingLayer: the size \(the length of each embedding vector\) must be a positive int, not 0\."):
        EmbeddingLayer(0)
    with pytest.raises(NetError, match=r"EmbeddingLayer: the vocabulary \(the number of distinct indices\) must be a positive int, not 2\.5\."):
        EmbeddingLayer(8, 2.5)
    with pytest.raises(ShapeError, match=r'the vocabulary is 20 but the array "Weights" has 10 rows \(one per index\); give EmbeddingLayer\(size, 10\) or weights with 20 rows\.'):
        EmbeddingLayer(8, 20, arrays={"Weights": np.ones((10, 8))})
    with pytest.raises(ShapeError, match=r'the size is 8 but the array "Weights" has 5 columns'):
        EmbeddingLayer(8, 20, arrays={"Weights": np.ones((20, 5))})
    with pytest.raises(ShapeError, match=r'the array "Weights" must be a matrix of shape \(vocabulary, size\) but has shape \(3,\)\.'):
        EmbeddingLayer(arrays={"Weights": np.ones(3)})
    with pytest.raises(ShapeError, match=r'port "Input" takes integers in 0 … 9 but the vocabulary has 20 entries; the input must take integers in 0 … 19\.'):
        EmbeddingLayer(8, 20, input=Index(10))
    with pytest.raises(ShapeError, match=r'port "Output" has shape \(3, 7\) but each embedding vector has size 8\.'):
        EmbeddingLayer(8, input=3, output=(3, 7))
    with pytest.raises(ShapeError, match=r'port "Output" has shape \(4, 8\) but must be the input\'s shape \(3,\) followed by the embedding size\.'):
        EmbeddingLayer(8, input=3, output=(4, 8))
