"""verify: right answers, the seed's wrong and right formulas, each diagnosis, LaTeX from posts."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
from rich.console import Console

from matderiv import (
    EvaluationError,
    LayoutError,
    MatDerivError,
    commutation,
    declare,
    derive,
    diag,
    evaluate,
    gradient,
    hessian,
    norm,
    parse,
    vec,
    verify,
)
from matderiv.examples import rnn_loss, rnn_step
from matderiv.nodes import AsScalar
from matderiv.parse.expr import parse_expression
from matderiv.render.latex import tex
from matderiv.render.unicode import fmt
from matderiv.testing import numeric_jacobian, random_values
from matderiv.trials import MAX_CONDITION, UndefinedAtPoints, finite_trials, make_trials

STEP = rnn_step()
H1 = STEP.names["h_1"]
W = STEP.wrt.arg.arg
n_h, n_i = sorted(STEP.dims, key=str)
e1 = sp.MatrixSymbol("e_1", n_i, 1)
I_h = sp.Identity(n_h)
NAMES = STEP.names

n, m = sp.symbols("n m", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, n)
A = sp.MatrixSymbol("A", n, n)
R = sp.MatrixSymbol("R", m, n)
x = sp.MatrixSymbol("x", n, 1)
a = sp.MatrixSymbol("a", n, 1)
b = sp.MatrixSymbol("b", n, 1)
y = sp.MatrixSymbol("y", m, 1)
LOGDET = sp.log(sp.Determinant(X))

# (id, candidate, expr, wrt, layout, expected kind)
CASES = [
    # the seed: right and wrong, in LaTeX as people write it
    (
        "seed right",
        r"(e_1 \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)",
        H1,
        vec(W.T),
        "denominator",
        "correct",
    ),
    (
        "seed wrong",
        r"(e_1^T \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)",
        H1,
        vec(W.T),
        "denominator",
        "ill-formed",
    ),
    (
        "seed numerator",
        r"\operatorname{diag}(1 - h_1^2) (e_1^T \otimes I_{n_h})",
        H1,
        vec(W.T),
        "numerator",
        "correct",
    ),
    (
        "seed wrt vec W",
        r"(I_{n_h} \otimes e_1) \text{diag}(1 - h_1^2)",
        H1,
        W,
        "denominator",
        "correct",
    ),
    (
        "seed other layout",
        r"\operatorname{diag}(1 - h_1^2) (e_1^T \otimes I_{n_h})",
        H1,
        vec(W.T),
        "denominator",
        "other-layout",
    ),
    (
        "seed commutation missing",
        r"(e_1 \otimes I_{n_h}) \mathrm{diag}(1 - h_1^2)",
        H1,
        W,
        "denominator",
        "commutation",
    ),
    (
        "seed commutation missing numerator",
        "diag(1 - h_1^2) @ kron(e_1.T, eye(n_h))",
        H1,
        vec(W),
        "numerator",
        "commutation",
    ),
    (
        "seed sympy",
        sp.MatMul(
            sp.KroneckerProduct(e1, I_h), diag(sp.OneMatrix(n_h, 1) - sp.HadamardPower(H1, 2))
        ),
        H1,
        vec(W.T),
        "denominator",
        "correct",
    ),
    (
        "seed syntax",
        "kron(e_1, eye(n_h)) @ diag(1 - h_1^2)",
        H1,
        vec(W.T),
        "denominator",
        "correct",
    ),
    # linear and quadratic forms
    ("aXb latex", r"\mathbf{a}\mathbf{b}^T", a.T * X * b, X, "denominator", "correct"),
    ("aXb numerator", r"\mathbf{b}\mathbf{a}^\top", a.T * X * b, X, "numerator", "correct"),
    ("aXb transposed", "b @ a.T", a.T * X * b, X, "denominator", "transposed"),
    ("quadratic missing term", "A @ x", x.T * A * x, x, "denominator", "missing-term"),
    ("quadratic term sign", "A @ x - A.T @ x", x.T * A * x, x, "denominator", "term-sign"),
    ("quadratic extra term", "(A + A.T) @ x + 2 * x", x.T * A * x, x, "denominator", "extra-term"),
    ("quadratic right", r"(A + A^T) x", x.T * A * x, x, "denominator", "correct"),
    ("quadratic symmetric", "2 * A @ x", x.T * A * x, x, "denominator", "symmetric"),
    ("quadratic numerator", r"x^T (A + A^T)", x.T * A * x, x, "numerator", "correct"),
    ("xx missing 2", "x", x.T * x, x, "denominator", "factor"),
    ("xx sign", "-2 * x", x.T * x, x, "denominator", "sign"),
    (
        "least squares other layout",
        "2 * R.T @ (R @ x - y)",
        (R * x - y).T * (R * x - y),
        x,
        "numerator",
        "other-layout",
    ),
    (
        "least squares missing 2",
        r"R^T (R x - y)",
        (R * x - y).T * (R * x - y),
        x,
        "denominator",
        "factor",
    ),
    # traces, inverses, determinants
    ("tr(AX)", r"A^\top", sp.Trace(A * X), X, "denominator", "correct"),
    ("tr(AX) transposed", "A", sp.Trace(A * X), X, "denominator", "transposed"),
    ("logdet", "X^{-T}", LOGDET, X, "denominator", "correct"),
    ("logdet numerator", r"X^{-1}", LOGDET, X, "numerator", "correct"),
    ("logdet sign", r"-X^{-T}", LOGDET, X, "denominator", "sign"),
    ("logdet wrong", "X", LOGDET, X, "denominator", "wrong"),
    ("aXinvb", r"-X^{-T} a b^T X^{-T}", a.T * sp.Inverse(X) * b, X, "denominator", "correct"),
    # right only for symmetric X: the trial values of an inverted / det matrix are not
    # symmetric (testing.definite_matrix), so X⁻ᵀ ≠ X⁻¹ and these are caught
    ("logdet transposed", r"X^{-1}", LOGDET, X, "denominator", "transposed"),
    (
        "aXinvb one transpose short",
        r"-X^{-T} a b^T X^{-1}",
        a.T * sp.Inverse(X) * b,
        X,
        "denominator",
        "symmetric",
    ),
    ("inverse kron", "-kron(inv(X), inv(X))", sp.Inverse(X), X, "denominator", "symmetric"),
    ("inverse kron right", "-kron(inv(X).T, inv(X))", sp.Inverse(X), X, "numerator", "correct"),
    (
        "trace squared",
        r"2 \operatorname{tr}(X) I_n",
        sp.Trace(X) ** 2,
        X,
        "denominator",
        "correct",
    ),
    ("hadamard", r"a \odot b", (sp.HadamardProduct(a, x).T * b), x, "denominator", "correct"),
    ("hadamard circ", r"b \circ a", (sp.HadamardProduct(a, x).T * b), x, "denominator", "correct"),
    ("vec form", r"(b \otimes a)^T", a.T * X * b, vec(X), "numerator", "correct"),
    ("wrong shape", "a", a.T * X * b, X, "denominator", "wrong-shape"),
    ("X^T jacobian", commutation(n, n), X.T, X, "numerator", "correct"),
]


# the kinds, and the headlines messages used to open with ("✗ sign: wrong sign: ...")
HEADLINES = (
    "correct",
    "ill-formed",
    "not well formed",
    "wrong",
    "other-layout",
    "transposed",
    "commutation",
    "factor",
    "off by a constant factor",
    "sign",
    "missing-term",
    "a term is missing",
    "symmetric",
    "right only if",
)
# names the engine makes up for intermediates (v₁, v₂, ... and Y for a matrix output)
AUTO_NAME = re.compile(r"\bv[₀-₉]+|\bv_\d|\bY\b")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_verify(case) -> None:
    _, candidate, expr, wrt, layout, kind = case
    verdict = verify(candidate, expr, wrt, layout, names=NAMES)
    assert verdict.kind == kind, verdict.message
    assert bool(verdict) == (kind == "correct")
    assert verdict.message
    assert verdict.details["derived"] == verdict.derivation.result
    # the kind is shown once: by the renderer, not again by the message
    assert not verdict.message.startswith(HEADLINES), verdict.message
    mark = "✓" if verdict else "✗"
    assert str(verdict).splitlines()[0] == f"{mark} {kind}: {verdict.message}"
    # formulas in the message are self-contained: no auto-generated intermediate names
    assert not AUTO_NAME.search(verdict.message), verdict.message


def test_enough_cases() -> None:
    assert len(CASES) >= 25
    assert {c[5] for c in CASES} >= {
        "correct",
        "ill-formed",
        "other-layout",
        "transposed",
        "commutation",
        "factor",
        "sign",
        "missing-term",
        "term-sign",
        "wrong",
        "wrong-shape",
        "symmetric",
    }


def test_ill_formed_names_the_product_and_shapes() -> None:
    verdict = verify(
        r"(e_1^T \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)",
        H1,
        vec(W.T),
        "denominator",
        names=NAMES,
    )
    assert "inner dimensions" in verdict.message
    assert "(nₕ × nₕ·nᵢ)" in verdict.message and "(nₕ × nₕ)" in verdict.message
    # one style for dimensions, fmt's, as in the formulas (I_{nₕ}): no plain n_h
    assert "I_{nₕ}" in verdict.message and "n_h" not in verdict.message
    assert "inner dimensions nₕ·nᵢ and nₕ do not agree" in verdict.details["error"]


def test_other_layout_message_says_what_to_do() -> None:
    verdict = verify(
        "diag(1 - h_1^2) @ kron(e_1.T, eye(n_h))", H1, vec(W.T), "denominator", names=NAMES
    )
    assert "numerator-layout form; in denominator layout take its transpose" in verdict.message


def test_factor_and_missing_term_details() -> None:
    verdict = verify("x", x.T * x, x, "denominator")
    assert verdict.details["factor"] == sp.Rational(1, 2)
    verdict = verify("A @ x", x.T * A * x, x, "denominator")
    assert verdict.details["missing"] == A.T * x


def test_an_extra_term_is_named_as_written() -> None:
    """A term too many was "wrong" (none of the common mistakes), though a missing
    one was named; the extra terms are the candidate's own, as written."""
    ridge = (A * x - b).T * (A * x - b)
    v = verify("2 * A.T @ (A @ x - b) + 2 * x", ridge, x, "denominator")
    assert v.kind == "extra-term" and v.details["extra"] == [2 * x]
    assert "the candidate has the extra term 2 x: without it, it equals" in v.message
    v = verify("2 * A.T @ (A @ x - b) + x + A.T @ b", ridge, x, "denominator")
    assert v.kind == "extra-term" and set(v.details["extra"]) == {x, A.T * b}
    assert "extra terms" in v.message and "without them" in v.message
    v = verify("2 * A.T @ A @ x + x", ridge, x, "denominator")  # -2Aᵀb missing, x extra
    assert v.kind != "extra-term"


def test_a_term_with_the_wrong_sign_is_named_as_the_derivative_writes_it() -> None:
    """The Gaussian ∂/∂Σ with one sign wrong named four expanded products
    (1/2 Σ⁻ᵀ μ μᵀ Σ⁻ᵀ + ...); now the term of 1/2 (Σ⁻ᵀ(x - μ)(x - μ)ᵀ - I) Σ⁻ᵀ."""
    S, mu = sp.MatrixSymbol("Sigma", n, n), sp.MatrixSymbol("mu", n, 1)
    f = -sp.log(sp.Determinant(S)) / 2 - sp.Trace((x - mu).T * S.I * (x - mu)) / 2
    text = "-inv(Sigma).T/2 - inv(Sigma).T @ (x - mu) @ (x - mu).T @ inv(Sigma).T / 2"
    v = verify(text, f, S, "denominator")
    assert v.kind == "term-sign"
    assert "has the term 1/2 Σ⁻ᵀ (x - μ) (x - μ)ᵀ Σ⁻ᵀ with the wrong sign" in v.message


def test_a_vectorised_candidate_is_said_to_be_vec_of_the_answer() -> None:
    """H vec(V) written literally for an HVP, or vec(∇f): "wrong-shape" without saying
    its values are right."""
    V = sp.MatrixSymbol("V", n, n)
    text = "-kron(inv(X), inv(X).T) @ commutation(n, n) @ vec(V)"
    v = verify(text, LOGDET, X, order=2, direction=V)
    assert v.kind == "wrong-shape"
    assert "Its values are those of vec of the Hessian-vector product" in v.message
    assert v.message.endswith("(n × n): -X⁻ᵀ Vᵀ X⁻ᵀ.")
    v = verify("vec(A)", sp.Trace(A.T * X), X, "denominator")
    assert v.kind == "wrong-shape" and "vec of the derivative" in v.message
    v = verify("vec(A.T)", sp.Trace(A.T * X), X, "denominator")  # not vec of it
    assert v.kind == "wrong-shape" and "vec of" not in v.message


def test_a_forgotten_activation_derivative_is_named() -> None:
    """c xᵀ for ∂cᵀtanh(W x)/∂W, (e₁ ⊗ I) for the RNN step's Jacobian: "wrong" before;
    the factor left out is tanh′ = 1 - h∘h, in a ∘ product or as diag(...)."""
    k = sp.symbols("k", integer=True, positive=True)
    Wk, c = sp.MatrixSymbol("W", k, n), sp.MatrixSymbol("c", k, 1)
    f = c.T * (Wk * x).applyfunc(sp.tanh)
    v = verify("c @ x.T", f, Wk, "denominator")
    assert v.kind == "missing-factor"
    assert "lacks the factor 1 - tanh(W x)∘tanh(W x)" in v.message
    v = verify("W.T @ c", f, x, "denominator")
    assert v.kind == "missing-factor"
    v = verify("kron(e_1, eye(n_h))", H1, vec(W.T), "denominator", names=NAMES)
    assert v.kind == "missing-factor" and "diagonal factor diag(1 - h₁∘h₁)" in v.message
    assert verify("((1 - tanh(W @ x)) * c) @ x.T", f, Wk, "denominator").kind == "wrong"


def test_a_commutation_matrix_missing_from_one_term_is_named() -> None:
    """∂vec(XᵀX)/∂vec(X)ᵀ = I ⊗ Xᵀ + (Xᵀ ⊗ I) K_{n,m}: K left out of the second term
    was "wrong" (the check for a missing K looked at the whole derivative only)."""
    Y = sp.MatrixSymbol("Y", n, m)
    v = verify("kron(eye(m), Y.T) + kron(Y.T, eye(m))", Y.T * Y, Y, "numerator")
    assert v.kind == "missing-factor" and "lacks the commutation matrix K_{n,m}" in v.message
    assert v.details["missing_factor"] == commutation(n, m)


def test_a_variable_the_expression_does_not_contain_is_pointed_out() -> None:
    """--wrt y for f(x): the derivative is 0 and the verdict said only "wrong"."""
    y = sp.MatrixSymbol("y", n, 1)
    v = verify("2 * A @ x", x.T * A * x, y, "denominator")
    assert v.kind == "wrong"
    assert v.message.endswith(
        "Note: the expression does not depend on y, so its derivative is 0: "
        "is y the variable you meant?"
    )
    assert verify("0", x.T * A * x, y, "denominator")  # and 0 is right
    assert "does not depend" not in verify("A @ x", x.T * A * x, x, "denominator").message


def test_numeric_check_reports_the_error() -> None:
    ex = rnn_loss()
    verdict = verify("e_1 @ (c * (1 - h_1^2)).T", ex.expr, ex.wrt, "denominator", names=ex.names)
    assert verdict and verdict.details["max_error"] < 1e-9
    wrong = verify("e_1 @ (c * (1 - h_1)).T", ex.expr, ex.wrt, "denominator", names=ex.names)
    assert not wrong and wrong.kind == "wrong" and wrong.details["max_error"] > 1e-3


def test_verdict_renders() -> None:
    verdict = verify("A", sp.Trace(A * X), X, "denominator")
    text = str(verdict)
    assert text.startswith("✗ transposed") and "derived" in text and "Aᵀ" in text


def test_transposed_inverse_is_caught() -> None:
    """d log det X / dX = X⁻ᵀ (Cookbook (57)); X⁻¹ is its transpose, not a right answer."""
    verdict = verify("X^{-1}", LOGDET, X, "denominator")
    assert not verdict and verdict.kind == "transposed"
    assert "X⁻ᵀ" in verdict.message
    assert verify("X^{-T}", LOGDET, X, "denominator")


@pytest.mark.parametrize(
    ("candidate", "expr", "layout"),
    [
        (r"-X^{-T} a b^T X^{-1}", a.T * sp.Inverse(X) * b, "denominator"),
        ("-kron(inv(X), inv(X))", sp.Inverse(X), "denominator"),
        ("-kron(inv(X), inv(X))", sp.Inverse(X), "numerator"),
    ],
)
def test_right_only_for_symmetric_variable(candidate, expr, layout) -> None:
    """Each candidate equals the derivative at a symmetric X, and only there."""
    verdict = verify(candidate, expr, X, layout)
    assert not verdict and verdict.kind == "symmetric", verdict.message
    assert verdict.details["symmetric"] == X
    assert "right only if X is symmetric" in verdict.message


def test_messages_show_the_result_not_intermediates() -> None:
    least_squares = (R * x - y).T * (R * x - y)
    factor = verify(r"R^T (R x - y)", least_squares, x, "denominator")
    assert factor.kind == "factor"
    assert factor.message.endswith("The derivative is 2 Rᵀ (R x - y).")
    other = verify("2 * R.T @ (R @ x - y)", least_squares, x, "numerator")
    assert other.kind == "other-layout"
    assert "derived    ∂f/∂x = 2 (R x - y)ᵀ R" in str(other)
    kron = verify("-kron(inv(X), inv(X))", sp.Inverse(X), X, "denominator")
    assert "the derivative is -X⁻¹ ⊗ X⁻ᵀ" in kron.message
    verdicts = [
        factor,
        other,
        kron,
        verify("-2 * x", x.T * x, x, "denominator"),
        verify("A @ x", x.T * A * x, x, "denominator"),
        verify("2 * A @ x", x.T * A * x, x, "denominator"),
        verify("X", LOGDET, X, "denominator"),
    ]
    for verdict in verdicts:
        assert not AUTO_NAME.search(verdict.message), verdict.message
        derived = next(line for line in str(verdict).splitlines() if "derived" in line)
        assert not AUTO_NAME.search(derived.split("=", 1)[1]), derived
        assert verdict.shown_result == verdict.derivation.result


def test_messages_use_the_users_names() -> None:
    ex = rnn_loss()
    wrong = verify("e_1 @ (c * (1 - h_1)).T", ex.expr, ex.wrt, "denominator", names=ex.names)
    assert wrong.kind == "wrong"
    assert wrong.message.endswith("The derivative is e₁ ((1 - h₁∘h₁)∘c)ᵀ.")
    assert not AUTO_NAME.search(str(wrong))


def test_rich_view_shows_the_kind_once() -> None:
    for verdict in (
        verify("A", sp.Trace(A * X), X, "denominator"),
        verify(r"A^\top", sp.Trace(A * X), X, "denominator"),
        verify("-2 * x", x.T * x, x, "denominator"),
    ):
        console = Console(record=True, width=200)
        console.print(verdict)
        out = console.export_text()
        mark = "✓" if verdict else "✗"
        assert out.count(f"{mark} {verdict.kind}") == 1
        assert f"{verdict.kind}: " not in out
        assert verdict.message in " ".join(out.split())


def test_a_candidate_whose_mismatch_sympy_would_hide_is_ill_formed() -> None:
    """I_m (A + Aᵀ) x with A: n x n is no formula at all, though SymPy's I_m · M is M."""
    n, m = sp.symbols("n m", integer=True, positive=True)
    A, x, y = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", m, 1)
    f = x.T * A * x + y.T * y
    good = verify("(A + A.T) @ x", f, x, "denominator")
    bad = verify("eye(m) @ (A + A.T) @ x", f, x, "denominator")
    assert good.ok and good.kind == "correct"
    assert not bad.ok and bad.kind == "ill-formed" and "inner dimensions" in bad.message


def test_a_variable_neither_side_uses_is_not_symmetrised() -> None:
    """d tr(A)/dX = 0: the symmetry diagnosis of a wrong candidate looked up the
    variable's value at points that hold none (KeyError)."""
    wrong = verify(sp.OneMatrix(n, n), sp.Trace(A), X, "denominator")
    assert wrong.kind == "wrong" and "𝟎" in wrong.message
    assert verify(sp.ZeroMatrix(n, n), sp.Trace(A), X, "denominator").kind == "correct"


def test_values_that_are_not_finite_never_confirm_a_candidate() -> None:
    """d tr(√(A X))/dX is NaN where A X has negative entries, as at verify's random
    points: Python's max() skipped the NaN errors, so any candidate, even 0, was
    correct.  (A symbol under the root, √X, is drawn positive: there 0 is 'wrong'.)"""
    f = sp.Trace((A * X).applyfunc(sp.sqrt))
    with np.errstate(invalid="ignore"):
        wrong = verify(sp.ZeroMatrix(n, n), f, X, "denominator")
        right = verify(gradient(f, X).result, f, X, "denominator")
        positive = verify(sp.ZeroMatrix(n, n), sp.Trace(X.applyfunc(sp.sqrt)), X)
    assert wrong.kind == "not-finite" and not wrong and "not finite" in wrong.message
    assert right.kind == "correct"  # equal symbolically: no numbers needed
    assert positive.kind == "wrong", positive.kind


def test_scalar_symbols_get_values_at_the_random_points() -> None:
    """f = s·xᵀx: the numeric comparison drew values for matrices and sizes only, so
    a candidate not equal symbolically raised 'no values for s'."""
    s = sp.Symbol("s")
    f = s * (x.T * x)
    assert verify(3 * s * x, f, x, "denominator").kind == "factor"
    assert verify(s * x + s * x.T.T, f, x, "denominator").kind == "correct"


# -- Hessians: verify(..., order=2) -----------------------------------------------------

Y = sp.MatrixSymbol("Y", n, m)
TRACE_FORM = sp.Trace(Y.T * A * Y)


def _second_differences_agree(candidate: str, f, var, dims) -> bool:
    """The candidate (parsed as verify parses it) against second differences of f."""
    from matderiv import evaluate
    from matderiv.parse.candidate import parse_candidate
    from matderiv.testing import numeric_hessian, random_values

    cand = parse_candidate(candidate, f, {})
    values = random_values(sp.Tuple(f, cand), dims, np.random.default_rng(5))
    env = {**values, **dims}
    want = numeric_hessian(f, var, env, h=1e-4)
    got = np.asarray(evaluate(cand, env), dtype=float)
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("candidate", "f", "var", "kind"),
    [
        ("-kron(inv(X), inv(X).T) @ commutation(n, n)", LOGDET, X, "correct"),
        ("-kron(inv(X).T, inv(X))", LOGDET, X, "commutation"),  # K missing on the left
        ("-kron(inv(X), inv(X).T)", LOGDET, X, "commutation"),  # ... or on the right
        ("kron(inv(X), inv(X).T) @ commutation(n, n)", LOGDET, X, "sign"),
        ("kron(eye(m), A + A.T)", TRACE_FORM, Y, "correct"),
        ("kron(A + A.T, eye(m))", TRACE_FORM, Y, "commutation"),  # by vec(Yᵀ)
        ("kron(eye(m), A)", TRACE_FORM, Y, "missing-term"),
        ("2 * kron(eye(m), A)", TRACE_FORM, Y, "symmetric"),
        ("A + A.T", x.T * A * x, x, "correct"),
        ("2 * A", x.T * A * x, x, "symmetric"),
        ("A", x.T * A * x, x, "missing-term"),
        ("4 * (A + A.T)", x.T * A * x, x, "factor"),
        ("A @ A", x.T * A * x, x, "wrong"),
    ],
)
def test_verify_a_hessian(candidate: str, f, var, kind: str) -> None:
    verdict = verify(candidate, f, var, order=2)
    assert verdict.kind == kind, verdict.message
    assert bool(verdict) == (kind == "correct")
    dims = {n: 3, m: 4}
    assert _second_differences_agree(candidate, f, var, dims) == (kind == "correct")
    assert "Hessian" in verdict.message and "layout" not in verdict.message
    shown = str(verdict)  # the text view: no "layout" row for a Hessian either
    assert "  form " in shown and "  layout " not in shown
    if kind == "commutation":
        fix = verdict.details["fix"]  # the named fix really is the Hessian
        from matderiv import evaluate, hessian
        from matderiv.testing import random_values

        values = random_values(sp.Tuple(f, fix), dims, np.random.default_rng(6))
        env = {**values, **dims}
        np.testing.assert_allclose(
            evaluate(fix, env), evaluate(hessian(f, var), env), rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_square_transposed_derivative_is_named_the_other_layouts_form(layout) -> None:
    """For a square X the two layouts' shapes agree: a transposed candidate is the
    other layout's derivative (or has a transpose off inside), and the message says so."""
    right = {"denominator": "A.T", "numerator": "A"}[layout]
    assert verify(right, sp.Trace(A * X), X, layout)
    wrong = {"denominator": "A", "numerator": "A.T"}[layout]
    verdict = verify(wrong, sp.Trace(A * X), X, layout)
    other = "numerator" if layout == "denominator" else "denominator"
    assert verdict.kind == "transposed"
    assert f"it is the {other}-layout form (in {layout} layout take its transpose)" in (
        verdict.message
    )


def test_a_transposed_candidate_right_for_a_symmetric_matrix_says_both() -> None:
    """The textbook Gaussian ∂/∂Σ, -Σ⁻¹/2 + Σ⁻¹(x - μ)(x - μ)ᵀΣ⁻¹/2, is the transpose of
    the derivative and also right for a symmetric Σ: the message said only "the
    numerator-layout form", a misleading hint for a denominator-layout user."""
    S, mu = sp.MatrixSymbol("Sigma", n, n), sp.MatrixSymbol("mu", n, 1)
    f = -sp.log(sp.Determinant(S)) / 2 - sp.Trace((x - mu).T * S.I * (x - mu)) / 2
    text = "-inv(Sigma)/2 + inv(Sigma) @ (x - mu) @ (x - mu).T @ inv(Sigma) / 2"
    v = verify(text, f, S, "denominator")
    assert v.kind == "transposed" and v.details["symmetric"] == S
    assert "It also equals the derivative wherever Σ is symmetric" in v.message
    assert "numerator-layout form" in v.message
    v = verify("A", sp.Trace(A * X), X, "denominator")  # right for A = Aᵀ too: said
    assert v.kind == "transposed" and "wherever A is symmetric" in v.message
    v = verify("b @ a.T", a.T * X * b, X, "denominator")  # a bᵀ: no symmetry helps
    assert v.kind == "transposed" and "symmetric" not in v.message


def test_right_only_if_several_matrices_are_symmetric() -> None:
    """2(P + Q)x for xᵀPx + xᵀQx, and the Kalman gain's -2(I - KH)PHᵀ + 2KR, right for
    symmetric P and Q (P and R, both covariances), were "wrong": only one matrix at a
    time was made symmetric.  The fewest that suffice are named."""
    P, Q, C = (sp.MatrixSymbol(s, n, n) for s in "PQC")
    v = verify("2 * (P + Q) @ x", x.T * P * x + x.T * Q * x, x, "denominator")
    assert v.kind == "symmetric" and v.details["symmetric"] == (P, Q), v.message
    assert "right only if P and Q are symmetric" in v.message
    # C is square and used, but need not be symmetric: not named
    f = x.T * P * x + x.T * Q * x + a.T * C * x
    v = verify("2 * (P + Q) @ x + C.T @ a", f, x, "denominator")
    assert v.kind == "symmetric" and v.details["symmetric"] == (P, Q), v.message
    v = verify("4 * (P + Q) @ x", x.T * P * x + x.T * Q * x, x, "denominator")
    assert v.kind == "two-mistakes" and v.details["mistakes"] == ("symmetric", "factor")
    assert "right only if P and Q are symmetric, and it is 2 times" in v.message
    Rm, H, K = sp.MatrixSymbol("R", m, m), sp.MatrixSymbol("H", m, n), sp.MatrixSymbol("K", n, m)
    gain = sp.Identity(n) - K * H
    joseph = sp.Trace(gain * P * gain.T + K * Rm * K.T)
    v = verify("-2 * (eye(n) - K @ H) @ P @ H.T + 2 * K @ R", joseph, K, "denominator")
    assert v.kind == "symmetric" and v.details["symmetric"] == (P, Rm), v.message
    v = verify("-2 * (eye(n) - K @ H) @ P @ H.T - 2 * K @ R", joseph, K, "denominator")
    assert not v and "symmetric" not in v.kind  # a wrong sign is not a symmetry
    # with a sign off too: the fewest named (not S, whose term is symmetric as written),
    # and not a matrix already declared symmetric
    R3, S3 = sp.MatrixSymbol("R3", n, n), sp.MatrixSymbol("S3", n, n)
    f = x.T * P * x + x.T * Q * x + x.T * R3 * x + x.T * (S3 + S3.T) * x
    v = verify("-2*(P + Q + R3) @ x - 2*(S3 + S3.T) @ x", f, x, "denominator")
    assert v.kind == "two-mistakes" and v.details["symmetric"] == (P, Q, R3), v.message
    f = x.T * P * x + x.T * Q * x + x.T * R3 * x
    v = verify("-2*(P + Q + R3) @ x", f, x, "denominator", symmetric=[Q])
    assert v.kind == "two-mistakes" and v.details["symmetric"] == (P, R3), v.message
    assert "right only if P and R3 are symmetric" in v.message


def test_a_verdict_shows_itself_briefly_and_in_a_notebook() -> None:
    """repr is one line (the dataclass's listed the whole Derivation); a notebook shows
    Markdown with the formulas in LaTeX."""
    verdict = verify("2 * A @ x", x.T * A * x, x, "denominator")
    assert repr(verdict) == f"<Verdict ✗ symmetric: {verdict.message}>"
    markdown = verdict._repr_markdown_()
    assert markdown.startswith("**✗ symmetric**: the candidate is right only if A")
    assert r"- derived: $\left(A + A^{T}\right) x$ (n × 1)" in markdown
    assert "- candidate: $2 A x$" in markdown and "- max error: " in markdown
    right = verify("(A + A.T) @ x", x.T * A * x, x, "denominator")
    assert repr(right).startswith("<Verdict ✓ correct: the candidate equals")


def test_a_wrong_shape_of_the_other_layout_is_diagnosed_in_that_layout() -> None:
    """2 A x for ∂(xᵀ A x)/∂x in numerator layout: the wrong shape, and in denominator
    layout, where its shape fits, right only for a symmetric A: both are said."""
    verdict = verify("2 * A @ x", x.T * A * x, x)
    assert verdict.kind == "wrong-shape" and not verdict
    assert "the candidate is (n × 1)" in verdict.message
    assert "In denominator layout, where its shape fits" in verdict.message
    assert "right only if A is symmetric" in verdict.message
    assert verdict.details["other_layout"]["kind"] == "symmetric"
    assert verify("(A + A.T) @ x", x.T * A * x, x, "denominator")  # that layout's answer
    # the hint about ^ is said once, at the end
    hinted = verify("2 * A^-1 @ x", x.T * A.I * x, x)
    assert hinted.message.count("entrywise power") == 1
    assert hinted.message.index("In denominator layout") < hinted.message.index("Note:")


def test_a_wrong_shape_unlike_either_layout_says_only_the_shapes() -> None:
    verdict = verify("A", x.T * A * x, x)
    assert verdict.kind == "wrong-shape" and "other_layout" not in verdict.details
    assert "where its shape fits" not in verdict.message


def test_verify_a_hessian_of_the_wrong_shape_or_order() -> None:
    verdict = verify("A", TRACE_FORM, Y, order=2)
    assert verdict.kind == "wrong-shape" and "the Hessian is (m·n × m·n)" in verdict.message
    with pytest.raises(MatDerivError, match="order=3"):
        verify("A", x.T * A * x, x, order=3)
    with pytest.raises(MatDerivError, match="scalar"):
        verify("A", A * x, x, order=2)
    with pytest.raises(LayoutError):
        verify("A + A.T", x.T * A * x, x, "sideways", order=2)


def test_overflow_at_the_random_points_warns_nothing() -> None:
    """exp(1000 x) overflows at verify's random points: the verdict says the values
    could not be compared; NumPy's RuntimeWarning is not shown to the user."""
    import warnings

    f = sp.OneMatrix(1, n) * (10**6 * x).applyfunc(sp.exp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        verdict = verify("10^6 * exp(10^6 * x)", f, x, "denominator")
    assert verdict.kind == "not-finite" and not verdict and "not finite" in verdict.message


def test_values_that_overflow_are_compared_at_smaller_points() -> None:
    """exp((A x)∘⁵) overflows at Gaussian values of a few units (sums of 4 to the 5th);
    verify then compares at the same points scaled down, where it is finite, instead
    of answering that it could not confirm a right candidate."""
    from matderiv import evaluate
    from matderiv.testing import numeric_jacobian

    f = sp.OneMatrix(1, n) * sp.HadamardPower(A * x, 5).applyfunc(sp.exp)
    candidate = "5 * A.T @ ((A @ x)^4 * exp((A @ x)^5))"
    right = verify(candidate, f, x, "denominator")
    assert right.kind == "correct", right.message
    wrong = verify("A.T @ ((A @ x)^4 * exp((A @ x)^5))", f, x, "denominator")
    assert wrong.kind == "factor" and wrong.details["factor"] == sp.Rational(1, 5)
    # the claim, against central differences at a point where f is moderate
    rng = np.random.default_rng(0)
    env = {A: rng.standard_normal((3, 3)) * 0.3, x: rng.standard_normal((3, 1)) * 0.3, n: 3}
    a0, x0 = env[A], env[x]
    want = numeric_jacobian(f, x, env).reshape(-1, 1)
    got = 5 * a0.T @ ((a0 @ x0) ** 4 * np.exp((a0 @ x0) ** 5))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert evaluate(f, env).shape == (1, 1)


# -- Hessian-vector products: verify(..., order=2, direction=V) ---------------------------

V_X = sp.MatrixSymbol("V", n, n)
v_x = sp.MatrixSymbol("v", n, 1)


@pytest.mark.parametrize(
    ("candidate", "f", "var", "V", "kind"),
    [
        ("-inv(X).T @ V.T @ inv(X).T", LOGDET, X, V_X, "correct"),
        ("-inv(X).T @ V @ inv(X).T", LOGDET, X, V_X, "symmetric"),  # right if V = Vᵀ
        ("-inv(X) @ V.T @ inv(X)", LOGDET, X, V_X, "symmetric"),  # right if X = Xᵀ
        ("-inv(X) @ V @ inv(X)", LOGDET, X, V_X, "transposed"),
        ("inv(X).T @ V.T @ inv(X).T", LOGDET, X, V_X, "sign"),
        ("(A + A.T) @ v", x.T * A * x, x, v_x, "correct"),
        ("A @ v", x.T * A * x, x, v_x, "missing-term"),
        ("2 * A @ v", x.T * A * x, x, v_x, "symmetric"),
    ],
)
def test_verify_a_hessian_vector_product(candidate: str, f, var, V, kind: str) -> None:
    verdict = verify(candidate, f, var, order=2, direction=V)
    assert verdict.kind == kind, verdict.message
    assert "Hessian-vector product" in verdict.message
    # the claim against second differences of f, times vec(V)
    from matderiv import evaluate
    from matderiv.parse.candidate import parse_candidate
    from matderiv.testing import numeric_hessian, random_values

    cand = parse_candidate(candidate, sp.Tuple(f, V), {})
    dims = {n: 3}
    env = {**random_values(sp.Tuple(f, cand), dims, np.random.default_rng(7)), **dims}
    H = numeric_hessian(f, var, env, h=1e-4)
    want = (H @ env[V].reshape(-1, 1, order="F")).reshape(env[var].shape, order="F")
    got = np.asarray(evaluate(cand, env), dtype=float)
    assert np.allclose(got, want, rtol=1e-4, atol=1e-5) == (kind == "correct")


def test_a_direction_needs_order_2() -> None:
    with pytest.raises(MatDerivError, match="order=2"):
        verify("v", x.T * A * x, x, direction=v_x)
    with pytest.raises(MatDerivError, match="shaped like"):
        verify("v", x.T * A * x, x, order=2, direction=V_X)


SCALAR_FACTOR = [  # (f, candidate for the gradient, the derivative / candidate)
    (lambda: norm(R * x - y), "R.T @ (R @ x - y)", lambda: 1 / norm(R * x - y)),
    (lambda: norm(x) ** 2, "2 * norm(x) * x", lambda: 1 / norm(x)),
    (lambda: norm(x) ** 3, "x", lambda: 3 * norm(x)),
    (lambda: sp.exp(x.T * x), "2 * x", lambda: sp.exp(AsScalar(x.T * x))),
]


@pytest.mark.parametrize("case", range(len(SCALAR_FACTOR)))
def test_a_scalar_factor_that_depends_on_the_variable_is_named(case: int) -> None:
    """The outer derivative of a chain rule forgotten: proportional at each point,
    by a ratio that changes from point to point. The named ratio is checked against
    central differences of f."""
    build_f, candidate, build_ratio = SCALAR_FACTOR[case]
    f = build_f()
    verdict = verify(candidate, f, x, "denominator")
    assert not verdict and verdict.kind == "scalar-factor", verdict.message
    ratio = verdict.details["factor"]
    rng = np.random.default_rng(case)
    values = random_values(sp.Tuple(f, R, y), {n: 3, m: 5}, rng)
    cand = parse_expression(candidate, {"R": R, "x": x, "y": y})
    claimed = evaluate(ratio * cand, values)
    numeric = numeric_jacobian(f, x, values).reshape(3, 1, order="F")
    np.testing.assert_allclose(claimed, numeric, rtol=1e-6, atol=1e-8)
    assert np.isclose(
        float(evaluate(ratio, values)), float(evaluate(build_ratio(), values)), rtol=1e-10
    )
    assert "times the candidate" in verdict.message


def test_a_proportional_number_is_not_a_scalar_factor() -> None:
    """Any two 1 x 1 values are proportional: that says nothing."""
    s = sp.MatrixSymbol("s", 1, 1)
    verdict = verify("s", sp.exp(AsScalar(s)), s, "denominator")
    assert not verdict and verdict.kind == "wrong", verdict.message


def test_points_where_an_inverted_product_is_singular_are_drawn_again() -> None:
    """(P Pᵀ)⁻¹ with P: n x k is singular whenever k < n: verify used to raise
    EvaluationError ("pass values where it is defined", values the user never passed);
    it now compares at sizes and points where P Pᵀ is invertible and well conditioned."""
    k = sp.Symbol("k", integer=True, positive=True)
    P = sp.MatrixSymbol("P", n, k)
    G = sp.Inverse(P * P.T)
    f = x.T * G * x
    right = (G + G.T) * x  # P Pᵀ is symmetric
    assert verify(right, f, x, "denominator").kind == "correct"
    assert verify(3 * right, f, x, "denominator").kind == "factor"
    assert verify(G * x, f, x, "denominator").kind == "factor"
    trials = make_trials((f,))
    assert len(trials.points) == 6
    for point in trials.points:
        value = evaluate(P * P.T, point)
        assert np.linalg.cond(value) < MAX_CONDITION, (point[n], point[k])


def test_a_program_checked_for_singular_inverses_runs_once_per_point(monkeypatch) -> None:
    """make_trials runs a where= program to check the inverses it holds; Trials reuses
    those values instead of running the program again (a run per point, not two)."""
    from matderiv import trials as trials_module

    k = sp.Symbol("k", integer=True, positive=True)
    P = sp.MatrixSymbol("P", n, k)
    G = sp.MatrixSymbol("G", n, n)
    f = x.T * G * x
    program = {G: sp.Inverse(P * P.T)}
    runs = []
    real = trials_module._run_program
    monkeypatch.setattr(
        trials_module, "_run_program", lambda p, prog: runs.append(1) or real(p, prog)
    )
    trials = make_trials((f,), program=program)
    drawn = len(runs)
    assert drawn >= len(trials.points) == 6
    values = trials.values(f)
    assert len(runs) == drawn  # no second run
    for point, value in zip(trials.points, values, strict=True):
        Gv = np.linalg.inv(evaluate(P * P.T, point))
        np.testing.assert_allclose(value, point[x].T @ Gv @ point[x], rtol=1e-9)


def test_an_inverse_singular_at_every_size_is_undefined_not_an_error() -> None:
    """p pᵀ (p a vector) is singular at every size ≥ 2: the verdict says so, naming it;
    a right candidate symbolically equal is still confirmed, a wrong shape still named."""
    p = sp.MatrixSymbol("p", n, 1)
    G = sp.Inverse(p * p.T)
    f = x.T * G * x
    with pytest.raises(UndefinedAtPoints, match="p pᵀ"):
        make_trials((f,))
    wrong = verify(3 * G * x, f, x, "denominator")
    assert not wrong and wrong.kind == "undefined", wrong.kind
    assert "p pᵀ is singular" in wrong.message and "n = " in wrong.message
    assert verify(2 * G * x, f, x, "denominator").kind == "correct"
    assert verify(x.T, f, x, "denominator").kind == "other-layout"


def test_a_derivative_that_vanishes_at_most_points_is_compared_at_smaller_values() -> None:
    """tanh(100 𝟏ᵀ(R x)^∘3) saturates at verify's random points: its derivatives are 0.0
    in float64 at every one, so 3 H (or 0) equalled H there and was "correct"; with one
    point left a factor cannot be told from a scalar factor ("wrong").  The points are
    scaled down until the derivative shows."""
    f = sp.tanh(100 * AsScalar(sp.OneMatrix(1, m) * sp.HadamardPower(R * x, 3)))
    H = hessian(f, x).result
    trials = finite_trials(make_trials((3 * H, H, f)), (3 * H, H))
    assert all(not np.any(value) for value in trials.values(H))
    assert verify(H, f, x, order=2).kind == "correct"
    assert verify(3 * H, f, x, order=2).kind == "factor"
    assert verify(-H, f, x, order=2).kind == "sign"
    assert verify(3 * gradient(f, x).result, f, x, "denominator").kind == "factor"
    assert not verify(sp.ZeroMatrix(n, n), f, x, order=2)


def test_a_derivative_below_the_comparison_floor_is_not_confirmed() -> None:
    """d(10⁻⁸ tr X)/dX = 10⁻⁸ I at every point and scale: below relative_error's floor
    3·10⁻⁸ I passed as equal.  Now it is "vanishing", not "correct"; the derivative
    itself is still confirmed symbolically, and 1 I is still wrong."""
    f = sp.Rational(1, 10**8) * sp.Trace(X)
    tiny = verify(3 * sp.Rational(1, 10**8) * sp.Identity(n), f, X, "denominator")
    assert not tiny and tiny.kind == "vanishing", tiny.kind
    assert "could not be confirmed" in tiny.message
    assert verify(sp.Rational(1, 10**8) * sp.Identity(n), f, X, "denominator").kind == "correct"
    assert not verify(sp.Identity(n), f, X, "denominator")


def test_a_zero_candidate_is_wrong_not_zero_times_the_derivative() -> None:
    """𝟎 for the gradient of xᵀ A x fitted the factor 0: "the candidate is 0 times the
    derivative".  It is plainly wrong, and the message says the candidate is 0."""
    zero = verify(sp.ZeroMatrix(n, 1), x.T * A * x, x, "denominator")
    assert zero.kind == "wrong" and "is 0 at every random point" in zero.message
    assert "(A + Aᵀ) x" in zero.message


def _ridge(weight: sp.Rational):
    """(R x - y)ᵀ(R x - y) + weight xᵀx and its gradient's two terms."""
    r = R * x - y
    return r.T * r + weight * x.T * x, 2 * R.T * r, 2 * weight * x


@pytest.mark.parametrize(
    "change, kind",
    [("drop", "missing-term"), ("negate", "term-sign"), ("scale", "factor"), ("add", "wrong")],
)
def test_a_small_term_is_not_lost_in_the_tolerance(change, kind) -> None:
    """A weight decay of 10⁻⁸ changes the gradient by 2·10⁻⁸ x: at the random points that
    is below the numeric tolerance (RTOL = 1e-7), so a gradient without it passed as
    correct.  The terms the candidate shares with the derivative cancel exactly in
    their symbolic difference; what is left is evaluated on its own and is not 0."""
    small = sp.Rational(1, 10**8)
    f, data, decay = _ridge(small)
    candidate = {
        "drop": data,
        "negate": data - decay,
        "scale": (1 + small) * (data + decay),
        "add": data + decay + small * R.T * y,
    }[change]
    verdict = verify(candidate, f, x, "denominator")
    assert not verdict and verdict.kind == kind, (verdict.kind, verdict.message)
    assert verdict.details["max_error"] < 1e-7  # the values alone could not tell
    if change in ("drop", "negate"):
        assert "1/50000000 x" in verdict.message, verdict.message
    if change == "add":
        assert "by 1/100000000 Rᵀ y" in verdict.message, verdict.message
    # the right gradient, however it is written, stays correct
    for right in (data + decay, 2 * R.T * R * x - 2 * R.T * y + decay):
        assert verify(right, f, x, "denominator").kind == "correct"


def test_a_scalar_hessian_that_is_not_a_fixed_point_is_confirmed_symbolically() -> None:
    """‖w C‖_F for a 1 x 1 w is |w| ‖C‖_F: its Hessian is 0 wherever w ≠ 0, so the values
    cannot confirm it (below NEGLIGIBLE: 'vanishing').  The Hessian itself, a scalar
    sum the rules still rewrote, was not recognised as equal to itself; that sum is
    now factored (a scalar sum of quotients), and it is 0."""
    k = sp.Symbol("k", integer=True, positive=True)
    u, v = sp.MatrixSymbol("u", k, 1), sp.MatrixSymbol("v", 1, n)
    p, q = sp.MatrixSymbol("p", 1, k), sp.MatrixSymbol("q", n, 1)
    s = sp.MatrixSymbol("s", 1, 1)
    M = -sp.Rational(1, 2) * u * s * v - sp.Rational(1, 2) * p.T * s.T * q.T
    f = sp.sqrt(sp.Trace(M.T * M))
    H = hessian(f, s).result
    assert H == 0, H
    verdict = verify(H, f, s, order=2)
    assert verdict.kind == "correct", (verdict.kind, verdict.message)


def test_a_symbol_under_a_log_or_square_root_is_drawn_positive() -> None:
    """(𝟏ᵀ log x)² has the gradient 2 (𝟏ᵀ log x) x^∘-1, defined for x > 0 only: at
    Gaussian points log x is NaN, so a right candidate written another way could not
    be confirmed (not-finite).  Symbols taken a log or root of are drawn positive."""
    from matderiv.trials import positive_operands

    f = sp.HadamardPower(sp.OneMatrix(1, n) * x.applyfunc(sp.log), 2)
    right = parse_expression("2 * sum(log(x)) / x", {"x": x})
    assert verify(right, f, x, "denominator").kind == "correct"
    wrong = verify(parse_expression("2 * sum(log(x)) * x", {"x": x}), f, x, "denominator")
    assert wrong.kind == "wrong", wrong.kind
    roots = sp.HadamardProduct(a.T.applyfunc(sp.sqrt).T, sp.HadamardPower(b, sp.Rational(1, 3)))
    assert positive_operands((roots, x.applyfunc(sp.tanh))) == {a, b}
    trials = make_trials((f,))
    assert all(np.all(point[x] > 0) for point in trials.points)


def test_kronecker_factors_in_the_wrong_order_are_named() -> None:
    """vec(A X B) = (Bᵀ ⊗ A) vec(X); A ⊗ Bᵀ, the usual slip, was only 'wrong'."""
    k, q = sp.symbols("k q", integer=True, positive=True)
    P, Xm, Bm = sp.MatrixSymbol("P", k, m), sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("B", n, q)
    f = P * Xm * Bm
    assert verify(sp.KroneckerProduct(Bm.T, P), f, vec(Xm)).kind == "correct"
    swapped = verify(sp.KroneckerProduct(P, Bm.T), f, vec(Xm))
    assert swapped.kind == "kron-order", (swapped.kind, swapped.message)
    assert "P ⊗ Bᵀ should be Bᵀ ⊗ P" in swapped.message, swapped.message
    # with X square, P ⊗ Bᵀ swapped into Bᵀ ⊗ P
    Xs = sp.MatrixSymbol("X", n, n)
    g = A * Xs * b * a.T
    right = sp.KroneckerProduct(a * b.T, A)
    assert verify(right, g, vec(Xs)).kind == "correct"
    assert verify(sp.KroneckerProduct(A, a * b.T), g, vec(Xs)).kind == "kron-order"


def test_a_commutation_matrix_too_many_or_turned_is_named() -> None:
    """(I_m ⊗ xᵀ) K_{n,m} for d vec(Wᵀx)/d vec(W)ᵀ = I_m ⊗ xᵀ was named 'factors in the
    wrong order: I_m ⊗ xᵀ should be xᵀ ⊗ I_m ... The derivative is I_m ⊗ xᵀ'."""
    W = sp.MatrixSymbol("W", n, m)
    K = commutation(n, m)
    h = W.T * x
    assert verify(sp.KroneckerProduct(sp.Identity(m), x.T), h, W).kind == "correct"
    extra = verify(sp.KroneckerProduct(sp.Identity(m), x.T) * K, h, W)
    assert extra.kind == "commutation", (extra.kind, extra.message)
    assert "K_{n,m} is one too many" in extra.message, extra.message
    assert "should be" not in extra.message
    # vec(P W B) by vec(W): (Bᵀ ⊗ P) with an extra K was only 'wrong'
    k, q = sp.symbols("k q", integer=True, positive=True)
    P, B = sp.MatrixSymbol("P", k, n), sp.MatrixSymbol("B", m, q)
    right = sp.KroneckerProduct(B.T, P)
    assert verify(right * K, P * W * B, W).kind == "commutation"
    # K_{m,n} where K_{n,m} belongs: (xᵀ ⊗ I_m) K_{n,m} = I_m ⊗ xᵀ
    turned = verify(sp.KroneckerProduct(x.T, sp.Identity(m)) * commutation(m, n), h, W)
    assert turned.kind == "commutation", (turned.kind, turned.message)
    assert "K_{m,n} should be K_{n,m}" in turned.message, turned.message


def test_a_one_by_one_variable_written_as_a_matrix_or_a_scalar() -> None:
    """For a 1 x 1 x the gradient of xᵀx is 2 x, a scalar where the candidate is a
    matrix: telling a small difference apart crashed ('Mix of Matrix and Scalar')."""
    s = sp.MatrixSymbol("s", 1, 1)
    right = verify(parse_expression("2 * s", {"s": s}), s.T * s, s)
    assert right.kind == "correct", right.message
    assert "distinct sizes" not in right.message  # there are no sizes to vary
    assert verify(parse_expression("3 * s", {"s": s}), s.T * s, s).kind == "factor"


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_printed_zero_derivatives_sized_by_the_variable_or_an_identity_read_back(layout) -> None:
    """A zero derivative prints with its size, which may come from the variable alone
    (∂(aᵀ b)/∂R = 𝟎_{m×n}) or from an identity in the expression (∂ diag(I_p)/∂x):
    verify refused the printed result, "unknown dimension", and so any candidate
    written with that size (a hunt pasting printed results back found it)."""
    p = sp.Symbol("p", integer=True, positive=True)
    wrong = {"numerator": "denominator", "denominator": "numerator"}[layout]
    for expr, wrt in ((a.T * b, R), (diag(sp.Identity(p)), x), (diag(sp.Identity(p)), R)):
        d = derive(expr, wrt, layout)
        assert d.result.is_ZeroMatrix
        for printed in (fmt(d.result), tex(d.result)):
            verdict = verify(printed, expr, wrt, layout)
            assert verdict, (printed, verdict.message)
            if d.result.shape[0] != d.result.shape[1]:  # the other layout's shape
                assert not verify(printed, expr, wrt, wrong)


def test_a_factor_is_not_read_off_values_that_overflowed() -> None:
    """A randomised hunt got "the candidate is nan times the derivative": an overflow
    made the best factor NaN, and NaN > tolerance is False, so it passed as a match."""
    from matderiv.trials import best_factor

    finite, overflowed = [np.ones((2, 2))], [np.full((2, 2), np.inf)]
    assert best_factor([3 * finite[0]], finite) == pytest.approx(3.0)
    assert best_factor(overflowed, finite) is None
    assert best_factor(finite, overflowed) is None
    assert best_factor(finite, [np.zeros((2, 2))]) is None


_m, _n = sp.symbols("m n", integer=True, positive=True)
_A, _x, _b = sp.MatrixSymbol("A", _m, _n), sp.MatrixSymbol("x", _n, 1), sp.MatrixSymbol("b", _m, 1)
_lam = sp.Symbol("lam", positive=True)
_sigma = sp.Symbol("sigma", positive=True)
_RIDGE = norm(_A * _x - _b) ** 2 + _lam * norm(_x) ** 2
_Xs, _B, _C, _D = (sp.MatrixSymbol(s, _n, _n) for s in "XBCD")


@pytest.mark.parametrize(
    ("candidate", "f", "wrt", "kind", "says"),
    [
        ("2*A.T @ (A @ x - b) + lam*x", _RIDGE, _x, "term-factor", "has the term 2·lam x (1/2"),
        ("A.T @ (A @ x - b) + 2*lam*x", _RIDGE, _x, "term-factor", "(A x - b) (1/2 of it)"),
        ("2*A.T @ (A @ x - b) + 3*lam*x", _RIDGE, _x, "term-factor", "(3/2 times it)"),
        # a factor that is a symbol: λ forgotten, 1/σ⁴ for 1/σ², n on one term
        ("2*A.T @ (A @ x - b) + 2*x", _RIDGE, _x, "term-factor", "(1/lam times it)"),
        (
            "A.T @ (A @ x - b) / sigma**4 + 2*lam*x",
            norm(_A * _x - _b) ** 2 / (2 * _sigma**2) + _lam * norm(_x) ** 2,
            _x,
            "term-factor",
            "(sigma⁻² times it)",
        ),
        ("2*n*A.T @ (A @ x - b) + 2*lam*x", _RIDGE, _x, "term-factor", "(n times it)"),
        (
            "(C @ D @ X @ B).T + D.T @ C.T @ X @ B.T",
            sp.Trace(_D * _Xs * _B * _Xs.T * _C),
            _Xs,
            "term-transposed",
            "has the term C D X B transposed",
        ),
    ],
    ids=["ridge λ", "ridge Aᵀr", "ridge 3λ", "ridge no λ", "σ⁴", "n", "tr(DXBXᵀC)"],
)
def test_one_term_with_a_slip_of_its_own_is_named(candidate, f, wrt, kind, says) -> None:
    """A wrong factor or a missing transpose on one term of a sum was 'wrong': none of
    the common mistakes explains it."""
    v = verify(candidate, f, wrt, layout="denominator")
    assert not v and v.kind == kind, (v.kind, v.message)
    assert says in v.message, v.message


def test_the_right_terms_are_correct() -> None:
    assert verify("2*A.T @ (A @ x - b) + 2*lam*x", _RIDGE, _x, layout="denominator")
    f = sp.Trace(_D * _Xs * _B * _Xs.T * _C)
    assert verify("C @ D @ X @ B + D.T @ C.T @ X @ B.T", f, _Xs, layout="denominator")


def test_complex_values_are_not_compared_by_their_real_parts() -> None:
    """(aᵀx)^(1/3) at a negative aᵀx is complex on SymPy's principal branch; the trials
    cast it to float, dropping the imaginary part (a ComplexWarning in a hunt), so two
    different values could be called equal.  Complex entries are NaN now."""
    import warnings

    from matderiv.nodes import AsScalar
    from matderiv.trials import _real

    assert np.isnan(_real(np.array([[1.0 + 2.0j, 3.0]]))[0, 0])
    assert _real(np.array([[1.0 + 0.0j, 3.0]]))[0, 1] == 3.0
    f = AsScalar(a.T * x) ** sp.Rational(4, 3)
    d = sp.Rational(4, 3) * AsScalar(a.T * x) ** sp.Rational(1, 3) * a
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        assert verify(d, f, x, "denominator")  # symbolically equal
        v = verify(2 * d, f, x, "denominator")
    assert not v and v.kind in ("not-finite", "factor")


def test_a_candidate_right_only_for_labels_that_sum_to_one_says_so() -> None:
    """softmax(z) - y for -yᵀ log softmax(z) was "wrong, none of the common mistakes":
    it is right for one-hot or probability labels; in general (𝟏ᵀy) softmax(z) - y."""
    from matderiv import softmax
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("z: n, y: n, W: n x k, x: n, t: k")
    z, y, W, x, t = (S[k] for k in ("z", "y", "W", "x", "t"))
    ce = -y.T * softmax(z).applyfunc(sp.log)
    v = verify("softmax(z) - y", ce, z, "denominator")
    assert v.kind == "sums-to-one" and v.details["sums_to_one"] == y
    assert "entries of y sum to 1" in v.message
    assert verify("sum(y) * softmax(z) - y", ce, z, "denominator")  # right for every y
    layer = -t.T * softmax(W.T * x).applyfunc(sp.log)
    w = verify("x @ (softmax(W.T @ x) - t).T", layer, W, "denominator")
    assert w.kind == "sums-to-one" and w.details["sums_to_one"] == t
    # a candidate that no normalisation of y explains stays "wrong"
    assert verify("softmax(z) - 2 * y", ce, z, "denominator").kind == "wrong"


@pytest.mark.parametrize("along", ["rows", "columns"])
def test_a_batch_gradient_right_only_for_labels_that_sum_to_one_says_so(along) -> None:
    """Xᵀ(softmax_rows(X W) - Y), the textbook batch cross-entropy gradient, was "lacks
    the factor Y 𝟏 (an entrywise derivative, such as tanh′, or a mask)" (a tester's
    sweep): it is right when each row of the labels Y sums to 1, as softmax(z) - y is
    when y does; so with a column per example (softmax_cols)."""
    from matderiv.parse.declarations import parse_shapes
    from matderiv.parse.expr import parse_expression

    if along == "rows":
        S = parse_shapes("X: n x m, W: m x p, Y: n x p")
        f = parse_expression("-sum(Y * log(softmax_rows(X @ W)))", S)
        candidate = "X.T @ (softmax_rows(X @ W) - Y)"
        right = "X.T @ ((Y @ ones(p, p)) * softmax_rows(X @ W) - Y)"
    else:
        S = parse_shapes("X: m x n, W: m x p, Y: p x n")
        f = parse_expression("-sum(Y * log(softmax_cols(W.T @ X)))", S)
        candidate = "X @ (softmax_cols(W.T @ X) - Y).T"
        right = "X @ ((ones(p, p) @ Y) * softmax_cols(W.T @ X) - Y).T"
    v = verify(candidate, f, S["W"], "denominator")
    assert v.kind == "sums-to-one", (v.kind, v.message)
    assert v.details["sums_to_one"] == S["Y"] and v.details["along"] == along
    assert f"each {along[:-1]} of Y sums to 1" in v.message
    assert verify(right, f, S["W"], "denominator")  # right for every Y
    # a wrong factor stays a wrong factor: not explained by the labels
    assert verify(f"2 * {candidate}", f, S["W"], "denominator").kind != "sums-to-one"


def test_the_cookbook_derivative_by_a_symmetric_matrix_is_named() -> None:
    """2Σ⁻¹ - Σ⁻¹∘I for ∂ log det Σ/∂Σ (the Matrix Cookbook's derivative by the
    independent entries of a symmetric Σ) was "wrong, none of the common mistakes"."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("Sigma: n x n, S: n x n, A: n x n")
    Sigma, D, A = (S[k] for k in ("Sigma", "S", "A"))
    for layout in ("denominator", "numerator"):
        v = verify(
            "2 * inv(Sigma) - inv(Sigma) * eye(n)", sp.log(sp.Determinant(Sigma)), Sigma, layout
        )
        assert v.kind == "symmetric-entries" and v.details["symmetric"] == Sigma
        assert "independent entries of a symmetric Σ" in v.message
    # a Gaussian's -½ log det Σ - ½ tr(Σ⁻¹ S), with its data S symmetric too
    f = -sp.log(sp.Determinant(Sigma)) / 2 - sp.Trace(Sigma.I * D) / 2
    G = "(inv(Sigma) @ S @ inv(Sigma) - inv(Sigma)) / 2"
    assert verify(f"2 * {G} - ({G}) * eye(n)", f, Sigma, "denominator").kind == (
        "symmetric-entries"
    )
    # a quadratic form, a 1 x 1 matrix (as the command line builds it), too
    x = sp.MatrixSymbol("x", Sigma.shape[0], 1)
    v = verify("2 * x @ x.T - (x @ x.T) * eye(n)", x.T * Sigma * x, Sigma, "denominator")
    assert v.kind == "symmetric-entries"
    # linear in Σ: tr(A Σ) by the entries of a symmetric Σ is A + Aᵀ - A∘I at every Σ
    assert verify("A + A.T - A * eye(n)", sp.Trace(A * Sigma), Sigma, "denominator").kind == (
        "symmetric-entries"
    )
    # not that form: still "wrong"
    v = verify("2 * inv(Sigma) - 2 * inv(Sigma) * eye(n)", sp.log(sp.Determinant(Sigma)), Sigma)
    assert v.kind == "wrong"


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_the_derivative_by_the_entries_given_for_a_symmetric_variable_is_named(layout) -> None:
    """With symmetric=[X], G itself (Aᵀ for tr(AX)) was "right only if A is symmetric",
    and Gᵀ for xᵀX⁻¹Ax "term-transposed": the slip is not taking G's symmetric part."""
    G = "Aᵀ" if layout == "denominator" else "A"  # the numerator layout's is transposed
    v = verify(G.replace("ᵀ", ".T"), sp.Trace(A * X), X, layout, symmetric=[X])
    assert v.kind == "unsymmetrised" and f"the derivative G = {G} by" in v.message, v.message
    assert fmt(v.details["plain"]) == G
    assert "(G + Gᵀ)/2 = 1/2 (A + Aᵀ)" in v.message
    f = x.T * X.I * A * x
    v = verify("-inv(X) @ A @ x @ x.T @ inv(X)", f, X, layout, symmetric=[X])
    assert v.kind == "unsymmetrised", v.message
    said = (  # the candidate is the numerator layout's G
        "the transpose of the derivative G = -X⁻¹ x xᵀ Aᵀ X⁻¹ by"
        if layout == "denominator"
        else "the derivative G = -X⁻¹ A x xᵀ X⁻¹ by"
    )
    assert said in v.message, v.message
    assert verify("(A + A.T) / 2", sp.Trace(A * X), X, layout, symmetric=[X])
    v = verify("A.T", sp.Trace(A * X), X, layout)  # not declared: G is the derivative
    assert v.kind != "unsymmetrised" and bool(v) == (layout == "denominator")


def test_constants_may_be_declared_symmetric() -> None:
    """A covariance Σ or the A of xᵀAx: textbook gradients assume them symmetric, and
    verify could only say "right only if A is symmetric"."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("A: n x n, x: n, mu: n, Sigma: n x n")
    A, x, mu, Sigma = (S[k] for k in ("A", "x", "mu", "Sigma"))
    v = verify("2 * A @ x", x.T * A * x, x, "denominator", symmetric=[A])
    assert v and "A taken symmetric, as assumed" in v.message and v.details["symmetric"] == [A]
    assert verify("2 * A @ x", x.T * A * x, x, "denominator").kind == "symmetric"
    gaussian = -(x - mu).T * Sigma.I * (x - mu) / 2
    assert verify(r"\Sigma^{-1}(x - \mu)", gaussian, mu, "denominator", symmetric=[Sigma])
    wrong = verify(r"\Sigma^{-1}(x + \mu)", gaussian, mu, "denominator", symmetric=[Sigma])
    assert not wrong and "assumed" not in wrong.message
    # the variable too: the gradient among symmetric matrices (2Aᵀ, written 2A)
    by_symmetric = verify("2 * A", sp.Trace(A * A), A, symmetric=[A])
    assert by_symmetric and "the gradient among symmetric A" in by_symmetric.message
    with pytest.raises(MatDerivError, match="symmetric= takes square MatrixSymbols"):
        verify("2 * A @ x", x.T * A * x, x, symmetric=[x])
    # the diagnosis in the other layout, where a wrong-shape candidate's shape fits,
    # keeps the assumption (it said "right only if A is symmetric" as well)
    shaped = verify("3 * x.T @ A", x.T * A * x, x, "denominator", symmetric=[A])
    assert shaped.kind == "wrong-shape" and shaped.details["other_layout"]["kind"] == "factor"


def test_a_wrong_derivative_by_a_one_by_one_matrix_is_diagnosed() -> None:
    """d/dλ xᵀ(A + λI)⁻¹x = -xᵀ(A + λI)⁻²x: a candidate missing one inverse crashed the
    search for a missing scalar factor (the result has no matrix factor)."""
    lam = sp.MatrixSymbol("lambda", 1, 1)
    f = x.T * (A + lam[0, 0] * sp.Identity(n)).I * x
    inv = "inv(A + lambda*eye(n))"
    assert verify(f"-x.T @ {inv} @ {inv} @ x", f, lam)
    wrong = verify(f"-x.T @ {inv} @ x", f, lam)
    assert not wrong and wrong.kind == "wrong"


@pytest.mark.parametrize(
    ("candidate", "of", "wrt", "factor"),
    [
        ("ones(m, n)/m", sp.OneMatrix(1, m) * R * sp.OneMatrix(n, 1) / (m * n), R, 1 / n),
        ("2*R.T@(R@x - y)", (R * x - y).T * (R * x - y) / m, x, 1 / m),
        ("2*R.T@(R@x - y)/m", (R * x - y).T * (R * x - y), x, m),
    ],
    ids=["sum-for-mean", "sum-for-mean-squared-error", "mean-for-sum"],
)
def test_a_factor_of_the_sizes_is_a_constant_factor(candidate, of, wrt, factor) -> None:
    """1/n is constant at each size; the trials' sizes differ, and it was called a
    ratio that changes with the variable (an outer function's derivative)."""
    verdict = verify(candidate, of, wrt, "denominator")
    assert verdict.kind == "factor" and verdict.details["factor"] == factor
    assert "depends only on the sizes" in verdict.message


def test_a_size_factor_inside_the_derivative_is_found() -> None:
    """The mean softmax cross-entropy over a batch: 1/n sits inside the derivative's
    sum (Xᵀ(... - 1/n Y)), no outer scalar to read, and a forgotten 1/n was called "a
    ratio that changes with the variable"."""
    from matderiv import declare, parse

    S = declare("X: n x d, Y: n x k, W: d x k")
    f = parse("(sum(log(exp(X @ W) @ ones(k, 1))) - trace(Y.T @ X @ W))/n", S)
    softmax = "exp(X @ W) / (exp(X @ W) @ ones(k,1) @ ones(1,k))"
    verdict = verify(f"X.T @ ({softmax} - Y)", f, S["W"], "denominator")
    n = next(s for s in S["X"].shape[0].free_symbols)
    assert verdict.kind == "factor" and verdict.details["factor"] == 1 / n, verdict.message
    assert "depends only on the sizes" in verdict.message
    assert verify(f"X.T @ ({softmax} - Y) / n", f, S["W"], "denominator")


def test_an_explicit_matrix_candidate_is_evaluated_entry_by_entry() -> None:
    """sp.Matrix(2*x) (entries x[0, 0], ...) was an internal error naming a Tuple node."""
    x3, A3 = sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("A", 3, 3)
    f = x3.T * A3 * x3
    assert verify(sp.ImmutableMatrix(A3 + A3.T) * x3, f, x3, "denominator")
    assert not verify(sp.Matrix(2 * x3), f, x3, "denominator")
    zero = verify(sp.zeros(3, 1), f, x3, "denominator")
    assert zero.kind == "wrong" and "0 at every random point" in zero.message
    assert verify(sp.Matrix(2 * x3), x3.T * x3, x3, "denominator")
    assert np.array_equal(evaluate(sp.Matrix([[1, 2], [3, 4]]), {}), [[1, 2], [3, 4]])
    blocks = sp.ImmutableDenseMatrix(1, 2, sp.Tuple(A3, A3), evaluate=False)  # not entries
    with pytest.raises(EvaluationError, match="are not all scalars"):
        evaluate(blocks, {A3: np.eye(3)})


def test_a_transposed_hvp_is_transposed_not_a_layout() -> None:
    """An HVP is shaped like the variable in either layout; the diagnosis of its
    transpose spoke of the numerator- and denominator-layout forms."""
    W = sp.MatrixSymbol("W", m, n)
    f = sp.Trace(R * A * R.T)  # R: m x n, ∇f = R (A + Aᵀ), H vec(W) = W (A + Aᵀ)
    assert verify("W @ (A + A.T)", f, R, order=2, direction=W)
    verdict = verify("(A + A.T) @ W.T", f, R, order=2, direction=W)
    assert verdict.kind == "transposed" and "layout" not in verdict.message


def test_a_scalar_derivative_missing_a_scalar_factor_is_named() -> None:
    """d det(A + sB)/ds = det(A + sB)·tr((A + sB)⁻¹B): the candidate without det was
    only "wrong" (two numbers are always proportional: the factor is named only when it
    is one of the formula's factors)."""
    s, B = sp.Symbol("s"), sp.MatrixSymbol("B", n, n)
    f = sp.Determinant(X + s * B)
    verdict = verify("trace(inv(X + s*B) @ B)", f, s)
    assert verdict.kind == "scalar-factor" and "det(s B + X) times" in verdict.message
    assert verify("trace(B)", f, s).kind == "wrong"  # no shared factor: nothing named


def test_a_missing_scalar_factor_is_simplified_before_it_is_named() -> None:
    """For d det(X)^s/dX by a 1 x 1 s, s det(X)^(s-1) X⁻ᵀ lacks det(X): it was named
    as s·det(X)^(s)/(det(X)^(s - 1) s), a 1 x 1 product keeping the s apart."""
    S = declare("X: n x n, s: scalar")  # s: a 1 x 1 matrix
    f = parse("det(X)**s", S)
    verdict = verify("s * det(X)**(s-1) * inv(X).T", f, S["X"], "denominator")
    assert verdict.kind == "scalar-factor", verdict.message
    assert "the derivative is det(X) times the candidate" in verdict.message, verdict.message


def test_a_missing_norm_is_named_as_the_norm() -> None:
    """For ∇‖x - a‖ the candidate (x - a)/‖x - a‖² lacks ‖x - a‖: it was named as
    ((x - a)ᵀ (x - a))/‖x - a‖, the transposed sum written two ways."""
    a = sp.MatrixSymbol("a", n, 1)
    verdict = verify("(x - a)/norm(x - a)**2", norm(x - a), x, "denominator")
    assert verdict.kind == "scalar-factor", verdict.message
    assert "the derivative is ‖x - a‖ times the candidate" in verdict.message, verdict.message


def test_a_term_that_underflows_at_the_points_is_still_a_difference() -> None:
    """2x for ∇(xᵀx - exp(-1000 xᵀx)/2000) = (2 + exp(-1000 xᵀx)) x was "correct": the
    term is 0 in float64 at the random points.  The difference left after cancelling
    is also evaluated at smaller values, where it is not."""
    u = sp.Trace(x.T * x)
    f = u - sp.exp(-1000 * u) / 2000
    verdict = verify("2*x", f, x, "denominator")
    assert verdict.kind == "wrong" and "exp(-1000·xᵀ x) x" in verdict.message, verdict.message
    assert verify(gradient(f, x).result, f, x, "denominator").kind == "correct"


def test_small_terms_over_a_scalar_or_with_entrywise_functions_are_differences() -> None:
    """Two gaps of the check for small left-over terms: exp(-1000 s) x over a scalar s
    stayed 0 at the smaller values (only matrices were scaled); and beside entrywise
    functions a dropped 1e-9 x was "correct" (tanh(x) parsed and derived had different
    dummies, t∘t and t^∘2, e∘(x + 1) and e + e∘x did not cancel in the difference)."""
    s = sp.Symbol("s")
    found = verify("2*x*s + exp(-1000*s)*x", s * sp.Trace(x.T * x), x, "denominator")
    assert found.kind == "wrong" and "exp(-1000·s) x" in found.message, found.message
    A = sp.MatrixSymbol("A", n, n)
    f = sp.Trace(x.T * x.applyfunc(sp.tanh))
    g = sp.Trace(x.T * A * x) + sp.Trace(x.T * x.applyfunc(sp.exp))
    for right, expr in (
        ("tanh(x) + (1 - tanh(x)*tanh(x))*x", f),
        ("(A + A.T)@x + exp(x)*(1 + x)", g),
    ):
        assert verify(right, expr, x, "denominator").kind == "correct"
        wrong = verify(f"{right} + 1e-9*x", expr, x, "denominator")
        assert wrong.kind == "wrong" and "1/1000000000 x" in wrong.message, wrong.message


def test_a_name_only_the_candidate_uses_is_no_unused_name() -> None:
    """names= serve the candidate too: W := diag(exp(X b)) in a Poisson Hessian -Xᵀ W X
    warned "W does not occur in f"; a name neither uses still warns."""
    import warnings

    from matderiv import UnusedNameWarning
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("X: m x p, b: p, y: m")
    X, b, y = S["X"], S["b"], S["y"]
    eta = X * b
    poisson = y.T * eta - sp.OneMatrix(1, X.shape[0]) * eta.applyfunc(sp.exp)
    W = diag(eta.applyfunc(sp.exp))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnusedNameWarning)
        assert verify("-X.T @ W @ X", poisson, b, order=2, names={"W": W})
    with pytest.warns(UnusedNameWarning, match="Q := "):
        verify("-X.T @ W @ X", poisson, b, order=2, names={"W": W, "Q": X.T * X})


def test_a_candidate_right_only_for_labels_that_are_plus_or_minus_one_says_so() -> None:
    """The ±1-label logistic Hessian without y∘y was "lacks the factor y∘y" (or "none
    of the common mistakes"), though right for labels in {-1, 1}."""
    from matderiv.parse.declarations import parse_shapes
    from matderiv.parse.expr import parse_expression

    S = parse_shapes("X: m x n, w: n, y: m")
    loss = parse_expression("sum(log(1 + exp(-y * (X @ w))))", S)
    for candidate in (
        "X.T @ diag(sigmoid(y*(X@w))*(1-sigmoid(y*(X@w)))) @ X",
        "X.T @ diag(sigmoid(X@w)*(1-sigmoid(X@w))) @ X",
    ):
        v = verify(candidate, loss, S["w"], order=2)
        assert v.kind == "pm-one" and v.details["pm_one"] == S["y"], (candidate, v.kind)
        assert "entries of y are ±1" in v.message
    right = "X.T @ diag(y*y*sigmoid(y*(X@w))*(1-sigmoid(y*(X@w)))) @ X"
    assert verify(right, loss, S["w"], order=2)


def test_an_assumption_is_not_claimed_where_the_derivative_vanishes() -> None:
    """3H was "right only if the entries of B_1mn are ±1": with its entries ±1 the tanh
    saturated, H was exactly 0 at every point, and 3·0 = 0 matched (found by the random
    Hessian battery)."""
    from sympy.matrices.expressions.matexpr import MatrixElement

    M, p = sp.MatrixSymbol, sp.Symbol("p", integer=True, positive=True)
    a, A, v = M("A_mn1", m * n, 1), M("A_np", n, p), M("x", p, 1)  # the battery's names:
    b, B, c = M("B_1mn", 1, m * n), M("B_mnn", m * n, n), M("B_n1", n, 1)  # its points
    cube = sp.HadamardPower(B, 3)
    inner = a.T * sp.HadamardProduct((A * v * b).T, sp.HadamardPower(cube, 2)) * c
    f = sp.tanh(MatrixElement(inner, 0, 0))
    H = hessian(f, v).result
    assert verify(H, f, v, order=2)
    wrong = verify(3 * H, f, v, order=2)
    assert not wrong and wrong.kind not in ("pm-one", "sums-to-one"), wrong.kind


def test_an_assumption_is_not_claimed_where_the_derivative_nearly_vanishes() -> None:
    """With y's entries ±1 the tanh saturates and the derivative is ~1e-10 at every
    point, within verify's tolerance of anything small: b where a belongs was "right
    only if the entries of y are ±1" (found by a tester)."""
    from matderiv.parse.declarations import parse_shapes
    from matderiv.parse.expr import parse_expression

    S = parse_shapes("x: n, a: n, b: n, y: k")
    f = parse_expression("tanh(13*exp(-sum((ones(k,1) - y*y)*(ones(k,1) - y*y))) + a.T @ x)", S)
    T = "(1 - tanh(13*exp(-sum((ones(k,1) - y*y)*(ones(k,1) - y*y))) + a.T @ x)^2)"
    v = verify(parse_expression(T + " * b", S), f, S["x"], "denominator")
    assert not v and v.kind not in ("pm-one", "sums-to-one"), v.kind
    assert verify(parse_expression(T + " * a", S), f, S["x"], "denominator")


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_vector_for_a_diagonal_jacobian_is_told_to_use_diag(layout) -> None:
    """1 - tanh(x)² for ∂tanh(x)/∂x was "wrong-shape" with no hint: the Jacobian is
    diag of it."""
    f = x.applyfunc(sp.tanh)
    v = verify("1 - tanh(x)^2", f, x, layout)
    assert v.kind == "wrong-shape" and "write diag(1 - tanh(x)^2)" in v.message, v.message
    assert verify("diag(1 - tanh(x)^2)", f, x, layout)
    v = verify("1 - tanh(x)", f, x, layout)  # not the diagonal: no such hint
    assert v.kind == "wrong-shape" and "diag(" not in v.message
    # an explicit sp.Matrix candidate (no syntax to write it in): the hint, no error
    x3 = sp.MatrixSymbol("x", 3, 1)
    column = sp.Matrix([1 - sp.tanh(x3[i, 0]) ** 2 for i in range(3)])
    v = verify(column, x3.applyfunc(sp.tanh), x3, layout)
    assert v.kind == "wrong-shape" and "write diag(" in v.message, v.message


def test_a_column_of_the_hessians_diagonal_is_told_to_write_diag_or_zeros() -> None:
    """A column whose entries are a diagonal Hessian's is told to write diag(...); for
    a zero Hessian that said "write diag(zeros(n, 1))" (a tester's sweep): zeros(n, n)."""
    z = sp.MatrixSymbol("z", n, 1)
    f = sp.OneMatrix(1, n) * z.applyfunc(sp.exp)  # Hessian diag(exp(z))
    verdict = verify("exp(z)", f, z, order=2)
    assert verdict.kind == "wrong-shape" and "write diag(exp(z))" in verdict.message
    assert verify("diag(exp(z))", f, z, order=2).ok
    linear = sp.OneMatrix(1, n) * z  # Hessian 0
    verdict = verify("zeros(n, 1)", linear, z, order=2)
    assert verdict.kind == "wrong-shape" and "is 0: write zeros(n, n)" in verdict.message
    assert "diag(" not in verdict.message


def test_a_matrix_power_meant_entrywise_is_named() -> None:
    """1 - tanh(X W)² for a square layer: ² of a square matrix is the matrix power, and
    the candidate, right with the entrywise square, was only 'wrong'; for a batch that
    is not square it is entrywise (it was refused as ill-formed)."""
    S = declare("X: n x n, W: n x n, C: n x n")
    f = parse("sum(C * tanh(X @ W))", S)
    for candidate in [r"X^T \left(C \odot (1 - \tanh(X W)^2)\right)", "Xᵀ (C∘(1 - tanh(X W)²))"]:
        v = verify(candidate, f, S["W"], "denominator")
        assert v.kind == "matrix-power", (v.kind, v.message)
        assert "tanh(X W)² should be tanh(X W)∘tanh(X W)" in v.message, v.message
        assert verify(v.details["fix"], f, S["W"], "denominator")
    batch = declare("X: N x d, W: d x h, C: N x h")
    g = parse("sum(C * tanh(X @ W))", batch)
    assert verify(r"X^T \left(C \odot (1 - \tanh(X W)^2)\right)", g, batch["W"], "denominator")
    assert verify("Xᵀ (C∘(1 - tanh(X W)²))", g, batch["W"], "denominator")


def test_a_missing_sigmoid_derivative_is_named() -> None:
    """σ′ = σ∘(1 - σ) is two ∘ factors of the derivative: leaving both out was only
    'wrong' (tanh′, one factor, was named)."""
    S = declare("X: N x d, W1: d x h, W2: h x k, Y: N x k")
    f = parse("sum((sigmoid(X @ W1) @ W2 - Y)**2)/2", S)
    v = verify("X.T @ ((sigmoid(X @ W1) @ W2 - Y) @ W2.T)", f, S["W1"], "denominator")
    assert v.kind == "missing-factor", (v.kind, v.message)
    assert "σ(X W1)" in fmt(v.details["missing_factor"]), v.message
    assert "1 - σ(X W1)" in fmt(v.details["missing_factor"]), v.message


def test_a_missing_factor_inside_a_programs_adjoint_is_named() -> None:
    """In a where= program tanh′ is a factor of the generated Ā1 := (1 - H1∘H1)∘H̄1,
    not of the result Xᵀ Ā1: the candidate without it was only 'wrong'."""
    S = declare("X: N x d, W1: d x h, W2: h x k, Y: N x k")
    X, W1, W2 = S["X"], S["W1"], S["W2"]
    A1 = sp.MatrixSymbol("A1", X.shape[0], W1.shape[1])
    H1 = sp.MatrixSymbol("H1", X.shape[0], W1.shape[1])
    Z = sp.MatrixSymbol("Z", X.shape[0], W2.shape[1])
    where = {A1: X * W1, H1: A1.applyfunc(sp.tanh), Z: H1 * W2}
    L = parse("sum((Z - Y)**2)/2", {**S, "Z": Z})
    assert verify("X.T @ (((Z - Y) @ W2.T) * (1 - H1**2))", L, W1, "denominator", where=where)
    v = verify("X.T @ ((Z - Y) @ W2.T)", L, W1, "denominator", where=where)
    assert v.kind == "missing-factor", (v.kind, v.message)
    assert "lacks the factor 1 - H1∘H1 of the program's " in v.message, v.message


def test_a_term_missing_from_a_programs_adjoint_is_named() -> None:
    """Layer norm as a program without its variance path: the term sits in the
    generated x̄c's definition, not in the result, and the candidate was only 'wrong'
    (as a nested tree it was named)."""
    S = declare("x: n, c: n, eps: scalar")
    n_ = S["x"].shape[0]
    xc, s, y = (
        sp.MatrixSymbol("xc", n_, 1),
        sp.MatrixSymbol("s", 1, 1),
        sp.MatrixSymbol("y", n_, 1),
    )
    T = {**S, "xc": xc, "s": s, "y": y}
    where = {
        xc: parse("x - sum(x)/n", T),
        s: parse("sqrt(xc.T @ xc / n + eps)", T),
        y: parse("xc / s", T),
    }
    L = parse("c.T @ y", T)
    v = verify("(c - sum(c)/n) / s", L, S["x"], "denominator", where=where)
    assert v.kind == "missing-term", (v.kind, v.message)
    assert "of the program's xcbar" in v.message, v.message
