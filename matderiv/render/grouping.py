"""What the Unicode and LaTeX printers decide alike, so every printed form has one reading.

The decisions that live here:

- **Sizes of constant matrices.**  A matrix of ones or zeros prints as a bare
  ``1`` / ``0`` only where a neighbour gives its size: as a term of a sum or a
  factor of a ∘ product that has a sized operand (``1 - h∘h``), possibly under a
  scalar multiple, ᵀ, a ∘ power or an entrywise function.  Anywhere else (a
  matrix or ⊗ product, inside vec, diag, tr, or standing alone) it prints with
  its size, as a textbook writes it: 𝟏ₙ, 𝟏ₙᵀ, 𝟏_{m×n} (``\\mathbf{1}_{n}`` in
  LaTeX).  ``SizedConstants`` is the printer mixin that tracks where the printer
  is; ``constant_shape`` says which form to print.
- **Grouping of 1 x 1 matrices used as scalars** (``AsScalar``, which prints as
  its matrix).  A 1 x 1 sum or product among other factors, or under a power,
  gets parentheses: 2·(aᵀx + xᵀa)·tr(A), 1/(aᵀ X b) a bᵀ, (aᵀx)².  The rule is
  registered as AsScalar's precedence in SymPy's table, so every SymPy printer
  (``str``, ``latex``, matderiv's) parenthesises it alike.
- **Operands that need no parentheses** in a ⊗ or ∘ product: symbols, calls,
  transposes and inverses (``self_contained``).
- **The sigmoid of a scalar** as σ(u): exp(u)/(exp(u) + 1) and 1/(1 + exp(-u)), which
  SymPy keeps as fractions (softplus′, the logistic loss of one sample), print as σ(u),
  as the sigmoid of a matrix does (``with_scalar_sigmoids``).
- **Entrywise functions written as calls.**  tanh, exp, log (SymPy functions),
  the sigmoid σ(t) = 1/(1 + exp(-t)), relu, softplus, step, abs and sign print as
  calls, σ(X w); any other function as a mapping, (t ↦ ...)∘(X w).
  ``called_name`` says which.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.precedence import PRECEDENCE, PRECEDENCE_FUNCTIONS, precedence

from ..named_functions import function_name
from ..nodes import (
    AsScalar,
    CommutationMatrix,
    Diagonal,
    DiagVector,
    Reshape,
    Vec,
)
from ..softmax_nodes import LogSumExp, Softmax

# -- constant matrices ------------------------------------------------------------

_CONSTANTS = (sp.OneMatrix, sp.ZeroMatrix)
# Nodes through which a bare 1 keeps meaning "ones of the neighbour's size": the
# number read in their place gives the same matrix once broadcast.
_CARRIERS = (*_CONSTANTS, sp.Transpose, sp.HadamardPower, ElementwiseApplyFunction)


def _matrix_factors(expr: Any) -> list[Any]:
    return [f for f in expr.args if getattr(f, "is_Matrix", False)]


def sizeless(expr: Any) -> bool:
    """Whether ``expr`` printed with bare constants would carry no size: ones, zeros,
    and scalar multiples, transposes, sums and entrywise functions of them."""
    if isinstance(expr, _CONSTANTS):
        return True
    if isinstance(expr, sp.MatMul):
        mats = _matrix_factors(expr)
        return len(mats) == 1 and sizeless(mats[0])
    if isinstance(expr, ElementwiseApplyFunction):
        return sizeless(expr.expr)  # its args are (function, matrix)
    if isinstance(expr, (sp.Transpose, sp.HadamardPower)):
        return sizeless(expr.args[0])
    if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
        return all(sizeless(a) for a in expr.args)
    return False


def _identity_term(expr: Any) -> bool:
    """I or c I: next to it a bare 1 would read as the identity (1 - A for I - A)."""
    if isinstance(expr, sp.MatMul):
        mats = _matrix_factors(expr)
        return len(mats) == 1 and isinstance(mats[0], sp.Identity)
    return isinstance(expr, sp.Identity)


def bare_inside(expr: Any, outer: bool) -> bool:
    """Whether constants inside ``expr`` may print bare, given whether they may around it:
    in a sum with a sized term (1 - h∘h), unless a term is an identity (I - 1/n 𝟏_{n×n})."""
    if isinstance(expr, sp.MatAdd) and any(_identity_term(a) for a in expr.args):
        return False
    if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
        return outer or not all(sizeless(a) for a in expr.args)
    if isinstance(expr, _CARRIERS):
        return outer
    if isinstance(expr, sp.MatMul) and len(_matrix_factors(expr)) == 1:
        # c·1 with a number c reads as the number c; (wᵀc)/n 𝟏_n keeps its size
        numbers = all(a.is_Number for a in expr.args if not getattr(a, "is_Matrix", False))
        return outer and numbers
    return False


def _is_one(d: Any) -> bool:
    return bool(sp.sympify(d) == 1)


class SizedConstants:
    """Printer mixin: knows whether the node being printed may show ones or zeros bare."""

    _bare_constants = False

    def _print(self, expr: Any, **kwargs: Any) -> str:
        outer = self._bare_constants
        self._bare_constants = bare_inside(expr, outer)
        try:
            return super()._print(expr, **kwargs)  # type: ignore[misc]
        finally:
            self._bare_constants = outer

    def constant_shape(self, expr: Any) -> tuple[str, Any, Any]:
        """How to print the constant matrix ``expr``: ("bare", ...) as the number, or
        ("column", n, 1), ("row", 1, n), ("matrix", m, n) with its size."""
        rows, cols = expr.shape
        if self._bare_constants or (_is_one(rows) and _is_one(cols)):
            return "bare", rows, cols
        if _is_one(cols):
            return "column", rows, cols
        if _is_one(rows):
            return "row", rows, cols
        return "matrix", rows, cols

    def reads_as_number(self, coeff: Any, factors: tuple[Any, ...]) -> bool:
        """c·𝟏 whose ones print bare (1/2 𝟏 in (1/2 𝟏)∘x), or c·I₁: the number c."""
        if coeff == 1 or len(factors) != 1:
            return False
        ones = (
            isinstance(factors[0], sp.OneMatrix) and self.constant_shape(factors[0])[0] == "bare"
        )
        return ones or is_unit(factors)


# -- 1 x 1 matrices used as scalars -----------------------------------------------


def _as_scalar_precedence(item: Any) -> int:
    """A sum, ⊗ or (negated) product of 1 x 1 matrices binds like a sum, so it is
    parenthesised as a factor; a product like a product; an atom (aᵀ, w) as an atom."""
    from ..norms import norm_1_operand  # not at the top: norms → shapes → render

    arg = item.arg
    if isinstance(arg, (sp.MatAdd, sp.KroneckerProduct)):
        return PRECEDENCE["Add"]
    if norm_1_operand(arg) is not None:  # prints as ‖x‖₁
        return PRECEDENCE["Atom"]
    return int(precedence(arg))


PRECEDENCE_FUNCTIONS["AsScalar"] = _as_scalar_precedence


def grouped_scalar(item: Any) -> bool:
    """A 1 x 1 matrix used as a scalar that needs parentheses among other factors."""
    return isinstance(item, AsScalar) and _as_scalar_precedence(item) <= PRECEDENCE["Mul"]


def signed(coeff: Any) -> tuple[str, Any]:
    """A matrix product's scalar coefficient as ("-", c) or ("", c), so c can be grouped
    on its own: -(aᵀx) X, where the sign would otherwise leave aᵀx bare (a number
    keeps its sign, and so does a sum with a positive number in it: 1 - f²)."""
    if coeff.is_Number or not coeff.could_extract_minus_sign():
        return "", coeff
    if isinstance(coeff, sp.Add) and any(t.is_Number and t > 0 for t in coeff.args):
        return "", coeff  # (1 - f²) a, not -(f² - 1) a
    return "-", -coeff


def is_unit(factors: tuple[Any, ...]) -> bool:
    """A lone 1 x 1 identity or ones matrix: the number 1 as a matrix, so that c·I₁
    prints as c."""
    return (
        len(factors) == 1
        and isinstance(factors[0], (sp.Identity, sp.OneMatrix))
        and sp.Integer(1) == factors[0].shape[0] == factors[0].shape[1]
    )


# -- the sigmoid of a scalar ----------------------------------------------------------


class ScalarSigmoid(sp.Function):
    """σ(u) = 1/(1 + exp(-u)) of a scalar u, for printing only (never evaluated)."""

    nargs = 1


def _exp_plus_one(base: Any) -> Any:
    """v for a sum exp(v) + 1 (either order), else None."""
    if not isinstance(base, sp.Add) or len(base.args) != 2 or sp.S.One not in base.args:
        return None
    e = base.args[0] if base.args[1] == 1 else base.args[1]
    return e.args[0] if isinstance(e, sp.exp) else None


def _sigmoid_of(node: Any) -> Any:
    """σ(u)·rest for exp(u)·(exp(u) + 1)⁻¹·rest, σ(-v) for (1 + exp(v))⁻¹; else None."""
    if isinstance(node, sp.Pow) and node.exp == -1:
        v = _exp_plus_one(node.base)
        if v is not None:
            return ScalarSigmoid(-v)
    if isinstance(node, sp.Mul):  # exp(a v)/(exp(v) + 1)^k = σ(v)^a σ(-v)^(k-a), a ≤ k
        for f in node.args:
            if not isinstance(f, sp.exp):
                continue
            for den in node.args:
                if not isinstance(den, sp.Pow):
                    continue
                v, k = _exp_plus_one(den.base), -den.exp
                if v is None or v == 0 or not (k.is_Integer and k >= 1):
                    continue
                a = f.args[0] / v  # 2u/u is 2 as SymPy builds it
                if a.is_Integer and 1 <= a <= k:
                    rest = [with_scalar_sigmoids(g) for g in node.args if g not in (f, den)]
                    return sp.Mul(ScalarSigmoid(v) ** a, ScalarSigmoid(-v) ** (k - a), *rest)
    return None


def with_scalar_sigmoids(expr: Any) -> Any:
    """``expr`` with each scalar sigmoid written as σ(u) (outermost first)."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.exp):
        return expr
    found: dict[Any, Any] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if not isinstance(node, sp.Basic) or isinstance(node, sp.Lambda) or not node.args:
            continue
        sigmoid = _sigmoid_of(node) if isinstance(node, (sp.Mul, sp.Pow)) else None
        if sigmoid is not None:
            found[node] = sigmoid
            continue
        stack.extend(node.args)
    return expr.xreplace(found) if found else expr


# -- entrywise functions ----------------------------------------------------------

#: the variable of an entrywise mapping (t ↦ ...), the first free of these
_BOUND_NAMES = ("t", "u", "s", "τ", "ξ")


def mapping(expr: Any) -> tuple[Any, Any]:
    """(variable, body) of an entrywise function printed as a mapping (t ↦ body): the
    Lambda's own variable if the user chose it, else t (SymPy's applyfunc calls it d,
    which read as a differential or a dimension d), any name free in the operand, the
    body and their sizes."""
    var, body = expr.function.variables[0], expr.function.expr
    operand = expr.expr
    shape = operand.shape if getattr(operand, "is_Matrix", False) else ()
    taken = {str(s) for s in (*operand.free_symbols, *body.free_symbols) if s != var}
    taken |= {str(s) for d in shape for s in sp.sympify(d).free_symbols}
    if not isinstance(var, sp.Dummy) and str(var) not in taken:
        return var, body
    name = next((c for c in _BOUND_NAMES if c not in taken), None)
    if name is None:
        return var, body
    shown = sp.Symbol(name)
    return shown, body.xreplace({var: shown})


def called_name(expr: Any) -> str | None:
    """The name an entrywise function application prints under as a call: the SymPy
    function's (``"tanh"``), the syntax's for the sigmoid, relu, softplus, step
    (Heaviside), abs and sign; None for another function, which prints as a mapping."""
    if not isinstance(expr, ElementwiseApplyFunction):
        return None
    fn = expr.function
    named = function_name(fn)
    if named is not None:
        return named
    if not isinstance(fn, sp.Lambda):
        return str(fn)
    if len(fn.variables) != 1:
        return None
    var, body = fn.variables[0], fn.expr
    if isinstance(body, sp.Function) and body.args == (var,):
        return type(body).__name__
    if isinstance(body, sp.polygamma) and body.args in ((0, var), (1, var)):
        return "digamma" if body.args[0] == 0 else "trigamma"  # ψ and ψ′, by the words
    return None


def relu_operand(expr: Any) -> Any:
    """x when ``expr`` is Max(0, x), a relu of a scalar; else None."""
    if len(expr.args) == 2 and sp.S.Zero in expr.args:
        return next(a for a in expr.args if a != 0)
    return None


def step_operand(expr: Any) -> Any:
    """x when ``expr`` is Heaviside(x) with the value 1/2 at 0, the step function;
    else None (another value at 0 prints as SymPy's Heaviside)."""
    if isinstance(expr, sp.Heaviside) and expr.args[1:] == (sp.S.Half,):
        return expr.args[0]
    return None


# -- operands that read alone -------------------------------------------------------

#: nodes printed as a symbol, a call or with a closing mark (ᵀ, ⁻¹): an operand of
#: ⊗ or ∘ needs no parentheses around them
_SELF_CONTAINED = (
    sp.MatrixSymbol,
    sp.Symbol,
    sp.Identity,
    sp.Transpose,
    sp.Inverse,
    sp.MatPow,
    Vec,
    DiagVector,
    Diagonal,
    CommutationMatrix,
    sp.Trace,
    sp.Determinant,
    sp.Number,
    Softmax,
    Reshape,
    sp.OneMatrix,
    sp.ZeroMatrix,
    sp.Function,
    LogSumExp,
)


def self_contained(expr: Any) -> bool:
    """Whether ``expr`` reads as one operand of ⊗ or ∘ without parentheses."""
    return isinstance(expr, _SELF_CONTAINED) or called_name(expr) is not None
