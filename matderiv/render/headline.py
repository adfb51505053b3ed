"""The headline: a derivation's result written to read without the table of steps.

The result step's expression uses the intermediates matderiv named (v_k); the
headline writes them out while it stays short, so that it reads on its own.  A long
subexpression the written-out result repeats (attention's softmax(K q), three times
in Vᵀ (diag(s) - s sᵀ) K) keeps its name instead, and the headline says what it is:
``Vᵀ (diag(v₂) - v₂ v₂ᵀ) K, with v₂ = softmax(K q)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..canon import larger_than, transpose
from ..naming import SECOND_ORDER_NOTE, is_generated_name
from ..nodes import AsScalar
from ..shapes import is_matrix, is_scalar_shape, walk
from ..step_names import dimension_names
from ..substitute import unchecked
from .grouping import with_scalar_sigmoids
from .unicode import fmt

#: the headline writes out the intermediates matderiv named while it stays within
#: this many characters (and, checked first, this many SymPy nodes)
HEADLINE_CHARS = 100
_HEADLINE_NODES = 120
SHORT_ROOT = 12  # characters of a matrix expression written out in its derivative
#: characters of an intermediate written out in a headline that is long anyway
_SHORT_DEFINITION = 16
#: a written-out intermediate of at least this many characters that occurs this many
#: times keeps its name: (10, 3) for softmax(K q) three times, (16, 2) for longer ones
_REPEATED = ((10, 3), (16, 2))
_MAX_NAMED = 3  # names a headline defines after "with"
_COUNTED_NODES = 600  # a result written out in full to count its repeats, at most
_GIVEN_CHARS = 120  # the names a long headline keeps, written out after it, at most
_LONG_CHARS = 300  # a long headline that needs no steps to read, at most


@dataclass(frozen=True)
class Headline:
    """The result as the headline writes it, and the names it keeps with their values
    (written out): ``expr, with name = value, ...``."""

    expr: Any
    where: tuple[tuple[Any, Any], ...] = ()


def headline(d: Any) -> Any:
    """The result for the headline (``written_result(d).expr``)."""
    return written_result(d).expr


def written_result(d: Any) -> Headline:
    """``_written_result``, and the value of the function it keeps by name said after
    it: ``2·f x, with f = exp(xᵀ x)``, ``diag(Y) A, with Y = exp(A x)`` (the function's
    value was not said anywhere)."""
    defines, kept, defs = _intermediates(d)
    dims = _dimensions(d, defs)
    found = _written_result(d, defines, kept, dict(defs), dims)
    root = defines[-1] if defines else None
    if root is None or not isinstance(found.expr, sp.Basic) or root.lhs in dims:
        return found
    kinds = (sp.Symbol,) if is_scalar_shape(root.shape) else (sp.MatrixSymbol,)
    symbol = next((a for a in found.expr.atoms(*kinds) if str(a) == root.lhs), None)
    if symbol is None or root.lhs in kept or any(s == symbol for s, _ in found.where):
        return found
    # the matrices the headline shows stay names in the value (and dimensions stay)
    shown = {str(m) for m in found.expr.atoms(sp.MatrixSymbol)}
    value = _written(root.expr, defs, dims | shown)
    if value is None or len(fmt(value)) > _GIVEN_CHARS:
        return found
    return Headline(found.expr, (*found.where, (symbol, value)))


def _dimensions(d: Any, defs: dict[str, Any]) -> set[str]:
    """The names of the dimensions of the problem (n, p in X: n x p): an intermediate's
    name never stands for one, and writing an intermediate out never replaces one (a
    name g written out inside I_g made an ill-formed matrix)."""
    return dimension_names(walk(d.of, d.wrt, d.steps[-1].expr, *defs.values()))


def _intermediates(d: Any) -> tuple[list[Any], set[str], dict[str, Any]]:
    """The define steps, the names that always stay (the user's, where= symbols, named
    adjoints), and the intermediates a headline may write out, by name."""
    kept = {*d.names, *map(str, d.where), *map(str, d.definitions)}
    defines = [s for s in d.steps if s.kind == "define"]
    defs = {s.lhs: s.expr for s in defines if _written_out(s) and s.lhs not in kept}
    return defines, kept, defs


def _written_result(
    d: Any, defines: list[Any], kept: set[str], defs: dict[str, Any], dims: set[str]
) -> Headline:
    """The result step's expression with the intermediates matderiv named (v_k)
    written out, so that the headline reads without the table; a long subexpression
    written out several times keeps its name, given after the formula.  Past
    ``HEADLINE_CHARS`` characters, the shortest form that still reads without the
    steps (up to ``_LONG_CHARS``), else the short intermediates written out and the
    others left to the steps.  A scalar f itself stays ((1 - f²) a for tanh(aᵀx)); a
    matrix Y is written out (-X⁻ᵀ ⊗ X⁻¹ for X⁻¹).  The user's names, where= symbols
    and named adjoints always stay."""
    expr = d.steps[-1].expr
    root = defines[-1] if defines else None
    if root is not None and root.lhs not in kept and not is_scalar_shape(root.shape):
        inputs_only = not any(str(a) in defs for a in root.expr.atoms(sp.MatrixSymbol))
        if inputs_only and len(fmt(root.expr)) <= SHORT_ROOT:
            defs[root.lhs] = root.expr  # -X⁻ᵀ ⊗ X⁻¹, but diag(1 - Y∘Y) for tanh(A x)
    if not defs or not isinstance(expr, sp.Basic):
        return Headline(expr)
    taken = (
        {str(a) for a in (d.of, d.wrt, expr) for a in _symbols(a)}
        | {s.lhs for s in d.steps}
        | dims
    )
    named = _with_names(expr, defs, dims, taken)
    if named is not None and _length(named) <= HEADLINE_CHARS:
        return named
    written = _written(expr, defs, dims)
    if written is not None and len(fmt(written)) <= HEADLINE_CHARS:
        return Headline(written)
    # long: the shortest form that needs no steps to read, else the short names written
    fallback = _short_names_written(expr, defs, dims)
    if written is None:  # past the short headline's node bound: written out in full
        written = _written(expr, defs, dims, _COUNTED_NODES)
    forms = [fallback, *([named] if named else []), *([Headline(written)] if written else [])]
    whole = [h for h in forms if _complete(h, defs) and _length(h) <= _LONG_CHARS]
    return min(whole, key=_length) if whole else fallback


def _complete(headline: Headline, defs: dict[str, Any]) -> bool:
    """Whether every intermediate the headline uses is given after it."""
    given = {str(name) for name, _ in headline.where}
    texts = (headline.expr, *(v for _, v in headline.where))
    used = {str(a) for t in texts for a in t.atoms(sp.MatrixSymbol, sp.Symbol)}
    return used & defs.keys() <= given


def _reachable(expr: Any, defs: dict[str, Any]) -> list[str]:
    """The names in ``defs`` that ``expr`` uses, directly or through other names."""
    found: list[str] = []
    stack = [expr]
    while stack:
        for a in stack.pop().atoms(sp.MatrixSymbol, sp.Symbol):
            name = str(a)
            if name in defs and name not in found:
                found.append(name)
                stack.append(defs[name])
    return found


def _length(headline: Headline) -> int:
    return len(fmt(headline.expr)) + sum(len(fmt(v)) + 8 for _, v in headline.where)


def _short_names_written(expr: Any, defs: dict[str, Any], dims: set[str]) -> Headline:
    """The result with only its short intermediates written out, the rest given after
    it when they fit."""
    # too long written out: write out only the short names (v₁₃ := 1 - h₁∘h₁ in a
    # program's Hessian), which the headline reads better without
    short = {}
    used = {str(a) for a in expr.atoms(sp.MatrixSymbol, sp.Symbol)} - dims
    for name in used & defs.keys():  # short forms carry no names: only expr's matter
        full = _written(defs[name], defs, dims)
        if full is not None and len(fmt(full)) <= _SHORT_DEFINITION:
            short[name] = full
    partial = _written(expr, short, dims) if short else None
    body = partial if partial is not None else expr
    return Headline(body, _given(body, defs, dims))


def _given(body: Any, defs: dict[str, Any], dims: set[str]) -> tuple[tuple[Any, Any], ...]:
    """The intermediates a long headline keeps by name, each written out, when they fit
    (``_GIVEN_CHARS`` in all): the headline then reads without the steps."""
    names = {str(a): a for a in body.atoms(sp.MatrixSymbol, sp.Symbol)}
    kept = sorted((k for k in names if k in defs), key=_step_number)
    values = [_written(defs[k], defs, dims) for k in kept]
    if not kept or any(v is None for v in values):
        return ()
    if sum(len(fmt(v)) + 8 for v in values) > _GIVEN_CHARS:
        return ()
    return tuple((names[k], v) for k, v in zip(kept, values, strict=True))


def _step_number(name: str) -> tuple[int, str]:
    digits = name.rpartition("_")[2]
    return (int(digits) if digits.isdigit() else 0, name)


def _with_names(expr: Any, defs: dict[str, Any], dims: set[str], taken: set[str]) -> Any:
    """The result written out but for the long subexpressions it would repeat, each
    named and given after it (greedily, the one that saves most first): by its step
    name when it is an intermediate's (v₂ = softmax(K q)), else a fresh letter.  None
    when nothing repeats.  The names it keeps are written out in terms of each other."""
    body = _written(expr, defs, dims, _COUNTED_NODES)  # in full only to count repeats
    if body is None:
        return None
    forms: dict[Any, str] = {}
    for name in _reachable(expr, defs):
        form = _written(defs[name], defs, dims, _COUNTED_NODES)
        if form is not None:
            forms.setdefault(form, name)
    where: list[tuple[Any, Any]] = []
    fresh = (letter for letter in _LETTERS if letter not in taken)
    for _ in range(_MAX_NAMED):
        best = _most_repeated([body, *(value for _, value in where)])
        given = None if best is None else forms.get(best) or next(fresh, None)
        if given is None:
            break
        symbol = sp.MatrixSymbol(given, *best.shape) if is_matrix(best) else sp.Symbol(given)
        body = body.xreplace({best: symbol})
        where = [(s, v.xreplace({best: symbol})) for s, v in where] + [(symbol, best)]
    return Headline(body, tuple(where)) if where else None


#: names for a repeated subexpression that is no intermediate's, the first one free
_LETTERS = ("r", "s", "u", "z", "w", "ρ", "ζ", "η")


def _most_repeated(texts: list[Any]) -> Any:
    """The subexpression whose name would save the most characters in ``texts``, of
    those long enough and repeated often enough (``_REPEATED``); None if none is."""
    counts: Counter[Any] = Counter()
    for text in texts:
        stack = [text]
        while stack:
            node = stack.pop()
            counts[node] += 1
            if isinstance(node, sp.Basic) and not isinstance(node, sp.Lambda):
                stack.extend(node.args)
    best, saved = None, 0
    for node, count in counts.items():
        if count < 2 or not isinstance(node, sp.Basic) or node.is_Number or _is_leaf_like(node):
            continue
        if not node.free_symbols:
            continue
        size = len(fmt(node))
        long_enough = any(size >= least and count >= times for least, times in _REPEATED)
        if long_enough and (count - 1) * size > saved:
            best, saved = node, (count - 1) * size
    return best


def _symbols(expr: Any) -> set[Any]:
    return expr.atoms(sp.Symbol, sp.MatrixSymbol) if isinstance(expr, sp.Basic) else set()


def _is_leaf_like(expr: Any) -> bool:
    """A symbol, or its transpose: nothing to name."""
    return isinstance(expr, (sp.MatrixSymbol, sp.Symbol)) or (
        isinstance(expr, sp.Transpose) and isinstance(expr.arg, sp.MatrixSymbol)
    )


def _written(expr: Any, defs: dict[str, Any], dims: set[str], limit: int = _HEADLINE_NODES) -> Any:
    """``expr`` with the names in ``defs`` written out (in turn: definitions use
    earlier names), or None when that grows past ``limit`` nodes."""
    written = expr
    for _ in range(len(defs)):
        atoms = {
            a: defs[str(a)]
            for a in written.atoms(sp.MatrixSymbol, sp.Symbol)
            if str(a) in defs and str(a) not in dims
        }
        if not atoms:
            break
        written = _flat(written.xreplace(atoms))
        if larger_than(written, limit):
            return None
    written = written.replace(  # exp(-(-wᵀx)): a number inside a 1 x 1 matrix taken out
        lambda e: isinstance(e, AsScalar) and isinstance(e.arg, sp.MatMul) and _numbered(e.arg),
        lambda e: e.arg.args[0] * AsScalar(_product(e.arg.args[1:])),
    )
    return with_scalar_sigmoids(_transposed_sums(written))  # σ(u) before naming repeats


def _numbered(product: Any) -> bool:
    """A product c·M₁·M₂… with a number c first and only matrices after it."""
    first, rest = product.args[0], product.args[1:]
    return bool(first.is_number) and all(is_matrix(a) for a in rest)


def _product(factors: tuple[Any, ...]) -> Any:
    return factors[0] if len(factors) == 1 else unchecked(sp.MatMul, *factors)


def _written_out(step: Any) -> bool:
    """A name the headline may write out: a generated intermediate (v_k), or the
    gradient g := ∇f a second-order derivation names (-X⁻ᵀ Vᵀ X⁻ᵀ, not -X⁻ᵀ Vᵀ g)."""
    return is_generated_name(step.lhs) or step.note.endswith(SECOND_ORDER_NOTE)


def _flat(expr: Any) -> Any:
    """Products inside products merged, as a definition written in leaves them: -v₃
    with v₃ := B v₂ is -B v₂, not -(B v₂)."""

    def merge(product: Any) -> Any:
        args = [x for a in product.args for x in (a.args if isinstance(a, sp.MatMul) else (a,))]
        coeff = sp.Mul(*(a for a in args if not is_matrix(a)))
        mats = [a for a in args if is_matrix(a)]
        return unchecked(sp.MatMul, *([] if coeff == 1 else [coeff]), *mats)

    nested = lambda e: isinstance(e, sp.MatMul) and any(isinstance(a, sp.MatMul) for a in e.args)  # noqa: E731
    return expr.replace(nested, merge)


def _transposed_sums(expr: Any) -> Any:
    """(xᵀ Bᵀ + bᵀ)ᵀ, a row sum v written out inside vᵀ, as the column B x + b."""
    return expr.replace(
        lambda e: isinstance(e, sp.Transpose) and isinstance(e.arg, sp.MatAdd),
        lambda e: transpose(e.arg),
    )
