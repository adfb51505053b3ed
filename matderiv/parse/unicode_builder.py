"""The Unicode notation's parse tree, bottom up, into SymPy (``UnicodeBuilder``).

It extends the LaTeX builder (latex.py): sums, signs, numbers, ⊗ ∘ ⊘ and bars
are built the same way in both notations.  What is the Unicode notation's own:
names with subscript and accent characters (``Wₕₓ`` is ``W_hx``, ``h̄₁`` is
``hbar_1``), superscripts (ᵀ ⁻¹ ⁻ᵀ ² ⁻² ^k ^∘k), sized constants (I_n, 𝟏ₙ,
𝟏_{m×n}, 𝟎_{m×n}, K_{m,n}, vec⁻¹_{m×n}), ``(t ↦ ...)∘(X)``, and how a run of
juxtaposed factors reads: a 1 x 1 run next to factors it does not conform with
is a scalar (``2·aᵀ x a`` is 2 (aᵀx) a, as older printed forms wrote it), and
``/`` divides by the factors after it up to a 1 x 1 run (``1/aᵀ x X``).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp
from lark import Token, Tree

from ..nodes import AsScalar, Reshape, commutation
from ..render.unicode import ONES
from ..render.unicode_names import subscripted
from . import latex_algebra as alg
from . import latex_functions as fns
from .latex import Builder
from .latex_scope import Scope
from .latex_text import LocatedError, unknown_name
from .limits import MAX_DIGITS, MAX_EXPONENT
from .printed_names import FROM_SUBSCRIPT, ascii_name
from .unicode_grammar import (
    ENTRYWISE,
    FROM_SUPERSCRIPT,
    MANY,
    MATRIX_ONLY,
    STRUCTURAL,
)
from .unicode_spacing import mark_spaced, refuse_mixed, without_marks


def _bind(tree: Tree) -> Tree:
    """Mark the names bound by ``(t ↦ ...)`` inside their body as ``bound``."""
    for node in list(tree.iter_subtrees()):
        if node.data != "apply":
            continue
        var = str(node.children[0])
        body = node.children[1]
        if isinstance(body, Tree):
            for sub in [body, *body.iter_subtrees()]:
                if sub.data == "name" and str(sub.children[0]) == var:
                    sub.data = "bound"
    return tree


def _pos(token: Token) -> int:
    return token.start_pos or 0


def _exponent(text: str, pos: int) -> Any:
    """The number after ^, ^∘, ∘ or ** (maybe in parentheses), or of superscript digits."""
    body = re.sub(r"^(?:\^∘?|∘\^?|\*\*)\s*", "", text).strip("() \t")
    body = "".join(FROM_SUPERSCRIPT.get(c, c) for c in body)
    if len(body) > MAX_DIGITS:
        raise LocatedError(f"an exponent longer than {MAX_DIGITS} characters", pos)
    whole, _, over = body.partition("/")
    try:
        ratio = Fraction(whole) / Fraction(over or 1)
    except (ValueError, ZeroDivisionError):
        raise LocatedError(f"the exponent {body!r} is not a number", pos) from None
    k = sp.Rational(ratio.numerator, ratio.denominator)
    if abs(k.p) > MAX_EXPONENT or k.q > MAX_EXPONENT:
        raise LocatedError(f"an exponent larger than {MAX_EXPONENT}", pos)
    return k


def _matrix(x: Any) -> Any:
    """A scalar as the 1 x 1 matrix it was printed from (sin(w) of a 1 x 1 w reads as a
    scalar), where only a matrix will do."""
    return sp.MatMul(x, sp.Identity(1)) if alg.is_scalar(x) else x


def _scalar(x: Any) -> Any:
    return AsScalar(x) if alg.is_matrix(x) and x.shape == (1, 1) else x


def _same(a: Any, b: Any) -> bool:
    return bool(sp.expand(a - b) == 0)


#: an ASCII power by a number (^2, ^-1, **(1/2)), not ^T or ^∘k
_ASCII_POWER = re.compile(r"(?:\^(?!∘)|\*\*)\s*\(?\s*-?[0-9]")


def _power_of(below: Any, above: Any, pos: int) -> Any:
    """The exponent ``below^above`` of a stack (s^2^3: the stack is read right to left, so
    ``below`` is the lower one and ``above`` the power of the rest), a rational number."""
    if abs(below) > 1 and abs(above) * math.log10(abs(below)) > math.log10(MAX_EXPONENT):
        raise LocatedError(f"an exponent larger than {MAX_EXPONENT}", pos)
    k = below**above
    if not k.is_Rational or abs(k.p) > MAX_EXPONENT or k.q > MAX_EXPONENT:
        raise LocatedError(
            f"the exponent {below}^{above} is not a rational number up to {MAX_EXPONENT}", pos
        )
    return k


def _square(x: Any) -> bool:
    """A matrix whose power ^k is the matrix power here (not 1 x 1, not a vector)."""
    return alg.is_matrix(x) and not alg.is_1x1(x) and not alg.is_vector(x)


def _is_1x1_run(run: list[Any]) -> bool:
    return all(alg.is_matrix(m) for m in run) and run[0].rows == 1 and run[-1].cols == 1


def _chain(factors: list[Any]) -> Any:
    """The product of juxtaposed factors; a 1 x 1 run of matrices between factors it
    does not conform with is a scalar (2·aᵀ x a)."""
    runs: list[list[Any]] = [[]]
    scalars = []
    for f in factors:
        if alg.is_scalar(f):
            scalars.append(f)
            continue
        last = runs[-1][-1] if runs[-1] else f
        if alg.is_matrix(last) and alg.is_matrix(f) and not _same(last.cols, f.rows):
            runs.append([])
        runs[-1].append(f)
    runs = [r for r in runs if r]
    if len(runs) > 1:
        scalars += [AsScalar(alg.matmul(r)) for r in runs if _is_1x1_run(r)]
        runs = [r for r in runs if not _is_1x1_run(r)]
    return alg.matmul([*scalars, *(f for r in runs for f in r)])


@dataclass(frozen=True)
class AsciiPower:
    """An ASCII ``^k`` (or ``**k``) read as a matrix power: A^2 is A A here, but A∘A in
    matderiv's syntax (candidate.py refuses a formula both read)."""

    pos: int
    base: Any
    k: Any


class UnicodeBuilder(Builder):
    """The LaTeX builder's sums, signs, numbers, ⊗ ∘ ⊘ and bars, and the Unicode rest."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.bound_symbols: dict[str, Any] = {}
        self.ascii_powers: list[AsciiPower] = []
        self.source = ""  # the text the parser read, for the spaces around ∘

    def prepared(self, text: str) -> str:
        """``text``, remembered as the source of the tree to build."""
        self.source = text
        return text

    def transform(self, tree: Tree) -> Any:
        return super().transform(mark_spaced(_bind(tree), self.source))

    def name(self, items: list[Token]) -> Any:
        token = items[0]
        base, sub = ascii_name(str(token))
        try:
            factors = self.scope.lookup(base, (sub, _pos(token)) if sub else None, [], _pos(token))
        except LocatedError as exc:
            if not exc.message.startswith("unknown symbol"):
                raise
            known = [subscripted(k) for k in self.scope.symbols]
            raise LocatedError(unknown_name("symbol", str(token), known), _pos(token)) from None
        return alg.matmul(factors)

    def bound(self, items: list[Token]) -> Any:
        return self.bound_symbols.setdefault(str(items[0]), sp.Dummy(str(items[0])))

    def add(self, terms: list[Any]) -> Any:
        """A scalar in a sum with a larger matrix is that scalar times ones (``tr(X) 1 + A``
        prints c·1 so), as in matderiv's syntax; LaTeX allows only numbers there."""
        sized = [t for t in terms if alg.is_matrix(t) and t.shape != (1, 1)]
        if sized:
            ones = sp.OneMatrix(*sized[0].shape)
            terms = [alg.matmul([t, ones]) if alg.is_scalar(t) else t for t in terms]
        return alg.add(terms)

    def operator_word(self, op: Token) -> str:
        return {"⊗": "otimes", "∘": "odot", "⊘": "oslash"}[str(op)]

    def hadamard(self, items: list[Any]) -> Any:
        return self.kron(items)  # the same left-to-right fold, of ∘ and ⊘ only

    def product(self, items: list[Any]) -> Any:
        factors: list[Any] = []
        divisor: list[Any] | None = None  # the factors after '/', until they make a scalar
        where = 0
        for item in items:
            if isinstance(item, Token):
                if item.type == "DIVOP":
                    if divisor is not None:
                        raise _division_by_matrix(where)
                    divisor, where = [], _pos(item)
            elif divisor is None:
                factors.append(item)
            else:
                divisor.append(item)
                if alg.is_scalar(divisor[0]) or _is_1x1_run(divisor):
                    factors.append(sp.Pow(_scalar(alg.matmul(divisor)), -1))
                    divisor = None
        if divisor is not None:
            raise _division_by_matrix(where)
        return _chain(factors)

    def spaced_product(self, items: list[Any]) -> Any:
        value = self.product(without_marks(items))
        refuse_mixed(items, value)
        return value

    def postfix(self, items: list[Any]) -> Any:
        value, ops = items[0], items[1:]
        while ops:
            op, ops = ops[0], ops[1:]
            text, pos = str(op), _pos(op)
            k = None
            if _ASCII_POWER.match(text):  # s^2^3 is s^(2^3), as in the syntax: right to left
                stack = [_exponent(text, pos)]
                while ops and _ASCII_POWER.match(str(ops[0])):
                    stack.append(_exponent(str(ops[0]), _pos(ops[0])))
                    ops = ops[1:]
                k = functools.reduce(
                    lambda above, below: _power_of(below, above, pos), stack[::-1]
                )
            if re.fullmatch(r"\^\s*T", text):  # X^T X with T declared: the power, or Xᵀ X?
                self.scope.refuse_t_marker("^T", pos, "ᵀ (Xᵀ)", "^∘T")
            if re.fullmatch(r"ᵀ|\^\s*T", text):
                value = alg.transpose(value)
            elif text in ("⁻¹", "⁻ᵀ"):
                value = alg.inverse(value, pos)
                value = alg.transpose(value) if text == "⁻ᵀ" else value
            elif text.startswith(("^∘", "∘")):
                value = alg.hadamard_power(value, self._entrywise_exponent(text, pos))
            elif text.startswith("^") and alg.is_matrix(value) and value.shape == (1, 1):
                value = sp.MatPow(value, _exponent(text, pos) if k is None else k)  # as printed
            else:
                k = _exponent(text, pos) if k is None else k
                base, value = value, alg.power(value, k, pos)
                if text.startswith(("^", "**")) and _square(base) and k != 1:
                    self.ascii_powers.append(AsciiPower(pos, base, k))
        return value

    def scalar_power(self, items: list[Any]) -> Any:
        """det(X)^(s - 1), tr(X)^s: a scalar's power by a scalar expression, as printed."""
        value, op, exponent = items
        if isinstance(exponent, Token):
            exponent = self.name([exponent])
        exponent = _scalar(exponent)
        if alg.is_matrix(value) and value.shape != (1, 1):
            raise LocatedError(
                "only a scalar takes a power ^(...) by a formula; for a matrix write ^∘(...) "
                "(entrywise) or an integer power",
                _pos(op),
            )
        if not alg.is_scalar(exponent):
            raise LocatedError("the exponent after ^ must be a scalar", _pos(op))
        return sp.Pow(_scalar(value), exponent)

    def hadamard_power(self, items: list[Any]) -> Any:
        """X^∘(s - 1): an entrywise power by a scalar expression, as printed."""
        value, op, exponent = items
        exponent = _scalar(exponent)
        if not alg.is_scalar(exponent):
            raise LocatedError("the exponent after ^∘ must be a scalar", _pos(op))
        return alg.hadamard_power(value, exponent)

    def _entrywise_exponent(self, text: str, pos: int) -> Any:
        """The number after ^∘ or ∘, or a scalar's name (X^∘s as printed)."""
        body = re.sub(r"^(?:\^∘|∘\^?)\s*", "", text)
        if not body[:1].isalpha():
            return _exponent(text, pos)
        exponent = _scalar(self.name([Token("NAME", body, start_pos=pos)]))  # as any name
        if not alg.is_scalar(exponent):
            raise LocatedError(f"the exponent {body} is not a scalar", pos)
        return exponent

    def call(self, items: list[Any]) -> Any:
        token, *args = items
        word, pos = str(token), _pos(token)
        if word in MANY:
            if not all(alg.is_scalar(_scalar(a)) for a in args):
                raise LocatedError(f"{word}(...) takes scalars", pos)
            return MANY[word](*(_scalar(a) for a in args))
        if word == "σ" and "sigma" in self.scope.symbols and len(args) == 1:
            return self.product([self.name([token]), args[0]])  # sigma (x), as the README says
        if len(args) != 1:
            raise LocatedError(f"{word} takes one argument, got {len(args)}", pos)
        (x,) = args
        if isinstance(x, alg.Unsized):
            raise x.unknown(f"inside {word}(...)")
        if word in STRUCTURAL:
            return fns.function(word, _matrix(x) if word in MATRIX_ONLY else x, pos)
        return fns.entrywise(ENTRYWISE[word], x)

    def root(self, items: list[Any]) -> Any:
        """√x, √(xᵀx + 1): sqrt, as printed."""
        token, x = items
        return self.call([Token.new_borrow_pos("FUNC", "sqrt", token), x])

    def apply(self, items: list[Any]) -> Any:
        var, body, _, x = items
        body = _scalar(body)
        if not alg.is_scalar(body):
            raise LocatedError(f"the function ({var} ↦ ...) must give a scalar", _pos(var))
        if isinstance(x, alg.Unsized):
            raise x.unknown("in an entrywise function")
        return fns.entrywise(sp.Lambda(self.bound(items[:1]), body), x)

    def identity(self, items: list[Any]) -> Any:
        return sp.Identity(items[1])

    def constant(self, items: list[Any]) -> Any:
        """𝟏_{n} (a column), 𝟏_{m×n}; 𝟎 likewise."""
        token, rows, *cols = items
        return _constant(str(token)[0], rows, cols[0] if cols else sp.S.One)

    def constant_sized(self, items: list[Token]) -> Any:
        """𝟏_n, 𝟏₃: a column of ones (or zeros) of a size written as a subscript."""
        text, pos = str(items[0]), _pos(items[0])
        size = "".join(FROM_SUBSCRIPT.get(c, c) for c in text[1:].removeprefix("_"))
        if not (len(size) == 1 or size.isdigit() or size in self.scope.dims):
            raise LocatedError(  # 𝟏_9n, 𝟏_n7: as printed, a longer size is in braces
                f"the size {size!r} of {text[0]} is not one dimension or number: write "
                f"{text[0]}_n, {text[0]}₃, or a size in braces, {text[0]}_{{m·n}}",
                pos,
            )
        return _constant(text[0], self.scope.dimension(size, pos), sp.S.One)

    def commutation(self, items: list[Any]) -> Any:
        return commutation(items[1], items[2])

    def reshape(self, items: list[Any]) -> Any:
        _, rows, cols, x = items
        return Reshape(_matrix(x), rows, cols)

    # sizes in I_{...}, K_{...,...} and vec⁻¹_{...×...}

    def dim_name(self, items: list[Token]) -> Any:
        base, sub = ascii_name(str(items[0]))
        return self.scope.dimension(base + (f"_{sub}" if sub else ""), _pos(items[0]))

    def dim_number(self, items: list[Token]) -> Any:
        value = self.number(items)
        if not value.is_Integer:
            raise LocatedError(f"a size must be a whole number, not {value}", _pos(items[0]))
        return value

    def dim_add(self, items: list[Any]) -> Any:
        left, op, right = items
        return left - right if op == "-" else left + right

    def dim_mul(self, items: list[Any]) -> Any:
        return sp.Mul(*(x for x in items if not isinstance(x, Token)))

    def dim_power(self, items: list[Any]) -> Any:
        base, op = items
        return base ** _exponent(str(op), _pos(op))


def _division_by_matrix(pos: int) -> LocatedError:
    return LocatedError("division by a matrix is not defined: multiply by its inverse, X⁻¹", pos)


def _constant(bold: str, rows: Any, cols: Any) -> Any:
    return sp.OneMatrix(rows, cols) if bold == ONES else sp.ZeroMatrix(rows, cols)
