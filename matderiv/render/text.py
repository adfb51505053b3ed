"""Plain-text rendering of a Derivation, for logs and ``str(d)``."""

from __future__ import annotations

from typing import Any

from ..shapes import fmt_shape
from .unicode import fmt

_HEADINGS = {
    "define": "forward: named intermediates",
    "local": "local derivatives",
    "chain": "chain rule",
    "simplify": "simplifications",
    "result": "result",
}


def render_text(d: Any) -> str:
    lines = [f"d({fmt(d.of)}) / d({fmt(d.wrt)})   [{d.description}]"]
    kind = None
    for step in d.steps:
        if step.kind != kind:
            kind = step.kind
            lines.append(f"  {_HEADINGS[kind]}:")
        rhs = fmt(step.expr)
        if step.kind == "simplify":
            rhs = f"{fmt(step.before)}  →  {rhs}"
        rule = f"   [{step.rule}]" if step.rule else ""
        lines.append(f"    {step.lhs} = {rhs}   {fmt_shape(step.shape)}{rule}")
    return "\n".join(lines)
