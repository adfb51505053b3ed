"""A matrix power where the entrywise one is meant.

In LaTeX and the Unicode notation, ``^2`` and ``²`` of a square matrix are the matrix
power (as they must be: A² = A A); a backprop formula written as papers write it,
1 - \\tanh(X W)^2 for a square layer, means the entrywise square.  A candidate that is
right with each such power taken entrywise is named so, not only "wrong".
"""

from __future__ import annotations

import sympy as sp

from .mistakes import Comparison, Found
from .render.unicode import fmt
from .shapes import dims_equal, shape_of


def matrix_power(m: Comparison) -> Found:
    """Each matrix power of a square matrix in the candidate taken entrywise in turn,
    then all at once: the first that makes the candidate the derivative."""
    powers = sorted(
        (p for p in m.candidate.atoms(sp.MatPow) if _square(p.base) and p.exp.is_Integer),
        key=sp.default_sort_key,
    )
    tries = [[p] for p in powers] + ([powers] if len(powers) > 1 else [])
    for chosen in tries:
        turned = {p: sp.HadamardPower(p.base, p.exp) for p in chosen}
        fixed = m.candidate.xreplace(turned)
        if m.close(fixed, m.result):
            pairs = ", ".join(f"{fmt(p)} should be {fmt(e)}" for p, e in turned.items())
            return (
                "matrix-power",
                f"the candidate has the matrix power of a square matrix where the entrywise "
                f"power is meant: {pairs} (^2 and ² of a square matrix are the matrix "
                r"power A A; write ^{\circ 2} in LaTeX, ∘² in the Unicode notation, ** 2 "
                f"in matderiv's syntax). The {m.thing} is {m.shown_result}.",
                {"fix": fixed},
            )
    return None


def _square(base: object) -> bool:
    rows, cols = shape_of(base)
    return dims_equal(rows, cols) and not dims_equal(rows, 1)
