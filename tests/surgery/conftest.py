"""Nets shared by the surgery tests: an initialized chain and graph."""

import pytest

from symnet import (
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    SoftmaxLayer,
    ThreadingLayer,
)


@pytest.fixture
def chain():
    return NetInitialize(NetChain({"hidden": LinearLayer(5), "act": "Ramp", "out": LinearLayer(3), "prob": SoftmaxLayer()}, input=2), random_seeding=1)


@pytest.fixture
def graph():
    # Input -> a -> b (Tanh) -> sum;  a -> c (Ramp) -> sum;  sum -> Output
    layers = {"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus")}
    return NetInitialize(NetGraph(layers, [("a", "b", "sum"), ("a", "c", "sum")], input=3), random_seeding=2)
