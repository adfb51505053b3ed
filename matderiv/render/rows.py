"""The rows every text-like renderer shows: one per step, in readable Unicode.

Both the plain-text and the rich renderer lay these rows out; neither computes
anything beyond formatting what the Derivation holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..canon import larger_than, transpose
from ..naming import SECOND_ORDER_NOTE, is_generated_name
from ..shapes import is_matrix, is_scalar_shape
from ..substitute import unchecked
from .unicode import fmt, fmt_shape, label

#: the headline writes out the intermediates matderiv named while it stays within
#: this many characters (and, checked first, this many SymPy nodes)
HEADLINE_CHARS = 100
_HEADLINE_NODES = 120
SHORT_ROOT = 12  # characters of a matrix expression written out in its derivative

SECTIONS = {
    "define": "forward pass: named intermediates",
    "local": "local derivatives (rule, differential)",
    "chain": "chain rule",
    "program": "generated program: named adjoints (backward) / tangents (forward)",
    "simplify": "simplifications",
    "result": "result",
}


def phases(d: Any) -> dict[int, str]:
    """Headings of a second-order derivation's two parts, by the index of the step
    each begins at: the gradient g = ∇f, then its derivative (the steps repeat the
    same sections twice, which read as one derivation done twice)."""
    if d.mode not in ("hessian", "hvp"):
        return {}
    ends = [k for k, step in enumerate(d.steps) if step.kind == "result"]
    if len(ends) < 2:
        return {}
    second = (
        "the Hessian: the Jacobian of g = ∇f (numerator layout)"
        if d.mode == "hessian"
        else "the Hessian-vector product: the derivative of g = ∇f along V (denominator layout)"
    )
    return {  # the layouts tell apart a local derivative both parts show (∂v₁/∂w)
        0: "first derivative: the gradient g = ∇f (denominator layout)",
        ends[0] + 1: f"second derivative, {second}",
    }


@dataclass(frozen=True)
class Row:
    """One step, ready to lay out: the defined name, formula lines, shape lines, rule."""

    kind: str
    lhs: str
    formula: tuple[str, ...]
    shape: tuple[str, ...]
    rule: str


def restates(step: Any) -> bool:
    """A chain step whose product is one factor labelled as the step itself
    (∂vec(Wᵀ)/∂vec(W) = ∂vec(Wᵀ)/∂vec(W) = K): its product is not shown."""
    return (
        len(step.factors) == 1
        and len(step.factors[0]) == 1
        and step.factors[0][0].label == step.lhs
    )


def _chain_lines(step: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    products = [" · ".join(label(f.label) for f in term) for term in step.factors]
    shapes = ["".join(fmt_shape(f.shape) for f in term) for term in step.factors]
    formula = [" + ".join(products), f"= {fmt(step.expr)}"]
    shape = [" + ".join(shapes), f"= {fmt_shape(step.product_shape)}"]
    if restates(step):
        formula, shape = formula[1:], [fmt_shape(step.product_shape)]
    if step.shape != step.product_shape:
        formula.append(f"({label(step.note)})" if step.note else "")
        shape.append(f"→ {fmt_shape(step.shape)}")
    return tuple(formula), tuple(shape)


def row(step: Any) -> Row:
    lhs = label(step.lhs)
    shape = (fmt_shape(step.shape),)
    if step.kind in ("define", "program"):
        return Row(step.kind, lhs, (f":= {fmt(step.expr)}",), shape, step.note)
    if step.kind == "local":
        lines = [f"= {fmt(step.expr)}"]
        if step.shown_differential is not None:
            d_node, differential = step.shown_differential
            lines.append(f"from {fmt(d_node)} = {fmt(differential)}")
        return Row(step.kind, lhs, tuple(lines), shape, step.rule)
    if step.kind == "chain":
        chain_formula, chain_shapes = _chain_lines(step)
        return Row(step.kind, lhs, chain_formula, chain_shapes, step.rule)
    if step.kind == "simplify":
        return Row(step.kind, "", (fmt(step.before), f"⇒ {fmt(step.expr)}"), shape, step.rule)
    return Row(step.kind, lhs, (f"= {fmt(step.expr)}",), shape, "")


def rows(d: Any) -> list[Row]:
    """The rows of d's steps; the result's row also shows the result written out
    without matderiv's intermediates (as the headline does), when that differs."""
    out = [row(step) for step in d.steps]
    if out and out[-1].kind == "result":
        written = headline(d)
        if written is not d.steps[-1].expr and written != d.steps[-1].expr:
            last = out[-1]
            formula = (*last.formula, f"= {fmt(written)}")
            out[-1] = Row(last.kind, last.lhs, formula, last.shape, "")
    return out


def headline(d: Any) -> Any:
    """The result for the headline: the result step's expression with the
    intermediates matderiv named (v_k) written out, so that the headline reads
    without the table, unless that makes it longer than ``HEADLINE_CHARS``
    characters; then the names stay, and the steps define them.  A scalar f itself
    stays ((1 - f²) a for tanh(aᵀx)); a matrix Y is written out (-X⁻ᵀ ⊗ X⁻¹ for X⁻¹).
    The user's names, where= symbols and named adjoints always stay."""
    expr = d.steps[-1].expr
    kept = {*d.names, *map(str, d.where), *map(str, d.definitions)}
    defines = [s for s in d.steps if s.kind == "define"]
    defs = {s.lhs: s.expr for s in defines if _written_out(s) and s.lhs not in kept}
    root = defines[-1] if defines else None
    if root is not None and root.lhs not in kept and not is_scalar_shape(root.shape):
        inputs_only = not any(str(a) in defs for a in root.expr.atoms(sp.MatrixSymbol))
        if inputs_only and len(fmt(root.expr)) <= SHORT_ROOT:
            defs[root.lhs] = root.expr  # -X⁻ᵀ ⊗ X⁻¹, but diag(1 - Y∘Y) for tanh(A x)
    if not defs or not isinstance(expr, sp.Basic):
        return expr
    dims = {str(x) for m in expr.atoms(sp.MatrixSymbol) for x in m.free_symbols if x != m}
    written = _written(expr, defs, dims)
    if written is not None and len(fmt(written)) <= HEADLINE_CHARS:
        return written
    # too long written out: write out only the short names (v₁₃ := 1 - h₁∘h₁ in a
    # program's Hessian), which the headline reads better without
    short = {}
    used = {str(a) for a in expr.atoms(sp.MatrixSymbol, sp.Symbol)} - dims
    for name in used & defs.keys():  # short forms carry no names: only expr's matter
        full = _written(defs[name], defs, dims)
        if full is not None and len(fmt(full)) <= _SHORT_DEFINITION:
            short[name] = full
    partial = _written(expr, short, dims) if short else None
    return partial if partial is not None else expr


#: characters of an intermediate written out in a headline that is long anyway
_SHORT_DEFINITION = 16


def _written(expr: Any, defs: dict[str, Any], dims: set[str]) -> Any:
    """``expr`` with the names in ``defs`` written out (in turn: definitions use
    earlier names), or None when that grows past ``_HEADLINE_NODES`` nodes."""
    written = expr
    for _ in range(len(defs)):
        atoms = {
            a: defs[str(a)]
            for a in written.atoms(sp.MatrixSymbol, sp.Symbol)
            if str(a) in defs and str(a) not in dims
        }
        if not atoms:
            break
        written = _flat(written.xreplace(atoms))
        if larger_than(written, _HEADLINE_NODES):
            return None
    return _transposed_sums(written)


def _written_out(step: Any) -> bool:
    """A name the headline may write out: a generated intermediate (v_k), or the
    gradient g := ∇f a second-order derivation names (-X⁻ᵀ Vᵀ X⁻ᵀ, not -X⁻ᵀ Vᵀ g)."""
    return is_generated_name(step.lhs) or step.note.endswith(SECOND_ORDER_NOTE)


def _flat(expr: Any) -> Any:
    """Products inside products merged, as a definition written in leaves them: -v₃
    with v₃ := B v₂ is -B v₂, not -(B v₂)."""

    def merge(product: Any) -> Any:
        args = [x for a in product.args for x in (a.args if isinstance(a, sp.MatMul) else (a,))]
        coeff = sp.Mul(*(a for a in args if not is_matrix(a)))
        mats = [a for a in args if is_matrix(a)]
        return unchecked(sp.MatMul, *([] if coeff == 1 else [coeff]), *mats)

    nested = lambda e: isinstance(e, sp.MatMul) and any(isinstance(a, sp.MatMul) for a in e.args)  # noqa: E731
    return expr.replace(nested, merge)


def _transposed_sums(expr: Any) -> Any:
    """(xᵀ Bᵀ + bᵀ)ᵀ, a row sum v written out inside vᵀ, as the column B x + b."""
    return expr.replace(
        lambda e: isinstance(e, sp.Transpose) and isinstance(e.arg, sp.MatAdd),
        lambda e: transpose(e.arg),
    )


def title(d: Any) -> str:
    return f"{label(d.steps[-1].lhs)} = {fmt(headline(d))}   {fmt_shape(d.shape)}"


def subtitle(d: Any) -> str:
    """What the result is, without the shape the title ends with."""
    text = label(d.description)
    shape = fmt_shape(d.shape)
    for written in (f" {shape}", f", ({shape})"):
        if text.endswith(written):
            return text[: -len(written)]
    return text
