"""The Derivation as rich renderables: a layout banner and a table of steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .rows import SECTIONS, phases, rows, subtitle, title


def renderables(d: Any, width: int | None = None) -> Iterator[Any]:
    """The banner and the table of steps; ``width`` is the console's (shapes are
    written without spaces, (n×1), when one would not fit its column otherwise, so a
    product of shapes wraps between its factors, not inside one)."""
    banner = Text(title(d), style="bold")
    banner.append("\n" + subtitle(d), style="")
    heading = f"matderiv · {d.second_order or f'{d.layout} layout'}"
    yield Panel(banner, title=heading, title_align="left")
    table = Table(box=box.SIMPLE_HEAD, show_header=True, header_style="bold", expand=True)
    all_rows = list(rows(d))
    # labels such as ∂vec(Wₕₓᵀ)/∂vec(Wₕₓ) on one line, as folding cuts a name in two: a
    # flexible column's width is its minimum (min_width is not, in rich)
    # the rule, [chain rule (adjoint)], under the label: wide enough for both
    longest = max((max(len(r.lhs), len(r.rule) + 2) for r in all_rows), default=0)
    step_width = max(8, min(longest, 24))
    table.add_column("step", overflow="fold", ratio=2, width=step_width)
    table.add_column("formula", overflow="fold", ratio=5)
    table.add_column("shape", overflow="fold", ratio=3)
    shape_width = ((width or 10**6) - step_width - 9) * 3 // 8  # the columns' padding
    compact = any(len(line) > shape_width for r in all_rows for line in r.shape)
    kind = None
    parts = phases(d)
    for k, r in enumerate(all_rows):
        if k in parts:
            table.add_row("", Text(parts[k], style="bold underline magenta"), "")
            kind = None
        if r.kind != kind:
            kind = r.kind
            table.add_row("", Text(SECTIONS[kind], style="bold cyan"), "")
        step = Text(r.lhs)
        if r.rule:
            step.append(f"{chr(10) if r.lhs else ''}[{r.rule}]", style="dim")
        shape = "\n".join(r.shape)
        if compact:
            shape = shape.replace(" × ", "×").replace(")(", ") (")
        table.add_row(step, Text("\n".join(r.formula)), Text(shape))
    yield table
