"""verify: right answers, the seed's wrong and right formulas, each diagnosis, LaTeX from posts."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import commutation, diag, vec, verify
from matderiv.examples import rnn_loss, rnn_step

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


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_verify(case) -> None:
    _, candidate, expr, wrt, layout, kind = case
    verdict = verify(candidate, expr, wrt, layout, names=NAMES)
    assert verdict.kind == kind, verdict.message
    assert bool(verdict) == (kind == "correct")
    assert verdict.message
    assert verdict.details["derived"] == verdict.derivation.result


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
        "wrong",
        "wrong-shape",
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
    assert "(n_h × n_h·n_i)" in verdict.message and "(n_h × n_h)" in verdict.message


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
