"""lambdify: what inputs the generated function accepts, and what it says when one
is wrong: the input, the shape expected, and where the sizes in it were read from."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import InputShapeError, evaluate, gradient, lambdify

m, n = sp.symbols("m n", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
x = sp.MatrixSymbol("x", n, 1)
b = sp.MatrixSymbol("b", m, 1)
r = sp.MatrixSymbol("r", 1, m)
LSQ = gradient((A * x - b).T * (A * x - b), x)


def backends():
    out = ["numpy"]
    try:
        import numba  # noqa: F401

        out.append("numba")
    except ImportError:
        pass
    return out


@pytest.fixture(params=backends())
def lsq(request):
    return lambdify(LSQ, backend=request.param)


def values(rows: int, cols: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "A": rng.normal(size=(rows, cols)),
        "x": rng.normal(size=cols),
        "b": rng.normal(size=rows),
    }


@pytest.mark.parametrize("sizes", [(2, 3), (3, 2), (4, 5), (1, 3), (3, 1), (1, 1)])
def test_right_inputs_agree_with_evaluate(lsq, sizes) -> None:
    v = values(*sizes)
    want = evaluate(LSQ, {A: v["A"], x: v["x"].reshape(-1, 1), b: v["b"].reshape(-1, 1)})
    np.testing.assert_allclose(lsq(**v), want, rtol=1e-12)
    # lists of lists, and lists for the vectors, are the same arrays
    as_lists = {"A": v["A"].tolist(), "x": v["x"].tolist(), "b": v["b"].tolist()}
    np.testing.assert_allclose(lsq(**as_lists), want, rtol=1e-12)


def test_the_message_says_where_the_sizes_came_from(lsq) -> None:
    v = values(3, 2)
    # A transposed: the sizes read from it make b look wrong; the message says so
    with pytest.raises(InputShapeError) as caught:
        lsq(A=v["A"].T, x=v["x"], b=v["b"])
    assert str(caught.value) == (
        "f: b has shape (3, 1); expected (m, 1) = (2, 1); "
        "m = 2 and n = 3 were read from A's shape (2, 3)"
    )


def test_a_one_dimensional_matrix_is_refused(lsq) -> None:
    with pytest.raises(
        InputShapeError,
        match=r"A is a matrix \(m x n\): give it as a 2-D array, not one of shape \(6,\)",
    ):
        lsq(A=np.ones(6), x=np.ones(6), b=np.ones(1))


@pytest.mark.parametrize("name", ["A", "x", "b"])
def test_more_than_two_dimensions_are_refused(lsq, name) -> None:
    v = values(3, 2)
    v[name] = v[name].reshape(1, *np.shape(v[name]), 1)
    with pytest.raises(InputShapeError, match=rf"{name} is a .*not one of shape \(1, "):
        lsq(**v)


def test_a_number_is_a_one_by_one_matrix(lsq) -> None:
    got = lsq(A=2.0, x=[3.0], b=[1.0])
    np.testing.assert_allclose(got, [[2 * 2.0 * (2.0 * 3.0 - 1.0)]])


def test_a_row_vector_may_be_one_dimensional() -> None:
    fn = lambdify(gradient(r * A * x * r * A * x, r))  # 2 (r A x) (A x)ᵀ
    got = fn(r=[1.0, 2.0], A=[[1.0], [2.0]], x=[3.0])
    np.testing.assert_allclose(got, [[90.0, 180.0]])
    with pytest.raises(InputShapeError, match=r"r is a row \(1 x m\)"):
        fn(r=np.ones((1, 2, 1)), A=[[1.0], [2.0]], x=[3.0])
