"""Textbook identities, part 1: linear, quadratic and trace forms.

Each row is one identity from the Matrix Cookbook (Petersen & Pedersen, 2012;
equation numbers cited per row) or Magnus & Neudecker (M&N, 3rd ed. 2019).
Every row runs in both layouts and is checked three ways:

1. ``check_derivation``: matderiv's result against central finite differences
   at small *distinct* sizes (so a transposed or mis-vectorised answer fails);
2. the textbook closed form, written as a SymPy expression, evaluated at random
   values and compared numerically with ``d.result``;
3. for a few of the simplest rows, ``d.result == expected`` structurally.

Expected forms are given in one layout; the other is its transpose (numerator
J = d vec(Y)/d vec(X)ᵀ, denominator Jᵀ; a scalar's gradient is shaped like X in
denominator layout and like Xᵀ in numerator layout).
"""

from __future__ import annotations

import pytest
import sympy as sp
from identity_harness import (
    LAYOUTS,
    Registry,
    Row,
    case,
    check_identity,
    den,
    m,
    n,
    num,
    p,
    q,
)

from matderiv import commutation, vec

BOTH = LAYOUTS
M = sp.MatrixSymbol
T = sp.Trace
KP = sp.KroneckerProduct
X = M("X", m, n)  # rectangular variable
Xs = M("X", n, n)  # square variable
x = M("x", n, 1)


REGISTRY = Registry()
ROWS = REGISTRY.rows
row = REGISTRY.row


# -- linear forms ---------------------------------------------------------------


@row
def aT_x():  # Cookbook (69)
    a = M("a", n, 1)
    return case(a.T * x, x, den(a))


@row(structural=BOTH)
def vec_inner_product():  # ‖X‖²_F as vec(X)ᵀ vec(X): 2X (it was unvec(2 vec(X)))
    return case(vec(X).T * vec(X), X, den(2 * X))


@row
def xT_a():  # Cookbook (69)
    a = M("a", n, 1)
    return case(x.T * a, x, den(a))


@row(structural=BOTH)
def aT_X_b():  # Cookbook (70)
    a, b = M("a", m, 1), M("b", n, 1)
    return case(a.T * X * b, X, {"denominator": a * b.T, "numerator": b * a.T})


@row
def aT_X_b_wrt_vecX():  # Cookbook (70) + (520): d(aᵀXb) = (b ⊗ a)ᵀ d vec X
    a, b = M("a", m, 1), M("b", n, 1)
    return case(a.T * X * b, vec(X), den(KP(b, a)))


@row
def aT_X_b_wrt_vecXT():  # Cookbook (70): vec((a bᵀ)ᵀ) = a ⊗ b
    a, b = M("a", m, 1), M("b", n, 1)
    return case(a.T * X * b, vec(X.T), den(KP(a, b)))


@row
def aT_XT_b():  # Cookbook (71)
    a, b = M("a", n, 1), M("b", m, 1)
    return case(a.T * X.T * b, X, den(b * a.T))


@row
def aT_X_a():  # Cookbook (72)
    a = M("a", n, 1)
    return case(a.T * Xs * a, Xs, den(a * a.T))


@row(structural=("numerator",))
def A_X_B_wrt_vecX():  # Cookbook (520): vec(AXB) = (Bᵀ ⊗ A) vec X
    A, B = M("A", p, m), M("B", n, q)
    return case(A * X * B, vec(X), num(KP(B.T, A)))


@row
def A_X_B_wrt_X():  # Cookbook (520), matrix-by-matrix goes through vec
    A, B = M("A", p, m), M("B", n, q)
    return case(A * X * B, X, num(KP(B.T, A)))


@row
def A_X_B_wrt_vecXT():  # Cookbook (520) + M&N Thm 3.9: vec X = K_{n,m} vec Xᵀ
    A, B = M("A", p, m), M("B", n, q)
    return case(A * X * B, vec(X.T), num(KP(B.T, A) * commutation(n, m)))


@row(structural=BOTH)
def XT_wrt_X():  # M&N Thm 3.9: vec Xᵀ = K_{m,n} vec X
    return case(X.T, X, {"numerator": commutation(m, n), "denominator": commutation(n, m)})


@row
def XT_wrt_vecXT():  # d vec(Xᵀ)/d vec(Xᵀ)ᵀ = I
    return case(X.T, vec(X.T), num(sp.Identity(m * n)))


@row
def X_wrt_X():  # Cookbook (73): ∂X/∂X_ij = J^ij, i.e. I_{mn}
    return case(X, X, num(sp.Identity(m * n)))


@row
def A_XT_B():  # Cookbook (520) + M&N Thm 3.9
    A, B = M("A", p, n), M("B", m, q)
    return case(A * X.T * B, vec(X), num(KP(B.T, A) * commutation(m, n)))


@row
def A_x():  # Cookbook (69) generalised: ∂(Ax)/∂xᵀ = A
    A = M("A", p, n)
    return case(A * x, x, num(A))


@row
def xT_A():  # vec(xᵀA) = Aᵀ x (M&N ch. 9)
    A = M("A", n, p)
    return case(x.T * A, x, num(A.T))


@row
def X_a():  # Cookbook (520): vec(X a) = (aᵀ ⊗ I_m) vec X
    a = M("a", n, 1)
    return case(X * a, vec(X), num(KP(a.T, sp.Identity(m))))


@row
def sylvester_AX_plus_XB():  # Cookbook (520): vec(AX + XB) = (I ⊗ A + Bᵀ ⊗ I) vec X
    A, B, eye = M("A", n, n), M("B", n, n), sp.Identity(n)
    return case(A * Xs + Xs * B, Xs, num(KP(eye, A) + KP(B.T, eye)))


# -- quadratic forms ---------------------------------------------------------------


@row
def xT_A_x():  # Cookbook (81)
    A = M("A", n, n)
    return case(x.T * A * x, x, den((A + A.T) * x))


@row
def xT_x():  # Cookbook (81) with B = I
    return case(x.T * x, x, den(2 * x))


@row
def bT_XT_X_c():  # Cookbook (77)
    b, c = M("b", n, 1), M("c", n, 1)
    return case(b.T * X.T * X * c, X, den(X * (b * c.T + c * b.T)))


@row
def affine_bilinear():  # Cookbook (78): (Ax+b)ᵀC(Dx+e)
    A, b, C, D, e = M("A", p, n), M("b", p, 1), M("C", p, q), M("D", q, n), M("e", q, 1)
    expected = A.T * C * (D * x + e) + D.T * C.T * (A * x + b)
    return case((A * x + b).T * C * (D * x + e), x, den(expected))


@row
def least_squares():  # Cookbook (83) with D = I: ‖Xa − b‖²
    a, b = M("a", n, 1), M("b", m, 1)
    r = X * a - b
    return case(r.T * r, X, den(2 * r * a.T))


@row
def least_squares_wrt_vecX():  # Cookbook (83) + vec(u aᵀ) = a ⊗ u
    a, b = M("a", n, 1), M("b", m, 1)
    r = X * a - b
    return case(r.T * r, vec(X), den(2 * KP(a, r)))


@row
def weighted_quadratic_Xb_c():  # Cookbook (83)
    b, c, D = M("b", n, 1), M("c", m, 1), M("D", m, m)
    r = X * b + c
    return case(r.T * D * r, X, den((D + D.T) * r * b.T))


@row
def bT_XT_D_X_c():  # Cookbook (82)
    b, c, D = M("b", n, 1), M("c", n, 1), M("D", m, m)
    return case(b.T * X.T * D * X * c, X, den(D.T * X * b * c.T + D * X * c * b.T))


@row
def weighted_residual_wrt_A():  # Cookbook (88), W not assumed symmetric
    A, s, y, W = M("A", m, n), M("s", n, 1), M("y", m, 1), M("W", m, m)
    r = y - A * s
    return case(r.T * W * r, A, den(-(W + W.T) * r * s.T))


@row
def weighted_residual_wrt_s():  # Cookbook (84), W not assumed symmetric
    A, s, y, W = M("A", m, n), M("s", n, 1), M("y", m, 1), M("W", m, m)
    r = y - A * s
    return case(r.T * W * r, s, den(-A.T * (W + W.T) * r))


@row
def quadratic_plus_linear():  # Cookbook (95): ∇(xᵀAx + bᵀx) = (A + Aᵀ)x + b
    A, b = M("A", n, n), M("b", n, 1)
    return case(x.T * A * x + b.T * x, x, den((A + A.T) * x + b))


@row
def euclidean_norm():  # Cookbook (129); SymPy makes sqrt of the 1 x 1 (x−a)ᵀ(x−a) a MatPow
    a = M("a", n, 1)
    r = x - a
    return case(sp.sqrt(r.T * r), x, den(r / sp.sqrt(T(r.T * r))))


# -- traces --------------------------------------------------------------------------


@row
def tr_X():  # Cookbook (99)
    return case(T(Xs), Xs, den(sp.Identity(n)))


@row(structural=BOTH)
def tr_AX():  # Cookbook (100)
    A = M("A", n, m)
    return case(T(A * X), X, {"denominator": A.T, "numerator": A})


@row
def tr_XA():  # Cookbook (100)
    A = M("A", n, m)
    return case(T(X * A), X, den(A.T))


@row
def tr_AXB():  # Cookbook (101)
    A, B = M("A", p, m), M("B", n, p)
    return case(T(A * X * B), X, den(A.T * B.T))


@row
def tr_AXB_wrt_vecXT():  # Cookbook (101): vec((AᵀBᵀ)ᵀ) = vec(BA)
    A, B = M("A", p, m), M("B", n, p)
    return case(T(A * X * B), vec(X.T), den(vec(B * A)))


@row
def tr_A_XT_B():  # Cookbook (102)
    A, B = M("A", p, n), M("B", m, p)
    return case(T(A * X.T * B), X, den(B * A))


@row
def tr_XT_A():  # Cookbook (103)
    A = M("A", m, n)
    return case(T(X.T * A), X, den(A))


@row
def tr_A_XT():  # Cookbook (104)
    A = M("A", m, n)
    return case(T(A * X.T), X, den(A))


@row
def tr_X2():  # Cookbook (106)
    return case(T(Xs**2), Xs, den(2 * Xs.T))


@row
def tr_X2_B():  # Cookbook (107)
    B = M("B", n, n)
    return case(T(Xs**2 * B), Xs, den((Xs * B + B * Xs).T))


@row
def tr_XT_B_X():  # Cookbook (108)
    B = M("B", m, m)
    return case(T(X.T * B * X), X, den(B * X + B.T * X))


@row
def tr_X_B_XT():  # Cookbook (111)
    B = M("B", n, n)
    return case(T(X * B * X.T), X, den(X * B.T + X * B))


@row
def tr_A_X_B_X():  # Cookbook (114)
    A, B = M("A", n, m), M("B", n, m)
    return case(T(A * X * B * X), X, den(A.T * X.T * B.T + B.T * X.T * A.T))


@row
def tr_XT_X():  # Cookbook (115)
    return case(T(X.T * X), X, den(2 * X))


@row
def tr_XT_X_wrt_vecX():  # Cookbook (115): 2 vec X
    return case(T(X.T * X), vec(X), den(2 * vec(X)))


@row
def tr_BT_XT_C_X_B():  # Cookbook (116)
    B, C = M("B", n, p), M("C", m, m)
    return case(T(B.T * X.T * C * X * B), X, den(C.T * X * B * B.T + C * X * B * B.T))


@row
def tr_XT_B_X_C():  # Cookbook (117)
    B, C = M("B", m, m), M("C", n, n)
    return case(T(X.T * B * X * C), X, den(B * X * C + B.T * X * C.T))


@row
def tr_A_X_B_XT_C():  # Cookbook (118)
    A, B, C = M("A", p, m), M("B", n, n), M("C", m, p)
    return case(T(A * X * B * X.T * C), X, den(A.T * C.T * X * B.T + C * A * X * B))


@row
def tr_affine_gram():  # Cookbook (119): tr((AXB + C)(AXB + C)ᵀ)
    A, B, C = M("A", p, m), M("B", n, q), M("C", p, q)
    Y = A * X * B + C
    return case(T(Y * Y.T), X, den(2 * A.T * Y * B.T))


# -- the harness -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("spec", ROWS, ids=lambda r: r.id)
def test_identity(spec: Row, layout: str) -> None:
    check_identity(spec, layout)


def test_table_is_large_enough() -> None:
    assert len(ROWS) >= 40
    assert len({r.id for r in ROWS}) == len(ROWS)
