"""LaTeX rendering of a Derivation: an amsmath ``align*`` block, one line per step.

The formulas come from ``tex_printer`` (what papers write: X^{T}, A \\otimes B,
\\operatorname{vec}, ...).  Everything printed is plain amsmath, so the output
compiles with pdflatex as it is.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..shapes import shape_of
from .headline import Headline, written_result
from .rows import phase_names, phases, restates
from .tex_breaks import ROW_WIDTH, break_rows, fits, width
from .tex_labels import name_tex, tex_label
from .tex_printer import symbols_of, tex, tex_shape
from .text import splits_indices
from .unicode_names import label

_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
\begin{document}
"""

_FROM_ZERO = r"& \text{(indices count from 0: }a = n \lfloor a/n \rfloor + (a \bmod n)\text{)}"

_SECTIONS = {
    "define": "Forward pass: named intermediates",
    "local": "Local derivatives",
    "chain": "Chain rule",
    "program": "Program: named adjoints and tangents",
    "simplify": "Simplifications",
    "result": "Result",
}


def _note(d: Any) -> str:
    if d.mode == "hessian":
        return (  # the row above shows the label: with it, 87 pt past a portrait page
            rf"\text{{the Hessian: the Jacobian of }} \nabla f\text{{, symmetric}} \quad "
            rf"({tex_shape(d.shape)})"
        )
    if d.mode == "hvp":
        return (
            rf"\text{{the Hessian-vector product }} {tex_label(d.steps[-1].lhs)}"
            rf"\text{{, shaped like }} {tex(d.wrt)} \quad ({tex_shape(d.shape)})"
        )
    note = d.layout_note
    shape = tex_shape(note.shape)
    symmetric = ", ".join(tex(M) for M in note.symmetric)
    tail = (r" \\*" + "\n" + rf"& {symmetric} \text{{ symmetric}}") if symmetric else ""
    if note.kind == "gradient":
        what = "gradient" if note.layout == "denominator" else "transposed gradient"
        head = rf"\text{{{note.layout} layout: the {what} of }} {tex(note.of)}"
        like = rf"shaped like }} {tex(note.like)} \quad ({shape}){tail}"
        if not note.among_symmetric and fits(rf"{head}\text{{, {like}", ROW_WIDTH - 4):
            return rf"{head}\text{{, {like}"
        # on two rows where one does not fit (among symmetric matrices it ran 40 pt past
        # a portrait page; a numerator layout's "transposed gradient" 20 pt)
        among = r" among symmetric matrices" if note.among_symmetric else ""
        return rf"{head}\text{{{among},}} \\*" + "\n" + rf"& \text{{{like}"
    vec_note = r"\text{ (vec stacks columns)}" if note.uses_vec else ""
    return (  # two rows: one would be wider than a portrait page
        rf"\text{{{note.layout} layout: rows index }} {tex(note.rows)}\text{{,}} \\*"
        "\n"
        rf"& \text{{columns index }} {tex(note.cols)}{vec_note} \quad ({shape}){tail}"
    )


def _aside(shape: Any, rule: str, tags: bool) -> str:
    """A row's shape and rule: a tag at the right margin (align*: amsmath sets it on a
    line of its own when the formula leaves no room, so a portrait page holds the
    block), or two more aligned columns (Jupyter's ``aligned``, which has no tags)."""
    shown = shape if isinstance(shape, str) else tex_shape(shape)
    if tags:
        text = rf"\;\; \text{{{rule}}}" if rule else ""
        return rf"\tag*{{${shown}${text}}}"
    return rf"&& {shown}" + (rf" && \text{{{rule}}}" if rule else "")


def _value_aside(step: Any, rule: str, tags: bool) -> str:
    """A chain step's value's shape; reshaped from the product's, as the terminal's
    → (1 × n): ∂f/∂xᵀ is the n x 1 product ∂f/∂vec(xᵀ) shaped like xᵀ."""
    if step.shape == step.product_shape:
        return _aside(step.shape, rule, tags)
    moved = rf"{tex_shape(step.product_shape)} \to {tex_shape(step.shape)}"
    return _aside(moved, ", ".join(r for r in (rule, "reshaped") if r), tags)


def _factor(factor: Any) -> str:
    return rf"\underbrace{{{tex_label(factor.label)}}}_{{{tex_shape(factor.shape)}}}"


def _lines(step: Any, tags: bool) -> list[str]:
    shape = _aside(step.shape, "", tags)
    ruled = _aside(step.shape, step.rule, tags)
    if step.kind == "program" and " ∂" in step.note:  # h̄₂ := ... : adjoint ∂f/∂h_2
        word, label = step.note.split(" ", 1)
        meaning = rf"\text{{{word} }} {tex_label(label.replace('∂ ', '∂'))}"
        aside = (
            rf"\tag*{{${tex_shape(step.shape)}$\;\; ${meaning}$}}"
            if tags
            else rf"&& {tex_shape(step.shape)} && {meaning}"
        )
        return _broken(rf"{tex(sp.Symbol(step.lhs))} &:= ", step.expr, aside)
    if step.kind in ("define", "program"):
        return _broken(rf"{tex(sp.Symbol(step.lhs))} &:= ", step.expr, shape)
    if step.kind == "local":
        lines = _broken(rf"{tex_label(step.lhs)} &= ", step.expr, ruled)
        if step.shown_differential is not None:
            d_node, differential = step.shown_differential
            text = f"{tex(d_node)} = {tex(differential)}"
            lines += _rows(r"& \qquad \text{from } ", text, "", ROW_WIDTH - 7, r"& \qquad\quad ")
        return lines
    if step.kind == "chain" and restates(step):  # ∂y/∂x = ∂y/∂x = K: the value only
        aside = _value_aside(step, step.rule, tags)
        return _broken(rf"{tex_label(step.lhs)} &= ", step.expr, aside)
    if step.kind == "chain":
        product_aside = _aside(step.product_shape, step.rule, tags)
        return [
            *_chain_products(rf"{tex_label(step.lhs)} &= ", step.factors, product_aside),
            *_broken("&= ", step.expr, _value_aside(step, "", tags)),
        ]
    if step.kind == "simplify":  # both on the right: a long left side widens every row
        return [*_broken("& ", step.before, ""), *_broken(r"&\Rightarrow ", step.expr, ruled)]
    return _broken(rf"{tex_label(step.lhs)} &= ", step.expr, shape)


def _broken(first: str, expr: Any, aside: str) -> list[str]:
    """``first`` ("lhs &= ") and ``expr``, then ``aside``: on one row, or a long formula
    over several (``tex_breaks``: between terms first, each row after the first
    starting with its sign), so that the block fits a portrait page (the RNN's
    gradient ran 250 pt past its margin, a network's product of diag(·) 150 pt)."""
    return _rows(first, tex(expr), aside)


def _rows(
    first: str, text: str, aside: str, room: float = ROW_WIDTH, more: str = r"&\quad "
) -> list[str]:
    """``text`` broken into rows of ``room``: the first after ``first``, the others after
    ``more``, ``aside`` (a tag) at the end of the last."""
    rows = break_rows(text, room)
    lines = [first + rows[0], *(more + row for row in rows[1:])]
    lines[-1] = f"{lines[-1]} {aside}".rstrip()
    return lines


def _chain_products(first: str, factors: Any, aside: str) -> list[str]:
    """The chain rule's sum of products of underbraced factors, broken as a formula is
    (two products of wide factors, ∂vec(v₁₁)/∂vec(v₇), ran 250 pt past the margin)."""
    text = " + ".join(" ".join(_factor(f) for f in term) for term in factors)
    return _rows(first, text, aside)


def render_latex(
    d: Any, standalone: bool = False, display: str = "", index: list[Any] | None = None
) -> str:
    """The derivation as ``align*`` (or ``aligned`` inside ``display`` delimiters).

    ``index``: lines of index notation (``index_form.index_lines``) to append.
    """
    with symbols_of(d.of, *d.definitions, *d.definitions.values()):
        return _render_latex(d, standalone, display, index)


def _render_latex(d: Any, standalone: bool, display: str, index: list[Any] | None) -> str:
    written = written_result(d)  # the result without the intermediates: title, last line
    lines = []
    kind = None
    parts = phases(d)
    for k, step in enumerate(d.steps):
        if k in parts:
            # "Second derivative, the Hessian:" on a row of its own, what it is on the
            # next: one row ran 50 pt past a portrait page's margin
            title, colon, rest = _tex_text(parts[k], d).partition(": ")
            lines.append(rf"& \textbf{{{title[0].upper()}{title[1:]}{colon.strip()}}}")
            lines.extend([rf"& \textbf{{{rest[0].upper()}{rest[1:]}}}"] if rest else [])
            kind = None
        if step.kind != kind:
            kind = step.kind
            lines.append(rf"& \textbf{{{_SECTIONS[kind]}}}")
        lines.extend(_lines(step, tags=not display))
    if written.expr != d.steps[-1].expr:  # the result again without the intermediates
        named = _named(written)
        lines.extend(_broken("&= ", written.expr, ""))
        lines.extend(_names_rows(named))
    elif written.where:  # the result as it is, with what its f is: 2 f x, with f = ...
        lines.extend(_names_rows(_named(written)))
    lines.append(rf"& {_note(d)}")
    last = len(lines) - 1  # the note: kept on the page of the result before it
    title = rf"& \textbf{{{_SECTIONS['result']}}}"
    first = max((k for k, line in enumerate(lines) if line == title), default=last)
    if index:
        lines.append(r"& \textbf{Index notation}")
        lines.extend([_FROM_ZERO] if splits_indices(index) else [])
        for line in index:
            lines.extend(_index_rows(line))
    env = "aligned" if display else "align*"
    # align* may break across pages at any row (\displaybreak[0] permits it without
    # \allowdisplaybreaks in the preamble); Jupyter's aligned is one box
    newline = " \\\\\n" if display else " \\displaybreak[0] \\\\\n"
    kept = " \\\\*\n"  # no page break inside the result and its note (\\* forbids one)
    ends = [kept if not display and first <= k < last else newline for k in range(len(lines))]
    body = f"\\begin{{{env}}}\n" + "".join(map(str.__add__, lines, ends))
    body = body[: -len(ends[-1])] + f"\n\\end{{{env}}}"
    if display:
        body = f"{display}\n{body}\n{display}"
    if standalone:
        return f"{_PREAMBLE}{_title(d, written)}\n{body}\n\\end{{document}}\n"
    return body


#: what comes between a headline's formula and the names it keeps, on one row or at
#: the start of the next (verify reads the names after this comma)
_WITH = r", \quad \text{with } "


def _title(d: Any, written: Headline) -> str:
    """The document's first line, the result; a long one (a sum) as rows of an align*
    that break between terms (in one $...$ it ran 300 pt past the page).  That block
    reads back in verify as it is: the names after a comma as in one line, the shape
    a tag (written after the formula, "(n × n)" was read as a factor of it)."""
    label = tex_label(d.steps[-1].lhs)
    result = rf"{label} = {_with_names(written)}"
    if fits(result):
        return rf"\noindent$\displaystyle {result}$ " + _shape_text(d)
    named = _named(written)
    rows = _broken(rf"{label} &= ", written.expr, "")
    rows += _names_rows(named)
    rows[-1] += rf" \tag*{{${tex_shape(d.shape)}$}}"
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _names_rows(named: str) -> list[str]:
    """The row (or rows: a long definition, 130 letters, ran 300 pt past the margin)
    of the names a headline keeps, after ``_WITH``."""
    return _rows(rf"& {_WITH}", named, "", ROW_WIDTH - width(_WITH)) if named else []


def _with_names(written: Headline) -> str:
    """The headline's formula and the names it keeps, as ``rows.with_names``."""
    named = _named(written)
    return tex(written.expr) + (rf"{_WITH}{named}" if named else "")


def _named(written: Headline) -> str:
    return ", \\; ".join(f"{tex(name)} = {tex(value)}" for name, value in written.where)


def _index_rows(line: Any) -> list[str]:
    """One line of index notation; a long sum over several rows (``_broken``) and the
    "through u" note on a row of its own, so that it fits a portrait page (a softmax
    layer's ∂f/∂W_{ij} ran 100 pt past it)."""
    rhs, through = tex(line.rhs), _through(line)
    if fits(rhs + through):
        return [rf"{tex(line.lhs)} &= {rhs}{through}"]
    return _broken(rf"{tex(line.lhs)} &= ", line.rhs, "") + ([rf"&{through}"] if through else [])


def _tex_text(text: str, d: Any) -> str:
    """A phase heading in LaTeX: its formulas g = ∇f in math mode."""
    g, v = phase_names(d)
    text = text.replace(f"{label(g)} = ∇f", rf"${name_tex(g)} = \nabla f$")
    return text.replace(f"along {label(v)}", rf"along ${name_tex(v)}$")


def _through(line: Any) -> str:
    """The note on ∂f/∂X[i,j] written through u, on every path from X to f."""
    if not line.via:
        return ""
    f, x = tex(line.lhs.expr), tex(line.lhs.variables[0].parent)
    return rf" \quad \text{{through }} {name_tex(line.via)} \text{{ on every path from }} {x}" + (
        rf" \text{{ to }} {f}"
    )


def _shape_text(d: Any) -> str:
    return rf"\quad$({tex_shape(shape_of(d.result) if hasattr(d.result, 'shape') else d.shape)})$"
