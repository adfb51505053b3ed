"""One term of the derivative's sum with a slip of its own: a constant factor other
than the derivative's (2Aᵀ(Ax − b) + λx for 2Aᵀ(Ax − b) + 2λx) or a missing transpose
((C A X B)ᵀ + Aᵀ Cᵀ X Bᵀ for C A X B + Aᵀ Cᵀ X Bᵀ).  A term left out or negated is
``missing_term``'s (the derivative's terms as written, then expanded, so a message
names the term as the derivative has it: Σ⁻ᵀ(x − μ)(x − μ)ᵀΣ⁻ᵀ, not its four
products); a factor on the whole, ``Mistakes._factor``'s.  Also a term too many
(2Aᵀ(Ax − b) + 2x for 2Aᵀ(Ax − b)): ``extra_term``; an entrywise factor left out, most
often an activation's derivative (c xᵀ for ((1 − h∘h)∘c) xᵀ): ``missing_entrywise``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy as sp

from .canon import hadamard, matmul, scalar_and_matrices, transpose
from .errors import MatDerivError
from .expand import expanded_terms
from .mistakes import RTOL, Comparison, Found, named, proportional, sum_of
from .nodes import AsScalar, CommutationMatrix, DiagVector
from .render.unicode import fmt
from .trials import Trials, relative_error

#: sums of more terms are searched for one term changed only (left out, negated,
#: extra): two of k terms are k²/2 pairs
MAX_TERMS = 8


#: sums of more terms are searched for one term left out or negated only (2^k sign
#: choices)
MAX_CHANGED_TERMS = 6


def missing_term(m: Comparison) -> Found:
    """The derivative's terms with some left out or negated: the fewest changes
    that give the candidate (a lone sign of the whole is ``_factor``'s -1)."""
    for terms in _term_lists(m.result):
        try:
            cand = m.trials.values(m.candidate)
            values = [m.trials.values(t) for t in terms]
        except (MatDerivError, ValueError):
            continue
        if any(v[0].shape != cand[0].shape for v in values):
            continue
        coeffs = _changed_coefficients(cand, values)
        if coeffs is not None:
            return changed_terms(m, terms, coeffs)
    return None


def _changed_coefficients(cand: list[Any], values: list[list[Any]]) -> list[int] | None:
    """Coefficients 1, 0 (left out) or -1 (negated) of the terms whose values sum to
    ``cand``, the fewest changes first: every choice for up to MAX_CHANGED_TERMS
    terms, one change in a longer sum (linear in its length: each choice is the
    total less a term or two of it)."""
    k = len(values)
    total = _total(values)
    for changed in range(1, (k if k <= MAX_CHANGED_TERMS else 1) + 1):
        for which in itertools.combinations(range(k), changed):
            for signs in itertools.product((0, -1), repeat=changed):
                if changed == k and not any(signs):
                    continue  # every term left out
                combined = total
                for j, sign in zip(which, signs, strict=True):
                    combined = [
                        c - (1 - sign) * v for c, v in zip(combined, values[j], strict=True)
                    ]
                if relative_error(cand, combined) < RTOL:
                    coeffs = [1] * k
                    for j, sign in zip(which, signs, strict=True):
                        coeffs[j] = sign
                    return coeffs
    return None


def _total(values: list[list[Any]]) -> list[Any]:
    """The sum of the terms' values, point by point."""
    return [np.sum([v[i] for v in values], axis=0) for i in range(len(values[0]))]


def changed_terms(m: Comparison, terms: list[Any], coeffs: list[int]) -> Found:
    """The message for terms left out (coefficient 0) or negated (-1)."""
    missing = [t for t, c in zip(terms, coeffs, strict=True) if c == 0]
    negated = [t for t, c in zip(terms, coeffs, strict=True) if c == -1]
    names = m.derivation.names
    parts, details = [], {}
    if missing:
        parts.append(f"lacks the term {fmt(named(sum_of(missing), names))}")
        details["missing"] = sum_of(missing)
    if negated:
        which = "terms" if len(negated) > 1 else "term"
        parts.append(f"has the {which} {fmt(named(sum_of(negated), names))} with the wrong sign")
        details["wrong_sign"] = sum_of(negated)
    kind = "term-sign" if negated else "missing-term"
    message = f"the candidate {' and '.join(parts)}; the {m.thing} is {m.shown_result}."
    return kind, message, details


def term_slip(m: Comparison) -> Found:
    """The first term (of the derivative's own sum, then of its expansion) that, with
    a constant factor or transposed, makes the candidate; None if none does."""
    for terms in _term_lists(m.result):
        found = _slip_in(m, terms)
        if found is not None:
            return found
    return None


def _term_lists(result: Any) -> list[list[Any]]:
    """The terms of ``result`` as written (c·(u + v)·B: c·u·B and c·v·B, one sum
    distributed), and expanded."""
    lists = []
    sums = [k for k, a in enumerate(getattr(result, "args", ())) if isinstance(a, sp.MatAdd)]
    if isinstance(result, sp.MatAdd):
        lists.append(list(result.args))
    elif isinstance(result, sp.MatMul) and len(sums) == 1:  # c (u + v) B: c u B, c v B
        before, total, after = (
            result.args[: sums[0]],
            result.args[sums[0]],
            result.args[sums[0] + 1 :],
        )
        lists.append([matmul(*before, t, *after) for t in total.args])
    elif (through := _through_hadamard(result)) is not None:
        lists.append(through)
    expanded = expanded_terms(result)
    if expanded not in lists:
        lists.append(expanded)
    return [terms for terms in lists if len(terms) >= 2]


def _is_ones(term: Any) -> bool:
    """𝟏 or a scalar times it."""
    mats = scalar_and_matrices(term)[1]
    return len(mats) == 1 and isinstance(mats[0], sp.OneMatrix)


def _through_hadamard(result: Any) -> list[Any] | None:
    """The terms of a sum inside a ∘ product, itself alone or a factor of a product:
    ((u + v)∘A) B is u∘A B + v∘A B (attention's gradient, Y∘(G - (Y∘G) 𝟏𝟏ᵀ) K, whose
    second term is the one forgotten); None without exactly one such sum, or for a sum
    with a ones term (1 - h∘h, a derivative factor: not terms to leave out)."""
    args = list(result.args) if isinstance(result, sp.MatMul) else [result]
    spots = [k for k, a in enumerate(args) if isinstance(a, sp.HadamardProduct)]
    if len(spots) != 1:
        return None
    factors = list(args[spots[0]].args)
    sums = [k for k, f in enumerate(factors) if isinstance(f, sp.MatAdd)]
    if len(sums) != 1 or any(_is_ones(t) for t in factors[sums[0]].args):
        return None  # 1 - h∘h: a tanh′ left out is missing_entrywise's "missing factor"
    terms = []
    for t in factors[sums[0]].args:
        inner = sp.HadamardProduct(*factors[: sums[0]], t, *factors[sums[0] + 1 :])
        terms.append(matmul(*args[: spots[0]], inner, *args[spots[0] + 1 :]))
    return terms


def _slip_in(m: Comparison, terms: list[Any]) -> Found:
    try:
        cand = m.trials.values(m.candidate)
        values = [m.trials.values(t) for t in terms]
    except (MatDerivError, ValueError):
        return None
    if any(v[0].shape != cand[0].shape for v in values):
        return None
    total = _total(values)
    for term, value in zip(terms, values, strict=True):
        left = [c - t + x for c, t, x in zip(cand, total, value, strict=True)]
        factor = _simple(proportional(left, value))
        if factor is None:  # 2b for the 2λb of ridge: a factor that is a symbol
            factor = symbolic_factor(m, left, value)
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


def symbolic_factor(m: Comparison, left: list[np.ndarray], value: list[np.ndarray]) -> Any:
    """q·sᵉ (e = ±1, ±2, q a simple fraction) for a scalar symbol or size s of the
    problem, when ``left`` is that times ``value`` at every point (λ forgotten, σ² for
    σ⁴, n/2 on the wrong term); None if no such factor fits."""
    ratios = [proportional([x], [v]) for x, v in zip(left, value, strict=True)]
    if len(ratios) < 2 or any(r is None for r in ratios):
        return None
    points = m.trials.points
    scalars = sorted({k for p in points for k, v in p.items() if np.size(v) == 1}, key=str)
    for s in scalars:  # sizes, scalar Symbols and 1 x 1 MatrixSymbols (lam: scalar)
        at = [float(np.reshape(p[s], ())) if s in p else np.nan for p in points]
        if len(at) != len(ratios) or len(set(at)) < 2 or 0.0 in at:
            continue  # the same value at every point cannot tell a factor from a number
        for e in (1, -1, 2, -2):
            q = [r / a**e for r, a in zip(ratios, at, strict=True)]  # type: ignore[operator]
            if np.ptp(q) <= 1e-7 * max(abs(x) for x in q):
                c = _simple(float(np.mean(q)))
                if c is not None and c != 0:
                    return c * (AsScalar(s) if isinstance(s, sp.MatrixSymbol) else s) ** e
    return None


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
    if not c.is_number:  # λ, 1/σ², n/2
        return f"{fmt(c)} times it"
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
        total = _total(values)
        for count in (1, 2) if len(terms) <= MAX_TERMS else (1,):
            for extra in itertools.combinations(range(len(terms)), count):
                if count >= len(terms):
                    continue
                kept = total
                for k in extra:
                    kept = [t - v for t, v in zip(kept, values[k], strict=True)]
                if _close(kept, want):
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


#: ∘ products and diag(v) factors of the derivative tried one by one, at most
MAX_ENTRYWISE_FACTORS = 40


def missing_entrywise(m: Comparison) -> Found:
    """The derivative with one factor of a ∘ product left out (or two: σ′ = σ∘(1 - σ)),
    or one diag(v) or commutation matrix K taken as the identity, is the candidate: the
    factor is named (tanh′ = 1 − h∘h, σ′, a mask; K_{n,m} in one term of
    ∂vec(XᵀX)/∂vec(X)).  In a where= program the factor may be in a generated adjoint's
    definition (Ā₁ := step(A₁)∘H̄₁): the program is run with it left out."""
    d = m.derivation
    generated = [(k, v) for k, v in d.definitions.items() if k not in d.where]
    places = [(None, m.result)] + (generated if small_program(d) else [])
    tried = 0
    for symbol, expr in places:
        for node in sp.preorder_traversal(expr):
            for factor, without in _left_out(node):
                tried += 1
                if tried > MAX_ENTRYWISE_FACTORS:
                    return None
                if matches_without(m, symbol, expr.xreplace({node: without})):
                    return _missing_factor(m, node, factor, symbol)
    return None


#: a where= program of at most this many definitions is run again with a factor or term
#: of a generated adjoint left out (a run of a long recurrence's costs as its length)
SMALL_PROGRAM = 16


def small_program(d: Any) -> bool:
    return len(d.definitions) <= SMALL_PROGRAM


def _left_out(node: Any) -> list[tuple[Any, Any]]:
    """(factor, node without it) for each factor of a ∘ product (and each pair of a
    product of three or four), a diag(v) or K."""
    if isinstance(node, (DiagVector, CommutationMatrix)):
        return [(node, sp.Identity(node.shape[0]))]
    if not isinstance(node, sp.HadamardProduct):
        return []
    args = list(node.args)
    pairs = itertools.combinations(args, 2) if 3 <= len(args) <= 4 else ()
    return [
        (
            sp.HadamardProduct(*gone) if len(gone) > 1 else gone[0],
            hadamard(sp.HadamardProduct(*kept)),
        )
        for gone in [(a,) for a in args] + [tuple(p) for p in pairs]
        for kept in [[a for a in args if a not in gone]]
    ]


def matches_without(m: Comparison, symbol: Any, changed: Any) -> bool:
    """The candidate equals the result changed so (the result itself, or a generated
    definition ``symbol`` of the program, whose run then gives the result)."""
    if symbol is None:
        return m.close(m.candidate, changed)
    program = {**m.trials.program, symbol: changed}
    try:
        values = Trials(m.trials.points, program).values(m.result)
        return relative_error(m.trials.values(m.candidate), values) < RTOL
    except (MatDerivError, ValueError):
        return False


def _missing_factor(m: Comparison, node: Any, factor: Any, symbol: Any) -> Found:
    shown = fmt(named(factor, m.derivation.names))
    where = "" if symbol is None else f" of the program's {fmt(symbol)}"
    if isinstance(node, CommutationMatrix):
        return (
            "missing-factor",
            f"the candidate lacks the commutation matrix {shown} in a term "
            f"(K vec(A) = vec(Aᵀ)); the rest agrees. The {m.thing} is {m.shown_result}.",
            {"missing_factor": factor},
        )
    how = "the factor" if factor is not node else "the diagonal factor"
    return (
        "missing-factor",
        f"the candidate lacks {how} {shown}{where} (an entrywise derivative, such as "
        f"tanh′ = 1 - h∘h, or a mask); the rest agrees. The {m.thing} is "
        f"{m.shown_result}.",
        {"missing_factor": factor},
    )
