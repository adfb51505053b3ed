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


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.int32, bool])
def test_integer_and_boolean_inputs_are_computed_as_floats(backend, dtype) -> None:
    """5 x⁴ of int64 [100000, 2] gave 1.9e18 (wrapped around) and uint8 [10, 2] gave
    80 for 50000: NumPy kept the inputs' type; evaluate computed floats."""
    d = gradient(sp.MatMul(sp.OneMatrix(1, n), sp.HadamardPower(x, 5)), x)
    fn = lambdify(d, backend=backend)
    entries = [100000, 2] if dtype is np.int64 else [10, 2] if dtype is not bool else [1, 0]
    given = np.array(entries).astype(dtype)
    want = 5.0 * given.astype(float) ** 4
    got = fn(x=given)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.ravel(), want, rtol=1e-15)
    np.testing.assert_allclose(got, evaluate(d.result, {x: given, n: 2}), rtol=1e-15)
    # a matrix input, given as integer lists
    fn2 = lambdify(gradient(x.T * sp.MatrixSymbol("S", n, n) * x, x), backend=backend)
    np.testing.assert_allclose(fn2(S=[[3, 0], [0, 3]], x=[1, 2]).ravel(), [6.0, 12.0])


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("bad", ["abc", None, {}, [["a", "b"]]])
def test_a_value_that_is_no_number_is_named(backend, bad) -> None:
    """f(A="abc", x=...) blamed x's shape (n read from A's), f(A=None, ...) raised
    NumPy's TypeError."""
    fn = lambdify(LSQ, backend=backend)
    with pytest.raises(InputShapeError, match=r"the value given for A \(dtype .*\) is not a"):
        fn(A=bad, b=np.ones(2), x=np.ones(2))


def test_np_matrix_and_sparse_inputs_compute_as_arrays() -> None:
    """np.matrix passed every check, and then * and ** were matrix products: the
    generated code's numbers were wrong (relative error 1.2-1.8); a sparse matrix
    too.  evaluate was right; the generated code now makes them arrays."""
    import scipy.sparse as sparse

    W, v = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("v", n, 1)
    h = (W * v).applyfunc(sp.tanh)
    d = gradient(h.T * h, W)
    fn = lambdify(d)
    rng = np.random.default_rng(1)
    w, vv = rng.normal(size=(3, 3)), rng.normal(size=(3, 1))
    want = evaluate(d, {W: w, v: vv})
    for given in (np.asmatrix(w), sparse.csr_matrix(w), sparse.csr_matrix(w).todense()):
        got = fn(W=given, v=np.asmatrix(vv))
        assert type(got) is np.ndarray
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_list_for_an_input_only_its_shape_is_read_from() -> None:
    """lambdify(jacobian(z, z))(z=[1., 2., 3.]) raised AttributeError: 'list' object has
    no attribute 'shape' (z gives only n, and was not made an array)."""
    import sympy as sp

    from matderiv import jacobian, lambdify

    k = sp.Symbol("k", integer=True, positive=True)
    z = sp.MatrixSymbol("z", k, 1)
    fn = lambdify(jacobian(z, z))
    assert np.array_equal(fn(z=[1.0, 2.0, 3.0]), np.eye(3))
    assert np.array_equal(fn(k=2), np.eye(2))


def test_a_float_integer_matrix_power_is_the_matrix_power() -> None:
    """S**2.0 (as NumPy code writes a square) had no rule ("non-integer exponent"), and
    the generated code computed it entrywise: S∘S, a wrong number."""
    from matderiv import derive
    from matderiv.testing import check_derivation

    k = sp.Symbol("k", integer=True, positive=True)
    S = sp.MatrixSymbol("S", k, k)
    A = np.arange(9.0).reshape(3, 3)
    assert np.allclose(lambdify(sp.MatPow(S, 2.0))(S=A), A @ A)
    assert np.allclose(evaluate(sp.MatPow(S, 2.0), {S: A}), A @ A)
    for layout in ("numerator", "denominator"):
        d = derive(sp.Trace(sp.MatPow(S, 3.0)), S, layout)
        for dims in ({k: 2}, {k: 4}):
            check_derivation(d, dims)
