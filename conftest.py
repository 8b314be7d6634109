"""Doctest namespace: examples in docstrings see symnet's public names, numpy and torch."""

import os

import numpy as np
import pytest
import torch

import symnet

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: one thread each avoids oversubscription.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace.update({name: getattr(symnet, name) for name in symnet.__all__})
    doctest_namespace["np"] = np
    doctest_namespace["torch"] = torch
    doctest_namespace["symnet"] = symnet
