"""Back propagation by hand, checked against symnet (seed document 003).

The question builds a network of sigmoid neurons without biases (``Network[i, h, o]``,
weights drawn from ``2 RandomReal[] - 1``), computes it (``Compute``) and asks how to write the
back propagation (``Propagate[network, output, learningRate]``). The answer suggests writing
the loss symbolically, ``lossEq = 1/(2 dsize) errEq.errEq\\[Transpose]`` with ``errEq = Y -
Fold[reluDot, …]``, and differentiating it.

Here, on the same kind of nets:

1. ``Compute`` in numpy equals the symnet net;
2. the back propagation written out with the chain rule (numpy) equals symnet's
   ``NetPortGradient`` for every weight matrix and for the input, where the loss
   ``1/2 (target - value)^2`` is itself part of the net, written symbolically with a
   ThreadingLayer and an ElementwiseLayer;
3. ``Propagate`` repeated (gradient descent by hand) gives the same weights as NetTrain with
   plain SGD, and as gradient descent on the exact gradient of the net's ``NetFormula``;
4. the answer's ReLU chain through ``NetFormula``: the net's formula with symbolic weight
   matrices, its loss ``lossEq``, the exact gradient (equal to NetPortGradient), and gradient
   descent on it, which equals NetTrain's plain SGD.

    python examples/seeds/backprop_by_hand.py [--quick]    # about ten seconds of CPU (--quick: fewer steps, a few seconds)
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import sympy
import torch

from symnet import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetExtract,
    NetFormula,
    NetGraph,
    NetPort,
    NetPortGradient,
    NetReplacePart,
    NetTrain,
    ThreadingLayer,
    TotalLayer,
)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# -- the question's network ---------------------------------------------------------------------
def question_network(inputs: int, hidden: int, outputs: int, rng: np.random.Generator) -> tuple[NetChain, list[np.ndarray]]:
    """Network[i, h, o]: sigmoid neurons with weights in [-1, 1) and no biases, as a NetChain and as matrices."""
    # Neuron[i_] := {0}~Join~((2*RandomReal[] - 1) & /@ Range[i])   (a row of weights per neuron)
    w1 = 2 * rng.random((hidden, inputs)) - 1
    w2 = 2 * rng.random((outputs, hidden)) - 1
    net = NetChain(
        [LinearLayer(hidden, biases=False), ElementwiseLayer("LogisticSigmoid"), LinearLayer(outputs, biases=False), ElementwiseLayer("LogisticSigmoid")],
        input=inputs,
    )
    net = NetReplacePart(net, [([0, "Weights"], w1), ([2, "Weights"], w2)])
    return net, [w1, w2]


def compute(weights: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Compute[network, inputs]: the values of every layer (one row per example)."""
    values = [x]
    for w in weights:
        # Compute[neuron_, value_] := LogisticSigmoid[Total[weights * values of the layer before]]
        values.append(sigmoid(values[-1] @ w.T))
    return values


def backpropagate(weights: list[np.ndarray], x: np.ndarray, target: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The gradients of E = Σ 1/2 (target - value)^2 (summed over the examples) by the chain rule."""
    w1, w2 = weights
    _, hidden, out = compute(weights, x)
    # output neurons: dE/dz2 = -(target - value) * value * (1 - value)   (the question's output Propagate)
    delta2 = -(target - out) * out * (1 - out)
    # hidden neurons: dE/dz1 = (Σ_k delta2_k w2_kj) * value * (1 - value)   (the question's hidden Propagate)
    delta1 = (delta2 @ w2) * hidden * (1 - hidden)
    # dE/dw = delta ⊗ the value feeding the weight, summed over the examples; dE/dx goes back through w1
    return [delta1.T @ x, delta2.T @ hidden], delta1 @ w1


def with_loss(net: NetChain, outputs: int) -> NetGraph:
    """The net followed by its loss, written symbolically: Total[(value - target)^2 / 2] per example."""
    # The Target port's size is given: a ThreadingLayer broadcasts, so it cannot infer it from Input1.
    return NetGraph(
        {"net": net, "error": ThreadingLayer("x1 - x2"), "halfsquare": ElementwiseLayer("x**2 / 2"), "total": TotalLayer()},
        [(NetPort("Input"), "net", NetPort("error", "Input1")), (NetPort("Target"), NetPort("error", "Input2")), ("error", "halfsquare", "total", NetPort("Loss"))],
        ports={"Target": outputs},
    )


def sigmoid_net_gradients(rng: np.random.Generator) -> dict[str, Any]:
    """Sections 1 and 2: Compute and the back propagation, by hand and by symnet."""
    net, weights = question_network(3, 4, 2, rng)
    x = rng.normal(size=(5, 3))
    target = rng.random((5, 2))

    by_hand_out = compute(weights, x)[-1]
    by_net_out = net(x, working_precision="Real64")
    print(f"Compute by hand vs net(x): largest difference {np.abs(by_hand_out - by_net_out).max():.2e}")

    training_net = with_loss(net, 2)
    print(training_net)
    data = {"Input": x, "Target": target}
    hand_weights, hand_input = backpropagate(weights, x, target)
    symnet_weights = [training_net(data, NetPortGradient(["net", index, "Weights"]), working_precision="Real64") for index in (0, 2)]
    symnet_input = training_net(data, NetPortGradient("Input"), working_precision="Real64")
    for name, hand, ours in [("w1", hand_weights[0], symnet_weights[0]), ("w2", hand_weights[1], symnet_weights[1]), ("input", hand_input, symnet_input)]:
        print(f"dE/d{name:<5} by hand vs NetPortGradient: largest difference {np.abs(hand - ours).max():.2e}")
    print("dE/dw2 (by hand):\n", np.round(hand_weights[1], 6))
    return {"forward": (by_hand_out, by_net_out), "weight_gradients": (hand_weights, symnet_weights), "input_gradient": (hand_input, symnet_input)}


def propagate_loop(rng: np.random.Generator, steps: int, learning_rate: float = 2.0) -> dict[str, Any]:
    """Section 3: Propagate[network, output, learningRate] repeated, against NetTrain with plain SGD."""
    net, weights = question_network(3, 4, 1, rng)
    # XOR, with a constant third input standing in for the biases the question's neurons lack
    x = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
    target = np.array([[0], [1], [1], [0]], dtype=np.float64)

    def loss(ws: list[np.ndarray]) -> float:
        return float(np.mean(np.sum((target - compute(ws, x)[-1]) ** 2 / 2, axis=1)))

    start_loss = loss(weights)
    start = weights
    for _ in range(steps):
        gradients, _ = backpropagate(weights, x, target)
        # w ← w - learningRate * dE/dw, with E the mean over the examples (NetTrain's batch loss)
        weights = [w - learning_rate * g / len(x) for w, g in zip(weights, gradients)]

    # The same descent without writing Propagate: the network as a formula, differentiated exactly
    training_net = with_loss(net, 1)
    print(f"Compute as a formula, NetFormula(net, arrays=\"Symbolic\") = {NetFormula(net, arrays='Symbolic')[0]}")
    exact = [NetFormula(training_net, loss="Loss", wrt=["net", index, "Weights"], arrays="Symbolic") for index in (0, 2)]
    symbols = NetFormula(training_net, "Symbols", arrays="Symbolic")
    arguments = [*symbols["Input"], *symbols["Target"], *(s for key in ("0", "2") for s in symbols[("net", key, "Weights")])]
    # lambdify turns the exact derivatives into numpy functions (exp only: sigmoids have no branches)
    derivative = sympy.lambdify(arguments, [g for matrix in exact for g in matrix], "numpy")
    by_formula = start
    for _ in range(steps):
        values = derivative(*x.T, *target.T, *(v for w in by_formula for v in w.ravel()))
        flat = np.array([np.mean(np.broadcast_to(v, len(x))) for v in values])
        by_formula = [w - learning_rate * part.reshape(w.shape) for w, part in zip(by_formula, np.split(flat, [by_formula[0].size]))]
    formula_difference = max(float(np.abs(a - b).max()) for a, b in zip(weights, by_formula))
    print(f"{steps} steps of gradient descent on NetFormula's exact gradient = Propagate by hand: largest difference {formula_difference:.2e}")

    trained = NetTrain(
        with_loss(net, 1), {"Input": x, "Target": target}, loss_function="Loss",
        method=("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"}), learning_rate=learning_rate,
        batch_size=len(x), max_training_rounds=steps, working_precision="Real64", training_progress_reporting=None,
    )
    symnet_weights = [NetExtract(trained, ["net", index, "Weights"]) for index in (0, 2)]
    difference = max(float(np.abs(a - b).max()) for a, b in zip(weights, symnet_weights))
    print(f"{steps} steps of Propagate by hand: loss {start_loss:.4f} -> {loss(weights):.4f}; "
          f"NetTrain (SGD, learning rate {learning_rate}) gives the same weights: largest difference {difference:.2e}")
    return {"propagate_weights": (weights, symnet_weights), "propagate_losses": (start_loss, loss(weights)), "formula_weights": (weights, by_formula)}


# -- the answer: a ReLU chain and its loss written symbolically, by NetFormula -------------------
def relu_chain_answer(rng: np.random.Generator, steps: int, learning_rate: float = 0.5) -> dict[str, Any]:
    """Section 4: lossEq = 1/(2 dsize) errEq.errEq^T, errEq = Y - Fold[reluDot, X, vars], read off the net itself."""
    dsize, inputs, hidden, outputs = 5, 3, 3, 2
    # positive data and weights: most ReLUs start switched on, so gradient descent has something to do
    x = rng.random((dsize, inputs))
    y = rng.random((dsize, outputs))
    matrices = [rng.random((hidden, inputs)), rng.random((outputs, hidden))]  # the LinearLayer weights (rows: neurons)
    net = NetChain([LinearLayer(hidden, biases=False), "Ramp", LinearLayer(outputs, biases=False), "Ramp"], input=inputs)
    net = NetReplacePart(net, [([0, "Weights"], matrices[0]), ([2, "Weights"], matrices[1])])
    training_net = with_loss(net, outputs)

    # vars = (* list of symbolic matrices *): the net's formula with its weights as symbols W1_ij, W2_ij
    formula = NetFormula(net, arrays="Symbolic")
    print("NetFormula(net, arrays=\"Symbolic\") =")
    for k, output in enumerate(formula, 1):
        print(f"  output {k}: {output}")
    # the loss of one example, 1/2 |y - net(x)|^2, is the training net's "Loss" port
    loss = NetFormula(training_net, loss="Loss", arrays="Symbolic")
    print(f"its loss, NetFormula(training_net, loss=\"Loss\", arrays=\"Symbolic\") = {loss}")
    # the exact gradient, one derivative per weight (symbolic in the inputs, targets and weights)
    gradients = [NetFormula(training_net, loss="Loss", wrt=["net", index, "Weights"], arrays="Symbolic") for index in (0, 2)]
    print(f"d loss / d W2_11 = {gradients[1][0, 0]}")

    symbols = NetFormula(training_net, "Symbols", arrays="Symbolic")
    variables = [list(symbols[("net", key, "Weights")]) for key in ("0", "2")]
    data_symbols = [*symbols["Input"], *symbols["Target"]]
    flat_variables = [s for matrix in variables for s in matrix]
    # lossEq over the data set is the mean over the examples: put each example's numbers in (Mathematica's /.)
    examples = [dict(zip(data_symbols, row)) for row in np.concatenate([x, y], axis=1).tolist()]
    loss_eq_terms = [loss.xreplace(example) for example in examples]
    gradient_terms = [[g.xreplace(example) for matrix in gradients for g in matrix] for example in examples]

    def at(ms: list[np.ndarray]) -> dict[sympy.Symbol, float]:
        return dict(zip(flat_variables, np.concatenate([m.ravel() for m in ms]).tolist()))

    def loss_eq(ms: list[np.ndarray]) -> float:
        rule = at(ms)
        return float(np.mean([float(term.xreplace(rule)) for term in loss_eq_terms]))

    def symbolic_gradients(ms: list[np.ndarray]) -> list[np.ndarray]:
        rule = at(ms)
        flat = np.mean([[float(g.xreplace(rule)) for g in terms] for terms in gradient_terms], axis=0)
        return [part.reshape(m.shape) for part, m in zip(np.split(flat, np.cumsum([m.size for m in ms])[:-1]), ms)]

    data = {"Input": x, "Target": y}
    # NetPortGradient differentiates the sum over the examples; lossEq is their mean
    ours = [training_net(data, NetPortGradient(["net", index, "Weights"]), working_precision="Real64") / dsize for index in (0, 2)]
    theirs = symbolic_gradients(matrices)
    difference = max(float(np.abs(a - b).max()) for a, b in zip(theirs, ours))
    print(f"lossEq has {len(flat_variables)} symbolic weights; D[lossEq, w] (NetFormula) vs NetPortGradient / dsize: largest difference {difference:.2e}")

    start_loss = loss_eq(matrices)
    for _ in range(steps):
        matrices = [m - learning_rate * g for m, g in zip(matrices, symbolic_gradients(matrices))]
    end_loss = loss_eq(matrices)
    trained = NetTrain(
        training_net, data, loss_function="Loss", method=("SGD", {"momentum": 0.0, "learning_rate_schedule": "Constant"}), learning_rate=learning_rate,
        batch_size=dsize, max_training_rounds=steps, working_precision="Real64", training_progress_reporting=None,
    )
    trained_matrices = [NetExtract(trained, ["net", index, "Weights"]) for index in (0, 2)]
    trained_difference = max(float(np.abs(a - b).max()) for a, b in zip(matrices, trained_matrices))
    print(f"{steps} steps of gradient descent on lossEq: {start_loss:.4f} -> {end_loss:.4f}; NetTrain gives the same weights: largest difference {trained_difference:.2e}")
    return {
        "formula": formula, "loss_formula": loss, "gradient_formulas": gradients,
        "symbolic_gradients": (theirs, ours), "symbolic_descent": (matrices, trained_matrices), "symbolic_losses": (start_loss, end_loss),
    }


def main(quick: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(2017)
    results: dict[str, Any] = {}
    print("== The question's sigmoid network: Compute and back propagation ==")
    results.update(sigmoid_net_gradients(rng))
    print("\n== Propagate as a training loop ==")
    results.update(propagate_loop(rng, steps=50 if quick else 500))
    print("\n== The answer: a ReLU chain and its loss written symbolically ==")
    results.update(relu_chain_answer(rng, steps=5 if quick else 30))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer gradient-descent steps (for tests)")
    quick = parser.parse_args().quick
    if quick:
        # tiny nets: one thread is faster than two that wait for each other on a busy machine
        torch.set_num_threads(1)
    main(quick=quick)
