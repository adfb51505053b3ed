"""Expressions written back in matderiv's own syntax (``parse/expr.py``).

``to_syntax(expr)`` prints any expression the parser accepts so that
``parse_expression(to_syntax(e), symbols)`` rebuilds an expression equal to
``e`` (structurally where SymPy's canonical forms allow, numerically always);
``to_shapes(expr)`` writes the declarations of its MatrixSymbols.

The printer is an allow-list: each supported node has a ``_print_<Node>``
method below, and anything else (reshape, a free-standing matrix of
ones, an unnamed entrywise Lambda, π ...) raises a MatDerivError naming it.
Every method returns the text together with its precedence, so an operand is
parenthesised exactly when the grammar needs it.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from ..errors import MatDerivError
from ..parse.expr_grammar import ELEMENTWISE
from ..parse.limits import MAX_MATRIX_POWER
from .grouping import relu_operand, step_operand
from .syntax_forms import (
    _NAME,
    _entrywise_name,
    _fraction_parts,
    _is_one_by_one,
    _is_ones,
    _kron_parts,
    _no_syntax,
    _ones_term,
    _parses_as_matrix,
    _split_matmul,
    to_shapes,
)

# The grammar's precedence levels, loosest first.  An operand printed below the
# level its position needs gets parentheses.
SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(6)

_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?")
#: scalar functions the syntax spells with their SymPy name (sqrt is a Pow)
_SCALAR_FUNCTIONS = ("abs", "cos", "exp", "log", "loggamma", "sign", "sin", "tanh")


class _Text(str):
    """Printed text and its precedence; ``positive`` is set when the text is ``-positive``."""

    prec: int
    positive: _Text | None

    def __new__(cls, text: str, prec: int, positive: _Text | None = None) -> _Text:
        out = super().__new__(cls, text)
        out.prec = prec
        out.positive = positive
        return out


def _paren(text: _Text, level: int) -> _Text:
    """``text``, in parentheses when it binds looser than ``level``."""
    return text if text.prec >= level else _Text(f"({text})", ATOM)


def _neg(text: _Text) -> _Text:
    """-text: ``-2 * A`` reads (-2) * A, still a product; a sum needs parentheses."""
    if text.prec < PRODUCT:
        return _Text(f"-({text})", UNARY, text)
    return _Text(f"-{text}", min(text.prec, UNARY), text)


class SyntaxPrinter(StrPrinter):
    """Prints SymPy matrix expressions in matderiv's expression syntax (an allow-list)."""

    printmethod = "_matderiv_syntax"

    def __init__(self) -> None:
        super().__init__()
        self._bound: dict[Any, _Text] = {}  # t ↦ the operand's text, inside (t ↦ ...)∘(X)

    def _print(self, expr: Any, **kwargs: Any) -> _Text:
        for cls in type(expr).__mro__:
            method = SyntaxPrinter.__dict__.get(f"_print_{cls.__name__}")
            if method is not None:
                out: _Text = method(self, expr)
                return out
        raise _no_syntax(expr, "the syntax has no such operation")

    def _call(self, name: str, *args: Any) -> _Text:
        return _Text(f"{name}({', '.join(self._print(a) for a in args)})", ATOM)

    def _operand(self, expr: Any) -> _Text:
        """A matrix operand of inv, tr, kron, vec ...: these reject scalars, so a 1 x 1
        the parser would read as a scalar (``s^2``, ``exp(s)``) becomes ``s^2 * eye(1)``."""
        text = self._print(expr)
        if expr.is_Matrix and not _parses_as_matrix(expr):
            return _Text(f"{_paren(text, UNARY)} * eye(1)", PRODUCT)
        return text

    def _structural(self, name: str, *args: Any) -> _Text:
        return _Text(f"{name}({', '.join(self._operand(a) for a in args)})", ATOM)

    def _chain(self, factors: list[_Text], op: str) -> _Text:
        """Factors joined by a left-associative ``op``: the first may carry a unary
        minus, the others bind tighter (``A @ (-B)``, ``(A + B) * C^2``)."""
        if len(factors) == 1:
            return factors[0]
        wrapped = [_paren(f, UNARY if i == 0 else POWER) for i, f in enumerate(factors)]
        return _Text(f" {op} ".join(wrapped), PRODUCT)

    def _power(self, base: Any, exp: Any) -> _Text:
        if exp.is_number and not exp.is_real:
            raise _no_syntax(base, f"the exponent {exp} is not a real number")
        # a scalar exponent (x^s) in parentheses unless one symbol: x^(s - 1)
        tight = UNARY if exp.is_number else POSTFIX
        return _Text(
            f"{_paren(self._print(base), POSTFIX)}^{_paren(self._print(exp), tight)}", POWER
        )

    def _fraction(self, coeff: Any, top: list[Any], bottom: list[Any]) -> _Text:
        """coeff * top / bottom, e.g. ``(1/2) * x / (y * z)``."""
        factors = [self._print(coeff)] if coeff != 1 else []
        factors += [self._print(f) for f in top]
        numerator = self._chain(factors, "*") if factors else _Text("1", ATOM)
        if not bottom:
            return numerator
        denominator = self._chain([self._print(f) for f in bottom], "*")
        return _Text(f"{_paren(numerator, PRODUCT)} / {_paren(denominator, POWER)}", PRODUCT)

    def _sum(self, terms: list[_Text]) -> _Text:
        """Terms joined by + and -, a positive term first when there is one."""
        terms = sorted(terms, key=lambda t: t.positive is not None)
        if len(terms) == 1:
            return terms[0]
        pieces: list[str] = [_paren(terms[0], PRODUCT)]
        for term in terms[1:]:
            if term.positive is None:
                pieces.append(f"+ {_paren(term, PRODUCT)}")
            else:
                pieces.append(f"- {_paren(term.positive, PRODUCT)}")
        return _Text(" ".join(pieces), SUM)

    # -- atoms ---------------------------------------------------------------------

    def _print_Symbol(self, expr: Any) -> _Text:
        if expr in self._bound:  # the variable of a nameless entrywise function
            return self._bound[expr]
        if not _NAME.fullmatch(expr.name):
            raise _no_syntax(expr, "its name is not an identifier")
        return _Text(expr.name, ATOM)

    _print_MatrixSymbol = _print_Symbol

    def _print_Integer(self, expr: Any) -> _Text:
        if expr < 0:
            return _neg(self._print(-expr))
        return _Text(str(expr.p), ATOM)

    def _print_Rational(self, expr: Any) -> _Text:
        if expr < 0:
            return _neg(self._print(-expr))
        return _Text(f"({expr.p}/{expr.q})", ATOM)

    def _print_Float(self, expr: Any) -> _Text:
        if expr < 0:
            return _neg(self._print(-expr))
        text = StrPrinter({"full_prec": True})._print_Float(expr)
        if not _NUMBER.fullmatch(text):
            raise _no_syntax(expr, "not a finite number")
        return _Text(text, ATOM)

    def _print_Exp1(self, expr: Any) -> _Text:
        return _Text("exp(1)", ATOM)

    def _print_Identity(self, expr: Any) -> _Text:
        return self._call("eye", expr.rows)

    def _print_CommutationMatrix(self, expr: Any) -> _Text:
        return self._call("commutation", expr.m, expr.n)

    def _print_OneMatrix(self, expr: Any) -> _Text:
        return self._call("ones", expr.rows, expr.cols)  # 1 - v and sum(v) where they fit

    def _print_ZeroMatrix(self, expr: Any) -> _Text:
        return self._call("zeros", expr.rows, expr.cols)

    # -- matrix operators ----------------------------------------------------------------

    def _print_MatMul(self, expr: Any) -> _Text:
        from ..norms import norm_1_operand  # not at the top: norms → shapes → render

        operand = norm_1_operand(expr)
        if operand is not None:  # 𝟏ᵀ|x| is norm(x, 1)
            return self._call("norm", operand, sp.S.One)
        coeff, matrices = _split_matmul(expr)
        return self._scaled(coeff, self._matrix_factors(expr, matrices))

    def _scaled(self, coeff: Any, factors: list[_Text]) -> _Text:
        """coeff * F1 @ F2 ...: 2 * A @ B reads (2 * A) @ B, but 2 * (A * B) keeps its
        parentheses; a negative coefficient becomes a leading minus."""
        negative = coeff.could_extract_minus_sign()
        coeff = -coeff if negative else coeff
        if coeff == 1:
            product = self._chain(factors, "@")
        else:
            head = self._print(coeff)
            head = head if isinstance(coeff, sp.Mul) else _paren(head, UNARY)
            body = self._chain(factors, "@") if len(factors) > 1 else _paren(factors[0], POWER)
            product = _Text(f"{_paren(head, PRODUCT)} * {body}", PRODUCT)
        return _neg(product) if negative else product

    def _matrix_factors(self, expr: Any, matrices: list[Any]) -> list[_Text]:
        """The factors of A @ B @ C; 1ᵀ A B 1 is sum(A @ B), the parser's spelling of it."""
        lead = bool(matrices) and _is_ones(matrices[0]) and matrices[0].rows == 1
        trail = bool(matrices) and _is_ones(matrices[-1]) and matrices[-1].cols == 1
        if not (lead or trail):
            return [self._print(m) for m in matrices]
        inner = matrices[int(lead) : len(matrices) - int(trail)]
        product = sp.MatMul(*inner) if len(inner) > 1 else (inner[0] if inner else None)
        if (
            product is None
            or (lead and not trail and product.cols != 1)
            or (trail and not lead and product.rows != 1)
        ):
            return [self._print(m) for m in matrices]  # not a sum(): ones(1, n) @ A
        return [self._structural("sum", product)]

    def _print_MatAdd(self, expr: Any) -> _Text:
        scalars = [_ones_term(term) for term in expr.args]
        if all(s is not None for s in scalars):  # no term to give 1 its size: ones(m, n)
            scalars = [None] * len(scalars)
        terms: list[_Text] = []
        for term, scalar in zip(expr.args, scalars, strict=True):
            if scalar is None:
                terms.append(self._print(term))
            elif _parses_as_matrix(scalar):  # (aᵀx) - A would add a 1 x 1 to an n x n
                terms.append(self._call("tr", scalar))
            else:  # the parser reads 1 - v as OneMatrix - v
                terms.append(self._print(scalar))
        return self._sum(terms)

    def _print_Transpose(self, expr: Any) -> _Text:
        if isinstance(expr.arg, sp.KroneckerProduct):  # (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ, as the parser's .T
            coeff, factors = _kron_parts(expr.arg)
            return self._kron(coeff, [sp.Transpose(f) for f in factors])
        return _Text(f"{_paren(self._print(expr.arg), POSTFIX)}.T", POSTFIX)

    def _print_Inverse(self, expr: Any) -> _Text:
        return self._structural("inv", expr.arg)

    def _print_MatPow(self, expr: Any) -> _Text:
        base, exp = expr.args
        if _is_one_by_one(base):  # a scalar: the parser reads (aᵀx)^2 as one
            return self._scalar_power(base, exp)
        if not exp.is_Integer:
            raise _no_syntax(expr, "only integer powers of a square matrix")
        if abs(exp) > MAX_MATRIX_POWER:
            raise _no_syntax(expr, f"the exponent is beyond {MAX_MATRIX_POWER}")
        if exp == 0:
            return self._call("eye", base.rows)
        if abs(exp) <= 2:  # A @ A, inv(A) @ inv(A): as short, and plainer
            factor = self._structural("inv", base) if exp < 0 else self._print(base)
            return self._chain([factor] * abs(int(exp)), "@")
        return _Text(f"matrix_power({self._operand(base)}, {int(exp)})", ATOM)

    def _print_HadamardProduct(self, expr: Any) -> _Text:
        return self._chain([self._print(a) for a in expr.args], "*")  # ones(n, n) * A too

    def _print_HadamardPower(self, expr: Any) -> _Text:
        return self._power(expr.base, expr.exp)

    def _print_KroneckerProduct(self, expr: Any) -> _Text:
        return self._kron(*_kron_parts(expr))

    def _kron(self, coeff: Any, factors: list[Any]) -> _Text:
        """coeff * kron(A, kron(B, C)): the syntax's kron is binary."""
        out = self._operand(factors[-1])
        for factor in reversed(factors[:-1]):
            out = _Text(f"kron({self._operand(factor)}, {out})", ATOM)
        return self._scaled(coeff, [out])

    def _print_ElementwiseApplyFunction(self, expr: Any) -> _Text:
        try:
            return self._call(_entrywise_name(expr), expr.expr)
        except MatDerivError:
            if not isinstance(expr.function, sp.Lambda) or len(expr.function.variables) != 1:
                raise
        return self._entrywise_body(expr)

    def _entrywise_body(self, expr: Any) -> _Text:
        """(t ↦ g(t))∘(X), a function with no name, as g written at X: its operations are
        entrywise in the syntax (``X / (X^2 + 1)``; a constant c is ``c * ones(m, n)``)."""
        (t,), body = expr.function.variables, expr.function.expr
        if t not in body.free_symbols:
            return self._print(body * sp.OneMatrix(*expr.shape))
        saved = self._bound.get(t)
        self._bound[t] = self._print(expr.expr)
        try:
            return self._print(body)
        finally:
            if saved is None:
                del self._bound[t]
            else:
                self._bound[t] = saved

    def _print_Trace(self, expr: Any) -> _Text:
        return self._structural("tr", expr.arg)

    def _print_Determinant(self, expr: Any) -> _Text:
        return self._structural("det", expr.arg)

    # -- matderiv's nodes ------------------------------------------------------------------

    def _print_Vec(self, expr: Any) -> _Text:
        return self._structural("vec", expr.arg)

    def _print_DiagVector(self, expr: Any) -> _Text:
        return self._structural("diag", expr.arg)

    def _print_Diagonal(self, expr: Any) -> _Text:
        return self._structural("diag", expr.arg)

    def _print_Softmax(self, expr: Any) -> _Text:
        return self._structural(expr.name, expr.arg)  # softmax, softmax_rows ...

    _print_LogSumExp = _print_Softmax

    def _print_AsScalar(self, expr: Any) -> _Text:
        return self._print(expr.arg)

    def _print_MatrixElement(self, expr: Any) -> _Text:
        if _is_one_by_one(expr.parent) and expr.i == 0 and expr.j == 0:
            return self._print(expr.parent)
        raise _no_syntax(expr, "the syntax has no indexing (only the entry of a 1 x 1)")

    # -- scalars -------------------------------------------------------------------------------

    def _print_Add(self, expr: Any) -> _Text:
        return self._sum([self._print(t) for t in self._as_ordered_terms(expr)])

    def _print_Mul(self, expr: Any) -> _Text:
        if expr.could_extract_minus_sign():
            return _neg(self._print(-expr))
        return self._fraction(*_fraction_parts(expr))

    def _print_Pow(self, expr: Any) -> _Text:
        base, exp = expr.args
        if exp.is_number and exp.is_negative and not _parses_as_matrix(base):
            return self._fraction(sp.S.One, [], [sp.Pow(base, -exp)])
        return self._scalar_power(base, exp)

    def _scalar_power(self, base: Any, exp: Any) -> _Text:
        from ..norms import norm_operand  # not at the top: norms → shapes → render

        found = norm_operand(base) if exp.is_Rational and (2 * exp).is_odd else None
        if found is not None:  # √(xᵀx) is norm(x); (xᵀx)^(3/2) is norm(x)^3
            written = self._structural("norm", found[0])
            if exp == sp.S.Half:
                return written
            return _Text(f"{written}^{_paren(self._print(2 * exp), UNARY)}", POWER)
        return self._call("sqrt", base) if exp == sp.S.Half else self._power(base, exp)

    def _print_Function(self, expr: Any) -> _Text:
        name = type(expr).__name__
        if name == "log" and isinstance(expr.args[0], sp.Determinant):
            return self._structural("logdet", expr.args[0].arg)
        step = step_operand(expr)
        if step is not None:
            return self._call("step", step)
        name = {"Abs": "abs"}.get(name, name)
        if name == "polygamma" and expr.args[0] in (0, 1):  # ψ(s), ψ′(s)
            return self._call("digamma" if expr.args[0] == 0 else "trigamma", expr.args[1])
        if name not in _SCALAR_FUNCTIONS or len(expr.args) != 1:
            raise _no_syntax(expr, f"the functions are {', '.join(sorted(ELEMENTWISE))}")
        return self._call(name, expr.args[0])

    def _print_Max(self, expr: Any) -> _Text:
        arg = relu_operand(expr)
        if arg is None:
            raise _no_syntax(expr, "only max(0, x), written relu(x)")
        return self._call("relu", arg)


def to_syntax(expr: Any) -> str:
    """``expr`` in matderiv's expression syntax, e.g. ``a.T @ inv(X) @ b + tr(X)``."""
    return str(SyntaxPrinter()._print(sp.sympify(expr)))


__all__ = ["SyntaxPrinter", "to_shapes", "to_syntax"]
