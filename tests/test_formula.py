"""NetFormula: every supported layer's formula equals the net's values, and its exact gradients
equal NetPortGradient (float64), for the input and for every array."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from symnet import (
    AggregationLayer,
    AppendLayer,
    BatchNormalizationLayer,
    CatenateLayer,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    DeconvolutionLayer,
    DotLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    FlattenLayer,
    FunctionLayer,
    ImageAugmentationLayer,
    LinearLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetArrayLayer,
    NetChain,
    NetError,
    NetFormula,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPortGradient,
    NetReplacePart,
    NormalizationLayer,
    PaddingLayer,
    PartLayer,
    PoolingLayer,
    PrependLayer,
    ReplicateLayer,
    ReshapeLayer,
    ResizeLayer,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
    TotalLayer,
    TransposeLayer,
)
from symnet.formula.rules import RULES
from symnet.layers.basic import ACTIVATIONS

POSITIVE = (0.2, 1.0)  # inputs where log, sqrt and probabilities are defined

CASES: list[tuple[str, object, tuple[float, float]]] = [
    ("linear", LinearLayer(3, input=4), (-1, 1)),
    ("linear-matrix", LinearLayer((2, 2), input=(2, 3)), (-1, 1)),
    *[(f"elementwise-{name}", ElementwiseLayer(name, input=3), POSITIVE if name in ("Log", "Sqrt") else (-1, 1)) for name in ACTIVATIONS],
    ("elementwise-expression", ElementwiseLayer("x**2 + sin(x) * exp(-abs(x)) / 3 + clip(x, -0.5, 0.5)", input=3), (-1, 1)),
    *[(f"threading-{name}", ThreadingLayer(name, input=[3, 3]), POSITIVE) for name in ("Plus", "Times", "Subtract", "Divide", "Max", "Min", "Power")],
    ("threading-broadcast", ThreadingLayer("x1 * x2 + x3", input=[(2, 3), (3,), (2, 3)]), (-1, 1)),
    ("softmax", SoftmaxLayer(input=4), (-1, 1)),
    ("softmax-level", SoftmaxLayer(0, input=(3, 2)), (-1, 1)),
    ("dropout", DropoutLayer(0.5, input=3), (-1, 1)),
    ("netarray", NetArrayLayer(dims=(2, 2)), (-1, 1)),
    ("cross-entropy-index", CrossEntropyLossLayer("Index", input=3), POSITIVE),
    ("cross-entropy-probabilities", CrossEntropyLossLayer("Probabilities", input=(2, 3)), POSITIVE),
    ("cross-entropy-binary", CrossEntropyLossLayer("Binary", input=3), (0.2, 0.8)),
    ("mean-squared", MeanSquaredLossLayer(input=(2, 2)), (-1, 1)),
    ("mean-absolute", MeanAbsoluteLossLayer(input=3), (-1, 1)),
    ("batch-normalization", BatchNormalizationLayer(input=(2, 3)), (-1, 1)),
    ("normalization", NormalizationLayer(input=(2, 3)), (-1, 1)),
    ("normalization-all", NormalizationLayer(levels=0, input=(2, 3)), (-1, 1)),
    *[(f"aggregation-{name}", AggregationLayer(name, input=(2, 3)), (-1, 1)) for name in ("Max", "Min", "Mean", "Total")],
    ("total", TotalLayer(input=(2, 3)), (-1, 1)),
    ("total-level", TotalLayer(0, input=(2, 3)), (-1, 1)),
    ("summation", SummationLayer(input=(2, 3)), (-1, 1)),
    ("dot", DotLayer(input=[(2, 3), (3,)]), (-1, 1)),
    ("convolution", ConvolutionLayer(2, 2, input=(2, 3, 3)), (-1, 1)),
    ("convolution-strided", ConvolutionLayer(2, 3, stride=2, padding=1, input=(1, 4, 4)), (-1, 1)),
    ("convolution-1d-groups", ConvolutionLayer(4, 2, groups=2, input=(2, 4)), (-1, 1)),
    ("deconvolution", DeconvolutionLayer(2, 2, stride=2, input=(1, 2, 2)), (-1, 1)),
    *[(f"pooling-{name}", PoolingLayer(2, function=name, input=(1, 3, 3)), (-1, 1)) for name in ("Max", "Mean", "Total")],
    ("pooling-padded", PoolingLayer(3, 2, function="Max", padding=1, input=(2, 4)), (-1, 1)),
    ("resize", ResizeLayer((3, 4), input=(1, 2, 2)), (-1, 1)),
    ("padding", PaddingLayer([(0, 0), (1, 2)], padding_value=0.5, input=(2, 2)), (-1, 1)),
    ("padding-reflected", PaddingLayer([(2, 1)], method="Reflected", input=3), (-1, 1)),
    ("image-augmentation", ImageAugmentationLayer((2, 2), brightness=0.5, input=(1, 3, 4)), (-1, 1)),
    ("flatten", FlattenLayer(input=(2, 3)), (-1, 1)),
    ("reshape", ReshapeLayer((3, 2), input=(2, 3)), (-1, 1)),
    ("transpose", TransposeLayer(input=(2, 3)), (-1, 1)),
    ("catenate", CatenateLayer(input=[(2, 2), (1, 2)]), (-1, 1)),
    ("part", PartLayer((slice(0, 2), [2, 0]), input=(3, 3)), (-1, 1)),
    ("replicate", ReplicateLayer(2, input=3), (-1, 1)),
    ("append", AppendLayer(input=(2, 2)), (-1, 1)),
    ("prepend", PrependLayer(input=(2, 2)), (-1, 1)),
]


def _randomized(net, generator: np.random.Generator):
    """Arrays away from their initial values (a batch norm's moving statistics start at 0 and 1)."""
    replacements = []
    for name, value in net.layers["0"].arrays.items():
        shape = tuple(value.shape)
        replacements.append(([0, name], generator.uniform(0.5, 1.5, shape) if name == "MovingVariance" else generator.uniform(-1, 1, shape)))
    return NetReplacePart(net, replacements) if replacements else net


def _data(net, generator: np.random.Generator, low: float, high: float) -> dict[str, np.ndarray]:
    data = {}
    for port in net.input_ports():
        t = net.types[port]
        if t.element == "Integer":
            data[port] = generator.integers(0, t.bound, size=t.dims)
        else:
            data[port] = generator.uniform(low, high, size=t.dims)
    return data


def _rule(net, data: dict[str, np.ndarray]) -> dict[sympy.Symbol, float]:
    symbols = NetFormula(net, "Symbols")
    rule = {}
    for port, value in data.items():
        port_symbols = symbols[port].tolist() if isinstance(symbols[port], sympy.MatrixBase) else symbols[port]
        for symbol, number in zip(np.array(port_symbols, dtype=object).reshape(-1), np.asarray(value).reshape(-1)):
            rule[symbol] = sympy.Integer(int(number)) if np.issubdtype(np.asarray(value).dtype, np.integer) else sympy.Float(float(number))
    return rule


def _numbers(value, rule) -> np.ndarray:
    value = value.xreplace(rule) if rule else value
    if isinstance(value, sympy.MatrixBase | sympy.NDimArray):
        return np.array(value.tolist(), dtype=float)
    return np.array(float(value))


@pytest.mark.parametrize("name, layer, bounds", CASES, ids=[c[0] for c in CASES])
def test_formula_and_gradients_equal_the_net(name, layer, bounds) -> None:
    generator = np.random.default_rng(7)
    net = _randomized(NetInitialize(NetChain([layer]), random_seeding=3), generator)
    data = _data(net, generator, *bounds)
    rule = _rule(net, data)
    expected = net(data if data else None, None, working_precision="Real64")
    expected = expected if isinstance(expected, dict) else {net.output_ports()[0]: expected}
    formulas = NetFormula(net)
    formulas = formulas if isinstance(formulas, dict) else {net.output_ports()[0]: formulas}
    for port, value in expected.items():
        np.testing.assert_allclose(_numbers(formulas[port], rule).reshape(np.shape(value)), value, rtol=1e-9, atol=1e-12)

    requests = [port for port in net.input_ports() if net.types[port].element != "Integer"]
    requests += [[0, array] for array in net.layers["0"].array_names() if array not in net.layers["0"].state_array_names()]
    for request in requests:
        exact = _numbers(NetFormula(net, wrt=request), rule)
        numeric = net(data if data else None, NetPortGradient(request if isinstance(request, list) else [request]), working_precision="Real64")
        np.testing.assert_allclose(exact.reshape(np.shape(numeric)), numeric, rtol=1e-8, atol=1e-10, err_msg=f"{name}: gradient with respect to {request}")


def test_every_rule_is_tested() -> None:
    tested = {type(layer).__name__ for _, layer, _ in CASES}
    assert set(RULES) == tested


def test_symbolic_arrays_and_a_loss_give_exact_gradients() -> None:
    net = NetInitialize(NetChain([LinearLayer(2, input=2, biases=False), "Ramp"]), random_seeding=1)
    loss = NetFormula(net, loss=MeanSquaredLossLayer(), arrays="Symbolic")
    x1, x2, y1, y2, w11, w12, w21, w22 = sympy.symbols("x1 x2 y1 y2 W1_11 W1_12 W1_21 W1_22", real=True)
    by_hand = ((sympy.Max(0, w11 * x1 + w12 * x2) - y1) ** 2 + (sympy.Max(0, w21 * x1 + w22 * x2) - y2) ** 2) / 2
    assert sympy.simplify(loss - by_hand) == 0
    gradient = NetFormula(net, loss=MeanSquaredLossLayer(), wrt=[0, "Weights"], arrays="Symbolic")
    assert gradient.shape == (2, 2)
    assert sympy.simplify(gradient[0, 1] - by_hand.diff(w12)) == 0


def test_net_on_symbols_gives_its_formula() -> None:
    net = NetInitialize(NetChain([LinearLayer(1, input=2), "LogisticSigmoid"]), random_seeding=2)
    a, b = sympy.symbols("a b")
    formula = net([a, b])
    assert formula.free_symbols == {a, b}
    assert float(formula[0].subs({a: 0.3, b: -0.7})) == pytest.approx(float(net([0.3, -0.7], working_precision="Real64")[0]), rel=1e-12)
    assert NetFormula(net, "Symbols", arrays="Symbolic")[("0", "Weights")].shape == (1, 2)


def test_graph_with_shared_input_and_two_outputs() -> None:
    net = NetInitialize(NetGraph({"a": LinearLayer(2), "b": ElementwiseLayer("Tanh"), "times": ThreadingLayer("Times")},
                                 [("a", "b", "times"), ("a", "times")], input=2), random_seeding=0)
    data = np.array([0.4, -0.3])
    rule = _rule(net, {"Input": data})
    np.testing.assert_allclose(_numbers(NetFormula(net), rule).reshape(-1), net(data, working_precision="Real64"), rtol=1e-12)


def test_refusals_name_the_layer() -> None:
    with pytest.raises(NetError, match=r'NetFormula: NetChain/"embed" \(EmbeddingLayer\) has no formula: it looks up rows'):
        NetFormula(NetInitialize(NetChain({"embed": EmbeddingLayer(2, 5), "flat": FlattenLayer()}, input=3)))
    with pytest.raises(NetError, match=r"NetFormula: NetChain/1 \(FunctionLayer\) has no formula: it runs a Python function"):
        NetInitialize(NetChain([LinearLayer(2, input=2), FunctionLayer(torch.tanh)]))([sympy.Symbol("a"), sympy.Symbol("b")])
    with pytest.raises(NetError, match=r'the port "Input" of shape .* is not fully known.*Fix: give the net its input shape'):
        NetFormula(NetChain([LinearLayer(2), "Tanh"]), arrays="Symbolic")
    with pytest.raises(NetError, match=r'the array "Weights" of NetChain/0 \(LinearLayer\) has no values.*arrays="Symbolic"'):
        NetFormula(NetChain([LinearLayer(2, input=2)]))
    with pytest.raises(NetError, match=r'the input "Input" has shape \(2,\) but the values given have shape \(3,\)'):
        NetInitialize(LinearLayer(1, input=2))(sympy.symbols("a b c"))


def test_a_formula_too_large_is_refused_before_it_is_built() -> None:
    net = NetChain([ConvolutionLayer(16, 3, input=(3, 32, 32)), "Ramp", ConvolutionLayer(16, 3), "Ramp", FlattenLayer(), LinearLayer(10), SoftmaxLayer()])
    with pytest.raises(NetError, match=r"NetFormula: the formula of this NetChain would have about [\d,]+ terms, more than max_terms=100,000, so it was not built; "
                                       r"it outgrows the limit at NetChain/0 \(ConvolutionLayer\), whose output alone would have about [\d,]+\..*raise max_terms"):
        NetFormula(net, arrays="Symbolic")
    with pytest.raises(NetError, match=r"more than max_terms=10,"):
        NetFormula(NetChain([LinearLayer(5, input=5)]), arrays="Symbolic", max_terms=10)


def test_bad_options() -> None:
    net = NetInitialize(NetChain([LinearLayer(1, input=2)]))
    with pytest.raises(NetError, match=r'NetFormula: arrays must be one of "Numeric", "Symbolic"; received "Numbers"\.'):
        NetFormula(net, arrays="Numbers")
    with pytest.raises(NetError, match=r'wrt=\[0, \'Weight\'\] names no array.*"Weights", "Biases"'):
        NetFormula(net, wrt=[0, "Weight"])
    with pytest.raises(NetError, match=r"wrt='Output' must be an input port \(Input\)"):
        NetFormula(net, wrt="Output")
    with pytest.raises(NetError, match=r'loss="Loss" is not an output port of the net; its outputs: Output'):
        NetFormula(net, loss="Loss")
    with pytest.raises(NetError, match=r"NetFormula: max_terms must be a positive int or None; received -1\."):
        NetFormula(net, max_terms=-1)
    with pytest.raises(NetError, match=r'the net has no input "Inputt"; its inputs: Input\. Did you mean "Input"\?'):
        NetFormula(net, inputs={"Inputt": [1, 2]})
    with pytest.raises(NetError, match=r'the net has no output "Out"; its outputs: Output\.'):
        NetFormula(net, "Out")
    with pytest.raises(NetError, match=r"loss= must be a loss layer \(such as MeanSquaredLossLayer\(\)\) or the name of the net's loss port, not 3"):
        NetFormula(net, loss=3)


def test_gradient_of_an_attached_loss_with_respect_to_the_input() -> None:
    net = NetInitialize(NetChain([LinearLayer(2, input=2), "Tanh"]), random_seeding=1)
    x, y = np.array([0.3, -0.2]), np.array([0.1, 0.5])
    exact = NetFormula(net, loss=MeanSquaredLossLayer(), wrt="Input").xreplace(dict(zip(sympy.symbols("x1 x2 y1 y2", real=True), [*x, *y])))
    graph = NetGraph({"net": net, "loss": MeanSquaredLossLayer()}, [(NetPort("net", "Output"), NetPort("loss", "Input"))])
    np.testing.assert_allclose(np.array(exact, dtype=float).ravel(), graph({"Input": x, "Target": y}, NetPortGradient("Input"), working_precision="Real64"), rtol=1e-9)
    assert set(NetFormula(net, loss=MeanSquaredLossLayer(), wrt="Arrays")) == {("0", "Weights"), ("0", "Biases")}


def test_symbol_names() -> None:
    from symnet.formula.interpreter import element_symbols

    assert [s.name for s in element_symbols("x", (3,)).ravel()] == ["x1", "x2", "x3"]
    assert [s.name for s in element_symbols("W2", (1, 2)).ravel()] == ["W2_11", "W2_12"]
    assert element_symbols("x", (2, 12)).ravel()[11].name == "x_1,12"
    assert element_symbols("y", ()).item().name == "y"
