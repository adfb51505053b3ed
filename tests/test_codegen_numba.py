"""lambdify(..., backend="numba"): the generated code compiled with numba.njit.

Every row of the identity battery, in both layouts, either compiles and agrees
with ``evaluate`` (itself checked against finite differences by the battery),
or is refused when the code is generated, with a BackendError naming the
construct.  A failure to compile code the backend accepted fails the test: the
list of accepted constructs must be right, not merely safe.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
import sympy as sp
from test_codegen import ROWS, _rnn, call, env_for

from matderiv import MatDerivError, derive, evaluate, gradient, hessian, hvp, lambdify
from matderiv.codegen import numba_backend, to_code
from matderiv.codegen.numba_backend import BackendError
from matderiv.testing import max_error

pytest.importorskip("numba")  # a test extra: installed by .ci/run

n, m = sp.symbols("n m", integer=True, positive=True)
A = sp.MatrixSymbol("A", n, n)
X = sp.MatrixSymbol("X", n, m)
x = sp.MatrixSymbol("x", n, 1)
KRONECKER = sp.KroneckerProduct(A, X)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_the_identity_battery_compiles_or_is_refused_by_name(row) -> None:
    expr, wrt, dims, _expected, _kwargs = row.build()
    env = env_for(expr, dims=dims, seed=5)
    for layout in ("numerator", "denominator"):
        d = derive(expr, wrt, layout)
        try:
            fn = lambdify(d, backend="numba")
        except BackendError as exc:
            assert "backend='numba' does not compile" in str(exc)
            assert "use backend='numpy'" in str(exc)
            continue
        got = call(fn, env)
        want = evaluate(d.result, env)
        if np.ndim(want) == 0:
            assert isinstance(got, float)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=fn.source)


def test_most_of_the_battery_is_compiled() -> None:
    """The refusals are the Kronecker and commutation helpers, nothing else."""
    refused, compiled = [], 0
    for row in ROWS:
        expr, wrt, *_ = row.build()
        for layout in ("numerator", "denominator"):
            try:
                to_code(derive(expr, wrt, layout), backend="numba")
                compiled += 1
            except BackendError as exc:
                refused.append(str(exc))
    assert compiled >= 150
    assert all("_kron" in r or "_commut" in r for r in refused), refused


def test_the_rnn_gradient_matches_finite_differences() -> None:
    L, W, U, where, dims = _rnn(8)
    dW, dU = gradient(L, W, where=where), gradient(L, U, where=where)
    fast = lambdify([dW, dU], backend="numba")
    env = env_for(L, *where.values(), dims=dims, seed=2)
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
    vec_code = to_code(derive(sp.Trace(A * X * X.T), sp.MatrixSymbol("X", n, m)), backend="numba")
    assert 'order="F"' not in vec_code and "order='F'" not in vec_code


def test_kronecker_helpers_are_refused_by_name() -> None:
    with pytest.raises(BackendError, match=r"does not compile the helper _kron"):
        lambdify(KRONECKER, backend="numba")


def test_an_unknown_backend_is_an_error() -> None:
    with pytest.raises(MatDerivError, match=r"unknown backend 'jax': use one of numpy, numba"):
        lambdify(A, backend="jax")


def test_without_numba_the_error_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(numba_backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendError, match=r"pip install 'matderiv\[numba\]'"):
        lambdify(A, backend="numba")
    np.testing.assert_array_equal(lambdify(A)(A=np.eye(2)), np.eye(2))


def test_a_compilation_failure_is_a_backend_error() -> None:
    fn = lambdify(derive(x.T * A * x, x), backend="numba")
    with pytest.raises(BackendError, match=r"numba could not compile"):
        fn(A=np.eye(3), x=np.array(["a", "b", "c"]))  # strings: numba has no product
