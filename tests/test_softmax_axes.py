"""softmax and logsumexp along an axis of a matrix: each row (axis 1) or each column
(axis 0).  The battery (test_identities_nonlinear) checks their Jacobians, a batch
cross-entropy and attention against finite differences and closed forms in both
layouts, and through both code generators and the three readers; here: second
order, programs, overflow, printing and verify."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import (
    ShapeMismatch,
    declare,
    derive,
    evaluate,
    gradient,
    hessian,
    hvp,
    lambdify,
    logsumexp,
    parse,
    softmax,
    verify,
)
from matderiv.render.unicode import fmt
from matderiv.softmax_nodes import Softmax
from matderiv.testing import check_derivation

n, k, d, m = sp.symbols("n k d m", integer=True, positive=True)
M = sp.MatrixSymbol
DIMS = {n: 4, k: 3, d: 2, m: 5}
LAYOUTS = ("numerator", "denominator")


def _batch_loss():
    """Σ_i logsumexp(row i of X W) - 𝟏ᵀ (Y∘X W) 𝟏: the softmax cross-entropy of a batch."""
    X, W, Y = M("X", n, d), M("W", d, k), M("Y", n, k)
    Z = X * W
    f = sp.OneMatrix(1, n) * logsumexp(Z, axis=1) - sp.OneMatrix(1, n) * sp.HadamardProduct(
        Y, Z
    ) * sp.OneMatrix(k, 1)
    return f, X, W, Y


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_batch_cross_entropy_hessian_and_hvp_match_second_differences() -> None:
    f, _, W, _ = _batch_loss()
    for dims in (DIMS, {n: 5, k: 2, d: 3}):
        assert check_derivation(hessian(f, W), dims, rtol=1e-4) < 1e-4
        assert check_derivation(hvp(f, W), dims, rtol=1e-4) < 1e-4


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_along_an_axis_of_a_product_in_both_layouts(axis: int) -> None:
    Q, K, C = M("Q", n, d), M("K", m, d), M("C", n, m)
    f = sp.Trace(C.T * softmax(Q * K.T, axis=axis).applyfunc(sp.log))
    for var in (Q, K):
        for layout in LAYOUTS:
            assert check_derivation(derive(f, var, layout), DIMS) < 1e-6
            assert check_derivation(derive(softmax(K * Q.T, axis=axis), var, layout), DIMS) < 1e-6


def test_attention_through_a_program() -> None:
    Q, K, V, C, A = M("Q", n, d), M("K", m, d), M("V", m, k), M("C", n, k), M("A", n, m)
    where = {A: softmax(Q * K.T, axis=1)}
    for var in (Q, K, V):
        dv = gradient(sp.Trace(C.T * A * V), var, where=where)
        assert check_derivation(dv, DIMS) < 1e-6


def test_the_gradient_reads_with_the_rows_softmax() -> None:
    f, _, W, _ = _batch_loss()
    dg = gradient(f, W)
    assert fmt(dg.result) in ("Xᵀ (softmax_rows(X W) - Y)", "Xᵀ softmax_rows(X W) - Xᵀ Y")
    assert "exp" not in fmt(dg.result)
    tex = dg.to_latex()
    assert r"\operatorname{softmax}_{\mathrm{rows}}" in tex


def test_large_logits_do_not_overflow_in_evaluate_or_the_generated_code() -> None:
    """Each row's largest entry is taken out first: logits of 1000 give what logits
    near 0 give (the softmax) or 1000 more (the logsumexp), not inf/NaN."""
    f, X, W, Y = _batch_loss()
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 2)), rng.standard_normal((2, 3))
    y = np.eye(3)[[0, 2, 1, 1]]
    shift = np.zeros((2, 3))
    shift[0] = 1000.0 / x[:, 0].mean()  # X W gets huge entries
    big = w + shift
    dg = gradient(f, W)
    want = x.T @ (_softmax_rows(x @ big) - y)
    values = {X: x, W: big, Y: y, n: 4, k: 3, d: 2}
    for got in (evaluate(dg, values), lambdify(dg)(X=x, W=big, Y=y)):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    Z = M("Z", n, k)
    z = 1000.0 + rng.standard_normal((4, 3))
    top = z.max(axis=0, keepdims=True)
    lse_cols = top + np.log(np.exp(z - top).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(evaluate(logsumexp(Z, axis=0), {Z: z}), lse_cols, rtol=1e-12)
    got = lambdify(gradient(logsumexp(Z, axis=0) * sp.OneMatrix(k, 1), Z))(Z=z)
    np.testing.assert_allclose(got, np.exp(z - lse_cols), rtol=1e-9)


def test_the_three_notations_read_the_axis_forms() -> None:
    syms = declare("Z: n x k, Q: n x d, K: m x d")
    Z, Q, K = syms["Z"], syms["Q"], syms["K"]
    cases = {
        "softmax_rows(Q @ K.T)": softmax(Q * K.T, axis=1),
        "softmax_cols(Z)": softmax(Z, axis=0),
        r"\operatorname{logsumexp}_{\mathrm{rows}}\left(Z\right)": logsumexp(Z, axis=1),
        r"\operatorname{softmax}_{\text{cols}}(Z)": softmax(Z, axis=0),
        r"\operatorname{softmax}_{rows}(Z)": softmax(Z, axis=1),
        r"\text{logsumexp}_\text{cols}(Z)": logsumexp(Z, axis=0),
        "logsumexp_cols(Z)": logsumexp(Z, axis=0),
    }
    for text, expected in cases.items():
        assert parse(text, syms) == expected, text
    for expr in cases.values():  # as printed, read back
        assert parse(fmt(expr), syms) == expr
        assert parse(sp.latex(expr), syms) == expr


def test_shapes_and_the_column_form() -> None:
    Z, z = M("Z", n, k), M("z", n, 1)
    assert logsumexp(Z, axis=1).shape == (n, 1)
    assert logsumexp(Z, axis=0).shape == (1, k)
    assert softmax(Z, axis=1).shape == (n, k)
    assert softmax(z, axis=0) == softmax(z)  # one node per meaning
    assert logsumexp(z, axis=0) == logsumexp(z)
    ones = Softmax(z, 1)  # each entry its own row: all ones (the node takes it)
    assert ones != softmax(z)
    np.testing.assert_allclose(evaluate(ones, {z: np.arange(4.0)[:, None]}), 1.0)


@pytest.mark.parametrize("text", ["softmax_rows(z)", "logsumexp_rows(z)", "softmax_cols(z.T)"])
def test_one_entry_per_row_is_refused_where_users_write_it(text: str) -> None:
    """softmax_rows of a column is all ones, logsumexp_rows of it the column itself:
    silently constant (found by a reviewer); the message names the form meant."""
    syms = declare("z: n")
    with pytest.raises(ShapeMismatch) as info:
        parse(text, syms)
    message = str(info.value)
    assert "has one entry" in message
    assert (
        ("softmax(z)" in message) or ("logsumexp(z)" in message) or "softmax_rows(z.T)" in message
    )


def test_verify_tells_the_rows_softmax_from_the_columns() -> None:
    f, X, W, Y = _batch_loss()
    Z = X * W
    right = verify(X.T * (softmax(Z, axis=1) - Y), f, W, "denominator")
    wrong = verify(X.T * (softmax(Z, axis=0) - Y), f, W, "denominator")
    assert right and right.kind == "correct"
    assert not wrong and wrong.kind == "other-axis"
    assert "softmax_cols(X W) should be softmax_rows(X W)" in wrong.message
    # with a sign slip or a factor too: two mistakes, both named
    for slip, kind in ((-1, "sign"), (sp.Rational(1, 2), "factor")):
        worse = verify(slip * X.T * (softmax(Z, axis=0) - Y), f, W, "denominator")
        assert not worse and worse.kind == "two-mistakes", worse.kind
        assert worse.details["mistakes"] == ("other-axis", kind)
        assert "softmax_cols(X W) is along the other axis" in worse.message


def test_verify_turns_nested_softmaxes_all_at_once() -> None:
    """Both axes wrong in softmax(softmax(S)): the all-at-once try turned only the outer
    one (xreplace stops at a match), and the verdict was "none of the common mistakes"."""
    S, C = M("S", n, m), M("C", n, m)
    f = sp.Trace(C.T * softmax(softmax(S, axis=0), axis=0))
    v = verify(softmax(softmax(S, axis=1), axis=1), f, C, "denominator")
    assert not v and v.kind == "other-axis", v.kind
    np.testing.assert_allclose(
        evaluate(v.details["fix"], {S: np.arange(20.0).reshape(4, 5) / 7, n: 4, m: 5}),
        evaluate(softmax(softmax(S, axis=0), axis=0), {S: np.arange(20.0).reshape(4, 5) / 7}),
    )


def test_verify_names_attentions_forgotten_second_term() -> None:
    """(A∘G) K for tr(Cᵀ softmax_rows(Q Kᵀ) V) by Q forgets the softmax Jacobian's
    second term, which sits inside a ∘ product inside a product: it was "none of the
    common mistakes" (found by a reviewer); flipping that term's sign likewise."""
    Q, K, V, C = M("Q", n, d), M("K", m, d), M("V", m, k), M("C", n, k)
    A, G = softmax(Q * K.T, axis=1), C * V.T
    f = sp.Trace(C.T * A * V)
    forgot = verify(sp.HadamardProduct(A, G) * K, f, Q, "denominator")
    assert not forgot and forgot.kind == "missing-term", forgot.kind
    flipped = sp.HadamardProduct(A, G + sp.HadamardProduct(A, G) * sp.OneMatrix(m, m)) * K
    v = verify(flipped, f, Q, "denominator")
    assert not v and v.kind == "term-sign", v.kind
