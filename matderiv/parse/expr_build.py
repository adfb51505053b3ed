"""The builder of matderiv's expression syntax: the lark tree of a parsed text to
SymPy, one allow-listed constructor per grammar rule (expr.py parses and checks)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import sympy as sp
from lark import Token, Transformer_NonRecursive
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..canon import from_power
from ..errors import MatDerivError, ParseError, ShapeMismatch
from ..nodes import AsScalar
from ..norms import norm
from ..shapes import fmt_shape, is_matrix, is_scalar_shape, is_square, not_square, shape_of
from .expr_ambiguous import (
    Bare,
    bare_statement,
    mark_transposed_exponents,
    power_by_t,
    transposed_exponent,
)
from .expr_grammar import (
    ARITY_HINTS,
    DIMENSION_ARGUMENTS,
    ELEMENTWISE,
    FUNCTIONS,
    NOT_DIFFERENTIABLE,
    STRUCTURAL,
)
from .expr_messages import (
    MATRIX_FUNCTIONS,
    OTHER_NAMES,
    caret,
    matrix_function_advice,
    size_defined,
    split_product,
    star_hint,
    suggest,
    unknown_name_advice,
)
from .expr_ops import (
    apply_entrywise,
    check_power,
    conform,
    dimensions,
    guard,
    short_number,
    sum_of,
    times,
)
from .limits import MAX_DIGITS, MAX_EXPONENT, MAX_MATRIX_POWER
from .printed_names import is_printed, other_spelling

#: functions of a square matrix only (Builder._require_square)
_SQUARE_ONLY = ("inv", "tr", "trace", "det", "logdet")

#: X^T (also X**T) reads as the transpose: T cannot be an exponent; not ^-T (X⁻ᵀ in
#: LaTeX, not the syntax's), nor T followed by more of a postfix or power (X^T')
_TRANSPOSE = object()  # only ever the exponent of a power (pow checks)
_TRANSPOSE_EXPONENT = re.compile(r"(\^|\*\*)\s*$")
_TRANSPOSE_AFTER = re.compile(r"\s*(?:'|\.|\^|\*\*|\(|[A-Za-z0-9_])")


class Build(Transformer_NonRecursive):
    """Lark tree → SymPy, one allow-listed constructor per grammar rule."""

    def __init__(self, text: str, symbols: Mapping[str, Any], as_program: bool = False) -> None:
        super().__init__()
        self.text = text
        self.symbols = dict(symbols)
        self.names: dict[str, Any] = {}
        self.as_program = as_program
        self.definitions: dict[Any, Any] = {}
        self.dims = {str(d): d for d in dimensions(self.symbols.values())}

    def transform(self, tree: Any) -> Any:
        mark_transposed_exponents(tree)  # A^2', A^2^T: refused, not dropped
        return super().transform(tree)

    # leaves
    def number(self, items: list[Token]) -> Any:
        (token,) = items
        if len(token) > MAX_DIGITS:
            raise ParseError(
                f"number {token[:12]}... is too long:\n{caret(self.text, token.start_pos)}"
            )
        if token.isdigit():
            return sp.Integer(int(token))
        value = float(token)
        mantissa = token.lower().split("e")[0]
        if not math.isfinite(value) or (value == 0 and mantissa.strip("0.") != ""):
            raise ParseError(
                f"number {token} is beyond the range of floating point (about 1e±308):\n"
                f"{caret(self.text, token.start_pos)}"
            )
        return sp.Rational(str(token))  # exact, as written: 0.5 is 1/2, as in the LaTeX reader

    def name(self, items: list[Token]) -> Any:
        (token,) = items
        names = {**self.names, **self.symbols}
        written = self.text[token.start_pos : token.end_pos]
        other = other_spelling(str(token)) if is_printed(written) else None
        if other is not None and token not in names and other in names:
            token = token.update(value=other)  # h₁, ā₁ for the CLI's h1, a1bar
        if token in self.names:
            return self.names[token]
        if token in self.symbols:
            return self.symbols[token]
        if token in self.dims:
            return self.dims[token]
        if token == "T" and _TRANSPOSE_EXPONENT.search(self.text[: token.start_pos]):
            after = self.text[token.end_pos :]
            if not _TRANSPOSE_AFTER.match(after):
                return _TRANSPOSE  # X^T: T is no number, and no symbol of that name
        if token == "T" and re.search(r"(\^|\*\*)\s*\(?\s*-?\s*$", self.text[: token.start_pos]):
            raise ParseError(
                f"'^' is an entrywise power in this syntax, and T is no exponent:\n"
                f"{caret(self.text, token.start_pos)}\n"
                "Write X.T for the transpose Xᵀ and inv(X).T for the transposed inverse X⁻ᵀ "
                "(or the LaTeX X^{-T}, with braces)."
            )
        # a symbol's name, not a dimension's (lam is no typo of m)
        known = [*self.symbols, *self.names]
        table = {**self.symbols, **self.names}
        hint = split_product(str(token), table) or suggest(str(token), known)
        before = self.text[: token.start_pos]
        if re.search(rf"\b(?:{'|'.join(DIMENSION_ARGUMENTS)})\([^()]*$", before):
            sizes = ", ".join(map(str, self.dims)) or "none yet"
            raise ParseError(
                f"unknown dimension '{token}':\n{caret(self.text, token.start_pos)}\n"
                "Dimensions are the sizes in the declared shapes (here: "
                f"{sizes}); declare a matrix with that size (on the command line, e.g. "
                f"'v: {token}' in --shapes) or write a number."
                f"{suggest(str(token), list(map(str, self.dims)))}"
            )
        after = self.text[(token.start_pos or 0) + len(token) :]
        if re.search(rf"(?:^|;)\s*{re.escape(str(token))}\s*=(?!=)", after):
            raise ParseError(
                f"{token} is used before its definition:\n{caret(self.text, token.start_pos)}\n"
                f"Definitions run in order, each using the names defined before it: define "
                f"{token} first (a program has no cycles)."
            )
        raise ParseError(
            f"unknown symbol '{token}':\n{caret(self.text, token.start_pos)}\n"
            f"{unknown_name_advice(str(token), hint)}"
        )

    # operators
    def add(self, items: list[Any]) -> Any:
        return sum_of(items[0], items[1], "+")

    def sub(self, items: list[Any]) -> Any:
        return sum_of(items[0], -items[1], "-")

    def neg(self, items: list[Any]) -> Any:
        return times(sp.S.NegativeOne, items[0])

    def matmul(self, items: list[Any]) -> Any:
        left, right = items
        if not (is_matrix(left) and is_matrix(right)):
            return times(left, right)
        conform(sp.MatMul, left, right)
        return guard("@", left, right, lambda: sp.MatMul(left, right).doit(deep=False))

    def mul(self, items: list[Any]) -> Any:
        left, right = items
        if is_matrix(left) and is_matrix(right):
            if is_scalar_shape(shape_of(left)) and not is_scalar_shape(shape_of(right)):
                return times(AsScalar(left), right)
            if is_scalar_shape(shape_of(right)) and not is_scalar_shape(shape_of(left)):
                return times(AsScalar(right), left)
            try:
                conform(sp.HadamardProduct, left, right)
            except ShapeMismatch as exc:
                raise star_hint(exc, left, right) from None
            return guard("*", left, right, lambda: sp.HadamardProduct(left, right))
        return times(left, right)

    def circ(self, items: list[Any]) -> Any:
        return self.mul(items)  # ∘, as * (refused beside @ unparenthesised: expr_ambiguous)

    def kron(self, items: list[Any]) -> Any:
        """A ⊗ B, as kron(A, B)."""
        left, right = items
        if not (is_matrix(left) and is_matrix(right)):
            return times(left, right)
        return self.call([Token("NAME", "kron"), left, right])

    def inverse(self, items: list[Any]) -> Any:
        """A⁻¹, as inv(A); a scalar's reciprocal."""
        (arg,) = items
        if not is_matrix(arg) or is_scalar_shape(shape_of(arg)):
            return self.pow([arg, None, sp.S.NegativeOne])
        return self.call([Token("NAME", "inv"), arg])

    def div(self, items: list[Any]) -> Any:
        left, right = items
        if is_matrix(right) and is_scalar_shape(shape_of(right)):
            right = AsScalar(right)
        if is_matrix(right):  # entrywise, as in NumPy: x / y is x ∘ y^∘-1
            if isinstance(right, sp.ZeroMatrix):
                raise ParseError(f"division by a zero matrix: {left} / {right}")
            reciprocal = sp.HadamardPower(right, -1)
            if not is_matrix(left):
                return times(left, reciprocal) if left != 1 else reciprocal
            if is_scalar_shape(shape_of(left)):
                return times(AsScalar(left), reciprocal)
            conform(sp.HadamardProduct, left, reciprocal)
            return guard("/", left, right, lambda: sp.HadamardProduct(left, reciprocal))
        if right.is_zero:
            raise ParseError(f"division by zero: {left} / {right}")
        return times(left, 1 / right)

    def pow(self, items: list[Any]) -> Any:
        base, op, exponent = items
        if exponent is _TRANSPOSE and base is not _TRANSPOSE:
            return self.transpose([base])
        if isinstance(op, Token) and is_matrix(base) and not is_scalar_shape(shape_of(base)):
            what = "T" in self.names or "T" in self.symbols or "T" in self.dims
            if what and (error := power_by_t(self.text, base, op, self.names, self.symbols)):
                raise error
        if is_matrix(exponent) and is_scalar_shape(shape_of(exponent)):
            exponent = AsScalar(exponent)  # x^s for a 1 x 1 s: entrywise, s scalar
        if is_matrix(exponent):
            where = f":\n{caret(self.text, op.start_pos)}" if isinstance(op, Token) else ""
            raise ParseError(
                "exponents must be numbers or scalars, not a matrix of shape "
                f"{fmt_shape(shape_of(exponent))} (A^2 is entrywise; exp(x) for e to "
                "the x)" + where
            )
        if exponent.is_number and abs(exponent) > MAX_EXPONENT:
            raise ParseError(
                f"exponent {short_number(exponent)} is too large (|p| ≤ {MAX_EXPONENT})"
            )
        if not is_matrix(base):
            if base.is_number:
                check_power(base, exponent)
            return base**exponent
        if is_scalar_shape(shape_of(base)):
            return AsScalar(base) ** exponent
        return sp.HadamardPower(base, exponent)

    def pow_transposed(self, items: list[Any]) -> Any:
        """A^2': the ' transposes the exponent, a number or scalar it leaves as it is; the
        power was meant (refused; a matrix exponent gets pow's own error)."""
        base, op, exponent = items
        if is_matrix(exponent) and not is_scalar_shape(shape_of(exponent)):
            return self.pow(items)
        raise transposed_exponent(self.text, base, op, exponent)

    def pow_transposed_base(self, items: list[Any]) -> Any:
        """2^T inside an exponent (A^2^T): the transpose of the number 2, not of A^2."""
        base, op, exponent = items
        if exponent is _TRANSPOSE and not (
            is_matrix(base) and not is_scalar_shape(shape_of(base))
        ):
            raise transposed_exponent(self.text, None, op, base)
        return self.pow(items)

    def transpose(self, items: list[Any]) -> Any:
        """Mᵀ of a sum or entrywise function kept as the transpose of that node (SymPy's
        .T distributes: (x - μ)ᵀ became xᵀ - μᵀ, a second copy of x - μ for
        cᵀc, and tanh(A x)ᵀ became tanh(xᵀAᵀ)); products and symbols as SymPy has them."""
        (arg,) = items
        if not is_matrix(arg):
            return arg
        if isinstance(arg, (sp.MatAdd, ElementwiseApplyFunction, sp.HadamardProduct)):
            return sp.Transpose(arg)
        return arg.T

    def _require_square(self, name: str, arg: Any, token: Token) -> None:
        """inv, tr, det and logdet of a matrix that is not square, named here (SymPy's
        own "Det of a non-square matrix" named neither the matrix nor its shape)."""
        if not is_square(arg):
            raise ShapeMismatch(f"{not_square(name, arg)}\n{caret(self.text, token.start_pos)}")

    def call(self, items: list[Any]) -> Any:
        token, *args = items
        name = str(token)
        if name == "sigma" and name not in self.symbols and name not in self.names:
            name = "sigmoid"  # σ(x), as LaTeX's \sigma(x), unless a symbol is called σ
        if name in ELEMENTWISE:
            return apply_entrywise(name, ELEMENTWISE[name](), args)
        if name == "norm" and len(args) == 2:
            return self._norm_p(token, *args)
        if name == "matrix_power":
            return self._matrix_power(token, args)
        if name in STRUCTURAL:
            arity, build = STRUCTURAL[name]
            if len(args) != arity:
                hint = ARITY_HINTS.get(name, "")
                raise ParseError(f"{name} takes {arity} argument(s), got {len(args)}{hint}")
            wants_matrix = name not in DIMENSION_ARGUMENTS
            if not all(is_matrix(a) == wants_matrix for a in args):
                kind = (
                    "matrices" if wants_matrix else f"dimensions, e.g. {DIMENSION_ARGUMENTS[name]}"
                )
                raise ParseError(f"{name} expects {kind}:\n{caret(self.text, token.start_pos)}")
            if name in _SQUARE_ONLY:
                self._require_square(name, args[0], token)
            try:
                return build(*args)
            except MatDerivError:
                raise
            except (ValueError, TypeError) as exc:
                raise ShapeMismatch(f"{name}: {exc}") from exc
        if name in NOT_DIFFERENTIABLE:
            raise ParseError(
                f"{name} is not differentiable: it jumps at every integer and its derivative "
                f"is 0 elsewhere, so matderiv does not take it:\n"
                f"{caret(self.text, token.start_pos)}"
            )
        meant = OTHER_NAMES.get(name)
        advice = f" Write {meant}." if meant else suggest(name, FUNCTIONS, cutoff=0.7)
        if name in MATRIX_FUNCTIONS:
            advice = matrix_function_advice(name)
        raise ParseError(
            f"unknown function {name!r}:\n{caret(self.text, token.start_pos)}\n"
            f"Known: {', '.join(FUNCTIONS)}.{advice}"
        )

    def _matrix_power(self, token: Any, args: list[Any]) -> Any:
        """matrix_power(A, k) = Aᵏ (A A ... A; negative k: powers of A⁻¹), as NumPy's
        numpy.linalg.matrix_power; ``A^k`` is the entrywise power."""
        where = caret(self.text, token.start_pos)
        if len(args) != 2 or not is_matrix(args[0]) or is_matrix(args[1]):
            raise ParseError(
                f"matrix_power takes a square matrix and an integer, "
                f"e.g. matrix_power(X, 3):\n{where}"
            )
        base, k = args
        if not (k.is_number and k.is_integer):
            raise ParseError(
                f"matrix_power({base}, {k}): the power must be an integer "
                f"(A^p is the entrywise power, for any number p):\n{where}"
            )
        if abs(k) > MAX_MATRIX_POWER:
            raise ParseError(
                f"matrix_power({base}, {short_number(k)}): the power is too large "
                f"(|k| ≤ {MAX_MATRIX_POWER}: its derivative has |k| terms):\n{where}"
            )
        rows, cols = shape_of(base)
        if rows != cols:
            raise ShapeMismatch(
                f"matrix_power({base}, {k}): {base} is {rows} x {cols}; only a square "
                f"matrix has powers. Hint: A^{k} is the entrywise power.\n{where}"
            )
        return from_power(base, k)

    def _norm_p(self, token: Any, arg: Any, p: Any) -> Any:
        """norm(x, 1) = 𝟏ᵀ|x|, norm(x, 2) = norm(x), as numpy.linalg.norm(x, p) of a vector."""
        try:
            return norm(arg, p)
        except MatDerivError as exc:
            raise ParseError(f"{exc}:\n{caret(self.text, token.start_pos)}") from None

    # statements
    def assign(self, items: list[Any]) -> Any:
        token, value = items
        if token in self.symbols:
            raise ParseError(f"{token} is declared as an input and cannot be redefined")
        if str(token) in self.dims:
            raise size_defined(self.text, token, self.dims[str(token)], self.symbols)
        if str(token) in self.names:  # rebinding it would change what it meant before
            raise ParseError(
                f"{token} is defined twice; each name is defined once (give the second "
                f"another name):\n{caret(self.text, token.start_pos)}"
            )
        if self.as_program:
            rows, cols = shape_of(value)
            symbol = (
                sp.MatrixSymbol(str(token), rows, cols)
                if getattr(value, "is_Matrix", False)
                else sp.Symbol(str(token))
            )
            self.definitions[symbol] = value
            self.names[str(token)] = symbol
            return symbol
        self.names[str(token)] = value
        return value

    def bare(self, items: list[Any]) -> Any:
        return Bare(items[0])

    def program(self, items: list[Any]) -> Any:
        """The last statement's value; a bare expression before it would have no effect."""
        for index, item in enumerate(items[:-1]):
            if isinstance(item, Bare):
                raise bare_statement(self.text, index)
        last = items[-1]
        return last.value if isinstance(last, Bare) else last
