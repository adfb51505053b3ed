"""Plain-text rendering of a Derivation, for logs and ``str(d)``."""

from __future__ import annotations

from typing import Any

from .rows import SECTIONS, label, rows, subtitle, title
from .unicode import fmt

_MAX_FORMULA = 64


def render_text(d: Any) -> str:
    table = rows(d)
    lhs_width = min(max((len(r.lhs) for r in table), default=0), 28)
    formula_width = min(max(len(line) for r in table for line in r.formula), _MAX_FORMULA)
    lines = [title(d), subtitle(d)]
    kind = None
    for r in table:
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


def render_index(lines: list[Any]) -> str:
    """Index notation, one ``lhs = rhs`` per line, grouped like the steps."""
    out = []
    kind = None
    for line in lines:
        if line.kind != kind:
            kind = line.kind
            out.append(f"-- {SECTIONS[kind]}")
        via = f"   (summed over the entries of {label(line.via)})" if line.via else ""
        out.append(f"  {fmt(line.lhs)} = {fmt(line.rhs)}{via}")
    return "\n".join(out)
