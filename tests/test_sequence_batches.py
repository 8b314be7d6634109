"""net(list_of_sequences) end to end: a batch of sequences of different lengths gives each
example what it gets alone, through recurrent layers, attention blocks, operators and the
Sequence… layers (the engine pads, passes lengths and cuts outputs back)."""

import numpy as np
import pytest

from symnet import (
    BasicRecurrentLayer,
    CatenateLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetBidirectionalOperator,
    NetChain,
    NetError,
    NetFoldOperator,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetPort,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    ShapeError,
)
from symnet.blocks import positional_embedding, transformer_encoder_block

SEQUENCES = [np.random.default_rng(n).random((n, 2)).astype(np.float32) for n in (5, 2, 3, 1)]


def fold_step():
    return NetGraph({"join": CatenateLayer(), "linear": LinearLayer(3), "tanh": "Tanh"},
                    [([NetPort("Input"), NetPort("State")], "join", "linear", "tanh")], ports={"Input": 2, "State": 3})


NETS = {
    "lstm-last": lambda: NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer()]),
    "rnn-reverse-most": lambda: NetChain([BasicRecurrentLayer(3), SequenceReverseLayer(), SequenceMostLayer()]),
    "rest-rnn": lambda: NetChain([SequenceRestLayer(), BasicRecurrentLayer(3)]),
    "bidirectional-gru": lambda: NetBidirectionalOperator(GatedRecurrentLayer(3)),
    "map-gru": lambda: NetChain([NetMapOperator(LinearLayer(4)), GatedRecurrentLayer(3)]),
    "fold": lambda: NetFoldOperator(fold_step()),
    "transformer": lambda: NetChain([positional_embedding(2, 8), transformer_encoder_block(2, 1, 8, mask="Causal"), transformer_encoder_block(2, 2, 8)]),
}


@pytest.mark.parametrize("name", NETS)
def test_mixed_lengths_equal_each_example_alone(name):
    net = NetInitialize(NetChain([NETS[name]()], input=("Varying", 2)), random_seeding=1)
    # SequenceMostLayer and SequenceRestLayer need two elements: no sequence of one for them
    sequences = SEQUENCES[:3] if name in ("rnn-reverse-most", "rest-rnn") else SEQUENCES
    batch = net(sequences)
    for sequence, result in zip(sequences, batch):
        alone = net(sequence)
        assert np.shape(result) == np.shape(alone)
        np.testing.assert_allclose(result, alone, atol=1e-5)


def test_an_example_too_short_is_named():
    net = NetInitialize(NetChain([SequenceRestLayer(), NetMapOperator(LinearLayer(3))], input=("Varying", 2)))
    with pytest.raises(NetError, match=r'SequenceRestLayer: port "Input" received a sequence of length 1 \(example 1 of the batch\), but it needs at least 2 elements; give every example at least 2\.'):
        net([np.ones((3, 2)), np.ones((1, 2))])


def test_linear_layer_on_a_sequence_points_to_the_map_operator():
    with pytest.raises(ShapeError, match=r"which a LinearLayer cannot flatten; apply it to each element with NetMapOperator\(LinearLayer\(…\)\)"):
        NetChain([GatedRecurrentLayer(3), LinearLayer(2)], input=("Varying", 2))


def test_final_state_of_each_example():
    net = NetInitialize(LongShortTermMemoryLayer(3, final_states=True, input=("Varying", 2)))
    batch = net(SEQUENCES)
    assert [o.shape for o in batch["Output"]] == [(5, 3), (2, 3), (3, 3), (1, 3)]
    for sequence, state, cell in zip(SEQUENCES, batch["State"], batch["CellState"]):
        alone = net(sequence)
        np.testing.assert_allclose(state, alone["State"], atol=1e-6)
        np.testing.assert_allclose(cell, alone["CellState"], atol=1e-6)
        np.testing.assert_allclose(state, alone["Output"][-1], atol=1e-6)
