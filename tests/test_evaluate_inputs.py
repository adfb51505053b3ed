"""evaluate / lambdify inputs: sizes read from every input of the differentiated
problem, values checked, functions NumPy lacks named, bad arguments refused."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import sympy as sp

from matderiv import (
    EvaluationError,
    InputShapeError,
    MatDerivError,
    ShapeMismatch,
    UnsupportedNode,
    commutation,
    derive,
    evaluate,
    gradient,
    lambdify,
    vec,
)

m, n = sp.symbols("m n", integer=True, positive=True)
S = sp.MatrixSymbol("S", n, n)
X = sp.MatrixSymbol("X", m, n)
Q = sp.MatrixSymbol("Q", m, m)
A = sp.MatrixSymbol("A", m, m)
x = sp.MatrixSymbol("x", m, 1)
rng = np.random.default_rng(0)


def _numeric_jacobian(f, X0: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d vec f / d vec(X)ᵀ by central differences (column-major vec)."""
    cols = []
    for k in range(X0.size):
        dx = np.zeros(X0.size)
        dx[k] = eps
        step = dx.reshape(X0.shape, order="F")
        diff = f(X0 + step) - f(X0 - step)
        cols.append(diff.reshape(-1, order="F") / (2 * eps))
    return np.array(cols).T


# -- sizes from inputs the result does not use ------------------------------------


def test_evaluate_reads_a_size_from_the_variable_the_result_does_not_use() -> None:
    d = gradient(sp.Trace(S), S)  # I_n
    np.testing.assert_array_equal(evaluate(d, {S: rng.standard_normal((3, 3))}), np.eye(3))
    np.testing.assert_array_equal(evaluate(d, {"S": np.eye(2)}), np.eye(2))


def test_evaluate_kronecker_jacobian_reads_n_from_x() -> None:
    d = derive(sp.KroneckerProduct(X, Q), X)  # the result uses Q and n, not X
    x0, q = rng.standard_normal((3, 4)), rng.standard_normal((3, 3))
    got = evaluate(d, {X: x0, Q: q})
    want = _numeric_jacobian(lambda v: np.kron(v, q), x0)
    assert got.shape == (3 * 4 * 3 * 3, 12)
    np.testing.assert_allclose(got, want, atol=1e-8)


def test_evaluate_checks_unused_inputs_against_the_others() -> None:
    d = derive(sp.Trace(A * sp.MatrixSymbol("R", m, m)), A)  # Rᵀ: A is not used
    R = sp.MatrixSymbol("R", m, m)
    message = r"R has shape \(m x m\).*\(3, 3\): m is 4 \(m read from A's array"
    with pytest.raises(EvaluationError, match=message):
        evaluate(d, {A: np.eye(4), R: np.eye(3)})


def test_evaluate_a_zero_derivative_reads_sizes_from_the_variable() -> None:
    d = derive(A * x, X)  # X does not occur: the Jacobian is a zero (3 x 12) matrix
    got = evaluate(d, {A: np.eye(3), x: np.ones(3), X: np.ones((3, 4))})
    np.testing.assert_array_equal(got, np.zeros((3, 12)))


def test_lambdify_reads_a_size_from_an_unused_input_or_takes_it() -> None:
    fn = lambdify(gradient(sp.Trace(S), S))
    params = inspect.signature(fn).parameters
    assert list(params) == ["S", "n"] and all(p.default is None for p in params.values())
    np.testing.assert_array_equal(fn(S=np.ones((3, 3))), np.eye(3))
    np.testing.assert_array_equal(fn(n=2), np.eye(2))
    with pytest.raises(TypeError, match=r"f\(\) needs S, or n \(the number of rows of S\)"):
        fn()


def test_lambdify_kronecker_jacobian_agrees_with_finite_differences() -> None:
    d = derive(sp.KroneckerProduct(X, Q), X)
    fn = lambdify(d)
    x0, q = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    want = _numeric_jacobian(lambda v: np.kron(v, q), x0)
    np.testing.assert_allclose(fn(X=x0, Q=q), want, atol=1e-8)


# -- shapes of the arguments of a generated function --------------------------------


def test_lambdify_names_a_wrongly_shaped_argument() -> None:
    fn = lambdify(derive(x.T * A * x, x))
    np.testing.assert_allclose(fn(A=np.eye(3), x=np.ones(3)), [[2.0, 2.0, 2.0]])
    with pytest.raises(
        InputShapeError, match=r"x has shape \(4, 1\); expected \(m, 1\) = \(3, 1\)"
    ):
        fn(A=np.eye(3), x=np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"A has shape \(3, 2\); expected \(m, m\)"):
        fn(A=np.ones((3, 2)), x=np.ones(3))
    assert issubclass(InputShapeError, MatDerivError)


def test_lambdify_checks_concrete_shapes() -> None:
    B = sp.MatrixSymbol("B", 3, 4)
    fn = lambdify(B * X.T)
    with pytest.raises(InputShapeError, match=r"B has shape \(3, 3\); expected \(3, 4\)"):
        fn(B=np.eye(3), X=np.ones((2, 4)))


def test_pasted_source_raises_a_plain_value_error() -> None:
    namespace: dict = {}
    exec(compile(derive(x.T * A * x, x).to_code(), "<pasted>", "exec"), namespace)
    with pytest.raises(ValueError, match="x has shape") as info:
        namespace["f"](A=np.eye(3), x=np.ones((4, 1)))
    assert type(info.value) is ValueError


# -- scalar functions NumPy has or lacks ---------------------------------------------


def test_polygamma_is_evaluated_with_scipy() -> None:
    """It was "NumPy has no implementation of polygamma"; SciPy has (a dependency)."""
    import scipy.special

    Y = sp.MatrixSymbol("Y", 2, 3)
    d = gradient(sp.Trace(sp.OneMatrix(3, 2) * Y.applyfunc(sp.loggamma)), Y)
    expected = np.full((2, 3), scipy.special.digamma(1.5))
    assert np.allclose(evaluate(d, {Y: np.full((2, 3), 1.5)}), expected)
    assert np.allclose(lambdify(d)(Y=np.full((2, 3), 1.5)), expected)


def test_any_function_numpy_lacks_is_named() -> None:
    t = sp.Symbol("t")
    Y = sp.MatrixSymbol("Y", 2, 2)
    expr = Y.applyfunc(sp.Lambda(t, t * sp.besselj(0, t)))
    with pytest.raises(EvaluationError, match="besselj"):
        evaluate(expr, {Y: np.ones((2, 2))})
    with pytest.raises(UnsupportedNode, match="besselj"):
        lambdify(expr)
    with pytest.raises(EvaluationError, match="besselj"):
        evaluate(sp.besselj(0, sp.Trace(Y)), {Y: np.ones((2, 2))})


def test_scalar_only_functions_are_applied_entry_by_entry() -> None:
    Y = sp.MatrixSymbol("Y", 2, 3)
    y = rng.uniform(0.5, 3.0, (2, 3))
    want = np.vectorize(math.lgamma)(y)
    np.testing.assert_allclose(evaluate(Y.applyfunc(sp.loggamma), {Y: y}), want, rtol=1e-12)
    np.testing.assert_allclose(lambdify(Y.applyfunc(sp.loggamma))(Y=y), want, rtol=1e-12)
    scalar = sp.loggamma(sp.Trace(S))
    assert lambdify(scalar)(S=np.eye(3)) == pytest.approx(math.lgamma(3.0))
    assert evaluate(scalar, {S: np.eye(3)}) == pytest.approx(math.lgamma(3.0))


# -- values that are not values -------------------------------------------------------


def test_evaluate_refuses_values_that_are_not_a_mapping() -> None:
    d = derive(x.T * A * x, x)
    with pytest.raises(EvaluationError, match=r"takes a mapping .* got NoneType"):
        evaluate(d, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", None, [["a", "b"]], {"k": 1}], ids=repr)
def test_evaluate_names_the_symbol_of_a_value_that_is_not_numeric(bad) -> None:
    d = derive(x.T * A * x, x)
    with pytest.raises(EvaluationError, match="the value given for A is"):
        evaluate(d, {A: bad, x: np.ones(3)})


def test_evaluate_accepts_sympy_numbers_and_refuses_an_array_for_a_scalar() -> None:
    t = sp.Symbol("t")
    expr = t * sp.Trace(S)
    assert evaluate(expr, {t: sp.Rational(1, 2), S: np.eye(4)}) == pytest.approx(2.0)
    assert evaluate(expr, {t: 2, S: sp.Matrix([[1, 0], [0, 3]])}) == pytest.approx(8.0)
    with pytest.raises(EvaluationError, match=r"t is a scalar; got an array of shape \(3,\)"):
        evaluate(expr, {t: np.ones(3), S: np.eye(3)})


def test_evaluate_refuses_what_is_not_an_expression() -> None:
    with pytest.raises(MatDerivError, match="evaluate takes a Derivation or a SymPy expression"):
        evaluate("S", {S: np.eye(2)})


def test_evaluate_names_a_singular_inverse() -> None:
    with pytest.raises(EvaluationError, match="cannot evaluate S⁻¹: Singular matrix"):
        evaluate(sp.Inverse(S), {S: np.ones((3, 3))})


# -- vec and commutation arguments ----------------------------------------------------


@pytest.mark.parametrize("args", [("a", X), (X, 2), (0, 2), (2.5, 3), (None, 1)], ids=repr)
def test_commutation_refuses_what_is_not_a_size(args) -> None:
    with pytest.raises(ShapeMismatch, match=r"commutation.*not a positive integer"):
        commutation(*args)


def test_commutation_takes_integers_and_size_expressions() -> None:
    assert commutation(np.int64(2), 3).shape == (6, 6)
    assert commutation(m, 2 * n).shape == (2 * m * n, 2 * m * n)


@pytest.mark.parametrize("bad", [[1, 2], None, "X"], ids=repr)
def test_vec_refuses_what_is_not_a_matrix_expression(bad) -> None:
    with pytest.raises(ShapeMismatch, match="vec expects a matrix expression"):
        vec(bad)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_generated_functions_take_lists_and_name_a_flat_matrix(backend) -> None:
    """Nested lists are arrays; a 1-D array given for a matrix is an error naming it
    (it failed inside NumPy with an IndexError or AttributeError)."""
    if backend == "numba":
        pytest.importorskip("numba")
    fn = lambdify(gradient(x.T * A * x, x), backend=backend)
    got = fn(A=[[1.0, 2.0], [3.0, 4.0]], x=[1.0, 1.0])
    np.testing.assert_allclose(np.ravel(got), [7.0, 13.0])
    with pytest.raises(InputShapeError, match=r"A is a matrix \(m x m\): give it as a 2-D"):
        fn(A=np.ones(2), x=[1.0, 1.0])


def test_traces_and_determinants_of_complex_values_keep_their_imaginary_part() -> None:
    """evaluate takes complex arrays; tr and det returned float(), which dropped the
    imaginary part with only a ComplexWarning (a second-order hunt printed it)."""
    import warnings

    X = sp.MatrixSymbol("X", 2, 2)
    value = np.array([[1 + 2j, 0.5], [0.25j, 3 + 1j]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate(sp.Trace(X), {X: value}) == np.trace(value)
        assert np.isclose(evaluate(sp.Determinant(X), {X: value}), np.linalg.det(value))
        assert isinstance(evaluate(sp.Trace(X), {X: np.eye(2)}), float)


def test_a_concrete_size_is_not_explained_by_itself() -> None:
    """The message ended '...but its array has shape (4, 1): 3 is 3'."""
    x3 = sp.MatrixSymbol("x3", 3, 1)
    with pytest.raises(EvaluationError) as info:
        evaluate(x3.T * x3, {x3: np.ones((4, 1))})
    message = str(info.value)
    assert "x3 has shape (3 x 1), but its array has shape (4, 1)" in message
    assert "3 is 3" not in message


def test_a_row_vector_may_be_given_as_a_1d_array() -> None:
    """lambdify's functions took a 1-D array for a 1 x n row; evaluate refused it."""
    import sympy as sp

    from matderiv import evaluate, gradient, lambdify

    k = sp.Symbol("k", integer=True, positive=True)
    r, v = sp.MatrixSymbol("r", 1, k), sp.MatrixSymbol("v", k, 1)
    d = gradient((r * v) ** 2, v)
    values = {r: np.arange(1.0, 4.0), v: np.ones(3)}
    want = 2 * 6.0 * np.arange(1.0, 4.0).reshape(3, 1)
    np.testing.assert_allclose(evaluate(d, values), want)
    np.testing.assert_allclose(lambdify(d)(r=np.arange(1.0, 4.0), v=np.ones(3)), want)


@pytest.mark.parametrize("key", ["symbol", "name"])
def test_a_value_for_a_symbol_the_program_defines_is_refused(key) -> None:
    W, u = sp.MatrixSymbol("W", 3, 3), sp.MatrixSymbol("u", 3, 1)
    h, c = sp.MatrixSymbol("h", 3, 1), sp.MatrixSymbol("c", 3, 1)
    d = gradient(c.T * h, W, where={h: (W * u).applyfunc(sp.tanh)})
    values = {W: rng.standard_normal((3, 3)), u: rng.standard_normal((3, 1))}
    values[c] = rng.standard_normal((3, 1))
    given = {**values, (h if key == "symbol" else "h"): np.ones((3, 1))}
    with pytest.raises(EvaluationError, match=r"given for h, which the program defines"):
        evaluate(d, given)
    delta = values[c] * (1 - np.tanh(values[W] @ values[u]) ** 2)  # the gradient without h
    assert np.allclose(evaluate(d, values), delta @ values[u].T)


def test_an_entrywise_body_with_a_scalar_symbol_evaluates() -> None:
    """x.applyfunc(t ↦ tanh(s t)) is derived (by x), and lambdify computed it, but
    evaluate failed with NumPy's TypeError (s left symbolic in the body)."""
    k = sp.Symbol("k", integer=True, positive=True)
    x, s, t = sp.MatrixSymbol("x", k, 1), sp.Symbol("s"), sp.Symbol("t")
    d = gradient(sp.OneMatrix(1, k) * x.applyfunc(sp.Lambda(t, sp.tanh(s * t))), x)
    values = {x: np.full((3, 1), 0.3), s: 2.0}
    expected = np.full((3, 1), 2 * (1 - np.tanh(0.6) ** 2))
    assert np.allclose(evaluate(d, values), expected)
    assert np.allclose(lambdify(d)(x=values[x], s=2.0), expected)


def test_log_det_of_a_complex_matrix_keeps_its_phase() -> None:
    """The slogdet path returned log|det M| for a complex M whose det has a positive
    real part (the imaginary part, the phase, dropped)."""
    X = sp.MatrixSymbol("X", 3, 3)
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)
    assert np.isclose(evaluate(sp.log(sp.Determinant(X)), {X: M}), np.log(np.linalg.det(M)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_generated_scalar_result_of_complex_values_keeps_its_imaginary_part(backend) -> None:
    """lambdify's functions returned float() of a scalar result, which dropped the
    imaginary part of a complex one with only a ComplexWarning (evaluate kept it)."""
    import warnings

    if backend == "numba":
        pytest.importorskip("numba")
    s, x = sp.Symbol("s"), sp.MatrixSymbol("x", 3, 1)
    d = derive(sp.exp(s) * (x.T * x), s)
    fn = lambdify(d, backend=backend)
    xv = np.array([1.0, 2.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = fn(s=1 + 1j, x=xv)
        real = fn(s=0.5, x=xv)
    assert np.isclose(got, np.exp(1 + 1j) * (xv @ xv))
    assert np.isclose(got, evaluate(d, {s: 1 + 1j, x: xv.reshape(3, 1)}))
    assert isinstance(real, float) and np.isclose(real, np.exp(0.5) * (xv @ xv))


_KINKED = [
    ("relu", sp.OneMatrix(1, m) * (A * x).applyfunc(lambda t: sp.Max(t, 0)), "step(A x)"),
    ("abs", sp.OneMatrix(1, m) * (A * x).applyfunc(sp.Abs), "sign(A x)"),
    ("max", sp.Max(sp.Trace(A), 1), "step(tr(A) - 1)"),
]


@pytest.mark.parametrize(("name", "f", "node"), _KINKED, ids=[k[0] for k in _KINKED])
@pytest.mark.parametrize("backend", ["evaluate", "numpy", "numba"])
def test_complex_values_of_a_kinked_function_are_refused_by_name(name, f, node, backend) -> None:
    """|z|, sign, step, relu, max of complex values have no holomorphic extension: the
    gradient of Σ|A x| came back as Aᵀ (A x)/|A x| (NumPy's complex sign), of Σ relu(A x)
    as NumPy's bare TypeError from heaviside; both are refused, naming the node and the
    complex input.  Real values still compute."""
    wrt = A if name == "max" else x
    d = gradient(f, wrt)
    complex_a = {A: np.eye(3) * (1 + 1j) + 0.1, x: np.ones((3, 1))}
    real = {A: np.eye(3) + 0.1, x: np.ones((3, 1))}
    if backend == "evaluate":
        with pytest.raises(EvaluationError, match=r"no complex extension.*real values for A"):
            evaluate(d, complex_a)
        with pytest.raises(EvaluationError, match="no complex extension"):
            evaluate(f, complex_a)  # the function itself too: NumPy's |z| is the modulus
        assert np.all(np.isfinite(evaluate(d, real)))
        return
    g = lambdify(d, backend=backend)
    kwargs = (
        {"A": complex_a[A], "x": complex_a[x]}
        if "x" in inspect.signature(g).parameters
        else {"A": complex_a[A]}
    )
    with pytest.raises(ValueError, match=r"no complex extension.*real values for A") as info:
        g(**kwargs)
    assert node.split("(")[0] in str(info.value)
    real_kwargs = {k: real[A] if k == "A" else real[x] for k in kwargs}
    np.testing.assert_allclose(
        np.asarray(g(**real_kwargs), dtype=float), np.asarray(evaluate(d, real), dtype=float)
    )


def test_a_smooth_function_of_complex_values_still_computes() -> None:
    """Only kinked functions are refused: tanh has a complex extension."""
    d = gradient(sp.OneMatrix(1, m) * (A * x).applyfunc(sp.tanh), x)
    values = {A: np.eye(3) * (1 + 1j), x: np.ones((3, 1))}
    got = lambdify(d)(A=values[A], x=values[x])
    np.testing.assert_allclose(got, evaluate(d, values))
    assert np.iscomplexobj(got)
