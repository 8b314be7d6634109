"""BatchNormalizationLayer and NormalizationLayer: arrays, moving statistics in training, inference, errors
(reference values and gradients: the layer table, tests/layers/table/norm.py)."""

import numpy as np
import pytest
import torch

from symnet import BatchNormalizationLayer, LinearLayer, NetChain, NetError, NetExtract, NetInitialize, NetTrain, NormalizationLayer, ShapeError, compiled
from symnet.engine import LeafModule


def _with_statistics(layer, seed=0):
    """The layer with random (non-trivial) Scaling, Biases and moving statistics."""
    generator = torch.Generator().manual_seed(seed)
    channels = layer.types["Scaling"].dims[0]
    return layer.with_arrays({
        "Scaling": torch.rand(channels, generator=generator) + 0.5,
        "Biases": torch.randn(channels, generator=generator),
        "MovingMean": torch.randn(channels, generator=generator),
        "MovingVariance": torch.rand(channels, generator=generator) + 0.5,
    })


# -- BatchNormalizationLayer ------------------------------------------------------------------
def test_batch_norm_initial_arrays_and_state():
    layer = NetInitialize(BatchNormalizationLayer(input=(3, 4, 4)))
    assert layer.types["Scaling"].dims == (3,)
    assert NetExtract(layer, "Scaling").tolist() == [1.0, 1.0, 1.0]
    assert NetExtract(layer, "Biases").tolist() == [0.0, 0.0, 0.0]
    assert NetExtract(layer, "MovingMean").tolist() == [0.0, 0.0, 0.0]
    assert NetExtract(layer, "MovingVariance").tolist() == [1.0, 1.0, 1.0]
    assert layer.state_array_names() == ("MovingMean", "MovingVariance")
    module = LeafModule(layer)
    assert {name for name, _ in module.named_buffers()} == {"MovingMean", "MovingVariance"}
    assert {name for name, _ in module.named_parameters()} == {"Scaling", "Biases"}


def test_batch_norm_evaluation_matches_torch_module(check_layer):
    layer = _with_statistics(BatchNormalizationLayer(input=(3, 4, 4)))
    reference = torch.nn.BatchNorm2d(3).double().eval()
    with torch.no_grad():
        reference.weight.copy_(torch.as_tensor(NetExtract(layer, "Scaling")))
        reference.bias.copy_(torch.as_tensor(NetExtract(layer, "Biases")))
        reference.running_mean.copy_(torch.as_tensor(NetExtract(layer, "MovingMean")))
        reference.running_var.copy_(torch.as_tensor(NetExtract(layer, "MovingVariance")))
    check_layer(layer, lambda a, x: reference(x).detach(), gradcheck=False)


@pytest.mark.parametrize("momentum", [0.9, 0.3])
def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones(momentum):
    layer = _with_statistics(BatchNormalizationLayer(momentum=momentum, input=(3, 4, 4)))
    reference = torch.nn.BatchNorm2d(3, momentum=1 - momentum).double().train()
    with torch.no_grad():
        reference.weight.copy_(torch.as_tensor(NetExtract(layer, "Scaling")))
        reference.bias.copy_(torch.as_tensor(NetExtract(layer, "Biases")))
        reference.running_mean.copy_(torch.as_tensor(NetExtract(layer, "MovingMean")))
        reference.running_var.copy_(torch.as_tensor(NetExtract(layer, "MovingVariance")))
    x = torch.randn(5, 3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    module = LeafModule(layer).double().train()
    np.testing.assert_allclose(module(x).detach(), reference(x).detach(), atol=1e-10)
    np.testing.assert_allclose(module.MovingMean, reference.running_mean, atol=1e-12)
    np.testing.assert_allclose(module.MovingVariance, reference.running_var, atol=1e-12)
    # Wolfram's convention, by hand: moving = momentum * moving + (1 - momentum) * batch.
    batch_mean = x.mean(dim=(0, 2, 3))
    expected = momentum * torch.as_tensor(NetExtract(layer, "MovingMean"), dtype=torch.float64) + (1 - momentum) * batch_mean
    np.testing.assert_allclose(module.MovingMean, expected, atol=1e-6)


def test_batch_norm_in_compiled_chain_updates_buffers_when_training():
    net = NetInitialize(NetChain([BatchNormalizationLayer(momentum=0.5), "Tanh"], input=(2, 3)))
    x = torch.arange(24, dtype=torch.float32).reshape(4, 2, 3)
    module = compiled(net)
    before = module(x)  # evaluation mode: the initial moving statistics (0 mean, unit variance)
    assert torch.allclose(before, torch.tanh(x / np.sqrt(1 + 1e-5)))
    module.train()
    try:
        module(x)
    finally:
        module.eval()
    moving = module.leaf_arrays()[("0",)]["MovingMean"]
    assert torch.allclose(moving, 0.5 * x.mean(dim=(0, 2)))


def test_frozen_batch_norm_keeps_and_uses_its_moving_statistics():
    # Wolfram: a BatchNormalizationLayer with learning rate multiplier 0 freezes MovingMean and MovingVariance in NetTrain
    net = NetChain({"norm": _with_statistics(BatchNormalizationLayer(input=(2, 3))), "linear": LinearLayer(2)})
    net = NetInitialize(net)
    x = np.random.default_rng(0).normal(3.0, 2.0, (64, 2, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32)
    frozen = NetTrain(net, (x, y), learning_rate_multipliers={"norm": 0}, max_training_rounds=2, training_progress_reporting=None)
    for name in ("Scaling", "Biases", "MovingMean", "MovingVariance"):
        assert np.array_equal(NetExtract(frozen, ["norm", name]), NetExtract(net, ["norm", name])), name
    # in training mode, a frozen layer normalizes with its moving statistics, as in evaluation
    module = compiled(net)
    module.train()
    leaf = module.leaves[0]
    for parameter in leaf.parameters():
        parameter.requires_grad_(False)
    training_output = module(torch.from_numpy(x))
    np.testing.assert_allclose(training_output.detach().numpy(), net(x, None), atol=1e-6)
    learning = NetTrain(net, (x, y), max_training_rounds=1, training_progress_reporting=None)
    assert not np.array_equal(NetExtract(learning, ["norm", "MovingMean"]), NetExtract(net, ["norm", "MovingMean"]))


def test_batch_norm_infers_channels_from_arrays():
    layer = BatchNormalizationLayer(arrays={"Scaling": np.ones(3)})
    assert layer.types["MovingVariance"].dims == (3,)
    chained = NetChain([BatchNormalizationLayer()], input=(4, 5))
    assert chained.layers["0"].types["Biases"].dims == (4,)


def test_batch_norm_errors():
    with pytest.raises(NetError, match=r"BatchNormalizationLayer: epsilon must be a positive number; received 0\."):
        BatchNormalizationLayer(epsilon=0)
    with pytest.raises(NetError, match=r"BatchNormalizationLayer: momentum must be a number in \[0, 1\] \(the weight of the old moving statistics\), not 1\.5\."):
        BatchNormalizationLayer(momentum=1.5)
    with pytest.raises(NetError, match=r"momentum must be a number in \[0, 1\].*not 'high'"):
        BatchNormalizationLayer(momentum="high")
    with pytest.raises(ShapeError, match=r'port "Input" has 3 channels \(its first axis, shape \(3, 4\)\) but the arrays have 2\.'):
        BatchNormalizationLayer(input=(3, 4), arrays={"Scaling": np.ones(2)})
    with pytest.raises(ShapeError, match=r'port "Input" needs a tensor of rank 1 or more \(channels first\) but received \(\)\.'):
        BatchNormalizationLayer(input="Real")
    with pytest.raises(ShapeError, match=r'port "Input" has a varying first axis \(n, 3\), but the first axis holds the channels'):
        BatchNormalizationLayer(input=("Varying", 3))
    with pytest.raises(ShapeError, match=r'the array "Scaling" has shape \(2, 2\) but the arrays must all be vectors of the same size'):
        BatchNormalizationLayer(arrays={"Scaling": np.ones((2, 2))})


def test_batch_norm_training_on_one_value_per_channel():
    layer = NetInitialize(BatchNormalizationLayer(input=3))
    arrays = {name: layer.arrays[name].clone() for name in layer.array_names()}
    with pytest.raises(NetError, match=r"training needs more than one value per channel, but the batch has shape \(1, 3\); use a batch size above 1\."):
        layer.forward(arrays, torch.ones(1, 3), training=True)


# -- NormalizationLayer -----------------------------------------------------------------------
def test_normalization_initial_arrays():
    layer = NetInitialize(NormalizationLayer(input=(2, 3)))
    assert NetExtract(layer, "Scaling").tolist() == [1.0, 1.0, 1.0]
    assert NetExtract(layer, "Biases").tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "levels, shape, normalized",
    [(-1, (2, 5), (5,)), (-2, (2, 3, 4), (3, 4)), (0, (3, 4), (3, 4)), ((-2, -1), (2, 3, 4), (3, 4)), ((1, 2), (2, 3, 4), (3, 4)), (-1, (6,), (6,))],
)
def test_normalization_arrays_have_the_normalized_shape(levels, shape, normalized):
    assert NormalizationLayer(levels=levels, input=shape).types["Scaling"].dims == normalized


def test_normalization_of_a_varying_sequence():
    net = NetInitialize(NetChain([NormalizationLayer()], input=("Varying", 4)))
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(net(x), expected, atol=1e-5)


def test_normalization_errors():
    with pytest.raises(NetError, match=r"NormalizationLayer: epsilon must be a positive number; received -1\."):
        NormalizationLayer(epsilon=-1)
    with pytest.raises(NetError, match=r"NormalizationLayer: levels must be an int \(normalize from that axis to the last\) or a tuple of trailing axes, not 'a'\."):
        NormalizationLayer(levels="a")
    with pytest.raises(ShapeError, match=r"levels=-3 is outside the input \(2, 3\) of rank 2\."):
        NormalizationLayer(levels=-3, input=(2, 3))
    with pytest.raises(ShapeError, match=r"levels=\(0,\) names the axes \(0,\) of the input \(2, 3\), but only trailing axes \(ending with axis 1\) can be normalized\."):
        NormalizationLayer(levels=(0,), input=(2, 3))
    with pytest.raises(ShapeError, match=r'port "Input" has shape \(n,\), with a varying dimension among the normalized axes \(0,\)'):
        NormalizationLayer(input="Varying")
    with pytest.raises(ShapeError, match=r"NormalizationLayer.*conflicts"):
        NormalizationLayer(input=(2, 3), arrays={"Scaling": np.ones(4)})


def test_unit_vector_layer(check_layer):
    from symnet import UnitVectorLayer

    check_layer(UnitVectorLayer(input=("Varying", 3)), lambda a, x: x / x.norm(dim=-1, keepdim=True), inputs=[torch.rand(2, 4, 3, dtype=torch.float64) + 0.1])
    assert UnitVectorLayer()([0.0, 0.0]).tolist() == [0.0, 0.0]
    with pytest.raises(ShapeError, match=r'UnitVectorLayer \(UnitVectorLayer\): port "Input" needs a vector .* but received the scalar \(\)'):
        UnitVectorLayer(input="Real")
