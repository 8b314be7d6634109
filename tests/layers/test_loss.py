"""CrossEntropyLossLayer, MeanSquaredLossLayer, MeanAbsoluteLossLayer: target types, losses from logits,
errors (reference values and gradients: the layer table, tests/layers/table/loss.py)."""

import pytest
import torch

from symnet import CrossEntropyLossLayer, LinearLayer, MeanSquaredLossLayer, NetChain, NetError, NetGraph, NetInitialize, ShapeError, SoftmaxLayer
from symnet.types import TensorType


def probabilities(batch, *dims, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(batch, *dims, generator=generator, dtype=torch.float64), dim=-1)


def test_cross_entropy_target_types():
    index = CrossEntropyLossLayer("Index", input=5)
    assert index.types["Target"] == TensorType((), "Integer", 5)
    assert index.types["Loss"] == TensorType(())
    assert CrossEntropyLossLayer("Index", input=(3, 4)).types["Target"] == TensorType((3,), "Integer", 4)
    assert CrossEntropyLossLayer("Probabilities", input=4).types["Target"].dims == (4,)
    assert CrossEntropyLossLayer("Binary", input=3).types["Target"].dims == (3,)


@pytest.mark.parametrize("form", ["Index", "Probabilities", "Binary"])
def test_from_logits_equals_loss_of_softmax_or_sigmoid(form):
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(5, 6, generator=generator, dtype=torch.float64)
    if form == "Index":
        target, probs = torch.randint(0, 6, (5,), generator=generator), torch.softmax(logits, -1)
    elif form == "Probabilities":
        target, probs = probabilities(5, 6, seed=5), torch.softmax(logits, -1)
    else:
        target, probs = torch.rand(5, 6, generator=generator, dtype=torch.float64), torch.sigmoid(logits)
    layer = CrossEntropyLossLayer(form, input=6)
    torch.testing.assert_close(layer.from_logits(logits, target), layer.forward({}, probs, target))


def test_from_logits_is_stable_where_probabilities_underflow():
    logits = torch.tensor([[0.0, 200.0]])
    loss = CrossEntropyLossLayer("Index", input=2).from_logits(logits, torch.tensor([0]))
    assert float(loss) == pytest.approx(200.0)


def test_fuses_only_a_final_softmax_on_the_class_axis():
    assert CrossEntropyLossLayer("Index").fuses(SoftmaxLayer(input=3))
    assert not CrossEntropyLossLayer("Index").fuses(SoftmaxLayer(level=0, input=(3, 4)))
    assert not CrossEntropyLossLayer("Binary").fuses(SoftmaxLayer(input=3))


def test_loss_layer_in_a_graph():
    net = NetInitialize(NetGraph({"linear": LinearLayer(3), "softmax": SoftmaxLayer(), "loss": CrossEntropyLossLayer("Index")},
                                 [("linear", "softmax", "loss")], input=2))
    assert net.types["Target"] == TensorType((), "Integer", 3)
    assert float(net({"Input": [1.0, 2.0], "Target": 1})) > 0


def test_unknown_target_form_suggests():
    with pytest.raises(NetError, match=r'CrossEntropyLossLayer: target_form must be one of "Index", "Probabilities", "Binary"; received "Indx"\. Did you mean "Index"\?'):
        CrossEntropyLossLayer("Indx")


def test_index_target_needs_a_vector_input():
    with pytest.raises(ShapeError, match=r'port "Input" must be a vector of class probabilities for the target form "Index" but received \(\)'):
        CrossEntropyLossLayer("Index", input="Real")


def test_mismatched_target_shape():
    with pytest.raises(ShapeError, match=r"MeanSquaredLossLayer.*conflicts"):
        NetGraph({"a": NetChain([LinearLayer(3)], input=2), "loss": MeanSquaredLossLayer()}, [("a", "loss")], ports={"Target": 4})
