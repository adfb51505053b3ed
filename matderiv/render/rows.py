"""The rows every text-like renderer shows: one per step, in readable Unicode.

Both the plain-text and the rich renderer lay these rows out; neither computes
anything beyond formatting what the Derivation holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..naming import SECOND_ORDER_NOTE
from .headline import Headline, written_result
from .unicode import fmt, fmt_shape, label

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
    same sections twice, which read as one derivation done twice).  g and V are the
    names the steps use (g₂ when a symbol or a dimension is called g)."""
    if d.mode not in ("hessian", "hvp"):
        return {}
    ends = [k for k, step in enumerate(d.steps) if step.kind == "result"]
    if len(ends) < 2:
        return {}
    g, v = (label(name) for name in phase_names(d))
    second = (
        f"the Hessian: the Jacobian of {g} = ∇f (numerator layout)"
        if d.mode == "hessian"
        else f"the Hessian-vector product: the derivative of {g} = ∇f along {v} "
        "(denominator layout)"
    )
    return {  # the layouts tell apart a local derivative both parts show (∂v₁/∂w)
        0: f"first derivative: the gradient {g} = ∇f (denominator layout)",
        ends[0] + 1: f"second derivative, {second}",
    }


def phase_names(d: Any) -> tuple[str, str]:
    """The names of the gradient (g := ∇f) and the direction (V) of a second-order
    derivation, as the steps give them."""
    g = next(
        (s.lhs for s in d.steps if s.kind == "define" and s.note == f"∇f{SECOND_ORDER_NOTE}"),
        "g",
    )
    return g, str(d.direction) if d.direction is not None else "V"


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
        return Row(step.kind, lhs, (f":= {fmt(step.expr)}",), shape, label(step.note))
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
        written = written_result(d)
        if written.expr is not d.steps[-1].expr and written.expr != d.steps[-1].expr:
            last = out[-1]
            formula = (*last.formula, f"= {with_names(written)}")
            out[-1] = Row(last.kind, last.lhs, formula, last.shape, "")
    return out


def with_names(written: Headline) -> str:
    """The headline's formula, and after it the names it keeps: ``Vᵀ (diag(v₂) -
    v₂ v₂ᵀ) K, with v₂ = softmax(K q)``."""
    named = ", ".join(f"{fmt(name)} = {fmt(value)}" for name, value in written.where)
    return fmt(written.expr) + (f", with {named}" if named else "")


def title(d: Any) -> str:
    return f"{label(d.steps[-1].lhs)} = {with_names(written_result(d))}   {fmt_shape(d.shape)}"


def subtitle(d: Any) -> str:
    """What the result is, without the shape the title ends with."""
    text = label(d.description)
    shape = fmt_shape(d.shape)
    for written in (f" {shape}", f", ({shape})"):
        if text.endswith(written):
            return text[: -len(written)]
    return text
