"""Plain-text rendering of a Derivation, for logs and ``str(d)``."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

from .rows import SECTIONS, label, phases, rows, subtitle, title
from .unicode import UnicodePrinter, fmt

_MAX_FORMULA = 64


def render_repr(d: Any) -> str:
    """``repr(d)``: the headline, the layout and how many steps, on one line (the
    dataclass's own repr lists every step's fields)."""
    layout = "" if d.second_order else f"; {d.layout} layout"  # a Hessian has one form
    count = len(d.steps)
    return f"<Derivation {title(d)}{layout}; {count} step{'' if count == 1 else 's'}>"


def render_text(d: Any) -> str:
    table = rows(d)
    lhs_width = min(max((len(r.lhs) for r in table), default=0), 28)
    formula_width = min(max(len(line) for r in table for line in r.formula), _MAX_FORMULA)
    lines = [title(d), subtitle(d)]
    kind = None
    parts = phases(d)
    for k, r in enumerate(table):
        if k in parts:
            lines.append(f"== {parts[k]}")
            kind = None
        if r.kind != kind:
            kind = r.kind
            lines.append(f"-- {SECTIONS[kind]}")
        height = max(len(r.formula), len(r.shape))
        for k in range(height):
            lhs = r.lhs if k == 0 else ""
            formula = r.formula[k] if k < len(r.formula) else ""
            shape = r.shape[k] if k < len(r.shape) else ""
            rule = f"[{r.rule}]" if k == 0 and r.rule else ""
            text = f"  {lhs:<{lhs_width}} {formula:<{formula_width}}  {shape:<24} {rule}"
            lines.append(text.rstrip())
    return "\n".join(lines)


class IndexPrinter(UnicodePrinter):
    """The Unicode printer with the index arithmetic of Kronecker entries written as
    in textbooks: ⌊a/n⌋ and a mod n (SymPy's str: Mod(floor(a/n), m))."""

    def _print_floor(self, expr: Any) -> str:
        return f"⌊{self._print(expr.args[0])}⌋"

    def _print_Mod(self, expr: Any) -> str:
        value, modulus = (self._print(a) for a in expr.args)
        if isinstance(expr.args[0], (sp.Add, sp.Mul)):
            value = f"({value})"
        return f"{value} mod {modulus}"

    def _print_MatrixElement(self, expr: Any) -> str:
        """X[a,b]; X[⌊a/n⌋, b mod m] spaced when an index is."""
        out = super()._print_MatrixElement(expr)
        if not expr.has(sp.floor, sp.Mod):
            return out
        parent = out[: out.index("[")] if out.endswith("]") else out
        rows, cols = expr.parent.shape
        index = [self._print(k) for k, size in ((expr.i, rows), (expr.j, cols)) if size != 1]
        return f"{parent}[{', '.join(index)}]" if index else out

    def _print_KroneckerDelta(self, expr: Any) -> str:
        i, j = (self._print(a) for a in expr.args[:2])
        return f"δ({i}, {j})" if expr.has(sp.floor, sp.Mod) else f"δ({i},{j})"


_INDEX_PRINTER = IndexPrinter()
#: above index notation that splits indices by ⌊·⌋ and mod (a Kronecker product's entries)
FROM_ZERO = "indices count from 0: a = n·⌊a/n⌋ + (a mod n), block ⌊a/n⌋, place a mod n"


def fmt_index(expr: Any) -> str:
    """A line of index notation in readable Unicode."""
    return _INDEX_PRINTER.doprint(expr)


def splits_indices(lines: list[Any]) -> bool:
    """Do the lines write an index as a block and a place (⌊a/n⌋, a mod n)?"""
    return any(
        isinstance(e, sp.Basic) and e.has(sp.floor, sp.Mod)
        for line in lines
        for e in (line.lhs, line.rhs)
    )


def render_index(lines: list[Any]) -> str:
    """Index notation, one ``lhs = rhs`` per line, grouped like the steps."""
    out = [f"({FROM_ZERO})"] if splits_indices(lines) else []
    kind = None
    for line in lines:
        if line.kind != kind:
            kind = line.kind
            out.append(f"-- {SECTIONS[kind]}")
        out.append(f"  {fmt_index(line.lhs)} = {fmt_index(line.rhs)}{_through(line)}")
    text = "\n".join(out)
    if _has_sigma(lines):  # a covariance Σ: the sums are written ∑_k (n-ary summation)
        text = re.sub(r"Σ(?=_[a-z])", "∑", text)
    return text


def _has_sigma(lines: list[Any]) -> bool:
    """Whether a symbol the lines use prints as Σ (Sigma, a covariance)."""
    exprs = [e for line in lines for e in (line.lhs, line.rhs) if isinstance(e, sp.Basic)]
    return any(fmt(s) == "Σ" for e in exprs for s in e.atoms(sp.MatrixSymbol, sp.Symbol))


def _through(line: Any) -> str:
    """The note on ∂f/∂X[i,j] written through an intermediate u: true because every
    path from X to f passes through u."""
    if not line.via:
        return ""
    f, x = fmt(line.lhs.expr), fmt(line.lhs.variables[0].parent)
    return f"   (through {label(line.via)}, on every path from {x} to {f})"
