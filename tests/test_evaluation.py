"""Evaluation (symnet/evaluation.py): one example or a batch, input errors, precision, ports, gradients."""

import numpy as np
import pytest
import torch

from symnet import (
    InputError,
    LinearLayer,
    NetChain,
    NetError,
    NetExtract,
    NetInitialize,
    NetPort,
    NetPortGradient,
    SoftmaxLayer,
    ThreadingLayer,
)


@pytest.fixture
def net():
    return NetInitialize(NetChain({"lin": LinearLayer(3), "act": "Tanh", "out": LinearLayer(2)}, input=4), random_seeding=0)


def reference(net, x):
    w1, b1, w2, b2 = (torch.as_tensor(NetExtract(net, p)).double() for p in (["lin", "Weights"], ["lin", "Biases"], ["out", "Weights"], ["out", "Biases"]))
    return torch.tanh(torch.as_tensor(x).double() @ w1.T + b1) @ w2.T + b2


def test_single_example_and_batch_forms(net):
    x = np.random.default_rng(0).normal(size=(5, 4))
    expected = reference(net, x).numpy()
    np.testing.assert_allclose(net(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net(x.tolist()), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net(torch.as_tensor(x)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net(x[0]), expected[0], rtol=1e-5, atol=1e-6)
    assert net(x[0]).shape == (2,)


def test_batch_size_option_gives_same_result(net):
    x = np.random.default_rng(1).normal(size=(37, 4))
    np.testing.assert_allclose(net(x, batch_size=5), net(x), rtol=1e-6, atol=1e-6)


def test_real64_precision(net):
    x = np.random.default_rng(2).normal(size=(3, 4))
    out = net(x, working_precision="Real64")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, reference(net, x).numpy(), rtol=1e-12)


def test_wrong_rank_and_size(net):
    with pytest.raises(InputError, match=r"NetChain/Input: expected one example of shape \(4,\) or a batch of shape \(batch, 4\) but received an array of shape \(2, 3, 4\)"):
        net(np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match=r"NetChain/Input: expected an example of shape \(4,\) but received shape \(5,\)"):
        net(np.zeros(5))
    with pytest.raises(InputError, match=r"NetChain/Input: expected examples of shape \(4,\) but received shape \(5,\)"):
        net(np.zeros((2, 5)))


def test_wrong_dtype_and_ragged(net):
    with pytest.raises(InputError, match=r"NetChain/Input: expected numbers but received data of type <U1"):
        net(["a", "b", "c", "d"])
    with pytest.raises(InputError, match=r"ragged list"):
        net([[1.0, 2.0, 3.0, 4.0], [1.0]])


def test_options_are_checked(net):
    with pytest.raises(NetError, match=r'NetChain: working_precision must be one of "Real32", "Real64", "Mixed"; received "Real16"\. Did you mean "Real64"\?'):
        net([0.0] * 4, working_precision="Real16")
    with pytest.raises(NetError, match=r'target_device must be "cpu", "cuda" \(or "gpu"\) or "cuda:N"; received "tpu". This machine has "cpu"'):
        net([0.0] * 4, target_device="tpu")


def test_gpu_without_cuda_says_what_is_available(net):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(NetError, match=r'target_device="gpu": it asks for a CUDA GPU but this machine has no CUDA device; the devices available are "cpu"\. Use target_device="cpu" here; "cuda" \(or "gpu"\) selects a GPU'):
        net([0.0] * 4, target_device="gpu")


def test_unknown_output_port(net):
    with pytest.raises(NetError, match=r"'Outptu' is neither an output port nor a decoder property; choose from 'Output'\. Did you mean \"Output\"\?"):
        net([0.0] * 4, "Outptu")


def test_intermediate_port(net):
    x = np.random.default_rng(3).normal(size=(2, 4))
    hidden = net(x, NetPort(["lin", "Output"]))
    w, b = NetExtract(net, ["lin", "Weights"]), NetExtract(net, ["lin", "Biases"])
    np.testing.assert_allclose(hidden, x @ w.T + b, rtol=1e-5, atol=1e-6)
    with pytest.raises(NetError, match=r'NetChain/"lin" \(LinearLayer\) has no port "Outpt"; its ports: Input, Output\. Did you mean "Output"\?'):
        net(x, NetPort(["lin", "Outpt"]))
    with pytest.raises(NetError, match=r"NetChain has no layer 'nope'"):
        net(x, NetPort(["nope", "Output"]))


def test_input_gradient_matches_autograd(net):
    x = torch.tensor([[0.1, -0.2, 0.3, 0.4], [1.0, 0.5, -0.5, 0.0]], dtype=torch.float64, requires_grad=True)
    reference(net, x).sum().backward()
    grad = net(x.detach(), NetPortGradient("Input"), working_precision="Real64")
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-10)


def test_array_gradient_matches_autograd(net):
    x = torch.tensor([[0.1, -0.2, 0.3, 0.4]], dtype=torch.float64)
    w = torch.as_tensor(NetExtract(net, ["out", "Weights"])).double().requires_grad_()
    w1, b1, b2 = (torch.as_tensor(NetExtract(net, p)).double() for p in (["lin", "Weights"], ["lin", "Biases"], ["out", "Biases"]))
    (torch.tanh(x @ w1.T + b1) @ w.T + b2).sum().backward()
    grad = net(x, NetPortGradient(["out", "Weights"]), working_precision="Real64")
    np.testing.assert_allclose(grad, w.grad.numpy(), rtol=1e-10)


def test_unsized_net_infers_from_data():
    net = NetChain(["Ramp", SoftmaxLayer()])
    np.testing.assert_allclose(net([1.0, -1.0, 0.0]), np.array([np.e, 1, 1]) / (np.e + 2), rtol=1e-6)


def test_multiple_inputs_need_a_dict():
    net = ThreadingLayer("Plus", input=[2, 2])
    assert net({"Input1": [1.0, 2.0], "Input2": [3.0, 4.0]}).tolist() == [4.0, 6.0]
    with pytest.raises(InputError, match=r"ThreadingLayer: no data for the input port Input2"):
        net({"Input1": [1.0, 2.0]})


def test_several_requests_at_once(net):
    out, hidden = net([0.0, 1.0, 2.0, 3.0], [None, NetPort(["lin", "Output"])])
    assert out.shape == (2,) and hidden.shape == (3,)


def test_numeric_class_labels_go_through_the_encoder():
    from symnet import EmbeddingLayer, NetEncoder

    net = NetInitialize(NetChain([EmbeddingLayer(2)], input=NetEncoder("Class", [10, 20, 30])))
    weights = NetExtract(net, [0, "Weights"])
    np.testing.assert_allclose(net(20), weights[1])
    np.testing.assert_allclose(net([30, 10]), weights[[2, 0]])


def test_evaluation_mode_train_activates_dropout_and_changes_nothing():
    from symnet import BatchNormalizationLayer, DropoutLayer

    net = NetInitialize(NetChain([DropoutLayer(0.5)], input=1000))
    ones = np.ones(1000, dtype=np.float32)
    assert (net(ones) == 1).all()
    trained = net(ones, evaluation_mode="Train")
    assert set(np.unique(trained)) == {0.0, 2.0}
    norm = NetInitialize(NetChain([BatchNormalizationLayer()], input=2))
    data = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    np.testing.assert_allclose(norm(data, evaluation_mode="Train"), [[-1, -1], [1, 1]], atol=1e-3)
    # the moving statistics are untouched: test mode still uses mean 0, variance 1
    np.testing.assert_allclose(norm(data), data / np.sqrt(1 + 1e-5), rtol=1e-5)
    with pytest.raises(NetError, match=r'NetChain: evaluation_mode must be one of "Test", "Train"; received "Training"\. Did you mean "Train"\?'):
        net(ones, evaluation_mode="Training")


def test_unknown_port_shape_batch_hint():
    layer = ThreadingLayer("Plus", input=[2, None])
    with pytest.raises(InputError, match=r"different batch sizes \[1, 5\]\. The port Input2 has no known shape, so its data was read as one example; give it a shape"):
        layer({"Input1": np.ones((5, 2)), "Input2": np.ones((5, 2))})


def test_unknown_evaluation_option(net):
    with pytest.raises(NetError, match=r"NetChain: unknown option batchsize=; the options are batch_size, target_device, working_precision, evaluation_mode\. Did you mean \"batch_size\"\?"):
        net([0.0] * 4, batchsize=3)


def test_empty_batch_gives_empty_result(net):
    assert net(np.zeros((0, 4), dtype=np.float32)).shape == (0, 2)


def test_variadic_layer_takes_any_number_of_inputs_as_a_list():
    from symnet import CatenateLayer

    assert CatenateLayer()([[1.0], [2.0, 3.0], [4.0, 5.0, 6.0]]).tolist() == [1, 2, 3, 4, 5, 6]
    assert ThreadingLayer("Plus")([[1.0], [2.0], [3.0]]).tolist() == [6.0]
