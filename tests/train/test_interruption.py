"""Ctrl-C, non-finite losses, checkpoints and resuming, and the errors NetTrain raises before the first batch."""

from pathlib import Path

import numpy as np
import pytest

from symnet import All, ElementwiseLayer, LinearLayer, NetChain, NetDecoder, NetError, NetExtract, NetInitialize, NetTrain, OptionError, Scaled
from symnet.train import checkpoint

QUIET = {"training_progress_reporting": None}


def stop_after(batches):
    def callback(progress):
        if progress["AbsoluteBatch"] == batches:
            raise KeyboardInterrupt

    return callback


def test_ctrl_c_returns_the_results_so_far(blobs, classifier):
    x, y = blobs()
    results = NetTrain(classifier(), (x, y), All, batch_size=16, max_training_rounds=10, training_progress_reporting=stop_after(20))
    assert results["ReasonTrainingStopped"] == "ManualStop"
    assert results.total_batches == 20 and results.total_rounds == 1
    assert results.trained_net.initialized


def test_ctrl_c_net_equals_the_net_after_the_same_number_of_batches(blobs, classifier):
    x, y = blobs(n=64)
    interrupted = NetTrain(classifier(), (x, y), batch_size=16, max_training_rounds=2, training_progress_reporting=stop_after(8))
    complete = NetTrain(classifier(), (x, y), batch_size=16, max_training_rounds=2, **QUIET)
    np.testing.assert_array_equal(NetExtract(interrupted, [0, "Weights"]), NetExtract(complete, [0, "Weights"]))


def test_nan_loss_stops_and_returns_the_last_good_net():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype(np.float32) * 100
    y = rng.normal(size=(64, 1)).astype(np.float32) * 1e18
    net = NetChain([LinearLayer(1), ElementwiseLayer("Exp")], input=2)
    results = NetTrain(net, (x, y), All, method=("SGD", {"learning_rate_schedule": "Constant"}), learning_rate=10.0, max_training_rounds=50, **QUIET)
    assert results.reason_training_stopped == "NonFiniteLoss"
    assert np.isfinite(NetExtract(results.trained_net, [0, "Weights"])).all()
    assert all(np.isfinite(results.batch_loss_list))


def test_checkpoints_are_written_and_resume_to_the_same_weights(tmp_path, blobs, classifier):
    x, y = blobs(n=96)
    options = dict(batch_size=16, max_training_rounds=4, validation_set=Scaled(0.25), **QUIET)
    uninterrupted = NetTrain(classifier(), (x, y), All, **options)

    directory = tmp_path / "run"
    spec = {"directory": directory, "interval": (2, "Batches"), "best": True}
    partial = NetTrain(classifier(), (x, y), All, training_progress_checkpointing=spec, **{**options, "training_progress_reporting": stop_after(7)})
    assert partial.reason_training_stopped == "ManualStop"
    files = sorted(p.name for p in directory.glob("checkpoint-*.safetensors"))
    assert files == [f"checkpoint-round{r:04d}-batch{b:07d}.safetensors" for r, b in ((0, 2), (0, 4), (1, 6))]
    assert (directory / "best.symnet").exists()
    # the results name the net files (Import reads them), as Wolfram's CheckpointingFiles do
    assert partial.checkpointing_files[:2] == [str(directory / "checkpoint-round0000-batch0000002.symnet"), str(directory / "checkpoint-round0000-batch0000004.symnet")]
    assert str(directory / "best.symnet") in partial.checkpointing_files

    # resume from the newest checkpoint (after 6 batches): the same weights, bit for bit
    resumed = NetTrain(classifier(), (x, y), All, training_progress_checkpointing={**spec, "resume": True}, **options)
    assert resumed.automatic_choices["resumed_from"].endswith("checkpoint-round0001-batch0000006.safetensors")
    for name in ("Weights", "Biases"):
        for layer in (0, 2):
            np.testing.assert_array_equal(NetExtract(resumed.final_net, [layer, name]), NetExtract(uninterrupted.final_net, [layer, name]))
            np.testing.assert_array_equal(NetExtract(resumed.trained_net, [layer, name]), NetExtract(uninterrupted.trained_net, [layer, name]))
    assert resumed.total_batches == uninterrupted.total_batches
    assert resumed.round_loss_list[1:] == uninterrupted.round_loss_list[1:]


def test_checkpoint_file_holds_no_pickle_and_loads(tmp_path, blobs, classifier):
    x, y = blobs(n=64)
    path = tmp_path / "last.safetensors"
    NetTrain(classifier(), (x, y), batch_size=16, max_training_rounds=2, training_progress_checkpointing=("File", path), **QUIET)
    loaded = checkpoint.load(path)
    assert loaded.progress["rounds"] == 2 and loaded.progress["batches"] == 8
    assert {"0/Weights", "0/Biases", "2/Weights", "2/Biases"} <= set(loaded.arrays)
    assert b"pickle" not in path.read_bytes()[:200]


def test_resume_from_a_missing_directory_starts_fresh(tmp_path, blobs, classifier):
    x, y = blobs(n=64)
    results = NetTrain(classifier(), (x, y), All, max_training_rounds=1, training_progress_checkpointing={"directory": tmp_path / "new", "resume": True}, **QUIET)
    assert "resumed_from" not in results.automatic_choices and results.checkpointing_files


# -- errors before the first batch ------------------------------------------------------------
def test_mismatched_lengths(blobs, classifier):
    x, y = blobs(n=20)
    with pytest.raises(NetError, match=r"NetTrain: the inputs and targets have different lengths \(Input: 20, Output: 19\); example 19 is the first without a partner"):
        NetTrain(classifier(), (x, y[:-1]), **QUIET)


def test_wrong_target_type(blobs, classifier):
    x, _ = blobs(n=10)
    with pytest.raises(NetError, match=r"NetTrain: target Output: the targets must be class indices \(integers 0 … 1\) but example 0 is 'a'; to train on labels, give the output a NetDecoder"):
        NetTrain(classifier(), (x, ["a"] * 10), **QUIET)


def test_class_index_out_of_range_names_the_example(blobs, classifier):
    x, y = blobs(n=10)
    y[6] = 5
    with pytest.raises(NetError, match=r"NetTrain: target Output: the targets must be integers in 0 … 1 but example 6 is 5"):
        NetTrain(classifier(), (x, y), **QUIET)


def test_unknown_label(blobs, classifier):
    x, y = blobs(n=10)
    labels = ["left" if v == 0 else "right" for v in y]
    labels[3] = "rigth"
    with pytest.raises(NetError, match=r"NetTrain: target Output: Class decoder: the label 'rigth' \(at position 3\) is not one of the 2 known labels.*Did you mean \"right\"\?"):
        NetTrain(classifier(output=NetDecoder("Class", ["left", "right"])), (x, labels), **QUIET)


def test_empty_data(classifier):
    with pytest.raises(NetError, match=r"NetTrain: the data is empty; give at least one example"):
        NetTrain(classifier(), [], **QUIET)
    with pytest.raises(NetError, match=r"NetTrain: the data is empty"):
        NetTrain(classifier(), (np.zeros((0, 2)), np.zeros(0)), **QUIET)


def test_nan_in_the_inputs_names_the_example(blobs, classifier):
    x, y = blobs(n=10)
    x[4, 1] = np.nan
    with pytest.raises(NetError, match=r"NetTrain: input Input: example 4 contains NaN or infinite values"):
        NetTrain(classifier(), (x, y), **QUIET)


def test_wrong_input_shape(classifier):
    with pytest.raises(NetError, match=r"NetTrain: input Input: expected examples of shape \(2,\) but received shape \(3,\)"):
        NetTrain(classifier(), (np.zeros((4, 3)), np.zeros(4, dtype=int)), **QUIET)


def test_batch_size_larger_than_the_data(blobs, classifier):
    x, y = blobs(n=10)
    with pytest.raises(NetError, match=r"NetTrain: batch_size=64 is larger than the 10 training examples; use a batch size of at most 10"):
        NetTrain(classifier(), (x, y), batch_size=64, **QUIET)


def test_not_a_pair(classifier):
    with pytest.raises(NetError, match=r"NetTrain: example 1 is \(1.0, 2.0, 3.0\), not an \(input, target\) pair"):
        NetTrain(classifier(), [([0.0, 1.0], 1), (1.0, 2.0, 3.0)], **QUIET)


def test_unknown_option_suggests_the_closest(blobs, classifier):
    x, y = blobs(n=10)
    with pytest.raises(OptionError, match=r'NetTrain: unknown option max_training_round\. Did you mean "max_training_rounds"\?'):
        NetTrain(classifier(), (x, y), max_training_round=3)


def test_unknown_method_and_suboption(blobs, classifier):
    x, y = blobs(n=10)
    with pytest.raises(OptionError, match=r'NetTrain: method must be one of "ADAM", "AdamW", "SGD", "RMSProp"; received "Adam"\. Did you mean "ADAM"\?'):
        NetTrain(classifier(), (x, y), method="Adam")
    with pytest.raises(OptionError, match=r'NetTrain: method "SGD" has no suboption \'momentun\'\. Did you mean "momentum"\?'):
        NetTrain(classifier(), (x, y), method=("SGD", {"momentun": 0.5}))


def test_unknown_measurement_property_precision_and_multiplier_rule(blobs, classifier):
    x, y = blobs(n=10)
    with pytest.raises(OptionError, match=r'unknown measurement "Acuracy"\. Did you mean "Accuracy"\?'):
        NetTrain(classifier(), (x, y), training_progress_measurements=["Acuracy"])
    with pytest.raises(NetError, match=r'NetTrain: \'LosPlot\' is not a property of the results.*Did you mean "LossPlot"\?'):
        NetTrain(classifier(), (x, y), "LosPlot")
    with pytest.raises(OptionError, match=r'NetTrain: working_precision must be one of "Real32", "Real64", "Mixed"; received "Real16"'):
        NetTrain(classifier(), (x, y), working_precision="Real16")
    with pytest.raises(OptionError, match=r"learning_rate_multipliers: 'clasifier': the NetChain has no layer 'clasifier'; its layers: 0, 1, 2, 3\."):
        NetTrain(classifier(), (x, y), learning_rate_multipliers={"clasifier": 0})


def test_unknown_data_column_and_missing_targets(blobs, classifier):
    x, y = blobs(n=10)
    with pytest.raises(NetError, match=r'NetTrain: the data has a column "Inptu", which is not a port of the net.*Did you mean "Input"\?'):
        NetTrain(classifier(), {"Inptu": x, "Output": y})
    with pytest.raises(NetError, match=r'NetTrain: there are no targets for the output "Output"'):
        NetTrain(classifier(), {"Input": x})


def test_everything_frozen(blobs, classifier):
    x, y = blobs(n=10)
    with pytest.raises(NetError, match=r"NetTrain: the net has nothing to train"):
        NetTrain(NetInitialize(classifier()), (x, y), learning_rate_multipliers={"*": 0})


def test_resume_with_a_different_net(tmp_path, blobs, classifier):
    x, y = blobs(n=32)
    path = tmp_path / "c.safetensors"
    NetTrain(classifier(), (x, y), max_training_rounds=1, training_progress_checkpointing=("File", path), **QUIET)
    other = NetChain({"a": LinearLayer(2), "s": "Tanh"}, input=2)
    with pytest.raises(NetError, match=r"was written for a different net"):
        NetTrain(other, (x, np.eye(2, dtype=np.float32)[y]), training_progress_checkpointing={"file": path, "resume": True}, **QUIET)


def test_checkpoint_net_file_imports_as_the_net_at_that_point(tmp_path, blobs, classifier):
    from symnet import Import

    x, y = blobs(n=64)
    results = NetTrain(classifier(), (x, y), All, batch_size=16, max_training_rounds=2, training_progress_checkpointing=("Directory", tmp_path), **QUIET)
    nets = results.checkpointing_files
    assert [Path(f).name for f in nets] == ["checkpoint-round0001-batch0000004.symnet", "checkpoint-round0002-batch0000008.symnet"]
    np.testing.assert_array_equal(NetExtract(Import(nets[-1]), [0, "Weights"]), NetExtract(results.trained_net, [0, "Weights"]))
    # resume accepts the net file too: it continues from the training state beside it
    more = NetTrain(classifier(), (x, y), All, batch_size=16, max_training_rounds=3, training_progress_checkpointing={"directory": tmp_path, "resume": nets[-1]}, **QUIET)
    assert more.automatic_choices["resumed_from"] == str(Path(nets[-1]).with_suffix(".safetensors")) and more.total_rounds == 3


def test_a_checkpoint_file_named_symnet_is_the_net_beside_its_training_state(tmp_path, blobs, classifier):
    from symnet import Import

    x, y = blobs(n=32)
    path = tmp_path / "net.symnet"
    results = NetTrain(classifier(), (x, y), All, max_training_rounds=2, training_progress_checkpointing=path, **QUIET)
    assert results.checkpointing_files == [str(path)] and (tmp_path / "net.safetensors").exists()
    np.testing.assert_array_equal(NetExtract(Import(path), [2, "Biases"]), NetExtract(results.trained_net, [2, "Biases"]))
