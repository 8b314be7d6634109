"""Port types: parsing, unification, display."""

import pytest

from symnet import VARYING, Index, ShapeError, TensorType


def test_parse_forms():
    assert TensorType.parse(3).dims == (3,)
    assert TensorType.parse((1, 28, 28)).dims == (1, 28, 28)
    assert TensorType.parse("Real").dims == ()
    assert TensorType.parse("Integer").element == "Integer"
    assert TensorType.parse("Varying").dims == (VARYING,)
    assert TensorType.parse(("Varying", 3)).dims == (VARYING, 3)
    assert TensorType.parse(None).dims is None


def test_parse_errors():
    with pytest.raises(ShapeError, match=r"A port size must be a positive int, not 0"):
        TensorType.parse(0)
    with pytest.raises(ShapeError, match=r"\(3, -1\) is not a valid shape: each dimension must be a positive int, None or \"Varying\""):
        TensorType.parse((3, -1))
    with pytest.raises(ShapeError, match=r"'Vector' is not a port shape"):
        TensorType.parse("Vector")


def test_unify():
    assert TensorType((None, 3)).unify(TensorType((2, None))).dims == (2, 3)
    assert TensorType().unify(TensorType((4,))).dims == (4,)
    assert TensorType((VARYING, 3)).unify(TensorType((5, 3))).dims == (5, 3)
    assert Index(10).unify(TensorType(())).bound == 10
    with pytest.raises(ShapeError, match=r"\(3,\) conflicts with \(4,\)"):
        TensorType((3,)).unify(TensorType((4,)))
    with pytest.raises(ShapeError, match=r"\(3,\) conflicts with \(3, 1\)"):
        TensorType((3,)).unify(TensorType((3, 1)))
    with pytest.raises(ShapeError, match=r"integers below 10 conflict with integers below 5"):
        Index(10).unify(Index(5))


def test_describe_and_size():
    assert TensorType((30,)).describe() == "vector of size 30"
    assert TensorType((1, 28, 28)).describe() == "3-tensor (1, 28, 28)"
    assert TensorType((VARYING,)).describe() == "vector of length n"
    assert TensorType(()).describe() == "real"
    assert Index(10).describe() == "class index < 10"
    assert TensorType((2, 3)).size() == 6 and TensorType((None, 3)).size() is None
    assert str(TensorType((None, 3))) == "(?, 3)"
