"""Verdict: what ``verify`` answers about a hand-derived formula."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .derivation import Derivation
from .limits import allows_deep, deep_recursion
from .render import verdict_view


@dataclass(frozen=True)
class Verdict:
    """The answer of ``verify``: truthy when the candidate is the derivative.

    kind     "correct", "ill-formed", "wrong-shape", "other-layout", "transposed",
             "matrix-power" (A² of a square matrix where A∘A is meant; details["fix"]),
             "commutation" (a commutation matrix missing, one too many, or K_{m,n} for
             K_{n,m}; details["fix"]), "kron-order" (the factors of a Kronecker product
             swapped),
             "other-axis" (a softmax along the other axis of a matrix: softmax_cols
             for softmax_rows; details["fix"]),
             "factor", "scalar-factor", "sign", "missing-term", "extra-term"
             (details["extra"]: the candidate's terms too many), "missing-factor" (a
             factor of a ∘ product, a diag(v) or a commutation matrix left out;
             details["missing_factor"]),
             "term-sign" (terms of a sum left out or with the wrong sign),
             "term-factor", "term-transposed" (one term with a constant factor of its
             own, or transposed; details["term"]), "symmetric" (right only if a
             square matrix is symmetric, details["symmetric"], or several: a tuple),
             "sums-to-one" (right only if an input vector's entries sum to 1, or each
             row or column of an input matrix; details["sums_to_one"], and
             details["along"], "rows" or "columns", for a matrix),
             "pm-one" (right only if an input vector's entries are ±1; details["pm_one"]),
             "symmetric-entries" (a gradient by a square X written as the derivative by
             the independent entries of a symmetric X, G + Gᵀ - G∘I; details["symmetric"]),
             "unsymmetrised" (for a variable X in symmetric=, a candidate whose symmetric
             part is the gradient: G by the n² entries, or Gᵀ; details["plain"] is G),
             "two-mistakes" (an arrangement — transposed, a commutation matrix, Kronecker
             factors swapped, a softmax's axis — and a sign, factor or term, or a
             symmetry assumption and a sign or factor, or labels that sum to 1 and a
             sign, factor or arrangement; details["mistakes"] names both),
             "wrong", or
             "not-finite" (not confirmed: the values at the random points are NaN or ∞,
             so no comparison could be made), "undefined" (not confirmed: a matrix
             the expressions invert is singular at every random point and size), or
             "vanishing" (not confirmed: the derivative is numerically 0 at every
             random point, even at smaller values), or "unswitched-kink" (not
             confirmed: the candidate lacks a term with a kink, step(z - 1000), that
             is 0 at every point, also at larger values, as the kink is never crossed).
    message  the reason in plain words (without the kind, which the renderers show).
    details  the derived result, both shapes and, when checked numerically,
             the largest error (and what the diagnosis found).
    """

    ok: bool
    kind: str
    message: str
    candidate: Any
    derivation: Derivation
    details: Mapping[str, Any] = field(default_factory=dict)
    shown_candidate: Any = None  # the candidate with named intermediates shown by name
    shown_result: Any = None  # d.result, the user's named intermediates shown by name

    def __bool__(self) -> bool:
        return self.ok

    @allows_deep
    def __str__(self) -> str:
        return verdict_view.render_text(self)

    @allows_deep
    def __repr__(self) -> str:
        return verdict_view.render_repr(self)

    @allows_deep
    def _repr_markdown_(self) -> str:
        return verdict_view.render_markdown(self)

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        with deep_recursion():
            rendered = list(verdict_view.renderables(self))
        yield from rendered
