"""Textbook identities, part 2: inverses, determinants, Kronecker and Hadamard
products, elementwise functions, matrix powers, softmax and scalar chains.

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
from sympy.matrices.expressions.matexpr import MatrixElement

from matderiv import commutation, diag, logsumexp, softmax, vec

BOTH = LAYOUTS
M = sp.MatrixSymbol
T = sp.Trace
KP = sp.KroneckerProduct
X = M("X", m, n)  # rectangular variable
Xs = M("X", n, n)  # square variable
Xt = M("X", n, p)  # tall variable
Xi = sp.Inverse(Xs)
I_n = sp.Identity(n)
ONES = sp.OneMatrix(m, n)
x = M("x", n, 1)
t = sp.Symbol("t")
# Inverted and determinant matrices get non-symmetric values S + K (testing.definite_matrix:
# well conditioned, det > 0), so X⁻ᵀ ≠ X⁻¹ and a transposed answer fails.  Only a row
# whose identity needs a symmetric matrix asks for one, with symmetric={...}.


REGISTRY = Registry()
ROWS = REGISTRY.rows
row = REGISTRY.row


# -- inverses ---------------------------------------------------------------------


@row
def inv_wrt_vecX():  # Cookbook (59) + (520): d vec X⁻¹ = −(X⁻ᵀ ⊗ X⁻¹) d vec X
    return case(sp.Inverse(Xs), vec(Xs), num(-KP(Xi.T, Xi)))


@row
def inv_wrt_X():  # Cookbook (59) + (520), matrix-by-matrix goes through vec
    return case(sp.Inverse(Xs), Xs, num(-KP(Xi.T, Xi)))


@row
def inv_squared():  # Cookbook (59) + (89): d X⁻² = −X⁻¹ dX X⁻² − X⁻² dX X⁻¹
    Xi2 = Xi * Xi
    return case(sp.MatPow(Xs, -2), vec(Xs), num(-(KP(Xi2.T, Xi) + KP(Xi.T, Xi2))))


@row
def aT_Xinv_b():  # Cookbook (61)
    a, b = M("a", n, 1), M("b", n, 1)
    return case(a.T * Xi * b, Xs, den(-Xi.T * a * b.T * Xi.T))


@row
def tr_Xinv():  # Cookbook (124) with A = B = I
    return case(T(Xi), Xs, den(-(Xi * Xi).T))


@row
def tr_A_Xinv_B():  # Cookbook (124)
    A, B = M("A", p, n), M("B", n, p)
    return case(T(A * Xi * B), Xs, den(-(Xi * B * A * Xi).T))


@row
def tr_inv_X_plus_A():  # Cookbook (64)
    Y = sp.Inverse(Xs + M("A", n, n))
    return case(T(Y), Xs, den(-(Y * Y).T))


@row
def det_Xinv():  # Cookbook (62)
    return case(sp.Determinant(Xi), Xs, den(-sp.Determinant(Xi) * Xi.T))


# -- determinants -------------------------------------------------------------------


@row
def det_X():  # Cookbook (49)
    return case(sp.Determinant(Xs), Xs, den(sp.Determinant(Xs) * Xi.T))


@row(structural=BOTH)
def logdet_X():  # Cookbook (57)
    return case(sp.log(sp.Determinant(Xs)), Xs, {"denominator": Xi.T, "numerator": Xi})


@row
def logdet_X_wrt_vecX():  # Cookbook (57): vec(X⁻ᵀ)
    return case(sp.log(sp.Determinant(Xs)), vec(Xs), den(vec(Xi.T)))


@row
def det_AXB():  # Cookbook (51)
    A, B = M("A", n, n), M("B", n, n)
    Y = A * Xs * B
    return case(sp.Determinant(Y), Xs, den(sp.Determinant(Y) * Xi.T))


@row
def logdet_XT_X_tall():  # Cookbook (55): 2 (X⁺)ᵀ = 2 X (XᵀX)⁻¹, X tall (4 x 2)
    return case(sp.log(sp.Determinant(Xt.T * Xt)), Xt, den(2 * Xt * sp.Inverse(Xt.T * Xt)))


@row
def det_XT_A_X_general():  # Cookbook (54): X tall, A not symmetric
    A = M("A", n, n)
    G, H = Xt.T * A * Xt, Xt.T * A.T * Xt
    expected = sp.Determinant(G) * (A * Xt * sp.Inverse(G) + A.T * Xt * sp.Inverse(H))
    return case(sp.Determinant(G), Xt, den(expected))


@row
def det_XT_A_X_symmetric():  # Cookbook (53): X tall; holds only for A symmetric
    A = M("A", n, n)
    G = Xt.T * A * Xt
    expected = den(2 * sp.Determinant(G) * A * Xt * sp.Inverse(G))
    return case(sp.Determinant(G), Xt, expected, symmetric={A})


@row
def det_XT_A_X_square():  # Cookbook (52)
    G = Xs.T * M("A", n, n) * Xs
    return case(sp.Determinant(G), Xs, den(2 * sp.Determinant(G) * Xi.T))


@row
def det_X_squared():  # Cookbook (58) with k = 2
    Y = sp.MatPow(Xs, 2)
    return case(sp.Determinant(Y), Xs, den(2 * sp.Determinant(Y) * Xi.T))


# -- Kronecker products ---------------------------------------------------------------

# M&N Thm 3.10: vec(A ⊗ B) = (I_n ⊗ K_{q,m} ⊗ I_p)(vec A ⊗ vec B), A m x n, B p x q
SHUFFLE = KP(sp.Identity(n), commutation(q, m), sp.Identity(p))


@row
def kron_A_X():  # M&N Thm 3.10 (Cookbook (39)): d vec(A ⊗ X) = S (vec A ⊗ I) d vec X
    A, Xv = M("A", m, n), M("X", p, q)
    return case(KP(A, Xv), vec(Xv), num(SHUFFLE * KP(vec(A), sp.Identity(p * q))))


@row
def kron_X_B():  # M&N Thm 3.10 (Cookbook (39)): d vec(X ⊗ B) = S (I ⊗ vec B) d vec X
    B = M("B", p, q)
    return case(KP(X, B), X, num(SHUFFLE * KP(sp.Identity(m * n), vec(B))))


@row
def kron_x_y_wrt_x():  # Cookbook (39): x ⊗ y = (I ⊗ y) x
    y = M("y", p, 1)
    return case(KP(x, y), x, num(KP(sp.Identity(n), y)))


@row
def kron_x_y_wrt_y():  # Cookbook (39): x ⊗ y = (x ⊗ I) y
    y = M("y", p, 1)
    return case(KP(x, y), y, num(KP(x, sp.Identity(p))))


@row
def tr_A_kron_X():  # Cookbook (105)
    A = M("A", p, p)
    return case(T(KP(A, Xs)), Xs, den(T(A) * sp.Identity(n)))


@row
def tr_X_kron_X():  # Cookbook (120)
    return case(T(KP(Xs, Xs)), Xs, den(2 * T(Xs) * sp.Identity(n)))


# -- Hadamard products and powers --------------------------------------------------------


@row
def hadamard_X_A():  # Cookbook (38): vec(A ∘ dX) = diag(vec A) d vec X
    A = M("A", m, n)
    return case(sp.HadamardProduct(X, A), vec(X), num(diag(vec(A))))


@row
def hadamard_X_X():  # Cookbook (38)
    return case(sp.HadamardProduct(X, X), X, num(2 * diag(vec(X))))


@row
def hadamard_power_3():  # Cookbook (38) twice: d X^∘3 = 3 X^∘2 ∘ dX
    return case(sp.HadamardPower(X, 3), vec(X), num(3 * diag(vec(sp.HadamardPower(X, 2)))))


@row
def aT_hadamard_b():  # Cookbook (38) + (70): ∂aᵀ(X ∘ A)b/∂X = (a bᵀ) ∘ A
    a, b, A = M("a", m, 1), M("b", n, 1), M("A", m, n)
    return case(a.T * sp.HadamardProduct(X, A) * b, X, den(sp.HadamardProduct(a * b.T, A)))


@row
def hadamard_power_by_its_exponent():  # X^∘s = exp∘(s log∘X): ∂/∂s = X^∘s ∘ log∘X
    s = T(M("s", 1, 1))
    P = sp.HadamardPower(X, s)
    by_s = vec(sp.HadamardProduct(P, X.applyfunc(sp.log)))
    return case(P, M("s", 1, 1), num(by_s), positive={X})


@row
def hadamard_power_symbolic_exponent():  # Cookbook (38) with a constant scalar s
    s = T(M("s", 1, 1))
    P = sp.HadamardPower(X, s)
    return case(P, X, num(diag(vec(s * sp.HadamardPower(X, s - 1)))), positive={X})


@row
def sum_hadamard_square():  # Cookbook (115): 1ᵀ (X∘²) 1 = tr(XᵀX)
    f = sp.OneMatrix(1, m) * sp.HadamardPower(X, 2) * sp.OneMatrix(n, 1)
    return case(f, X, den(2 * X))


# -- elementwise functions: d f(X) = f'(X) ∘ dX, vec form diag(vec f'(X)) (M&N ch. 9) ------


@row
def tanh_X():
    th = X.applyfunc(sp.tanh)
    return case(th, vec(X), num(diag(vec(ONES - sp.HadamardProduct(th, th)))))


@row
def exp_X_wrt_vecXT():  # vec X = K_{n,m} vec Xᵀ
    E = X.applyfunc(sp.exp)
    return case(E, vec(X.T), num(diag(vec(E)) * commutation(n, m)))


@row
def log_X_positive():
    return case(X.applyfunc(sp.log), X, num(diag(vec(sp.HadamardPower(X, -1)))), positive={X})


@row
def sigmoid_X():
    S = X.applyfunc(sp.Lambda(t, 1 / (1 + sp.exp(-t))))
    return case(S, vec(X), num(diag(vec(sp.HadamardProduct(S, ONES - S)))))


@row
def sum_sin_X():  # ∂ 1ᵀ sin(X) 1 / ∂X = cos(X)
    f = sp.OneMatrix(1, m) * X.applyfunc(sp.sin) * sp.OneMatrix(n, 1)
    return case(f, X, den(X.applyfunc(sp.cos)))


@row
def tanh_Wx_wrt_vecW():  # + Cookbook (520): d(W x) = (xᵀ ⊗ I) d vec W
    W = M("W", p, n)
    h = (W * x).applyfunc(sp.tanh)
    g = sp.OneMatrix(p, 1) - sp.HadamardProduct(h, h)
    return case(h, vec(W), num(diag(g) * KP(x.T, sp.Identity(p))))


def _rnn():
    W, U, e, h0 = M("W", n, p), M("U", p, p), M("e", n, 1), M("h", p, 1)
    h1 = (W.T * e + U.T * h0).applyfunc(sp.tanh)
    return W, e, h1, sp.OneMatrix(p, 1) - sp.HadamardProduct(h1, h1)


@row
def rnn_step_wrt_vecWT():  # DESIGN.md: dh1/d vec(Wᵀ) = (e ⊗ I) diag(1 − h1∘h1)
    W, e, h1, g = _rnn()
    return case(h1, vec(W.T), den(KP(e, sp.Identity(p)) * diag(g)))


@row
def rnn_loss_wrt_W():  # DESIGN.md: dL/dW = e (dL/dh1 ∘ (1 − h1∘h1))ᵀ, L = cᵀ h1
    W, e, h1, g = _rnn()
    c = M("c", p, 1)
    return case(c.T * h1, W, den(e * sp.HadamardProduct(c, g).T))


# -- matrix powers ----------------------------------------------------------------------


@row
def X_squared():  # Cookbook (89): vec form I ⊗ X + Xᵀ ⊗ I
    return case(Xs**2, vec(Xs), num(KP(I_n, Xs) + KP(Xs.T, I_n)))


@row
def X_cubed():  # Cookbook (89)
    X2 = sp.MatPow(Xs, 2)
    return case(sp.MatPow(Xs, 3), Xs, num(KP(I_n, X2) + KP(Xs.T, Xs) + KP(X2.T, I_n)))


@row
def aT_X3_b():  # Cookbook (90)
    a, b, X2 = M("a", n, 1), M("b", n, 1), sp.MatPow(Xs, 2)
    expected = a * b.T * X2.T + Xs.T * a * b.T * Xs.T + X2.T * a * b.T
    return case(a.T * sp.MatPow(Xs, 3) * b, Xs, den(expected))


@row
def tr_X3():  # Cookbook (121)
    return case(T(sp.MatPow(Xs, 3)), Xs, den(3 * sp.MatPow(Xs, 2).T))


# -- softmax, log-sum-exp, logistic loss --------------------------------------------------


@row
def softmax_jacobian():  # d softmax(z) = (diag(s) − s sᵀ) dz
    z = M("z", p, 1)
    s = softmax(z)
    return case(s, z, num(diag(s) - s * s.T))


@row
def cross_entropy_softmax():  # −yᵀ log softmax(Wx): gradient (s 1ᵀy − y) xᵀ
    W, y = M("W", p, n), M("y", p, 1)
    s = softmax(W * x)
    f = -y.T * s.applyfunc(sp.log)
    return case(f, W, den((s * (sp.OneMatrix(1, p) * y) - y) * x.T))


@row
def logsumexp_minus_linear():  # logsumexp(Wx) − yᵀWx: gradient (softmax(Wx) − y) xᵀ
    W, y = M("W", p, n), M("y", p, 1)
    f = logsumexp(W * x) - y.T * W * x
    return case(f, W, den((softmax(W * x) - y) * x.T))


def _along_axis_jacobian(Y, axis):  # D - D R D, D = diag(vec Y), R the sums spread back
    rows, cols = Y.shape
    D = diag(vec(Y))
    R = KP(sp.OneMatrix(cols, cols), sp.Identity(rows))
    if axis == 0:
        R = KP(sp.Identity(cols), sp.OneMatrix(rows, rows))
    return D - D * R * D


@row
def softmax_rows_jacobian():  # each row's diag(y) − y yᵀ, in vec form D − D (𝟏𝟏ᵀ ⊗ I) D
    S = M("S", m, p)
    return case(softmax(S, axis=1), S, num(_along_axis_jacobian(softmax(S, axis=1), 1)))


@row
def softmax_cols_jacobian():  # each column's diag(y) − y yᵀ: D − D (I ⊗ 𝟏𝟏ᵀ) D
    S = M("S", m, p)
    return case(softmax(S, axis=0), S, num(_along_axis_jacobian(softmax(S, axis=0), 0)))


@row
def logsumexp_rows_jacobian():  # d logsumexp_rows(S) = (Y∘dS) 𝟏: (𝟏ᵀ ⊗ I) diag(vec Y)
    S = M("S", m, p)
    Y = softmax(S, axis=1)
    return case(
        logsumexp(S, axis=1), S, num(KP(sp.OneMatrix(1, p), sp.Identity(m)) * diag(vec(Y)))
    )


@row
def logsumexp_cols_sum():  # Σ_j logsumexp of column j: gradient softmax_cols(S)
    S = M("S", m, p)
    return case(logsumexp(S, axis=0) * sp.OneMatrix(p, 1), S, den(softmax(S, axis=0)))


@row
def batch_cross_entropy():  # 𝟏ᵀ logsumexp_rows(X W) − 𝟏ᵀ (Y∘X W) 𝟏: Xᵀ (softmax_rows(X W) − Y)
    Xb, W, Y = M("X", q, n), M("W", n, p), M("Y", q, p)
    Z = Xb * W
    f = sp.OneMatrix(1, q) * logsumexp(Z, axis=1) - sp.OneMatrix(1, q) * sp.HadamardProduct(
        Y, Z
    ) * sp.OneMatrix(p, 1)
    return case(f, W, den(Xb.T * (softmax(Z, axis=1) - Y)))


@row
def attention_wrt_Q():  # tr(Cᵀ softmax_rows(Q Kᵀ) V): (A∘(G − (A∘G) 𝟏 𝟏ᵀ)) K, G = C Vᵀ
    Q, K, V, C = M("Q", m, n), M("K", p, n), M("V", p, q), M("C", m, q)
    A, G = softmax(Q * K.T, axis=1), C * V.T
    weighted = sp.HadamardProduct(A, G) * sp.OneMatrix(p, 1) * sp.OneMatrix(1, p)
    expected = sp.HadamardProduct(A, G - weighted) * K
    return case(T(C.T * A * V), Q, den(expected))


@row
def logistic_loss():  # log(1 + exp(−wᵀx)): gradient −x / (1 + exp(wᵀx))
    w = M("w", n, 1)
    f = sp.log(1 + sp.exp(-(w.T * x)))
    return case(f, w, den(-x / (1 + sp.exp(T(w.T * x)))))


# -- scalar chains ----------------------------------------------------------------------


@row
def exp_tr_X():  # Cookbook (99) + chain rule
    return case(sp.exp(T(Xs)), Xs, den(sp.exp(T(Xs)) * I_n))


@row
def exp_of_a_sum_times_x():  # product rule: exp(u) ran to 50 nested exp factors (NaN) when u
    a = M("a", n, 1)  # was a sum and the Jacobian a sum of terms
    u = T(a.T * x) + 1
    return case(sp.exp(u) * x, x, num(sp.exp(u) * (sp.Identity(n) + x * a.T)))


@row
def exp_of_a_sum_times_X():  # d exp(tr X + 1) X = exp(tr X + 1) (dX + tr(dX) X)
    u = T(Xs) + 1
    return case(sp.exp(u) * Xs, Xs, num(sp.exp(u) * (sp.Identity(n**2) + vec(Xs) * vec(I_n).T)))


@row
def tr_X_squared():  # Cookbook (120): ∂ tr(X)² / ∂X = 2 tr(X) I
    return case(T(Xs) ** 2, Xs, den(2 * T(Xs) * I_n))


@row
def aT_x_squared():  # Cookbook (69) + chain rule; SymPy makes (aᵀx)² a MatPow
    a = M("a", n, 1)
    return case((a.T * x) ** 2, x, den(2 * T(a.T * x) * a))


@row
def exp_of_entry_wT_x():  # Cookbook (69) + chain rule, through the entry (wᵀx)₁₁
    w = M("w", n, 1)
    return case(sp.exp(MatrixElement(w.T * x, 0, 0)), w, den(sp.exp(T(w.T * x)) * x))


@row
def frobenius_norm():  # Cookbook (115) + chain rule: ∂‖X‖_F/∂X = X / ‖X‖_F
    F = sp.sqrt(T(X.T * X))
    return case(F, X, den(X / F))


# -- the harness -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("spec", ROWS, ids=lambda r: r.id)
def test_identity(spec: Row, layout: str) -> None:
    check_identity(spec, layout)


def test_table_is_large_enough() -> None:
    assert len(ROWS) >= 40
    assert len({r.id for r in ROWS}) == len(ROWS)
