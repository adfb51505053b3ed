"""The headline of a derivation (the first line of the terminal and text output).

It writes out the intermediates matderiv named (v_k) when the result stays short,
so that it reads without the table; user names, where= symbols and adjoints stay.
Each headline is read back with parse_unicode and compared with ``d.result``.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import sympy as sp
from rich.console import Console
from tex_helpers import standalone_title

from matderiv import derive, evaluate, gradient, hessian, hvp
from matderiv.examples import rnn_step
from matderiv.parse.unicode import parse_unicode
from matderiv.render.headline import HEADLINE_CHARS, headline
from matderiv.render.rows import rows, title
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation, random_values

m, n, k, p = sp.symbols("m n k p", positive=True, integer=True)
DIMS = {m: 5, n: 3, k: 4, p: 2}
X, w, y, V = (
    sp.MatrixSymbol(s, *sh)
    for s, sh in (("X", (m, n)), ("w", (n, 1)), ("y", (m, 1)), ("V", (n, 1)))
)
W, U, x = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, k), sp.MatrixSymbol("x", k, 1)
GENERATED = re.compile(r"\bv[₀-₉]+")


def _logistic():
    margins = (-sp.HadamardProduct(y, X * w)).applyfunc(sp.exp)
    return sp.OneMatrix(1, m) * (sp.OneMatrix(m, 1) + margins).applyfunc(sp.log)


def _tanh_sum():
    return sp.OneMatrix(1, m) * (X * w).applyfunc(sp.tanh)


SHORT = {
    "logistic Hessian": lambda: hessian(_logistic(), w),
    "logistic gradient": lambda: gradient(_logistic(), w),
    "logistic gradient, numerator": lambda: derive(_logistic(), w, "numerator"),
    "tanh Hessian": lambda: hessian(_tanh_sum(), w),
    "tanh HVP": lambda: hvp(_tanh_sum(), w, V),
    "nested tanh Jacobian": lambda: derive((W * (U * x).applyfunc(sp.tanh)).applyfunc(sp.tanh), U),
}


def _read_back(d, text: str):
    """The headline's right-hand side parsed as a formula over the derivation's symbols."""
    formula = text.split(" = ", 1)[1].split(", with ", 1)[0]  # Y (or f) said after it
    symbols = {
        str(s): s for s in (d.result.free_symbols | {d.wrt}) if isinstance(s, sp.MatrixSymbol)
    }
    for step in d.steps:
        if step.kind == "define" and step.lhs in ("Y", "f"):
            symbols[step.lhs] = sp.MatrixSymbol(step.lhs, *step.shape)
    return parse_unicode(formula, symbols)


def _root_values(d, values):
    """Values of the derivation's output name (Y), which a headline may use."""
    out = {}
    for step in d.steps:
        if step.kind == "define" and step.lhs in ("Y",):
            out[sp.MatrixSymbol("Y", *step.shape)] = evaluate(d.of, values)
    return out


@pytest.mark.parametrize("case", SHORT)
def test_short_headlines_write_out_generated_intermediates(case: str) -> None:
    d = SHORT[case]()
    text = title(d)
    assert GENERATED.search(fmt(d.steps[-1].expr)), "the case should have generated names"
    assert not GENERATED.search(text), text
    read = _read_back(d, text)
    rng = np.random.default_rng(7)
    values = random_values(d.result, DIMS, rng)
    values.update({s: v for s, v in random_values(d.of, DIMS, rng).items() if s not in values})
    values.update(_root_values(d, values))
    expected = evaluate(d.result, values)
    np.testing.assert_allclose(evaluate(headline(d), values), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(evaluate(read, values), expected, rtol=1e-10, atol=1e-12)


def test_a_long_headline_keeps_the_names_the_steps_define() -> None:
    deep = (
        W
        * (
            U * (sp.MatrixSymbol("A", k, p) * sp.MatrixSymbol("z", p, 1)).applyfunc(sp.tanh)
        ).applyfunc(sp.tanh)
    ).applyfunc(sp.tanh)
    f = sp.OneMatrix(1, m) * deep
    d = derive(f, sp.MatrixSymbol("A", k, p))
    written = fmt(headline(d))
    kept = set(GENERATED.findall(title(d)))
    assert kept, "a result this long keeps its intermediates' names"
    defined = {fmt(sp.Symbol(s.lhs)) for s in d.steps if s.kind == "define"}
    assert kept <= defined
    assert len(fmt(d.result)) > HEADLINE_CHARS, "the written-out form would not fit"
    # only the short intermediates are written out (v₂ := tanh(A z)); the rest stay
    assert "1 - tanh(A z)∘tanh(A z)" in written and "v₂" not in written
    assert set(GENERATED.findall(written)) == kept
    # and each name it keeps is given after the formula, written out: no steps needed
    head, _, given = title(d).partition(", with ")
    assert all(f"{name} = " in given for name in GENERATED.findall(head)), title(d)
    from matderiv import verify

    assert verify(title(d).rsplit("   ", 1)[0], f, sp.MatrixSymbol("A", k, p))


def test_a_long_programs_hessian_headline_uses_only_program_names() -> None:
    """The RNN program's Hessian headline had diag(v₁₃) (v₁₃ := 1 - h₁∘h₁, deep in
    the steps); short intermediates are written out even in a long headline."""
    c, h0 = sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("h_0", n, 1)
    Wp, Up = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, n)
    where, prev = {}, h0
    for t in (1, 2, 3):
        h = sp.MatrixSymbol(f"h_{t}", n, 1)
        where[h] = (Wp.T * sp.MatrixSymbol(f"x_{t}", m, 1) + Up.T * prev).applyfunc(sp.tanh)
        prev = h
    d = hessian(sp.MatAdd(*[c.T * h for h in where]), Wp, where=where)
    text = title(d)
    assert not GENERATED.search(text), text
    assert "diag(1 - h₁∘h₁)" in text


def test_user_names_stay_in_the_headline() -> None:
    ex = rnn_step()
    d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
    assert "h₁∘h₁" in title(d)
    assert "tanh" not in title(d)


def test_where_symbols_and_adjoints_stay_in_the_headline() -> None:
    A = sp.MatrixSymbol("A", n, n)
    h0, h1, h2, c = (sp.MatrixSymbol(s, n, 1) for s in ("h_0", "h_1", "h_2", "c"))
    where = {h1: (A * h0).applyfunc(sp.tanh), h2: (A * h1).applyfunc(sp.tanh)}
    d = gradient(c.T * h2, A, where=where)
    text = title(d)
    assert "h̄₁" in text, text
    assert "h₁" in text and "tanh" not in text
    assert not GENERATED.search(text)


def test_latex_repeats_the_result_without_intermediates() -> None:
    from matderiv.render.latex import tex

    d = SHORT["logistic Hessian"]()
    lines = d.to_latex().splitlines()
    written = rf"&= {tex(headline(d))} \\*"  # kept with the rows above it
    assert written in lines, lines[-4:]
    assert "v_{" not in written and "v_{7}" in d.to_latex()
    ex = rnn_step()  # its result uses only the user's names: nothing to repeat
    rnn = derive(ex.expr, ex.wrt, ex.layout, names=ex.names).to_latex().splitlines()
    # the result, then the layout note (two rows for a Jacobian)
    assert rnn[-4].startswith(r"\frac{\partial h_{1}}") and rnn[-3].startswith(r"& \text{"), rnn[
        -5:
    ]


@pytest.mark.parametrize("name", SHORT)
def test_the_result_row_ends_with_the_written_out_result(name: str) -> None:
    """The steps' last row shows the result twice: with the intermediates the table
    defines, then written out as in the headline."""
    d = SHORT[name]()
    last = rows(d)[-1]
    assert last.kind == "result"
    assert last.formula[0] == f"= {fmt(d.steps[-1].expr)}" and len(last.formula) == 2
    assert last.formula[1].split(", with ")[0] == f"= {fmt(headline(d))}"  # Y said after it
    assert GENERATED.search(last.formula[0]) and not GENERATED.search(last.formula[1])


def test_a_result_without_intermediates_has_one_line() -> None:
    d = gradient(w.T * X.T * X * w, w)
    assert rows(d)[-1].formula == (f"= {fmt(d.result)}",)


def test_a_matrix_expression_is_written_out_in_its_own_derivative() -> None:
    """X⁻¹ by X read ∂vec(Y)/∂vec(X) = -X⁻ᵀ ⊗ Y, with Y := X⁻¹ only in the table; the
    Cookbook's -X⁻ᵀ ⊗ X⁻¹.  A scalar f stays: (1 - f²) a for tanh(aᵀx)."""
    S = sp.MatrixSymbol("S", n, n)
    d = derive(S.I, S)
    assert fmt(headline(d)) == "-S⁻ᵀ ⊗ S⁻¹", fmt(headline(d))
    a = sp.MatrixSymbol("a", n, 1)
    f = (a.T * V).applyfunc(sp.tanh)
    assert "f" in fmt(headline(gradient(f, V)))  # (1 - f²) a


def test_the_gradient_a_second_order_derivation_names_is_written_out() -> None:
    """The HVP of log det S read H vec(V) = -S⁻ᵀ Vᵀ g, with g := ∇f = S⁻ᵀ defined in
    the table and S⁻ᵀ written out beside it; the Cookbook's -S⁻ᵀ Vᵀ S⁻ᵀ."""
    S, D = sp.MatrixSymbol("S", n, n), sp.MatrixSymbol("D", n, n)
    d = hvp(sp.log(sp.Determinant(S)), S, D)
    assert any(s.lhs == "g" for s in d.steps if s.kind == "define")
    assert fmt(headline(d)) == "-S⁻ᵀ Dᵀ S⁻ᵀ", fmt(headline(d))
    rng = np.random.default_rng(3)
    values = {S: rng.standard_normal((3, 3)) + 3 * np.eye(3), D: rng.standard_normal((3, 3))}
    values[n] = 3
    np.testing.assert_allclose(evaluate(headline(d), values), evaluate(d.result, values))


def test_a_transposed_sum_written_out_is_the_column_sum() -> None:
    """(Bx + b)ᵀC(Dx + d) (Cookbook 78) read Bᵀ C (D x + d) + Dᵀ Cᵀ (xᵀ Bᵀ + bᵀ)ᵀ:
    the row intermediate v = xᵀBᵀ + bᵀ written out inside vᵀ."""
    B, C, D = (sp.MatrixSymbol(s, n, n) for s in "BCD")
    b, d_, x_ = sp.MatrixSymbol("b", n, 1), sp.MatrixSymbol("d", n, 1), sp.MatrixSymbol("x", n, 1)
    d = derive((B * x_ + b).T * C * (D * x_ + d_), x_, "denominator")
    written = fmt(headline(d))
    assert written == "Bᵀ C (D x + d) + Dᵀ Cᵀ (B x + b)", written
    rng = np.random.default_rng(4)
    values = {
        s: rng.standard_normal((3, 3 if s.shape[1] != 1 else 1)) for s in (B, C, D, b, d_, x_)
    }
    values[n] = 3
    np.testing.assert_allclose(evaluate(headline(d), values), evaluate(d.result, values))


def _attention():
    d_, t = sp.symbols("d t", positive=True, integer=True)
    q, K = sp.MatrixSymbol("q", d_, 1), sp.MatrixSymbol("K", t, d_)
    V, u = sp.MatrixSymbol("V", t, d_), sp.MatrixSymbol("u", t, 1)
    return q, K, V, u


def test_a_repeated_long_subexpression_is_named_after_the_formula() -> None:
    """Attention's Jacobian wrote softmax(K q) three times in the headline, its HVP a
    long sum twice and softmax(K q) five times; the textbook names them once: Vᵀ
    (diag(s) - s sᵀ) K with s = softmax(K q).  The headline, "with" clause and all,
    reads back (verify) to the derivative."""
    from matderiv import softmax, verify

    q, K, V, u = _attention()
    f = V.T * softmax(K * q)
    d = derive(f, q)
    text = title(d)
    assert text.count("softmax(K q)") == 1 and ", with v₂ = softmax(K q)" in text, text
    assert verify(text.rsplit("   ", 1)[0], f, q)  # without the shape
    loss = u.T * softmax(K * q)
    D = sp.MatrixSymbol("D", *q.shape)
    h = hvp(loss, q, D)
    text = title(h)
    assert text.count("softmax(K q)") == 1 and ", with " in text, text
    assert len(text) < len(fmt(h.result)), text
    assert verify(text.split(" = ", 1)[1].rsplit("   ", 1)[0], loss, q, order=2, direction=D)
    # the LaTeX title and last row say the same, and read back
    latex = h.to_latex(standalone=True)
    assert verify(standalone_title(latex), loss, q, order=2, direction=D)


def test_a_subexpression_written_twice_but_short_is_written_out() -> None:
    """σ(X w) twice in the logistic Hessian is short: no name for it."""
    text = title(SHORT["logistic Hessian"]())
    assert ", with " not in text and not GENERATED.search(text), text


def test_a_long_headline_that_reads_without_the_steps_is_preferred() -> None:
    """Four logistic terms' Hessian read v₂₆·v₂₈²·y0² x₀ x₀ᵀ + ... (their weights too long
    to give after it); written out in full it is longer, but reads, and reads back."""
    from matderiv import verify

    w = sp.MatrixSymbol("w", n, 1)
    xs = [sp.MatrixSymbol(f"x_{i}", n, 1) for i in range(4)]
    ys = sp.symbols("y0:4")
    f = sum(sp.log(1 + sp.exp(-ys[i] * sp.Trace(w.T * xs[i]))) for i in range(4))
    text = title(hessian(f, w))
    assert not GENERATED.search(text) and text.count("σ(") == 8, text
    assert verify(text.rsplit("   ", 1)[0], f, w, order=2)


def test_the_function_value_a_headline_keeps_is_said() -> None:
    """2·f x for exp(xᵀx) did not say what f is (the function's value, named only in
    the steps): the headline gives it after the formula, in LaTeX too, and reads back."""
    from matderiv import verify

    x = sp.MatrixSymbol("x", n, 1)
    f = sp.exp((x.T * x)[0, 0])
    d = gradient(f, x)
    head = title(d)
    assert head.startswith("∂f/∂x = 2·f x, with f = exp(xᵀ x)"), head
    assert r"\text{with } f = e^{x^{T} x}" in d.to_latex()
    assert verify(head.split(" = ", 1)[1].rsplit("   (", 1)[0], f, x, "denominator")
    assert title(gradient((x.T * x)[0, 0], x)).endswith("= 2 x   (n × 1)")  # no f: no "with"


def test_a_matrix_function_kept_by_name_is_said_after_the_headline() -> None:
    """∂Y/∂x = diag(Y) A for exp(A x) left Y undefined in the headline (a scalar f was
    said: "2·f x, with f = exp(xᵀ x)")."""
    A = sp.MatrixSymbol("A", m, n)
    d = derive((A * w).applyfunc(sp.exp), w)
    assert title(d).startswith("∂Y/∂w = diag(Y) A, with Y = exp(A w)"), title(d)
    assert r"\text{with } Y = e^{A w}" in d.to_latex(), d.to_latex()[-400:]


SECOND = {"gradient": gradient, "hessian": hessian, "hvp": hvp}


@pytest.mark.parametrize("second", SECOND)
@pytest.mark.parametrize("dim", ["g", "v_1", "p", "f"])
def test_a_dimension_called_like_a_generated_name_stays_a_dimension(dim: str, second: str) -> None:
    """A dimension called g or v_1 was written out in the headline as the intermediate
    of that name (g := ∇f inside I_g): str, repr, LaTeX and rich all crashed.  One
    called p or f was taken for that intermediate: ``H vec(V) = (A + Aᵀ) V, with p =
    tr(v₂)``, ``∂f/∂X = 2 X, with f = tr(Xᵀ X)`` beside (n × f)."""
    q = sp.Symbol(dim, integer=True, positive=True)
    Xq, A = sp.MatrixSymbol("X", n, q), sp.MatrixSymbol("A", n, n)
    d = SECOND[second](sp.Trace(Xq.T * A * Xq), Xq)
    text, latex = title(d), d.to_latex(standalone=True)
    assert str(d).startswith(text) and repr(d) and d._repr_latex_()
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(d)
    assert text.split(" = ")[0] in console.export_text()
    assert ", with" not in text and r"\text{with" not in standalone_title(latex), text
    rng = np.random.default_rng(3)
    values = random_values(d.result, {n: 3, q: 2}, rng)
    values.update(
        {s: v for s, v in random_values(d.of, {n: 3, q: 2}, rng).items() if s not in values}
    )
    np.testing.assert_allclose(
        evaluate(_read_back(d, text), {**values, q: 2}), evaluate(d.result, {**values, q: 2})
    )
    assert check_derivation(d, {n: 3, q: 2}, rtol=1e-4) < 1e-4


def _title_block(latex: str) -> str:
    """A standalone document's first block, as a reader would copy it."""
    head = latex.split("\\begin{document}\n", 1)[1]
    assert head.startswith("\\begin{align*}"), head[:200]  # the long form
    return head.split("\\end{align*}", 1)[0] + "\\end{align*}"


def test_a_long_latex_title_reads_back_as_it_is() -> None:
    """The long title (an align*) wrote its names row without the comma of the one-line
    form (``& \\quad \\text{with } v_{5} = …``), which verify refused ("the formula goes
    on after \\text{with"); and its shape, "\\quad (n \\times n)" after the formula, was
    read as a factor of it: a pasted right answer was "wrong"."""
    from matderiv import jacobian, softmax, verify

    q = sp.MatrixSymbol("q", n, 1)
    K, L = sp.MatrixSymbol("K", n, n), sp.MatrixSymbol("L", n, n)
    g = K.T * softmax(K * q) + L.T * softmax(L * q)
    d = jacobian(g, q)
    block = _title_block(d.to_latex(standalone=True))
    assert r", \quad \text{with } v_{" in block, block
    verdict = verify(block, g, q)
    assert verdict and verdict.kind == "correct", verdict.message
    swapped = block.replace(
        r"\operatorname{softmax}\left(L q\right)", r"\operatorname{softmax}\left(K q\right)"
    )
    assert swapped != block and not verify(swapped, g, q)
    assert check_derivation(d, {n: 3}) < 1e-5  # and the result is the derivative
    # a long sum without names: the shape is a tag, not a factor of the last term
    c, h = sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("h_0", n, 1)
    terms = []
    for t in range(1, 4):
        h = (W.T * sp.MatrixSymbol(f"x_{t}", m, 1) + sp.MatrixSymbol("U", n, n).T * h).applyfunc(
            sp.tanh
        )
        terms.append(c.T * h)
    loss = sp.MatAdd(*terms)
    d = gradient(loss, W)
    block = _title_block(d.to_latex(standalone=True))
    assert r"\tag*{$m \times n$}" in block, block[-200:]
    verdict = verify(block, loss, W, "denominator")
    assert verdict and verdict.kind == "correct", verdict.message


def test_a_title_tagged_with_subscripted_sizes_reads_back() -> None:
    """The RNN step's title, an align* whose shape tag is \\tag*{$n_{h} n_{i} \\times
    n_{h}$}: the tag's inner braces kept it from being removed, and verify refused the
    pasted block ("unknown command \\tag")."""
    from matderiv import verify
    from matderiv.examples import rnn_step

    ex = rnn_step()
    d = derive(ex.expr, ex.wrt, ex.layout)
    block = _title_block(d.to_latex(standalone=True))
    assert r"\tag*{$n_{h}" in block, block
    verdict = verify(block, ex.expr, ex.wrt, ex.layout)
    assert verdict and verdict.kind == "correct", verdict.message
