"""NetMapOperator, NetFoldOperator, NetNestOperator, NetBidirectionalOperator: lengths (each
example within its own length), members as nets (extract, train, files), ports that do not fit."""

import numpy as np
import pytest
import torch

from symnet import (
    CatenateLayer,
    ElementwiseLayer,
    Export,
    GatedRecurrentLayer,
    Import,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetBidirectionalOperator,
    NetChain,
    NetError,
    NetExtract,
    NetFoldOperator,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetNestOperator,
    NetPort,
    NetTrain,
    SequenceLastLayer,
    ShapeError,
    ThreadingLayer,
    compiled,
)
from symnet.layers.sequence import reverse_sequences

LENGTHS = torch.tensor([5, 2, 0, 3])


def padded(size, seed=0):
    x = torch.rand(4, 5, size, generator=torch.Generator().manual_seed(seed))
    return x * (torch.arange(5).view(1, 5, 1) < LENGTHS.view(4, 1, 1))


def runner(net):
    module = compiled(net)

    @torch.no_grad()
    def run(*inputs, lengths=None):
        if lengths is not None:  # the member is a single recurrent layer here: it takes lengths
            (layer,) = [layer for _, layer in module.plan.leaves]
            return [layer.forward({n: torch.as_tensor(v) for n, v in layer.arrays.items()}, *inputs, lengths=lengths)]
        out = module(*inputs)
        return list(out) if isinstance(out, tuple) else [out]

    return run


def fold_step():
    return NetGraph({"join": CatenateLayer(), "linear": LinearLayer(3), "tanh": "Tanh"},
                    [([NetPort("Input"), NetPort("State")], "join", "linear", "tanh")], ports={"Input": 2, "State": 3})


def test_map_with_lengths_zeroes_padding():
    op = NetInitialize(NetMapOperator(LinearLayer(2), input=("Varying", 3)))
    x = padded(3)
    out = op.run_members({"Net": runner(op.net)}, x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        np.testing.assert_allclose(out[b, :n].numpy(), op.net(x[b, :n].numpy()) if n else np.zeros((0, 2)), atol=1e-6)
        assert bool((out[b, n:] == 0).all())


def test_map_over_several_inputs():
    inner = NetGraph({"times": ThreadingLayer("Times")}, [([NetPort("A"), NetPort("B")], "times")], ports={"A": 2, "B": 2})
    op = NetMapOperator(inner)
    assert op.input_ports() == ("A", "B") and op.types["A"].dims == (None, 2)
    result = op({"A": [[1.0, 2.0], [3.0, 4.0]], "B": [[2.0, 2.0], [0.5, 1.0]]})
    assert result.tolist() == [[2.0, 4.0], [1.5, 4.0]]


def test_fold_equals_unrolled_computation_per_example():
    op = NetInitialize(NetFoldOperator(fold_step(), input=("Varying", 2), final_states=True))
    step = op.net
    x = padded(2)
    output, final = op.run_members({"Net": runner(step)}, x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        state = np.zeros(3, np.float32)
        for t in range(n):  # the unrolled computation, one net call per step
            state = step({"Input": x[b, t].numpy(), "State": state})
            np.testing.assert_allclose(output[b, t].numpy(), state, atol=1e-6)
        np.testing.assert_allclose(final[b].numpy(), state, atol=1e-6)
        assert bool((output[b, n:] == 0).all())


def test_fold_initial_state_and_ports():
    op = NetInitialize(NetFoldOperator(fold_step(), initial_states=True, final_states=True))
    assert op.input_ports() == ("Input", "InitialState") and op.output_ports() == ("Output", "State")
    assert op.types["InitialState"].dims == (3,) and op.types["Output"].dims == (None, 3)
    x = np.ones((3, 2), np.float32)
    start = np.full(3, 0.5, np.float32)
    result = op({"Input": x, "InitialState": start})
    expected = op.net({"Input": x[0], "State": start})
    np.testing.assert_allclose(result["Output"][0], expected, atol=1e-6)
    np.testing.assert_allclose(result["State"], result["Output"][-1])


def test_nest_applies_the_net_n_times():
    op = NetInitialize(NetNestOperator([LinearLayer(3), "Tanh"], 4, input=3))
    x = np.linspace(-1, 1, 3).astype(np.float32)
    y = x
    for _ in range(4):
        y = op.net(y)
    np.testing.assert_allclose(op(x), y, atol=1e-6)
    assert NetExtract(op, ["Net", 0, "Weights"]).shape == (3, 3)


@pytest.mark.parametrize("aggregation", ["Join", "Total"])
def test_bidirectional_with_lengths_matches_each_example_alone(aggregation):
    op = NetInitialize(NetBidirectionalOperator(LongShortTermMemoryLayer(3), aggregation=aggregation, input=("Varying", 2)))
    assert op.types["Output"].dims == ("Varying", 6 if aggregation == "Join" else 3)
    # the backward copy is a net of its own: initialized with its own values
    assert not np.array_equal(NetExtract(op, ["ForwardNet", "InputGateInputWeights"]), NetExtract(op, ["BackwardNet", "InputGateInputWeights"]))
    x = padded(2)
    runners = {key: runner(op.layers[key]) for key in ("ForwardNet", "BackwardNet")}
    out = op.run_members(runners, x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        if n == 0:
            assert bool((out[b] == 0).all())
            continue
        alone = op(x[b, :n].numpy())
        np.testing.assert_allclose(out[b, :n].numpy(), alone, atol=1e-6)
        assert bool((out[b, n:] == 0).all())
    assert reverse_sequences(torch.arange(5.0).view(1, 5), torch.tensor([3])).tolist() == [[2.0, 1.0, 0.0, 3.0, 4.0]]


def test_operators_train_and_round_trip(tmp_path):
    # a sequence regression through a map and a bidirectional GRU: NetTrain updates the members
    # (after SequenceLastLayer the backward GRU is seen at its first step, where only the input
    # arrays of its memory and input gates matter: the reset gate acts on the zero first state)
    net = NetInitialize(NetChain([NetMapOperator(LinearLayer(4)), NetBidirectionalOperator(GatedRecurrentLayer(3)), SequenceLastLayer(), LinearLayer(1)], input=(6, 2)), random_seeding=0)
    rng = np.random.default_rng(0)
    x = rng.random((64, 6, 2)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None].astype(np.float32) / 6
    before = NetExtract(net, [1, "BackwardNet", "MemoryGateInputWeights"])
    trained = NetTrain(net, (x, y), max_training_rounds=30, batch_size=16, target_device="cpu", training_progress_reporting=None, random_seeding=0)
    assert not np.array_equal(before, NetExtract(trained, [1, "BackwardNet", "MemoryGateInputWeights"]))
    error_before = float(np.mean((net(x) - y) ** 2))
    error_after = float(np.mean((trained(x) - y) ** 2))
    assert error_after < error_before / 2
    Export(tmp_path / "net.symnet", trained)
    back = Import(tmp_path / "net.symnet")
    np.testing.assert_array_equal(back(x), trained(x))
    text = repr(trained)
    assert "NetBidirectionalOperator(2 layers)" in text and "NetMapOperator(1 layers)" in text


def test_operator_ports_that_do_not_fit():
    with pytest.raises(NetError, match=r'NetFoldOperator: the net must take an input "State" and at least one other input \(the elements\), and return one output \(the next state\), but it has the inputs Input and the outputs Output\.'):
        NetFoldOperator(LinearLayer(3))
    with pytest.raises(ShapeError, match=r"NetFoldOperator: the net's output \(4,\) must have the type of its input \"State\" \(3,\), since each output is the next state\."):
        NetFoldOperator(NetGraph({"join": CatenateLayer(), "linear": LinearLayer(4)}, [([NetPort("Input"), NetPort("State")], "join", "linear")], ports={"Input": 2, "State": 3}))
    with pytest.raises(ShapeError, match=r"NetNestOperator: the net's output \(2,\) must have the type of its input \(3,\), since it is applied to its own result\."):
        NetNestOperator(LinearLayer(2, input=3), 2)
    with pytest.raises(NetError, match=r"NetNestOperator: the count \(how many times the net is applied\) must be a positive int, not 0\."):
        NetNestOperator(LinearLayer(2), 0)
    with pytest.raises(ShapeError, match=r'NetMapOperator: port "Input" needs a sequence of the net\'s elements but has the scalar type \(\)'):
        NetMapOperator(ElementwiseLayer("Tanh"), input="Real")
    with pytest.raises(NetError, match=r'NetBidirectionalOperator: aggregation \'Sum\' is not one of "Join", "Total"\.'):
        NetBidirectionalOperator(GatedRecurrentLayer(3), aggregation="Sum")
    with pytest.raises(NetError, match=r"NetBidirectionalOperator: the ForwardNet must take one sequence and return one sequence, but it has the inputs Input and the outputs Output, State\."):
        NetBidirectionalOperator(GatedRecurrentLayer(3, final_states=True))
    with pytest.raises(NetError, match=r"NetMapOperator: .* is not a layer"):
        NetMapOperator(3.5)
    # a net of the wrong element size inside a chain: named by path and port
    with pytest.raises(ShapeError, match=r"NetChain/0/Input \(NetMapOperator\) expects \(\?, 3\) but NetChain/Input gives \(n, 5\)"):
        NetChain([NetMapOperator(LinearLayer(2, input=3))], input=("Varying", 5))
