"""A Verdict in the terminal: the candidate, the derived result and the verdict's reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .latex import tex
from .rows import label, subtitle
from .unicode import fmt, fmt_shape


def _candidate(v: Any) -> str:
    shown = v.shown_candidate if v.shown_candidate is not None else v.candidate
    return shown if isinstance(shown, str) else fmt(shown)


def _result(v: Any) -> str:
    """d.result, self-contained (the derivation's last step may name intermediates v₁, Y)."""
    shown = v.shown_result if v.shown_result is not None else v.derivation.result
    return fmt(shown)


def _lines(v: Any) -> list[tuple[str, str]]:
    d = v.derivation
    rows = [
        ("candidate", _candidate(v)),
        ("derived", f"{label(d.steps[-1].lhs)} = {_result(v)}   {fmt_shape(d.shape)}"),
        ("form" if d.second_order else "layout", subtitle(d)),
    ]
    if "max_error" in v.details:
        rows.append(("max error", f"{v.details['max_error']:.3g}"))
    return rows


def _title(v: Any) -> str:
    """The kind, once: the message itself does not repeat it."""
    return f"{'✓' if v.ok else '✗'} {v.kind}"


def render_repr(v: Any) -> str:
    """``repr(v)``: the kind and the reason on one line (the dataclass's own repr
    prints the whole Derivation)."""
    return f"<Verdict {_title(v)}: {v.message}>"


def render_markdown(v: Any) -> str:
    """The verdict in a notebook: the kind and the reason, then the candidate and the
    derived result as LaTeX (a candidate given as text, as written)."""
    d = v.derivation
    shown = v.shown_candidate if v.shown_candidate is not None else v.candidate
    candidate = f"`{shown}`" if isinstance(shown, str) else f"${tex(shown)}$"
    result = v.shown_result if v.shown_result is not None else d.result
    lines = [
        f"**{_title(v)}**: {v.message}",
        "",
        f"- candidate: {candidate}",
        f"- derived: ${tex(result)}$ {fmt_shape(d.shape)}",
        f"- {'form' if d.second_order else 'layout'}: {subtitle(d)}",
    ]
    if "max_error" in v.details:
        lines.append(f"- max error: {v.details['max_error']:.3g}")
    return "\n".join(lines)


def render_text(v: Any) -> str:
    lines = [f"{_title(v)}: {v.message}"]
    lines += [f"  {key:<10} {value}" for key, value in _lines(v)]
    return "\n".join(lines)


def renderables(v: Any) -> Iterator[Any]:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in _lines(v):
        table.add_row(key, Text(value))
    style = "green" if v.ok else "red"
    yield Panel(table, title=_title(v), title_align="left", border_style=style)
    yield Text(v.message, style=style)
