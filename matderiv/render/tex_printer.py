"""The LaTeX printer for matrix expressions: what papers write, Xᵀ as X^{T}, X^{-T},
I_{n}, A \\otimes B, A \\circ B, \\operatorname{vec}, \\operatorname{diag}, K_{m,n}, tanh(a)
for an entrywise tanh (``render/latex.py`` lays out a Derivation with it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..named_functions import BODIES
from ..nodes import AsScalar
from . import tex_names
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
from .unicode_names import accented

#: an adjoint's or tangent's name when the user has hbar_t / hdot_t: hadj_t, htan2_t
_ALTERNATE = re.compile(r"([A-Za-z][0-9]*)(adj|tan)([0-9]*)")


class MatrixLatexPrinter(SizedConstants, LatexPrinter):
    """SymPy's LaTeX printer with textbook matrix notation."""

    #: the symbols named like notation, which prints otherwise: exp(u) as \exp(u), not
    #: e^{u}, beside a symbol e; the sigmoid as \operatorname{sigmoid} beside a symbol σ;
    #: Xᵀ as X^{\top} beside a matrix T
    clashes: frozenset[str] = frozenset()

    def _print_ExpBase(self, expr: Any, exp: str | None = None) -> str:
        if "e" not in self.clashes:
            return str(super()._print_ExpBase(expr, exp))
        return _raised(rf"\exp\left({self._print(expr.args[0])}\right)", exp)

    def _sigmoid(self) -> str:
        return r"\operatorname{sigmoid}" if "sigma" in self.clashes else r"\sigma"

    def _wrap(self, expr: Any) -> str:
        """An operand of ^{T}, ^{-1} or a ∘ power: bare when it reads alone (X, vec(X),
        tanh(X)), in parentheses when it is a sum or product, or carries a superscript
        of its own (a double superscript is a TeX error)."""
        out = self._print(expr)
        superscripted = (
            isinstance(expr, (sp.MatPow, sp.Transpose, sp.Inverse))
            or (isinstance(expr, (sp.OneMatrix, sp.ZeroMatrix)) and "^" in out)
            or (isinstance(expr, ElementwiseApplyFunction) and out.startswith("e^"))  # e^{x}
        )
        if self_contained(expr) and not superscripted and not isinstance(expr, sp.Number):
            return out
        return rf"\left({out}\right)"

    def _needs_mul_brackets(self, expr: Any, first: bool = False, last: bool = False) -> bool:
        return _grouped_scalar(expr) or super()._needs_mul_brackets(expr, first, last)

    def parenthesize(self, item: Any, level: int, strict: bool = False) -> str:
        r"""X∘² prints as X \circ X, so it binds like a \circ product, looser than ⊗ reads."""
        mul = PRECEDENCE["Mul"]
        if _squared(item) and (mul < level or (not strict and mul <= level)):
            return rf"\left({self._print(item)}\right)"
        return str(super().parenthesize(item, level, strict))

    def _print_Transpose(self, expr: Any) -> str:
        if isinstance(expr.arg, sp.Inverse):
            return rf"{self._wrap(expr.arg.arg)}^{{-{_t(self.clashes)}}}"
        return rf"{self._wrap(expr.arg)}^{{{_t(self.clashes)}}}"

    def _print_ScalarSigmoid(self, expr: Any, exp: str | None = None) -> str:
        return _raised(rf"{self._sigmoid()}\left({self._print(expr.args[0])}\right)", exp)

    def _print_polygamma(self, expr: Any, exp: str | None = None) -> str:
        r"""\psi(s) for the digamma function, \psi'(s) for the trigamma (SymPy writes
        \operatorname{polygamma}(0, s))."""
        order, x = expr.args
        if order not in (0, 1):
            return str(super()._print_polygamma(expr, exp))
        head = r"\psi" if order == 0 else r"\psi'"
        return _raised(rf"{head}\left({self._print(x)}\right)", exp)

    def _print_loggamma(self, expr: Any, exp: str | None = None) -> str:
        return _raised(rf"\log\Gamma\left({self._print(expr.args[0])}\right)", exp)

    def _print_Determinant(self, expr: Any) -> str:
        r"""\det(X), not SymPy's |X|: |·| is also the absolute value (of det X too)."""
        return rf"\det\left({self._print(expr.arg)}\right)"

    def _print_Inverse(self, expr: Any) -> str:
        if isinstance(expr.arg, sp.Transpose):
            return rf"{self._wrap(expr.arg.arg)}^{{-{_t(self.clashes)}}}"
        return rf"{self._wrap(expr.arg)}^{{-1}}"

    def _print_MatrixSymbol(self, expr: Any) -> str:
        if expr.name.startswith("∂") and "/∂" in expr.name:
            from .tex_labels import tex_label  # (it prints with this module's tex)

            return tex_label(expr.name)
        return self._accented(expr.name) or super()._print_MatrixSymbol(expr)  # via _print_Symbol

    def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
        accented = self._accented(expr.name)
        if accented is not None:
            return accented
        safe = sp.Symbol(tex_names.escape(expr.name))
        return _word(_braced(super()._print_Symbol(safe, style)))

    def _accented(self, name: str) -> str | None:
        """hbar_1 → \\bar{h}_{1} (not Planck's \\hbar), hdot_1 → \\dot{h}_{1},
        abardot → \\dot{\\bar{a}}."""
        base, sep, sub = name.partition("_")
        found, alternate = accented(base), _ALTERNATE.fullmatch(base)
        if found is not None:  # a1bar → \bar{a}_{1}, not \bar{a_{1}}
            letters, digits, marks = found
            head = self._print(sp.Symbol(letters))
            for mark in marks:
                head = rf"\{mark}{{{head}}}"
            if digits:
                sub, sep = digits + ("," + sub if sep else ""), "_"
        elif alternate is not None:  # hadj_1 (the user has an hbar_1)
            stem, kind, k = alternate.groups()
            head = rf"{self._print(sp.Symbol(stem))}^{{\mathrm{{{kind}}}{k}}}"
        else:
            return None
        return head + (rf"_{{{self._print(sp.Symbol(sub))}}}" if sep else "")

    def _print_MatrixElement(self, expr: Any) -> str:
        rows, cols = expr.parent.shape
        index = ", ".join(self._print(k) for k, n in ((expr.i, rows), (expr.j, cols)) if n != 1)
        parent = self._print(expr.parent)
        if not index:
            return parent
        if isinstance(expr.parent, sp.MatrixSymbol) and not re.search(r"[_^\\{ ]", parent):
            return rf"{parent}_{{{index}}}"  # R_{a, b}; (h_{1})_{a}, not h_{1}_{a}
        return rf"\left({parent}\right)_{{{index}}}"

    def _print_Sum(self, expr: Any) -> str:
        r"""\sum_{k,l} over the range of its indices, as the Unicode Σ_kl (no 0-based bounds)."""
        indices = ",".join(self._print(limit[0]) for limit in expr.limits)
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = rf"\left({body}\right)"
        return rf"\sum_{{{indices}}} {body}"

    def _print_KroneckerDelta(self, expr: Any, exp: Any = None) -> str:
        i, j = (self._print(a) for a in expr.args[:2])
        return rf"\delta_{{{i}, {j}}}" + (f"^{{{exp}}}" if exp else "")

    def _print_Derivative(self, expr: Any) -> str:
        top, var = self._print(expr.expr), self._print(expr.variables[0])
        return rf"\frac{{\partial {top}}}{{\partial {var}}}"

    def _print_Identity(self, expr: Any) -> str:
        if sp.Integer(1) == expr.rows:  # I_1 is the number 1, as a 1 x 1 ones matrix is
            return "1"
        return rf"I_{{{self._print(expr.rows)}}}"

    def _constant(self, expr: Any, digit: str) -> str:
        r"""\mathbf{1} where a sum or \circ product gives the size, else \mathbf{1}_{n},
        \mathbf{1}_{n}^{T} or \mathbf{1}_{m \times n}; a 1 x 1 one is the number."""
        kind, rows, cols = self.constant_shape(expr)
        bold = rf"\mathbf{{{digit}}}"
        if kind == "bare":
            return bold if self._bare_constants else digit
        if kind == "column":
            return rf"{bold}_{{{self._print(rows)}}}"
        if kind == "row":
            return rf"{bold}_{{{self._print(cols)}}}^{{{_t(self.clashes)}}}"
        return rf"{bold}_{{{self._print(rows)} \times {self._print(cols)}}}"

    def _print_OneMatrix(self, expr: Any) -> str:
        return self._constant(expr, "1")

    def _print_ZeroMatrix(self, expr: Any) -> str:
        return self._constant(expr, "0")

    def _print_KroneckerProduct(self, expr: Any) -> str:
        """A ⊗ Bᵀ: parentheses only around operands that do not read alone, as in
        the Unicode form (SymPy's printer brackets a transpose: A ⊗ (Bᵀ))."""
        return r" \otimes ".join(
            self._print(a) if self_contained(a) else rf"\left({self._print(a)}\right)"
            for a in expr.args
        )

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self._wrap(expr.base)
        if expr.exp == 2:
            return rf"{base} \circ {base}"
        return rf"{base}^{{\circ {self._print(expr.exp)}}}"

    def _print_MatMul(self, expr: Any) -> str:
        from ..norms import norm_1_operand  # not at the top: norms → shapes → this module

        operand = norm_1_operand(expr)
        if operand is not None:  # 𝟏ᵀ|x| is ‖x‖₁
            return rf"\left\lVert {self._print(operand)} \right\rVert_{{1}}"
        coeff, mats = expr.as_coeff_matrices()
        if self.reads_as_number(coeff, tuple(mats)):  # c·I₁, c·1 are the number c
            text = self._print(coeff)
            return rf"\left({text}\right)" if isinstance(coeff, sp.Add) else text
        # a ⊗ or ∘ product alone after a number needs no parentheses: -h ∘ h is -(h ∘ h)
        wide = (sp.KroneckerProduct, sp.HadamardProduct)
        several = len(mats) > 1
        body = " ".join(
            rf"\left({self._print(m)}\right)"
            if isinstance(m, (sp.MatAdd, sp.MatMul))
            or (several and (isinstance(m, wide) or _squared(m)))
            else self._print(m)
            for m in with_transposed_twins(tuple(mats))
        )
        if coeff == 1:
            return body
        if coeff == -1:
            return f"- {body}"
        sign, scalar = signed(coeff)
        text = self._print(scalar)
        if isinstance(scalar, sp.Add) or _grouped_scalar(scalar):
            text = rf"\left({text}\right)"
        return f"{sign and '- '}{text} {body}"

    def _print_MatAdd(self, expr: Any) -> str:
        terms = [self._print(t) for t in in_step_order(expr.args)]
        terms.sort(key=lambda t: t.startswith("-"))
        out = terms[0]
        for t in terms[1:]:
            out += f" - {t[1:].lstrip()}" if t.startswith("-") else f" + {t}"
        return out

    def _print_Pow(self, expr: Any, exp: str | None = None) -> str:
        r"""√(xᵀx) as \lVert x\rVert (\lVert X\rVert_{F} for a matrix), odd powers too."""
        from ..norms import norm_power  # not at the top: norms → shapes → unicode

        found = norm_power(expr)
        if found is None:
            return str(super()._print_Pow(expr))
        operand, frobenius, k = found
        bars = rf"\left\lVert {self._print(operand)} \right\rVert{'_{F}' if frobenius else ''}"
        power = bars if abs(k) == 1 else f"{bars}^{{{abs(k)}}}"
        return power if k > 0 else rf"\frac{{1}}{{{power}}}"

    # SymPy's _print_Pow hands a function's power in as exp: relu(u)³, σ(u)²
    def _print_Heaviside(self, expr: Any, exp: str | None = None) -> str:
        arg = step_operand(expr)
        if arg is None:
            return str(super()._print_Heaviside(expr, exp))
        return _raised(rf"\operatorname{{step}}\left({self._print(arg)}\right)", exp)

    def _print_Max(self, expr: Any, exp: str | None = None) -> str:
        arg = relu_operand(expr)
        if arg is None:
            return str(super()._print_Max(expr, exp))
        return _raised(rf"\operatorname{{relu}}\left({self._print(arg)}\right)", exp)

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        fn = expr.function
        arg = self._print(expr.expr)
        name = called_name(expr)
        if name == "sigmoid":
            return rf"{self._sigmoid()}\left({arg}\right)"
        if name in BODIES:  # relu, softplus, step, abs, sign
            return rf"\operatorname{{{name}}}\left({arg}\right)"
        if isinstance(fn, sp.Lambda) and len(fn.variables) == 1:
            var, body = fn.variables[0], fn.expr
            matrix_function = _MATRIX_FUNCTIONS.get(type(body)) if body.args == (var,) else None
            if body == sp.sqrt(var):
                matrix_function = r"\operatorname{sqrt}"
            if matrix_function and not _vector(expr.expr):
                return rf"{matrix_function}_{{\circ}}\left({arg}\right)"
            if isinstance(body, sp.Function) and (body.args == (var,) or name in _PSI):
                placeholder = sp.Symbol("MATDERIVARG")
                called = body.xreplace({var: placeholder})
                return self._print(called).replace(self._print(placeholder), arg)
            shown, shown_body = mapping(expr)
            maps = rf"{self._print(shown)} \mapsto {self._print(shown_body)}"
            return rf"\left({maps}\right)_{{\circ}}\left({arg}\right)"
        return rf"{self._print(fn)}_{{\circ}}\left({arg}\right)"


#: ψ(X) and ψ′(X), polygamma(0, ·) and polygamma(1, ·): by their names entrywise
_PSI = ("digamma", "trigamma")

#: functions of a matrix in their own right (the matrix exponential e^X, log X, √X):
#: applied entrywise to a matrix that is no vector they print as f_∘(X), so a paper's
#: reader does not take e^{X} for the matrix exponential
_MATRIX_FUNCTIONS = {sp.exp: r"\exp", sp.log: r"\log"}


def _vector(expr: Any) -> bool:
    rows, cols = expr.shape
    return bool(rows == 1 or cols == 1)


def _squared(expr: Any) -> bool:
    return isinstance(expr, sp.HadamardPower) and expr.exp == 2


def _grouped_scalar(expr: Any) -> bool:
    r"""grouped_scalar, and a 1 x 1 w∘w used as a scalar: \circ binds looser in LaTeX."""
    return grouped_scalar(expr) or (isinstance(expr, AsScalar) and _squared(expr.arg))


_PRINTERS: dict[frozenset[str], MatrixLatexPrinter] = {}
#: symbol names that clash with notation (see MatrixLatexPrinter.clashes)
CLASHING = frozenset({"e", "sigma", "T"})


def _t(clashes: frozenset[str]) -> str:
    """The transpose's mark: T, or \\top beside a matrix called T (T^{T} read oddly)."""
    return r"\top" if "T" in clashes else "T"


_CLASHES: ContextVar[frozenset[str]] = ContextVar("clashes", default=frozenset())


def _clashes(expr: Any) -> frozenset[str]:
    if not isinstance(expr, sp.Basic):
        return frozenset()
    return CLASHING & {str(a) for a in expr.atoms(sp.Symbol, sp.MatrixSymbol)}


@contextmanager
def symbols_of(*exprs: Any) -> Iterator[None]:
    """``tex`` inside writes exp(u) as \\exp(u) when one of ``exprs`` (a derivation's
    formula and definitions) has a symbol called e, and the sigmoid as sigmoid beside
    a symbol σ: in its steps too, which need not have the symbol."""
    token = _CLASHES.set(_CLASHES.get().union(*map(_clashes, exprs)))
    try:
        yield
    finally:
        _CLASHES.reset(token)


def tex(expr: Any) -> str:
    """A formula in LaTeX; exp(u) as \\exp(u) when a symbol is called e (e^{W x} ∘ e
    read as the symbol e to the W x), the sigmoid by its name when one is called σ."""
    clashes = _CLASHES.get() | _clashes(expr)
    printer = _PRINTERS.get(clashes)
    if printer is None:
        printer = _PRINTERS[clashes] = MatrixLatexPrinter()
        printer.clashes = clashes
    return printer.doprint(with_scalar_sigmoids(expr))


def tex_shape(shape: Any) -> str:
    return rf"{tex(sp.sympify(shape[0]))} \times {tex(sp.sympify(shape[1]))}"


def _word(name: str) -> str:
    r"""A name of several letters as one word, \mathit{lam}: TeX sets lam as l·a·m."""
    head = re.match(r"[A-Za-z]{2,}(?=$|[_^])", name)
    return rf"\mathit{{{head.group()}}}{name[head.end() :]}" if head else name


def _braced(name: str) -> str:
    """A name SymPy printed with a superscript (a__b → a^{b}) in braces, so that a
    transpose or power can follow it: {a^{b}}^{T}, not the double superscript a^{b}^{T}."""
    return f"{{{name}}}" if "^" in name else name


def _raised(text: str, exp: str | None) -> str:
    return text if exp is None else f"{text}^{{{exp}}}"
