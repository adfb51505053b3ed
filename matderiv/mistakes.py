"""The common mistakes ``verify`` tries, one by one, when a candidate is wrong: a
transpose, a missing commutation matrix, the factors of a Kronecker product
swapped, a constant or variable scalar factor, a
sign, a missing term or a term with the wrong sign, a symmetry assumption.

Each check returns (kind, message, details) when it explains the candidate, else
None; ``diagnosis.Checker`` turns that into the verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .canon import matmul, scalar_and_matrices, transpose
from .derivation import Derivation
from .engine import derive
from .errors import MatDerivError
from .layout import parse_wrt
from .nodes import AsScalar, CommutationMatrix, Vec
from .render.unicode import fmt
from .scalarize import scalarize
from .shapes import dimension_symbols, dims_equal, is_matrix, is_scalar_shape, shape_of, walk
from .softmax_nodes import Softmax
from .trials import Trials, best_factor, relative_error

RTOL = 1e-7
#: Kronecker products of a candidate tried swapped, one at a time (then all)
MAX_SWAPS = 4

Found = tuple[str, str, dict[str, Any]] | None


def _factor_of(result: Any, candidate: Any) -> Any:
    """r/c for scalars r and c when one is a product with the other's factors among its
    own (det(M)·tr(M⁻¹B) and tr(M⁻¹B): det(M)), else None: two numbers are always
    proportional, so only a factor seen in the formulas is worth naming."""
    if is_matrix(result) or is_matrix(candidate):
        return None
    mine, theirs = Counter(sp.Mul.make_args(result)), Counter(sp.Mul.make_args(candidate))
    if not (theirs <= mine or mine <= theirs) or mine == theirs:
        return None
    extra = mine - theirs if theirs <= mine else theirs - mine
    factor = sp.Mul(*extra.elements())
    return factor if theirs <= mine else 1 / factor


def swappable(node: Any) -> bool:
    """A ⊗ B with two different factors that are not both identities (whose order
    does not matter)."""
    if not isinstance(node, sp.KroneckerProduct) or len(node.args) != 2:
        return False
    a, b = node.args
    return a != b and not (isinstance(a, sp.Identity) and isinstance(b, sp.Identity))


def named(expr: Any, names: Mapping[str, Any]) -> Any:
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
class Comparison:
    """A candidate, the derivation it is checked against and the random points."""

    candidate: Any
    derivation: Derivation
    trials: Trials

    @property
    def result(self) -> Any:
        return self.derivation.result

    @property
    def shown(self) -> Any:
        """d.result, self-contained: the user's named intermediates by name, nothing else."""
        return named(self.result, self.derivation.names)

    @property
    def shown_result(self) -> str:
        return fmt(self.shown)

    @property
    def thing(self) -> str:
        """What the candidate is checked against: "derivative", "Hessian" or
        "Hessian-vector product"."""
        return self.derivation.second_order or "derivative"

    @property
    def target(self) -> str:
        """The derivative in its layout, or the Hessian (the same in both layouts)."""
        if self.thing == "derivative":
            return f"the derivative in {self.derivation.layout} layout"
        return f"the {self.thing}"

    def close(self, a: Any, b: Any) -> bool:
        """a ≈ b at every trial point."""
        try:
            return relative_error(self.trials.values(a), self.trials.values(b)) < RTOL
        except (MatDerivError, ValueError):
            return False


def proportional(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    """The constant c with a ≈ c·b at every point (to RTOL), or None: b vanishes, a
    value is not finite, or no constant fits (``not <=``: a NaN error fits nothing)."""
    c = best_factor(a, b)
    if c is None or not relative_error(a, [c * y for y in b]) <= RTOL:
        return None
    return c


class Mistakes(Comparison):
    """The checks, on a Comparison."""

    def _transposed(self) -> Found:
        rows, cols = shape_of(self.candidate)
        if self.thing == "Hessian":  # symmetric: a transpose of it is it
            return None
        if dims_equal(rows, cols) and self.close(transpose(self.candidate), self.result):
            said = f"the candidate is the transpose of the {self.thing} {self.shown_result}"
            from .mistake_symmetric import also_symmetric  # (it imports this module)

            also, details = also_symmetric(self)
            if self.thing != "derivative":
                return "transposed", f"{said}; check the transposes.{also}", details
            layout = self.derivation.layout  # the other layout's derivative is its transpose
            other = "denominator" if layout == "numerator" else "numerator"
            return (
                "transposed",
                f"{said}: it is the {other}-layout form (in {layout} layout take its "
                f"transpose), or a transpose inside it is off.{also}",
                details,
            )
        return None

    def _commutation(self) -> Found:
        d = self.derivation
        var = parse_wrt(d.wrt)
        m, n = var.shape
        if dims_equal(m, 1) or dims_equal(n, 1) or self.thing == "Hessian-vector product":
            return None  # an HVP is shaped like X: no vec, no commutation matrix
        if self.thing == "Hessian":
            return self._hessian_commutation(var.symbol)
        other = Vec(transpose(var.symbol)) if var.form != "vecT" else Vec(var.symbol)
        alternative = derive(d.of, other, d.layout, where=d.where or None).result
        if self.close(self.candidate, alternative):
            fixed, where = self.with_commutation(self.candidate)
            assert self.close(fixed, self.result), "internal: commutation fix does not hold"
            return (
                "commutation",
                f"this is the derivative with respect to {fmt(other)}, not {fmt(d.wrt)}: "
                f"a commutation matrix is missing — multiply {where} "
                f"({fmt(Vec(transpose(var.symbol)))} = {fmt(CommutationMatrix(m, n))} "
                f"vec({fmt(var.symbol)})).",
                {"alternative": alternative, "fix": fixed},
            )
        return None

    def with_commutation(self, candidate: Any) -> tuple[Any, str]:
        """``candidate`` (a Jacobian by the other of vec(X), vec(Xᵀ)) times the
        commutation matrix that turns it into one by the derivation's variable, on the
        side the layout puts it; and that side in words."""
        d = self.derivation
        var = parse_wrt(d.wrt)
        m, n = var.shape
        k = CommutationMatrix(m, n) if var.form != "vecT" else CommutationMatrix(n, m)
        if d.layout == "numerator":
            return sp.MatMul(candidate, k), f"on the right by {fmt(k)}"
        k = transpose(k)
        return sp.MatMul(k, candidate), f"on the left by {fmt(k)}"

    def _hessian_commutation(self, X: Any) -> Found:
        """The Hessian by vec(Xᵀ) = K vec(X), K = K_{m,n}, is K H Kᵀ; a candidate that is
        it, or that lacks one K on one side (H = C K, the usual slip with
        tr(dX A dX B)), is named with its fix."""
        m, n = X.shape
        C, K, Kt = self.candidate, CommutationMatrix(m, n), CommutationMatrix(n, m)
        vec_xt = fmt(Vec(transpose(X)))
        fixes = [
            (
                sp.MatMul(Kt, C, K),
                f"this is the Hessian with respect to {vec_xt}, not vec({fmt(X)}): "
                f"multiply on the left by {fmt(Kt)} and on the right by {fmt(K)} "
                f"({vec_xt} = {fmt(K)} vec({fmt(X)}))",
            )
        ]
        missing = "a commutation matrix is missing: multiply on the"
        fixes += [(sp.MatMul(C, k), f"{missing} right by {fmt(k)}") for k in (K, Kt)]
        fixes += [(sp.MatMul(k, C), f"{missing} left by {fmt(k)}") for k in (K, Kt)]
        for fixed, message in fixes:
            if self.close(fixed, self.result):
                found = f"{message}. The Hessian is {self.shown_result}."
                return "commutation", found, {"fix": fixed}
        return None

    def _turned(
        self, nodes: list[Any], is_node: Callable[[Any], bool], turn: Callable[[Any], Any]
    ) -> tuple[dict[Any, Any], Any] | None:
        """Each of ``nodes`` turned (``turn``) in turn, then every node ``is_node`` finds
        at once, bottom up (an inner one too: xreplace stops at the outer): the first
        turning that makes the candidate the derivative, as (node → turned node, the
        candidate so fixed), or None."""
        tries = [[a] for a in nodes] + ([nodes] if len(nodes) > 1 else [])
        for chosen in tries:
            if len(chosen) == 1:
                fixed = self.candidate.xreplace({chosen[0]: turn(chosen[0])})
            else:
                fixed = self.candidate.replace(is_node, turn)
            if self.close(fixed, self.result):
                return {a: turn(a) for a in chosen}, fixed
        return None

    def _kron_order(self) -> Found:
        """A ⊗ B where B ⊗ A is right (vec(A X B) = (Bᵀ ⊗ A) vec(X), often written
        A ⊗ Bᵀ): each two-factor Kronecker product of the candidate swapped in turn,
        then all at once."""
        krons = sorted({k for k in walk(self.candidate) if swappable(k)}, key=sp.default_sort_key)
        if not krons or len(krons) > MAX_SWAPS:
            return None
        found = self._turned(krons, swappable, lambda k: sp.KroneckerProduct(*reversed(k.args)))
        if found is None:
            return None
        swaps, fixed = found
        pairs = ", ".join(f"{fmt(k)} should be {fmt(v)}" for k, v in swaps.items())
        return (
            "kron-order",
            f"the factors of a Kronecker product are in the wrong order: {pairs} "
            f"(vec(A X B) = (Bᵀ ⊗ A) vec(X): the factor to the right of X comes "
            f"first). The {self.thing} is {self.shown_result}.",
            {"fix": fixed},
        )

    def _other_axis(self) -> Found:
        """softmax_cols(S) where softmax_rows(S) is right: each softmax along an axis in
        the candidate turned to the other axis in turn, then all.  (A logsumexp's axis
        sets its shape, n x 1 or 1 x m: the other one does not fit in its place.)"""
        found = self._turned(
            along_axis_softmaxes(self.candidate),
            _along_axis,
            lambda a: Softmax(a.arg, 1 - a.axis),
        )
        if found is None:
            return None
        turned, fixed = found
        pairs = ", ".join(f"{fmt(a)} should be {fmt(b)}" for a, b in turned.items())
        return (
            "other-axis",
            f"a softmax is taken along the other axis: {pairs} (softmax_rows, "
            f"axis=1: one per row; softmax_cols, axis=0: one per column). The "
            f"{self.thing} is {self.shown_result}.",
            {"fix": fixed},
        )

    def _factor(self) -> Found:
        cand, res = self.trials.values(self.candidate), self.trials.values(self.result)
        if sum(1 for r in res if np.any(r)) < 2:
            return None  # one point that does not vanish cannot show the factor is constant
        c = proportional(cand, res)
        if c is None or abs(c - 1) < 1e-9:
            return None
        nice = sp.nsimplify(c, tolerance=1e-8, rational=True)
        if nice == 0:
            return (
                "wrong",
                f"the candidate is 0 at every random point, and the {self.thing} is not: "
                f"it is {self.shown_result}.",
                {},
            )
        if nice == -1:
            return (
                "sign",
                f"the candidate is minus the {self.thing} {self.shown_result}.",
                {"factor": -1},
            )
        return (
            "factor",
            f"the candidate is {nice} times the {self.thing} (a constant factor is off, "
            f"e.g. a missing 2 from a quadratic form). The {self.thing} is "
            f"{self.shown_result}.",
            {"factor": nice},
        )

    def _scalar_factor(self) -> Found:
        """Proportional to the result at every point, by a ratio that changes from point
        to point: a scalar function is off, e.g. the outer derivative of a chain rule
        (Aᵀ(Ax - b) for the gradient of ‖Ax - b‖).  Named when the result is that scalar
        times a matrix the candidate is a constant multiple of."""
        cand, res = self.trials.values(self.candidate), self.trials.values(self.result)
        ratios = []
        for c, r in zip(cand, res, strict=True):
            if not (np.any(c) or np.any(r)):
                continue  # both vanish here (a saturated tanh′): any ratio fits
            k = proportional([r], [c])
            if k is None:
                return None
            ratios.append(k)
        if len(ratios) < 2 or np.ptp(ratios) <= 1e-6 * max(abs(k) for k in ratios):
            return None  # constant: _factor's business
        missing = self._missing_scalar()
        if missing is None:  # 1/n inside the result's sum, λ: a size or scalar symbol
            from .mistake_terms import symbolic_factor  # (it imports this module)

            missing = symbolic_factor(self, res, cand)
        if missing is None and all(r.size < 2 for r in res):
            return None  # any two numbers are proportional: nothing to report
        if missing is not None and missing.free_symbols <= self._sizes():
            return (  # 1/n: constant at each size, the trials' sizes differ
                "factor",
                f"the {self.thing} is {fmt(missing)} times the candidate: a factor "
                "that depends only on the sizes is off (a mean where the derivative is "
                f"of a sum, or the other way round). The {self.thing} is "
                f"{self.shown_result}.",
                {"factor": missing},
            )
        if missing is not None:
            found = f"the {self.thing} is {fmt(missing)} times the candidate"
        else:
            found = f"the candidate is proportional to the {self.thing} at every point"
        return (
            "scalar-factor",
            f"{found}, by a ratio that changes from point to point: a scalar factor is "
            "missing or extra (e.g. the derivative of an outer function in a chain rule). "
            f"The {self.thing} is {self.shown_result}.",
            {"factor": missing},
        )

    def _missing_scalar(self) -> Any:
        """The ratio s/(q·t) when the result is s·M, the candidate t·N (s, t scalar
        expressions) and N = q·M for a number q; None when that does not hold."""
        s, result_factors = scalar_and_matrices(self.result)
        t, candidate_factors = scalar_and_matrices(self.candidate)
        if not all(any(is_matrix(f) for f in fs) for fs in (result_factors, candidate_factors)):
            found = _factor_of(self.result, self.candidate)  # scalars
            return None if found is None else named(found, self.derivation.names)
        if s == 1 and t == 1:
            return None
        values = self.trials.values(matmul(*result_factors))
        others = self.trials.values(matmul(*candidate_factors))
        q = proportional(others, values)
        if q is None:
            return None
        q = sp.nsimplify(q, tolerance=1e-8, rational=True)
        return named(_tidy(s / (q * t)), self.derivation.names)

    def _sizes(self) -> set[Any]:
        """The symbols of the problem's sizes (n for an n x 1 x)."""
        d = self.derivation
        return dimension_symbols(d.of, parse_wrt(d.wrt).symbol, self.candidate)


def _tidy(ratio: Any) -> Any:
    """A ratio of scalars with 1 x 1 matrix products read as products of scalars and
    equal bases merged: s·det(X)^s/(det(X)^(s-1)·s) is det(X) (AsScalar(det(X)^(s-1) s)
    kept the s apart); a transposed sum as the sum of transposes, as SymPy writes one
    inside a product ((x - a)ᵀ(x - a)/√((xᵀ - aᵀ)(x - a)) is ‖x - a‖)."""
    plain = ratio.replace(
        lambda e: isinstance(e, sp.Transpose) and isinstance(e.arg, sp.MatAdd),
        lambda e: sp.MatAdd(*(transpose(a) for a in e.arg.args)),
    )
    plain = plain.replace(
        lambda e: (
            isinstance(e, AsScalar)
            and isinstance(e.args[0], sp.MatMul)
            and all(is_scalar_shape(shape_of(a)) for a in e.args[0].args if is_matrix(a))
        ),
        lambda e: sp.Mul(*(AsScalar(a) if is_matrix(a) else a for a in e.args[0].args)),
    )
    return sp.powsimp(plain)


def along_axis_softmaxes(expr: Any) -> list[Any]:
    """The softmaxes along an axis of a matrix in ``expr`` (at most MAX_SWAPS), in a
    fixed order: the nodes whose axis verify turns to find an "other-axis" slip."""
    found = {a for a in walk(expr) if _along_axis(a)}
    return sorted(found, key=sp.default_sort_key)[:MAX_SWAPS]


def _along_axis(node: Any) -> bool:
    """A softmax along an axis of a matrix (not a column's plain softmax)."""
    return isinstance(node, Softmax) and len(node.args) > 1


def sum_of(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    return sp.MatAdd(*parts) if getattr(parts[0], "is_Matrix", False) else sp.Add(*parts)
