"""verify's expansion into terms (matderiv/expand.py): products distributed over
sums without SymPy's doit, like terms collected, the number of terms capped; each
expansion's sum equals the expression at random integer values."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import matderiv
from matderiv import expand
from matderiv.expand import expanded_terms

n = 3
A, B, C, D = (sp.MatrixSymbol(k, n, n) for k in "ABCD")
u, v = sp.MatrixSymbol("u", n, 1), sp.MatrixSymbol("v", n, 1)
a, b = sp.symbols("a b")
Id = sp.Identity(n)

CASES = {
    "A (B + C)": (A * (B + C), 2),
    "(A + B) C (D + I)": ((A + B) * C * (D + Id), 4),
    "(A + B)ᵀ": (sp.Transpose(sp.MatAdd(A, B, evaluate=False)), 2),
    "(A (B + C))ᵀ": (sp.Transpose(sp.MatMul(A, B + C)), 2),
    "I ⊗ (A + Aᵀ)": (sp.KroneckerProduct(Id, A + A.T), 2),
    "(2A) ⊗ (3B) + A ⊗ B: like terms": (
        sp.KroneckerProduct(2 * A, 3 * B) + sp.KroneckerProduct(A, B),
        1,
    ),
    "A (B + C) + A B: like terms": (A * (B + C) + A * B, 2),
    "(a + b) A: one term (like terms are collected)": (sp.MatMul(a + b, A), 1),
    "u vᵀ (A - A)": (u * v.T * sp.MatAdd(A, -A, evaluate=False), 0),
    "A ∘ (B + C) (a Hadamard product is one term)": (sp.HadamardProduct(A, B + C), 1),
}


def _explicit(expr, values):
    return np.array(expr.xreplace(values).as_explicit().evalf(), dtype=float)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_terms_sum_to_the_expression(case) -> None:
    expr, count = CASES[case]
    terms = expanded_terms(expr)
    nonzero = [t for t in terms if not isinstance(t, sp.ZeroMatrix)]
    assert len(nonzero) == count, terms
    rng = np.random.default_rng(len(case))
    values = {s: sp.Matrix(rng.integers(-3, 4, s.shape)) for s in (A, B, C, D, u, v)}
    values.update({a: 2, b: -5})
    want = _explicit(expr, values)
    got = sum((_explicit(t, values) for t in terms), np.zeros_like(want))
    np.testing.assert_allclose(got, want)


def test_no_product_is_evaluated_by_sympy(monkeypatch) -> None:
    """SymPy's MatMul.doit, which its own expand calls on every product it builds,
    is never called (on a 300-node HVP it took 10 s; verify ran for minutes)."""

    def refuse(self, **hints):
        raise AssertionError(f"doit on {self}")

    monkeypatch.setattr(sp.MatMul, "doit", refuse)
    expr = sp.MatMul(A + B, C + D, sp.Transpose(sp.MatMul(A, B + Id)))
    assert len(expanded_terms(expr)) == 8


def test_more_terms_than_the_cap_leave_the_expression_whole(monkeypatch) -> None:
    monkeypatch.setattr(expand, "MAX_TERMS", 7)
    expr = sp.MatMul(A + B, C + D, A + Id)  # 8 terms
    assert expanded_terms(expr) == [expr]
    monkeypatch.setattr(expand, "MAX_TERMS", 8)
    assert len(expanded_terms(expr)) == 8


def test_verify_of_a_long_hvp_through_kronecker_and_softmax_is_correct() -> None:
    """Found by the second-order random battery: verify of this HVP (correct) ran for
    minutes in SymPy's expand; the same result, now quickly."""
    m, p = 2, 4
    A_mm, A_np = sp.MatrixSymbol("A_mm", m, m), sp.MatrixSymbol("A_np", n, p)
    B_1n, x = sp.MatrixSymbol("B_1n", 1, n), sp.MatrixSymbol("x", p, 1)
    t = sp.Dummy("t")
    F = A_mm.applyfunc(sp.exp).applyfunc(sp.exp)
    S = matderiv.softmax(matderiv.softmax(A_np * x * B_1n, axis=0), axis=0)
    f = sp.Trace(sp.KroneckerProduct(F, S.applyfunc(sp.Lambda(t, t / (t**2 + 1)))))
    P = matderiv.hvp(f, x)
    V = sp.MatrixSymbol("V", p, 1)
    assert matderiv.verify(P.result, f, x, order=2, direction=V).kind == "correct"
    wrong = matderiv.verify(2 * P.result, f, x, order=2, direction=V)
    assert wrong.kind == "factor" and wrong.details["factor"] == 2, wrong.message
