"""verify: is a hand-derived formula the derivative, and if not, what went wrong?

The checks run in order, each with its own message:

1. well formed: every product's inner dimensions agree;
2. shape: the candidate has the derivative's shape in the requested layout
   (or the other layout's, and is then its transpose);
3. equal: symbolically when the simplifier shows it, else numerically at
   several random points and several choices of distinct sizes (inverted and
   determinant matrices get non-symmetric values, ``testing.definite_matrix``,
   so X⁻ᵀ and X⁻¹ differ);
4. when it is wrong, the common mistakes are tried one by one — transposed,
   d/d vec(Xᵀ) instead of d/d vec(X) (a commutation matrix missing), a constant
   factor, a sign, a missing term of a sum, a symmetry assumption (a constant
   or the variable itself taken symmetric) — and the one that fits is named.

A message is the reason in plain words, without the kind (the renderers show
the kind once); formulas in it are self-contained (``d.result``, with only the
user's ``names``), never the derivation's intermediates.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .canon import transpose
from .derivation import Derivation
from .engine import derive
from .errors import MatDerivError, ShapeMismatch
from .layout import LAYOUTS, parse_wrt
from .nodes import CommutationMatrix, Vec
from .parse.candidate import parse_candidate
from .render import verdict_view
from .render.rows import label
from .render.unicode import fmt, fmt_shape
from .shapes import (
    check_node,
    check_shapes,
    dimension_symbols,
    dims_equal,
    scalarize,
    shape_of,
    shapes_equal,
)
from .simplify import simplify
from .trials import Trials, best_factor, make_trials, relative_error

RTOL = 1e-7


@dataclass(frozen=True)
class Verdict:
    """The answer of ``verify``: truthy when the candidate is the derivative.

    kind     "correct", "ill-formed", "wrong-shape", "other-layout", "transposed",
             "commutation", "factor", "sign", "missing-term", "symmetric" or "wrong".
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

    def __str__(self) -> str:
        return verdict_view.render_text(self)

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        yield from verdict_view.renderables(self)


# -- the checks ---------------------------------------------------------------------


def _other_layout(layout: str) -> str:
    return LAYOUTS[1 - LAYOUTS.index(layout)]


def _terms(expr: Any) -> list[Any]:
    """The terms of ``expr`` as a sum of products (products distributed over sums)."""
    expanded = sp.expand(expr) if not getattr(expr, "is_Matrix", False) else expr.expand()
    if isinstance(expanded, (sp.MatAdd, sp.Add)):
        return list(expanded.args)
    return [expanded]


def _named(expr: Any, names: Mapping[str, Any]) -> Any:
    """``expr`` with the user's named intermediates shown by name."""
    if not isinstance(expr, sp.Basic):
        return expr
    table = {
        scalarize(v): sp.MatrixSymbol(k, *v.shape)
        for k, v in names.items()
        if getattr(v, "is_Matrix", False)
    }
    return scalarize(expr).xreplace(table)


@dataclass
class _Checker:
    candidate: Any
    derivation: Derivation
    trials: Trials

    @property
    def result(self) -> Any:
        return self.derivation.result

    @property
    def shown(self) -> Any:
        """d.result, self-contained: the user's named intermediates by name, nothing else."""
        return _named(self.result, self.derivation.names)

    @property
    def shown_result(self) -> str:
        return fmt(self.shown)

    def verdict(self, ok: bool, kind: str, message: str, **details: Any) -> Verdict:
        base = {
            "derived": self.result,
            "candidate_shape": shape_of(self.candidate),
            "expected_shape": self.derivation.shape,
        }
        shown = _named(self.candidate, self.derivation.names)
        details = {**base, **details}
        return Verdict(
            ok, kind, message, self.candidate, self.derivation, details, shown, self.shown
        )

    def close(self, a: Any, b: Any) -> bool:
        """a ≈ b at every trial point."""
        try:
            return relative_error(self.trials.values(a), self.trials.values(b)) < RTOL
        except (MatDerivError, ValueError):
            return False

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
            f"the candidate is {fmt_shape(got)}, but the derivative in "
            f"{d.layout} layout is {fmt_shape(want)} ({label(d.description)}).",
        )

    def equality(self) -> Verdict | None:
        if simplify(self.candidate) == self.result:
            return self.verdict(True, "correct", self._correct("symbolically"), max_error=0.0)
        err = relative_error(self.trials.values(self.candidate), self.trials.values(self.result))
        if err < RTOL:
            where = f"numerically ({len(self.trials.points)} random points, distinct sizes)"
            return self.verdict(True, "correct", self._correct(where), max_error=err)
        return None

    def _correct(self, how: str) -> str:
        return (
            f"the candidate equals the derivative in {self.derivation.layout} "
            f"layout (checked {how})."
        )

    def diagnose(self) -> Verdict:
        err = relative_error(self.trials.values(self.candidate), self.trials.values(self.result))
        if np.isnan(err):
            return self.verdict(
                False,
                "wrong",
                "the candidate could not be confirmed: it or the derivative is not finite "
                "(NaN or ∞) at the random points verify compares at (a square root or log "
                "of a negative entry, an overflow), and it does not equal the derivative "
                f"symbolically. The derivative is {self.shown_result}.",
                max_error=err,
            )
        checks = (
            self._transposed,
            self._commutation,
            self._factor,
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
            f"the candidate differs from the derivative (largest relative error "
            f"{err:.3g}), and none of the common mistakes — a transpose, a missing "
            "commutation matrix, a constant factor, a sign, a missing term, a symmetry "
            "assumption — explains it. "
            f"The derivative is {self.shown_result}.",
            max_error=err,
        )

    def _transposed(self) -> tuple[str, str, dict[str, Any]] | None:
        rows, cols = shape_of(self.candidate)
        if dims_equal(rows, cols) and self.close(transpose(self.candidate), self.result):
            return (
                "transposed",
                "the candidate is the transpose of the derivative "
                f"{self.shown_result}; check the layout and the transposes.",
                {},
            )
        return None

    def _commutation(self) -> tuple[str, str, dict[str, Any]] | None:
        d = self.derivation
        var = parse_wrt(d.wrt)
        m, n = var.shape
        if dims_equal(m, 1) or dims_equal(n, 1):
            return None
        other = Vec(transpose(var.symbol)) if var.form != "vecT" else Vec(var.symbol)
        alternative = derive(d.of, other, d.layout, where=d.where or None).result
        if self.close(self.candidate, alternative):
            k = CommutationMatrix(m, n) if var.form != "vecT" else CommutationMatrix(n, m)
            if d.layout == "numerator":
                fixed, where = sp.MatMul(self.candidate, k), f"on the right by {fmt(k)}"
            else:
                k = transpose(k)
                fixed, where = sp.MatMul(k, self.candidate), f"on the left by {fmt(k)}"
            assert self.close(fixed, self.result), "internal: commutation fix does not hold"
            return (
                "commutation",
                f"this is the derivative with respect to {fmt(other)}, not {fmt(d.wrt)}: "
                f"a commutation matrix is missing — multiply {where} "
                f"(vec(Xᵀ) = K_{{m,n}} vec(X) for X of shape m × n).",
                {"alternative": alternative, "fix": fixed},
            )
        return None

    def _factor(self) -> tuple[str, str, dict[str, Any]] | None:
        cand, res = self.trials.values(self.candidate), self.trials.values(self.result)
        c = best_factor(cand, res)
        if c is None or abs(c - 1) < 1e-9 or relative_error(cand, [c * r for r in res]) > RTOL:
            return None
        nice = sp.nsimplify(c, tolerance=1e-8, rational=True)
        if nice == -1:
            return (
                "sign",
                f"the candidate is minus the derivative {self.shown_result}.",
                {"factor": -1},
            )
        return (
            "factor",
            f"the candidate is {nice} times the derivative (a constant factor is off, e.g. "
            f"a missing 2 from a quadratic form). The derivative is {self.shown_result}.",
            {"factor": nice},
        )

    def _missing_term(self) -> tuple[str, str, dict[str, Any]] | None:
        terms = _terms(self.result)
        if len(terms) < 2 or len(terms) > 6:
            return None
        cand = self.trials.values(self.candidate)
        for size in range(1, len(terms)):
            for kept in itertools.combinations(range(len(terms)), size):
                partial = _sum([terms[k] for k in kept])
                if relative_error(cand, self.trials.values(partial)) < RTOL:
                    missing = _sum([t for k, t in enumerate(terms) if k not in kept])
                    shown = fmt(_named(missing, self.derivation.names))
                    return (
                        "missing-term",
                        f"the candidate lacks the term {shown}; "
                        f"the derivative is {self.shown_result}.",
                        {"missing": missing},
                    )
        return None

    def _symmetric(self) -> tuple[str, str, dict[str, Any]] | None:
        """Right only when a square matrix is symmetric: a constant (2Ax for xᵀAx), else
        the variable itself (X⁻¹ for d log det X / dX)."""
        var = parse_wrt(self.derivation.wrt).symbol
        constants = sorted(
            (
                s
                for s in self.derivation.of.free_symbols
                if isinstance(s, sp.MatrixSymbol) and s != var and dims_equal(*s.shape)
            ),
            key=str,
        )
        squares = constants + ([var] if dims_equal(*var.shape) else [])
        for matrix in squares:
            if not all(matrix in p for p in self.trials.points):
                continue  # neither f nor the candidate uses it: no value to symmetrise
            symmetric = self.trials.with_points(
                tuple({**p, matrix: (p[matrix] + p[matrix].T) / 2} for p in self.trials.points)
            )
            try:
                err = relative_error(
                    symmetric.values(self.candidate), symmetric.values(self.result)
                )
            except (MatDerivError, ValueError):
                continue
            if err < RTOL:
                return (
                    "symmetric",
                    f"the candidate is right only if {fmt(matrix)} is symmetric: it matches "
                    f"the derivative when {fmt(matrix)} = {fmt(matrix)}ᵀ, but in general the "
                    f"derivative is {self.shown_result}.",
                    {"symmetric": matrix},
                )
        return None


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


def _sum(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    return sp.MatAdd(*parts) if getattr(parts[0], "is_Matrix", False) else sp.Add(*parts)


def _named_mismatch(exc: ShapeMismatch, names: Mapping[str, Any]) -> ShapeMismatch:
    """The parser's mismatch, said of ``exc.node`` with the user's named intermediates."""
    try:
        check_node(_named(exc.node, names))
    except ShapeMismatch as named:
        return named
    return exc


def verify(
    candidate: Any,
    expr: Any,
    wrt: Any,
    layout: str = "numerator",
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    seed: int = 0,
) -> Verdict:
    """Check a hand-derived ``candidate`` for d(expr)/d(wrt) in ``layout``.

    ``candidate`` is a SymPy expression (matderiv's vec, diag, commutation nodes
    allowed), a string in matderiv's syntax, or LaTeX as written in papers;
    symbols are matched by name to those of ``expr`` and to ``names``.
    ``where`` is a program as in ``derive``; the candidate may use its symbols
    (and the generated adjoints hbar_t, when ``d.definitions`` has them).
    """
    d = derive(expr, wrt, layout, names=names, where=where)
    scope = sp.Tuple(expr, *d.definitions.keys(), *d.definitions.values()) if where else expr
    cand: Any = None
    try:
        cand = parse_candidate(candidate, scope, names or {})
        check_shapes(_named(cand, names or {}))
    except ShapeMismatch as exc:
        if exc.node is not None:  # refused while parsing: say it with the names
            exc = _named_mismatch(exc, names or {})
        text = candidate if isinstance(candidate, str) else fmt(candidate)
        seen = (d.of, *((cand,) if cand is not None else ()), *(names or {}).values())
        message = _unicode_dimensions(str(exc), seen)
        details = {"derived": d.result, "expected_shape": d.shape, "error": message}
        shown = _named(d.result, d.names)
        return Verdict(False, "ill-formed", message, text, d, details, text, shown)
    trials = make_trials((cand, d.result, d.of), seed=seed, program=d.definitions)
    checker = _Checker(cand, d, trials)
    for step in (checker.shape_check, checker.equality):
        found = step()
        if found is not None:
            return found
    return checker.diagnose()
