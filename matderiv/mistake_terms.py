"""One term of the derivative's sum with a slip of its own: a constant factor other
than the derivative's (2Aᵀ(Ax − b) + λx for 2Aᵀ(Ax − b) + 2λx) or a missing transpose
((C A X B)ᵀ + Aᵀ Cᵀ X Bᵀ for C A X B + Aᵀ Cᵀ X Bᵀ).  A term left out or negated is
``Mistakes._missing_term``'s; a factor on the whole, ``Mistakes._factor``'s.  Also
a term too many (2Aᵀ(Ax − b) + 2x for 2Aᵀ(Ax − b)): ``extra_term``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy as sp

from .canon import matmul, transpose
from .errors import MatDerivError
from .mistakes import RTOL, Comparison, Found, expanded_terms, named, proportional, sum_of
from .render.unicode import fmt
from .trials import relative_error

#: sums of more terms are not searched term by term
MAX_TERMS = 8


def term_slip(m: Comparison) -> Found:
    """The first term (of the derivative's own sum, then of its expansion) that, with
    a constant factor or transposed, makes the candidate; None if none does."""
    for terms in _term_lists(m.result):
        found = _slip_in(m, terms)
        if found is not None:
            return found
    return None


def _term_lists(result: Any) -> list[list[Any]]:
    """The terms of ``result`` as written (c·(u + v): c·u and c·v), and expanded."""
    lists = []
    coeff, body = sp.S.One, result
    if isinstance(result, sp.MatMul) and len(result.args) == 2 and not result.args[0].is_Matrix:
        coeff, body = result.args
    if isinstance(body, sp.MatAdd):
        lists.append([matmul(coeff, t) for t in body.args])
    expanded = expanded_terms(result)
    if expanded not in lists:
        lists.append(expanded)
    return [terms for terms in lists if 2 <= len(terms) <= MAX_TERMS]


def _slip_in(m: Comparison, terms: list[Any]) -> Found:
    try:
        cand = m.trials.values(m.candidate)
        values = [m.trials.values(t) for t in terms]
    except (MatDerivError, ValueError):
        return None
    if any(v[0].shape != cand[0].shape for v in values):
        return None
    total = [np.sum([v[k] for v in values], axis=0) for k in range(len(cand))]
    for term, value in zip(terms, values, strict=True):
        left = [c - t + x for c, t, x in zip(cand, total, value, strict=True)]
        factor = _simple(proportional(left, value))
        if factor is not None and factor not in (1, 0, -1):
            return _wrong_factor(m, term, factor)
        square = value[0].shape[0] == value[0].shape[1] and value[0].shape[0] > 1
        if square and _close(left, [x.T for x in value]) and not _close(left, value):
            return _transposed_term(m, term)
    return None


def _simple(factor: float | None) -> Any:
    """``factor`` as a simple fraction (2, 1/2, 3/2), or None: a factor like 23.99999992
    is rounding in a badly conditioned term, not a slip of the hand."""
    if factor is None:
        return None
    c = sp.nsimplify(factor, tolerance=1e-8, rational=True)
    return c if c.q <= 12 and abs(c.p) <= 100 else None


def _close(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return relative_error(a, b) < RTOL


def _wrong_factor(m: Comparison, term: Any, c: Any) -> Found:
    shown = named(term, m.derivation.names)
    written = named(matmul(c, term), m.derivation.names)
    return (
        "term-factor",
        f"the candidate has {fmt(written)} where the {m.thing} has the term {fmt(shown)} "
        f"({_times(c)}); the rest agrees. The {m.thing} is {m.shown_result}.",
        {"term": term, "term_factor": c},
    )


def _times(c: Any) -> str:
    """'1/2 of it', '3/2 times it', '-2 times it'."""
    return f"{c} of it" if 0 < c < 1 else f"{c} times it"


def _transposed_term(m: Comparison, term: Any) -> Found:
    shown = named(term, m.derivation.names)
    return (
        "term-transposed",
        f"the candidate has the term {fmt(shown)} transposed ({fmt(transpose(shown))}); "
        f"the rest agrees: check the transposes in that term. The {m.thing} is "
        f"{m.shown_result}.",
        {"term": term},
    )


def extra_term(m: Comparison) -> Found:
    """The candidate's terms (as written, then expanded) with one or two too many:
    without them it is the derivative."""
    for terms in _term_lists(m.candidate):
        try:
            values = [m.trials.values(t) for t in terms]
            want = m.trials.values(m.result)
        except (MatDerivError, ValueError):
            continue
        if any(v[0].shape != want[0].shape for v in values):
            continue
        for count in (1, 2):
            for extra in itertools.combinations(range(len(terms)), count):
                if count >= len(terms):
                    continue
                kept = [v for k, v in enumerate(values) if k not in extra]
                total = [np.sum([v[i] for v in kept], axis=0) for i in range(len(want))]
                if _close(total, want):
                    return _extra(m, [terms[k] for k in extra])
    return None


def _extra(m: Comparison, extra: list[Any]) -> Found:
    which, them = ("terms", "them") if len(extra) > 1 else ("term", "it")
    shown = fmt(named(sum_of(extra), m.derivation.names))
    return (
        "extra-term",
        f"the candidate has the extra {which} {shown}: without {them}, it equals the "
        f"{m.thing}. The {m.thing} is {m.shown_result}.",
        {"extra": extra},
    )
