"""A SymPy printer for readable Unicode formulas: Xᵀ, X⁻¹, A ⊗ B, A ∘ B, Iₙ, K_{m,n}."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.str import StrPrinter

from ..nodes import CommutationMatrix, DiagVector, LogSumExp, Reshape, Softmax, Vec

_PREC_PRODUCT = 50
_PREC_ATOM = 1000


class UnicodePrinter(StrPrinter):
    """Prints matrix expressions the way a textbook writes them, in plain Unicode."""

    printmethod = "_matderiv_unicode"  # so nodes' own _sympystr does not take over

    def _wrap(self, expr: Any) -> str:
        out = self._print(expr)
        atomic = isinstance(
            expr,
            (
                sp.MatrixSymbol,
                sp.Symbol,
                sp.Identity,
                sp.Transpose,
                sp.Inverse,
                Vec,
                DiagVector,
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
            ),
        )
        return out if atomic else f"({out})"

    def _print_Transpose(self, expr: Any) -> str:
        if isinstance(expr.arg, sp.Inverse):
            return f"{self._wrap(expr.arg.arg)}⁻ᵀ"
        return f"{self._wrap(expr.arg)}ᵀ"

    def _print_Inverse(self, expr: Any) -> str:
        if isinstance(expr.arg, sp.Transpose):
            return f"{self._wrap(expr.arg.arg)}⁻ᵀ"
        return f"{self._wrap(expr.arg)}⁻¹"

    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_mmul()
        parts = [
            self._wrap(f) if isinstance(f, (sp.MatAdd, sp.Add)) else self._print(f)
            for f in factors.args
        ]
        if len(factors.args) > 1:
            parts = [
                f"({p})" if _needs_parens(f) else p
                for p, f in zip(parts, factors.args, strict=True)
            ]
        body = " ".join(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}"
        return f"{self._wrap(coeff) if isinstance(coeff, sp.Add) else self._print(coeff)} {body}"

    def _print_MatAdd(self, expr: Any) -> str:
        out = ""
        printed = [self._print(term) for term in expr.args]
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
        return f"{self._wrap(expr.base)}^∘{self._print(expr.exp)}"

    def _print_MatPow(self, expr: Any) -> str:
        return f"{self._wrap(expr.base)}^{self._print(expr.exp)}"

    def _print_Symbol(self, expr: Any) -> str:
        return subscripted(expr.name)

    def _print_MatrixSymbol(self, expr: Any) -> str:
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

    def _print_Identity(self, expr: Any) -> str:
        size = self._print(expr.rows)
        if size.isdigit() or len(size) == 1:
            return f"I{size.translate(_SUBSCRIPTS)}" if size.isdigit() else f"I_{size}"
        return f"I_{{{size}}}"

    def _print_OneMatrix(self, expr: Any) -> str:
        return "1"

    def _print_ZeroMatrix(self, expr: Any) -> str:
        return "0"

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

    def _print_Reshape(self, expr: Any) -> str:
        rows, cols = (self._print(d) for d in expr.shape)
        return f"vec⁻¹_{{{rows}×{cols}}}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Any) -> str:
        return f"softmax({self._print(expr.arg)})"

    def _print_LogSumExp(self, expr: Any) -> str:
        return f"logsumexp({self._print(expr.arg)})"

    def _print_AsScalar(self, expr: Any) -> str:
        return self._print(expr.arg)

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        fn = expr.function
        if isinstance(fn, sp.Lambda):
            var = fn.variables[0]
            body = fn.expr
            if isinstance(body, sp.Function) and body.args == (var,):
                return f"{type(body).__name__}({self._print(expr.expr)})"
            return f"({self._print(var)} ↦ {self._print(body)})∘({self._print(expr.expr)})"
        return f"{self._print(fn)}({self._print(expr.expr)})"

    def _print_Pow(self, expr: Any) -> str:
        if expr.exp.is_Integer and expr.exp > 1:
            base = self._print(expr.base)
            if not isinstance(expr.base, (sp.Symbol, MatrixElement, sp.Function)):
                base = f"({base})"
            return f"{base}{str(expr.exp).translate(_SUPERSCRIPTS)}"
        return super()._print_Pow(expr)

    def _print_Mul(self, expr: Any) -> str:
        return re.sub(r"(?<!\*)\*(?!\*)", "·", super()._print_Mul(expr))


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPT_CHARS = dict(
    zip("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)
_SUBSCRIPTS = str.maketrans({k: v for k, v in _SUBSCRIPT_CHARS.items() if k.isdigit()})


_ACCENTS = {"bar": "\u0304", "dot": "\u0307"}  # generated adjoints hbar_t, tangents hdot_t


def accented(base: str) -> tuple[str, str] | None:
    """("h", "bar") for "hbar": a one-letter name with a bar or dot accent."""
    for accent in _ACCENTS:
        stem = base.removesuffix(accent)
        if stem != base and len(stem) == 1 and stem.isalpha():
            return stem, accent
    return None


def subscripted(name: str) -> str:
    """h_1 → h₁, n_h → nₕ, W_hx → Wₕₓ, hbar_1 → h̄₁; names whose subscript has no
    Unicode form stay."""
    base, sep, sub = name.partition("_")
    accent = accented(base)
    if accent is not None:
        base = accent[0] + _ACCENTS[accent[1]]
        if not sep:
            return base
    if sep and sub and "_" not in sub and all(c in _SUBSCRIPT_CHARS for c in sub):
        return base + "".join(_SUBSCRIPT_CHARS[c] for c in sub)
    return base + sep + sub


def _needs_parens(factor: Any) -> bool:
    return isinstance(factor, (sp.KroneckerProduct, sp.HadamardProduct))


_PRINTER = UnicodePrinter()


def fmt(expr: Any) -> str:
    """A formula in readable Unicode."""
    return _PRINTER.doprint(expr)


def fmt_shape(shape: Any) -> str:
    """(nᵢ·nₕ × nₕ)"""
    rows, cols = (fmt(sp.sympify(d)) for d in shape)
    return f"({rows} × {cols})"
