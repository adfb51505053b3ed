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
from .layout import LAYOUTS, parse_wrt
from .mistake_assumptions import pm_one, sums_to_one, symmetric_entries, unsymmetrised
from .mistake_kron import extra_commutation
from .mistake_pairs import two_mistakes
from .mistake_powers import matrix_power
from .mistake_program import missing_program_term
from .mistake_symmetric import symmetric
from .mistake_terms import (
    extra_term,
    missing_entrywise,
    missing_term,
    term_slip,
)
from .mistakes import RTOL, Mistakes, named
from .nodes import DiagVector, Vec
from .render.rows import label
from .render.syntax import to_syntax
from .render.unicode import fmt, fmt_shape
from .shapes import (
    dimension_symbols,
    dims_equal,
    is_matrix,
    is_scalar_shape,
    shape_of,
    shapes_equal,
)
from .simplify import simplify
from .small_difference import exact_difference, small_difference
from .trials import NEGLIGIBLE, relative_error, vanishing
from .verdict import Verdict


def _other_layout(layout: str) -> str:
    return LAYOUTS[1 - LAYOUTS.index(layout)]


def _entrywise_inverse_hint(candidate: Any) -> str:
    """For a candidate with an entrywise negative power of a square matrix (``X.T^-1``
    in matderiv's syntax is (Xᵀ)^∘-1, not X⁻ᵀ): how to write the matrix inverse."""
    note = entrywise_power_note(candidate, inverse_only=True)
    return f" Note: the candidate has {note}" if note else ""


def entrywise_power_note(expr: Any, inverse_only: bool = False) -> str:
    """ "the entrywise power X^∘-1: ..." for an entrywise power of a square matrix with
    a negative (or, unless ``inverse_only``, an integer) exponent, which a reader of
    ``X^-1`` or ``X^2`` may have meant as a matrix power; else ""."""
    if not isinstance(expr, sp.Basic):
        return ""
    for power in sorted(expr.atoms(sp.HadamardPower), key=str):
        rows, cols = shape_of(power.base)
        if not dims_equal(rows, cols) or dims_equal(rows, 1):
            continue
        try:
            base = to_syntax(power.base)
        except MatDerivError:
            base = fmt(power.base)
        if power.exp.is_negative:
            return (
                f"the entrywise power {fmt(power)}: `^` is entrywise in this syntax; "
                f"write inv({base}) for the matrix inverse."
            )
        if power.exp.is_Integer and not inverse_only:
            return (
                f"the entrywise power {fmt(power)}: `^` is entrywise in this syntax; "
                f"write matrix_power({base}, {power.exp}) for the matrix power."
            )
    return ""


#: generated definitions written out in a verdict's message, at most
_MAX_GENERATED = 3


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
            message += _entrywise_inverse_hint(self.candidate) + self._independent_note()
            message += self._generated_note(message)
        return Verdict(
            ok, kind, message, self.candidate, self.derivation, details, shown, self.shown
        )

    def _generated_note(self, message: str) -> str:
        """The definitions of the generated names (adjoints h̄ₜ of a where= program) a
        message uses, which the user never wrote: the first few, nearest first."""
        d = self.derivation
        generated = {k: v for k, v in d.definitions.items() if k not in d.where}
        used = [k for k in generated if fmt(k) in message]
        if not used:
            return ""
        order: list[Any] = []
        while used and len(order) < _MAX_GENERATED:
            symbol = used.pop(0)
            if symbol not in order:
                order.append(symbol)
                used += [s for s in generated if s in generated[symbol].free_symbols]
        listed = "; ".join(f"{fmt(k)} := {fmt(named(generated[k], d.names))}" for k in order)
        more = len(set(used) - set(order))
        rest = f" (and {more} more in .derivation.definitions)" if more else ""
        return f" Here {listed}{rest}."

    def _independent_note(self) -> str:
        """A variable the expression does not contain (a typo in wrt, most likely)."""
        d = self.derivation
        var = parse_wrt(d.wrt).symbol
        seen = sp.Tuple(d.of, *(d.where or {}).values()).free_symbols
        if var in seen:
            return ""
        name = fmt(var)
        return (
            f" Note: the expression does not depend on {name}, so its derivative is 0: "
            f"is {name} the variable you meant?"
        )

    def shape_check(self) -> Verdict | None:
        d = self.derivation
        got, want = shape_of(self.candidate), d.shape
        if shapes_equal(got, want):
            return None
        other = _other_layout(d.layout)
        if shapes_equal(got, want[::-1]) and self.close(transpose(self.candidate), self.result):
            if d.mode == "hvp":  # no layouts: shaped like the variable
                return self.verdict(
                    False,
                    "transposed",
                    f"the candidate is the transpose of the {self.thing} "
                    f"{self.shown_result}: take its transpose. The candidate is "
                    f"{fmt_shape(got)}; the {self.thing} is {fmt_shape(want)} "
                    f"({label(d.description)}).",
                )
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
            f"({label(d.description)}).{self._vectorised(got)}{self._diagonal(got)}",
        )

    def _diagonal(self, got: Any) -> str:
        """A vector whose diag(·) is the derivative, a diagonal Jacobian (1 - tanh(x)∘tanh(x)
        for ∂tanh(x)/∂x): said, with diag(...) to write."""
        rows, cols = self.derivation.shape
        if not dims_equal(rows, cols) or dims_equal(rows, 1):
            return ""
        if not (dims_equal(got[0], 1) or dims_equal(got[1], 1)):
            return ""
        column = self.candidate if dims_equal(got[1], 1) else transpose(self.candidate)
        if not dims_equal(shape_of(column)[0], rows):
            return ""
        try:
            same = self.close(DiagVector(column), self.result)
        except (MatDerivError, ValueError):
            return ""
        if not same:
            return ""
        if isinstance(self.result, sp.ZeroMatrix):  # diag(0) is only a zero matrix
            return f" The {self.thing} is 0: write {to_syntax(self.result)}."
        try:
            written = to_syntax(column)
        except MatDerivError:  # an explicit sp.Matrix has no syntax
            written = fmt(column)
        return (
            f" Its entries are the diagonal of the {self.thing}, a diagonal matrix: write "
            f"diag({written}), {fmt_shape(self.derivation.shape)}."
        )

    def _vectorised(self, got: Any) -> str:
        """A column that is vec of the result (H vec(V) for an HVP, vec(∇f)): said,
        with the form wanted."""
        rows, cols = self.derivation.shape
        if not dims_equal(got[1], 1) or dims_equal(cols, 1):
            return ""
        if not dims_equal(got[0], rows * cols):
            return ""
        try:
            same = self.close(self.candidate, Vec(self.result))
        except (MatDerivError, ValueError):
            return ""
        if not same:
            return ""
        return (
            f" Its values are those of vec of the {self.thing}: matderiv gives it "
            f"de-vectorised, {fmt_shape(self.derivation.shape)}: {self.shown_result}."
        )

    def symbolic_equality(self) -> Verdict | None:
        # a 1 x 1 result written as a scalar is not always a fixed point of the rules
        cand = simplify(self.candidate)
        if cand == self.result or cand == simplify(self.result):
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
        rest = exact_difference(self) if err < RTOL else None
        if rest is not None:  # a small term the values alone would miss, or a kink's
            kind, message, details = small_difference(self, *rest)
            return self.verdict(False, kind, message, max_error=err, **details)
        if err < RTOL:
            sizes = ", distinct sizes" if dimension_symbols(self.derivation.of) else ""
            where = f"numerically ({len(self.trials.points)} random points{sizes})"
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
                "(NaN or ∞) at the random points verify compares at (a square root, log or "
                "fractional power of a negative entry, an overflow), and it does not equal "
                f"the {self.thing} "
                f"symbolically. The {self.thing} is {self.shown_result}.",
                max_error=err,
            )
        checks = (
            lambda: unsymmetrised(self),  # G by a symmetric X: before its transpose, Gᵀ
            self._transposed,
            lambda: matrix_power(self),  # 1 - tanh(X W)² meant entrywise
            self._commutation,
            lambda: extra_commutation(self),  # (I ⊗ xᵀ) K: before "factors swapped"
            self._kron_order,
            self._other_axis,
            self._factor,
            self._scalar_factor,
            # 2Σ⁻¹ - Σ⁻¹∘I, by a symmetric Σ's entries (A + Aᵀ - A∘I: not "extra terms")
            lambda: symmetric_entries(self),
            lambda: missing_term(self),
            lambda: extra_term(self),
            lambda: pm_one(self),  # y∘y dropped for labels y = ±1 (before "missing y∘y")
            # softmax(z) - y for a label y that sums to 1; before "missing (Y 𝟏 𝟏ᵀ)∘" for
            # a batch Y whose rows do
            lambda: sums_to_one(self),
            lambda: missing_entrywise(self),
            lambda: missing_program_term(self),  # a term of a generated adjoint
            lambda: symmetric(self),  # before a term's transpose: 2A for A + Aᵀ assumed A = Aᵀ
            lambda: term_slip(self),
        )
        for check in (*checks, lambda: two_mistakes(self)):
            found = check()
            if found is not None:
                return self.verdict(False, found[0], found[1], max_error=err, **found[2])
        return self.verdict(
            False,
            "wrong",
            f"the candidate differs from the {self.thing} (largest relative error "
            f"{err:.3g}), and none of the common mistakes — a transpose, a missing "
            "commutation matrix, Kronecker factors swapped, a softmax along the other axis, "
            "a constant or variable scalar "
            "factor, a sign, a missing or extra term, a missing ∘ factor (tanh′, say), one "
            "term with its own factor or transpose, "
            "a symmetry assumption, labels that sum to 1 or are ±1, the derivative by a symmetric "
            "matrix's independent entries, or one of the first "
            "three with a sign, factor or term — explains it. "
            f"The {self.thing} is {self.shown_result}.",
            max_error=err,
        )
