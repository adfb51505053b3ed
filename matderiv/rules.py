"""The rule table: one small pure function per node type.

A rule takes a node and returns its differential as a tuple of ``Term``\\ s,
one per operand: d(node) = Σ map_k(d operand_k).  It never walks the graph;
accumulation (``accumulate.py``) does that.  The rule's name is the label
users see in a derivation; its docstring's first line is the identity.

The table *is* the support list: ``supported_nodes()`` reads it, and a node
that depends on the variable but has no entry is reported, never treated as
a constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .canon import matmul, transpose
from .elementwise import elementwise_derivative, usable_diff, why_not
from .errors import UnsupportedNode
from .graph import scaled_term
from .linear import (
    DiagMap,
    DiagonalMap,
    HadamardMap,
    KronMap,
    LinearMap,
    ReshapeMap,
    Sandwich,
    ScalarToMatrix,
    TraceMap,
    TransposeMap,
    VecMap,
    _scale,
)
from .linear_softmax import LogSumExpMap, SoftmaxMap
from .nodes import AsScalar, Diagonal, DiagVector, Reshape, Vec
from .parse.limits import MAX_MATRIX_POWER
from .render.unicode import fmt
from .shapes import SCALAR, fmt_shape, is_matrix, is_scalar_shape, shape_of
from .softmax_nodes import LogSumExp, Softmax


@dataclass(frozen=True)
class Term:
    """One operand's share of a differential: d(node) ∋ map(d operand)."""

    operand: Any
    map: LinearMap


Rule = Callable[[Any], tuple[Term, ...]]
RULES: dict[type, Rule] = {}


def rule(*types: type) -> Callable[[Rule], Rule]:
    """Register ``fn`` as the rule of each node type."""

    def register(fn: Rule) -> Rule:
        for node_type in types:
            RULES[node_type] = fn
        return fn

    return register


def rule_for(node: Any) -> Rule | None:
    """The rule of the most specific registered class of ``node``, or None."""
    for cls in type(node).__mro__:
        if cls in RULES:
            return RULES[cls]
    return None


def rule_name(fn: Rule) -> str:
    """The rule's name as the steps show it: d_hadamard_power is "Hadamard power"."""
    return shown_name(fn.__name__.removeprefix("d_"))


def shown_name(name: str) -> str:
    """A rule's or rewrite's name in words: hadamard_numbers is "Hadamard numbers"."""
    return " ".join(_PROPER.get(word, word) for word in name.split("_"))


_PROPER = {"hadamard": "Hadamard", "kronecker": "Kronecker"}  # names of people


def rule_identity(fn: Rule) -> str:
    return (fn.__doc__ or "").strip().splitlines()[0]


def d_definition(node: Any) -> tuple[Term, ...]:
    """d h = d(definition) for h defined in where="""
    return (Term(node, Sandwich(shape_of(node))),)


def supported_nodes() -> list[str]:
    return sorted({cls.__name__ for cls in RULES})


# -- linear: sums, transposes, vec --------------------------------------------


@rule(sp.MatAdd, sp.Add)
def d_sum(node: Any) -> tuple[Term, ...]:
    """d(A + c B) = dA + c dB  (c a number)"""
    terms = []
    for a in node.args:
        c, x = scaled_term(a)
        terms.append(Term(x, Sandwich(shape_of(x), coeff=c)))
    return tuple(terms)


@rule(sp.Transpose)
def d_transpose(node: Any) -> tuple[Term, ...]:
    """d(Aᵀ) = (dA)ᵀ;  vec form K_{m,n}  (Magnus & Neudecker 3.7)"""
    return (Term(node.arg, TransposeMap(shape_of(node.arg))),)


@rule(Vec)
def d_vec(node: Any) -> tuple[Term, ...]:
    """d vec(A) = vec(dA)"""
    return (Term(node.arg, VecMap(shape_of(node.arg))),)


@rule(Reshape)
def d_reshape(node: Any) -> tuple[Term, ...]:
    """d vec⁻¹(v) = vec⁻¹(dv)"""
    return (Term(node.arg, ReshapeMap(shape_of(node.arg), shape_of(node))),)


@rule(DiagVector)
def d_diag(node: Any) -> tuple[Term, ...]:
    """d diag(v) = diag(dv)"""
    return (Term(node.arg, DiagMap(shape_of(node.arg))),)


@rule(Diagonal)
def d_diagonal(node: Any) -> tuple[Term, ...]:
    """d diag(X) = diag(dX) (the diagonal of a square X)"""
    return (Term(node.arg, DiagonalMap(shape_of(node.arg))),)


@rule(MatrixElement)
def d_matrix_element(node: Any) -> tuple[Term, ...]:
    """d (a)₁₁ = (da)₁₁ for a 1 x 1 matrix a"""
    parent = node.parent
    if not is_scalar_shape(shape_of(parent)):
        raise UnsupportedNode(
            f"element {node} of the {fmt_shape(shape_of(parent))} matrix {parent}: only "
            "the entry of a 1 x 1 matrix is supported. Hint: if you wrote the entry of "
            "a 1 x 1 product, (x.T*A*x)[0, 0], with numeric sizes SymPy writes it out "
            "entry by entry: write sp.Trace(x.T*A*x) or the 1 x 1 product itself; for an "
            "entry of a larger matrix, write e_iᵀ A e_j with unit vectors e_i, e_j."
        )
    return (Term(parent, Sandwich(SCALAR)),)


# -- bilinear: products -------------------------------------------------------


@rule(sp.MatMul)
def d_product(node: Any) -> tuple[Term, ...]:
    """d(A B C) = dA B C + A dB C + A B dC;  vec(A dX B) = (Bᵀ ⊗ A) vec(dX)  (Cookbook 37, 520)"""
    scalars = [a for a in node.args if not is_matrix(a)]
    mats = [a for a in node.args if is_matrix(a)]
    coeff = sp.Mul(*scalars)
    terms = []
    for i, factor in enumerate(mats):
        left = matmul(*mats[:i]) if i else None
        right = matmul(*mats[i + 1 :]) if i + 1 < len(mats) else None
        terms.append(Term(factor, Sandwich(shape_of(factor), left, right, coeff)))
    product = matmul(*mats)
    for j, scalar in enumerate(scalars):
        others = sp.Mul(*(scalars[:j] + scalars[j + 1 :]))
        terms.append(Term(scalar, ScalarToMatrix(SCALAR, _scale(others, product))))
    return tuple(terms)


@rule(sp.Mul)
def d_scalar_product(node: Any) -> tuple[Term, ...]:
    """d(a b) = b da + a db"""
    args = node.args
    return tuple(
        Term(a, Sandwich(SCALAR, coeff=sp.Mul(*(args[:k] + args[k + 1 :]))))
        for k, a in enumerate(args)
    )


@rule(sp.HadamardProduct)
def d_hadamard(node: Any) -> tuple[Term, ...]:
    """d(A ∘ B) = dA ∘ B + A ∘ dB  (Cookbook 11.1.5)"""
    args = node.args
    terms = []
    for k, a in enumerate(args):
        others = args[:k] + args[k + 1 :]
        factor = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
        terms.append(Term(a, HadamardMap(shape_of(a), factor)))
    return tuple(terms)


@rule(sp.KroneckerProduct)
def d_kronecker(node: Any) -> tuple[Term, ...]:
    """d(A ⊗ B) = dA ⊗ B + A ⊗ dB  (Magnus & Neudecker 3.10)"""
    args = node.args
    terms = []
    for k, a in enumerate(args):
        left = _kron_or_none(args[:k])
        right = _kron_or_none(args[k + 1 :])
        terms.append(Term(a, KronMap(shape_of(a), left, right)))
    return tuple(terms)


def _kron_or_none(factors: tuple[Any, ...]) -> Any:
    if not factors:
        return None
    return factors[0] if len(factors) == 1 else sp.KroneckerProduct(*factors)


# -- nonlinear matrix functions -----------------------------------------------


@rule(sp.Inverse)
def d_inverse(node: Any) -> tuple[Term, ...]:
    """d(X⁻¹) = −X⁻¹ dX X⁻¹  (Cookbook 59)"""
    return (Term(node.arg, Sandwich(shape_of(node.arg), node, node, sp.S.NegativeOne)),)


@rule(sp.MatPow)
def d_matrix_power(node: Any) -> tuple[Term, ...]:
    """d(Aᵏ) = Σⱼ Aʲ dA Aᵏ⁻¹⁻ʲ  (Cookbook 90); negative k through A⁻¹; 1 x 1: k aᵏ⁻¹ da"""
    base, k = node.base, node.exp
    shape = shape_of(base)
    if is_scalar_shape(shape):
        return (Term(base, Sandwich(shape, coeff=k * AsScalar(base) ** (k - 1))),)
    if k.is_Float and float(k).is_integer():  # S**2.0, as NumPy code writes S²
        k = sp.Integer(int(k))
    if not k.is_Integer:
        what = "a symbolic exponent" if k.free_symbols else "a non-integer exponent"
        hint = (
            "give the exponent a value, e.g. X**3"
            if k.free_symbols
            else "use HadamardPower for an entrywise power"
        )
        raise UnsupportedNode(
            f"matrix power {node} with {what} {k}: only powers by a given integer of "
            f"a {fmt_shape(shape)} matrix have a rule. Hint: {hint}."
        )
    if abs(k) > MAX_MATRIX_POWER:  # A^{1000} x, 3000 juxtaposed A's, A squared 40 times
        raise UnsupportedNode(
            f"matrix power {node}: its derivative has |k| = {abs(k)} terms, and matderiv "
            f"writes them out only for |k| ≤ {MAX_MATRIX_POWER}. Hint: for a long product "
            "of the same matrix, differentiate a shorter power, or write the recurrence as "
            "a program (where=) of named steps."
        )
    if k == 0:  # A⁰ = I: no dependence on A
        return (Term(base, Sandwich(shape, coeff=sp.S.Zero)),)
    if k > 0:
        return tuple(
            Term(base, Sandwich(shape, _pow_or_none(base, j), _pow_or_none(base, k - 1 - j)))
            for j in range(int(k))
        )
    inv = sp.Inverse(base)
    return tuple(
        Term(base, Sandwich(shape, _pow(inv, j + 1), _pow(inv, -k - j), sp.S.NegativeOne))
        for j in range(int(-k))
    )


def _pow_or_none(base: Any, j: int) -> Any:
    return None if j == 0 else _pow(base, j)


def _pow(base: Any, j: int) -> Any:
    return base if j == 1 else sp.MatPow(base, j)


@rule(sp.Trace)
def d_trace(node: Any) -> tuple[Term, ...]:
    """d tr(A) = tr(dA)  (Cookbook 99)"""
    return (Term(node.arg, TraceMap(shape_of(node.arg))),)


@rule(sp.Determinant)
def d_determinant(node: Any) -> tuple[Term, ...]:
    """d det(X) = det(X) tr(X⁻¹ dX)  (Cookbook 46)"""
    return (Term(node.arg, TraceMap(shape_of(node.arg), sp.Inverse(node.arg), node)),)


@rule(sp.HadamardPower)
def d_hadamard_power(node: Any) -> tuple[Term, ...]:
    """d(A^∘p) = p A^∘(p−1) ∘ dA + (A^∘p ∘ log∘A) dp  (elementwise power; dp for a scalar p
    that depends on the variable: A^∘p = exp∘(p log∘A), A > 0)"""
    base, p = node.base, node.exp
    factor = _scale(p, base if p - 1 == 1 else sp.HadamardPower(base, p - 1))
    terms = (Term(base, HadamardMap(shape_of(base), factor)),)
    if not p.has(sp.MatrixSymbol):  # a number or a size: constant
        return terms
    by_exponent = sp.HadamardProduct(node, base.applyfunc(sp.log))
    return (*terms, Term(p, ScalarToMatrix(SCALAR, by_exponent)))


@rule(ElementwiseApplyFunction)
def d_elementwise(node: Any) -> tuple[Term, ...]:
    """d f(A) = f′(A) ∘ dA  (f applied entrywise; Cookbook 2.8)"""
    factor = elementwise_derivative(node.function, node.expr, node)
    return (Term(node.expr, HadamardMap(shape_of(node.expr), factor)),)


@rule(Softmax)
def d_softmax(node: Any) -> tuple[Term, ...]:
    """d softmax(x) = (diag(s) − s sᵀ) dx,  s = softmax(x); of each row (column) of S:
    Y ∘ (dS − (Y ∘ dS) 𝟏 𝟏ᵀ)  (columns: Y ∘ (dS − 𝟏 𝟏ᵀ (Y ∘ dS))),  Y = softmax(S)"""
    if len(node.args) > 1:
        return (Term(node.arg, SoftmaxMap(shape_of(node.arg), node, node.axis)),)
    jac = sp.MatAdd(DiagVector(node), matmul(-1, node, transpose(node)))
    return (Term(node.arg, Sandwich(shape_of(node.arg), jac)),)


@rule(LogSumExp)
def d_logsumexp(node: Any) -> tuple[Term, ...]:
    """d logsumexp(x) = softmax(x)ᵀ dx; of each row (column) of S: (Y ∘ dS) 𝟏
    (columns: 𝟏ᵀ (Y ∘ dS)),  Y = softmax(S) along the same axis"""
    if len(node.args) > 1:
        Y = Softmax(node.arg, node.axis)
        return (Term(node.arg, LogSumExpMap(shape_of(node.arg), Y, node.axis)),)
    return (Term(node.arg, Sandwich(shape_of(node.arg), transpose(Softmax(node.arg)))),)


# -- scalar functions ---------------------------------------------------------


@rule(sp.Pow)
def d_power(node: Any) -> tuple[Term, ...]:
    """d(uᵖ) = p uᵖ⁻¹ du + uᵖ log(u) dp"""
    base, p = node.args
    return (
        Term(base, Sandwich(SCALAR, coeff=p * base ** (p - 1))),
        Term(p, Sandwich(SCALAR, coeff=node * sp.log(base))),
    )


@rule(sp.Function, sp.Max, sp.Min)
def d_function(node: Any) -> tuple[Term, ...]:
    """d f(u) = f′(u) du  (any scalar function SymPy can differentiate)"""
    if isinstance(node, sp.Piecewise):
        raise UnsupportedNode(
            f"{fmt(node)} is defined by cases (Piecewise), which matderiv does not "
            "differentiate. Hint: write it with functions matderiv differentiates: "
            "Max(u, 0) (relu), abs, sign, Heaviside (step), or a smooth one."
        )
    return tuple(
        Term(arg, Sandwich(shape_of(arg), coeff=_partial(node, k)))
        for k, arg in enumerate(node.args)
        if not arg.is_Number  # Max(0, u), Heaviside(u, 1/2)
    )


def _partial(node: Any, k: int) -> Any:
    """∂f/∂u_k of f(u_1, ...) at the node's arguments, as a scalar."""
    u = sp.Dummy("u")
    args = list(node.args)
    try:
        partial = usable_diff(node.func(*([*args[:k], u, *args[k + 1 :]])), u)
    except ValueError as exc:
        raise UnsupportedNode(
            f"{fmt(node)}: {node.func.__name__} has no derivative matderiv can use: "
            f"{why_not(node, exc)}. Hint: write it with functions matderiv differentiates "
            "(|u|, sign, Max, smooth functions)."
        ) from exc
    return partial.subs(u, args[k])


@rule(AsScalar)
def d_as_scalar(node: Any) -> tuple[Term, ...]:
    """d a = d(a₁₁) for a 1 x 1 matrix a used as a scalar"""
    return (Term(node.arg, Sandwich(SCALAR)),)
