"""lambdify / to_code: generated NumPy code computes what evaluate computes, efficiently."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import sympy as sp
from identity_harness import row_values
from test_identities_linear import ROWS as LINEAR
from test_identities_nonlinear import ROWS as NONLINEAR

import matderiv
from matderiv import MatDerivError, derive, evaluate, gradient, hessian, hvp, lambdify, vec
from matderiv.testing import check_derivation, random_values

ROWS = [*LINEAR, *NONLINEAR]
n, m = sp.symbols("n m", integer=True, positive=True)
DIMS = {n: 3, m: 4}
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", m, m)
X = sp.MatrixSymbol("X", n, m)
S = sp.MatrixSymbol("S", n, n)
x = sp.MatrixSymbol("x", n, 1)
v = sp.MatrixSymbol("v", n * m, 1)


def call(fn, env):
    params = inspect.signature(fn).parameters
    return fn(**{str(k): val for k, val in env.items() if str(k) in params})


def env_for(*exprs, seed=0, dims=DIMS, where=None):
    values = random_values(sp.Tuple(*exprs), dims, np.random.default_rng(seed), where=where)
    return {**values, **dims}


def check_battery_row(row, backend: str, seed: int) -> None:
    """The row's derivative in both layouts, through lambdify(backend=...), agrees with
    evaluate (checked against finite differences by the battery); scalars are floats.
    Values are drawn as the row asks (positive X for X^∘s: NaN = NaN passed)."""
    expr, wrt, dims, _expected, kwargs = row.build()
    env = row_values(expr, dims, {**kwargs, "seed": seed})
    for layout in ("numerator", "denominator"):
        d = derive(expr, wrt, layout)
        fn = lambdify(d, backend=backend)
        got = call(fn, env)
        want = evaluate(d.result, env)
        assert np.all(np.isfinite(want)), (row.id, want)
        if np.ndim(want) == 0:
            assert isinstance(got, float)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=fn.source)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_generated_code_agrees_with_evaluate_on_the_identity_battery(row) -> None:
    check_battery_row(row, "numpy", seed=3)


def test_kronecker_and_commutation_factors_are_applied_not_built() -> None:
    expr = sp.KroneckerProduct(B, A) * matderiv.commutation(m, n) * v
    fn = lambdify(expr)
    assert "_kron_left(" in fn.source and "_commute_rows(" in fn.source
    assert "_kron(" not in fn.source and "_commutation(" not in fn.source
    env = env_for(expr)
    np.testing.assert_allclose(call(fn, env), evaluate(expr, env), rtol=1e-12)


def test_a_kronecker_result_is_built_by_broadcasting() -> None:
    d = hessian(sp.log(sp.Determinant(S)), S)
    fn = lambdify(d)
    assert "_kron_commuted(" in fn.source and "numpy.kron(" not in fn.source
    assert "_commute_cols(" not in fn.source  # K folded into the broadcast
    env = env_for(d.of)
    np.testing.assert_allclose(call(fn, env), evaluate(d, env), rtol=1e-12)


def test_a_sum_times_a_vector_is_distributed() -> None:
    fn = lambdify(gradient(x.T * A * x, x))
    assert "A + A.T" not in fn.source.replace("(", "").replace(")", "")
    assert fn.source.count(".dot(") == 2


def test_an_inverse_in_a_product_is_solved_with_not_formed() -> None:
    d = hvp(sp.log(sp.Determinant(S)), S)  # -S⁻ᵀ Vᵀ S⁻ᵀ
    source = d.to_code()
    assert "numpy.linalg.inv(" not in source and source.count("= _lu(S)") == 1
    assert "_solve(" in source and "_solve_right(" in source
    env = env_for(d.of, d.result)
    np.testing.assert_allclose(call(d.to_numpy(), env), evaluate(d, env), rtol=1e-10)


def test_solves_are_with_vectors_when_the_product_has_one() -> None:
    # ∂(xᵀ A⁻¹ x)/∂A = -A⁻ᵀ x xᵀ A⁻ᵀ: two solves with x, then the outer product
    d = gradient(x.T * A.I * x, A)
    body = d.to_code().split("def f(")[1]
    assert "numpy.linalg.inv(" not in body
    solves = re.findall(r"_solve(?:_right)?\(([^()]*(?:\([^()]*\))?[^()]*)\)", body)
    assert solves and all("x" in args and ".dot" not in args for args in solves)
    env = env_for(d.of)
    np.testing.assert_allclose(call(d.to_numpy(), env), evaluate(d, env), rtol=1e-10)


@pytest.mark.parametrize("complex_names", [("x",), ("A",), ("A", "x")])
def test_solves_keep_complex_values(complex_names) -> None:
    # the solve helper calls LAPACK getrs itself: a complex right-hand side with real
    # factors, and complex factors, are both solved in complex arithmetic
    d = gradient(x.T * A.I * x, A)
    rng = np.random.default_rng(3)
    env = env_for(d.of)
    for name in complex_names:
        key = next(k for k in env if str(k) == name)
        env[key] = env[key] + 1j * rng.standard_normal(env[key].shape)
    Ai, xv = (np.linalg.inv(env[A]), env[x])
    expected = -Ai.T @ xv @ xv.T @ Ai.T  # ∂(xᵀ A⁻¹ x)/∂A, denominator layout
    got = call(d.to_numpy(), env)
    assert np.iscomplexobj(got)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_an_inverse_that_is_the_result_is_computed_as_one() -> None:
    source = gradient(sp.log(sp.Determinant(S)), S).to_code()
    assert "numpy.linalg.inv(" in source and "_lu(" not in source
    assert "import scipy" not in source


def test_a_singular_matrix_raises_like_numpy() -> None:
    fn = hvp(sp.log(sp.Determinant(S)), S).to_numpy()
    singular = np.ones((3, 3))
    with pytest.raises(np.linalg.LinAlgError, match="Singular"):
        fn(S=singular, V=np.eye(3))


def test_common_subexpressions_are_computed_once() -> None:
    d = gradient(sp.log(sp.Determinant(S)) + sp.Trace(A * S.I), S)
    source = d.to_code()
    # S⁻¹ appears three times; S is factorised once and solved with, never inverted
    assert source.count("= _lu(S)") == 1 and "numpy.linalg.inv(" not in source
    env = env_for(d.of)
    np.testing.assert_allclose(call(d.to_numpy(), env), evaluate(d, env), rtol=1e-12)


def test_several_results_share_one_function() -> None:
    f = x.T * S.I * x
    d1, d2 = gradient(f, x), gradient(f, S)
    fn = lambdify([d1, d2])
    assert fn.source.count("= _lu(S)") == 1  # one factorisation serves both results
    env = env_for(f)
    g1, g2 = call(fn, env)
    np.testing.assert_allclose(g1, evaluate(d1, env), rtol=1e-12)
    np.testing.assert_allclose(g2, evaluate(d2, env), rtol=1e-12)


def test_the_source_is_self_contained() -> None:
    d = derive(X * B, vec(X.T))
    namespace: dict = {}
    exec(compile(d.to_code(name="jac"), "<pasted>", "exec"), namespace)
    env = env_for(d.result)
    np.testing.assert_allclose(
        namespace["jac"](B=env[B], n=3), evaluate(d.result, env), rtol=1e-12
    )


def test_scalar_results_are_floats_and_vectors_may_be_1d() -> None:
    fn = lambdify(x.T * A * x)
    got = fn(A=np.eye(3), x=np.array([1.0, 2.0, 3.0]))
    assert got.shape == (1, 1) and got[0, 0] == pytest.approx(14.0)
    scalar = lambdify(sp.log(sp.Determinant(A)))
    value = scalar(A=2 * np.eye(3))
    assert isinstance(value, float) and value == pytest.approx(3 * np.log(2))


def test_names_that_are_not_identifiers_are_adapted() -> None:
    odd = sp.MatrixSymbol("a-b", n, 1)
    clash = sp.MatrixSymbol("numpy", n, 1)
    fn = lambdify(odd.T * clash)
    assert set(inspect.signature(fn).parameters) == {"a_b", "numpy_"}
    assert call(fn, {"a_b": np.ones((3, 1)), "numpy_": np.ones((3, 1))})[0, 0] == 3.0


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_symbols_named_like_what_the_generated_code_uses_are_renamed(backend) -> None:
    """getattr, float and the helpers' names (_f_core, _kron) would shadow what the
    generated code calls."""
    if backend == "numba":
        pytest.importorskip("numba")
    names = ("getattr", "float", "_f_core", "_kron", "lambda", "1x")
    vs = [sp.MatrixSymbol(k, n, 1) for k in names]
    f = sp.MatAdd(*(v.T * A * v for v in vs))
    d = derive(f, vs[0], "denominator")
    fn = lambdify(d, backend=backend)
    renamed = ("getattr_", "float_", "v_f_core", "v_kron", "lambda_", "v_1x")
    assert set(inspect.signature(fn).parameters) == {"A", *renamed}
    env = env_for(f, seed=7)
    kwargs = {new: env[v] for new, v in zip(renamed, vs, strict=True)}
    np.testing.assert_allclose(fn(A=env[A], **kwargs), evaluate(d, env), rtol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_renamed_keyword_argument_takes_the_symbols_own_name_too(backend) -> None:
    """f(**{"lambda": 0.1}) for the keyword lambda_ was Python's bare "unexpected
    keyword argument 'lambda'" (a tester's sweep)."""
    if backend == "numba":
        pytest.importorskip("numba")
    lam, hx = sp.Symbol("lambda"), sp.MatrixSymbol("h_{x}", n, 1)
    f = x.T * A * x + lam * (x.T * x) + hx.T * x
    d = gradient(f, x)
    fn = lambdify(d, backend=backend)
    env = env_for(f, seed=3)
    want = evaluate(d, env)
    given = {"lambda": env[lam], "h_{x}": env[hx], "x": env[x], "A": env[A]}
    np.testing.assert_allclose(fn(**given), want, rtol=1e-10)
    assert set(inspect.signature(fn).parameters) == {"A", "lambda_", "h__x_", "x"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'mu'"):
        fn(**given, mu=1.0)


@pytest.mark.parametrize(
    ("first", "second"), [("W^1", "W_1"), ("lambda", "lambda_"), ("__x", "v__x")]
)
def test_a_name_that_is_an_identifier_keeps_it(first: str, second: str) -> None:
    """W^1 took the keyword W_1 (sorted first) and the symbol named W_1 got W_1_2:
    f(W_1=...) silently passed an array to the other symbol."""
    adapted, exact = sp.MatrixSymbol(first, n, 1), sp.MatrixSymbol(second, n, 1)
    d = gradient(sp.Trace(adapted.T * x) + 2 * sp.Trace(exact.T * x), x)
    fn = lambdify(d)
    keyword = next(k for k in inspect.signature(fn).parameters if k not in (second, "x"))
    a, b = np.ones((3, 1)), 10 * np.ones((3, 1))
    np.testing.assert_allclose(fn(**{second: b, keyword: a}), 21 * np.ones((3, 1)))
    assert f"keyword arguments {keyword} for {first}" in fn.source


def test_lambdify_rejects_what_is_not_an_expression() -> None:
    with pytest.raises(MatDerivError, match="lambdify takes"):
        lambdify(object())


def test_inputs_the_result_does_not_use_are_accepted() -> None:
    fn = lambdify(hessian(x.T * A * x, x))
    assert list(inspect.signature(fn).parameters) == ["A", "x"]
    assert inspect.signature(fn).parameters["x"].default is None
    np.testing.assert_allclose(fn(A=np.eye(3), x=np.ones(3)), 2 * np.eye(3))


#: m n² on either side of the helpers' 2¹⁹ bound (a general product, a rank-k update)
GRAM_SIZES = {"general product": {m: 127, n: 64}, "rank-k update": {m: 150, n: 64}}


@pytest.mark.parametrize("dims", GRAM_SIZES.values(), ids=GRAM_SIZES)
@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["s>=0", "s<0"])
@pytest.mark.parametrize("power", [1, 2], ids=["s (signs checked)", "s∘s (proved >= 0)"])
def test_weighted_gram_matrix(power, sign, dims) -> None:
    D = sp.MatrixSymbol("D", m, n)
    s = sp.MatrixSymbol("s", m, 1)
    expr = D.T * matderiv.diag(s if power == 1 else sp.HadamardPower(s, power)) * D
    fn = lambdify(expr)
    assert ("_gram(" if power == 1 else "_gram_psd(") in fn.source
    env = env_for(expr, seed=5, dims=dims)
    env[s] = np.abs(env[s]) * sign
    np.testing.assert_allclose(call(fn, env), evaluate(expr, env), rtol=1e-12)


_t = sp.Dummy("t")


@pytest.mark.parametrize(
    ("weights", "proved"),
    [
        (sp.HadamardPower(x, 2), True),  # an even power
        (x.applyfunc(sp.exp), True),
        (sp.HadamardProduct(x.applyfunc(sp.exp), sp.HadamardPower(x, 2)), True),
        (sp.HadamardPower(sp.MatAdd(x.applyfunc(sp.exp), sp.OneMatrix(n, 1)), -2), True),
        (2 * sp.HadamardPower(x, 4), True),
        (x.applyfunc(sp.Lambda(_t, 1 / (1 + sp.exp(-_t)))), True),  # a sigmoid
        (x, False),  # unknown sign
        (sp.HadamardPower(x, 3), False),
        (x.applyfunc(sp.tanh), False),
        (-1 * sp.HadamardPower(x, 2), False),
        (sp.HadamardProduct(x, x.applyfunc(sp.exp)), False),
    ],
)
def test_gram_weights_proved_nonnegative_skip_the_sign_check(weights, proved) -> None:
    """Aᵀ diag(s) A is a symmetric rank-k update without checking signs only when
    every entry of s is >= 0 whatever the inputs (it computes √s)."""
    D = sp.MatrixSymbol("D", n, m)
    expr = D.T * matderiv.diag(weights) * D
    fn = lambdify(expr)
    assert ("_gram_psd(" in fn.source) == proved and ("_gram(" in fn.source) != proved
    env = env_for(expr, seed=8)
    np.testing.assert_allclose(call(fn, env), evaluate(expr, env), rtol=1e-10, atol=1e-12)


def test_codegen_reports_a_node_it_cannot_print() -> None:
    with pytest.raises(matderiv.UnsupportedNode, match="cannot generate code for Adjoint"):
        lambdify(sp.Adjoint(A) * x)


def test_lambdify_rejects_two_programs_that_disagree() -> None:
    h = sp.MatrixSymbol("h", n, 1)
    d1 = gradient(sp.Trace(x.T * h), x, where={h: A * x})
    d2 = gradient(sp.Trace(x.T * h), x, where={h: S * x})
    with pytest.raises(MatDerivError, match=r"h is defined twice.*different programs"):
        lambdify([d1, d2])


def test_lambdify_of_two_functions_over_one_program_says_why_it_cannot() -> None:
    """Two losses over one program name their adjoints alike: the message said "derive
    them from the same program", which they were."""
    L, _, U, where, _ = _rnn(3)
    last = list(where)[-1]
    other = sp.MatrixSymbol("d", *last.shape).T * last
    d1, d2 = gradient(L, U, where=where), gradient(other, U, where=where)
    with pytest.raises(MatDerivError, match=r"different functions.*one at a time"):
        lambdify([d1, d2])


def _rnn(T: int):
    m = sp.Symbol("m", integer=True, positive=True)
    W, U, c = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, n), sp.MatrixSymbol("c", n, 1)
    hs = [sp.MatrixSymbol(f"h_{t}", n, 1) for t in range(T + 1)]
    xs = [sp.MatrixSymbol(f"x_{t}", m, 1) for t in range(1, T + 1)]
    where = {
        hs[t]: (W.T * xs[t - 1] + U.T * hs[t - 1]).applyfunc(sp.tanh) for t in range(1, T + 1)
    }
    return sp.MatAdd(*(c.T * h for h in hs[1:])), W, U, where, {n: 4, m: 3}


@pytest.mark.parametrize("T", [2, 8])
def test_products_of_one_matrix_with_eight_or_more_inputs_are_batched(T) -> None:
    L, W, _, where, dims = _rnn(T)
    d = gradient(L, W, where=where)
    body = d.to_code().split("def f(")[1]
    # W x_1, ..., W x_T: one product with [x_1 ... x_T] from T = 8 (BATCH_MIN) on
    assert body.count("W.T.dot(") + body.count(".dot(W)") == (1 if T >= 8 else T)
    env = env_for(L, *where.values(), dims=dims, seed=T, where=where)
    np.testing.assert_allclose(call(d.to_numpy(), env), evaluate(d, env), rtol=1e-10)


@pytest.mark.parametrize("T", [8, 12])
def test_an_rnn_stacks_its_inputs_once_in_time_order(T) -> None:
    # [x_1 ... x_T] serves both W's batched product and W's gradient Σ x_t δ_tᵀ, so
    # the sum's terms are taken in the stack's order rather than stacked again
    L, W, U, where, dims = _rnn(T)
    fn = lambdify([gradient(L, W, where=where), gradient(L, U, where=where)])
    body = fn.source.split("def f(")[1]
    inputs = ", ".join(f"x_{t}" for t in range(1, T + 1))
    assert body.count("numpy.concatenate([x_") == 1
    assert f"numpy.concatenate([{inputs}], axis=1)" in body
    env = env_for(L, *where.values(), dims=dims, seed=T, where=where)
    got = call(fn, env)
    want = [evaluate(gradient(L, v, where=where), env) for v in (W, U)]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10)


@pytest.mark.parametrize(
    "expr",
    [
        sp.HadamardProduct(A, sp.HadamardPower(S, -2)),
        sp.HadamardProduct(A, sp.HadamardPower(S, -1), sp.HadamardPower(A + S, -3)),
        sp.HadamardProduct(sp.HadamardPower(S, -1), sp.HadamardPower(A, -2)),
        2 * sp.HadamardProduct(A, sp.HadamardPower(S, -2)).T * x,
        -sp.HadamardPower(S, -2) + A,
    ],
    ids=["a/s2", "a/(s (a+s)3)", "1/(s a2)", "scaled-transposed", "negated"],
)
def test_negative_hadamard_powers_become_divisions(expr) -> None:
    source = lambdify(expr).source
    assert "** (-" not in source and "/" in source.split("def f(")[1]
    env = env_for(expr, seed=7)
    np.testing.assert_allclose(call(lambdify(expr), env), evaluate(expr, env), rtol=1e-10)


@pytest.mark.parametrize("rows", ["transposed columns", "row vectors"])
def test_four_or_more_outer_products_are_one_product(rows) -> None:
    # Σ a_k b_kᵀ (backprop through time) → [a_1 ... a_K] [b_1 ... b_K]ᵀ, one product
    K = 5
    a = [sp.MatrixSymbol(f"a_{k}", n, 1) for k in range(K)]
    if rows == "transposed columns":
        b = [sp.MatrixSymbol(f"b_{k}", m, 1).T for k in range(K)]
    else:
        b = [sp.MatrixSymbol(f"r_{k}", 1, m) for k in range(K)]
    expr = sp.MatAdd(*(sp.MatMul(k + 1, a[k], b[k]) for k in range(K)))
    fn = lambdify(expr)
    body = fn.source.split("def f(")[1]
    assert body.count(".dot(") == 1 and "numpy.concatenate(" in body
    env = env_for(expr, seed=11)
    got = call(fn, env)
    assert got.shape == (DIMS[n], DIMS[m])
    np.testing.assert_allclose(got, evaluate(expr, env), rtol=1e-12)


@pytest.mark.parametrize(
    "build",
    [
        lambda ones, B: sp.HadamardProduct(ones, ones),
        lambda ones, B: sp.MatMul(sp.MatAdd(ones, ones, evaluate=False), B),
        lambda ones, B: sp.HadamardProduct(ones, sp.HadamardPower(ones, -1)),
        lambda ones, B: sp.MatAdd(2 * ones, -ones, evaluate=False),
    ],
    ids=["𝟏∘𝟏", "(𝟏 + 𝟏) B", "𝟏 ⊘ 𝟏", "2·𝟏 - 𝟏"],
)
def test_entrywise_operations_on_ones_only_stay_matrices(build) -> None:
    """A ones operand is written as 1.0 inside a sum or ∘ product; when every operand
    is one, the node became the float 2.0 or 1.0 (lambdify(𝟏∘𝟏) returned 1.0 and
    took no n; (𝟏 + 𝟏) B raised AttributeError)."""
    k = sp.Symbol("k", integer=True, positive=True)
    ones, B = sp.OneMatrix(k, k), sp.MatrixSymbol("B", k, k)
    expr = build(ones, B)
    fn = lambdify(expr)
    values = {"B": np.arange(9.0).reshape(3, 3), "k": 3}
    params = inspect.signature(fn).parameters
    got = fn(**{key: v for key, v in values.items() if key in params})
    want = evaluate(expr, {B: values["B"], k: 3})
    assert np.shape(got) == (3, 3)
    np.testing.assert_allclose(got, want)


_c = sp.Dummy("t")


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "expr",
    [
        sp.Trace(X.T.applyfunc(sp.Lambda(_c, sp.Integer(3))) * A * X),
        sp.Trace(B * X.T.applyfunc(sp.Lambda(_c, 3 * _c + 1)) * A * X),
    ],
    ids=["(t ↦ 3)∘(Xᵀ)", "(t ↦ 3t + 1)∘(Xᵀ)"],
)
def test_a_constant_entrywise_function_is_a_filled_matrix(expr, layout: str) -> None:
    """(t ↦ 3)∘(X), given or in a derivative, was the number 3: evaluate returned a
    1 x 1, lambdify returned 3, and a product with it generated `3.T`."""
    d = derive(expr, X, layout)
    check_derivation(d, DIMS)
    env = env_for(expr, d.result, seed=2)
    want = evaluate(d.result, env)
    assert np.shape(want) == ((3, 4) if layout == "denominator" else (4, 3))
    np.testing.assert_allclose(call(lambdify(d), env), want, rtol=1e-12)
    constant = X.applyfunc(sp.Lambda(_c, sp.Integer(3)))
    np.testing.assert_array_equal(evaluate(constant, env), np.full((DIMS[n], DIMS[m]), 3.0))
    np.testing.assert_array_equal(call(lambdify(constant), env), np.full((3, 4), 3.0))


def test_two_hvps_of_one_program_by_different_variables_are_named_so() -> None:
    """lambdify([hvp(L, W, where=P), hvp(L, U, where=P)]) said they "come from different
    programs (where=)": they come from one; their tangents depend on the variable."""
    from matderiv import hvp

    n = sp.Symbol("n", integer=True, positive=True)
    W, U = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("U", n, n)
    c, x, h = sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("h", n, 1)
    where = {h: (W * x + U * c).applyfunc(sp.tanh)}
    loss = c.T * h
    with pytest.raises(MatDerivError, match=r"differentiate cᵀ h by W and by U") as info:
        lambdify([hvp(loss, W, where=where), hvp(loss, U, where=where)])
    assert "different programs" not in str(info.value)
