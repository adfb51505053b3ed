"""verify names two mistakes at once: an arrangement (transposed, a commutation
matrix missing, Kronecker factors swapped) with a value slip (a sign, a constant
factor, a term left out).  Each case also checks that undoing both slips gives a
candidate verify accepts, so the verdict's account is right, not only its kind."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import commutation, derive, vec, verify

m, n = sp.symbols("m n", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, m)
B = sp.MatrixSymbol("B", n, n)
C = sp.MatrixSymbol("C", m, m)
D = sp.MatrixSymbol("D", m, m)
X = sp.MatrixSymbol("X", m, n)
Y = sp.MatrixSymbol("Y", m, n)


def test_kronecker_factors_swapped_and_the_sign() -> None:
    v = verify(-sp.KroneckerProduct(A, B.T), A * X * B, X)
    assert not v and v.kind == "two-mistakes"
    assert v.details["mistakes"] == ("kron-order", "sign")
    assert "wrong order" in v.message and "sign" in v.message
    assert verify(sp.KroneckerProduct(B.T, A), A * X * B, X)  # both undone: right


def test_transposed_and_the_sign() -> None:
    v = verify(-A, sp.Trace(C * A), C, "denominator")
    assert v.kind == "two-mistakes" and v.details["mistakes"] == ("transposed", "sign")
    assert verify(A.T, sp.Trace(C * A), C, "denominator")


def test_transposed_and_a_missing_term() -> None:
    f = sp.Trace(C * A) + sp.Trace(C * D)  # gradient Aᵀ + Dᵀ
    v = verify(A, f, C, "denominator")
    assert v.kind == "two-mistakes" and v.details["mistakes"] == ("transposed", "missing-term")
    assert "lacks the term Dᵀ" in v.message
    assert verify(A.T + D.T, f, C, "denominator")


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(("scale", "slip"), [(-1, "sign"), (3, "factor")])
def test_a_missing_commutation_matrix_and_a_sign_or_factor(layout, scale, slip) -> None:
    f = (A * Y).applyfunc(sp.tanh)
    by_transpose = derive(f, vec(Y.T), layout).result  # what forgetting K gives
    v = verify(scale * by_transpose, f, Y, layout)
    assert v.kind == "two-mistakes" and v.details["mistakes"] == ("commutation", slip)
    k = commutation(m, n)
    fixed = by_transpose * k if layout == "numerator" else k.T * by_transpose
    assert verify(fixed, f, Y, layout)
    assert ("multiply on the right by" if layout == "numerator" else "on the left") in v.message


def test_one_mistake_is_still_named_alone_and_nonsense_is_still_wrong() -> None:
    assert verify(-sp.KroneckerProduct(B.T, A), A * X * B, X).kind == "sign"
    assert verify(sp.KroneckerProduct(A, B.T), A * X * B, X).kind == "kron-order"
    v = verify(sp.KroneckerProduct(B, A * A), A * X * B, X)
    assert v.kind == "wrong" and "two-mistakes" not in v.message


def test_symmetric_and_a_sign_or_factor() -> None:
    """Σ⁻¹(μ - x) for ∂/∂μ of the Gaussian log-likelihood, (Σ⁻¹ + Σ⁻ᵀ)(x - μ)/2:
    right for a symmetric Σ but for the sign. It was "wrong"."""
    n = sp.Symbol("n", integer=True, positive=True)
    S, mu, x = (
        sp.MatrixSymbol("Sigma", n, n),
        sp.MatrixSymbol("mu", n, 1),
        sp.MatrixSymbol("x", n, 1),
    )
    f = -sp.log(sp.Determinant(S)) / 2 - sp.Trace((x - mu).T * S.I * (x - mu)) / 2
    v = verify("inv(Sigma) @ (mu - x)", f, mu, "denominator")
    assert v.kind == "two-mistakes" and v.details["mistakes"] == ("symmetric", "sign")
    assert v.details["symmetric"] == S and v.details["factor"] == -1
    assert "right only if Σ is symmetric, and its sign is wrong" in v.message
    v = verify("2 * inv(Sigma) @ (x - mu)", f, mu, "denominator")
    assert v.details["mistakes"] == ("symmetric", "factor") and v.details["factor"] == 2
    assert verify("inv(Sigma) @ (x - mu)", f, mu, "denominator").kind == "symmetric"


def test_a_one_by_one_matrix_is_never_assumed_symmetric() -> None:
    """A hunt: 3 H vec(V) was "right only if B₁₁ is symmetric, and 3 times ..." for a
    1 x 1 B₁₁, which is always symmetric; a constant factor is said alone, and the
    symmetry named is A's."""
    n = sp.Symbol("n", integer=True, positive=True)
    x, b, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", 1, 1), sp.MatrixSymbol("A", n, n)
    f = b * x.T * A * x
    assert verify("3 * b * (A + A.T) @ x", f, x, "denominator").kind == "factor"
    v = verify("-b * 2 * A @ x", f, x, "denominator")
    assert v.details["mistakes"] == ("symmetric", "sign") and v.details["symmetric"] == A
    from matderiv import derive
    from matderiv.diagnosis import Checker
    from matderiv.mistake_symmetric import symmetrised
    from matderiv.trials import make_trials

    d = derive(f, x, "denominator")
    cand = 3 * d.result
    checker = Checker(cand, d, make_trials((cand, d.result, d.of)))
    assert [m for m, _ in symmetrised(checker)] == [A]  # not b


# labels that sum to 1 with a second slip: Xᵀ(softmax_rows(X W) - Y) is right for
# one-hot rows of Y ("sums-to-one"); its sign flipped or its softmax along the other
# axis was only "wrong", with none of the common mistakes


def _batch_cross_entropy() -> tuple[dict[str, sp.MatrixSymbol], object]:
    from matderiv import declare, parse

    S = declare("X: p x n, W: n x q, Y: p x q")
    return S, parse("-sum(Y * log(softmax_rows(X @ W)))", S)


@pytest.mark.parametrize(
    ("candidate", "second", "says"),
    [
        ("X.T @ (Y - softmax_rows(X @ W))", "sign", "its sign is wrong"),
        ("-3 * X.T @ (Y - softmax_rows(X @ W))", "factor", "it is 3 times"),
        ("X.T @ (softmax_cols(X @ W) - Y)", "other-axis", "along the other axis"),
    ],
)
def test_labels_that_sum_to_one_and_a_second_slip(candidate: str, second: str, says: str) -> None:
    S, f = _batch_cross_entropy()
    v = verify(candidate, f, S["W"], "denominator")
    assert not v and v.kind == "two-mistakes", (v.kind, v.message)
    assert v.details["mistakes"] == ("sums-to-one", second)
    assert v.details["sums_to_one"] == S["Y"] and v.details["along"] == "rows"
    assert "each row of Y sums to 1" in v.message and says in v.message, v.message
    right = verify("X.T @ (softmax_rows(X @ W) - Y)", f, S["W"], "denominator")
    assert right.kind == "sums-to-one"  # both undone: the textbook answer's one assumption


def test_a_label_vector_that_sums_to_one_and_the_sign() -> None:
    from matderiv import declare, parse

    S = declare("z: q, y: q")
    f = parse("-y.T @ log(softmax(z))", S)  # the gradient is (𝟏ᵀy) softmax(z) - y
    v = verify("y - softmax(z)", f, S["z"], "denominator")
    assert v.kind == "two-mistakes", (v.kind, v.message)
    assert v.details["mistakes"] == ("sums-to-one", "sign")
    assert v.details["sums_to_one"] == S["y"]
    assert verify("softmax(z) - y", f, S["z"], "denominator").kind == "sums-to-one"
    assert verify("softmax(z) + y", f, S["z"], "denominator").kind != "two-mistakes"


def test_a_candidate_right_for_nonnegative_labels_is_not_said_to_need_labels_summing_to_one() -> (
    None
):
    """sum(|y|) softmax(z) - y for -yᵀ log softmax(z) is right wherever y ≥ 0, whatever
    its sum, and wrong for labels of both signs that sum to 1: it was named 'right only
    if the entries of y sum to 1' (both label values tried were probabilities)."""
    from matderiv import declare, parse

    S = declare("z: q, y: q")
    f = parse("-y.T @ log(softmax(z))", S)
    v = verify("sum(abs(y)) * softmax(z) - y", f, S["z"], "denominator")
    assert not v and v.kind not in ("sums-to-one", "two-mistakes"), v.message
