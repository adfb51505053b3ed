"""A Verdict in the terminal: the candidate, the derived result and the verdict's reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .rows import label
from .unicode import fmt, fmt_shape


def _candidate(v: Any) -> str:
    shown = v.shown_candidate if v.shown_candidate is not None else v.candidate
    return shown if isinstance(shown, str) else fmt(shown)


def _lines(v: Any) -> list[tuple[str, str]]:
    d = v.derivation
    result = d.steps[-1]
    rows = [
        ("candidate", _candidate(v)),
        ("derived", f"{label(result.lhs)} = {fmt(result.expr)}   {fmt_shape(d.shape)}"),
        ("layout", label(d.description)),
    ]
    if "max_error" in v.details:
        rows.append(("max error", f"{v.details['max_error']:.3g}"))
    return rows


def render_text(v: Any) -> str:
    mark = "✓" if v.ok else "✗"
    lines = [f"{mark} {v.kind}: {v.message}"]
    lines += [f"  {key:<10} {value}" for key, value in _lines(v)]
    return "\n".join(lines)


def renderables(v: Any) -> Iterator[Any]:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in _lines(v):
        table.add_row(key, Text(value))
    style = "green" if v.ok else "red"
    title = f"{'✓ correct' if v.ok else '✗ ' + v.kind}"
    yield Panel(table, title=title, title_align="left", border_style=style)
    yield Text(v.message, style=style)
