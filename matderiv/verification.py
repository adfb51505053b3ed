"""verify: is a hand-derived formula the derivative, and if not, what went wrong?

The checks run in order, each with its own message:

1. well formed: every product's inner dimensions agree;
2. shape: the candidate has the derivative's shape in the requested layout
   (or the other layout's, and is then its transpose);
3. equal: symbolically when the simplifier shows it, else numerically at
   several random points and several choices of distinct sizes (inverted and
   determinant matrices get non-symmetric values, ``testing.definite_matrix``,
   so X⁻ᵀ and X⁻¹ differ), scaled down when a value overflows there; values
   that stay NaN or ∞ give the kind "not-finite", and also scaled down when the
   derivative vanishes at points (a saturated tanh′); points where a matrix the
   expressions invert is singular or ill conditioned are drawn again, and when
   every point is, the kind is "undefined"; where the candidate or the derivative
   has a kink (relu, |·|, step, sign, max), also at 3, 10 and 100 times larger
   values, so that a kink at a constant, relu(z - 6), is crossed;
4. when it is wrong, the common mistakes are tried one by one — transposed,
   d/d vec(Xᵀ) instead of d/d vec(X) (a commutation matrix missing), A ⊗ B
   where B ⊗ A is right, a constant
   factor, a scalar factor that changes with the variable (a forgotten outer
   derivative), a sign, a missing term of a sum, a symmetry assumption (a constant
   or the variable itself taken symmetric) — and the one that fits is named.

``order=2`` checks a Hessian (a missing K is located on its side) and, with
``direction=V``, a Hessian-vector product; the checks themselves live in
``diagnosis.py``.

A message is the reason in plain words, without the kind (the renderers show
the kind once); formulas in it are self-contained (``d.result``, with only the
user's ``names``), never the derivation's intermediates.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .derivation import Derivation
from .diagnosis import Checker, named
from .engine import derive
from .entry_sums import entry_sums_as_matrices
from .errors import MatDerivError, ParseError, ShapeMismatch, UnusedNameWarning
from .kinks import LARGER, kink_arguments, kink_trials
from .layout import check_layout, parse_wrt, scalar_variable
from .limits import allows_deep
from .mistakes import RTOL
from .naming import ADJOINT_HINT
from .parse.candidate import parse_candidate
from .pasted import pasted_note
from .render.unicode import fmt
from .scalarize import scalarize
from .second_order import hessian, hvp
from .shapes import check_node, check_shapes, dimension_symbols, dims_equal, shapes_equal
from .trials import (
    Trials,
    UndefinedAtPoints,
    finite_trials,
    informative_trials,
    make_trials,
)
from .verdict import Verdict

F = TypeVar("F", bound=Callable[..., Verdict])


def _unicode_dimensions(text: str, exprs: tuple[Any, ...]) -> str:
    """``text`` with the plain dimension names of ``exprs`` (n_h) written as fmt does (nₕ).

    Shape errors write dimensions plainly, (n_h × n_h·n_i), and formulas with fmt,
    I_{nₕ}; a verdict's message uses fmt's style throughout.
    """
    for symbol in sorted(dimension_symbols(*exprs), key=lambda s: -len(str(s))):
        plain, pretty = str(symbol), fmt(symbol)
        if plain != pretty:
            pattern = rf"(?<![A-Za-z0-9_]){re.escape(plain)}(?![A-Za-z0-9_])"
            text = re.sub(pattern, pretty.replace("\\", r"\\"), text)
    return text


def _named_mismatch(exc: ShapeMismatch, names: Mapping[str, Any]) -> ShapeMismatch:
    """The parser's mismatch, said of ``exc.node`` with the user's named intermediates."""
    try:
        check_node(named(exc.node, names))
    except ShapeMismatch as renamed:
        if not exc.hint:
            return renamed
        said = ShapeMismatch(f"{renamed} {exc.hint}")
        said.node, said.hint = renamed.node, exc.hint
        return said
    return exc


def _root_name(d: Any) -> dict[str, Any]:
    """The name the steps give the function (f, or F when a symbol is called f), for
    a candidate pasted from a headline that uses it: f X⁻ᵀ for ∂ det X/∂X."""
    root = None
    for step in d.steps:  # the function's, before the first result: a Hessian's second
        if step.kind == "result":  # part defines g := ∇f after it
            break
        if step.kind == "define":
            root = step.lhs
    return {} if root is None else {str(root): entry_sums_as_matrices(d.of)}


def _noting_pasted(check: F) -> F:
    """``check`` (verify) with a note where a pasted line's left-hand side or shape
    label contradicts the question (``pasted.py``); a note already said, as in the
    other layout's verdict a wrong-shape one quotes, is not said again."""

    @wraps(check)
    def noted(candidate: Any, *args: Any, **kwargs: Any) -> Verdict:
        found = check(candidate, *args, **kwargs)
        note = pasted_note(candidate, found.derivation) if found.derivation else ""
        if not note or note in found.message:
            return found
        return replace(found, message=found.message + note)

    return noted  # type: ignore[return-value]


@allows_deep
@_noting_pasted
def verify(
    candidate: Any,
    expr: Any,
    wrt: Any,
    layout: str = "numerator",
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    seed: int = 0,
    order: int = 1,
    direction: Any = None,
    symmetric: Iterable[Any] = (),
) -> Verdict:
    """Check a hand-derived ``candidate`` for d(expr)/d(wrt) in ``layout``.

    ``candidate`` is a SymPy expression (matderiv's vec, diag, commutation nodes
    allowed), a string in matderiv's syntax, or LaTeX as written in papers;
    symbols are matched by name to those of ``expr`` and to ``names``.  A pasted
    line's left-hand side (∂f/∂x =) and shape label ((n × 1)) are not checked,
    but a note says where they contradict the question.
    ``where`` is a program as in ``derive``; the candidate may use its symbols
    (and the generated adjoints hbar_t, when ``d.definitions`` has them).

    ``order=2`` checks a Hessian d²f/dvec(X)dvec(X)ᵀ of a scalar ``expr`` instead
    (``hessian(expr, wrt)``; it is symmetric, the same in both layouts), and with
    ``direction=V`` (a MatrixSymbol shaped like X) the Hessian-vector product
    H vec(V) shaped like X (``hvp(expr, wrt, V)``), which the candidate writes with V.

    ``symmetric``: square matrices the candidate may take as symmetric, as a
    covariance Σ is: the derivative is taken as ``derive(..., symmetric=...)`` takes it,
    the candidate is compared at points where they are symmetric, and a right verdict
    says so (2 A x for ∂(xᵀAx)/∂x is then right).  With the variable among them, the
    derivative of a scalar is its gradient among symmetric matrices, (G + Gᵀ)/2.
    """
    wrt, expr, names, where, written = scalar_variable(wrt, expr, names, where)  # d/ds
    candidate = written(candidate)
    # checked by derive (a bare name or matrix there is refused with what to write)
    assumed = symmetric if isinstance(symmetric, (str, sp.Basic)) else list(symmetric or ())
    check_layout(layout)
    if direction is not None and order != 2:
        raise MatDerivError(
            "direction= is the V of a Hessian-vector product H vec(V): pass order=2 with it"
        )
    if order not in (1, 2):
        raise MatDerivError(
            f"verify checks a first derivative (order=1) or a Hessian (order=2), "
            f"not order={order!r}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if order == 2 and direction is not None:
            d = hvp(expr, wrt, direction, names=names, where=where, symmetric=assumed)
        elif order == 2:
            d = hessian(expr, wrt, names=names, where=where, symmetric=assumed)
        else:
            d = derive(expr, wrt, layout, names=names, where=where, symmetric=assumed)
    _warn_again(caught, candidate)
    # the variable too: a derivative may be sized by it (∂(aᵀ b)/∂X = 𝟎_{n×p})
    scope = sp.Tuple(expr, wrt, *d.definitions.keys(), *d.definitions.values())
    if direction is not None:
        scope = sp.Tuple(scope, direction)
    cand: Any = None
    try:
        known = {**_root_name(d), **d.leaf_adjoints, **(names or {})}
        cand = _read_candidate(candidate, scope, known, d.shape, d)
        check_shapes(named(cand, names or {}))
        if cand.has(sp.Sum, MatrixElement):  # exp((wᵀx)[0, 0]) x, as SymPy builds it
            cand = scalarize(entry_sums_as_matrices(cand))
    except ShapeMismatch as exc:
        if exc.node is not None:  # refused while parsing: say it with the names
            exc = _named_mismatch(exc, names or {})
        text = candidate if isinstance(candidate, str) else fmt(candidate)
        seen = (d.of, *((cand,) if cand is not None else ()), *(names or {}).values())
        message = _unicode_dimensions(str(exc), seen)
        details = {"derived": d.result, "expected_shape": d.shape, "error": message}
        shown = named(d.result, d.names)
        return Verdict(False, "ill-formed", message, text, d, details, text, shown)
    undefined: UndefinedAtPoints | None = None
    try:
        trials = make_trials((cand, d.result, d.of), seed=seed, program=d.definitions)
        trials = informative_trials(finite_trials(trials, (cand, d.result)), (cand, d.result))
        if kink_arguments((cand, d.result)):  # relu(z - 6): its kink crossed too
            trials = informative_trials(trials, (cand, d.result), LARGER)
            trials = kink_trials(trials, (cand, d.result), RTOL)
    except UndefinedAtPoints as exc:
        trials, undefined = Trials(()), exc
    assumed = list(d.symmetric)
    if assumed:
        trials = trials.symmetrised(assumed)
    checker = Checker(cand, d, trials)
    # without points, only what needs no numbers
    equality = checker.equality if undefined is None else checker.symbolic_equality
    for step in (checker.shape_check, equality):
        found = step()
        if found is not None:
            if found.kind == "wrong-shape" and order == 1:
                found = _in_other_layout(found, candidate, expr, wrt, names, where, seed, assumed)
            return _with_assumption(found, assumed)
    if undefined is not None:
        message = f"the candidate could not be confirmed: {undefined}"
        return checker.verdict(False, "undefined", message)
    return checker.diagnose()


def _adjoints(d: Derivation) -> str:
    """For a name like an adjoint that the program has not: the ones it has."""
    generated = [str(k) for k in d.definitions if k not in d.where and "bar" in str(k)]
    names = sorted({*generated, *(k for k in d.leaf_adjoints if "bar" in k)})
    return (
        "is not an adjoint of this program (an adjoint of an input, or of a step it has "
        f"not); its adjoints are {', '.join(names) or 'none'}"
    )


def _read_candidate(
    candidate: Any, scope: Any, names: dict[str, Any], shape: Any, d: Derivation
) -> Any:
    """The candidate read; an identity whose size nothing around it gives (I, tr(A) I:
    the Cookbook's ∂tr(X)/∂X = I) is read as the derivative's, when that is square and
    no symbol is called I."""
    try:
        return parse_candidate(candidate, scope, names)
    except ParseError as exc:
        if d.where and ADJOINT_HINT in str(exc):  # the program was given
            raise ParseError(str(exc).replace(ADJOINT_HINT, _adjoints(d))) from None
        unsized = "size of I is unknown" in str(exc) or "unknown symbol 'I'" in str(exc)
        rows, cols = shape
        if not (unsized and dims_equal(rows, cols) and "I" not in names):
            raise
        try:
            return parse_candidate(candidate, scope, {**names, "I": sp.Identity(rows)})
        except MatDerivError:
            raise exc from None


def _warn_again(caught: list[warnings.WarningMessage], candidate: Any) -> None:
    """The derivation's warnings, but for a name the candidate uses: ``names`` serve
    the candidate too (W := diag(exp(X b)) in -Xᵀ W X), not only the expression."""
    for w in caught:
        unused = w.message.names if isinstance(w.message, UnusedNameWarning) else ()
        if unused and all(_mentions(candidate, name) for name in unused):
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _mentions(candidate: Any, name: str) -> bool:
    if isinstance(candidate, str):
        return (
            re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", candidate)
            is not None
        )
    return any(getattr(s, "name", None) == name for s in getattr(candidate, "free_symbols", ()))


def _with_assumption(found: Verdict, assumed: list[Any]) -> Verdict:
    if not assumed or not found.ok:
        return found
    names = ", ".join(fmt(M) for M in assumed)
    variable = parse_wrt(found.derivation.wrt).symbol if found.derivation else None
    among = f": the gradient among symmetric {fmt(variable)}" if variable in assumed else ""
    message = f"{found.message} ({names} taken symmetric, as assumed{among}.)"
    return replace(found, message=message, details={**found.details, "symmetric": assumed})


def _in_other_layout(
    found: Verdict,
    candidate: Any,
    expr: Any,
    wrt: Any,
    names: Mapping[str, Any] | None,
    where: Mapping[Any, Any] | None,
    seed: int,
    assumed: list[Any],
) -> Verdict:
    """A candidate of the wrong shape that has the other layout's shape is wrong there
    too (else it would be "other-layout"): say what is wrong with it there, where the
    mistake is likely made (2 A x for ∂(xᵀ A x)/∂x is right only for a symmetric A)."""
    d = found.derivation
    if not shapes_equal(found.details["candidate_shape"], d.shape[::-1]):
        return found
    other = "denominator" if d.layout == "numerator" else "numerator"
    there = verify(
        candidate, expr, wrt, other, names=names, where=where, seed=seed, symmetric=assumed
    )
    if there.ok or there.kind in ("wrong-shape", "ill-formed", "other-layout"):
        return found
    head, note = found.message, found.message.find(" Note: ")
    if note >= 0 and found.message[note:] in there.message:  # said once, at the end
        head = found.message[:note]
    message = f"{head} In {other} layout, where its shape fits: {there.message}"
    details = {**found.details, "other_layout": {"kind": there.kind, "message": there.message}}
    return replace(found, message=message, details=details)


__all__ = ["Verdict", "verify"]
