"""A candidate equal to the derivative at the random points but not symbolically: the
terms left in their difference, evaluated on their own (10⁻⁸ x, a dropped weight
decay, is lost in the comparison of values), and what they say is wrong."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .canon import matadd, matmul
from .comparable import comparable
from .expand import expanded_terms
from .kinks import LARGER, unswitched
from .mistake_terms import changed_terms
from .mistakes import Mistakes, named, sum_of
from .nodes import AsScalar
from .render.unicode import fmt
from .shapes import is_matrix
from .simplify import simplify
from .trials import relative_error

#: what is wrong: (kind, message, details)
Mistake = tuple[str, str, dict[str, Any]]

#: the terms left in the symbolic difference of candidate and derivative are not 0
#: when their sum is above EXACT_RTOL times the largest of them (not their own
#: cancellation: a dropped term is 1 times itself) and above ROUNDING times the
#: derivative's largest entry (at least 1), well above float64's rounding of it
EXACT_RTOL = 1e-6
ROUNDING = 1e-11
#: smaller values at which a term left in the difference is also evaluated: one that
#: vanishes at the points' scale may not at these (exp(-1000 xᵀx) x)
SMALLER = (0.1, 0.01)


def _scales() -> str:
    """ "3, 10 and 100": LARGER."""
    return ", ".join(f"{k:g}" for k in LARGER[:-1]) + f" and {LARGER[-1]:g}"


def exact_difference(m: Mistakes) -> tuple[list[Any], list[Any]] | None:
    """The terms of candidate - derivative when they are not 0, though the values
    agree to RTOL (else None): the terms the two share cancel exactly in the
    symbolic difference, and what is left (10⁻⁸ x for a dropped weight decay) is
    evaluated directly, without cancelling against the shared terms.  What is left
    is 0 when it is below the rounding of its own terms and of the derivative;
    with no shared terms the values alone decide, to RTOL.  The second list is empty,
    or, for terms 0 at every point only because a kink in them is never crossed there
    (step(z - 1000)), the arguments of those kinks: the terms could not be evaluated
    where they are not 0."""
    cand, result = comparable(m.candidate), comparable(m.result)  # tanh(x) twice
    cand_terms, result_terms = expanded_terms(cand), expanded_terms(result)
    if is_matrix(cand) and is_matrix(result):
        difference = simplify(matadd(cand, matmul(-1, result)))
    else:  # a 1 x 1 derivative written as a scalar, on one side or both
        scalar = [AsScalar(e) if is_matrix(e) else e for e in (cand, result)]
        difference = sp.expand(scalar[0] - scalar[1])
    rest = [t for t in expanded_terms(difference) if not isinstance(t, sp.ZeroMatrix)]
    if not rest or len(rest) >= len(cand_terms) + len(result_terms):
        return None
    # also at smaller values: 2x + exp(-1000 xᵀx) x underflows to 2x at the points
    for trials in (m.trials, *(m.trials.scaled(k, scalars=True) for k in SMALLER)):
        values = [trials.values(t) for t in rest]
        for i, res in enumerate(trials.values(m.result)):
            total = np.sum([v[i] for v in values], axis=0)
            noise = max(float(np.max(np.abs(v[i]), initial=0.0)) for v in values)
            scale = max(float(np.max(np.abs(res), initial=0.0)), 1.0)
            size = float(np.max(np.abs(total), initial=0.0))
            if np.isfinite(size) and size > EXACT_RTOL * noise and size > ROUNDING * scale:
                return rest, []
    kinks = unswitched(m.trials, tuple(rest))
    return (rest, kinks) if kinks else None


def _small(m: Mistakes, rest: list[Any]) -> Mistake:
    """What is wrong with a candidate that differs by ``rest``, terms small at the
    points: missing or negated terms of the derivative, a factor, or just the
    difference."""
    terms = expanded_terms(m.result)
    split = [t.as_coeff_mmul() for t in terms]
    coeffs: list[Any] = [sp.S.One] * len(terms)
    for term in rest:
        coeff, matrix = term.as_coeff_mmul()
        match = [k for k, (_, other) in enumerate(split) if other == matrix]
        if len(match) != 1:
            break
        coeffs[match[0]] += coeff / split[match[0]][0]
    else:
        if all(c in (0, -1, 1) for c in coeffs) and any(c != 1 for c in coeffs):
            found = changed_terms(m, terms, [int(c) for c in coeffs])
            assert found is not None
            return found
        constant = not coeffs[0].atoms(sp.MatrixSymbol) and all(
            symbol.is_integer for symbol in coeffs[0].free_symbols
        )
        if len(set(coeffs)) == 1 and constant:
            factor = coeffs[0]  # a number or a size (1/n): not one that varies
            return (
                "factor",
                f"the candidate is {fmt(factor)} times the {m.thing}. The {m.thing} "
                f"is {m.shown_result}.",
                {"factor": factor},
            )
    difference = named(sum_of(rest), m.derivation.names)
    err = relative_error(m.trials.values(m.candidate), m.trials.values(m.result))
    return (
        "wrong",
        f"the candidate differs from the {m.thing} by {fmt(difference)}: not 0, "
        f"though small at the random points (largest relative error {err:.3g}). "
        f"The {m.thing} is {m.shown_result}.",
        {},
    )


def _unswitched(m: Mistakes, rest: list[Any], kinks: list[Any]) -> Mistake:
    """A difference 0 at every point because its ``kinks`` are never crossed there."""
    difference = named(sum_of(rest), m.derivation.names)
    arguments = ", ".join(fmt(named(g, m.derivation.names)) for g in kinks)
    return (
        "unswitched-kink",
        f"the candidate could not be confirmed: it differs from the {m.thing} by "
        f"{fmt(difference)}, which is 0 at every random point verify compares at, "
        f"also at {_scales()} times larger values: the sign "
        f"of {arguments} never changes there, so the kink is never crossed. The candidate "
        f"is right only where that term is 0. The {m.thing} is {m.shown_result}.",
        {},
    )


def small_difference(m: Mistakes, rest: list[Any], kinks: list[Any]) -> Mistake:
    """What is wrong with a candidate that differs from the derivative by ``rest``,
    terms small at the points, or 0 there as their ``kinks`` are never crossed (see
    ``exact_difference``): missing or negated terms of the derivative, a factor, or
    the difference."""
    return _unswitched(m, rest, kinks) if kinks else _small(m, rest)
