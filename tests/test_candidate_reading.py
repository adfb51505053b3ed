"""Candidates in every notation over everything the expression has: scalar symbols
(λ), zero matrices, the syntax's entrywise ``^``, matderiv's own LaTeX read back."""

from __future__ import annotations

from typing import Any

import pytest
import sympy as sp
from rich.console import Console
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from matderiv import MatDerivError, ParseError, derive, gradient, hessian, verify
from matderiv.parse.candidate import parse_candidate
from matderiv.parse.expr import parse_expression
from matderiv.parse.latex import parse_latex
from matderiv.render.latex import tex
from matderiv.render.unicode import fmt

n, m = sp.symbols("n m", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
x = sp.MatrixSymbol("x", n, 1)
b = sp.MatrixSymbol("b", m, 1)
lam = sp.Symbol("lambda", positive=True)
RIDGE = (A * x - b).T * (A * x - b) + lam * x.T * x


# scalar symbols of the expression


@pytest.mark.parametrize(
    "candidate",
    [
        "2 * A.T @ (A @ x - b) + 2 * lambda * x",  # matderiv's syntax
        r"2 A^T(Ax-b) + 2\lambda x",  # LaTeX
        "2 Aᵀ (A x - b) + 2·λ x",  # Unicode, as fmt prints the gradient
    ],
)
def test_scalar_symbol_of_the_expression_in_a_candidate(candidate: str) -> None:
    v = verify(candidate, RIDGE, x, layout="denominator")
    assert v.kind == "correct", v.message


def test_the_printed_ridge_gradient_reads_back() -> None:
    printed = fmt(gradient(RIDGE, x).result)
    assert printed == "2 Aᵀ (A x - b) + 2·λ x"
    assert verify(printed, RIDGE, x, layout="denominator").kind == "correct"


def test_scalar_symbol_and_dimension_parse_to_themselves() -> None:
    assert parse_candidate("lambda * x / n", RIDGE, {}) == lam * x / n
    wrong = verify(r"2 A^T (A x - b)", RIDGE, x, layout="denominator")
    assert wrong.kind == "missing-term" and "lacks the term 2·λ x" in wrong.message


def test_a_symbol_named_by_its_own_name_is_accepted() -> None:
    """names={"lam": lam} names nothing new: it was refused as "already a symbol"."""
    lam2 = sp.Symbol("lam", positive=True)
    f = (A * x - b).T * (A * x - b) + lam2 * x.T * x
    v = verify("2 * A.T @ (A @ x - b) + 2 * lam * x", f, x, "denominator", names={"lam": lam2})
    assert v.kind == "correct", v.message
    assert gradient(f, x, names={"lam": lam2}).names == {}


def test_a_symbol_name_for_another_expression_is_refused_with_advice() -> None:
    with pytest.raises(MatDerivError, match=r"needs no entry in names=: candidates may use"):
        gradient(RIDGE, x, names={"x": A * x})


def test_unknown_symbol_message_is_not_only_command_line_advice() -> None:
    with pytest.raises(MatDerivError, match=r"may use the symbols of the expression and"):
        verify("mu * x", RIDGE, x, layout="denominator")


# zero candidates

c = sp.MatrixSymbol("c", n, 1)
LINEAR = c.T * x


@pytest.mark.parametrize("candidate", ["0", 0, sp.S.Zero, r"\mathbf{0}", "zeros(n, n)"])
def test_zero_hessian_of_a_linear_function(candidate: object) -> None:
    """A bare 0 is the zero matrix of the expected shape (was "wrong-shape: 1 × 1")."""
    v = verify(candidate, LINEAR, x, order=2)
    assert v.kind == "correct", v.message


def test_bare_zero_gradient_is_judged_by_its_values() -> None:
    v = verify("0", x.T * x, x, layout="denominator")
    assert v.kind == "wrong" and "0 at every random point" in v.message
    assert verify("0", LINEAR, x, layout="denominator").kind == "wrong"
    t = sp.MatrixSymbol("t", 1, 1)
    assert verify("0", c.T * c, t).kind == "correct"  # a 1 × 1 derivative: 0 stays 0


def test_zeros_is_a_function_of_dimensions() -> None:
    assert parse_candidate("zeros(n, m)", A, {}) == sp.ZeroMatrix(n, m)
    assert parse_candidate("x + zeros(n, 1)", x, {}) == x
    with pytest.raises(MatDerivError, match=r"zeros expects dimensions, e.g. zeros\(m, n\)"):
        parse_candidate("zeros(x, x)", x, {})
    with pytest.raises(MatDerivError, match="zeros takes 2 argument"):
        parse_candidate("zeros(n)", x, {})


# '^' is entrywise in matderiv's syntax

X = sp.MatrixSymbol("X", n, n)
LOGDET = sp.log(sp.Determinant(X))


@pytest.mark.parametrize(("candidate", "base"), [("(X^-1).T", "X.T"), ("X.T^-1", "X.T")])
def test_entrywise_inverse_in_a_wrong_candidate_is_pointed_out(candidate: str, base: str) -> None:
    v = verify(candidate, LOGDET, X, layout="denominator")
    assert v.kind == "wrong"
    assert v.message.endswith(
        f"`^` is entrywise in this syntax; write inv({base}) for the matrix inverse."
    )
    assert "entrywise power (Xᵀ)^∘-1" in v.message


def test_the_entrywise_hint_only_where_it_applies() -> None:
    assert verify("X^-T", LOGDET, X, layout="denominator").kind == "correct"  # LaTeX
    assert verify("inv(X).T", LOGDET, X, layout="denominator").kind == "correct"
    v = verify("inv(X)", LOGDET, X, layout="denominator")
    assert v.kind == "transposed" and "entrywise" not in v.message
    v = verify("x^-1", x.T * x, x, layout="denominator")  # a vector: no inverse to mean
    assert v.kind == "wrong" and "entrywise" not in v.message
    assert "inv(X) for the matrix" in verify("1/X", LOGDET, X, layout="denominator").message


def test_a_transposed_inverse_in_the_syntax_says_how_to_write_it() -> None:
    with pytest.raises(MatDerivError, match=r"Write X.T for the transpose Xᵀ and inv\(X\).T"):
        parse_expression("tr(X^-T)", {"X": X})
    for text in ("X^T^T", "X^T'", "X ** T.T"):  # more after ^T: not guessed
        with pytest.raises(MatDerivError, match=r"'\^' is an entrywise power in this syntax"):
            parse_expression(text, {"X": X})
    with pytest.raises(MatDerivError, match="unknown symbol 'T'"):
        parse_expression("X @ T", {"X": X})  # a plain unknown T


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("X^T", X.T),
        ("X ** T", X.T),
        ("x^T @ x", x.T * x),
        ("(A @ x - b)^T @ b", (A * x - b).T * b),
        ("2 * X^T + X", 2 * X.T + X),
    ],
)
def test_caret_t_is_the_transpose_in_the_syntax(text: str, expected: Any) -> None:
    """T can be no exponent, so X^T is Xᵀ (it was refused, and verify then read the
    whole candidate as LaTeX, where * is the matrix product)."""
    got = parse_expression(text, {"X": X, "A": A, "x": x, "b": b})
    assert got.doit() == expected.doit()


def test_caret_t_keeps_star_entrywise_in_a_candidate() -> None:
    """∂ tr(Bᵀ(X∘Xᵀ))/∂X = (B + Bᵀ)∘Xᵀ: right however the transposes are spelled; it
    was "wrong" with ^T (read as LaTeX: a matrix product)."""
    B = sp.MatrixSymbol("B", n, n)
    f = sp.Trace(B.T * sp.HadamardProduct(X, X.T))
    for text in ("(B + B^T) * X^T", "(B + B.T) * X.T", "(B + B') * X'"):
        assert verify(text, f, X, "denominator").kind == "correct", text
    assert verify("B * X^T", f, X, "denominator").kind != "correct"


def test_a_star_between_conformable_matrices_says_to_write_at() -> None:
    v = verify("2*A^T*(A*x-b)", RIDGE, x, "denominator")
    assert v.kind == "ill-formed"
    assert "* is the entrywise product, as in NumPy; write @ for the matrix product" in v.message
    v = verify("x * b", RIDGE, x, "denominator")  # (n x 1) and (m x 1): no product either
    assert v.kind == "ill-formed" and "write @" not in v.message


# matderiv's LaTeX reads back

k, h = sp.symbols("k h", integer=True, positive=True)
D = sp.MatrixSymbol("D", m, n)  # data
w = sp.MatrixSymbol("w", n, 1)
y = sp.MatrixSymbol("y", m, 1)
W1 = sp.MatrixSymbol("W1", n, h)
W2 = sp.MatrixSymbol("W2", h, k)
t = sp.MatrixSymbol("t", k, 1)
_Z = D * w
_SIGMA = _Z.applyfunc(lambda u: 1 / (1 + sp.exp(-u)))
_MLP = W2.T * (W1.T * x).applyfunc(sp.tanh) - t
LOSSES = {
    # binary cross-entropy, σ written with exp: the gradient is Dᵀ(σ(D w) - y)
    "cross-entropy": (
        -(
            y.T * _SIGMA.applyfunc(sp.log)
            + (sp.OneMatrix(1, m) - y.T) * _SIGMA.applyfunc(lambda s: sp.log(1 - s))
        ),
        w,
    ),
    "poisson": (sp.OneMatrix(1, m) * _Z.applyfunc(sp.exp) - y.T * _Z, w),
    "mlp W1": (_MLP.T * _MLP, W1),
    "mlp W2": (_MLP.T * _MLP, W2),
    "ridge": (RIDGE, x),
}


@pytest.mark.parametrize("loss", LOSSES, ids=list(LOSSES))
def test_latex_of_a_result_reads_back_as_a_correct_candidate(loss: str) -> None:
    f, wrt = LOSSES[loss]
    printed = tex(gradient(f, wrt).result)
    v = verify(printed, f, wrt, layout="denominator")
    assert v.kind == "correct", (printed, v.message)


def test_the_round_trip_covers_exp_and_numbered_names() -> None:
    printed = {name: tex(gradient(f, wrt).result) for name, (f, wrt) in LOSSES.items()}
    assert r"\sigma" in printed["cross-entropy"] and "e^{D w}" in printed["poisson"]
    assert "W_{1}" in printed["mlp W1"] and "W_{2}" in printed["mlp W2"]
    assert r"\lambda" in printed["ridge"]


def test_e_to_a_power_is_the_exponential_when_e_is_no_symbol() -> None:
    table = {"D": D, "w": w, "W1": W1, "x": x}
    u = sp.Symbol("u")

    def exp_of(parsed: Any) -> Any:
        """The argument of an entrywise exp (ElementwiseApplyFunction holds a Dummy)."""
        assert isinstance(parsed, ElementwiseApplyFunction) and parsed.function(u) == sp.exp(u)
        return parsed.expr

    assert exp_of(parse_latex(r"e^{D w}", table)) == D * w
    assert exp_of(parse_latex(r"\mathrm{e}^{-D w}^{T}", table).arg) == -D * w
    assert parse_latex(r"e^{2}", table) == sp.exp(2)
    with pytest.raises(ParseError, match=r"unknown symbol 'Z'[^\n]*column 6"):
        parse_latex(r"D e^{Z w}", table)
    e = sp.MatrixSymbol("e", n, 1)
    assert parse_latex(r"e^{T} w", {"e": e, "w": w}) == e.T * w  # a symbol e stays e


def test_a_numbered_subscript_reads_as_the_plain_name() -> None:
    W_1 = sp.MatrixSymbol("W_1", n, h)
    assert parse_latex(r"W_{1}^{T} x", {"W1": W1, "x": x}) == W1.T * x
    assert parse_latex(r"W_1 + W1", {"W1": W1, "W_1": W_1}) == W_1 + W1  # W_1 known: itself


# small: norm(x, p) in the API, floor, the layout's case


def test_norm_takes_the_orders_the_syntax_takes() -> None:
    from matderiv import norm  # the public one

    assert norm(x, 1) == parse_expression("norm(x, 1)", {"x": x})
    assert norm(x, 2) == norm(x) == parse_expression("norm(x, 2)", {"x": x})
    v = verify("sign(x)", norm(x, 1), x, layout="denominator")
    assert v.kind == "correct", v.message
    X3 = sp.MatrixSymbol("X3", n, m)
    with pytest.raises(MatDerivError, match="spectral norm"):
        norm(X3, 2)
    with pytest.raises(MatDerivError, match="p = 1 or 2, got p = 3"):
        norm(x, 3)
    with pytest.raises(MatDerivError, match="largest column sum"):
        norm(X3, 1)


def test_floor_is_refused_as_not_differentiable_without_a_far_fetched_suggestion() -> None:
    with pytest.raises(ParseError, match="floor is not differentiable") as caught:
        parse_expression("sum(floor(x))", {"x": x})
    assert "Did you mean" not in str(caught.value)
    with pytest.raises(ParseError, match="unknown function 'flor'") as caught:
        parse_expression("sum(flor(x))", {"x": x})
    assert "Did you mean" not in str(caught.value)  # flor ~ log by a ratio of 0.57 only
    with pytest.raises(ParseError, match="Did you mean tanh"):
        parse_expression("tahn(x)", {"x": x})


@pytest.mark.parametrize("layout", ["Denominator", "DENOMINATOR", " denominator "])
def test_the_layout_is_read_in_any_case(layout: str) -> None:
    d = derive(x.T * x, x, layout)
    assert d.layout == "denominator" and d.result == 2 * x
    assert verify("2 * x", x.T * x, x, layout=layout).kind == "correct"
    with pytest.raises(MatDerivError, match="unknown layout 'denom'"):
        derive(x.T * x, x, "denom")


def test_the_command_line_reads_the_layout_and_a_zero_hessian() -> None:
    from typer.testing import CliRunner

    from matderiv.cli import app

    runner = CliRunner()
    derived = runner.invoke(
        app, ["derive", "x.T @ x", "--wrt", "x", "--shapes", "x: n", "--layout", "Denominator"]
    )
    assert derived.exit_code == 0, derived.output
    assert "denominator layout" in derived.output
    hessian = ["--of", "c.T @ x", "--wrt", "x", "--shapes", "c: n, x: n", "--hessian"]
    zero = runner.invoke(app, ["verify", "0", *hessian])
    assert zero.exit_code == 0 and "correct" in zero.output, zero.output


# printed forms read back: accents, the function's name, entries of 1 x 1 products


def test_accented_names_read_as_sympy_names_them() -> None:
    r"""\bar{h}_{1} is hbar_1 (the LaTeX of a program's adjoints), \hat{y} is yhat."""
    k = sp.symbols("k", integer=True, positive=True)
    table = {s: sp.MatrixSymbol(s, k, 1) for s in ("hbar_1", "hbardot_2", "yhat", "mubar")}
    for text, name in [
        (r"\bar{h}_{1}", "hbar_1"),
        (r"\overline{h}_1", "hbar_1"),
        (r"\dot{\bar{h}}_{2}", "hbardot_2"),
        (r"\hat{y}", "yhat"),
        (r"\bar{\mu}", "mubar"),
    ]:
        assert parse_latex(text, table) == table[name], text
    with pytest.raises(ParseError, match="unknown symbol 'zhat'"):
        parse_latex(r"\hat{z}", table)


def test_a_program_result_in_latex_reads_back() -> None:
    r"""The LaTeX of an RNN program's gradient has \bar{h}_{t}: "unknown command \bar"."""
    p = sp.symbols("p", integer=True, positive=True)
    Wp, Up, c = sp.MatrixSymbol("W", p, n), sp.MatrixSymbol("U", n, n), sp.MatrixSymbol("c", n, 1)
    where, prev = {}, sp.MatrixSymbol("h_0", n, 1)
    for t in (1, 2, 3):
        h = sp.MatrixSymbol(f"h_{t}", n, 1)
        where[h] = (Wp.T * sp.MatrixSymbol(f"x_{t}", p, 1) + Up.T * prev).applyfunc(sp.tanh)
        prev = h
    loss = sp.MatAdd(*[c.T * h for h in where])
    d = gradient(loss, Wp, where=where)
    assert r"\bar{h}_{1}" in tex(d.result)
    assert verify(tex(d.result), loss, Wp, "denominator", where=where)


def test_a_headline_with_the_functions_name_reads_back() -> None:
    """∂ det X/∂X = f X⁻ᵀ in the headline: f is the function (it was an unknown symbol)."""
    S = sp.MatrixSymbol("X", n, n)
    assert verify(r"f X^{-T}", sp.Determinant(S), S, "denominator")
    assert verify("f X⁻ᵀ", sp.Determinant(S), S, "denominator")
    assert verify("2 f X⁻ᵀ", sp.Determinant(S), S, "denominator").kind == "factor"
    f = sp.Symbol("f")  # a symbol called f: the function is F
    assert verify("F * inv(X).T", f * sp.Determinant(S), S, "denominator")
    # a Hessian's steps define g := ∇f last: g is not the function
    from matderiv import hessian
    from matderiv.verification import _root_name

    assert list(_root_name(hessian(sp.log(sp.Determinant(S)), S))) == ["f"]
    assert verify("f * inv(X).T", f * sp.Determinant(S), S, "denominator").kind != "correct"


def test_a_candidate_with_an_entry_of_a_one_by_one_product() -> None:
    """exp((wᵀx)[0, 0]) x, as SymPy builds it: verify raised 'no value given for _i_1'."""
    w = sp.MatrixSymbol("w", n, 1)
    f = sp.exp((w.T * x)[0, 0])
    assert verify(sp.exp((w.T * x)[0, 0]) * x, f, w, "denominator")
    assert verify(2 * sp.exp((w.T * x)[0, 0]) * x, f, w, "denominator").kind == "factor"
    assert verify("f x", f, w, "denominator")


def test_greek_names_print_and_read_as_greek_letters() -> None:
    """mu, Sigma, lambda print as μ, Σ, λ (they printed as words; LaTeX had \\mu), and a
    pasted σ or μ reads as the symbol of that name (it was "unknown symbol 'σ'")."""
    S, mu = sp.MatrixSymbol("Sigma", n, n), sp.MatrixSymbol("mu", n, 1)
    sigma, theta = sp.Symbol("sigma", positive=True), sp.MatrixSymbol("theta_1", n, 1)
    assert fmt(S.I * (x - mu)) == "Σ⁻¹ (x - μ)"
    assert fmt(lam * theta) == "λ θ₁"
    assert fmt(sigma * x) == "sigma x"  # σ(·) is the sigmoid: the word stays
    assert fmt(sp.MatrixSymbol("Alpha", n, 1)) == "Alpha"  # Α would read as A
    f = ((A * x - b).T * (A * x - b))[0, 0] / (2 * sigma**2)
    assert verify("Aᵀ (A x - b)/σ²", f, x, "denominator")
    g = ((x - mu).T * S.I * (x - mu))[0, 0]
    d = gradient(g, mu)
    assert "Σ" in str(d) and "Sigma" not in str(d)
    assert verify(fmt(d.result), g, mu, "denominator")
    # a Hessian's label: its ᵀ hid the second mu from the Greek letters (∂²f/∂μ∂muᵀ)
    with Console(width=100, record=True) as console:
        console.print(hessian(g, mu))
    shown = console.export_text()
    assert "∂²f/∂μ∂μᵀ" in shown and "∂mu" not in shown and "∂ mu" not in shown


def test_sech_squared_is_tanh_prime() -> None:
    """tanh′ = sech² = 1/cosh², as many hand derivations write it (was unknown)."""
    c, W = sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("W", n, n)
    f = c.T * (W * x).applyfunc(sp.tanh)
    for text in (
        "W.T @ (sech(W @ x)^2 * c)",
        r"W^T (\operatorname{sech}(W x)^{\circ 2} \odot c)",
        r"W^T (\cosh(W x)^{\circ -2} \odot c)",
        "Wᵀ (sech(W x)∘sech(W x)∘c)",
    ):
        assert verify(text, f, x, "denominator"), text
    assert not verify("W.T @ (sech(W @ x) * c)", f, x, "denominator")


@pytest.mark.parametrize(
    "text",
    [
        "df/dx = 2*A.T @ (A @ x - b)",
        "d f / d x = 2*A.T @ (A @ x - b)",
        "dL/dvec(x) = 2*A.T @ (A @ x - b)",
        "grad f = 2*A.T @ (A @ x - b)",
        "∂f/∂x = 2 Aᵀ (A x - b)",
    ],
)
def test_a_left_hand_side_in_derivative_notation_is_dropped(text: str) -> None:
    """LaTeX and Unicode dropped "lhs =", the syntax gave a caret at "=" for df/dx."""
    assert verify(text, (A * x - b).T * (A * x - b), x, "denominator")


def test_a_parenthesised_t_exponent_says_how_to_transpose() -> None:
    for text in ("X^(-T)", "X^(T)", "X**(-T)"):
        with pytest.raises(MatDerivError, match="T is no exponent"):
            parse_expression(text, {"X": X})


def test_numpy_broadcasting_gets_the_matrix_form() -> None:
    """(1 - h*h) * W and v * x.T are NumPy broadcasting: refused, now with what to write."""
    k = sp.symbols("k", integer=True, positive=True)
    W, c = sp.MatrixSymbol("W", k, n), sp.MatrixSymbol("c", k, 1)
    f = c.T * (W * x).applyfunc(sp.tanh)
    v = verify("(1 - tanh(W @ x)**2) * W", f, x, "numerator")
    assert v.kind == "ill-formed" and "write diag(v) @ W" in v.message
    v = verify("((1 - tanh(W @ x)**2) * c) * x.T", f, W, "denominator")
    assert v.kind == "ill-formed" and "write v @ w.T for the outer product" in v.message
    assert verify("((1 - tanh(W @ x)**2) * c) @ x.T", f, W, "denominator")


def test_an_unknown_name_in_math_notation_is_named() -> None:
    """'2 A^T (A z - b)' with z undeclared got the syntax's "two operands side by side"
    at column 3; the formula is LaTeX-like, and its problem is z."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("A: m x n, x: n, b: m")
    f = (S["A"] * S["x"] - S["b"]).T * (S["A"] * S["x"] - S["b"])
    with pytest.raises(ParseError, match="unknown symbol 'z'"):
        verify("2 A^T (A z - b)", f, S["x"], "denominator")
    assert verify("2 A^T (A x - b)", f, S["x"], "denominator")


def test_the_syntax_with_a_latex_identity_is_not_read_as_latex() -> None:
    """X*X + I was read as LaTeX, where * is the matrix product (the syntax does not
    know I): the right X∘X + I was called wrong. I is now the identity of the
    derivative's size when nothing gives its size (the Cookbook's ∂tr(X)/∂X = I), and
    the syntax's error for another spelling says eye(n)."""
    X = sp.MatrixSymbol("X", n, n)
    f = sp.Trace(sp.OneMatrix(n, n) * sp.HadamardPower(X, 3)) / 3 + sp.Trace(X)
    for right in ("X*X + eye(n)", "X*X + I", "X**2 + I"):
        assert verify(right, f, X, "denominator"), right
    assert verify("X @ X + I", f, X, "denominator").kind == "matrix-power"  # X∘X meant
    with pytest.raises(ParseError, match=r"identity is eye\(n\)"):
        verify("X*X + I_n", f, X, "denominator")
    with pytest.raises(ParseError, match=r"identity is eye\(n\)"):
        parse_expression("X*X + I", {"X": X})


_TR_X = sp.Trace(sp.MatrixSymbol("X", n, n))


@pytest.mark.parametrize(
    ("candidate", "f"),
    [
        (r"\mathbf{I}", _TR_X),
        ("I", _TR_X),
        (r"\operatorname{Tr}(A A^T)\,\mathbf{I}", sp.Trace(A * A.T) * _TR_X),
        ("trace(A @ A.T) * I", sp.Trace(A * A.T) * _TR_X),
    ],
)
def test_an_identity_alone_is_sized_by_the_derivative(candidate: str, f: Any) -> None:
    """∂tr(X)/∂X = I and ∂ tr(AAᵀ)tr(X)/∂X = tr(AAᵀ) I, as the Cookbook writes them,
    were "the size of I is unknown"."""
    X = sp.MatrixSymbol("X", n, n)
    assert verify(candidate, f, X, "denominator")
    assert verify(f"-({candidate})", f, X, "denominator").kind == "sign"


def test_a_latex_formula_with_a_star_still_reads_as_latex() -> None:
    # the syntax fails on ^ (not on a name): 2*A^T(Ax - b) is math, * a product
    assert verify("2*A^T (A x - b) + 2 lambda x", RIDGE, x, "denominator")


def test_a_scalar_called_sigma_before_a_parenthesis_is_the_scalar() -> None:
    """σ(x) and sigma(x) are the sigmoid in the syntax, but not when sigma is a
    symbol: matderiv's own 2·sigma (x - μ) was read as 2 σ(x - μ), "wrong"."""
    sigma, mu = sp.Symbol("sigma"), sp.MatrixSymbol("mu", n, 1)
    f = sigma * sp.Trace((x - mu).T * (x - mu))
    d = gradient(f, x)
    assert verify(fmt(d.result), f, x, "denominator")
    W = sp.MatrixSymbol("W", n, n)
    g = sp.OneMatrix(1, n) * (W * x).applyfunc(lambda t: 1 / (1 + sp.exp(-t)))
    for s in ("σ", "sigma"):
        assert verify(f"({s}(W @ x) * (1 - {s}(W @ x))) @ x.T", g, W, "denominator")


def test_names_after_the_formula_must_each_have_a_value() -> None:
    """ ", with v₂ = softmax(K q)" gives a name; a clause without "=" is refused by name."""
    n = sp.Symbol("n", integer=True, positive=True)
    x = sp.MatrixSymbol("x", n, 1)
    with pytest.raises(ParseError, match="cannot read the names after the formula"):
        parse_candidate("2 r, with r", x.T * x, {})
    assert parse_candidate("2 r, with r = x", x.T * x, {}) == 2 * x


# a refusal of what was read (ambiguous, or against the writer's evident meaning) is
# marked as such, so the reader shows it rather than another notation's failure to
# read; a failure to read is not


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("s^10 x", True),  # LaTeX: write ^{10}
        (r"\operatorname{tr} B B x", True),  # a function without parentheses
        ("x^T B x / x^T x x", True),  # '/' by a matrix before more factors
        ("X^T X", True),  # with a symbol T
        ("s^{2}^{3} x", True),  # LaTeX: two exponents in a row
        ("(X^2).T^T", True),  # the syntax: a transpose after an exponent
        ("Bᵀ x ∘ x", True),  # a spaced ∘ beside a matrix product
        ("x +", False),
        ("B @ @ x", False),
        ("unknown_name @ x", False),
    ],
)
def test_a_refusal_is_marked_as_one(text: str, refused: bool) -> None:
    import matderiv as md

    symbols = md.declare("B: n x n, X: n x n, x: n, s: scalar, T: scalar")
    with pytest.raises(ParseError) as caught:
        md.parse(text, symbols)
    assert caught.value.refusal is refused, str(caught.value)
