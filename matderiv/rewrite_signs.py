"""Rewrite rules for signs and scalar factors: a sum's sign, -(A - B) → B - A, common
scalar factors of a sum's terms, sign(u)·|u| (the rule table is ``rewrites.py``; each
rule's identity is its docstring's first line, why it terminates the second)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sympy as sp

from .canon import matadd, matmul, scalar_and_matrices, transpose


def negated_sum(expr: Any) -> Any:
    """-(A - B) → B - A  (a sum times -1 alone: the sign goes into its terms)
    terminates: removes a product, and factor_scalar takes out only numbers other than ±1."""
    if not isinstance(expr, sp.MatMul) or len(expr.args) != 2 or expr.args[0] != -1:
        return None
    total = expr.args[1]
    if not isinstance(total, sp.MatAdd):
        return None
    return matadd(*(matmul(-1, t) for t in total.args))


def _negative(term: Any) -> bool:
    coeff, _ = scalar_and_matrices(term)
    return bool(coeff.is_Number and coeff < 0)


def negative_sum_factor(expr: Any) -> Any:
    """Aᵀ (-W - Wᵀ) B → -Aᵀ (W + Wᵀ) B,  -Dᵀ (y - s) → Dᵀ (s - y)  (a factor of a
    product whose terms are all negative gives its sign to the product; a product
    with a negative number takes it into its first sum that has at least as many
    negative terms as positive: -(-P - Q) K → (P + Q) K, -Aᵀ (W + Wᵀ)(x - A s) →
    Aᵀ (W + Wᵀ)(A s - x); but not into a sum beside its own transpose,
    -(x - μ)(xᵀ - μᵀ))
    terminates: the count of minus signs (the product's and its sums' terms) drops,
    and no rule negates the terms of a sum inside a longer product (negated_sum takes
    -1 into a sum only when alone)."""
    if not isinstance(expr, sp.MatMul):
        return None
    args = list(expr.args)
    if len(args) == 2 and args[0] == -1:
        return None  # negated_sum's case: -(-P - Q) → P + Q there
    coeff, _ = scalar_and_matrices(expr)
    sums = [i for i, a in enumerate(args) if isinstance(a, sp.MatAdd)]
    takes_sign = coeff.is_Number and coeff < 0
    by_terms: dict[Any, list[int]] | None = None  # terms in any order -> sums with them
    for i in sums:
        terms = args[i].args
        negative = sum(1 for t in terms if _negative(t))
        all_negative = negative == len(terms)
        if not (all_negative or (takes_sign and 2 * negative >= len(terms))):
            continue
        if not all_negative:  # -(x - μ)(xᵀ - μᵀ): the sign into one of two twins hides it
            if by_terms is None:  # built once, when needed: pairs of sums are S² compares
                by_terms = {}
                for j in sums:
                    by_terms.setdefault(_bag(args[j].args), []).append(j)
            if any(j != i for j in by_terms.get(_bag(transpose(args[i]).args), ())):
                continue
        args[i] = matadd(*(matmul(-1, t) for t in terms))
        return matmul(-1, *args)
    return None


def _bag(terms: tuple[Any, ...]) -> frozenset[tuple[Any, int]]:
    """The terms of a sum in any order (with their repeats)."""
    return frozenset(Counter(terms).items())


def sign_with_abs(expr: Any) -> Any:
    """sign(u) u/|u| → 1,  sign(u)/|u| → 1/u,  sign(u) |u| → u  (in a scalar product,
    with integer powers: |u| = sign(u) u and sign(u)² = 1 wherever u ≠ 0, which is
    where the derivative of log|u| exists: d log|det X| = X⁻ᵀ)
    terminates: removes a sign and an |·|."""
    if not isinstance(expr, sp.Mul):
        return None
    powers = expr.as_powers_dict()
    for factor, k in powers.items():
        if not isinstance(factor, sp.sign) or not k.is_integer:
            continue
        u = factor.args[0]
        a = powers.get(sp.Abs(u), sp.S.Zero)
        if a == 0 or not a.is_integer:
            continue
        b = powers.get(u, sp.S.Zero)
        rest = sp.Mul(
            *(f**e for f, e in powers.items() if f not in (factor, sp.Abs(u), u)),
            evaluate=True,
        )
        sign_power = (k + a) % 2  # |u|^a = sign(u)^a u^a; sign² = 1
        return rest * factor**sign_power * u ** (a + b)
    return None


def factor_scalar(expr: Any) -> Any:
    """c A ± c B → c (A ± B)  (a number c ≠ 1 in every term, 2 A x - 2 b, or a common
    scalar factor, 1/(xᵀx) A - 2 f/(xᵀx)² I → 1/(xᵀx) (A - 2 f/(xᵀx) I))
    terminates: the factor is multiplied once instead of in every term."""
    if not isinstance(expr, sp.MatAdd):
        return None
    split = [scalar_and_matrices(t) for t in expr.args]
    if all(k.is_Number for k, _ in split):
        c = abs(split[0][0])
        if c in (0, 1) or any(abs(k) != c for k, _ in split):
            return None
    else:
        c = _common_scalar([k for k, _ in split])
        if c is None:
            return None
    return matmul(c, matadd(*(matmul(_divided(k, c), *factors) for k, factors in split)))


def _divided(k: Any, c: Any) -> Any:
    """k / c for a factor c of k, by exponents of the factors (``_powers``): SymPy keeps
    exp(u)/exp(u) as exp(-u)·exp(u) when u is a sum, and the rule would fire again on
    that, doubling the exponents pass after pass (exp(aᵀx + 1) x's Jacobian became 50
    nested exp factors, which evaluate to inf · 0 = NaN)."""
    if k.is_Number and c.is_Number:
        return k / c
    powers = _powers(k)
    for base, exp in _powers(c).items():
        powers[base] = powers.get(base, sp.S.Zero) - exp
    return sp.Mul(*(base**exp for base, exp in powers.items() if exp != 0))


def _common_scalar(coeffs: list[Any]) -> Any:
    """The common factor of scalar coefficients that are products of powers, from their
    top-level factors only (nothing is expanded: a gcd of polynomials can take minutes
    on a deep coefficient): each base every coefficient has, with the exponent nearest
    zero when all its exponents have one sign.  None when there is none."""
    powers = [_powers(k) for k in coeffs]
    common = sp.S.One
    for base in powers[0]:
        if base.is_Number or not all(base in p for p in powers):
            continue
        exps = [p[base] for p in powers]
        if not all(e.is_Rational for e in exps):
            continue
        if all(e > 0 for e in exps):
            common *= base ** min(exps)
        elif all(e < 0 for e in exps):
            common *= base ** max(exps)
    return None if common == 1 else common


def _powers(k: Any) -> dict[Any, Any]:
    """{base: rational exponent} of the top-level factors of a product (exp(u) is a
    base of its own, not e to the u)."""
    out: dict[Any, Any] = {}
    for f in sp.Mul.make_args(k):
        base, exp = (
            (f.base, f.exp) if isinstance(f, sp.Pow) and f.exp.is_Rational else (f, sp.S.One)
        )
        out[base] = out.get(base, sp.S.Zero) + exp
    return out
