"""What a pasted line says besides its formula: a left-hand side (``∂f/∂b =``) and
the shape printed after a result (``(1 × n)``).  verify reads the formula alone;
where these contradict the question, its verdict says so in a note."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

from .layout import parse_wrt
from .render.unicode import fmt
from .shapes import free_symbols

#: "∂f/∂b =", "df/dx =": the variable a left-hand side names (a plain name)
_LHS_VARIABLE = re.compile(r"\s*[d∂][^=/;@*]*/\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)")
#: "   (n × 1)" at the end, as str(d) prints a result's shape
_SHAPE_LABEL = re.compile(r"\s\(\s*([^(){}=×]*?)\s×\s([^(){}=×]*?)\s*\)\s*$")


def pasted_note(text: Any, derivation: Any) -> str:
    """ " Note: ..." when the left-hand side of ``text`` names another input than the
    variable, or its shape label is not the result's shape; else ""."""
    if not isinstance(text, str):
        return ""
    notes = []
    found = _LHS_VARIABLE.match(text)
    variable = parse_wrt(derivation.wrt).symbol
    if found and found.group(1) not in (str(variable), fmt(variable)):
        inputs = {str(s) for s in free_symbols(derivation.of) if isinstance(s, sp.MatrixSymbol)}
        if found.group(1) in inputs:
            notes.append(
                f"the pasted line is a derivative by {found.group(1)}, but the variable is "
                f"{fmt(derivation.wrt)}"
            )
    label = _SHAPE_LABEL.search(text)
    if label:
        written = tuple(re.sub(r"\s", "", part) for part in label.groups())
        rows, cols = (re.sub(r"\s", "", fmt(d)) for d in derivation.shape)
        if written != (rows, cols):
            other = " (the other layout's shape)" if written == (cols, rows) else ""
            notes.append(
                f"its shape label is ({written[0]} × {written[1]}){other}, but the result is "
                f"({rows} × {cols}) in {derivation.layout} layout"
            )
    return f" Note: {'; '.join(notes)}." if notes else ""
