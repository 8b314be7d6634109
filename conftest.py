"""Doctest namespace: examples in docstrings see symnet's public names, numpy and torch."""

import numpy as np
import pytest
import torch

import symnet


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace.update({name: getattr(symnet, name) for name in symnet.__all__})
    doctest_namespace["np"] = np
    doctest_namespace["torch"] = torch
    doctest_namespace["symnet"] = symnet
