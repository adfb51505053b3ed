"""Aᵀ g(A V) in one pass over A (codegen/one_pass.py): which products take that
form, that the blocked computation agrees with ``evaluate`` and with central
differences at sizes where A is cut into several blocks (the last one partial),
that forms whose rows need other rows of A keep the two products, and what the
rows function computes (the helper itself: test_codegen_one_pass_helper.py).
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from random_trees import BOUNDED_FUNCTIONS, largest_value

from matderiv import derive, evaluate, gradient, hvp, lambdify, logsumexp
from matderiv.codegen.helpers import _merged_pass, _one_pass
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


@settings(max_examples=25, deadline=None)
@given(entrywise_losses())
def test_random_entrywise_hvps_with_merged_products(f) -> None:
    """Hessian-vector products of random losses: their rows functions take A V and
    A x (and more) as parameters, in the order of the tuple of right factors; the
    helper's merged form (one product with the stacked factors) forced at every size
    against ``evaluate``."""
    probe = random_values(f, SMALL, np.random.default_rng(1))
    assume(largest_value(f, {**probe, **SMALL}) < 100)
    d = hvp(f, x)
    fn = lambdify(d)
    kwargs, values = _inputs(fn, d, SMALL, seed=3)
    want = evaluate(d, {**values, **SMALL})
    np.testing.assert_allclose(fn(**kwargs), want, rtol=1e-8, atol=1e-8)
    right = re.findall(r"_one_pass\(A, \w+, \(([^)]*)\)", fn.source)
    event(f"one-pass products: {[len(r.split(',')) - r.endswith(',') for r in right]}")
    if not right:
        return
    merged = _with_helper(fn, lambda A, rows, right, reads=2: _merged_pass(A, rows, right))
    got = merged(**kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8, err_msg=fn.source)


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
