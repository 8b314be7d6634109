"""NetUnfold and NetStateObject: one step at a time with the states carried equals the net on
the whole sequence (recurrent layers, folds, chains, several recurrent members); bad input."""

import numpy as np
import pytest

from symnet import (
    AttentionLayer,
    BasicRecurrentLayer,
    CatenateLayer,
    EmbeddingLayer,
    Export,
    GatedRecurrentLayer,
    Import,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetError,
    NetFoldOperator,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetPort,
    NetStateObject,
    NetUnfold,
    SequenceLastLayer,
    SoftmaxLayer,
    TensorType,
)

X = np.random.default_rng(0).random((6, 2)).astype(np.float32)


def language_model():
    return NetInitialize(NetChain([EmbeddingLayer(5), LongShortTermMemoryLayer(4), NetMapOperator(LinearLayer(7)), SoftmaxLayer()],
                                  input=TensorType(("Varying",), "Integer", 7)), random_seeding=4)


def test_generation_step_by_step_equals_the_unrolled_computation():
    net = language_model()
    stateful = NetStateObject(net)
    sequence = [0]
    steps = [stateful([0])[0]]
    for _ in range(8):  # greedy generation, one element per call
        sequence.append(int(steps[-1].argmax()))
        steps.append(stateful([sequence[-1]])[0])
    whole = net(np.array(sequence))  # the net reading the whole sequence at once
    np.testing.assert_allclose(np.stack(steps), whole, atol=1e-6)
    stateful.reset()
    np.testing.assert_allclose(stateful(np.array(sequence)), whole, atol=1e-6)


def test_unfolded_ports_and_arrays():
    net = language_model()
    step = NetUnfold(net)
    assert step.input_ports() == ("Input", "InitialState", "InitialCellState")
    assert step.output_ports() == ("Output", "State", "CellState")
    assert step.types["Input"] == TensorType((), "Integer", 7) and step.types["State"].dims == (4,)
    out = step({"Input": 3, "InitialState": np.zeros(4, np.float32), "InitialCellState": np.zeros(4, np.float32)})
    np.testing.assert_allclose(out["Output"], net(np.array([3]))[0], atol=1e-6)


def fold_step():
    return NetGraph({"join": CatenateLayer(), "linear": LinearLayer(3), "tanh": "Tanh"},
                    [([NetPort("Input"), NetPort("State")], "join", "linear", "tanh")], ports={"Input": 2, "State": 3})


def test_fold_operator_unfolds_to_its_step():
    fold = NetInitialize(NetFoldOperator(fold_step(), input=("Varying", 2)), random_seeding=1)
    step = NetUnfold(fold)
    assert set(step.input_ports()) == {"Input", "InitialState"} and step.output_ports() == ("Output", "State")
    state = np.zeros(3, np.float32)
    expected = fold(X)
    for t, element in enumerate(X):
        state = step({"Input": element, "InitialState": state})["State"]
        np.testing.assert_allclose(state, expected[t], atol=1e-6)


def test_several_recurrent_members_and_a_final_sequence_last():
    net = NetInitialize(NetChain([GatedRecurrentLayer(3), BasicRecurrentLayer(4), SequenceLastLayer()], input=("Varying", 2)), random_seeding=2)
    stateful = NetStateObject(net)
    assert [state for _, state in stateful.pairs] == ["State0", "State1"]
    stateful(X[:4])
    np.testing.assert_allclose(stateful(X[4:]), net(X), atol=1e-6)
    assert stateful.states["State1"].shape == (4,)


def test_seed_and_file_round_trip(tmp_path):
    net = NetInitialize(GatedRecurrentLayer(3, input=("Varying", 2), initial_states=False), random_seeding=3)
    seed = np.full(3, 0.5, np.float32)
    seeded = NetStateObject(net, {"State": seed})
    with_initial = NetInitialize(GatedRecurrentLayer(3, input=("Varying", 2), initial_states=True, arrays=dict(net.arrays)))
    np.testing.assert_allclose(seeded(X), with_initial({"Input": X, "InitialState": seed}), atol=1e-6)
    step = NetUnfold(net)
    loaded = Import(Export(tmp_path / "step.symnet", step))
    given = {"Input": X[0], "InitialState": seed}
    np.testing.assert_array_equal(loaded(given)["State"], step(given)["State"])


def test_what_cannot_be_unfolded():
    attention = NetInitialize(NetGraph({"attend": AttentionLayer("Dot", mask="Causal")}, [(NetPort("Input"), [NetPort("attend", "Key"), NetPort("attend", "Value"), NetPort("attend", "Query")])], input=("Varying", 2)))
    with pytest.raises(NetError, match=r"NetUnfold: the net is a NetGraph, which does not read a sequence one element at a time; NetUnfold unfolds recurrent layers"):
        NetUnfold(attention)
    with pytest.raises(NetError, match=r"NetUnfold: the NetChain has no recurrent layer or NetFoldOperator, so it has no state to carry"):
        NetUnfold(NetChain([NetMapOperator(LinearLayer(2))], input=("Varying", 2)))
    with pytest.raises(NetError, match=r"NetUnfold: NetChain/0 \(LongShortTermMemoryLayer\) already has state ports"):
        NetUnfold(NetChain([LongShortTermMemoryLayer(2, final_states=True)], input=("Varying", 2)))
    net = language_model()
    with pytest.raises(NetError, match=r'NetStateObject: the seed names the state "Hidden", but the net\'s states are State, CellState\.'):
        NetStateObject(net, {"Hidden": np.zeros(4)})
    with pytest.raises(NetError, match=r'NetStateObject: the seed of "State" has shape \(3,\) but the state has shape \(4,\); give a vector of that size\.'):
        NetStateObject(net, {"State": np.zeros(3)})
    with pytest.raises(NetError, match=r"NetStateObject: expected a non-empty sequence of elements of shape \(\), but received an array of shape \(\)\."):
        NetStateObject(net)(3)
