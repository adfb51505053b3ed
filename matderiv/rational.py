"""Rational simplification of entrywise expressions.

Second derivatives of entrywise functions come out as sums of products of
powers of the same entrywise terms.  The logistic loss's Hessian weight is

    -((-(e + 1)^∘-2 ∘ e ∘ q + (e + 1)^∘-1 ∘ q) ∘ e)    with e = exp∘(-(X w) ∘ y),

which entry by entry is a rational function of a few atoms (X w, y, q).  SymPy's
``factor`` writes it as q ∘ e ∘ (e + 1)^∘-2.  ``cancel_entrywise`` does this for
each maximal entrywise part of an expression that has a negative Hadamard power
(a quotient, where cancellation can happen), and keeps the new form only when it
has fewer operations.  Everything else is left alone, so the cost is one walk.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .memo import IdentityMemo
from .shapes import is_matrix, shape_of
from .substitute import substitute

_D = sp.Dummy("d")  # one variable for every rebuilt Lambda, so equal functions compare equal
MAX_NODES = 120  # larger entrywise parts are left as they are (factor's cost grows fast)
#: nor are parts whose polynomials multiply out to more terms: factor expands first, and a
#: nest of products of sums k deep (a chain of e∘e) has 2ᵏ terms in 30 operations
MAX_TERMS = 128


class _NotEntrywise(Exception):
    """A scalar form that has no entrywise matrix form here."""


def cancel_entrywise(expr: Any) -> tuple[Any, list[tuple[Any, Any]]]:
    """``expr`` with its entrywise quotients cancelled, and the (before, after) pairs."""
    replacements: dict[Any, Any] = {}
    stack = [expr]
    seen: set[Any] = set()
    while stack:
        node = stack.pop()
        if node in seen or not isinstance(node, sp.Basic) or isinstance(node, sp.Lambda):
            continue
        seen.add(node)
        scalar_quotient = _is_nested_quotient(node) or _is_exp_quotient(node)
        if _is_region_root(node) or _is_scalar_sum(node) or scalar_quotient:
            new = _cancel(node) if is_matrix(node) else _cancel_scalar(node)
            if new is not None:
                replacements[node] = new
                continue
        stack.extend(node.args)
    if not replacements:
        return expr, []
    return substitute(expr, replacements), list(replacements.items())


def _is_region_root(node: Any) -> bool:
    """Where an entrywise part can start: a ∘ product or power, an entrywise function,
    or a sum (the softplus Hessian's weight e∘(e + 1)^∘-1 - (e + 1)^∘-2∘e∘e)."""
    return isinstance(
        node, (sp.HadamardProduct, sp.HadamardPower, ElementwiseApplyFunction, sp.MatAdd)
    )


def _is_scalar_sum(node: Any) -> bool:
    return isinstance(node, sp.Add) and not is_matrix(node)


def _is_nested_quotient(node: Any) -> bool:
    """A scalar product dividing by a sum that itself holds a quotient: Student-t's
    (ν + p)/2 / (ν (1 + δ/ν)), which reads (ν + p)/(2(ν + δ)) with the fractions joined.
    Not a quotient by a size (a mean, 𝟏ᵀx/n, reads better as it is)."""
    return _divides_by_sum(
        node,
        lambda total: any(
            isinstance(q, sp.Pow) and q.exp.is_negative and not q.base.is_integer
            for q in total.atoms(sp.Pow)
        ),
    )


def _is_exp_quotient(node: Any) -> bool:
    """A scalar product dividing by a sum with an exp: the per-sample logistic loss's
    gradient weight e·((1 - y)(1/e + 1) - (e + 1) y)/(e + 1)², which is σ(u) - y."""
    return _divides_by_sum(node, lambda total: total.has(sp.exp))


def _divides_by_sum(node: Any, holds: Any) -> bool:
    """Whether ``node`` is a scalar product with a factor 1/(sum)ᵏ whose sum ``holds``."""
    if not isinstance(node, sp.Mul) or is_matrix(node):
        return False
    return any(
        isinstance(f, sp.Pow)
        and f.exp.is_negative
        and isinstance(f.base, sp.Add)
        and holds(f.base)
        for f in node.args
    )


def _split(scalar: Any, generators: dict[Any, Any]) -> Any:
    """``scalar``, a quotient in the exp generators, as a sum over the monomials in its
    other symbols, each over the denominator: (g - y(g + 1))/(g + 1) is g/(g + 1) - y."""
    numerator, denominator = sp.fraction(sp.cancel(scalar))
    others = sorted(scalar.free_symbols - set(generators), key=str)
    if not others:
        return scalar
    parts = sp.collect(sp.expand(numerator), others, evaluate=False)
    return sp.Add(*(m * sp.factor(c / denominator) for m, c in parts.items()))


def _cancel_scalar(total: Any) -> Any:
    """A scalar sum with a quotient, factored, or None when that is no shorter: the
    logistic Hessian's weight for one sample, e/(1 + e) - e²/(1 + e)² with e = exp(-u),
    is exp(u)/(exp(u) + 1)², which prints σ(u)·σ(-u).  Each scalar of a matrix (uᵀv,
    tr(A), det(A), A[i, j]) is one symbol meanwhile."""
    if not any(isinstance(p, sp.Pow) and p.exp.is_negative for p in total.atoms(sp.Pow)):
        return None
    atoms = {
        node: sp.Dummy(f"a{k}")
        for k, node in enumerate(
            n
            for n in sp.preorder_traversal(total)
            if not is_matrix(n) and any(is_matrix(a) for a in n.args)
        )
    }
    scalar = total.xreplace(atoms)  # rebuilt: exp(-1·2·a) is exp(-2a)
    ops = sp.count_ops(scalar)
    if ops > MAX_NODES or _terms(scalar) > MAX_TERMS:
        return None
    powers, generators = _exp_generators(scalar)
    in_g = scalar.xreplace(powers)
    factored = _leading_ones(sp.factor(in_g)).xreplace(generators)
    if isinstance(total, sp.Mul) and not total.has(sp.exp):  # a nested quotient, joined
        if sp.count_ops(factored) >= ops:
            return None
        return factored.xreplace({v: k for k, v in atoms.items()})
    forms = [factored]
    if isinstance(total, sp.Mul):  # σ(u) - y, not (g - y(g + 1))/(g + 1)
        if generators:
            forms.append(_split(in_g, generators).xreplace(generators))
        else:  # each exp a symbol: -e/(1 + e) factored by SymPy is -1/(exp(u) + 1)
            held = {e: sp.Dummy("e") for e in scalar.atoms(sp.exp)}
            kept = sp.factor(scalar.xreplace(held)).xreplace({v: k for k, v in held.items()})
            forms = [_leading_ones(kept)]
    readable = [f for f in forms if all(map(_sigmoid_factors, sp.Add.make_args(f)))]
    best = min(readable, key=sp.count_ops, default=None)
    if best is None or sp.count_ops(best) >= ops:
        return None
    return best.xreplace({v: k for k, v in atoms.items()})


def _sigmoid_factors(product: Any) -> bool:
    """No sum of ``product`` has an exp except in exp(u) + 1, which print as σ: σ″ =
    σ(u)σ(-u)(2σ(-u) - 1) factored is exp(-u)(exp(-u) - 1)/(1 + exp(-u))³, no clearer."""
    factors = product.args if isinstance(product, sp.Mul) else (product,)
    for f in factors:
        base = f.base if isinstance(f, sp.Pow) else f
        if isinstance(base, sp.Add) and base.has(sp.exp):
            if len(base.args) != 2 or sp.S.One not in base.args:
                return False
            if not any(isinstance(a, sp.exp) for a in base.args):
                return False
    return True


def _exp_generators(scalar: Any) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """exp(k·c·u) -> gᵏ with g for exp(c·u), the exp of u with the smallest |c| (when
    every k is an integer), and g -> exp(c·u): factored in g, exp(-u)/(1 + exp(-u))²
    keeps the exp the steps named (SymPy's own factor writes exp(u)/(exp(u) + 1)²)."""
    groups: dict[Any, list[tuple[Any, Any]]] = {}
    for e in scalar.atoms(sp.exp):
        c, u = e.args[0].as_coeff_Mul()
        groups.setdefault(u, []).append((c, e))
    powers: dict[Any, Any] = {}
    generators: dict[Any, Any] = {}
    for found in groups.values():
        c0, e0 = min(found, key=lambda ce: (abs(ce[0]), bool(ce[0] < 0)))  # exp(u) first
        if len(found) < 2 or not all((c / c0).is_Integer for c, _ in found):
            continue
        g = sp.Dummy("g")
        powers.update((e, g ** (c / c0)) for c, e in found)
        generators[g] = e0
    return powers, generators


def _cancel(region: Any) -> Any:
    """The cancelled form of an entrywise ``region``, or None when it is no shorter.

    A quotient is cancelled with the functions written out (exp(-ab) inside exp);
    a sum without one is factored as a polynomial in its function values, which stay
    as they are: σ∘(1 - σ)∘(1 - σ) - (1 - σ)∘σ∘σ is σ∘(1 - σ)∘(1 - 2σ)."""
    polynomial = not _has_quotient(region)
    if polynomial and not (isinstance(region, sp.MatAdd) and _of_function_values(region)):
        return None
    atoms: dict[Any, Any] = {}
    try:
        scalar = _to_scalar(region, atoms, opaque=polynomial)
    except _NotEntrywise:
        return None
    ops = sp.count_ops(scalar)
    if ops > MAX_NODES:
        return None
    # factored evaluated: inside exp(...) the unevaluated (-a)·b hides exp(-ab)/(1 + exp(-ab))
    evaluated = scalar if polynomial else scalar.doit()
    if _terms(evaluated) > MAX_TERMS:
        return None
    factored = _leading_ones(sp.factor(evaluated))
    if polynomial:  # in squares: (1 - t²)(1 - 3t²) for tanh″, not (1 - t)(1 + t)(1 - 3t²)
        factored = min(factored, _factored_in_squares(scalar), key=sp.count_ops)
    if sp.count_ops(factored) >= ops:
        return None
    try:
        new = _from_scalar(factored, {v: k for k, v in atoms.items()}, shape_of(region))
    except _NotEntrywise:
        return None
    # fewer scalar operations need not mean a shorter matrix form
    return new if _operations(new) < _operations(region) else None


_OPERATIONS: IdentityMemo[int] = IdentityMemo()


def _operations(expr: Any) -> int:
    """SymPy's count_ops of a matrix expression, the operand of an entrywise function
    that has entrywise functions inside counted on its own: count_ops negates each
    operand it can, and negating a matrix expression rebuilds it (doit), which fuses
    nested entrywise functions through SymPy's assumptions, exponential in the
    nesting (a chain of 14 σ, log and exp took 10 s)."""
    known = _OPERATIONS.get(expr)
    if known is not None:
        return known
    hidden: list[Any] = []
    replaced: dict[Any, Any] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ElementwiseApplyFunction) and node.expr.has(ElementwiseApplyFunction):
            if node not in replaced:
                stand_in = sp.MatrixSymbol(f"_operand{len(replaced)}", *shape_of(node.expr))
                replaced[node] = ElementwiseApplyFunction(node.function, stand_in)
            hidden.append(node.expr)  # counted once per occurrence, as count_ops does
        elif isinstance(node, sp.Basic) and not isinstance(node, sp.Lambda):
            stack.extend(node.args)
    outer = sp.count_ops(expr.xreplace(replaced) if replaced else expr)
    return _OPERATIONS.put(expr, int(outer) + sum(_operations(e) for e in hidden))


def _terms(expr: Any) -> int:
    """How many terms ``expr`` has multiplied out (a bound; more than MAX_TERMS is
    reported as MAX_TERMS + 1), with numerator and denominator counted together and
    functions (exp(u)) as one atom: a walk of the tree, without expanding anything."""
    cap = MAX_TERMS + 1
    if isinstance(expr, sp.Add):
        return min(cap, sum(_terms(a) for a in expr.args))
    if isinstance(expr, sp.Mul):
        count = 1
        for a in expr.args:
            count = min(cap, count * _terms(a))
        return count
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        base = _terms(expr.base)
        return base if base == 1 else min(cap, base ** min(abs(int(expr.exp)), 8))
    return 1


def _factored_in_squares(scalar: Any) -> Any:
    """``scalar`` factored as a polynomial in a² for each atom a it has only even
    powers of; itself when it has none."""
    squares = {}
    for a in scalar.free_symbols:
        b = sp.Dummy("b")
        if a not in (by_square := scalar.subs(a**2, b)).free_symbols:
            squares[a], scalar = b, by_square
    if not squares:
        return scalar
    factored = _leading_ones(sp.factor(scalar))
    return factored.subs({b: a**2 for a, b in squares.items()})


def _leading_ones(expr: Any) -> Any:
    """Factors like a - 1 written 1 - a, two at a time (or one with a negative
    coefficient), so the value is unchanged: (2σ - 1)(σ - 1)σ is (1 - 2σ)(1 - σ)σ."""
    if not isinstance(expr, sp.Mul):
        return expr
    coeff, factors = expr.as_coeff_mul()
    flip = [
        k
        for k, f in enumerate(factors)
        if isinstance(f, sp.Add) and any(t.is_Number and t < 0 for t in f.args)
    ]
    if len(flip) % 2 and coeff > 0:
        flip = flip[:-1]  # an odd count: one keeps its sign
    if not flip:
        return expr
    sign = -1 if len(flip) % 2 else 1
    new = [sp.expand(-f) if k in flip else f for k, f in enumerate(factors)]
    return sp.Mul(sign * coeff, *new)


def _has_quotient(node: Any) -> bool:
    stack = [node]
    count = 0
    while stack:
        n = stack.pop()
        count += 1
        if count > MAX_NODES:
            return False
        if isinstance(n, sp.HadamardPower) and n.exp.is_negative:
            return True
        if _inside(n):
            stack.extend(_entrywise_args(n))
    return False


def _of_function_values(node: Any) -> bool:
    """A sum of ∘ products of entrywise function values and numbers (σ∘(1 - σ) ...),
    with no scalar factor that is not a number (1/‖x‖ I - x xᵀ/‖x‖³ is left alone)."""
    stack, count, functions = [node], 0, False
    while stack:
        n = stack.pop()
        count += 1
        if count > MAX_NODES:
            return False
        if isinstance(n, ElementwiseApplyFunction):
            functions = True
            continue
        if isinstance(n, sp.MatMul) and not n.as_coeff_matrices()[0].is_Number:
            return False
        if _inside(n):
            stack.extend(_entrywise_args(n))
    return functions


def _inside(node: Any) -> bool:
    """An entrywise operation the region continues through."""
    if isinstance(node, sp.MatMul):
        return sum(1 for a in node.args if is_matrix(a)) == 1
    return isinstance(
        node, (sp.HadamardProduct, sp.HadamardPower, sp.MatAdd, ElementwiseApplyFunction)
    )


def _entrywise_args(node: Any) -> list[Any]:
    if isinstance(node, ElementwiseApplyFunction):
        return [node.expr]
    if isinstance(node, sp.HadamardPower):
        return [node.base]
    return [a for a in node.args if is_matrix(a)]


def _to_scalar(node: Any, atoms: dict[Any, Any], opaque: bool = False) -> Any:
    """One entry of ``node`` as a scalar expression in one symbol per atom, left
    unevaluated so that its operation count is the matrix form's.  ``opaque``: an
    entrywise function application is an atom too."""
    if opaque and isinstance(node, ElementwiseApplyFunction):
        if node not in atoms:
            atoms[node] = sp.Dummy(f"a{len(atoms)}")
        return atoms[node]
    if isinstance(node, sp.OneMatrix):
        return sp.S.One
    if isinstance(node, sp.ZeroMatrix):
        return sp.S.Zero
    if isinstance(node, sp.HadamardProduct):
        return sp.Mul(*(_to_scalar(a, atoms, opaque) for a in node.args), evaluate=False)
    if isinstance(node, sp.HadamardPower):
        return sp.Pow(_to_scalar(node.base, atoms, opaque), node.exp, evaluate=False)
    if isinstance(node, sp.MatAdd):
        return sp.Add(*(_to_scalar(a, atoms, opaque) for a in node.args), evaluate=False)
    if isinstance(node, ElementwiseApplyFunction):
        function = node.function
        if len(function.variables) != 1:
            raise _NotEntrywise(node)
        return function(_to_scalar(node.expr, atoms, opaque))
    if isinstance(node, sp.MatMul):
        coeff, mats = node.as_coeff_matrices()
        if coeff != 1:  # c A B: the atom is A B
            rest = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
            return sp.Mul(coeff, _to_scalar(rest, atoms, opaque), evaluate=False)
    if not is_matrix(node):
        raise _NotEntrywise(node)
    if node not in atoms:
        atoms[node] = sp.Dummy(f"a{len(atoms)}")
    return atoms[node]


def _from_scalar(expr: Any, atoms: dict[Any, Any], shape: tuple[Any, Any]) -> Any:
    """The entrywise matrix expression whose every entry is ``expr``."""
    if expr in atoms:
        return atoms[expr]
    if not (expr.free_symbols & set(atoms)):
        if expr == 0:
            return sp.ZeroMatrix(*shape)
        return _scale(expr, sp.OneMatrix(*shape))
    if isinstance(expr, sp.Add):
        return sp.MatAdd(*(_from_scalar(a, atoms, shape) for a in expr.args))
    if isinstance(expr, sp.Mul):
        coeff = sp.Mul(*(a for a in expr.args if not (a.free_symbols & set(atoms))))
        parts = [_from_scalar(a, atoms, shape) for a in expr.args if a.free_symbols & set(atoms)]
        product = parts[0] if len(parts) == 1 else sp.HadamardProduct(*parts)
        return _scale(coeff, product)
    if isinstance(expr, sp.Pow) and not (expr.exp.free_symbols & set(atoms)):
        base = _from_scalar(expr.base, atoms, shape)
        if expr.exp == 2:
            return sp.HadamardProduct(base, base)
        return sp.HadamardPower(base, expr.exp)
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        inner = _from_scalar(expr.args[0], atoms, shape)
        return ElementwiseApplyFunction(sp.Lambda(_D, expr.func(_D)), inner)
    raise _NotEntrywise(expr)


def _scale(coeff: Any, matrix: Any) -> Any:
    return matrix if coeff == 1 else sp.MatMul(coeff, matrix)
