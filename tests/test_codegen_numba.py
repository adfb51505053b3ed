"""lambdify(..., backend="numba"): the generated code compiled with numba.njit.

Every row of the identity battery, in both layouts, compiles and agrees with
``evaluate`` (itself checked against finite differences by the battery), and
so do random well-shaped expressions.  A construct outside the backend's list
is refused by name when the code is generated; a failure to compile code the
backend accepted fails the tests: the list must be right, not merely safe.
"""

from __future__ import annotations

import ast
import inspect
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, note
from hypothesis import strategies as st
from random_trees import DIMS as POOL
from random_trees import SIZES, VARIABLES, budget, expressions
from test_codegen import ROWS, _rnn, call, check_battery_row, env_for

from matderiv import (
    BackendError,
    InputShapeError,
    MatDerivError,
    commutation,
    derive,
    diag,
    evaluate,
    gradient,
    hessian,
    hvp,
    lambdify,
    logsumexp,
)
from matderiv import vec as vec_
from matderiv.codegen import numba_backend
from matderiv.codegen.numba_backend import numba_source
from matderiv.testing import check_derivation, max_error, random_values

pytest.importorskip("numba")  # a test extra: installed by .ci/run

n, m = sp.symbols("n m", integer=True, positive=True)
A = sp.MatrixSymbol("A", n, n)
X = sp.MatrixSymbol("X", n, m)
x = sp.MatrixSymbol("x", n, 1)
KRONECKER = sp.KroneckerProduct(A, X)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_the_identity_battery_compiles_and_agrees_with_evaluate(row) -> None:
    check_battery_row(row, "numba", seed=5)


@budget(25)
@given(st.data())
def test_random_expressions_compile_and_agree(data) -> None:
    """Random trees of the property-test strategy and their derivatives."""
    var = data.draw(st.sampled_from(VARIABLES))
    shape = (data.draw(st.sampled_from(POOL)), data.draw(st.sampled_from(POOL)))
    expr = data.draw(expressions(shape, var, 3))
    note(str(expr))
    values = random_values(expr, SIZES, np.random.default_rng(0))
    env = {**values, **SIZES}
    for target in (expr, derive(expr, var, "denominator")):
        want = evaluate(getattr(target, "result", target), env)
        fast = lambdify(target, backend="numba")
        np.testing.assert_allclose(call(fast, env), want, rtol=1e-8, atol=1e-10)


def test_the_rnn_gradient_matches_finite_differences() -> None:
    L, W, U, where, dims = _rnn(8)
    dW, dU = gradient(L, W, where=where), gradient(L, U, where=where)
    fast = lambdify([dW, dU], backend="numba")
    env = env_for(L, *where.values(), dims=dims, seed=2, where=where)
    got_w, got_u = call(fast, env)
    np.testing.assert_allclose(got_w, evaluate(dW, env), rtol=1e-10)
    np.testing.assert_allclose(got_u, evaluate(dU, env), rtol=1e-10)
    # and the result it computes against central differences of the loss (m = 3, n = 4)
    values = {k: v for k, v in env.items() if isinstance(k, sp.MatrixSymbol)}
    for d in (dW, dU):
        err, scale = max_error(d, values, dims)
        assert err <= 1e-6 * max(1.0, scale)
    # the loop of products is compiled: one numba function, matrix products as .dot
    assert "@numba.njit" in fast.source and "def _f_core(" in fast.source


def test_the_interface_is_the_numpy_backends() -> None:
    """Keyword arguments, 1-D vectors, floats for scalars, a tuple for several
    results, accepted unused inputs, and an input returned as a copy."""
    f = x.T * A * x
    g, H = gradient(f, x), hessian(f, x)
    outputs = [sp.Trace(A) * sp.log(sp.Trace(A * A.T)), f, g]
    fast, slow = lambdify(outputs, backend="numba"), lambdify(outputs)
    assert inspect.signature(fast) == inspect.signature(slow)
    env = env_for(f, seed=1)
    vec1d = {**env, x: np.ravel(env[x])}
    got, want = call(fast, vec1d), call(slow, env)
    assert (
        isinstance(got, tuple) and isinstance(got[0], float) and got[0] == pytest.approx(want[0])
    )
    for a, b in zip(got[1:], want[1:], strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12)
    constant = lambdify(H, backend="numba")  # A + Aᵀ: does not use x, accepts it
    np.testing.assert_allclose(call(constant, env), env[A] + env[A].T, rtol=1e-12)
    B = sp.MatrixSymbol("B", n, m)
    same = lambdify(derive(sp.Trace(X.T * B), X, "denominator"), backend="numba")
    b = np.arange(6.0).reshape(3, 2)
    out = same(B=b, X=np.ones((3, 2)))
    assert out is not b and np.array_equal(out, b)


def test_hessian_vector_products_compile() -> None:
    f = sp.log(sp.Determinant(A))
    d = hvp(f, A)
    env = env_for(f, d.result, seed=4)
    env[A] = env[A] @ env[A].T + 3 * np.eye(3)  # log det needs a positive determinant
    np.testing.assert_allclose(
        call(lambdify(d, backend="numba"), env), evaluate(d, env), rtol=1e-9
    )


def test_the_numba_source_is_self_contained_and_checked() -> None:
    L, W, _, where, _ = _rnn(8)
    source = gradient(L, W, where=where).to_code(backend="numba")
    tree = ast.parse(source)
    imports = {a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names}
    assert imports == {"numpy", "numba"}
    namespace: dict = {}
    exec(compile(source, "<pasted>", "exec"), namespace)  # what a user pastes runs as is
    assert callable(namespace["f"]) and hasattr(namespace["_f_core"], "py_func")
    # numba would ignore order="F": a vec is written through a C-ordered copy of Mᵀ
    d = derive(sp.Trace(A * X * X.T), vec_(X), "denominator")
    assert 'order="F"' in d.to_code()
    assert "order" not in d.to_code(backend="numba") and ".T.copy().reshape(-1, 1)" in d.to_code(
        backend="numba"
    )


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_structured_helpers_compile(sign) -> None:
    """Kronecker and commutation factors, a weighted Gram matrix on both of its
    paths, sums with a matrix of ones, logsumexp: the numba helpers agree with NumPy's."""
    D, s = sp.MatrixSymbol("D", m, n), sp.MatrixSymbol("s", m, 1)
    exprs = [
        KRONECKER,
        commutation(n, m) * vec_(X),
        D.T * diag(s) * D,
        sp.OneMatrix(1, n) * X,
        X * sp.OneMatrix(m, n),
        logsumexp(X * sp.OneMatrix(m, 1)),
        hessian(sp.Trace(X.T * A * X), X).result,
    ]
    env = env_for(*exprs, seed=6)
    env[s] = np.abs(env[s]) * sign
    for expr in exprs:
        fast = lambdify(expr, backend="numba")
        np.testing.assert_allclose(
            call(fast, env), call(lambdify(expr), env), rtol=1e-10, err_msg=fast.source
        )


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_weighted_gram_matrix_above_the_size_bound_compiles(sign) -> None:
    """A Gram matrix large enough (m n² > 2¹⁹) for the helpers' rank-k update path."""
    D, s = sp.MatrixSymbol("D", m, n), sp.MatrixSymbol("s", m, 1)
    expr = D.T * diag(s) * D
    env = env_for(expr, seed=7, dims={m: 150, n: 64})
    env[s] = np.abs(env[s]) * sign
    fast = lambdify(expr, backend="numba")
    np.testing.assert_allclose(call(fast, env), evaluate(expr, env), rtol=1e-10)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ('return M.reshape((2, 3), order="C")', "a reshape other than a column-major one"),
        ("return numpy.einsum('ij->ji', M)", "numpy.einsum"),
        ("return M.sum(axis=0)", ".sum with arguments"),
        ("return M.flat", "the attribute .flat"),
        ("return [v for v in M]", "ListComp"),
    ],
)
def test_constructs_outside_the_list_are_refused_by_name(body, what) -> None:
    source = f"import numpy\n\ndef f(*, M):\n    {body}\n"
    with pytest.raises(BackendError, match="does not compile " + re.escape(what)):
        numba_source(source, "f")


def test_an_unknown_backend_is_an_error() -> None:
    with pytest.raises(MatDerivError, match=r"unknown backend 'jax': use one of numpy, numba"):
        lambdify(A, backend="jax")


def test_without_numba_the_error_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(numba_backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendError, match=r"pip install 'matderiv\[numba\]'"):
        lambdify(A, backend="numba")
    np.testing.assert_array_equal(lambdify(A)(A=np.eye(2)), np.eye(2))


def test_any_array_layout_and_integer_arrays_are_accepted() -> None:
    """Fortran-ordered and strided inputs compile for their layout; integer arrays
    (no integer inverse in numba) are computed as float64, as NumPy promotes them,
    before or after a float call."""
    d = gradient(x.T * A.I * x + x.T * A * A * x, A)
    fast, slow = lambdify(d, backend="numba"), lambdify(d)
    a = np.array([[4, 1, 0], [1, 3, 1], [0, 2, 5]])
    v = np.array([[1], [-2], [3]])
    want = slow(A=a.astype(float), x=v.astype(float))
    np.testing.assert_allclose(fast(A=a, x=v), want, rtol=1e-12)  # integers first
    np.testing.assert_allclose(fast(A=a.astype(float), x=v), want, rtol=1e-12)
    np.testing.assert_allclose(fast(A=np.asfortranarray(a, dtype=float), x=v), want, rtol=1e-12)
    wide = np.zeros((3, 6))
    wide[:, ::2] = a
    np.testing.assert_allclose(fast(A=wide[:, ::2], x=v), want, rtol=1e-12)  # strided


def test_a_singular_matrix_raises_like_numpy() -> None:
    fast = lambdify(gradient(x.T * A.I * x, A), backend="numba")
    with pytest.raises(np.linalg.LinAlgError):
        fast(A=np.ones((3, 3)), x=np.ones(3))


def test_a_compilation_failure_is_a_backend_error() -> None:
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is float64 on this platform")
    fn = lambdify(derive(x.T * A * x, x), backend="numba")
    with pytest.raises(BackendError, match=r"numba could not compile"):
        fn(A=np.eye(3), x=np.ones(3, dtype=np.longdouble))  # numba has no float128 arrays


def test_sizes_and_shape_checks_are_the_numpy_backends() -> None:
    """The wrapper reads sizes from unused inputs and checks shapes, as the NumPy
    backend's function does (it used to require n= and check nothing)."""
    S = sp.MatrixSymbol("S", n, n)
    d = gradient(sp.Trace(S), S)
    fast, slow = lambdify(d, backend="numba"), lambdify(d)
    assert inspect.signature(fast) == inspect.signature(slow)
    np.testing.assert_array_equal(fast(S=np.ones((3, 3))), np.eye(3))
    q = lambdify(gradient(x.T * A * x, x), backend="numba")
    with pytest.raises(InputShapeError, match=r"x has shape \(4, 1\); expected \(n, 1\)"):
        q(A=np.eye(3), x=np.ones(4))


def test_a_constant_entrywise_function_compiles_as_a_filled_matrix() -> None:
    """(t ↦ 3)∘(X) is 3 · numpy.ones((n, m)) (numba has no numpy.full with a fill)."""
    t = sp.Dummy("t")
    expr = sp.Trace(X.T.applyfunc(sp.Lambda(t, sp.Integer(3))) * A * X)
    values = random_values(expr, {n: 3, m: 4}, np.random.default_rng(0))
    for target in (expr, derive(expr, X, "denominator")):
        want = evaluate(getattr(target, "result", target), {**values, n: 3, m: 4})
        got = lambdify(target, backend="numba")(A=values[A], X=values[X])
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_float32_inputs_are_computed_in_float64() -> None:
    """All-float32 or mixed float32/float64 inputs failed to compile ("TypingError"
    from np.dot); they are computed as float64, as integers were."""
    W, v = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("v", n, 1)
    h = (W * v).applyfunc(sp.tanh)
    d = gradient(h.T * h, W)
    fn = lambdify(d, backend="numba")
    rng = np.random.default_rng(1)
    w, vv = rng.normal(size=(3, 3)), rng.normal(size=(3, 1))
    want = evaluate(d, {W: w, v: vv})
    for inputs in ((w.astype(np.float32), vv.astype(np.float32)), (w.astype(np.float32), vv)):
        np.testing.assert_allclose(fn(W=inputs[0], v=inputs[1]), want, rtol=1e-5, atol=1e-6)


def test_complex_values_compute_where_numba_compiles_them_and_are_named_where_not() -> None:
    """The README said the numba backend refuses complex values; it computes the log
    det gradient with them, and the log det Hessian, which numba does not compile for
    complex arrays, failed with a TypingError that did not say why (a tester's
    sweep): the error names the complex values."""
    n = sp.Symbol("n", integer=True, positive=True)
    X = sp.MatrixSymbol("X", n, n)
    f = sp.log(sp.Determinant(X))
    rng = np.random.default_rng(5)
    Xc = 3 * np.eye(3) + 0.5 * (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)))
    d = gradient(f, X)
    got = lambdify(d, backend="numba")(X=Xc)
    np.testing.assert_allclose(got, lambdify(d)(X=Xc), rtol=1e-12)
    # the Hessian's Kronecker helper allocated a float64 result: now its operands' type
    got = lambdify(hessian(f, X), backend="numba")(X=Xc)
    np.testing.assert_allclose(got, lambdify(hessian(f, X))(X=Xc), rtol=1e-12)
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    g = sp.OneMatrix(1, n) * (A * x).applyfunc(lambda t: 1 / (1 + sp.exp(-t)))  # Σ σ(A x)
    with pytest.raises(BackendError, match="complex values"):  # not compiled for complex
        lambdify(hessian(g, x), backend="numba")(A=Xc, x=Xc[:, :1])
    real = lambdify(hessian(g, x), backend="numba")(A=Xc.real, x=Xc[:, :1].real)
    np.testing.assert_allclose(real, lambdify(hessian(g, x))(A=Xc.real, x=Xc[:, :1].real))


@pytest.mark.parametrize("complex_inputs", ["first", "all"])
@pytest.mark.parametrize(
    "build",
    [
        lambda X, x, c, A, B, S: gradient(c.T * (X * x).applyfunc(sp.tanh), X),
        lambda X, x, c, A, B, S: derive(A * X * B, X),  # _kron
        lambda X, x, c, A, B, S: derive(sp.KroneckerProduct(X, S), X),
        lambda X, x, c, A, B, S: derive(S.inv(), S),  # _kron_commuted
        lambda X, x, c, A, B, S: derive(x * x.T, x),
        lambda X, x, c, A, B, S: derive(sp.MatPow(S, 3), S),
    ],
)
def test_real_and_complex_inputs_mixed_compute_as_complex(build, complex_inputs) -> None:
    """One complex input among real ones was refused ("complex values: numba compiles
    some of the code for them, not all"): numba's np.dot mixes no real and complex
    arrays, so the real ones are taken as complex too; Kronecker helpers allocated
    float64 results, refused for complex operands (a tester's sweep)."""
    n, m = sp.symbols("n m", integer=True, positive=True)
    X, x, c = sp.MatrixSymbol("X", n, m), sp.MatrixSymbol("x", m, 1), sp.MatrixSymbol("c", n, 1)
    A, B, S = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", m, m), sp.MatrixSymbol("S", n, n)
    d = build(X, x, c, A, B, S)
    rng = np.random.default_rng(2)
    sizes = {"X": (3, 2), "x": (2, 1), "c": (3, 1), "A": (3, 3), "B": (2, 2), "S": (3, 3)}
    plain = lambdify(d)
    names = [k for k in inspect.signature(plain).parameters if k in sizes]
    values = {k: rng.standard_normal(sizes[k]) for k in names}
    if "S" in values:
        values["S"] += 3 * np.eye(3)
    for k in names if complex_inputs == "all" else names[:1]:
        values[k] = values[k] + 0.5j * rng.standard_normal(sizes[k])
    got = lambdify(d, backend="numba")(**values)
    assert np.iscomplexobj(got)
    np.testing.assert_allclose(got, plain(**values), rtol=1e-10, atol=1e-12)


def test_a_helper_only_an_outlined_statement_uses_is_compiled_too() -> None:
    """The Hessian of tr(Cᵀ (B ∘ C)^∘2): its diag helper is called only by statements
    outlined into functions of their own, and the numba module left it out (NameError
    '_diagflat', reported as "could not compile the generated code for these inputs")."""
    B, C, h = (sp.MatrixSymbol(s, 2, 2) for s in "BCh")
    t = sp.Symbol("t")
    H = hessian(
        sp.Trace(C.T * h.applyfunc(sp.Lambda(t, t**2))), C, where={h: sp.HadamardProduct(B, C)}
    )
    values = {"B": np.eye(2) + 0.3, "C": np.arange(4.0).reshape(2, 2) + 1}
    got = lambdify(H, backend="numba")(**values)
    want = evaluate(H, {B: values["B"], C: values["C"]})
    np.testing.assert_allclose(got, want)
    assert check_derivation(H, {}) < 1e-5
