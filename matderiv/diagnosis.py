"""The checks behind ``verify`` once a candidate parses: its shape, equality with the
derivative, and, when it is wrong, the common mistakes tried one by one
(``mistakes.py``).

A message is the reason in plain words, without the kind (the renderers show
the kind once); formulas in it are self-contained (``d.result``, with only the
user's ``names``), never the derivation's intermediates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .canon import transpose
from .errors import MatDerivError
from .layout import LAYOUTS
from .mistakes import RTOL, Mistakes, named
from .render.rows import label
from .render.syntax import to_syntax
from .render.unicode import fmt, fmt_shape
from .shapes import dims_equal, is_matrix, is_scalar_shape, shape_of, shapes_equal
from .simplify import simplify
from .trials import NEGLIGIBLE, relative_error, vanishing
from .verdict import Verdict


def _other_layout(layout: str) -> str:
    return LAYOUTS[1 - LAYOUTS.index(layout)]


def _entrywise_inverse_hint(candidate: Any) -> str:
    """For a candidate with an entrywise negative power of a square matrix (``X.T^-1``
    in matderiv's syntax is (Xᵀ)^∘-1, not X⁻ᵀ): how to write the matrix inverse."""
    if not isinstance(candidate, sp.Basic):
        return ""
    for power in sorted(candidate.atoms(sp.HadamardPower), key=str):
        rows, cols = shape_of(power.base)
        if power.exp.is_negative and dims_equal(rows, cols) and not dims_equal(rows, 1):
            try:
                base = to_syntax(power.base)
            except MatDerivError:
                base = fmt(power.base)
            return (
                f" Note: the candidate has the entrywise power {fmt(power)}: `^` is "
                f"entrywise in this syntax; write inv({base}) for the matrix inverse."
            )
    return ""


@dataclass
class Checker(Mistakes):
    """Shape, equality and, when the candidate is wrong, the diagnosis: a Verdict."""

    def __post_init__(self) -> None:
        """A bare 0 (``"0"``, ``sp.S.Zero``) is the zero matrix of the derivative's shape
        (a 1 × 1 one too, when the derivative is a matrix)."""
        shape = self.derivation.shape
        matrix = is_matrix(self.result) or not is_scalar_shape(shape)
        if self.candidate == 0 and not is_matrix(self.candidate) and matrix:
            self.candidate = sp.ZeroMatrix(*shape)

    def verdict(self, ok: bool, kind: str, message: str, **details: Any) -> Verdict:
        base = {
            "derived": self.result,
            "candidate_shape": shape_of(self.candidate),
            "expected_shape": self.derivation.shape,
        }
        shown = named(self.candidate, self.derivation.names)
        details = {**base, **details}
        if not ok:
            message += _entrywise_inverse_hint(self.candidate)
        return Verdict(
            ok, kind, message, self.candidate, self.derivation, details, shown, self.shown
        )

    def shape_check(self) -> Verdict | None:
        d = self.derivation
        got, want = shape_of(self.candidate), d.shape
        if shapes_equal(got, want):
            return None
        other = _other_layout(d.layout)
        if shapes_equal(got, want[::-1]) and self.close(transpose(self.candidate), self.result):
            return self.verdict(
                False,
                "other-layout",
                f"this is the {other}-layout form; in {d.layout} layout take its transpose. "
                f"The candidate is {fmt_shape(got)}; in {d.layout} layout the derivative is "
                f"{fmt_shape(want)} ({label(d.description)}).",
            )
        return self.verdict(
            False,
            "wrong-shape",
            f"the candidate is {fmt_shape(got)}, but {self.target} is {fmt_shape(want)} "
            f"({label(d.description)}).",
        )

    def symbolic_equality(self) -> Verdict | None:
        if simplify(self.candidate) == self.result:
            return self.verdict(True, "correct", self._correct("symbolically"), max_error=0.0)
        return None

    def equality(self) -> Verdict | None:
        found = self.symbolic_equality()
        if found is not None:
            return found
        err = relative_error(self.trials.values(self.candidate), self.trials.values(self.result))
        result = self.trials.values(self.result)
        if err < RTOL and vanishing(result) == len(result):
            return self.verdict(
                False,
                "vanishing",
                f"the candidate could not be confirmed: the {self.thing} is 0 (below "
                f"{NEGLIGIBLE:g}) at every random point verify compares at, even at smaller "
                "values (a saturated tanh or σ, say), so the values cannot tell a candidate "
                f"from it, and it does not equal the {self.thing} symbolically. The "
                f"{self.thing} is {self.shown_result}.",
                max_error=err,
            )
        if err < RTOL:
            where = f"numerically ({len(self.trials.points)} random points, distinct sizes)"
            return self.verdict(True, "correct", self._correct(where), max_error=err)
        return None

    def _correct(self, how: str) -> str:
        return f"the candidate equals {self.target} (checked {how})."

    def diagnose(self) -> Verdict:
        err = relative_error(self.trials.values(self.candidate), self.trials.values(self.result))
        if np.isnan(err):
            return self.verdict(
                False,
                "not-finite",
                f"the candidate could not be confirmed: it or the {self.thing} is not finite "
                "(NaN or ∞) at the random points verify compares at (a square root or log "
                f"of a negative entry, an overflow), and it does not equal the {self.thing} "
                f"symbolically. The {self.thing} is {self.shown_result}.",
                max_error=err,
            )
        checks = (
            self._transposed,
            self._commutation,
            self._factor,
            self._scalar_factor,
            self._missing_term,
            self._symmetric,
        )
        for check in checks:
            found = check()
            if found is not None:
                return self.verdict(False, found[0], found[1], max_error=err, **found[2])
        return self.verdict(
            False,
            "wrong",
            f"the candidate differs from the {self.thing} (largest relative error "
            f"{err:.3g}), and none of the common mistakes — a transpose, a missing "
            "commutation matrix, a constant or variable scalar factor, a sign, a missing "
            "term, a symmetry assumption — explains it. "
            f"The {self.thing} is {self.shown_result}.",
            max_error=err,
        )
