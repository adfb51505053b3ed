"""Long LaTeX formulas broken across rows (``render/tex_breaks.py``).

A product that is not a sum at its top (a network's Jacobian: U diag(1 - tanh(...) ∘
tanh(...)) V diag(...) (xᵀ ⊗ I)) was written on one row and ran up to 210 pt past a
portrait page's margin.  Every row must still be valid LaTeX on its own, and the rows
joined must read back (parse_latex) to the same values.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, note
from hypothesis import strategies as st
from random_trees import DIMS as POOL
from random_trees import SIZES as TREE_SIZES
from random_trees import VARIABLES, budget, expressions
from test_parse_latex import _reads_back
from test_render import HAS_TEX, _compile

from matderiv import derive, gradient, hessian, jacobian, verify
from matderiv.render.tex_breaks import ROW_WIDTH, break_rows, width
from matderiv.render.tex_printer import tex
from matderiv.testing import random_values

n = sp.Symbol("n", integer=True, positive=True)
W, V, U = (sp.MatrixSymbol(s, n, n) for s in "WVU")
x, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", n, 1)
ROW_BREAK = " \\\\\n&\\quad "


def _network() -> sp.MatrixExpr:
    return U * (V * (W * x).applyfunc(sp.tanh)).applyfunc(sp.tanh)


def _balanced(row: str) -> bool:
    lefts = len(re.findall(r"\\left(?![a-zA-Z])", row))
    rights = len(re.findall(r"\\right(?![a-zA-Z])", row))
    depth = 0
    for char in row.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return lefts == rights and depth == 0


def test_a_long_argument_breaks_inside_its_parentheses() -> None:
    """tanh of a long sum, one piece at the top: broken inside its parentheses, each
    row balanced (\\right. and \\left. where the pair is broken), none wider than a row."""
    long = U * V * W * U * V * W * x + W * U * V * W * U * V * x + V * W * U * V * W * U * x
    text = tex((long + U * U * W * W * x).applyfunc(sp.tanh))
    assert width(text) > ROW_WIDTH  # long enough to need breaking
    rows = break_rows(text)
    assert len(rows) >= 2
    assert all(_balanced(row) for row in rows), rows
    assert all(width(row) <= ROW_WIDTH for row in rows), [width(r) for r in rows]
    assert rows[0].endswith(r"\right.") and rows[-1].startswith(r"\left."), rows
    assert all(row.startswith(r"\left.+ ") for row in rows[1:]), rows  # between terms


def test_a_product_breaks_between_its_factors() -> None:
    """U diag(1 - tanh(V tanh(W x)) ∘ ...) V diag(...) (xᵀ ⊗ I), a network's Jacobian:
    broken between factors at the top, not inside a diag."""
    rows = break_rows(tex(jacobian(_network(), W).result))
    assert len(rows) >= 2
    assert all(_balanced(row) and not row.startswith(r"\left.") for row in rows), rows


def test_terms_are_broken_before_factors() -> None:
    """A sum whose terms fit a row each breaks between terms, at the top level: each
    row after the first starts with the sign of its term."""
    terms = [
        sp.MatMul(W, sp.HadamardProduct(V * x, (U * x).applyfunc(sp.tanh))) for _ in range(1)
    ] + [U * V * W * x, V * W * U * x, W * U * V * x, U * U * V * V * x, W * W * V * x]
    text = tex(sp.MatAdd(*terms))
    rows = break_rows(text, room=30)
    assert len(rows) >= 2
    assert all(row.startswith(("+ ", "- ")) for row in rows[1:]), rows


def test_a_brace_group_with_a_script_is_not_broken() -> None:
    r"""{...}^{T}: dropping its braces would move the transpose; it is kept whole."""
    text = r"A {B C D E F G H I J K L M N O P}^{T} Q R"
    rows = break_rows(text, room=6)
    assert any(r"{B C D E F G H I J K L M N O P}^{T}" in row for row in rows), rows


def test_a_short_formula_is_one_row() -> None:
    text = tex(W * x + V * y)
    assert break_rows(text) == [text]


@budget(150)
@given(st.data())
def test_broken_rows_read_back(data) -> None:
    """tex() of random expressions, broken into rows of 12 letters (many breaks at
    every depth) and joined as an align* writes them, parses back to the same values;
    every row is balanced."""
    var = data.draw(st.sampled_from(VARIABLES))
    shape = (data.draw(st.sampled_from(POOL)), data.draw(st.sampled_from(POOL)))
    expr = data.draw(expressions(shape, var, 4))
    rows = break_rows(tex(expr), room=12.0)
    note(rows)
    assert all(_balanced(row) for row in rows)
    values = random_values(expr, TREE_SIZES, np.random.default_rng(0))
    _reads_back(ROW_BREAK.join(rows), expr, expr, {**values, **TREE_SIZES})


def test_a_broken_result_pasted_back_is_verified() -> None:
    """A result broken inside parentheses, pasted from an align* into verify, is read as
    the one formula (the \\right. \\left. pairs at the row breaks are dropped)."""
    long = U * V * W * U * V * W * x + W * U * V * W * U * V * x + V * W * U * V * W * U * x
    f = (long + U * U * W * W * x).applyfunc(sp.tanh)
    d = derive(f, x, "numerator")
    rows = break_rows(tex(d.result))
    pasted = "\\begin{align*}\n\\frac{\\partial f}{\\partial x} &= " + ROW_BREAK.join(rows)
    pasted += " \\tag*{$n \\times n$}\n\\end{align*}"
    assert r"\right." in pasted, pasted  # broken inside parentheses
    assert verify(pasted, f, x, "numerator")
    wrong = pasted.replace(r"W U V W U V\right)", r"W U V W V U\right)")
    assert wrong != pasted and not verify(wrong, f, x, "numerator")


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
@pytest.mark.parametrize(
    "derivation",
    [
        lambda: jacobian(_network(), W),  # 151 pt past the margin before
        lambda: jacobian(
            (U * (V.T * W * U * x).applyfunc(sp.tanh) + W * x).applyfunc(sp.exp), W
        ),  # 84 pt
        lambda: hessian(
            sp.OneMatrix(1, n) * (V * (W * x).applyfunc(sp.tanh)).applyfunc(sp.exp), x
        ),
        lambda: jacobian(
            sp.HadamardProduct(
                W * x,
                (V * W * U * W * x).applyfunc(sp.tanh),
                (U.T * V.T * W.T * y).applyfunc(sp.exp),
            ),
            W,
        ),  # 213 pt, the longest a differential ("from dZ = ...") and index notation
        lambda: gradient(
            (y - U * (V * (W * x).applyfunc(sp.tanh)).applyfunc(sp.tanh)).T
            * (y - U * (V * (W * x).applyfunc(sp.tanh)).applyfunc(sp.tanh)),
            W,
        ),  # 46 pt
    ],
    ids=["mlp-jacobian", "exp-jacobian", "hessian", "hadamard-differential", "mlp-loss"],
)
def test_network_derivations_fit_a_portrait_page(derivation, tmp_path: Path) -> None:
    document = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
    block = derivation().to_latex(index=True)
    pdf = _compile(document + block + "\n\\end{document}\n", tmp_path, "network")
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\hbox" not in log, log[-2000:]


@pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex (CI installs texlive)")
def test_chain_products_and_the_layout_note_fit_a_portrait_page(tmp_path: Path) -> None:
    """A tester's case: the chain rule's two products of wide underbraced factors and
    the note "numerator layout: the transposed gradient of f, shaped like xᵀ" ran 20-26
    pt past the margin (products were broken after five factors, whatever their width;
    the note was one row)."""
    m = sp.Symbol("m", integer=True, positive=True)
    a, b = sp.MatrixSymbol("A_1m", 1, m), sp.MatrixSymbol("B_1m", 1, m)
    A, S, c = (
        sp.MatrixSymbol("A_mn", m, n),
        sp.MatrixSymbol("S_m", m, m),
        sp.MatrixSymbol("B_m1", m, 1),
    )
    inner = sp.Rational(1, 10) * A * x * b * b.T * x.T * A.T + S
    d = derive(a * inner**-1 * c, x, "numerator")
    document = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
    pdf = _compile(document + d.to_latex(index=True) + "\n\\end{document}\n", tmp_path, "r59")
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\hbox" not in log, log[-2000:]


def test_a_long_fraction_over_a_number_is_broken_as_its_product() -> None:
    r"""\frac{long product}{10}, one piece no break could enter, ran 700 pt past the
    margin in a Hessian: written \frac{1}{10} (...) and broken inside; it reads back."""
    product = W * V * U * W * V * U * W * V * U * W * V * U * x
    text = tex(sp.Rational(1, 10) * product)
    assert text.startswith(r"\frac{") and "{10}" in text, text
    rows = break_rows(text, room=20.0)
    assert len(rows) >= 2 and rows[0].startswith(r"\frac{1}{10}"), rows
    assert all(_balanced(row) for row in rows)
    table = {"W": W, "V": V, "U": U, "x": x}
    from matderiv.parse.latex import parse_latex

    assert parse_latex(ROW_BREAK.join(rows), table) == sp.Rational(1, 10) * product
