"""(xᵀ A x)[0, 0]: SymPy sums the entries; matderiv reads the sum back as the 1 x 1
product, only where SymPy's reading has the sum's value, and refuses the rest."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, event, given
from hypothesis import strategies as st
from random_trees import ONE, VARIABLES, budget, expressions, largest_value
from random_trees import SIZES as TREE_SIZES
from sympy.matrices.expressions.matexpr import MatrixElement

from matderiv import EvaluationError, UnsupportedNode, derive, evaluate, gradient, hessian, verify
from matderiv.entry_sums import entry_sums_as_matrices
from matderiv.testing import check_derivation, random_values

n, m = sp.symbols("n m", integer=True, positive=True)
A, X = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("X", n, n)
Y = sp.MatrixSymbol("Y", m, n)
x, b = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
lam = sp.Symbol("lambda", positive=True)
SIZES = {n: 3, m: 4}
ONES_ROW = sp.OneMatrix(1, n)


@pytest.mark.parametrize(
    ("expr", "wrt"),
    [
        ((x.T * A * x)[0, 0], x),
        ((b.T * x)[0, 0] + sp.Trace(X), x),
        ((x.T * X * x)[0, 0] ** 2, X),
        (lam * (x.T * Y.T * Y * x)[0, 0], x),
        ((x.T * sp.Inverse(X) * b)[0, 0], X),
        (sp.log((x.T * (A + X) * x)[0, 0] ** 2), X),
        (sp.sqrt((x.T * x)[0, 0]), x),  # SymPy writes Sum(x[i, 0]**2): read as x[i]·x[i]
        # entries of sums: SymPy writes x[i, 0] - b[i, 0]
        (((x - b).T * sp.Inverse(X) * (x - b))[0, 0], X),
        (((x - b).T * A * (x - b))[0, 0], x),
        (((x + 2 * b).T * (X - A) * b)[0, 0], X),
        # a log-sum-exp by hand: SymPy writes Σᵢ exp(x[i, 0]), which from_index_summation
        # does not read (it was refused)
        (sp.log((ONES_ROW * x.applyfunc(sp.exp))[0, 0]), x),
        (sp.log((ONES_ROW * x.applyfunc(sp.exp))[0, 0]) - (b.T * x)[0, 0], x),
        ((b.T * x.applyfunc(sp.exp))[0, 0], x),
        ((ONES_ROW * sp.HadamardProduct(b, x.applyfunc(sp.tanh)))[0, 0], x),
        ((x.T.applyfunc(sp.sin) * b)[0, 0] ** 2, x),  # a row's entries x[0, i]
        ((ONES_ROW * (x.applyfunc(sp.exp) + b.applyfunc(sp.cos)))[0, 0] * lam, x),
    ],
)
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_an_entry_of_a_one_by_one_product_is_differentiated(expr, wrt, layout) -> None:
    assert expr.has(sp.Sum)  # what SymPy built
    d = derive(expr, wrt, layout)
    assert not d.result.has(sp.Sum)
    check_derivation(d, SIZES)


def test_a_sum_mixing_two_vectors_in_one_function_is_still_refused() -> None:
    f = (ONES_ROW * (x + b).applyfunc(sp.exp))[0, 0]  # exp(x[i] + b[i]): not one vector's
    with pytest.raises(UnsupportedNode, match="could not read this one"):
        derive(f, x)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_dimensions_without_assumptions_are_read_as_sizes(layout) -> None:
    """sp.Symbol("p") with no integer=True, as most users write a dimension: the
    reading is still checked at integer sizes (it was refused: p got a float value)."""
    p = sp.Symbol("p")
    S, mu, v = sp.MatrixSymbol("S", p, p), sp.MatrixSymbol("mu", p, 1), sp.MatrixSymbol("v", p, 1)
    f = -sp.log(sp.Determinant(S)) / 2 - ((v - mu).T * S.I * (v - mu))[0, 0] / 2
    assert f.has(sp.Sum)
    for wrt in (S, mu):
        check_derivation(derive(f, wrt, layout), {p: 3})


def test_the_gradient_hessian_and_verify_read_as_the_product() -> None:
    f = (x.T * A * x)[0, 0]
    assert gradient(f, x).result == gradient(x.T * A * x, x).result  # (A + Aᵀ) x
    assert hessian(f, x).result == hessian(x.T * A * x, x).result
    assert verify("(A + A.T) @ x", f, x, "denominator")


def test_a_sum_sympy_cannot_read_back_is_refused() -> None:
    kron = (sp.KroneckerProduct(x, x).T * sp.KroneckerProduct(b, b))[0, 0]
    assert entry_sums_as_matrices(kron) == kron
    with pytest.raises(UnsupportedNode, match="could not read this one"):
        derive(kron, x)


def test_a_reading_without_the_sums_value_is_refused(monkeypatch) -> None:
    """The reading is checked against the sum's value: a wrong one is never used."""
    wrong = MatrixElement(x.T * A * A * x, 0, 0)
    monkeypatch.setattr(sp.MatrixExpr, "from_index_summation", lambda *args, **kw: wrong)
    f = (x.T * A * x)[0, 0]
    assert entry_sums_as_matrices(f) == f
    with pytest.raises(UnsupportedNode, match="sum over entries"):
        derive(f, x)


def test_an_entry_of_a_larger_matrix_is_still_refused() -> None:
    with pytest.raises(UnsupportedNode, match="only the entry of a 1 x 1 matrix"):
        derive(X[0, 1], X)


def test_evaluate_reads_the_sum_back_or_says_why_not() -> None:
    """evaluate((xᵀ X x)[0, 0]**2) said "no value given for _i_2"."""
    rng = np.random.default_rng(0)
    Xv, xv, bv = (
        rng.standard_normal((3, 3)),
        rng.standard_normal((3, 1)),
        rng.standard_normal((3, 1)),
    )
    got = evaluate((x.T * X * x)[0, 0] ** 2, {X: Xv, x: xv})
    assert got == pytest.approx((xv.T @ Xv @ xv).item() ** 2, rel=1e-12)
    kron = (sp.KroneckerProduct(x, x).T * sp.KroneckerProduct(b, b))[0, 0]
    with pytest.raises(EvaluationError, match=r"cannot be evaluated.*Hint: use sp.Trace"):
        evaluate(kron, {x: xv, b: bv})


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_an_entry_sum_in_a_where_definition_is_read_back(layout) -> None:
    h = sp.MatrixSymbol("h", n, 1)
    where = {h: sp.tanh((x.T * X * x)[0, 0]) * X * x}
    d = derive((h.T * h)[0, 0], X, layout, where=where)
    assert not any(v.has(sp.Sum) for v in (d.result, *d.definitions.values()))
    check_derivation(d, SIZES)


# -- random entries, as SymPy builds them ------------------------------------------------


@budget(30)  # SymPy takes 0.1-0.5 s to read one sum
@given(st.data())
def test_random_entries_are_read_right_or_refused(data) -> None:
    """E[0, 0] of a random 1 x 1 tree, which SymPy writes as a sum: where matderiv reads
    the sum back the derivative matches finite differences in both layouts; where it
    cannot, derive refuses it (UnsupportedNode), never differentiating it as a constant."""
    var = data.draw(st.sampled_from(VARIABLES))
    tree = data.draw(expressions((ONE, ONE), var, 3))
    entry = tree[0, 0]
    assume(entry.has(sp.Sum))
    layout = data.draw(st.sampled_from(("numerator", "denominator")))
    unread = entry_sums_as_matrices(entry).has(sp.Sum)
    event(f"read back: {not unread}")
    if unread:
        with pytest.raises(UnsupportedNode, match="sum over entries"):
            derive(entry, var, layout)
        return
    env = {
        **random_values(sp.Tuple(tree, var), TREE_SIZES, np.random.default_rng(0)),
        **TREE_SIZES,
    }
    assume(largest_value(tree, env) < 1e3)
    want = np.asarray(evaluate(tree, env), dtype=float).item()
    assert evaluate(entry, env) == pytest.approx(want, rel=1e-9, abs=1e-12)
    check_derivation(derive(entry, var, layout), TREE_SIZES, trials=1, rtol=1e-5)
