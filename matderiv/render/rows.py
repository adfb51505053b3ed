"""The rows every text-like renderer shows: one per step, in readable Unicode.

Both the plain-text and the rich renderer lay these rows out; neither computes
anything beyond formatting what the Derivation holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .unicode import fmt, fmt_shape, label

SECTIONS = {
    "define": "forward pass: named intermediates",
    "local": "local derivatives (rule, differential)",
    "chain": "chain rule",
    "program": "backward program: named adjoints / tangents",
    "simplify": "simplifications",
    "result": "result",
}


@dataclass(frozen=True)
class Row:
    """One step, ready to lay out: the defined name, formula lines, shape lines, rule."""

    kind: str
    lhs: str
    formula: tuple[str, ...]
    shape: tuple[str, ...]
    rule: str


def _chain_lines(step: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    products = [" · ".join(label(f.label) for f in term) for term in step.factors]
    shapes = ["".join(fmt_shape(f.shape) for f in term) for term in step.factors]
    formula = [" + ".join(products), f"= {fmt(step.expr)}"]
    shape = [" + ".join(shapes), f"= {fmt_shape(step.product_shape)}"]
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
        d_node, differential = step.differential
        lines = (f"= {fmt(step.expr)}", f"from {fmt(d_node)} = {fmt(differential)}")
        return Row(step.kind, lhs, lines, shape, step.rule)
    if step.kind == "chain":
        chain_formula, chain_shapes = _chain_lines(step)
        return Row(step.kind, lhs, chain_formula, chain_shapes, step.rule)
    if step.kind == "simplify":
        return Row(step.kind, "", (fmt(step.before), f"⇒ {fmt(step.expr)}"), shape, step.rule)
    return Row(step.kind, lhs, (f"= {fmt(step.expr)}",), shape, "")


def rows(d: Any) -> list[Row]:
    return [row(step) for step in d.steps]


def title(d: Any) -> str:
    result = d.steps[-1]
    return f"{label(result.lhs)} = {fmt(result.expr)}   {fmt_shape(d.shape)}"


def subtitle(d: Any) -> str:
    return label(d.description)
