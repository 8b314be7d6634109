"""BasicRecurrentLayer, GatedRecurrentLayer, LongShortTermMemoryLayer against nn.RNN, nn.GRU and
nn.LSTM with copied weights; padding invariance; gradcheck in float64; state ports; errors."""

import numpy as np
import pytest
import torch
from torch import nn

from symnet import (
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetError,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    SequenceLastLayer,
    ShapeError,
)
from symnet.engine import LeafModule

KINDS = [BasicRecurrentLayer, GatedRecurrentLayer, LongShortTermMemoryLayer]


def torch_twin(layer):
    """The torch module computing ``layer``: its fused weights copied in, the second bias zero."""
    arrays = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in layer.arrays.items()}
    n, k = layer.types[f"{layer.torch_gates[0]}InputWeights"].dims
    module = {BasicRecurrentLayer: nn.RNN, GatedRecurrentLayer: nn.GRU, LongShortTermMemoryLayer: nn.LSTM}[type(layer)](k, n, batch_first=True).double()
    # The stacking order is torch's documented one: (r, z, n) for the GRU, (i, f, g, o) for the LSTM.
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.cat([arrays[f"{g}InputWeights"] for g in layer.torch_gates]))
        module.weight_hh_l0.copy_(torch.cat([arrays[f"{g}StateWeights"] for g in layer.torch_gates]))
        module.bias_ih_l0.copy_(torch.cat([arrays[f"{g}Biases"] for g in layer.torch_gates]))
        module.bias_hh_l0.zero_()
    return module


def random_layer(kind, size=3, k=2, **options):
    # Random biases too (they initialize to zero), so the test sees where each bias goes.
    layer = NetInitialize(kind(size, input=("Varying", k), **options), random_seeding=1)
    generator = torch.Generator().manual_seed(2)
    biases = {name: torch.randn(size, generator=generator) for name in layer.array_names() if name.endswith("Biases")}
    return NetInitialize(layer.with_arrays(biases))


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_matches_torch(kind, check_layer):
    layer = random_layer(kind)
    twin = torch_twin(layer)
    x = torch.rand(4, 5, 2, dtype=torch.float64) * 2 - 1
    check_layer(layer, lambda a, x: twin(x)[0], inputs=[x])


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_hand_recurrence(kind):
    # Wolfram's recurrence written out step by step (independent of torch's kernels).
    layer = random_layer(kind, size=2, k=3)
    a = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in layer.arrays.items()}
    x = torch.rand(4, 3, dtype=torch.float64)
    s, c = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)

    def gate(name, activation, state):
        return activation(a[f"{name}InputWeights"] @ xt + a[f"{name}StateWeights"] @ state + a[f"{name}Biases"])

    states = []
    for xt in x:
        if kind is BasicRecurrentLayer:
            s = gate("", torch.tanh, s)
        elif kind is GatedRecurrentLayer:
            i, r = gate("InputGate", torch.sigmoid, s), gate("ResetGate", torch.sigmoid, s)
            m = torch.tanh(a["MemoryGateInputWeights"] @ xt + r * (a["MemoryGateStateWeights"] @ s) + a["MemoryGateBiases"])
            s = (1 - i) * m + i * s
        else:
            i, o, f, m = (gate(g, act, s) for g, act in (("InputGate", torch.sigmoid), ("OutputGate", torch.sigmoid), ("ForgetGate", torch.sigmoid), ("MemoryGate", torch.tanh)))
            c = f * c + i * m
            s = o * torch.tanh(c)
        states.append(s)
    np.testing.assert_allclose(layer(x.numpy()), torch.stack(states).numpy(), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_padding_invariance(kind):
    """A batch of mixed lengths gives each example what it gets alone: outputs, final states and gradients."""
    layer = random_layer(kind, final_states=True)
    module = LeafModule(layer).double()
    lengths = torch.tensor([5, 2, 0, 4])
    x = torch.rand(4, 5, 2, dtype=torch.float64)
    x = x * (torch.arange(5).view(1, 5, 1) < lengths.view(4, 1, 1))  # zero padding
    x.requires_grad_(True)
    batched = module.layer.forward({n: getattr(module, n) for n in module.names}, x, training=False, lengths=lengths)
    weights = torch.rand(*batched[0].shape, dtype=torch.float64)
    (batched[0] * weights).sum().add(batched[1].sum()).backward()
    batch_gradients = {n: getattr(module, n).grad.clone() for n in module.names}
    input_gradient = x.grad.clone()
    total = {n: torch.zeros_like(g) for n, g in batch_gradients.items()}
    for b, length in enumerate(lengths.tolist()):
        module.zero_grad()
        alone_x = x.detach()[b : b + 1, :length].clone().requires_grad_(True)
        alone = module(alone_x)
        torch.testing.assert_close(batched[0][b, :length], alone[0][0], atol=1e-12, rtol=0)
        # padded steps output zeros, as the padding convention says
        assert bool((batched[0][b, length:] == 0).all())
        for final_batched, final_alone in zip(batched[1:], alone[1:]):
            torch.testing.assert_close(final_batched[b], final_alone[0], atol=1e-12, rtol=0)
        if length == 0:  # alone, an empty sequence has no steps: the final state is the initial (zero) one
            assert alone[0].shape == (1, 0, 3) and bool((alone[1] == 0).all())
            assert bool((input_gradient[b] == 0).all())
            continue
        (alone[0][0] * weights[b, :length]).sum().add(alone[1].sum()).backward()
        for n in module.names:
            total[n] += getattr(module, n).grad
        torch.testing.assert_close(input_gradient[b, :length], alone_x.grad[0], atol=1e-12, rtol=0)
        assert bool((input_gradient[b, length:] == 0).all())
    for n in module.names:
        torch.testing.assert_close(batch_gradients[n], total[n], atol=1e-10, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_gradcheck_with_lengths(kind):
    layer = random_layer(kind, size=2, k=2, final_states=True)
    arrays = {n: torch.as_tensor(v, dtype=torch.float64).requires_grad_(True) for n, v in layer.arrays.items()}
    x = torch.rand(3, 4, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 1, 3])
    names = list(arrays)

    def function(x, *values):
        return layer.forward(dict(zip(names, values)), x, lengths=lengths)

    assert torch.autograd.gradcheck(function, (x, *arrays.values()), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_initial_and_final_states(kind):
    layer = random_layer(kind, initial_states=True, final_states=True)
    states = layer.states
    assert layer.input_ports() == ("Input", *(f"Initial{s}" for s in states))
    assert layer.output_ports() == ("Output", *states)
    twin = torch_twin(layer)
    x = torch.rand(2, 4, 2, dtype=torch.float64)
    initial = [torch.rand(2, 3, dtype=torch.float64) for _ in states]
    hidden = initial[0].unsqueeze(0) if len(states) == 1 else tuple(s.unsqueeze(0) for s in initial)
    expected_output, expected_final = twin(x, hidden)
    expected_final = (expected_final,) if len(states) == 1 else expected_final
    outputs = LeafModule(layer).double()(x, *initial)
    torch.testing.assert_close(outputs[0], expected_output)
    for got, want in zip(outputs[1:], expected_final):
        torch.testing.assert_close(got, want[0])
    # through net(x): the ports by name
    result = layer({"Input": x[0].numpy(), **{f"Initial{s}": v[0].numpy() for s, v in zip(states, initial)}})
    np.testing.assert_allclose(result["State"], expected_final[0][0, 0].detach().numpy(), atol=1e-6)


def test_lstm_state_carried_between_calls_equals_one_call():
    # The final states of one half of a sequence, fed as initial states, continue the other half.
    layer = random_layer(LongShortTermMemoryLayer, initial_states=True, final_states=True)
    x = np.random.default_rng(0).random((6, 2)).astype(np.float32)
    zeros = np.zeros(3, np.float32)
    whole = layer({"Input": x, "InitialState": zeros, "InitialCellState": zeros})
    first = layer({"Input": x[:3], "InitialState": zeros, "InitialCellState": zeros})
    second = layer({"Input": x[3:], "InitialState": first["State"], "InitialCellState": first["CellState"]})
    np.testing.assert_allclose(np.concatenate([first["Output"], second["Output"]]), whole["Output"], atol=1e-6)
    np.testing.assert_allclose(second["CellState"], whole["CellState"], atol=1e-6)


def test_recurrent_in_a_graph_with_state_ports():
    encoder = LongShortTermMemoryLayer(4, final_states=True)
    decoder = LongShortTermMemoryLayer(4, initial_states=True)
    net = NetInitialize(NetGraph(
        {"encoder": encoder, "decoder": decoder, "last": SequenceLastLayer()},
        [(NetPort("Source"), "encoder"), (NetPort("encoder", "State"), NetPort("decoder", "InitialState")),
         (NetPort("encoder", "CellState"), NetPort("decoder", "InitialCellState")), (NetPort("Target"), "decoder", "last", NetPort("Output"))],
        ports={"Source": ("Varying", 3), "Target": ("Varying", 2)},
    ))
    assert net.types["Output"].dims == (4,)
    # the encoder's own output sequence, unconnected, is a port of the graph too
    assert net.output_ports() == ("Output", "Output1")
    result = net({"Source": np.ones((5, 3)), "Target": np.ones((2, 2))})
    assert result["Output"].shape == (4,) and result["Output1"].shape == (5, 4)


def test_recurrent_inference_and_chain():
    net = NetInitialize(NetChain([GatedRecurrentLayer(5), SequenceLastLayer(), 2], input=("Varying", 3)))
    assert net.layers["0"].types["InputGateInputWeights"].dims == (5, 3)
    assert net([[1.0, 2.0, 3.0]] * 7).shape == (2,)
    from_arrays = BasicRecurrentLayer(arrays={"InputWeights": np.ones((4, 6)), "StateWeights": np.eye(4), "Biases": np.zeros(4)})
    assert from_arrays.types["Input"].dims == (None, 6) and from_arrays.types["Output"].dims == (None, 4)
    assert NetExtract(NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2))), "ForgetGateStateWeights").shape == (3, 3)


def test_recurrent_errors():
    with pytest.raises(NetError, match=r"BasicRecurrentLayer: the size \(the length of each state vector\) must be a positive int, not 0\."):
        BasicRecurrentLayer(0)
    with pytest.raises(ShapeError, match=r'LongShortTermMemoryLayer\): port "Input" needs a sequence of vectors \(a matrix of shape \(length, size\)\) but has shape \(n,\) of rank 1'):
        LongShortTermMemoryLayer(3, input="Varying")
    with pytest.raises(ShapeError, match=r'NetChain/"rnn" \(GatedRecurrentLayer\): port "Input" needs a sequence of vectors .* has shape \(5, 2, 2\) of rank 3'):
        NetChain({"rnn": GatedRecurrentLayer(3)}, input=(5, 2, 2))
    # a state of the wrong size, named by layer and port
    with pytest.raises(ShapeError, match=r'NetGraph/"dec"/InitialState \(LongShortTermMemoryLayer\) expects \(4,\) but NetGraph/"enc"/State \(LongShortTermMemoryLayer\) gives \(5,\)'):
        NetGraph({"enc": LongShortTermMemoryLayer(5, final_states=True), "dec": LongShortTermMemoryLayer(4, initial_states=True)},
                 [(NetPort("enc", "State"), NetPort("dec", "InitialState"))])
    with pytest.raises(ShapeError, match=r'the array "InputWeights" has size 4 where the state size is 3'):
        BasicRecurrentLayer(3, arrays={"InputWeights": np.ones((4, 2))})
    with pytest.raises(NetError, match=r"LongShortTermMemoryLayer: final_states must be True or False, not 'yes'\."):
        LongShortTermMemoryLayer(3, final_states="yes")
