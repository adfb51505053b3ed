"""Rewrite rules for functions of exp: the softmax exp(z)/𝟏ᵀexp(z) and the sigmoid
1/(1 + exp(-u)) (the rule table is ``rewrites.py``; each rule's identity is its
docstring's first line, why it terminates the second)."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .canon import hadamard, matadd, matmul, scalar_and_matrices, summed, transpose
from .named_functions import function_name, named_function
from .nodes import DiagVector
from .rewrite_sums import hadamard_numbers
from .shapes import dims_equal, shape_of
from .softmax_nodes import Softmax


def _exp_operand(expr: Any) -> Any:
    """z when ``expr`` is exp(z) entrywise, else None."""
    if not isinstance(expr, ElementwiseApplyFunction):
        return None
    fn = expr.function
    if fn == sp.exp:
        return expr.expr
    single = isinstance(fn, sp.Lambda) and len(fn.variables) == 1
    if single and fn.expr == sp.exp(fn.variables[0]):
        return expr.expr
    return None


def log_of_exp(expr: Any) -> Any:
    """log∘(exp∘(X)) → X  (entrywise, for real X)
    terminates: removes two functions."""
    if not isinstance(expr, ElementwiseApplyFunction):
        return None
    fn = expr.function
    single = isinstance(fn, sp.Lambda) and len(fn.variables) == 1
    is_log = fn == sp.log or (single and fn.expr == sp.log(fn.variables[0]))
    return _exp_operand(expr.expr) if is_log else None


def softmax_of_exp(expr: Any) -> Any:
    """c/(𝟏ᵀ exp(z))ᵏ M₁ exp(z) M₂ … → c/(𝟏ᵀ exp(z))ᵏ⁻ʲ M₁ softmax(z) M₂ …  (z a column;
    each of j ≤ k factors exp(z), exp(z)ᵀ, diag(exp(z)) or exp(z) ∘ N takes one 1/(𝟏ᵀ exp(z)))
    terminates: an exp and a power of a sum become one softmax."""
    if not isinstance(expr, sp.MatMul) or not any(_exp_factor(a) for a in expr.args):
        return None
    coeff, mats = scalar_and_matrices(expr)
    for factor in sp.Mul.make_args(coeff):
        base, exponent = factor.as_base_exp()
        if not (exponent.is_Integer and exponent < 0):
            continue
        z = _sum_of_exp(base)
        if z is None or not dims_equal(shape_of(z)[1], 1):
            continue
        used, new = 0, []
        for m in mats:
            soft = _softmax_factor(m, z) if used < -exponent else None
            used += soft is not None
            new.append(m if soft is None else soft)
        if used:
            return matmul(coeff * base**used, *new)
    return None


def _exp_factor(expr: Any) -> Any:
    """z when ``expr`` is exp(z), exp(z)ᵀ (SymPy's exp(zᵀ)), diag(exp(z)) or a ∘ product
    with a factor exp(z), else None."""
    if isinstance(expr, sp.HadamardProduct):
        found = [z for z in map(_exp_factor, expr.args) if z is not None]
        return found[0] if found else None
    if isinstance(expr, (sp.Transpose, DiagVector)):
        expr = expr.arg
    z = _exp_operand(expr)
    return z.arg if isinstance(z, sp.Transpose) else z


def _softmax_factor(expr: Any, z: Any) -> Any:
    """softmax(z), its transpose or diag(softmax(z)) for exp(z), exp(z)ᵀ, diag(exp(z));
    in a ∘ product, its first such factor replaced."""
    if _exp_factor(expr) != z:
        return None
    if isinstance(expr, sp.HadamardProduct):
        args = list(expr.args)
        i = next(i for i, a in enumerate(args) if _exp_factor(a) == z)
        args[i] = _softmax_factor(args[i], z)
        return hadamard(sp.HadamardProduct(*args))
    if isinstance(expr, DiagVector):
        return DiagVector(_softmax_factor(expr.arg, z))
    if isinstance(expr, sp.Transpose) or isinstance(_exp_operand(expr), sp.Transpose):
        return transpose(Softmax(z))
    return Softmax(z)


def _exp_plus_one(expr: Any) -> Any:
    """u when ``expr`` is exp(u) + 𝟏 (entrywise), else None."""
    if not isinstance(expr, sp.MatAdd) or len(expr.args) != 2:
        return None
    first, second = expr.args
    if isinstance(first, sp.OneMatrix):
        first, second = second, first
    return _exp_operand(first) if isinstance(second, sp.OneMatrix) else None


def _sigmoid(u: Any) -> Any:
    return ElementwiseApplyFunction(named_function("sigmoid"), u)


def _negated(u: Any) -> Any:
    """-u, with the numbers of a ∘ product's factors taken out first (hadamard_numbers,
    as the simplifier leaves σ's operand): -((-y)∘v) is y∘v."""
    return matmul(-1, hadamard_numbers(u) or u)


def _sigmoid_power(factor: Any) -> tuple[Any, Any] | None:
    """(v, k) when ``factor`` is σ(v)^∘k (k a positive integer; σ(v) itself: k = 1)."""
    power = isinstance(factor, sp.HadamardPower)
    base, k = (factor.base, factor.exp) if power else (factor, sp.S.One)
    if not isinstance(base, ElementwiseApplyFunction) or not (k.is_Integer and k >= 1):
        return None
    return (base.expr, k) if function_name(base.function) == "sigmoid" else None


def sigmoid_of_exp(expr: Any) -> Any:
    """(exp(u) + 𝟏)^∘-k → σ(-u)^∘k,  exp(u) ∘ σ(-u)^∘k ∘ M → σ(u) ∘ σ(-u)^∘(k-1) ∘ M
    terminates: removes an exp (σ is never written back as exp)."""
    if isinstance(expr, sp.HadamardPower) and expr.exp.is_Integer and expr.exp < 0:
        u = _exp_plus_one(expr.base)
        if u is None:
            return None
        k = -expr.exp
        s = _sigmoid(_negated(u))
        return s if k == 1 else sp.HadamardPower(s, k)
    if not isinstance(expr, sp.HadamardProduct):
        return None
    distributed = _exp_sum_times_sigmoid(expr)
    if distributed is not None:
        return distributed
    for i, factor in enumerate(expr.args):
        u = _exp_operand(factor)
        if u is None:
            continue
        for j, other in enumerate(expr.args):
            found = _sigmoid_power(other)
            if found is None or found[0] != _negated(u):
                continue
            k = found[1]
            lower = [sp.HadamardPower(_sigmoid(found[0]), k - 1)] if k > 2 else []
            lower += [_sigmoid(found[0])] if k == 2 else []
            rest = [a for m, a in enumerate(expr.args) if m not in (i, j)]
            return hadamard(sp.HadamardProduct(_sigmoid(u), *lower, *rest))
    return None


def _hadamard_factors(term: Any) -> tuple[Any, list[Any]]:
    """(number, ∘ factors) of a term c·(A ∘ B ∘ …)."""
    coeff, mats = scalar_and_matrices(term)
    if len(mats) != 1:
        return coeff, [term if coeff == 1 else matmul(*mats)]
    (mat,) = mats
    return coeff, list(mat.args) if isinstance(mat, sp.HadamardProduct) else [mat]


def _exp_sum_times_sigmoid(expr: Any) -> Any:
    """(exp(u)∘y + y - exp(u)) ∘ σ(-u) → Σ of each term ∘ σ(-u), when a term holds
    exp(u): each such term then loses its exp (the logistic loss with 0/1 labels)."""
    for other in expr.args:
        found = _sigmoid_power(other)
        if found is None or found[1] != 1:
            continue
        u = _negated(found[0])
        for i, total in enumerate(expr.args):
            if not isinstance(total, sp.MatAdd):
                continue
            holds = any(_exp_operand(f) == u for t in total.args for f in _hadamard_factors(t)[1])
            if not holds:
                continue
            rest = [a for m, a in enumerate(expr.args) if m != i]
            pieces = []
            for term in total.args:
                coeff, factors = _hadamard_factors(term)
                pieces.append(matmul(coeff, hadamard(sp.HadamardProduct(*factors, *rest))))
            return matadd(*pieces)
    return None


def sigmoid_complement(expr: Any) -> Any:
    """c (a ∘ σ(v)) + c (a ∘ σ(-v)) → c a,  σ(v) + σ(-v) → 𝟏  (σ(v) + σ(-v) = 1)
    terminates: two terms become one and two σ go."""
    if not isinstance(expr, sp.MatAdd):
        return None
    split = [_hadamard_factors(t) for t in expr.args]
    for i, (ci, fi) in enumerate(split):
        for k, factor in enumerate(fi):
            found = _sigmoid_power(factor)
            if found is None or found[1] != 1:
                continue
            others = fi[:k] + fi[k + 1 :]
            partner = _sigmoid(_negated(found[0]))
            for j, (cj, fj) in enumerate(split):
                if j == i or cj != ci or partner not in fj:
                    continue
                rest_j = list(fj)
                rest_j.remove(partner)
                if sorted(map(str, rest_j)) != sorted(map(str, others)):
                    continue
                kept = [t for m, t in enumerate(expr.args) if m not in (i, j)]
                merged = (
                    hadamard(sp.HadamardProduct(*others))
                    if others
                    else sp.OneMatrix(*shape_of(expr))
                )
                return matadd(matmul(ci, merged), *kept)
    return None


def _sum_of_exp(expr: Any) -> Any:
    """z when ``expr`` is 𝟏ᵀ exp(z) (or that 1 x 1 matrix used as a scalar), else None."""
    entries = summed(expr)
    return None if entries is None else _exp_operand(entries)


def _summed_side(node: Any) -> int | None:
    """The side whose sums are 1 for a softmax or its transpose (0: each column, 1: each
    row): a column softmax's column, softmax_cols' columns, softmax_rows' rows; else None."""
    transposed = isinstance(node, sp.Transpose)
    inner = node.arg if transposed else node
    if not isinstance(inner, Softmax):
        return None
    return 1 - inner.axis if transposed else inner.axis


def ones_through_softmax(left: Any, right: Any) -> Any:
    """𝟏_{k×n} softmax(z) → 𝟏_{k×1},  𝟏 softmax_cols(S) → 𝟏,  softmax_rows(S) 𝟏 → 𝟏 (and
    the transposes): each column (row) of a softmax sums to 1
    terminates: removes a softmax."""
    if isinstance(left, sp.OneMatrix) and _summed_side(right) == 0:
        return (sp.OneMatrix(left.rows, shape_of(right)[1]),)
    if isinstance(right, sp.OneMatrix) and _summed_side(left) == 1:
        return (sp.OneMatrix(shape_of(left)[0], right.cols),)
    return None
