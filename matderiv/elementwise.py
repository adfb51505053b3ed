"""Derivatives of entrywise functions, written as matrix formulas.

For Y = f(A) applied entry by entry, dY = f′(A) ∘ dA.  When f′ is a function
of f itself (tanh′ = 1 − tanh², exp′ = exp, σ′ = σ(1 − σ)) the factor is
written in terms of Y, as textbooks do: 1 − Y∘Y rather than 1 − tanh(A)∘tanh(A).
Polynomials become sums and Hadamard products; anything else stays an
entrywise function application.
"""

from __future__ import annotations

import functools
from typing import Any

import sympy as sp
from sympy.core.function import UndefinedFunction
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .errors import UnsupportedNode
from .shapes import shape_of
from .substitute import unchecked

_T, _Y = sp.Dummy("t"), sp.Dummy("y")


def elementwise_derivative(function: Any, arg: Any, output: Any) -> Any:
    """f′(arg) as a matrix expression, preferably in terms of ``output`` = f(arg)."""
    derivative, in_output = _derivative_forms(function)
    if in_output is not None:
        return lift(in_output, _Y, output)
    return lift(derivative, _T, arg)


#: in a derivative, signs that SymPy could not differentiate f (Derivative, Subs) or
#: that f is not differentiable as a real function (re, im, arg of a complex value)
NOT_A_DERIVATIVE = (sp.Derivative, sp.Subs, sp.re, sp.im, sp.conjugate, sp.arg, sp.DiracDelta)


def usable_diff(expr: Any, var: Any) -> Any:
    """d expr / d var for a real ``var``, or a ValueError saying why matderiv cannot
    use SymPy's answer (it failed, or left the derivative unevaluated).

    Where f is differentiable but for isolated points (|t|, relu, sign, step), f′ is
    its derivative everywhere else, as in autodiff libraries: |t|′ = sign(t),
    relu′ = step(t), and sign′ = step′ = 0 (SymPy's DiracDelta terms, zero but at
    the kinks, are dropped)."""
    real = sp.Dummy("r", real=True)
    try:
        derivative = sp.diff(expr.xreplace({var: real}), real)
    except (TypeError, ValueError, NotImplementedError, AttributeError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    derivative = derivative.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
    if derivative.has(*NOT_A_DERIVATIVE):
        raise ValueError(f"SymPy gives {derivative}")
    return derivative.xreplace({real: var})


@functools.lru_cache(maxsize=256)
def _derivative_forms(function: Any) -> tuple[Any, Any]:
    """(f′(t), f′ as a polynomial in y = f(t) or None), once per function."""
    f_t = function(_T)
    try:
        derivative = usable_diff(f_t, _T)
        return derivative, _in_terms_of_output(derivative, f_t, _T, _Y)
    except (TypeError, ValueError, NotImplementedError, AttributeError) as exc:
        raise UnsupportedNode(
            f"the entrywise function t ↦ {function(sp.Symbol('t'))} has no derivative "
            f"matderiv can use: {why_not(f_t, exc)}. "
            "Hint: write it with functions matderiv differentiates: relu(t) (Max(t, 0)), "
            "abs(t), sign(t), step(t) (Heaviside), or a smooth one such as softplus."
        ) from exc


_JUMPS = (sp.floor, sp.ceiling, sp.frac)


def why_not(f_t: Any, exc: Exception) -> str:
    """Why SymPy's derivative of f(t) is of no use, in the user's terms."""
    if f_t.has(sp.Piecewise):
        return "it is defined by cases (Piecewise), which SymPy does not differentiate here"
    if f_t.has(*_JUMPS):
        return "it jumps (floor, ceiling), so it is not differentiable"
    if any(isinstance(type(f), UndefinedFunction) for f in f_t.atoms(sp.Function)):
        return "it is an undefined function (sp.Function('g')), whose derivative is unknown"
    return f"SymPy does not differentiate it ({exc})"


# Functions whose derivative is no polynomial in their value; skipping sp.solve for
# them saves its cost (and, on the first call, the import of sympy.physics.units).
_NO_POLYNOMIAL_FORM = (sp.sin, sp.cos, sp.log, sp.asin, sp.acos, sp.atan, sp.asinh, sp.acosh)


def _nested(expr: Any, t: Any) -> bool:
    """True when a function is applied to another function (tanh(tanh(t))) or to a
    nonlinear argument (tanh(t/(t² + 1)): sp.solve took 32 s on it, and the chain
    rule's factor in t leaves no polynomial in the output)."""
    return any(
        a.has(sp.Function) or not (a.is_polynomial(t) and sp.degree(a, t) <= 1)
        for f in expr.atoms(sp.Function)
        for a in f.args
    )


_U = sp.Dummy("u")


def _moebius(f_t: Any, t: Any) -> bool:
    """(a t + b)/(c t + d), whose derivative is a polynomial in its value (1/t: -y²).
    Other rational functions are not tried: sp.solve took 3.8 s on softsign∘softsign."""
    numerator, denominator = sp.fraction(sp.together(f_t))
    return all(
        part.is_polynomial(t) and sp.degree(part, t) <= 1 for part in (numerator, denominator)
    )


def _in_terms_of_output(derivative: Any, f_t: Any, t: Any, y: Any) -> Any:
    """f′ as a polynomial in y = f(t), or None when it is not one."""
    direct = derivative.subs(f_t, y)
    if not direct.has(t):
        return direct
    if _nested(f_t, t):  # sp.solve on compositions is slow and rarely gives a polynomial
        return None
    functions = f_t.atoms(sp.Function)
    if len(functions) > 1:  # cosh(2t)/cosh(t): sp.solve took 20 s, for no polynomial
        return None
    u = functions.pop() if functions else t
    if not _moebius(f_t.subs(u, _U), _U):
        # a rational function of t or of one function of t other than (a u + b)/(c u + d):
        # f′ is no polynomial in f (tanh(t)³: sp.solve ran for minutes)
        return None
    if isinstance(f_t, _NO_POLYNOMIAL_FORM):  # sin′ = cos, log′ = 1/t: no polynomial in y
        return None
    try:
        inverses = sp.solve(sp.Eq(y, f_t), t)
    except (NotImplementedError, ValueError, TypeError):
        return None
    for inverse in inverses:
        candidate = sp.factor(sp.simplify(derivative.subs(t, inverse)))
        if not candidate.has(t) and candidate.is_polynomial(y):
            return _sign_into_factor(candidate)
    return None


def _sign_into_factor(expr: Any) -> Any:
    """-(y - 1)·y as (1 - y)·y, the textbook's σ(1 - σ): a negative coefficient
    taken into a sum factor raised to an odd power."""
    if not isinstance(expr, sp.Mul):
        return expr
    coeff, factors = expr.as_coeff_mul()
    if coeff >= 0:
        return expr
    for k, f in enumerate(factors):
        base, exp = f.as_base_exp()
        if isinstance(base, sp.Add) and exp.is_integer and exp.is_odd:
            flipped = sp.Pow(sp.expand(-base), exp)
            return sp.Mul(-coeff, *factors[:k], flipped, *factors[k + 1 :])
    return expr


def lift(expr: Any, var: Any, matrix: Any) -> Any:
    """The scalar expression expr(var) applied entrywise to ``matrix``."""
    shape = shape_of(matrix)
    if expr == var:
        return matrix
    if not expr.has(var):
        return sp.ZeroMatrix(*shape) if expr == 0 else _scale(expr, sp.OneMatrix(*shape))
    if isinstance(expr, sp.Add):
        return unchecked(sp.MatAdd, *(lift(a, var, matrix) for a in expr.args))
    if isinstance(expr, sp.Mul):
        coeff = sp.Mul(*(a for a in expr.args if not a.has(var)))
        parts = [lift(a, var, matrix) for a in expr.args if a.has(var)]
        product = parts[0] if len(parts) == 1 else unchecked(sp.HadamardProduct, *parts)
        return _scale(coeff, product)
    if isinstance(expr, sp.Pow) and not expr.exp.has(var):
        base = lift(expr.base, var, matrix)
        if expr.exp == 2:
            return unchecked(sp.HadamardProduct, base, base)
        return sp.HadamardPower(base, expr.exp)
    if shape == (1, 1):  # SymPy may apply the function to a 1 x 1 matrix as a whole
        return ElementwiseApplyFunction(sp.Lambda(var, expr), matrix)
    return unchecked(ElementwiseApplyFunction, sp.Lambda(var, expr), matrix)


def _scale(coeff: Any, matrix: Any) -> Any:
    return matrix if coeff == 1 else unchecked(sp.MatMul, coeff, matrix)
