"""A SymPy printer for readable Unicode formulas: Xᵀ, X⁻¹, X⁻², A ⊗ B, A ∘ B, I_n, 𝟏ₙ, K_{m,n}.

Every printed form has one reading (``parse/unicode.py`` reads them back): a
matrix of ones or zeros shows its size unless a neighbour in a sum or ∘ product
gives it, nested products and 1 x 1 sums or products used as scalars are
parenthesised (render/grouping.py), and powers are superscripts.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.str import StrPrinter

from ..nodes import (
    AsScalar,
)
from ..softmax_nodes import LogSumExp
from .grouping import (
    SizedConstants,
    called_name,
    grouped_scalar,
    mapping,
    relu_operand,
    self_contained,
    signed,
    step_operand,
    with_scalar_sigmoids,
)
from .term_order import in_step_order, with_transposed_twins
from .unicode_names import _SUBSCRIPTS, label, subscripted

_PREC_PRODUCT = 50
_PREC_ATOM = 1000


class UnicodePrinter(SizedConstants, StrPrinter):
    """Prints matrix expressions the way a textbook writes them, in plain Unicode."""

    printmethod = "_matderiv_unicode"  # so nodes' own _sympystr does not take over

    def _wrap(self, expr: Any) -> str:
        out = self._print(expr)
        return out if self_contained(expr) else f"({out})"

    def _base(self, expr: Any) -> str:
        """An operand of ᵀ ⁻¹ ² ^∘k; one with a superscript of its own in parentheses too:
        (X²)ᵀ, (X⁻¹)², not X²ᵀ or X⁻¹² (which reads as X to the -12)."""
        out = self._wrap(expr)
        return f"({out})" if isinstance(expr, (sp.MatPow, sp.Transpose)) else out

    def _print_Transpose(self, expr: Any) -> str:
        if isinstance(expr.arg, sp.Inverse):
            return f"{self._base(expr.arg.arg)}⁻ᵀ"
        return f"{self._base(expr.arg)}ᵀ"

    def _print_Inverse(self, expr: Any) -> str:
        if isinstance(expr.arg, sp.Transpose):
            return f"{self._base(expr.arg.arg)}⁻ᵀ"
        return f"{self._base(expr.arg)}⁻¹"

    def _print_MatMul(self, expr: Any) -> str:
        from ..norms import norm_1_operand  # not at the top: norms → shapes → this module

        operand = norm_1_operand(expr)
        if operand is not None:  # 𝟏ᵀ|x| is ‖x‖₁
            return f"‖{self._print(operand)}‖₁"
        coeff, factors = expr.as_coeff_matrices()  # as_coeff_mmul checks shapes: O(depth)
        if self.reads_as_number(coeff, tuple(factors)):  # c·I₁, c·1 are the number c
            text = self._print(coeff)
            return f"({text})" if isinstance(coeff, sp.Add) else text
        several = len(factors) > 1
        parts = [
            f"({self._print(f)})" if _grouped(f, several) else self._print(f)
            for f in with_transposed_twins(tuple(factors))
        ]
        parts = [  # -tr(A) X reads as a difference after another factor or a number
            f"({p})" if p.startswith("-") and (k or coeff != 1) else p for k, p in enumerate(parts)
        ]
        body = " ".join(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}"
        sign, scalar = signed(coeff)  # -(aᵀ x) X, not -aᵀ x X
        text = self._print(scalar)
        if isinstance(scalar, sp.Add) or grouped_scalar(scalar):
            text = f"({text})"
        return f"{sign}{text} {body}"

    def _print_MatAdd(self, expr: Any) -> str:
        out = ""
        printed = [self._print(term) for term in in_step_order(expr.args)]
        printed.sort(key=lambda s: s.startswith("-"))  # stable: positive terms first
        for k, s in enumerate(printed):
            if k and s.startswith("-"):
                out += f" - {s[1:]}"
            elif k:
                out += f" + {s}"
            else:
                out = s
        return out

    def _print_KroneckerProduct(self, expr: Any) -> str:
        return " ⊗ ".join(self._wrap(a) for a in expr.args)

    def _print_HadamardProduct(self, expr: Any) -> str:
        return "∘".join(self._wrap(a) for a in expr.args)

    def _print_HadamardPower(self, expr: Any) -> str:
        if expr.exp == 2:
            base = self._wrap(expr.base)
            return f"{base}∘{base}"
        exponent = self._print(expr.exp)
        single = isinstance(expr.exp, AsScalar) and isinstance(expr.exp.arg, sp.MatrixSymbol)
        whole = expr.exp.is_Integer or expr.exp.is_Float or expr.exp.is_Symbol or single
        if not whole:  # X^∘(s - 1), X^∘(wᵀ x), x^∘(-3/2): x^∘-3/2 read as (x^∘-3)/2
            exponent = f"({exponent})"
        return f"{self._base(expr.base)}^∘{exponent}"

    def _print_MatPow(self, expr: Any) -> str:
        base = self._base(expr.base)
        if expr.exp.is_Integer:
            return f"{base}{superscript(expr.exp)}"
        return f"{base}^({self._print(expr.exp)})"

    def _print_Symbol(self, expr: Any) -> str:
        return subscripted(expr.name)

    def _print_MatrixSymbol(self, expr: Any) -> str:
        if expr.name.startswith("∂") and "/∂" in expr.name:  # an adjoint ∂f/∂u, by name
            return label(expr.name)
        return subscripted(expr.name)

    def _print_Dummy(self, expr: Any) -> str:
        return expr.name

    def _print_MatrixElement(self, expr: Any) -> str:
        parent = self._print(expr.parent)
        named = isinstance(expr.parent, sp.MatrixSymbol) and not expr.parent.name.startswith("∂")
        if not named:
            parent = f"({parent})"
        rows, cols = expr.parent.shape
        index = [self._print(k) for k, n in ((expr.i, rows), (expr.j, cols)) if n != 1]
        return f"{parent}[{','.join(index)}]" if index else parent

    def _print_Derivative(self, expr: Any) -> str:
        var = expr.variables[0]
        return f"∂{self._print(expr.expr)}/∂{self._print(var)}"

    def _print_Sum(self, expr: Any) -> str:
        indices = "".join(self._print(limit[0]) for limit in expr.limits)
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = f"({body})"
        return f"Σ_{indices} {body}"

    def _print_KroneckerDelta(self, expr: Any) -> str:
        i, j = (self._print(a) for a in expr.args[:2])
        return f"δ({i},{j})"

    def _sized(self, name: str, size: Any) -> str:
        """I_n, I₃, I_{nₕ}, I_{m·n}: a size as a subscript."""
        text = self._print(size)
        if text.isdigit():
            return f"{name}{text.translate(_SUBSCRIPTS)}"
        return f"{name}_{text}" if len(text) == 1 else f"{name}_{{{text}}}"

    def _print_Identity(self, expr: Any) -> str:
        if sp.Integer(1) == expr.rows:  # I₁ is the number 1, as a 1 x 1 ones matrix is
            return "1"
        return self._sized("I", expr.rows)

    def _constant(self, expr: Any, bare: str, bold: str) -> str:
        """1 where a sum or ∘ product gives the size, else 𝟏ₙ, 𝟏ₙᵀ or 𝟏_{m×n}."""
        kind, rows, cols = self.constant_shape(expr)
        if kind == "bare":
            return bare
        if kind == "column":
            return self._sized(bold, rows)
        if kind == "row":
            return f"{self._sized(bold, cols)}ᵀ"
        return f"{bold}_{{{self._print(rows)}×{self._print(cols)}}}"

    def _print_OneMatrix(self, expr: Any) -> str:
        return self._constant(expr, "1", ONES)

    def _print_ZeroMatrix(self, expr: Any) -> str:
        return self._constant(expr, "0", ZEROS)

    def _print_Trace(self, expr: Any) -> str:
        return f"tr({self._print(expr.arg)})"

    def _print_Determinant(self, expr: Any) -> str:
        return f"det({self._print(expr.arg)})"

    def _print_CommutationMatrix(self, expr: Any) -> str:
        return f"K_{{{self._print(expr.m)},{self._print(expr.n)}}}"

    def _print_Vec(self, expr: Any) -> str:
        return f"vec({self._print(expr.arg)})"

    def _print_DiagVector(self, expr: Any) -> str:
        return f"diag({self._print(expr.arg)})"

    def _print_Diagonal(self, expr: Any) -> str:
        return f"diag({self._print(expr.arg)})"

    def _print_Reshape(self, expr: Any) -> str:
        rows, cols = (self._print(d) for d in expr.shape)
        return f"vec⁻¹_{{{rows}×{cols}}}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Any) -> str:
        return f"{expr.name}({self._print(expr.arg)})"  # softmax, softmax_rows ...

    _print_LogSumExp = _print_Softmax

    def _print_Abs(self, expr: Any) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Heaviside(self, expr: Any) -> str:
        arg = step_operand(expr)
        return str(super()._print_Function(expr)) if arg is None else f"step({self._print(arg)})"

    def _print_Max(self, expr: Any) -> str:
        arg = relu_operand(expr)
        return self._lattice("max", expr) if arg is None else f"relu({self._print(arg)})"

    def _print_Min(self, expr: Any) -> str:
        return self._lattice("min", expr)

    def _lattice(self, name: str, expr: Any) -> str:
        """max(t, t/10), min(t, 1): StrPrinter has no method for them."""
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_ScalarSigmoid(self, expr: Any) -> str:
        return f"σ({self._print(expr.args[0])})"

    def _print_polygamma(self, expr: Any) -> str:
        """ψ(s) and ψ′(s) by the words the readers take: digamma(s), trigamma(s)."""
        order, x = expr.args
        if order in (0, 1):
            return f"{'digamma' if order == 0 else 'trigamma'}({self._print(x)})"
        return str(super()._print_Function(expr))

    def _print_AsScalar(self, expr: Any) -> str:
        return self._print(expr.arg)

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        name = called_name(expr)
        if name is not None:
            return f"{'σ' if name == 'sigmoid' else name}({self._print(expr.expr)})"
        fn = expr.function
        if isinstance(fn, sp.Lambda):
            var, body = mapping(expr)
            return f"({self._print(var)} ↦ {self._print(body)})∘({self._print(expr.expr)})"
        return f"{self._print(fn)}({self._print(expr.expr)})"

    def _print_Pow(self, expr: Any) -> str:
        """x², tr(X)⁻²; x**(1/2) is √x, 1/x stays a quotient; √(xᵀx) is ‖x‖."""
        from ..norms import norm_power  # not at the top: norms → shapes → this module

        found = norm_power(expr)
        if found is not None:
            operand, frobenius, k = found
            bars = f"‖{self._print(operand)}‖{'_F' if frobenius else ''}"
            power = bars if abs(k) == 1 else f"{bars}{superscript(abs(k))}"
            return power if k > 0 else f"1/{power}"
        if expr.exp.is_Integer and (expr.exp > 1 or expr.exp < -1):
            return f"{self._power_base(expr)}{superscript(expr.exp)}"
        if expr.exp in (sp.S.Half, -sp.S.Half):  # √n, 1/√(xᵀx + 1), as written by hand
            root = f"√{self._power_base(expr)}"
            return root if expr.exp > 0 else f"1/{root}"
        text = super()._print_Pow(expr)
        if "**" not in text:  # sqrt(x), 1/x, 1/sqrt(x)
            return text
        # x^(3/2), x^k: as written by hand (and read back), not Python's x**(3/2)
        base = self._power_base(expr)
        exponent = self._print(expr.exp)
        if not (expr.exp.is_Symbol or (expr.exp.is_Integer and expr.exp > 0)):
            exponent = f"({exponent})"
        return f"{base}^{exponent}"

    def _power_base(self, expr: Any) -> str:
        base = self._print(expr.base)
        symbol = isinstance(expr.base, AsScalar) and isinstance(expr.base.arg, sp.MatrixSymbol)
        return base if symbol or isinstance(expr.base, _POWER_BASES) else f"({base})"

    def _print_Mul(self, expr: Any) -> str:
        return re.sub(r"(?<!\*)\*(?!\*)", "·", super()._print_Mul(expr))


# scalars that take a superscript without parentheses: h², tr(X)⁻², det(X)²
_POWER_BASES = (sp.Symbol, MatrixElement, sp.Function, sp.Trace, sp.Determinant, LogSumExp)
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
#: the bold digits of a matrix of ones or zeros printed with its size (𝟏ₙ, 𝟎_{m×n})
ONES, ZEROS = "\N{MATHEMATICAL BOLD DIGIT ONE}", "\N{MATHEMATICAL BOLD DIGIT ZERO}"


def superscript(k: Any) -> str:
    """An integer as superscript digits: -2 → ⁻²."""
    return str(k).replace("-", "⁻").translate(_SUPERSCRIPTS)


def _grouped(factor: Any, several: bool) -> bool:
    """A factor of a matrix product that needs parentheses: a sum or a nested product
    always; a ⊗ or ∘ product or a 1 x 1 product used as a scalar among other factors."""
    if isinstance(factor, (sp.MatAdd, sp.Add, sp.MatMul)):
        return True
    wide = isinstance(factor, (sp.KroneckerProduct, sp.HadamardProduct))
    return several and (wide or grouped_scalar(factor))


_PRINTER = UnicodePrinter()


def fmt(expr: Any) -> str:
    """A formula in readable Unicode."""
    return _PRINTER.doprint(with_scalar_sigmoids(expr))


def fmt_shape(shape: Any) -> str:
    """(nᵢ·nₕ × nₕ)"""
    rows, cols = (fmt(sp.sympify(d)) for d in shape)
    return f"({rows} × {cols})"
