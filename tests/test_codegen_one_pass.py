"""Aᵀ g(A V) in one pass over A (codegen/one_pass.py): which products take that
form, that the blocked computation agrees with ``evaluate`` and with central
differences at sizes where A is cut into several blocks (the last one partial),
that forms whose rows need other rows of A keep the two products, and when the
helper takes A whole (its passes fit in the last-level cache).
"""

from __future__ import annotations

import inspect
import io

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from random_trees import BOUNDED_FUNCTIONS, largest_value

from matderiv import derive, evaluate, gradient, hvp, lambdify, logsumexp
from matderiv.codegen.helpers import _cache_bytes, _merges, _one_pass
from matderiv.codegen.one_pass import BLOCK
from matderiv.testing import check_derivation, random_values

m, n, k = sp.symbols("m n k", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
M = sp.MatrixSymbol("M", m, n)
B = sp.MatrixSymbol("B", m, k)
C = sp.MatrixSymbol("C", m, m)
X = sp.MatrixSymbol("X", n, k)
b = sp.MatrixSymbol("b", m, 1)
x = sp.MatrixSymbol("x", n, 1)
y = sp.MatrixSymbol("y", m, 1)

# m = 3001 rows of n = 50: 400 bytes a row, blocks of 2621 rows, so two blocks, the
# second partial (the tests make the helper take blocks: 1.2 MB of A fits in a cache);
# the other sizes are small and distinct
BLOCKED = {m: 3001, n: 50, k: 3}
SMALL = {m: 5, n: 3, k: 2}

residual = A * x - b
logistic = sp.OneMatrix(1, m) * (
    sp.OneMatrix(m, 1) + (-sp.HadamardProduct(y, A * x)).applyfunc(sp.exp)
).applyfunc(sp.log)
matrix_residual = A * X - B

FUSED = {
    "least squares, denominator": lambda: gradient(residual.T * residual, x),
    "least squares, numerator": lambda: derive(residual.T * residual, x),
    "least squares HVP": lambda: hvp(residual.T * residual, x),
    "logistic gradient": lambda: gradient(logistic, x),
    "logistic HVP": lambda: hvp(logistic, x),
    # the same through a defined M = 2A: M is an array of the program, not an input
    "logistic HVP, M = 2A": lambda: hvp(logistic.xreplace({A: M}), x, where={M: 2 * A}),
    "tr((AX - B)ᵀ(AX - B)) by X": lambda: gradient(
        sp.Trace(matrix_residual.T * matrix_residual), X
    ),
}

TWO_PRODUCTS = {
    # softmax mixes the rows of A x: Aᵀ softmax(A x)
    "logsumexp(A x)": lambda: gradient(logsumexp(A * x), x),
    # Aᵀ (C + Cᵀ) A x: a row of (C + Cᵀ) A x needs every row of A
    "xᵀAᵀ C A x": lambda: gradient(x.T * A.T * C * A * x, x),
}


def _inputs(fn, d, sizes, seed):
    exprs = sp.Tuple(d.of, d.result, *d.definitions.values())
    values = random_values(exprs, sizes, np.random.default_rng(seed))
    values = {s: v for s, v in values.items() if s not in d.definitions}  # M = 2A
    params = inspect.signature(fn).parameters
    return {str(s): v for s, v in values.items() if str(s) in params}, values


def _body(source: str) -> str:
    return source.split("\ndef f(")[1]


@pytest.mark.parametrize("case", FUSED, ids=str)
@pytest.mark.parametrize("sizes", [BLOCKED, SMALL], ids=["blocked", "small"])
def test_one_pass_products_agree_with_evaluate(case, sizes) -> None:
    d = FUSED[case]()
    fn = lambdify(d)
    assert "_one_pass(" in _body(fn.source), fn.source
    kwargs, values = _inputs(fn, d, sizes, seed=len(case))
    want = evaluate(d, {**values, **sizes})
    for f in (fn, blocked(fn), blocked(fn, merge=True)):
        np.testing.assert_allclose(f(**kwargs), want, rtol=1e-9, atol=1e-9, err_msg=fn.source)


def test_a_node_used_twice_over_the_rows_is_computed_once_a_block() -> None:
    """The logistic HVP's σ(y ∘ A x) is used twice in its rows (σ (1 - σ)): computed
    in the rows function's own temporary, so A x is taken by blocks too (the helper
    takes both products, A V and A x) and the helper is told that the two products
    would read A three times."""
    source = lambdify(FUSED["logistic HVP"]()).source
    body = _body(source)
    assert "def rows7(r, A_V, A_x):" in body and body.count("numpy.exp(") == 1, source
    assert body.rstrip().endswith("_one_pass(A, rows7, (V, x), 3)"), source
    assert "A.dot(x)" not in body, source  # not computed whole as well


@pytest.mark.parametrize("case", ["least squares, denominator", "logistic gradient"])
def test_one_pass_gradients_match_central_differences(case) -> None:
    """The blocked gradient against central differences of the loss itself."""
    d = FUSED[case]()
    fn = blocked(lambdify(d))
    kwargs, values = _inputs(fn, d, BLOCKED, seed=7)
    Av, bv, yv = values[A], values.get(b), values.get(y)

    def f(v):
        if case.startswith("least"):
            r = Av @ v - bv
            return float((r.T @ r)[0, 0])
        return float(np.sum(np.log1p(np.exp(-yv * (Av @ v)))))

    v0 = values[x]
    h = 1e-6
    fd = np.zeros_like(v0)
    for i in range(v0.shape[0]):
        e = np.zeros_like(v0)
        e[i] = h
        fd[i] = (f(v0 + e) - f(v0 - e)) / (2 * h)
    np.testing.assert_allclose(fn(**kwargs), fd, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("case", TWO_PRODUCTS, ids=str)
@pytest.mark.parametrize("sizes", [BLOCKED, SMALL], ids=["blocked", "small"])
def test_rows_that_need_other_rows_keep_two_products(case, sizes) -> None:
    d = TWO_PRODUCTS[case]()
    fn = lambdify(d)
    assert "_one_pass" not in fn.source, fn.source
    kwargs, values = _inputs(fn, d, sizes, seed=3)
    np.testing.assert_allclose(
        fn(**kwargs), evaluate(d, {**values, **sizes}), rtol=1e-9, atol=1e-9
    )


def _counted(g):
    """rows(r, P) = g(P) for the block's product P = A[r] V, and the list of the
    blocks' row counts it was called with."""
    calls: list[int] = []

    def rows(r, P):
        calls.append(P.shape[0])
        return g(P)

    return rows, calls


def test_the_helper_cuts_a_large_c_ordered_matrix_into_blocks_of_rows() -> None:
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 1))
    rows, calls = _counted(np.tanh)
    big = rng.standard_normal((3001, 50))
    want = big.T @ np.tanh(big @ v)
    np.testing.assert_allclose(_one_pass(big, rows, (v,), cache=0), want, rtol=1e-12)
    assert calls == [2621, 380]  # 1 MiB of rows, then the rest
    calls.clear()
    fortran = np.asfortranarray(big)
    np.testing.assert_allclose(_one_pass(fortran, rows, (v,), cache=0), want, rtol=1e-12)
    assert calls == [3001]  # a Fortran-ordered matrix is taken whole
    calls.clear()
    small = big[:100]
    got = _one_pass(small, rows, (v,), cache=0)
    np.testing.assert_allclose(got, small.T @ np.tanh(small @ v))
    assert calls == [100]


def test_the_helper_takes_a_whole_when_its_passes_fit_in_the_cache() -> None:
    """Blocks only when ``reads`` passes over A would not fit in the last-level cache:
    A in cache is read about as fast twice as once, and the blocks cost their own
    time (measured: the two products faster up to 16 MiB of A with 32 MiB of L3)."""
    rng = np.random.default_rng(3)
    big, v = rng.standard_normal((3001, 50)), rng.standard_normal((50, 1))
    rows, calls = _counted(np.tanh)
    want = big.T @ np.tanh(big @ v)
    for reads, cache, whole in [
        (2, 2 * big.nbytes, True),
        (2, 2 * big.nbytes - 1, False),
        (3, 2 * big.nbytes, False),
        (3, 3 * big.nbytes, True),
    ]:
        calls.clear()
        got = _one_pass(big, rows, (v,), reads, cache)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert calls == ([3001] if whole else [2621, 380]), (reads, cache)


def test_the_cache_size_is_read_from_linux_and_has_a_default(monkeypatch) -> None:
    sizes = {0: "32K", 1: "32K", 2: "1024K", 3: "32768K"}  # an AMD EPYC's L1d, L1i, L2, L3

    def fake_open(path, *args, **kwargs):
        index = int(path.rsplit("index", 1)[1].split("/")[0])
        if index not in sizes:
            raise FileNotFoundError(path)
        return io.StringIO(sizes[index] + "\n")

    monkeypatch.setattr("builtins.open", fake_open)
    assert _cache_bytes() == 32 * 2**20
    sizes.update({1: "2M", 3: "garbage"})
    assert _cache_bytes() == 2 * 2**20
    sizes.clear()  # not Linux: nothing to read
    assert _cache_bytes() == 8 * 2**20


def test_a_result_too_wide_for_blocks_is_computed_whole_after_the_first_block() -> None:
    rng = np.random.default_rng(2)
    big, V = rng.standard_normal((6001, 50)), rng.standard_normal((50, 400))
    rows, calls = _counted(np.sin)
    got = _one_pass(big, rows, (V,), cache=0)
    np.testing.assert_allclose(got, big.T @ np.sin(big @ V), rtol=1e-12)
    assert calls == [2621, 3380]  # 400 columns: 8 x 400 > 2621 rows; the rest at once


def _two_products():
    """rows(r, P, Q) = tanh(P) ∘ Q for P = A[r] v, Q = A[r] w, with the blocks' row
    counts and the products it was given."""
    calls: list[int] = []
    given: list[tuple[np.ndarray, np.ndarray]] = []

    def rows(r, P, Q):
        calls.append(P.shape[0])
        given.append((P, Q))
        return np.tanh(P) * Q

    return rows, calls, given


def test_where_the_blas_merges_two_products_of_a_block_are_one() -> None:
    """With ``merge``, A[r] v and A[r] w are one product A[r] [v w] a block, in blocks
    below 2¹⁹ multiply-adds (50 columns, 2 products: 5242 rows), whatever the cache;
    the rows function gets the same values as from the two products."""
    rng = np.random.default_rng(4)
    big = rng.standard_normal((6001, 50))
    v, w = rng.standard_normal((50, 1)), rng.standard_normal((50, 1))
    want = big.T @ (np.tanh(big @ v) * (big @ w))
    for cache in (0, 10**12):
        rows, calls, given = _two_products()
        got = _one_pass(big, rows, (v, w), 3, cache, merge=True)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        assert calls == [5242, 759], cache
        np.testing.assert_allclose(given[1][0], big[5242:] @ v, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(given[1][1], big[5242:] @ w, rtol=1e-10, atol=1e-12)
    rows, calls, _ = _two_products()
    got = _one_pass(big, rows, (v, w), 3, 0, merge=False)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert calls == [2621, 2621, 759]  # apart: blocks of 1 MiB


@pytest.mark.parametrize(
    "case",
    ["one product", "more than 8 columns", "A below 2¹⁶ entries", "A Fortran-ordered"],
)
def test_products_the_helper_does_not_merge(case) -> None:
    """Only two or more products of at most 8 columns in all, of a C-ordered A of
    2¹⁶ entries or more: the stacking costs more than it saves below."""
    rng = np.random.default_rng(5)
    big = rng.standard_normal((6001, 50))
    v, w = rng.standard_normal((50, 1)), rng.standard_normal((50, 8))
    if case == "A below 2¹⁶ entries":
        big = big[:1310]  # 65500 entries
    if case == "A Fortran-ordered":
        big = np.asfortranarray(big)
    stacked: list[int] = []
    concatenate = np.concatenate

    def spy(arrays, *args, **kwargs):
        stacked.append(len(arrays))
        return concatenate(arrays, *args, **kwargs)

    if case == "one product":
        rows, want = (lambda r, P: np.sin(P)), big.T @ np.sin(big @ w)
        right: tuple = (w,)
    else:
        rows, want = (lambda r, P, Q: np.tanh(P) * Q), big.T @ (np.tanh(big @ v) * (big @ w))
        right = (v, w)
    try:
        np.concatenate = spy
        got = _one_pass(big, rows, right, 3, 10**12, merge=True)
    finally:
        np.concatenate = concatenate
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert stacked == [], case


def test_the_merged_logistic_hvp_agrees_with_evaluate_over_several_blocks() -> None:
    """The generated logistic HVP with the helper merging A V and A x: two blocks of
    5242 rows, the second partial."""
    d = FUSED["logistic HVP"]()
    sizes = {m: 6001, n: 50, k: 3}
    fn = lambdify(d)
    kwargs, values = _inputs(fn, d, sizes, seed=9)
    want = evaluate(d, {**values, **sizes})
    got = blocked(fn, merge=True)(**kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "version", "family", "merges"),
    [
        ("scipy-openblas", "0.3.31.188.0", "x86_64", True),
        ("openblas", "0.3.21", "x86_64", True),
        ("openblas", "0.3.20", "x86_64", False),
        ("scipy-openblas", "0.3.31", "aarch64", False),
        ("mkl-sdl", "2023.1", "x86_64", False),
        ("accelerate", "unknown", "aarch64", False),
    ],
)
def test_the_helper_merges_products_only_with_a_measured_blas(
    monkeypatch, name, version, family, merges
) -> None:
    config = {
        "Build Dependencies": {"blas": {"name": name, "version": version}},
        "Machine Information": {"host": {"family": family}},
    }
    monkeypatch.setattr(np.__config__, "CONFIG", config, raising=False)
    assert _merges() is merges


def test_without_a_readable_blas_configuration_products_stay_apart(monkeypatch) -> None:
    monkeypatch.setattr(np.__config__, "CONFIG", {}, raising=False)
    assert _merges() is False
    monkeypatch.delattr(np.__config__, "CONFIG", raising=False)
    assert _merges() is False


def test_integer_inputs_give_the_exact_gradient_as_floats() -> None:
    """Integer inputs are computed as float64 (as evaluate does; integer arithmetic
    wraps around silently): exact here, where every value is below 2⁵³."""
    d = FUSED["least squares, denominator"]()
    fn = blocked(lambdify(d))
    rng = np.random.default_rng(1)
    Av = rng.integers(-3, 4, (3001, 50))
    bv, xv = rng.integers(-3, 4, (3001, 1)), rng.integers(-3, 4, (50, 1))
    got = fn(A=Av, b=bv, x=xv)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, 2 * Av.T @ (Av @ xv - bv))


@pytest.mark.parametrize("case", ["least squares, numerator", "logistic HVP"])
def test_the_numba_backend_takes_the_two_products(case) -> None:
    pytest.importorskip("numba")
    d = FUSED[case]()
    compiled, plain = lambdify(d, backend="numba"), lambdify(d)
    assert "_one_pass" not in compiled.source and "lambda" not in compiled.source
    kwargs, _ = _inputs(plain, d, BLOCKED, seed=5)
    np.testing.assert_allclose(compiled(**kwargs), plain(**kwargs), rtol=1e-9, atol=1e-9)


# -- random entrywise losses: 𝟏ᵀ φ(A x) and friends --------------------------------------

c = sp.MatrixSymbol("c", m, 1)


@st.composite
def entrywise_losses(draw):
    """A scalar loss whose gradient is Aᵀ g(A x) with g a random entrywise tree over
    A x and operands with A's rows (b, c, y): built from bounded functions, sums,
    Hadamard products and squares (of bounded functions), numbers and a ones matrix."""
    leaves = [A * x, b, c, y, sp.OneMatrix(m, 1)]

    def tree(depth):
        if depth == 0:
            return draw(st.sampled_from(leaves[:1] * 2 + leaves[1:]))
        kind = draw(st.sampled_from(["f", "sum", "hadamard", "power", "scale"]))
        if kind == "f":
            return tree(depth - 1).applyfunc(draw(st.sampled_from(BOUNDED_FUNCTIONS)))
        if kind == "sum":
            return tree(depth - 1) + tree(depth - 1)
        # a bounded function on one side of ∘ and under ², so values stay moderate
        bounded = tree(depth - 1).applyfunc(draw(st.sampled_from(BOUNDED_FUNCTIONS)))
        if kind == "hadamard":
            return sp.HadamardProduct(tree(depth - 1), bounded)
        if kind == "power":
            return sp.HadamardPower(bounded, 2)
        return draw(st.sampled_from([-2, 3, sp.Rational(1, 2)])) * tree(depth - 1)

    g = tree(draw(st.integers(1, 3)))
    if A not in g.free_symbols:
        g = sp.HadamardProduct(g, A * x)
    return sp.OneMatrix(1, m) * g.applyfunc(draw(st.sampled_from(BOUNDED_FUNCTIONS)))


@settings(max_examples=40, deadline=None)
@given(entrywise_losses(), st.sampled_from(["numerator", "denominator"]))
def test_random_entrywise_losses_one_pass_row_by_row(f, layout) -> None:
    """Each gradient against central differences; its generated code, with the
    one-pass form forced and taken one row at a time, against ``evaluate``."""
    # large values inside make central differences of an oscillating loss untrustworthy
    probe = random_values(f, SMALL, np.random.default_rng(1))
    assume(largest_value(f, {**probe, **SMALL}) < 100)
    d = derive(f, x, layout)
    check_derivation(d, SMALL, seed=1)
    fn = lambdify(d)
    kwargs, values = _inputs(fn, d, SMALL, seed=2)
    want = evaluate(d, {**values, **SMALL})
    np.testing.assert_allclose(fn(**kwargs), want, rtol=1e-9, atol=1e-9)
    fused = "_one_pass(" in fn.source
    event(f"one pass: {fused}")
    if not fused:  # A x used twice or under a non-entrywise node
        return
    got = one_pass_row_by_row(fn)(**kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=fn.source)


def one_pass_row_by_row(fn):
    """The generated function ``fn`` with its one-pass form taken at every size (the
    size test made false) and the helper's sum taken in blocks of one row, so that
    each row of the rows function is checked on its own (test sizes are far below a
    block)."""
    return _with_helper(fn, _row_by_row)


def blocked(fn, merge=False):
    """The generated function ``fn`` with the helper taking blocks of A at every size
    the helper itself would cut (as if the cache were empty), each block's products
    apart or (``merge``) as one where the helper would merge them."""

    def helper(A, rows, right, reads=2):
        return _one_pass(A, rows, right, reads, cache=0, merge=merge)

    return _with_helper(fn, helper)


def _with_helper(fn, helper):
    guard = f".size <= {BLOCK // 8} else"
    assert "_one_pass(" in fn.source, fn.source
    namespace: dict = {}
    exec(fn.source.replace(guard, ".size < 0 else"), namespace)
    namespace["_one_pass"] = helper
    return namespace["f"]


def _row_by_row(A, rows, right, reads=2):
    return sum(
        A[i : i + 1].T.dot(rows(slice(i, i + 1), *(A[i : i + 1].dot(V) for V in right)))
        for i in range(len(A))
    )


# -- what the rows function computes, and what is computed whole -------------------------


def _source_body(d) -> str:
    return _body(lambdify(d).source)


def test_a_product_used_twice_over_the_rows_is_taken_once_a_block() -> None:
    """cos(A x) + 2 (A x - b): A_r x is one parameter of the rows function, used twice;
    the helper takes the product once a block."""
    d = gradient(residual.T * residual + sp.OneMatrix(1, m) * (A * x).applyfunc(sp.sin), x)
    body = _source_body(d)
    assert "def rows3(r, A_x):" in body and body.count("A_x") == 3, body
    assert body.rstrip().endswith("_one_pass(A, rows3, (x,))"), body
    fn = lambdify(d)
    kwargs, values = _inputs(fn, d, BLOCKED, seed=11)
    want = evaluate(d, {**values, **BLOCKED})
    np.testing.assert_allclose(blocked(fn)(**kwargs), want, rtol=1e-9, atol=1e-9)


def test_a_scaled_operand_is_scaled_in_the_rows_not_computed_whole() -> None:
    """-b is -b[r] (no t = -b before the pass, which the small branch would not use)."""
    body = _source_body(gradient(residual.T * residual, x))
    assert "- b[r]" in body and "= -b" not in body, body


def test_a_scaled_ones_matrix_is_cut_into_the_blocks_rows() -> None:
    """c·𝟏 over A's rows (tanh(1)·𝟏 in a random loss, found by the battery above):
    computed whole, then its rows; never 𝟏 with all m rows inside the rows function
    (it failed with shapes (3,1) and (5,1) not aligned)."""
    d_ = sp.Dummy("d")
    inner = sp.OneMatrix(m, 1).applyfunc(sp.Lambda(d_, sp.tanh(d_))) + sp.HadamardProduct(
        A * x, (A * x).applyfunc(sp.tanh)
    )
    f = sp.OneMatrix(1, m) * inner.applyfunc(sp.Lambda(d_, sp.tanh(d_) / (sp.tanh(d_) ** 2 + 1)))
    d = derive(f, x, "numerator")
    fn = lambdify(d)
    kwargs, values = _inputs(fn, d, SMALL, seed=2)
    want = evaluate(d, {**values, **SMALL})
    np.testing.assert_allclose(one_pass_row_by_row(fn)(**kwargs), want, rtol=1e-9, atol=1e-9)


def test_a_node_also_needed_whole_is_not_computed_again_over_the_rows() -> None:
    """tanh(A x) is computed whole for cos(tanh(A x)), which another output uses: the
    product Aᵀ (tanh(A x) ∘ cos(tanh(A x))) reads it, not a second tanh by blocks."""
    s = (A * x).applyfunc(sp.tanh)
    P = s.applyfunc(sp.cos)
    source = lambdify([A.T * sp.HadamardProduct(s, P), sp.OneMatrix(1, m) * P]).source
    assert _body(source).count("numpy.tanh(") == 1, source
