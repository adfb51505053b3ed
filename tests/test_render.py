"""Rendering: terminal (rich and plain), LaTeX that compiles, Jupyter, index notation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from rich.console import Console
from test_identities_linear import ROWS as LINEAR
from test_identities_nonlinear import ROWS as NONLINEAR
from tex_helpers import standalone_title

from matderiv import derive, gradient, hessian
from matderiv.examples import rnn_loss, rnn_step
from matderiv.index_form import index_lines
from matderiv.render.latex import tex
from matderiv.render.unicode import fmt

GOLDEN = Path(__file__).parent / "golden" / "rnn_step.txt"
HAS_TEX = shutil.which("pdflatex") is not None


def _rich_text(d, width: int = 100) -> str:
    with open(os.devnull, "w") as sink:
        console = Console(width=width, color_system=None, record=True, file=sink)
        console.print(d)
    return console.export_text()


def _rnn():
    ex = rnn_step()
    return derive(ex.expr, ex.wrt, ex.layout, names=ex.names)


def test_rnn_terminal_output_matches_golden_file() -> None:
    text = _rich_text(_rnn())
    if os.environ.get("MATDERIV_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_terminal_output_reads_like_the_textbook() -> None:
    text = _rich_text(_rnn())
    assert "∂h₁/∂vec(Wₕₓᵀ) = (e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)" in text
    assert "denominator layout" in text and "vec stacks columns" in text
    assert "(nₕ·nᵢ × nₕ)(nₕ × nₕ)" in _rich_text(_rnn(), 150)  # a chain product's shapes


def test_shapes_wrap_between_factors_not_inside_one() -> None:
    """At 100 columns the shape column cut (nₕ·nᵢ × nₕ·nᵢ)(nₕ·nᵢ × nₕ) after a ×: where a
    shape would not fit, the table writes them without spaces, (nₕ·nᵢ×nₕ) (nₕ×nₕ)."""
    text = _rich_text(_rnn(), 100)
    assert "(nₕ·nᵢ×nₕ) (nₕ×nₕ)" in text
    assert not any(line.rstrip().endswith(("×", "× nₕ·nᵢ)(nₕ·nᵢ")) for line in text.splitlines())
    assert "[chain rule]" in text  # the rule fits under the label, on one line


@pytest.mark.parametrize("width", [40, 60, 120])
def test_wide_formulas_wrap_instead_of_breaking_the_table(width: int) -> None:
    text = _rich_text(_rnn(), width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "diag" in text


def test_plain_text_has_every_step() -> None:
    d = _rnn()
    text = str(d)
    for heading in ("named intermediates", "local derivatives", "chain rule", "result"):
        assert heading in text
    assert text.count("\n") >= len(d.steps)
    assert "\x1b[" not in text


def test_jupyter_shows_math() -> None:
    latex = _rnn()._repr_latex_()
    assert latex.startswith("$$") and latex.rstrip().endswith("$$")
    assert r"\begin{aligned}" in latex and r"\otimes" in latex


def test_repr_is_one_line_with_the_result() -> None:
    """repr(d) in a REPL was the dataclass's, every field of every step."""
    d = _rnn()
    shown = repr(d)
    assert "\n" not in shown and len(shown) < 200
    assert shown.startswith("<Derivation ∂h₁/∂vec(Wₕₓᵀ) = (e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)")
    assert shown.endswith(f"; denominator layout; {len(d.steps)} steps>")
    x, A = sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("A", 3, 3)
    assert "layout" not in repr(hessian(x.T * A * x, x))  # one form in both layouts
    assert repr(derive(sp.Trace(A), x)).endswith("; 1 step>")  # was "1 steps"


def test_latex_notation() -> None:
    latex = _rnn().to_latex()
    assert latex.startswith(r"\begin{align*}")
    for fragment in (r"\otimes", r"\circ", r"\operatorname{diag}", r"\operatorname{vec}"):
        assert fragment in latex
    assert r"\underbrace" in latex and r"n_{h} \times n_{h}" in latex
    Xt = derive(sp.MatrixSymbol("X", 2, 3).T, sp.MatrixSymbol("X", 2, 3)).to_latex()
    assert "K_{2,3}" in Xt


@pytest.mark.parametrize(
    ("name", "latex"),
    [
        ("hbar_1", r"\bar{h}_{1}"),  # not Planck's \hbar
        ("hdot_t", r"\dot{h}_{t}"),
        ("htilde_1", r"\tilde{h}_{1}"),
        ("abardot", r"\dot{\bar{a}}"),  # the tangent of ā: accents stack, innermost first
        ("abartilde", r"\tilde{\bar{a}}"),
        ("a1bar", r"\bar{a}_{1}"),  # the CLI's a1's adjoint: was \bar{a_{1}}
        ("nubar_3", r"\bar{\nu}_{3}"),
    ],
)
def test_generated_names_are_accented_letters_in_latex(name: str, latex: str) -> None:

    assert tex(sp.MatrixSymbol(name, 3, 1)) == latex


@pytest.mark.parametrize(
    ("name", "unicode"),
    [("nubar_3", "ν̄₃"), ("Sigmabardot", "Σ̄̇"), ("h1bar", "h̄1"), ("hbar_1", "h̄₁")],
)
def test_adjoints_of_greek_names_are_accented_greek_letters(name: str, unicode: str) -> None:
    """ν's adjoint printed nubar₃ in Unicode (\bar{\nu}_{3} in LaTeX); read back alike."""
    from matderiv.parse.latex import parse_latex
    from matderiv.parse.unicode import parse_unicode

    X = sp.MatrixSymbol(name, 3, 1)
    assert fmt(X) == unicode
    assert parse_unicode(fmt(X), {name: X}) == X
    assert parse_latex(tex(X), {name: X}) == X


@pytest.mark.parametrize(
    ("name", "latex"),
    [
        ("β̂", r"\hat{\beta}"),  # no single character: was \beta \text{U+0302}
        ("x̂", r"\hat{x}"),  # x + U+0302, as typed: was x\text{U+0302}
        ("θ̃", r"\tilde{\theta}"),
        (r"\hat{\beta}", r"\hat{\beta}"),  # written in LaTeX: kept (was \textbackslash{}...)
        (r"\mathbf{x}_{1}", r"\mathbf{x}_{1}"),
        (r"\mathbb{R}", r"\textbackslash{}mathbb\{R\}"),  # needs amssymb: escaped
        (r"\text{x_1}", r"\textbackslash{}text\{x_1\}"),  # _ in text mode: escaped
        (r"\hat{\beta", r"\textbackslash{}hat\{\textbackslash{}beta"),  # unbalanced
    ],
)
def test_accented_and_latex_written_names(name: str, latex: str) -> None:
    assert tex(sp.MatrixSymbol(name, 3, 1)) == latex


@pytest.mark.parametrize("name", ["β̂", "betahat", "x̂", "xhat"])
def test_hatted_names_read_back_from_both_notations(name: str) -> None:
    """β̂ printed \\hat{\\beta}, which verify read as an unknown betahat; its Unicode
    form had an "unexpected character" hat."""
    from matderiv import gradient, verify

    n = sp.Symbol("n", integer=True, positive=True)
    b, A = sp.MatrixSymbol(name, n, 1), sp.MatrixSymbol("A", n, n)
    d = gradient(b.T * A * b, b)
    assert "\u0302" in fmt(d.result) and r"\hat{" in tex(d.result)
    for text in (fmt(d.result), tex(d.result)):
        assert verify(text, b.T * A * b, b, "denominator"), text


def test_the_result_and_its_note_are_kept_on_one_page() -> None:
    """Every row ended in \\displaybreak[0], so the layout note could land alone on
    the next page (the README's RNN step, the Hessian of tr(XᵀAX))."""
    ex = rnn_step()
    block = derive(ex.expr, ex.wrt, "denominator", names=ex.names).to_latex()
    tail = block[block.index(r"\textbf{Result}") :]
    assert r"\displaybreak" not in tail and r"\\*" in tail, tail
    assert r"\displaybreak[0]" in block[: block.index(r"\textbf{Result}")]


def _compile(tex: str, directory: Path, name: str) -> Path:
    source = directory / f"{name}.tex"
    source.write_text(tex, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (directory / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0 and "\n! " not in log, log[-3000:]
    return directory / f"{name}.pdf"


COMPILED = [r for r in LINEAR + NONLINEAR][::8]


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
@pytest.mark.parametrize("spec", COMPILED, ids=lambda r: r.id)
def test_latex_compiles(spec, tmp_path: Path) -> None:
    expr, wrt, *_ = spec.build()
    for layout in ("numerator", "denominator"):
        _compile(derive(expr, wrt, layout).to_latex(standalone=True), tmp_path, layout)


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_names_sympy_prints_with_a_superscript_compile(tmp_path: Path) -> None:
    """a__b prints as a^{b}: its transpose must be {a^{b}}^{T}, not a double superscript."""
    n = sp.Symbol("n", integer=True, positive=True)
    x, A = sp.MatrixSymbol("a__b", n, 1), sp.MatrixSymbol("A", n, n)
    latex = derive(x.T * A * x, x).to_latex(standalone=True)
    assert "{a^{b}}^{T}" in latex and "a^{b}^{T}" not in latex
    _compile(latex, tmp_path, "superscript")


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_display_names_with_latex_special_characters_compile(tmp_path: Path) -> None:
    """Names are the user's text: # % & } and non-ASCII letters must not break the
    document (they did: pdflatex rejected it)."""
    n = sp.Symbol("n", integer=True, positive=True)
    A, x, c = (sp.MatrixSymbol(k, n, n if k == "A" else 1) for k in ("A", "x", "c"))
    h = (A * x).applyfunc(sp.tanh)
    names = {"h_t#1": h, "50%": A * x, "ĥ&α": c.T * h, "中}": h.applyfunc(sp.tanh)}
    f = c.T * h + c.T * h.applyfunc(sp.tanh)
    names["β̂"] = c.T * h.applyfunc(sp.tanh)  # an accent with no single character
    latex = gradient(f, x, names=names).to_latex(standalone=True, index=True)
    for fragment in (r"h_{t\#1}", r"50\%", r"\hat{h}", r"\alpha", r"\&", r"\hat{\beta}"):
        assert fragment in latex, fragment
    _compile(latex, tmp_path, "special")


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_the_latex_block_fits_a_portrait_article_page(tmp_path: Path) -> None:
    """Pasted into a plain article (no geometry, no \\allowdisplaybreaks), the RNN
    step's block ran 426 pt off the page (shape and rule columns) and, taller than a
    page, could not break: page 1 was blank.  Shapes and rules are now tags at the
    margin, and every row may break."""
    ex = rnn_step()
    block = derive(ex.expr, ex.wrt, "denominator", names=ex.names).to_latex()
    assert r"\tag*{" in block and r"\displaybreak[0]" in block
    document = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
    pdf = _compile(document + block + "\n\\end{document}\n", tmp_path, "portrait")
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\hbox" not in log, log[-2000:]
    assert "Overfull \\vbox" not in log, log[-2000:]  # a page break, not a blank page 1


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_long_sums_and_chain_products_break_across_rows(tmp_path: Path) -> None:
    """A six-step RNN program's gradient: its result (six terms) and the chain rule's
    six underbraced products ran 250 pt past a portrait page's margin; sums break
    between terms, products after five factors."""
    n, m = sp.symbols("n m", integer=True, positive=True)
    W, U, c = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, n), sp.MatrixSymbol("c", n, 1)
    where, prev = {}, sp.MatrixSymbol("h_0", n, 1)
    for t in range(1, 7):
        h = sp.MatrixSymbol(f"h_{t}", n, 1)
        where[h] = (W.T * sp.MatrixSymbol(f"x_{t}", m, 1) + U.T * prev).applyfunc(sp.tanh)
        prev = h
    block = gradient(sp.MatAdd(*(c.T * h for h in where)), W, where=where).to_latex()
    assert r"&\quad + x_{5}" in block, block[-1500:]  # a row begins with a term
    document = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
    pdf = _compile(document + block + "\n\\end{document}\n", tmp_path, "long")
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\hbox" not in log, log[-2000:]


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_a_long_standalone_title_breaks_between_terms(tmp_path: Path) -> None:
    """The document's first line, the result in one $...$, ran 308 pt past the margin
    for a four-step RNN written as one tree (no where=)."""
    import re

    n, m = sp.symbols("n m", integer=True, positive=True)
    W, U = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, n)
    c, h = sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("h_0", n, 1)
    terms = []
    for t in range(1, 5):
        h = (W.T * sp.MatrixSymbol(f"x_{t}", m, 1) + U.T * h).applyfunc(sp.tanh)
        terms.append(c.T * h)
    latex = gradient(sp.MatAdd(*terms), W).to_latex(standalone=True)
    head = latex[latex.index(r"\begin{document}") :]
    assert head.startswith("\\begin{document}\n\\begin{align*}"), head[:200]
    log = _compile(latex, tmp_path, "title").with_suffix(".log").read_text(errors="replace")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide", log)]
    assert max(widths, default=0.0) < 20, widths


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_names_written_as_latex_subscripts_keep_their_braces(tmp_path: Path) -> None:
    r"""h_{t} and x_{t-1}, as LaTeX users name symbols, printed h_\{t\} (shown h{t})."""
    n = sp.Symbol("n", integer=True, positive=True)
    h, x, A = (
        sp.MatrixSymbol("h_{t}", n, 1),
        sp.MatrixSymbol("x_{t-1}", n, 1),
        sp.MatrixSymbol("A", n, n),
    )
    latex = gradient(h.T * A * x, h).to_latex(standalone=True)
    assert "h_{t}" in latex and "x_{t-1}" in latex and r"\{" not in latex
    assert tex(sp.MatrixSymbol("x_{i}_{j}", n, 1)).count(r"\{") == 2  # two subscripts: escaped
    _compile(latex, tmp_path, "braces")


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_second_order_latex_compiles_with_its_labels(tmp_path: Path) -> None:
    """∂²f/∂x∂xᵀ printed its ² and ∂ as code points (\\text{U+00B2}), and the closing
    note described the Jacobian of g instead of the Hessian."""
    from matderiv import hessian, hvp

    n, m = sp.symbols("n m", integer=True, positive=True)
    X, A = sp.MatrixSymbol("X", n, m), sp.MatrixSymbol("A", n, n)
    a, h = sp.MatrixSymbol("a", m, 1), sp.MatrixSymbol("h", m, 1)
    c, e = sp.MatrixSymbol("c", m, 1), sp.MatrixSymbol("e", n, 1)
    where = {a: X.T * e, h: a.applyfunc(sp.tanh)}
    cases = {
        "hessian": hessian(sp.Trace(X.T * A * X), X),
        "hvp": hvp(sp.Trace(X.T * A * X), X),
        "program_hvp": hvp(c.T * h, X, where=where),
    }
    for name, d in cases.items():
        latex = d.to_latex(standalone=True, index=True)
        assert "U+" not in latex, name
        label = r"\partial^{2} f" if d.mode == "hessian" else r"H\,\operatorname{vec}"
        assert label in latex and "the Hessian" in latex, name
        _compile(latex, tmp_path, name)
    assert r"\tilde{a}" in cases["program_hvp"].to_latex()  # ã = ∂p/∂a


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_norms_diagonals_and_sigmoids_compile(tmp_path: Path) -> None:
    """‖·‖ (\\left\\lVert ... \\right\\rVert), diag(X) and σ(·) in a standalone document."""
    from matderiv import diag, hessian, norm
    from matderiv.parse.expr_grammar import ELEMENTWISE

    m, n = sp.symbols("m n", integer=True, positive=True)
    A, X = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("X", n, n)
    x, b, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("y", n, 1)
    cases = {
        "norm": gradient(norm(A * x - b), x),
        "frobenius": hessian(norm(X) ** 3, X),
        "diagonal": derive(norm(diag(X) - y) ** 2, X),
        "sigmoid": hessian(sp.OneMatrix(1, m) * (A * x).applyfunc(ELEMENTWISE["sigmoid"]()), x),
    }
    for name, d in cases.items():
        latex = d.to_latex(standalone=True, index=True)
        assert r"\lVert" in latex or r"\operatorname{diag}" in latex or r"\sigma" in latex
        _compile(latex, tmp_path, name)


def test_enough_derivations_are_compiled() -> None:
    assert len(COMPILED) >= 10


@pytest.mark.skipif(not HAS_TEX or not shutil.which("pdftoppm"), reason="needs TeX, pdftoppm")
def test_rnn_latex_renders_to_png(tmp_path: Path) -> None:
    ex = rnn_loss()
    d = gradient(ex.expr, ex.wrt, names=ex.names)
    pdf = _compile(d.to_latex(standalone=True, index=True), tmp_path, "rnn")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, tmp_path / "rnn"],
        check=True,
        timeout=120,
    )
    png = next(tmp_path.glob("rnn*.png"))
    assert png.stat().st_size > 10_000


def test_index_notation_of_the_rnn_loss() -> None:
    ex = rnn_loss()
    d = gradient(ex.expr, ex.wrt, names=ex.names)
    lines = index_lines(d)
    n_h, n_i = sorted(ex.dims, key=str)
    i, j = sp.symbols("i j", integer=True, nonnegative=True)
    e1, h1 = sp.MatrixSymbol("e_1", n_i, 1), sp.MatrixSymbol("h_1", n_h, 1)
    c = sp.MatrixSymbol("c", n_h, 1)
    (result,) = [line for line in lines if line.kind == "result"]
    assert sp.expand(result.rhs - e1[i, 0] * (1 - h1[j, 0] ** 2) * c[j, 0]) == 0
    via_h = next(line for line in lines if line.via == "h_1")
    g = sp.MatrixSymbol("∂L/∂h_1", n_h, 1)
    assert sp.expand(via_h.rhs - e1[i, 0] * (1 - h1[j, 0] ** 2) * g[j, 0]) == 0
    text = d.to_index_notation()
    assert "∂L/∂Wₕₓ[i,j] = (1 - h₁[j]²)·e₁[i]·(∂L/∂h₁)[j]" in text


def test_index_notation_of_a_jacobian() -> None:
    d = _rnn()
    (result,) = [line for line in index_lines(d) if line.kind == "result"]
    a, j = (sp.Symbol(s, integer=True, nonnegative=True) for s in "aj")
    deltas = [set(delta.args[:2]) for delta in result.rhs.atoms(sp.KroneckerDelta)]
    assert deltas == [{a, j}]


def test_output_is_deterministic_across_hash_seeds() -> None:
    script = (
        "from matderiv.examples import rnn_loss, rnn_step\n"
        "from matderiv import derive\n"
        "for ex in (rnn_step(), rnn_loss()):\n"
        "    d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)\n"
        "    print(d); print(d.to_latex()); print(d.to_index_notation())\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_powers_of_kinked_functions_print_in_latex() -> None:
    """relu(u)³ crashed to_latex: SymPy's power printer hands a function its exponent
    as exp=, which matderiv's relu/step/σ printers did not take."""
    from matderiv.render.grouping import ScalarSigmoid

    u = sp.Symbol("u")
    assert tex(sp.Max(0, u) ** 3) == r"\operatorname{relu}\left(u\right)^{3}"
    assert tex(sp.Heaviside(u) ** 2) == r"\operatorname{step}\left(u\right)^{2}"
    assert tex(ScalarSigmoid(u) ** 2) == r"\sigma\left(u\right)^{2}"
    assert tex(sp.Max(u, 2 * u) ** 2) == r"\max\left(u, 2 u\right)^{2}"
    Xn = sp.MatrixSymbol("X", 3, 3)
    d = derive(sp.Max(0, sp.Trace(sp.MatrixSymbol("A", 3, 3) * Xn)) ** 3, Xn)
    assert r"\operatorname{relu}\left(\operatorname{tr}" in d.to_latex()


def test_an_entrywise_functions_variable_is_not_named_like_an_input() -> None:
    """The forward pass printed Y := (x ↦ x·(erf(x) + 1))∘(x) for an input x: the
    variable matderiv gives every entrywise function was named x."""
    s = sp.Symbol("s")
    x = sp.MatrixSymbol("x", 3, 1)
    printed = str(derive(x.applyfunc(sp.Lambda(s, s * (sp.erf(s) + 1))), x))
    assert "x ↦" not in printed and "(t ↦ t·(erf(t) + 1))∘(x)" in printed


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_hessians_and_long_index_lines_fit_a_portrait_article_page(tmp_path: Path) -> None:
    """The Hessian's note repeated its label (87 pt past the margin), a second-order
    part's heading ran 50 pt past it, and a softmax layer's index line 100 pt."""
    from matderiv import softmax

    n, k = sp.symbols("n k", integer=True, positive=True)
    X = sp.MatrixSymbol("X", n, n)
    W, x, y = sp.MatrixSymbol("W", n, k), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", k, 1)
    blocks = [
        hessian(sp.log(sp.Determinant(X)), X).to_latex(index=True),
        gradient(-y.T * softmax(W.T * x).applyfunc(sp.log), W).to_latex(index=True),
    ]
    document = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
    pdf = _compile(document + "\n".join(blocks) + "\n\\end{document}\n", tmp_path, "second")
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\hbox" not in log, log[-2000:]


def test_a_chain_step_that_restates_its_one_factor_shows_its_value_only() -> None:
    """∂vec(Wᵀ)/∂vec(W) = ∂vec(Wᵀ)/∂vec(W) = K printed the same label twice."""
    from matderiv.render.rows import restates, rows
    from matderiv.render.tex_labels import tex_label
    from matderiv.render.unicode import label

    ex = rnn_step()
    d = derive(ex.expr, ex.wrt, "denominator", names=ex.names)
    chains = [s for s in d.steps if s.kind == "chain"]
    restating = [s for s in chains if restates(s)]
    assert restating and len(restating) < len(chains)
    shown = {r.lhs: r.formula for r in rows(d) if r.kind == "chain"}
    for step in restating:
        formula = shown[label(step.lhs)]
        assert formula[0].startswith("= ") and label(step.lhs) not in " ".join(formula)
    latex = d.to_latex()
    for step in restating:
        written = tex_label(step.lhs)
        assert f"{written} &= \\underbrace{{{written}}}" not in latex
        assert f"{written} &= " in latex


def test_exp_is_a_word_when_a_symbol_is_called_e() -> None:
    """eᵀ exp(W x): the LaTeX read W^{T} (e^{W x} ∘ e), the vector e and e to the W x
    alike, and did not read back ("unsupported superscript ^{W x}").  With a symbol
    called e every exp of the derivation (its steps too) prints \\exp."""
    from matderiv import verify
    from matderiv.render.json_view import derivation_json

    m, n = sp.symbols("m n", integer=True, positive=True)
    e, W = sp.MatrixSymbol("e", m, 1), sp.MatrixSymbol("W", m, n)
    x = sp.MatrixSymbol("x", n, 1)
    f = e.T * (W * x).applyfunc(sp.exp)
    d = derive(f, x, "denominator")
    latex = d.to_latex()
    powers_of_e = [k for k in range(len(latex)) if latex.startswith("e^{", k)]
    assert all(latex.startswith("e^{T}", k) for k in powers_of_e), latex  # eᵀ only
    assert r"\exp\left(v_{1}\right)" in latex, latex
    result = derivation_json(d)["result_latex"]
    assert result == tex(d.result) and r"\exp" in result
    assert verify(result, f, x, "denominator")
    # without a symbol e, exp stays e^{...}
    assert "e^{" in derive(W.T * (W * x).applyfunc(sp.exp), x).to_latex()


def test_the_sigmoid_is_a_word_beside_a_symbol_sigma() -> None:
    """σ (b + x) + σ(b + x): a scalar called sigma and the sigmoid printed alike in
    LaTeX (the terminal writes the symbol sigma); beside one, the sigmoid prints by
    its name, and the result reads back."""
    from matderiv import gradient, verify

    n = sp.Symbol("n", integer=True, positive=True)
    x, b = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    sigma = sp.Symbol("sigma")
    u = x + b
    sig = u.applyfunc(sp.Lambda(sp.Symbol("t"), 1 / (1 + sp.exp(-sp.Symbol("t")))))
    f = sigma * (u.T * u) / 2 + sp.OneMatrix(1, n) * sig
    d = gradient(f, x)
    result = tex(d.result)
    assert r"\operatorname{sigmoid}" in result and r"\sigma" in result, result
    assert r"\operatorname{sigmoid}" in d.to_latex()
    assert verify(result, f, x, "denominator")
    assert r"\sigma\left(" in tex(sig)  # alone, σ(u)


def test_latex_shows_where_a_chain_value_is_reshaped() -> None:
    """The terminal writes = (n × 1) → (1 × n) where a chain step's product is shaped
    like its variable (∂f/∂xᵀ from ∂f/∂vec(xᵀ)); the LaTeX tagged the value with the
    new shape only, so the row equated an n x 1 product with a 1 x n row."""
    n = sp.Symbol("n", integer=True, positive=True)
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    latex = gradient(x.T * A * x, x).to_latex()
    row = next(line for line in latex.splitlines() if r"&= x^{T} A^{T}" in line)
    assert r"\tag*{$n \times 1 \to 1 \times n$\;\; \text{reshaped}}" in row, row
    a = sp.MatrixSymbol("a", n, 1)
    plain = gradient(a.T * x.applyfunc(sp.tanh), x).to_latex()  # no reshaping: no arrow
    assert r"\to" not in plain and "reshaped" not in plain, plain


def test_a_differential_is_spaced_from_the_factor_before_it() -> None:
    """from df = dxᵀ A x + xᵀ A dx typeset as ...x^{T} A dx, which TeX sets as the product
    A·d·x ("Adx"); the d is spaced as an operator."""
    n = sp.Symbol("n", integer=True, positive=True)
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    line = next(s for s in gradient(x.T * A * x, x).to_latex().splitlines() if "from" in s)
    assert r"x^{T} A \mathop{}\!dx" in line and r"\mathop{}\!df = " in line, line


def test_latex_says_what_a_generated_adjoint_or_tangent_is() -> None:
    """The terminal notes h̄₂ := ... as [adjoint ∂f/∂h₂]; the LaTeX tagged only the shape,
    so nothing said that h̄ is ∂f/∂h (the note, in Unicode, would not typeset either)."""
    n, m = sp.symbols("n m", integer=True, positive=True)
    W, U, c = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, n), sp.MatrixSymbol("c", n, 1)
    where, prev = {}, sp.MatrixSymbol("h_0", n, 1)
    for t in (1, 2):
        h = sp.MatrixSymbol(f"h_{t}", n, 1)
        where[h] = (W.T * sp.MatrixSymbol(f"x_{t}", m, 1) + U.T * prev).applyfunc(sp.tanh)
        prev = h
    d = gradient(sp.MatAdd(*(c.T * h for h in where)), W, where=where)
    latex = d.to_latex()
    row = next(line for line in latex.splitlines() if line.startswith(r"\bar{h}_{1} &:="))
    assert r"\text{adjoint } \frac{\partial f}{\partial h_{1}}" in row, row
    assert "[adjoint ∂f/∂h₁]" in str(d)
    tangent = derive(sp.MatrixSymbol("h_2", n, 1), W, "numerator", where=where).to_latex()
    row = next(line for line in tangent.splitlines() if line.startswith(r"\dot{h}_{1} &:="))
    assert r"\text{tangent } \frac{\partial \operatorname{vec}\left(h_{1}\right)}" in row, row


def test_a_transpose_is_top_beside_a_matrix_called_t() -> None:
    """A matrix T printed T^{T} for its transpose; beside one, transposes are ^{\\top},
    and the result reads back."""
    from matderiv import verify

    n = sp.Symbol("n", integer=True, positive=True)
    T, x = sp.MatrixSymbol("T", n, n), sp.MatrixSymbol("x", n, 1)
    f = x.T * T.T * T.I * x
    d = derive(f, x, "denominator")
    latex = d.to_latex()
    assert r"T^{\top}" in latex and "^{T}" not in latex and "^{-T}" not in latex, latex
    assert verify(tex(d.result), f, x, "denominator")
    assert tex(x.T * x) == "x^{T} x"  # without a T, as before


def test_powers_of_raised_and_scalar_product_bases_read_back() -> None:
    """(e^x)^∘s printed e^{x}^{\\circ s}, a double superscript pdflatex rejects; x^∘(wᵀx)
    printed x^∘wᵀ x in Unicode, which read back as x^∘w times x.  A LaTeX "with" clause
    of two subscripted names (v_{5} = ..., \\; v_{2} = ...) read as one."""
    from matderiv import jacobian, softmax, verify
    from matderiv.render.unicode import fmt

    n = sp.Symbol("n", integer=True, positive=True)
    x, w, c, q = (sp.MatrixSymbol(k, n, 1) for k in "xwcq")
    s = sp.Symbol("s")
    raised = sp.HadamardPower(x.applyfunc(sp.exp), s)
    assert tex(raised) == r"\left(e^{x}\right)^{\circ s}"
    d = derive(c.T * raised, s)
    assert verify(tex(d.result), d.of, s)
    d = gradient(c.T * sp.HadamardPower(x, (w.T * x)[0, 0]), w)
    assert "x^∘(wᵀ x)" in fmt(d.result) and verify(fmt(d.result), d.of, w, "denominator")
    K, L = sp.MatrixSymbol("K", n, n), sp.MatrixSymbol("L", n, n)
    g = K.T * softmax(K * q) + L.T * softmax(L * q)
    latex = jacobian(g, q).to_latex(standalone=True)
    title = standalone_title(latex)
    assert r"\; v_{2}" in title or r"\; v_{5}" in title, title
    assert verify(title, g, q)


def test_a_wrapped_shape_keeps_each_formula_line_beside_its_own_shape() -> None:
    """At 80 columns (nₕ·nᵢ×nₕ) (nₕ×nₕ) wrapped, and its second factor's shape stood
    beside the product's value, = I ⊗ e₁, which read as that value's shape."""
    text = _rich_text(_rnn(), 80)
    values = [line for line in text.splitlines() if "= I_{nₕ} ⊗ e₁" in line]
    assert values, text
    assert all("= (nₕ·nᵢ×nₕ)" in line for line in values), values


def test_a_narrow_terminal_lists_the_steps_with_names_and_shapes_whole() -> None:
    """At 40 columns the table left 6 cells to a formula and 3 to its shape: names and
    shapes were cut mid-way (I / _n), the header read formul/a.  Steps are listed."""
    text = _rich_text(_rnn(), 40)
    lines = [line.strip() for line in text.splitlines()]
    assert "∂vec(Wₕₓᵀ)/∂vec(Wₕₓ) [transpose]" in lines, text
    assert any(line.startswith("= e₁ ⊗ I_{nₕ}") and "(nₕ·nᵢ × nₕ)" in line for line in lines)
    assert "formul" not in text and max(len(line) for line in text.splitlines()) <= 40
