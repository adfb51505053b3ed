"""LaTeX rendering of a Derivation: an amsmath ``align*`` block, one line per step."""

from __future__ import annotations

from typing import Any

import sympy as sp

_PREAMBLE = r"""\documentclass{article}
\usepackage{amsmath,amssymb}
\begin{document}
"""


def _shape(shape: Any) -> str:
    return rf"{sp.latex(shape[0])} \times {sp.latex(shape[1])}"


def render_latex(d: Any, standalone: bool = False, display: str = "") -> str:
    lines = []
    for step in d.steps:
        if step.kind == "simplify":
            continue
        lhs = sp.latex(sp.Symbol(step.lhs))
        lines.append(rf"  {lhs} &= {sp.latex(step.expr)} && ({_shape(step.shape)}) \\")
    body = "\\begin{align*}\n" + "\n".join(lines) + "\n\\end{align*}"
    if display:
        body = f"{display}\n{body}\n{display}"
    if standalone:
        return f"{_PREAMBLE}{body}\n\\end{{document}}\n"
    return body
