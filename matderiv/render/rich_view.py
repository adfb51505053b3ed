"""The Derivation as rich renderables: a layout banner and a table of steps."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import zip_longest
from typing import Any

from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .rows import SECTIONS, phases, rows, subtitle, title

#: below this many columns the steps are listed one under another, not as a table
#: (at 40 the table left 6 cells to a formula and 3 to its shape, cut mid-name)
NARROW = 64


def renderables(d: Any, width: int | None = None) -> Iterator[Any]:
    """The banner and the table of steps; ``width`` is the console's (shapes are
    written without spaces, (n×1), when one would not fit its column otherwise, so a
    product of shapes wraps between its factors, not inside one; below ``NARROW``
    columns, a list instead of the table)."""
    banner = Text(title(d), style="bold")
    banner.append("\n" + subtitle(d), style="")
    heading = f"matderiv · {d.second_order or f'{d.layout} layout'}"
    yield Panel(banner, title=heading, title_align="left")
    all_rows = list(rows(d))
    if width is not None and width < NARROW:
        yield _listed(d, all_rows, width)
        return
    table = Table(box=box.SIMPLE_HEAD, show_header=True, header_style="bold", expand=True)
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
    for section, r in _headed(d, all_rows):
        if section is not None:
            table.add_row("", section, "")
            continue
        step = Text(r.lhs)
        if r.rule:
            step.append(f"{chr(10) if r.lhs else ''}[{r.rule}]", style="dim")
        shapes = [
            line.replace(" × ", "×").replace(")(", ") (") if compact else line for line in r.shape
        ]
        if not _wraps(r.formula, shapes, width, step_width):
            table.add_row(step, Text("\n".join(r.formula)), Text("\n".join(shapes)))
            continue
        # a line that wraps: a table row a line, so that the next line's formula stays
        # beside its own shape (at 80 columns, (nₕ·nᵢ×nₕ) (nₕ×nₕ) wrapped, and its second
        # factor's shape stood beside the next line's formula)
        lines = zip_longest(step.split("\n"), r.formula, shapes, fillvalue="")
        for label, formula, shape in lines:
            table.add_row(label, Text(formula), Text(shape))
    yield table


def _headed(d: Any, all_rows: list[Any]) -> Iterator[tuple[Text | None, Any]]:
    """(heading, None) where a part (a second order's gradient, then its derivative) or
    a section begins, else (None, row): what the table and the list both show."""
    kind = None
    parts = phases(d)
    for k, r in enumerate(all_rows):
        if k in parts:
            yield Text(parts[k], style="bold underline magenta"), None
            kind = None
        if r.kind != kind:
            kind = r.kind
            yield Text(SECTIONS[kind], style="bold cyan"), None
        yield None, r


def _wraps(formula: Any, shapes: list[str], width: int | None, step_width: int) -> bool:
    """Whether a line of a step's formula or shape is wider than its column (about: the
    columns share what the step column leaves, 5 to 3) where there are two or more."""
    if width is None or max(len(formula), len(shapes)) < 2:
        return False
    room = width - step_width - 9
    return any(len(line) > room * 5 // 8 for line in formula) or any(
        len(line) > room * 3 // 8 for line in shapes
    )


def _listed(d: Any, all_rows: list[Any], width: int) -> Text:
    """The steps one under another (narrow terminals): the label and its rule, then the
    formula and the shape indented, each line of the formula with its shape after it
    (under it where both do not fit the ``width``)."""
    out = Text()
    for section, r in _headed(d, all_rows):
        if section is not None:
            out.append("\n").append_text(section).append("\n")
            continue
        out.append(r.lhs, style="bold")
        out.append(f"{' ' if r.lhs else ''}[{r.rule}]" if r.rule else "", style="dim")
        out.append("\n" if r.lhs or r.rule else "")
        for formula, shape in zip_longest(r.formula, r.shape, fillvalue=""):
            out.append(f"  {formula}" if formula else "")
            beside = not formula or len(formula) + len(shape) + 5 <= width
            gap = ("   " if formula else "  ") if beside else "\n    "
            out.append(f"{gap}{shape}" if shape else "", style="dim")
            out.append("\n")
    return out
