"""The examples of the four seed documents (examples/seeds/) run with quick=True and show what they claim."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from symnet import datasets

SEEDS = Path(__file__).resolve().parent.parent / "examples" / "seeds"





def _run(name: str) -> dict:
    spec = importlib.util.spec_from_file_location(f"seed_{name}", SEEDS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(quick=True)


@pytest.fixture(autouse=True)
def _one_thread():
    # The scripts train small nets on small batches: two torch threads on a busy two-core
    # machine mostly wait for each other (the scripts' --quick does the same).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.fashion_mnist
def test_wolfram_intro(capsys):
    result = _run("wolfram_intro")
    # NetEncoder[{"Image", {64, 64}, ColorSpace -> "Grayscale"}] and back with NetDecoder
    assert result["encoded_shape"] == (1, 64, 64)
    assert result["decoded_size"] == (64, 64) and result["decoded_mode"] == "L"
    assert result["round_trip_difference"] <= 1
    # LinearLayer[2, "Input" -> 3] is weight.data + bias
    assert result["by_layer"].shape == (2,)
    np.testing.assert_allclose(result["by_layer"], result["by_hand"], rtol=1e-5, atol=1e-5)
    # the chain ends in LogisticSigmoid: three numbers in (0, 1)
    assert result["chain_output"].shape == (3,) and np.all((result["chain_output"] > 0) & (result["chain_output"] < 1))
    np.testing.assert_allclose(result["graph_output"], result["graph_by_hand"], rtol=1e-5, atol=1e-6)
    # DropoutLayer[0.5]: the identity when evaluating; while training about half the elements are 0, the rest doubled
    assert result["evaluation_unchanged"]
    assert 0.45 < result["zero_fraction"] < 0.55
    np.testing.assert_allclose(result["kept_values"], [2.0])
    # ImageAugmentationLayer: the centre crop when evaluating, random crops in training mode
    assert result["augmentation_centre"] and result["augmentation_distinct"] >= 2
    # L1 (the penalty in the loss) drives weights to zero; L2 (NetTrain's suboption) shrinks their norm
    regularized = result["regularization"]
    assert regularized["L1"]["near_zero"] > regularized["none"]["near_zero"] + 0.05
    assert regularized["L1"]["l1_norm"] < regularized["none"]["l1_norm"]
    assert regularized["L2"]["l2_norm"] < regularized["none"]["l2_norm"]
    assert all(r["accuracy"][1] > 0.4 for r in regularized.values())  # ten classes: chance is 0.1
    # net surgery: only the new classifier trained, and it separates the two new classes (chance: 0.5)
    assert result["surgery_features_frozen"]
    assert result["surgery_validation_accuracy"] > 0.75
    assert {"Loss", "ConfusionMatrix"} <= set(result["surgery_plots"])
    assert set(result["surgery_decisions"]) <= {"Sneaker", "Ankle boot"}
    assert sum(d == t for d, t in zip(result["surgery_decisions"], result["surgery_labels"])) >= 4
    printed = capsys.readouterr().out
    assert "Dimensions@encoded -> (1, 64, 64)" in printed
    assert "netFeature = NetDrop[net, -2]" in printed


@pytest.mark.fashion_mnist
def test_pytorch_mnist_notebook(capsys):
    result = _run("pytorch_mnist_notebook")
    # the shapes of the notebook's comments, inferred without running the net
    assert result["shapes"] == {"maxpool1": (32, 12, 12), "maxpool2": (32, 4, 4), "conv3": (64, 2, 2), "maxpool3": (64, 1, 1), "flatten": (64,), "dense2": (10,)}
    # ten classes: chance is 0.1
    assert result["test_accuracy"] > 0.5
    assert result["train_accuracy"] > 0.3
    names = list(datasets.load("FashionMNIST", "test").class_names)
    assert [names[i] for i in result["argmax"]] == result["predicted"]
    assert sum(p == t for p, t in zip(result["predicted"], result["labels"])) >= 4
    printed = capsys.readouterr().out
    assert "Number of images in training set: 60000" in printed
    assert "Loss: " in printed and "Accuracy on test set: " in printed


@pytest.mark.fashion_mnist
def test_intro_to_neural_nets(capsys):
    result = _run("intro_to_neural_nets")
    neuron, by_hand = result["neuron"]
    assert neuron == pytest.approx(by_hand, abs=1e-6)
    assert result["layer_output_shape"] == (100, 10)
    np.testing.assert_allclose(*result["res"], rtol=1e-6)
    np.testing.assert_allclose(result["broadcast"], [[11.0, 22.0], [13.0, 24.0]])
    # cross-entropy with a one-hot target = with a class index = -log p
    one_hot, index, minus_log_p = result["losses"]
    assert one_hot == pytest.approx(index, rel=1e-5) and index == pytest.approx(minus_log_p, rel=1e-5)
    np.testing.assert_allclose(*result["gradient"], atol=1e-5)
    before, after = result["step_losses"]
    assert after < before
    assert result["step_difference"] < 1e-6
    # ten classes: chance is 0.1; the list of test accuracies has one entry per epoch
    assert len(result["accuracies"]) == 2 and result["accuracies"][-1] > 0.5
    assert result["round_losses"][-1] < result["round_losses"][0]
    assert result["out_shape"] == (20, 10)
    assert (result["predicted"] == result["truth"]).mean() > 0.4
    assert "validation Accuracy" in capsys.readouterr().out


@pytest.mark.fashion_mnist
def test_intro_image_folder(tmp_path, capsys):
    """The intro's ImageFolder + Compose([Resize, CenterCrop, ToTensor]) pipeline on Fashion-MNIST images written out as files."""
    from PIL import Image

    spec = importlib.util.spec_from_file_location("seed_intro_folder", SEEDS / "intro_to_neural_nets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    test = datasets.load("FashionMNIST", "test")
    rng = np.random.default_rng(5)
    classes = ["Trouser", "Bag", "Sneaker"]
    for name in classes:
        (tmp_path / name).mkdir()
        for n, i in enumerate(np.flatnonzero(test.labels == list(test.class_names).index(name))[:40]):
            # photos come in assorted sizes: upscale to a random non-square size
            Image.fromarray(test.images[i]).resize((int(rng.integers(32, 44)), int(rng.integers(32, 44)))).save(tmp_path / name / f"{n}.png")
    result = module.image_folder(tmp_path, quick=True)
    assert result["folder_classes"] == tuple(sorted(classes))
    crop, by_hand = result["folder_crop"]
    assert crop.shape == (1, 28, 28)
    # the encoder's "Fill" crops then resizes, torchvision resizes then crops: resampling differs slightly
    assert np.abs(crop[0] - by_hand).mean() < 0.02
    assert result["folder_losses"][-1] < result["folder_losses"][0]
    assert result["folder_accuracy"] > 0.7  # three easy classes: chance is 1/3
    assert set(result["folder_decisions"]) <= set(classes)
    assert "held-out images" in capsys.readouterr().out


def test_backprop_by_hand(capsys):
    result = _run("backprop_by_hand")
    np.testing.assert_allclose(*result["forward"], atol=1e-12)
    hand, ours = result["weight_gradients"]
    for a, b in zip(hand, ours):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(*result["input_gradient"], atol=1e-12)
    # gradient descent by hand = NetTrain with plain SGD, in Real64
    for a, b in zip(*result["propagate_weights"]):
        np.testing.assert_allclose(a, b, atol=1e-12)
    for a, b in zip(*result["formula_weights"]):  # descent on NetFormula's exact gradient = Propagate by hand
        np.testing.assert_allclose(a, b, atol=1e-12)
    start, end = result["propagate_losses"]
    assert end < start
    # NetFormula: the ReLU chain's formula in its symbolic weights, its loss and exact gradient
    import sympy

    formula = result["formula"]
    assert formula.shape == (2, 1) and {s.name for s in formula.free_symbols} == {"x1", "x2", "x3", *(f"W1_{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)), *(f"W2_{i}{j}" for i in (1, 2) for j in (1, 2, 3))}
    y1, y2 = sympy.symbols("y1 y2", real=True)
    assert sympy.simplify(result["loss_formula"] - ((formula[0] - y1) ** 2 + (formula[1] - y2) ** 2) / 2) == 0
    assert [g.shape for g in result["gradient_formulas"]] == [(3, 3), (2, 3)]
    # its derivative = NetPortGradient
    for a, b in zip(*result["symbolic_gradients"]):
        np.testing.assert_allclose(a, b, atol=1e-12)
    # NetTrain computes the batch loss in float32 even in Real64 (mean over 5 examples), hence 1e-7
    for a, b in zip(*result["symbolic_descent"]):
        np.testing.assert_allclose(a, b, atol=1e-7)
    start, end = result["symbolic_losses"]
    assert end < start
    assert "by hand vs NetPortGradient" in capsys.readouterr().out
