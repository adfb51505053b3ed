"""The Derivation as rich renderables: a layout banner and a table of steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..shapes import fmt_shape
from .unicode import fmt


def renderables(d: Any) -> Iterator[Any]:
    yield Panel(
        Text(f"d({fmt(d.of)}) / d({fmt(d.wrt)})\n{d.description}"),
        title="matderiv",
        expand=False,
    )
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("step", no_wrap=True)
    table.add_column("formula", overflow="fold", ratio=1)
    table.add_column("shape", no_wrap=True, justify="right")
    table.add_column("rule", overflow="fold")
    for step in d.steps:
        rhs = fmt(step.expr)
        if step.kind == "simplify":
            rhs = f"{fmt(step.before)}  →  {rhs}"
        table.add_row(step.lhs, f"{rhs}", fmt_shape(step.shape), step.rule)
    yield table
    yield Text(f"= {fmt(d.result)}   {fmt_shape(d.shape)}", style="bold")
