"""LaTeX rendering of a Derivation: an amsmath ``align*`` block, one line per step.

The formulas come from ``tex_printer`` (what papers write: X^{T}, A \\otimes B,
\\operatorname{vec}, ...).  Everything printed is plain amsmath, so the output
compiles with pdflatex as it is.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..shapes import shape_of
from .rows import headline
from .tex_printer import name_tex, tex, tex_label, tex_shape
from .text import splits_indices

_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=2cm,landscape]{geometry}
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
        return (
            rf"\text{{the Hessian }} {tex_label(d.steps[-1].lhs)}"
            rf"\text{{: the Jacobian of }} \nabla f\text{{, symmetric}} \quad "
            rf"({tex_shape(d.shape)})"
        )
    if d.mode == "hvp":
        return (
            rf"\text{{the Hessian-vector product }} {tex_label(d.steps[-1].lhs)}"
            rf"\text{{, shaped like }} {tex(d.wrt)} \quad ({tex_shape(d.shape)})"
        )
    note = d.layout_note
    shape = tex_shape(note.shape)
    if note.kind == "gradient":
        what = "gradient" if note.layout == "denominator" else "transposed gradient"
        return (
            rf"\text{{{note.layout} layout: the {what} of }} {tex(note.of)}"
            rf"\text{{, shaped like }} {tex(note.like)} \quad ({shape})"
        )
    vec_note = r"\text{ (vec stacks columns)}" if note.uses_vec else ""
    return (
        rf"\text{{{note.layout} layout: rows index }} {tex(note.rows)}"
        rf"\text{{, columns index }} {tex(note.cols)}{vec_note} \quad ({shape})"
    )


def _rule(step: Any) -> str:
    return rf"&& \text{{{step.rule}}}" if step.rule else ""


def _factor(factor: Any) -> str:
    return rf"\underbrace{{{tex_label(factor.label)}}}_{{{tex_shape(factor.shape)}}}"


def _lines(step: Any) -> list[str]:
    shape = rf"&& {tex_shape(step.shape)}"
    if step.kind in ("define", "program"):
        return [rf"{tex(sp.Symbol(step.lhs))} &:= {tex(step.expr)} {shape}"]
    if step.kind == "local":
        lines = [rf"{tex_label(step.lhs)} &= {tex(step.expr)} {shape} {_rule(step)}"]
        if step.shown_differential is not None:
            d_node, differential = step.shown_differential
            lines.append(rf"& \qquad \text{{from }} {tex(d_node)} = {tex(differential)}")
        return lines
    if step.kind == "chain":
        products = " + ".join(" ".join(_factor(f) for f in term) for term in step.factors)
        product_shape = tex_shape(step.product_shape)
        return [
            rf"{tex_label(step.lhs)} &= {products} && {product_shape} {_rule(step)}",
            rf"&= {tex(step.expr)} {shape}",
        ]
    if step.kind == "simplify":
        return [rf"{tex(step.before)} &\Rightarrow {tex(step.expr)} {shape} {_rule(step)}"]
    return [rf"{tex_label(step.lhs)} &= {tex(step.expr)} {shape}"]


def render_latex(
    d: Any, standalone: bool = False, display: str = "", index: list[Any] | None = None
) -> str:
    """The derivation as ``align*`` (or ``aligned`` inside ``display`` delimiters).

    ``index``: lines of index notation (``index_form.index_lines``) to append.
    """
    written = headline(d)  # the result without the intermediates: the title and last line
    lines = []
    kind = None
    for step in d.steps:
        if step.kind != kind:
            kind = step.kind
            lines.append(rf"& \textbf{{{_SECTIONS[kind]}}}")
        lines.extend(_lines(step))
    if written != d.steps[-1].expr:  # the result again without the intermediates
        lines.append(rf"&= {tex(written)}")
    lines.append(rf"& {_note(d)}")
    if index:
        lines.append(r"& \textbf{Index notation}")
        lines.extend([_FROM_ZERO] if splits_indices(index) else [])
        lines.extend(rf"{tex(line.lhs)} &= {tex(line.rhs)}{_through(line)}" for line in index)
    env = "aligned" if display else "align*"
    body = f"\\begin{{{env}}}\n" + " \\\\\n".join(lines) + f"\n\\end{{{env}}}"
    if display:
        body = f"{display}\n{body}\n{display}"
    if standalone:
        result = rf"{tex_label(d.steps[-1].lhs)} = {tex(written)}"
        title = rf"\noindent$\displaystyle {result}$ " + _shape_text(d)
        return f"{_PREAMBLE}{title}\n{body}\n\\end{{document}}\n"
    return body


def _through(line: Any) -> str:
    """The note on ∂f/∂X[i,j] written through u, on every path from X to f."""
    if not line.via:
        return ""
    f, x = tex(line.lhs.expr), tex(line.lhs.variables[0].parent)
    return rf" && \text{{through }} {name_tex(line.via)} \text{{ on every path from }} {x}" + (
        rf" \text{{ to }} {f}"
    )


def _shape_text(d: Any) -> str:
    return rf"\quad$({tex_shape(shape_of(d.result) if hasattr(d.result, 'shape') else d.shape)})$"
