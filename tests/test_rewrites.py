"""Each rewrite rule: it fires where it should, keeps the value, and declines otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from counting import count_calls
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from matderiv import evaluate
from matderiv.canon import hadamard, matadd, matmul, transpose
from matderiv.named_functions import named_function
from matderiv.nodes import (
    AsScalar,
    CommutationMatrix,
    Diagonal,
    DiagVector,
    Reshape,
    Vec,
)
from matderiv.rewrites import (
    NODE_RULES,
    PAIR_RULES,
    commutation_inverse,
    commutation_through_kron,
    commutation_trivial,
    commutation_vec,
    constant_power,
    diag_of_ones,
    diag_power,
    diag_product,
    diag_scalar,
    diag_selection,
    diag_sum,
    diag_times_vector,
    diagonal_of_diag,
    diagonal_of_outer,
    diagonal_of_product,
    diagonal_of_transpose,
    factor_hadamard,
    factor_scalar,
    factor_sum,
    hadamard_numbers,
    hadamard_ones,
    inner_with_inverse,
    inverse_cancel,
    inverse_of_kron,
    kron_commutation_swap,
    kron_factor_sum,
    kron_outer_product,
    kron_scalar_factor,
    kron_through_sum,
    kron_unit_factor,
    kron_vec,
    kron_vector_sandwich,
    like_terms,
    log_of_exp,
    mixed_product,
    negated_sum,
    negative_sum_factor,
    ones_through_constants,
    ones_through_softmax,
    power_of_power,
    product_times_inverse,
    reshape_of_vec,
    scalar_in_product,
    scalar_normal_form,
    scalar_of_constant,
    scalar_powers,
    sigmoid_complement,
    sigmoid_of_exp,
    sign_with_abs,
    softmax_of_exp,
    trace_of_identity,
    trace_of_outer,
    trace_of_scalar,
    trace_of_scaled,
    trace_of_transpose,
    vec_hadamard,
    vec_of_reshape,
    vec_of_vector,
    vec_row_kron,
    vec_scalar,
    vec_sum,
    vector_through_sum,
)
from matderiv.simplify import simplify
from matderiv.softmax_nodes import Softmax

m, n, p, q = sp.symbols("m n p q", integer=True, positive=True)
DIMS = {m: 2, n: 3, p: 4, q: 5}
A = sp.MatrixSymbol("A", m, n)
B = sp.MatrixSymbol("B", p, q)
C = sp.MatrixSymbol("C", n, p)
D = sp.MatrixSymbol("D", q, m)
X = sp.MatrixSymbol("X", q, n)
a = sp.MatrixSymbol("a", m, 1)
b = sp.MatrixSymbol("b", n, 1)
r = sp.MatrixSymbol("r", 1, n)
v = sp.MatrixSymbol("v", n, 1)
w = sp.MatrixSymbol("w", n, 1)
R = sp.MatrixSymbol("R", p, n)
E = sp.MatrixSymbol("E", n, p)
S = sp.MatrixSymbol("S", n, n)
SUM_EXP_V = AsScalar(sp.OneMatrix(1, n) * v.applyfunc(sp.exp))
EXP_V_T = v.applyfunc(sp.exp).T  # SymPy's exp(vᵀ), with a fresh Dummy at each call
EXP_V = v.applyfunc(sp.exp)
DET, TR = sp.Determinant(S), sp.Trace(S)
Q = sp.MatrixSymbol("Q", n, n)
I_N = sp.Identity(n)
G = sp.MatrixSymbol("G", m, n)
Y = sp.MatrixSymbol("Y", p, m)


#: E = diag(vec(I_n)) (𝟏_n ⊗ I_n), n² x n, and Eᵀ, as two factors each
_E = (DiagVector(Vec(I_N)), sp.KroneckerProduct(sp.OneMatrix(n, 1), I_N))
_E_T = (sp.KroneckerProduct(sp.OneMatrix(1, n), I_N), DiagVector(Vec(I_N)))


def _sigma(u: sp.Basic) -> sp.Basic:
    return ElementwiseApplyFunction(named_function("sigmoid"), u)


def _hp(*factors: sp.Basic) -> sp.Basic:
    return hadamard(sp.HadamardProduct(*factors))


def _values(*exprs: sp.Basic) -> dict:
    rng = np.random.default_rng(1)
    symbols = set().union(*(e.free_symbols for e in exprs))
    return {
        s: rng.standard_normal(tuple(int(d.subs(DIMS)) for d in s.shape))
        for s in symbols
        if isinstance(s, sp.MatrixSymbol)
    }


def _same_value(before: sp.Basic, after: sp.Basic) -> None:
    values = _values(before, after)
    values = {**values, **DIMS}
    np.testing.assert_allclose(evaluate(before, values), evaluate(after, values), atol=1e-10)


# (rule, arguments, expected result); a node rule takes one argument, a pair rule two.
FIRES = [
    (kron_unit_factor, (sp.KroneckerProduct(sp.Identity(1), A),), A),
    (kron_outer_product, (sp.KroneckerProduct(a, b.T),), a * b.T),
    (kron_outer_product, (sp.KroneckerProduct(b.T, a),), a * b.T),
    (commutation_trivial, (CommutationMatrix(1, n),), sp.Identity(n)),
    (commutation_trivial, (CommutationMatrix(n, 1),), sp.Identity(n)),
    (trace_of_identity, (sp.Trace(sp.Identity(1)),), sp.S.One),
    (trace_of_identity, (sp.Trace(sp.Identity(n)),), n),
    (trace_of_identity, (sp.Trace(sp.MatMul(sp.Trace(S), sp.Identity(n))),), n * sp.Trace(S)),
    (trace_of_scalar, (sp.Trace(a.T * A * b),), AsScalar(a.T * A * b)),
    (trace_of_transpose, (sp.Trace(S.T),), sp.Trace(S)),
    (  # tr((s I - Sᵀ)⁻¹) → tr((s I - S)⁻¹): d det(s I - S)/ds's trace
        trace_of_transpose,
        (sp.Trace(sp.Inverse(sp.MatAdd(2 * I_N, -S.T))),),
        sp.Trace(sp.Inverse(matadd(-S, 2 * I_N))),  # in matadd's order
    ),
    (trace_of_transpose, (sp.Trace(sp.MatAdd(S.T, Q.T)),), sp.Trace(sp.MatAdd(Q, S))),
    (trace_of_transpose, (sp.Trace(sp.MatMul(A, A.T)),), sp.Trace(sp.MatMul(A.T, A))),
    (trace_of_scalar, (sp.Trace(sp.Identity(1)),), AsScalar(sp.Identity(1))),
    (
        hadamard_ones,
        (sp.HadamardProduct(sp.MatMul(sp.Trace(S), sp.OneMatrix(n, 1)), v),),
        sp.Trace(S) * v,
    ),
    (hadamard_ones, (sp.HadamardProduct(v, sp.OneMatrix(n, 1), w),), sp.HadamardProduct(v, w)),
    (
        diag_sum,
        (sp.MatAdd(DiagVector(v), sp.MatMul(-2, DiagVector(w))),),
        DiagVector(matadd(v, sp.MatMul(-2, w))),  # matadd: the canonical order of terms
    ),
    (diag_scalar, (DiagVector(sp.MatMul(-2, v)),), sp.MatMul(-2, DiagVector(v))),
    (diag_of_ones, (DiagVector(sp.OneMatrix(n, 1)),), sp.Identity(n)),
    (diag_of_ones, (DiagVector(sp.ZeroMatrix(n, 1)),), sp.ZeroMatrix(n, n)),
    (diagonal_of_diag, (Diagonal(DiagVector(v)),), v),
    (diagonal_of_diag, (Diagonal(sp.Identity(n)),), sp.OneMatrix(n, 1)),
    (diagonal_of_outer, (Diagonal(v * w.T),), sp.HadamardProduct(v, w)),
    (
        diagonal_of_product,
        (Diagonal(sp.MatMul(sp.Trace(S), DiagVector(v), S, DiagVector(w))),),
        sp.MatMul(sp.Trace(S), sp.HadamardProduct(Diagonal(S), v, w)),
    ),
    (
        diagonal_of_product,
        (Diagonal(sp.MatMul(S, S, DiagVector(w))),),
        sp.HadamardProduct(Diagonal(S * S), w),
    ),
    (
        diagonal_of_outer,
        (Diagonal(sp.MatMul(3, S, v, w.T, S.T)),),
        sp.MatMul(3, sp.HadamardProduct(S * v, S * w)),
    ),
    (vec_of_vector, (Vec(a),), a),
    (vec_scalar, (Vec(sp.MatMul(2, A)),), sp.MatMul(2, Vec(A))),
    (vec_hadamard, (sp.HadamardProduct(Vec(A), Vec(G)),), Vec(sp.HadamardProduct(A, G))),
    (vec_hadamard, (sp.HadamardPower(Vec(A), 3),), Vec(sp.HadamardPower(A, 3))),
    (vec_sum, (sp.MatAdd(Vec(A), sp.MatMul(-2, Vec(G))),), Vec(matadd(A, sp.MatMul(-2, G)))),
    (diag_power, (sp.MatPow(DiagVector(v), 3),), DiagVector(sp.HadamardPower(v, 3))),
    # an inverted product beside its factors, in a longer product: Aᵀ A (Aᵀ A)⁻¹ = I
    (  # (a ⊗ I) B (bᵀ ⊗ I) = (a bᵀ) ⊗ B: a multinomial logit's Hessian (x xᵀ) ⊗ (...)
        kron_vector_sandwich,
        (
            sp.MatMul(
                sp.KroneckerProduct(a, sp.Identity(p)),
                B,
                sp.KroneckerProduct(b.T, sp.Identity(q)),
            ),
        ),
        sp.KroneckerProduct(a * b.T, B),
    ),
    (  # (I ⊗ a) C (I ⊗ bᵀ) = C ⊗ (a bᵀ), inside a longer product with a coefficient
        kron_vector_sandwich,
        (
            sp.MatMul(
                2,
                sp.MatrixSymbol("L2", q, n * m),
                sp.KroneckerProduct(sp.Identity(n), a),
                C,
                sp.KroneckerProduct(sp.Identity(p), b.T),
            ),
        ),
        sp.MatMul(2, sp.MatrixSymbol("L2", q, n * m), sp.KroneckerProduct(C, a * b.T)),
    ),
    (product_times_inverse, (sp.MatMul(R.T, R, sp.Inverse(R.T * R)),), sp.Identity(n)),
    (product_times_inverse, (sp.MatMul(2, sp.Inverse(R.T * R), R.T, R, E),), 2 * E),
    # E = diag(vec(I)) (𝟏 ⊗ I), the Jacobian of diag(w): Eᵀ (A ⊗ B) E = A∘B ...
    (diag_selection, (sp.MatMul(-1, *_E_T, sp.KroneckerProduct(S, Q), *_E),), -_hp(S, Q)),
    # ... (r ⊗ M) E = M diag(rᵀ) for a row r, on either side of ⊗ ...
    (diag_selection, (sp.MatMul(sp.KroneckerProduct(r, R), *_E),), R * DiagVector(r.T)),
    (diag_selection, (sp.MatMul(E, sp.KroneckerProduct(R, r), *_E),), E * R * DiagVector(r.T)),
    # ... Eᵀ (c ⊗ M) = diag(c) M for a column c, and Eᵀ (P + Q) term by term
    (diag_selection, (sp.MatMul(*_E_T, sp.KroneckerProduct(v, E)),), DiagVector(v) * E),
    (
        diag_selection,
        (sp.MatMul(*_E_T, sp.MatAdd(sp.KroneckerProduct(v, E), sp.KroneckerProduct(E, w))),),
        DiagVector(v) * E + DiagVector(w) * E,
    ),
    (vec_of_vector, (Vec(r),), r.T),
    (vec_of_reshape, (Vec(Reshape(Vec(A), m, n)),), Vec(A)),
    (reshape_of_vec, (Reshape(Vec(A), m, n),), A),
    (log_of_exp, (EXP_V.applyfunc(sp.log),), v),
    (
        constant_power,
        (sp.MatPow(I_N - sp.OneMatrix(n, n) / n, 2),),
        matadd(I_N, matmul(-1 / n, sp.OneMatrix(n, n))),  # idempotent
    ),
    (
        constant_power,
        (sp.MatPow(2 * I_N + sp.OneMatrix(n, n), 2),),
        matadd(matmul(4, I_N), matmul(n + 4, sp.OneMatrix(n, n))),
    ),
    (
        like_terms,
        (sp.MatAdd(S * (I_N - v * v.T * S), (I_N - S * v * v.T) * S),),
        2 * S * (I_N - v * v.T * S),
    ),
    (
        like_terms,
        (sp.MatAdd(3 * S * (I_N - v * v.T * S), -(I_N - S * v * v.T) * S, Q),),
        Q + 2 * S * (I_N - v * v.T * S),
    ),
    (
        like_terms,
        (sp.MatAdd(S * (I_N - v * v.T * S), -(I_N - S * v * v.T) * S),),
        sp.ZeroMatrix(n, n),
    ),
    (reshape_of_vec, (Reshape(sp.MatMul(2, Vec(A)), m, n),), sp.MatMul(2, A)),
    (reshape_of_vec, (Reshape(Vec(A) + sp.MatMul(3, Vec(A * S)), m, n),), A + 3 * A * S),
    (factor_scalar, (sp.MatAdd(2 * v, -2 * w),), sp.MatMul(2, matadd(v, -w))),
    (factor_scalar, (sp.MatAdd(-3 * A * b, -3 * a),), sp.MatMul(3, matadd(-A * b, -a))),
    (
        factor_scalar,
        (sp.MatAdd(sp.Trace(S) * v, -2 * sp.Trace(S) ** 2 * w),),
        sp.MatMul(sp.Trace(S), matadd(v, sp.MatMul(-2 * sp.Trace(S), w))),
    ),
    (  # exp(u) with u a sum: exp(u)/exp(u) stays exp(-u) exp(u) in SymPy, and the rule
        # fired on that again, doubling the exponents up to 2⁴⁹ (NaN when evaluated)
        factor_scalar,
        (sp.MatAdd(sp.exp(TR + 1) * v, sp.exp(TR + 1) * S * w),),
        sp.MatMul(sp.exp(TR + 1), matadd(v, S * w)),
    ),
    (factor_sum, (sp.MatAdd(C * R, E * R),), sp.MatMul(C + E, R)),
    (
        factor_hadamard,  # a transposed ∘ product shares Sᵀ with the other term
        (sp.MatAdd(sp.HadamardProduct(Q.T, S.T), sp.Transpose(sp.HadamardProduct(S, Q.T))),),
        hadamard(sp.HadamardProduct(S.T, matadd(Q.T, Q))),
    ),
    (
        factor_hadamard,  # two of three terms share v; 2 (v∘w∘b) keeps its other factors
        (
            sp.MatAdd(
                sp.HadamardProduct(v, w),
                matmul(2, sp.Transpose(sp.HadamardProduct(v.T, w.T, b.T))),
                b,
            ),
        ),
        matadd(hadamard(sp.HadamardProduct(v, matadd(w, 2 * _hp(w, b)))), b),
    ),
    (factor_sum, (sp.MatAdd(A * S, A),), sp.MatMul(A, S + sp.Identity(n))),
    (  # d det(A + sB)/ds was tr(det(A + s B) Bᵀ (...)⁻¹)
        trace_of_scaled,
        (sp.Trace(sp.MatMul(sp.Determinant(S), Q, S.I)),),
        sp.Determinant(S) * sp.Trace(Q * S.I),
    ),
    (trace_of_scaled, (sp.Trace(sp.MatMul(-2, Q, S)),), -2 * sp.Trace(Q * S)),
    (  # d xᵀ(A + sI)⁻¹x/ds was tr(-(sI + Aᵀ)⁻¹ x xᵀ (sI + Aᵀ)⁻¹)
        trace_of_outer,
        (sp.Trace(sp.MatMul(S, v, w.T, Q)),),
        AsScalar(matmul(w.T, Q, S, v)),
    ),
    (trace_of_outer, (sp.Trace(sp.MatMul(v, w.T)),), AsScalar(matmul(w.T, v))),
    (trace_of_transpose, (sp.Trace(sp.MatMul(Q.T, S.T, Q)),), sp.Trace(matmul(Q.T, S, Q))),
    (  # two of three terms share v: the gradient of vᵀSv + wᵀv was S v + Sᵀ v + w
        factor_sum,
        (sp.MatAdd(S * v, S.T * v, w),),
        matadd(sp.MatMul(matadd(S, S.T), v), w),
    ),
    (  # two of three share the first factor C
        factor_sum,
        (sp.MatAdd(C * R, C * R * S, Q),),
        matadd(sp.MatMul(C, matadd(R, R * S)), Q),
    ),
    (
        mixed_product,
        (sp.KroneckerProduct(A, B), sp.KroneckerProduct(C, sp.Identity(q))),
        (sp.KroneckerProduct(A * C, B),),
    ),
    (
        kron_factor_sum,  # the left factor shared, a third term left alone
        (
            sp.MatAdd(
                sp.KroneckerProduct(A, B),
                -2 * sp.KroneckerProduct(A, sp.MatrixSymbol("B2", p, q)),
                sp.MatrixSymbol("G", m * p, n * q),
            ),
        ),
        matadd(
            sp.KroneckerProduct(A, matadd(B, -2 * sp.MatrixSymbol("B2", p, q))),
            sp.MatrixSymbol("G", m * p, n * q),
        ),
    ),
    (
        kron_factor_sum,  # the right factor shared
        (sp.MatAdd(sp.KroneckerProduct(S, B), sp.KroneckerProduct(Q, B)),),
        sp.KroneckerProduct(matadd(S, Q), B),
    ),
    (
        kron_through_sum,  # the ⊗ on the left, each term's first factor
        (
            sp.KroneckerProduct(A, B),
            sp.MatAdd(
                sp.KroneckerProduct(C, sp.Identity(q)),
                2 * sp.KroneckerProduct(E, sp.Identity(q)) * CommutationMatrix(p, q),
            ),
        ),
        (
            matadd(
                sp.KroneckerProduct(A * C, B),
                matmul(2, sp.KroneckerProduct(A * E, B), CommutationMatrix(p, q)),
            ),
        ),
    ),
    (
        kron_through_sum,  # the ⊗ on the right, each term's last factor
        (
            sp.MatAdd(sp.KroneckerProduct(R.T, D), -sp.KroneckerProduct(C, D)),
            sp.KroneckerProduct(R, sp.Identity(m)),
        ),
        (matadd(sp.KroneckerProduct(R.T * R, D), -sp.KroneckerProduct(C * R, D)),),
    ),
    (
        commutation_through_kron,
        (CommutationMatrix(p, m), sp.KroneckerProduct(A, B)),
        (sp.KroneckerProduct(B, A), CommutationMatrix(q, n)),
    ),
    (
        kron_commutation_swap,
        (sp.KroneckerProduct(r, B), CommutationMatrix(n, q)),
        (sp.KroneckerProduct(B, r),),
    ),
    (
        commutation_inverse,
        (CommutationMatrix(m, n), CommutationMatrix(n, m)),
        (sp.Identity(m * n),),
    ),
    (commutation_vec, (CommutationMatrix(m, n), Vec(A)), (Vec(A.T),)),
    (kron_vec, (sp.KroneckerProduct(A, B), Vec(X)), (Vec(B * X * A.T),)),
    (diag_product, (DiagVector(v), DiagVector(w)), (DiagVector(sp.HadamardProduct(v, w)),)),
    (diag_times_vector, (DiagVector(v), w), (sp.HadamardProduct(v, w),)),
    (  # a centering matrix sums to zero
        ones_through_constants,
        (sp.OneMatrix(1, n), sp.MatAdd(sp.Identity(n), sp.MatMul(-1 / n, sp.OneMatrix(n, n)))),
        (sp.ZeroMatrix(1, n),),
    ),
    (
        ones_through_constants,
        (sp.MatAdd(2 * sp.Identity(n), sp.OneMatrix(n, n)), sp.OneMatrix(n, 1)),
        (matmul(n + 2, sp.OneMatrix(n, 1)),),
    ),
    (ones_through_softmax, (sp.OneMatrix(1, n), Softmax(v)), (sp.OneMatrix(1, 1),)),
    (  # each column of softmax_cols(X) sums to 1: 𝟏 𝟏ᵀ softmax_cols(X) = 𝟏 𝟏ᵀ
        ones_through_softmax,
        (sp.OneMatrix(m, q), Softmax(X, 0)),
        (sp.OneMatrix(m, n),),
    ),
    (ones_through_softmax, (Softmax(X, 1), sp.OneMatrix(n, 1)), (sp.OneMatrix(q, 1),)),
    (ones_through_softmax, (sp.Transpose(Softmax(v)), sp.OneMatrix(n, p)), (sp.OneMatrix(1, p),)),
    (
        softmax_of_exp,
        (
            sp.MatMul(
                2 / AsScalar(sp.OneMatrix(1, n) * v.applyfunc(sp.exp)), v.applyfunc(sp.exp), r
            ),
        ),
        sp.MatMul(2, Softmax(v), r),
    ),
    (  # 1/S² e eᵀ → s sᵀ, 1/S diag(e) → diag(s): the written-out softmax's Jacobian
        softmax_of_exp,
        (sp.MatMul(-1 / SUM_EXP_V**2, v.applyfunc(sp.exp), v.applyfunc(sp.exp).T),),
        sp.MatMul(-1, Softmax(v), Softmax(v).T),
    ),
    (
        softmax_of_exp,
        (sp.MatMul(1 / SUM_EXP_V, S, DiagVector(v.applyfunc(sp.exp))),),
        sp.MatMul(S, DiagVector(Softmax(v))),
    ),
    (  # one power of the sum, two exps: the first takes it
        softmax_of_exp,
        (sp.MatMul(1 / SUM_EXP_V, v.applyfunc(sp.exp), EXP_V_T),),
        sp.MatMul(Softmax(v), EXP_V_T),
    ),
    (diag_times_vector, (sp.OneMatrix(1, n), DiagVector(v)), (v.T,)),
    (hadamard_numbers, (sp.HadamardProduct(-w, v),), -_hp(w, v)),
    (hadamard_numbers, (sp.HadamardProduct(-w, 2 * S * v),), matmul(-2, _hp(w, S * v))),
    (hadamard_numbers, (sp.HadamardPower(-w, 2),), sp.HadamardPower(w, 2)),
    (
        hadamard_numbers,
        (sp.HadamardPower(3 * w, -1),),
        matmul(sp.Rational(1, 3), sp.HadamardPower(w, -1)),
    ),
    (negated_sum, (sp.MatMul(-1, sp.MatAdd(v, -w)),), matadd(w, -v)),
    (  # Aᵀ (-S - Sᵀ) v → -Aᵀ (S + Sᵀ) v (the Cookbook's -Aᵀ(W + Wᵀ)(x - As))
        negative_sum_factor,
        (sp.MatMul(A, sp.MatAdd(-S, -S.T), v),),
        matmul(-1, A, matadd(S, S.T), v),
    ),
    (  # -Sᵀ (v - w) → Sᵀ (w - v) (the logistic gradient Dᵀ(σ(D w) - y))
        negative_sum_factor,
        (sp.MatMul(-1, S.T, sp.MatAdd(v, -w)),),
        matmul(S.T, matadd(w, -v)),
    ),
    (  # -(-v - w)(-vᵀ - wᵀ) → (v + w)(-vᵀ - wᵀ): all negative, twin or not
        negative_sum_factor,
        (sp.MatMul(-1, matadd(-v, -w), matadd(-v.T, -w.T)),),
        matmul(matadd(v, w), matadd(-v.T, -w.T)),
    ),
    (  # -(-P - 2Q) S → (P + 2Q) S (a Hessian's double negation)
        negative_sum_factor,
        (sp.MatMul(-1, sp.MatAdd(-S, -2 * S.T), S),),
        matmul(matadd(S, 2 * S.T), S),
    ),
    (  # the first sum with as many - as +: Cookbook (84), -Aᵀ (W + Wᵀ)(x - A s)
        negative_sum_factor,
        (sp.MatMul(-1, S.T, sp.MatAdd(S, S.T), sp.MatAdd(v, -w)),),
        matmul(S.T, matadd(S, S.T), matadd(w, -v)),
    ),
    (
        power_of_power,
        (sp.HadamardPower(v.applyfunc(sp.sqrt), -1),),
        sp.HadamardPower(v, -sp.S.Half),
    ),
    (power_of_power, (sp.HadamardPower(v.applyfunc(sp.sqrt), 2),), v),
    (sigmoid_of_exp, (sp.HadamardPower(EXP_V + sp.OneMatrix(n, 1), -1),), _sigma(-v)),
    (
        sigmoid_of_exp,
        (sp.HadamardPower(sp.OneMatrix(n, 1) + EXP_V, -2),),
        sp.HadamardPower(_sigma(-v), 2),
    ),
    (sigmoid_of_exp, (sp.HadamardProduct(EXP_V, _sigma(-v)),), _sigma(v)),
    (  # the logistic loss with 0/1 labels: (e∘w + w - e)∘σ(-v), e = exp(v)
        sigmoid_of_exp,
        (sp.HadamardProduct(matadd(_hp(EXP_V, w), w, matmul(-1, EXP_V)), _sigma(-v)),),
        matadd(_hp(EXP_V, w, _sigma(-v)), _hp(w, _sigma(-v)), matmul(-1, _hp(EXP_V, _sigma(-v)))),
    ),
    (sigmoid_complement, (matadd(_hp(w, _sigma(v)), _hp(w, _sigma(-v)), b),), matadd(w, b)),
    (
        sigmoid_complement,
        (matadd(matmul(3, _sigma(v)), matmul(3, _sigma(-v))),),
        matmul(3, sp.OneMatrix(n, 1)),
    ),
    (
        sigmoid_of_exp,
        (sp.HadamardProduct(w, EXP_V, sp.HadamardPower(_sigma(-v), 3)),),
        _hp(_sigma(v), sp.HadamardPower(_sigma(-v), 2), w),
    ),
    (  # exp((-y)∘v) ∘ σ(y∘v): the sign comes off the ∘ factor
        sigmoid_of_exp,
        (sp.HadamardProduct(sp.HadamardProduct(-w, v).applyfunc(sp.exp), _sigma(_hp(w, v))),),
        _sigma(_hp(-w, v)),
    ),
    (  # the softmax Jacobian times a vector: s∘v - s (sᵀ v)
        vector_through_sum,
        (sp.MatAdd(DiagVector(v), -v * v.T), w),
        (sp.MatAdd(sp.HadamardProduct(v, w), -v * v.T * w),),
    ),
    (
        vector_through_sum,
        (r, sp.MatAdd(2 * DiagVector(v), sp.Identity(n))),
        (matadd(matmul(2, sp.HadamardProduct(v.T, r)), r),),
    ),
    (
        inner_with_inverse,
        (sp.HadamardProduct(w, sp.HadamardPower(v, -1)).T, v),
        (sp.MatMul(sp.OneMatrix(1, n), w),),
    ),
    (
        inner_with_inverse,
        (v.T, sp.HadamardProduct(w, b, sp.HadamardPower(v, -1))),
        (sp.MatMul(sp.OneMatrix(1, n), sp.HadamardProduct(w, b)),),
    ),
    (scalar_of_constant, (AsScalar(sp.ZeroMatrix(1, 1)),), sp.S.Zero),
    (diagonal_of_transpose, (Diagonal(S.T),), Diagonal(S)),
    (
        vec_row_kron,
        (sp.Transpose(Vec(Y)), sp.KroneckerProduct(A, B)),
        (sp.Transpose(Vec(matmul(B.T, Y, A))),),
    ),
    (vec_row_kron, (sp.Transpose(Vec(C)), CommutationMatrix(p, n)), (sp.Transpose(Vec(C.T)),)),
    (  # d tr(XᵀX) = vec(I)ᵀ (I ⊗ Xᵀ + (Xᵀ ⊗ I) K) dvec(X) = 2 vec(X)ᵀ dvec(X)
        vec_row_kron,
        (
            sp.Transpose(Vec(sp.Identity(n))),
            sp.MatAdd(
                sp.KroneckerProduct(sp.Identity(n), X.T),
                sp.MatMul(sp.KroneckerProduct(X.T, sp.Identity(n)), CommutationMatrix(q, n)),
            ),
        ),
        (matmul(2, sp.Transpose(Vec(X))),),
    ),
    (  # d(x (vᵀx)) = (xᵀv) ⊗ I + x vᵀ: the 1 x 1 factor is the scalar vᵀx
        kron_scalar_factor,
        (sp.KroneckerProduct(b.T * v, S),),
        matmul(AsScalar(b.T * v), S),
    ),
    (kron_scalar_factor, (sp.KroneckerProduct(S, 2 * v.T * w),), matmul(2, AsScalar(v.T * w), S)),
    (scalar_in_product, (sp.MatMul(v, w.T, b, v.T),), matmul(AsScalar(b.T * w), v, v.T)),
    (
        scalar_in_product,
        (sp.MatMul(S, v, sp.Inverse(v.T * v)),),
        matmul(1 / AsScalar(v.T * v), S, v),
    ),
    (
        scalar_normal_form,
        (AsScalar(sp.MatMul(-2, b.T, v, v.T, w)),),
        -2 * AsScalar(b.T * v) * AsScalar(v.T * w),
    ),
    (scalar_normal_form, (AsScalar(sp.MatPow(b.T * S * b, -2)),), AsScalar(b.T * S * b) ** -2),
    (scalar_normal_form, (AsScalar(w.T * v),), AsScalar(v.T * w)),
    (inverse_cancel, (S.T, sp.Inverse(sp.MatMul(Q.T, S, S.T))), (sp.Inverse(Q.T * S),)),
    (inverse_cancel, (sp.Inverse(sp.MatMul(Q.T, S)), Q.T), (sp.Inverse(S),)),
    (
        inverse_of_kron,
        (sp.Inverse(sp.KroneckerProduct(S, sp.Identity(m), S.T)),),
        sp.KroneckerProduct(S.I, sp.Identity(m), sp.Inverse(S.T)),
    ),
    (
        diagonal_of_transpose,
        (sp.HadamardProduct(sp.Identity(n), S.T),),
        sp.HadamardProduct(sp.Identity(n), S),
    ),
    (
        diagonal_of_transpose,
        (sp.Transpose(sp.HadamardProduct(sp.Identity(n), S)),),
        sp.HadamardProduct(sp.Identity(n), S),
    ),
    (  # d log|det S| = sign(det S)/|det S| · det S · S⁻ᵀ
        sign_with_abs,
        (sp.sign(DET) * DET / sp.Abs(DET),),
        sp.S.One,
    ),
    (sign_with_abs, (7 * sp.sign(DET) / sp.Abs(DET) ** 3,), 7 / DET**3),
    (sign_with_abs, (sp.sign(DET) * sp.Abs(DET) * TR,), DET * TR),
    (scalar_of_constant, (AsScalar(sp.Identity(1)),), sp.S.One),
    # d det(S)^s/dS's s·det(S)·det(S)^(s - 1): SymPy merges only numeric exponents
    (scalar_powers, (sp.Mul(2, DET, DET ** (n - 1), TR),), 2 * DET**n * TR),
]


@pytest.mark.parametrize("rule, args, expected", FIRES, ids=lambda x: getattr(x, "__name__", ""))
def test_rule_fires_and_keeps_value(rule, args, expected) -> None:
    out = rule(*args)
    assert out == expected
    if len(args) == 1:
        assert getattr(out, "shape", None) == getattr(args[0], "shape", None)
        _same_value(args[0], out)
    else:
        before, after = sp.MatMul(*args), sp.MatMul(*out)
        assert sp.simplify(before.shape[0] - after.shape[0]) == 0
        _same_value(before, after)


DECLINES = [
    (kron_unit_factor, (sp.KroneckerProduct(A, B),)),
    (kron_outer_product, (sp.KroneckerProduct(a, b),)),
    (commutation_trivial, (CommutationMatrix(m, n),)),
    (trace_of_identity, (sp.Trace(A),)),
    (trace_of_scalar, (sp.Trace(S),)),
    (trace_of_transpose, (sp.Trace(S * S),)),
    (trace_of_transpose, (sp.Trace(sp.MatAdd(S, Q.T)),)),  # as many ᵀ either way
    (trace_of_transpose, (sp.Trace(sp.Inverse(sp.MatAdd(I_N, S))),)),
    (trace_of_transpose, (sp.Trace(sp.MatMul(A.T, A)),)),  # already canonical
    (trace_of_transpose, (sp.Trace(sp.MatMul(A.T, A, S)),)),
    (trace_of_transpose, (sp.Trace(sp.MatMul(3, C.T, C)),)),
    (hadamard_ones, (sp.HadamardProduct(v, w),)),
    (hadamard_ones, (sp.MatAdd(sp.OneMatrix(n, 1), v),)),
    (diag_sum, (sp.MatAdd(DiagVector(v), S),)),
    (diag_scalar, (DiagVector(sp.HadamardProduct(v, w)),)),
    (diag_of_ones, (DiagVector(v),)),
    (diagonal_of_diag, (Diagonal(S),)),
    (diagonal_of_outer, (Diagonal(S * S),)),
    (diagonal_of_product, (Diagonal(S * S),)),
    (vec_of_vector, (Vec(A),)),
    (vec_scalar, (Vec(A * C),)),  # no scalar
    (vec_hadamard, (sp.HadamardProduct(Vec(A), Vec(G.T)),)),  # Gᵀ is n x m: not entrywise
    (vec_sum, (sp.MatAdd(Vec(A), Vec(G.T)),)),  # vec(A) + vec(Gᵀ) is not vec(A + Gᵀ)
    (vec_sum, (sp.MatAdd(Vec(A), sp.MatMul(2, Vec(G)), sp.MatMul(a, r)),)),  # a term without vec
    (diag_power, (sp.MatPow(S, 2),)),  # not a diag
    # the factors apart from the inverse, or another order
    (  # an identity on one side only: no mixed product
        kron_vector_sandwich,
        (sp.MatMul(sp.KroneckerProduct(a, sp.Identity(p)), B, sp.KroneckerProduct(b.T, D)),),
    ),
    (  # not vectors beside the identities
        kron_vector_sandwich,
        (
            sp.MatMul(
                sp.KroneckerProduct(A, sp.Identity(p)),
                sp.MatrixSymbol("P2", n * p, q),
                sp.KroneckerProduct(b.T, sp.Identity(q)),
            ),
        ),
    ),
    (product_times_inverse, (sp.MatMul(R.T, R, S, sp.Inverse(R.T * R)),)),
    (product_times_inverse, (sp.MatMul(R.T, R, sp.Inverse(S * S)),)),
    # (R ⊗ R) E: the Khatri-Rao product of two full matrices has no plain form
    (diag_selection, (sp.MatMul(sp.KroneckerProduct(R, R), *_E),)),
    # Eᵀ (A ⊗ B) with no E after it, A and B not columns
    (diag_selection, (sp.MatMul(*_E_T, sp.KroneckerProduct(S, Q)),)),
    # E alone, and a sum one of whose terms does not go
    (diag_selection, (sp.MatMul(*_E),)),
    (
        diag_selection,
        (sp.MatMul(*_E_T, sp.MatAdd(sp.KroneckerProduct(v, E), sp.KroneckerProduct(S, E.T * S))),),
    ),
    (reshape_of_vec, (Reshape(Vec(A), n, m),)),
    (like_terms, (sp.MatAdd(S * (I_N - v * v.T * S), (I_N - S * v * v.T) * Q),)),  # not equal
    (like_terms, (sp.MatAdd(S * Q, Q * S),)),  # no sum inside: nothing to multiply out
    (constant_power, (sp.MatPow(I_N + S, 2),)),  # S is no constant
    (log_of_exp, (v.applyfunc(sp.log),)),  # no exp inside
    (log_of_exp, (EXP_V.applyfunc(sp.tanh),)),  # no log outside
    (constant_power, (sp.MatPow(I_N - sp.OneMatrix(n, n) / n, -1),)),  # singular: no inverse
    (reshape_of_vec, (Reshape(sp.MatMul(2, Vec(A)), n, m),)),  # not A's shape
    (reshape_of_vec, (Reshape(Vec(A) + Vec(A.T), m, n),)),  # vec(Aᵀ): not an m x n (K vec A)
    (factor_sum, (sp.MatAdd(C * R, R.T * S.T),)),
    (factor_hadamard, (sp.MatAdd(sp.HadamardProduct(v, w), sp.HadamardProduct(v, b)),)),  # no ᵀ
    (  # the transposed ∘ product sits inside a longer product: it takes no part
        factor_hadamard,
        (
            sp.MatAdd(
                sp.HadamardProduct(v, w),
                sp.HadamardProduct(v, b),
                matmul(S, sp.Transpose(sp.HadamardProduct(v.T, w.T))),
            ),
        ),
    ),
    (factor_hadamard, (sp.MatAdd(sp.HadamardProduct(S, Q), S * Q),)),  # one ∘ product
    (factor_scalar, (sp.MatAdd(2 * v, 3 * w),)),
    (factor_scalar, (sp.MatAdd(v, -w),)),
    (factor_scalar, (sp.MatAdd(v, S * w),)),  # what it made of exp(tr S + 1) (v + S w)
    (factor_scalar, (sp.MatAdd(sp.Trace(S) * v, sp.Trace(A.T * A) * w),)),
    (mixed_product, (sp.KroneckerProduct(A, B), sp.KroneckerProduct(D, sp.Identity(q)))),
    (  # no factor shared on either side
        kron_factor_sum,
        (
            sp.MatAdd(
                sp.KroneckerProduct(S, B), sp.KroneckerProduct(Q, sp.MatrixSymbol("B2", p, q))
            ),
        ),
    ),
    (  # a term without a Kronecker product to meet
        kron_through_sum,
        (
            sp.KroneckerProduct(A, B),
            sp.MatAdd(sp.KroneckerProduct(C, sp.Identity(q)), sp.MatrixSymbol("G", n * q, p * q)),
        ),
    ),
    (  # shapes that do not meet factor by factor: (A ⊗ B)(C ⊗ D) needs A C and B D
        kron_through_sum,
        (
            sp.KroneckerProduct(A, B),
            sp.MatAdd(sp.KroneckerProduct(X, S), sp.KroneckerProduct(X, Q)),  # q·n rows
        ),
    ),
    (commutation_through_kron, (CommutationMatrix(m, p), sp.KroneckerProduct(A, B))),
    (kron_commutation_swap, (sp.KroneckerProduct(A, B), CommutationMatrix(n, q))),
    (commutation_inverse, (CommutationMatrix(m, n), CommutationMatrix(m, n))),
    (commutation_vec, (CommutationMatrix(n, m), Vec(A))),
    (kron_vec, (sp.KroneckerProduct(A, B), Vec(X.T))),
    (diag_times_vector, (DiagVector(v), sp.MatrixSymbol("W", n, m))),
    (ones_through_constants, (sp.OneMatrix(1, n), sp.MatAdd(S, sp.Identity(n)))),
    (ones_through_constants, (S, sp.OneMatrix(n, 1))),
    (ones_through_softmax, (Softmax(v), sp.OneMatrix(1, n))),  # a column times a row
    (ones_through_softmax, (Softmax(X, 0), sp.OneMatrix(n, 1))),  # columns' sums, not rows'
    (ones_through_softmax, (sp.OneMatrix(p, q), Softmax(X, 1))),
    (scalar_of_constant, (AsScalar(r * v),)),
    (factor_sum, (sp.MatAdd(v * sp.OneMatrix(1, n) * w, -w),)),  # keeps 𝟏ᵀw whole
    (factor_sum, (sp.MatAdd(v * sp.OneMatrix(1, n) * w, -w, b),)),  # and among more terms
    (factor_sum, (sp.MatAdd(S * v, Q * w, b),)),  # no factor shared by two terms
    (trace_of_scaled, (sp.Trace(S * Q),)),  # no scalar
    (trace_of_outer, (sp.Trace(S * Q),)),  # no column followed by a row
    (trace_of_transpose, (sp.Trace(sp.MatMul(Q.T, S)),)),  # as many transposes either way
    (vector_through_sum, (sp.MatAdd(sp.Identity(n), -v * v.T), w)),  # no diag: factor_sum's
    (vector_through_sum, (sp.MatAdd(DiagVector(v), S), w)),
    (  # diag(v) S is no outer product, though diag(v) comes first (a hypothesis find)
        vector_through_sum,
        (sp.MatAdd(DiagVector(v) * S, DiagVector(w)), b),
    ),
    (  # a 1 x 1 times a row: no square sum to distribute (diag(d) r looked like d rᵀ)
        vector_through_sum,
        (
            sp.MatrixSymbol("c", 1, 1),
            sp.MatAdd(DiagVector(sp.MatrixSymbol("d", 1, 1)) * r, sp.MatrixSymbol("e", 1, 1) * r),
        ),
    ),
    (inner_with_inverse, (sp.HadamardProduct(w, sp.HadamardPower(b, -1)).T, v)),
    (inner_with_inverse, (w.T, v)),
    (softmax_of_exp, (sp.MatMul(1 / AsScalar(r * v), v.applyfunc(sp.exp)),)),
    (softmax_of_exp, (sp.MatMul(SUM_EXP_V, v.applyfunc(sp.exp)),)),  # not divided by it
    (softmax_of_exp, (sp.MatMul(1 / SUM_EXP_V, w.applyfunc(sp.exp)),)),  # another z
    (diag_times_vector, (sp.OneMatrix(2, n), DiagVector(v))),  # not a row of ones
    (diag_times_vector, (r, DiagVector(v))),  # rᵀ diag(v) stays (numerator layout's form)
    (hadamard_numbers, (sp.HadamardProduct(w, S * v),)),
    (hadamard_numbers, (sp.HadamardProduct(sp.MatMul(sp.Symbol("c"), w), v),)),  # not a number
    (hadamard_numbers, (sp.HadamardPower(-w, sp.Symbol("k")),)),
    (negated_sum, (sp.MatMul(-2, sp.MatAdd(v, -w)),)),  # factor_scalar's form
    (negative_sum_factor, (sp.MatMul(S, sp.MatAdd(S, -S.T)),)),  # signs mixed
    (diagonal_of_transpose, (Diagonal(S),)),
    (vec_row_kron, (sp.Transpose(Vec(Y)), sp.KroneckerProduct(B, A))),  # shapes differ
    (vec_row_kron, (sp.Transpose(Vec(Y)), sp.Identity(p * m))),
    (
        vec_row_kron,  # one term does not reduce: not distributed
        (
            sp.Transpose(Vec(sp.Identity(n))),
            sp.MatAdd(sp.KroneckerProduct(sp.Identity(n), S), sp.Identity(n * n)),
        ),
    ),
    (kron_scalar_factor, (sp.KroneckerProduct(sp.Identity(1), S),)),  # kron_unit_factor's
    (kron_scalar_factor, (sp.KroneckerProduct(v, S),)),
    (scalar_in_product, (sp.MatMul(v.T, w),)),  # the whole product is 1 x 1
    (scalar_in_product, (sp.MatMul(S, v, w.T),)),
    (scalar_normal_form, (AsScalar(v.T * w),)),  # already in the one orientation
    (scalar_powers, (sp.Mul(2, DET, TR ** (n - 1)),)),  # no base twice
    (scalar_powers, (sp.MatMul(2, S, S),)),  # a matrix product: not a scalar's
    (scalar_normal_form, (AsScalar(b.T * S * b),)),
    (inverse_of_kron, (sp.Inverse(sp.KroneckerProduct(A, A.T)),)),  # A not square
    (inverse_of_kron, (sp.Inverse(S),)),
    (inverse_cancel, (A, sp.Inverse(sp.MatMul(A.T, A)))),  # A (AᵀA)⁻¹: A not square
    (inverse_cancel, (S, sp.Inverse(sp.MatMul(S, Q)))),  # S (S Q)⁻¹: not the last factor
    (diagonal_of_transpose, (sp.HadamardProduct(S, S.T),)),  # no I: not only the diagonal
    (diagonal_of_transpose, (sp.HadamardProduct(sp.Identity(n), S),)),
    (sign_with_abs, (sp.sign(DET) * TR,)),
    (sign_with_abs, (sp.sign(DET) * sp.sqrt(sp.Abs(DET)),)),  # not an integer power
    (negative_sum_factor, (sp.MatMul(-1, sp.MatAdd(-v, -w)),)),  # negated_sum's case
    (negative_sum_factor, (sp.MatMul(-1, S, sp.MatAdd(v, w, -b)),)),  # more + than -
    (  # -Sᵀ (v - w)(vᵀ - wᵀ) Sᵀ: a sum beside its own transpose keeps the sign out
        negative_sum_factor,
        (sp.MatMul(-1, S.T, matadd(v, -w), matadd(v.T, -w.T), S.T),),
    ),
    (negated_sum, (sp.MatMul(-1, S, sp.MatAdd(v, -w)),)),
    (power_of_power, (sp.HadamardPower(v.applyfunc(sp.tanh), 2),)),
    (power_of_power, (sp.HadamardPower(v, 2),)),
    (sigmoid_of_exp, (sp.HadamardPower(EXP_V + 2 * sp.OneMatrix(n, 1), -1),)),
    (sigmoid_complement, (matadd(_hp(w, _sigma(v)), _hp(b, _sigma(-v))),)),  # w ≠ b
    (sigmoid_complement, (matadd(_sigma(v), matmul(2, _sigma(-v))),)),  # 1 ≠ 2
    (sigmoid_of_exp, (sp.HadamardPower(EXP_V + sp.OneMatrix(n, 1), 2),)),
    (sigmoid_of_exp, (sp.HadamardProduct(EXP_V, _sigma(v)),)),  # exp(v) σ(v) is not σ of anything
    (sigmoid_of_exp, (sp.HadamardProduct(w.applyfunc(sp.exp), _sigma(-v)),)),
    (softmax_of_exp, (sp.MatMul(1 / AsScalar(sp.OneMatrix(1, n) * v.applyfunc(sp.exp)), v),)),
]


@pytest.mark.parametrize("rule, args", DECLINES, ids=lambda x: getattr(x, "__name__", ""))
def test_rule_declines_when_it_does_not_apply(rule, args) -> None:
    assert rule(*args) is None


def test_a_common_scalar_factor_comes_from_the_top_level_factors_only() -> None:
    """The factor of c·u·t A + c·u²·t³ B is u·t, with u = (1 + (1 + t)²)² kept whole.
    (sp.gcd expanded such coefficients into polynomials: minutes on a deep one.)"""
    from matderiv.rewrite_signs import _common_scalar

    t = sp.Symbol("t", positive=True)
    u = (1 + (1 + t) ** 2) ** 2
    assert _common_scalar([3 * u * t, -(u**2) * t**3]) == u * t
    assert _common_scalar([1 / t, -2 * sp.Symbol("s") / t**2]) == 1 / t
    assert _common_scalar([t, 1 / t]) is None  # exponents of both signs: no common factor
    assert _common_scalar([sp.exp(t), 2 * sp.exp(t) * t]) == sp.exp(t)


def test_every_rule_has_a_test() -> None:
    tested = {rule for rule, *_ in FIRES}
    assert tested == set(NODE_RULES) | set(PAIR_RULES)


def test_every_rule_documents_identity_and_termination() -> None:
    for rule in (*NODE_RULES, *PAIR_RULES):
        assert "→" in rule.__doc__ and "terminates" in rule.__doc__, rule.__name__


def test_simplify_reaches_the_textbook_form_and_logs_each_rewrite() -> None:
    # Numerator Jacobian of the RNN pre-activation wrt vec(W), W: n x m
    e = sp.MatrixSymbol("e", n, 1)
    expr = sp.MatMul(sp.KroneckerProduct(e.T, sp.Identity(m)), CommutationMatrix(n, m))
    log = []
    out = simplify(expr, log)
    assert out == sp.KroneckerProduct(sp.Identity(m), e.T)
    assert [step.rule for step in log] == ["kron_commutation_swap"]
    _same_value(expr, out)


def test_simplify_is_idempotent_and_value_preserving() -> None:
    expr = sp.MatMul(
        CommutationMatrix(p, m),
        sp.KroneckerProduct(A, B),
        CommutationMatrix(n, q),
        sp.KroneckerProduct(sp.Identity(n), sp.Identity(q)),
    )
    once = simplify(expr)
    assert simplify(once) == once
    assert once == sp.KroneckerProduct(B, A)
    _same_value(expr, once)


def test_trace_of_a_sum_times_its_transpose_settles_on_one_order() -> None:
    """tr(P Pᵀ) → tr(Pᵀ P) for a sum P turned tr((S + Q)(Sᵀ + Qᵀ)) back and forth until
    simplify's pass limit (25 rewrites per node: a Hessian of ‖·‖_F took 4 s, now 0.06)."""
    P = matadd(S, Q)
    forms = [sp.Trace(sp.MatMul(P, transpose(P))), sp.Trace(sp.MatMul(transpose(P), P))]
    settled = [f if trace_of_transpose(f) is None else trace_of_transpose(f) for f in forms]
    assert settled[0] == settled[1]
    assert trace_of_transpose(settled[0]) is None
    log: list = []
    simplify(forms[0], log)
    assert len(log) <= 1, [r.rule for r in log]


def test_negative_sum_factor_looks_for_twin_sums_only_where_the_sign_could_go(
    monkeypatch,
) -> None:
    """Each product's sums were compared pairwise (S² comparisons, a transpose each)
    before any was a candidate: the adjoints of a chain of softmaxes are products of
    2k sums (diag(s) - s sᵀ), cubic in depth."""
    import matderiv.rewrite_signs as rewrite_signs

    calls = count_calls(monkeypatch, rewrite_signs, "transpose")
    P = [sp.MatrixSymbol(f"P_{k}", 3, 3) for k in range(40)]
    sums = [sp.MatAdd(P[2 * k], P[2 * k + 1]) for k in range(20)]
    assert negative_sum_factor(sp.MatMul(-1, *sums)) is None  # no sum can take it
    assert calls[0] == 0
    twin = sp.MatAdd(P[0], -P[1])  # P₀ - P₁ beside (P₀ - P₁)ᵀ: kept as it is
    flipped = sp.MatAdd(P[0].T, -P[1].T)
    assert negative_sum_factor(sp.MatMul(-1, twin, flipped, *sums)) is None
    lone = negative_sum_factor(sp.MatMul(-1, twin, *sums))
    assert lone == matmul(matadd(P[1], -P[0]), *sums)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "build",
    [
        lambda X, s: sp.Determinant(X) ** s,
        lambda X, s: sp.Trace(X * X.T) * sp.Determinant(X) ** (2 * s),
    ],
    ids=["det(X)^s", "tr(X Xᵀ) det(X)^(2s)"],
)
def test_merged_scalar_powers_match_central_differences(build, layout) -> None:
    """scalar_powers merges s·det(X)·det(X)^(s - 1) into s·det(X)^s: the derivatives
    it rewrites against central differences, at n = 3 and a random s."""
    from matderiv import derive
    from matderiv.testing import check_derivation

    X, s = sp.MatrixSymbol("X", n, n), sp.Symbol("s")
    d = derive(build(X, s), X, layout)
    for mul in sp.preorder_traversal(d.result):  # det(X)·det(X)^(s - 1) merged
        if isinstance(mul, sp.Mul) and not isinstance(mul, sp.MatMul):
            bases = [factor.as_base_exp()[0] for factor in mul.args]
            assert len(bases) == len(set(bases)), d.result
    check_derivation(d, {n: 3}, seed=2, positive=[X])
