"""Step labels in LaTeX: ∂h₁/∂a₁ as \\frac{\\partial h_{1}}{\\partial a_{1}}, a Hessian's
∂²f/∂x∂xᵀ, an HVP's H vec(V), K_{m,n}; their operands (h_1, vec(W_hx), Xᵀ) as names."""

from __future__ import annotations

import re

import sympy as sp

from .tex_printer import _CLASHES, _t, tex

_VEC = re.compile(r"^vec\((.*)\)$")


_SECOND = re.compile(r"^∂²(.+?)/∂(.+?)∂(.+)$")
_SQUARED = re.compile(r"^∂²(.+?)/∂([^∂]+)²$")


def name_tex(text: str) -> str:
    """A label's operand in LaTeX: h_1 → h_{1}, vec(W_hx) → \\operatorname{vec}(W_{hx}), Xᵀ,
    vec(X)ᵀ."""
    transposed = text.endswith("ᵀ")
    base = text.removesuffix("ᵀ")
    match = _VEC.match(base)
    if match:
        out = rf"\operatorname{{vec}}\left({name_tex(match.group(1))}\right)"
    else:
        out = tex(sp.Symbol(base))
    return f"{out}^{{{_t(_CLASHES.get())}}}" if transposed else out


def tex_label(label: str) -> str:
    """∂y/∂x (matderiv's step labels) as a LaTeX fraction; a Hessian's ∂²f/∂x∂xᵀ and
    an HVP's H vec(V) too."""
    squared = _SQUARED.match(label)  # ∂²f/∂s² of a scalar s
    if squared:
        top, bottom = (name_tex(part) for part in squared.groups())
        return rf"\frac{{\partial^{{2}} {top}}}{{\partial {bottom}^{{2}}}}"
    second = _SECOND.match(label)
    if second:
        top, left, right = (name_tex(part) for part in second.groups())
        return rf"\frac{{\partial^{{2}} {top}}}{{\partial {left}\,\partial {right}}}"
    if label.startswith("H vec(") and label.endswith(")"):
        return rf"H\,{name_tex(label[2:])}"
    if label.startswith("∂") and "/∂" in label:
        top, bottom = label[1:].split("/∂", 1)
        return rf"\frac{{\partial {name_tex(top)}}}{{\partial {name_tex(bottom)}}}"
    total = _TOTAL.fullmatch(label)  # df/dx, a total derivative
    if total:
        top, bottom = (name_tex(part) for part in total.groups())
        return rf"\frac{{d {top}}}{{d {bottom}}}"
    commutation = _COMMUTATION.fullmatch(label)
    if commutation:
        m, n = (name_tex(d) for d in commutation.groups())
        return rf"K_{{{m},{n}}}"
    return tex(sp.Symbol(label))


_COMMUTATION = re.compile(r"K_\{([^,{}]+),([^,{}]+)\}")
_TOTAL = re.compile(r"d([^/]+)/d([^/]+)")
