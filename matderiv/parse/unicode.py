"""The Unicode notation matderiv prints (``fmt``, ``str(d)``), parsed back into SymPy.

    parse_unicode("(e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)", {"e_1": e1, "h_1": h1})

What ``render/unicode.py`` writes is read back: juxtaposition is the matrix
product (``a bᵀ``), ``·`` and ``/`` multiply and divide by scalars, ``⊗`` is the
Kronecker and ``∘`` the Hadamard product (``⊘`` entrywise division), ``Xᵀ X⁻¹
X⁻ᵀ`` transpose and invert, ``X^2`` is a matrix power and ``X^∘-1`` (or ``X∘²``)
an entrywise one, superscript digits are powers (``tr(X)²``, ``h²`` entrywise for
a vector), ``I_n I₃ I_{m·n}``, ``K_{m,n}`` and ``vec⁻¹_{m×n}(v)`` take sizes,
``(t ↦ 1/(1 + exp(-t)))∘(X)`` applies a scalar function entrywise, and
``vec diag tr det softmax logsumexp`` and the scalar functions are called with
parentheses.  Subscripts are part of a name: ``Wₕₓ`` is the symbol ``W_hx``,
``h̄₁`` is ``hbar_1``.  A left-hand side ``∂h₁/∂vec(Wₕₓᵀ) =`` and a trailing
shape ``(nₕ·nᵢ × nₕ)``, as ``str(d)`` prints them, are skipped.

A run of factors whose product is 1 x 1 counts as a scalar where the product
would otherwise not conform (``2·aᵀ x a`` is 2 (aᵀx) a), and ``/`` divides by
the run of factors after it up to a 1 x 1 one (``1/aᵀ x X``): the printer writes
scalars that way.  The printer's ``1`` and ``0`` for a matrix of ones or zeros
carry no size; ``1`` is read as the number (in a sum or ∘ product that is the
same thing; in a matrix product or ⊗ it is not, and the printed form cannot
say which was meant).

Like the other front ends the grammar is an allow-list and nothing reaches
eval, exec or sympify; length, nesting, numbers and exponents are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import sympy as sp
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from ..errors import ParseError
from ..nodes import AsScalar, Reshape, commutation
from ..render.unicode import _ACCENTS, _SUBSCRIPT_CHARS, _SUPERSCRIPTS, subscripted
from . import latex_algebra as alg
from .expr import ELEMENTWISE
from .latex import MAX_DIGITS, MAX_EXPONENT, Builder, Scope, build, unexpected_token
from .latex_grammar import BAR_CLOSE, BAR_OPEN, SUMS, lalr_parser
from .latex_text import LocatedError, prepare, unknown_name

__all__ = ["UNICODE_CHARACTERS", "looks_like_unicode", "parse_unicode"]

_SUBSCRIPT_LETTERS = "".join(_SUBSCRIPT_CHARS.values())
_FROM_SUBSCRIPT = {v: k for k, v in _SUBSCRIPT_CHARS.items()}
_SUPERSCRIPT_DIGITS = "".join(chr(c) for c in _SUPERSCRIPTS.values())
_FROM_SUPERSCRIPT = {chr(v): chr(k) for k, v in _SUPERSCRIPTS.items()} | {"⁻": "-"}
_FROM_ACCENT = {mark: word for word, mark in _ACCENTS.items()}

#: characters that only this notation uses: a candidate holding one is read as Unicode
UNICODE_CHARACTERS = frozenset(
    "ᵀ⁻⊤∘⊙⊗⊘·⋅×↦−" + _SUBSCRIPT_LETTERS + _SUPERSCRIPT_DIGITS + "".join(_FROM_ACCENT)
)

# Same-length replacements, so positions stay the user's: variants of the printed forms,
# and the frame of rich's panel (a line copied from the terminal).
_VARIANTS = str.maketrans({"−": "-", "⋅": "·", "⊤": "ᵀ", "⊙": "∘", "│": " "})
# The shape str(d) prints after a result: "   (nₕ·nᵢ × nₕ)" at the end.
_SHAPE_SUFFIX = re.compile(r"\s\(\s*[^()=]*×[^()=]*\)\s*$")

_SUP = f"⁻?[{_SUPERSCRIPT_DIGITS}]+"
_RATIONAL = r"-?[0-9]+(?:\.[0-9]+|\/[0-9]+)?"  # \/: lark regexes end at /
_EXPONENT = rf"(?:{_RATIONAL}|\(\s*{_RATIONAL}\s*\)|{_SUP})"
_POW = rf"(?:-?[0-9]+(?:\.[0-9]+)?|\(\s*{_RATIONAL}\s*\))"  # x**2/3 is (x**2)/3
_LETTER = "A-Za-zΑ-Ωα-ω"

_ENTRYWISE = {
    "Abs": sp.Abs,
    "sign": sp.sign,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tan": sp.tan,
    **{word: make() for word, make in ELEMENTWISE.items()},
}
_STRUCTURAL = ("vec", "diag", "tr", "det", "softmax", "logsumexp", "exp", "log", "tanh")
_MATRIX_ONLY = ("vec", "diag", "softmax", "logsumexp")
_MANY = {"Max": sp.Max, "Min": sp.Min}
FUNCTIONS = sorted({*_ENTRYWISE, *_STRUCTURAL, *_MANY})

GRAMMAR = rf"""{SUMS}
?kron: product (OTIMES product)*
?product: hadamard ((MULOP | DIVOP)? hadamard)*
?hadamard: postfix ((CIRC | OSLASH) postfix)*
?postfix: primary
        | primary POSTOP+ -> postfix
?primary: NAME -> name
        | NUMBER -> number
        | FUNC _LPAR sum (_COMMA sum)* _RPAR -> call
        | _LPAR sum _RPAR
        | IDENTITY dim _RBRACE -> identity
        | COMMUTATION dim _COMMA dim _RBRACE -> commutation
        | RESHAPE dim _BY dim _RBRACE _LPAR sum _RPAR -> reshape
        | _LPAR NAME _MAPSTO sum _RPAR CIRC _LPAR sum _RPAR -> apply
        | LBAR sum RBAR -> bars

?dim: dim_product
    | dim ADDOP dim_product -> dim_add
?dim_product: dim_power
    | dim_product MULOP? dim_power -> dim_mul
?dim_power: dim_atom
    | dim_atom POSTOP -> dim_power
?dim_atom: NAME -> dim_name
    | NUMBER -> dim_number
    | _LPAR dim _RPAR

ADDOP: "+" | "-"
MULOP: "·"
DIVOP: "/"
OTIMES: "⊗"
CIRC: "∘"
OSLASH: "⊘"
POSTOP.3: /ᵀ|⁻ᵀ|{_SUP}|(?:\^∘?|∘\^)\s*{_EXPONENT}|∘{_SUP}|\^\s*T(?![A-Za-z0-9])|\*\*\s*{_POW}/
FUNC.3: /(?:{"|".join(sorted(FUNCTIONS, key=len, reverse=True))})(?=\s*\()/
IDENTITY.4: "I_{{"
COMMUTATION.4: "K_{{"
RESHAPE.4: "vec⁻¹_{{"
NAME: /[{_LETTER}][\u0304\u0307]?(?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*[{_SUBSCRIPT_LETTERS}]*/
NUMBER: /[0-9]+(?:\.[0-9]+)?|\.[0-9]+/
_LPAR: "("
_RPAR: ")"
_RBRACE: "}}"
_COMMA: ","
_BY: "×"
_MAPSTO: "↦"
LBAR: "{BAR_OPEN}"
RBAR: "{BAR_CLOSE}"
%ignore /\s+/
"""

# How each terminal reads in "expected ..." messages.
TERMINAL_NAMES = {
    "ADDOP": "'+' or '-'",
    "MULOP": "'·'",
    "DIVOP": "'/'",
    "OTIMES": "'⊗'",
    "CIRC": "'∘'",
    "OSLASH": "'⊘'",
    "POSTOP": "a superscript (ᵀ, ⁻¹, ², ^k, ^∘k)",
    "FUNC": "a function (vec, diag, tr, det, exp, ...)",
    "IDENTITY": "I_{n}",
    "COMMUTATION": "K_{m,n}",
    "RESHAPE": "vec⁻¹_{m×n}",
    "NAME": "a symbol",
    "NUMBER": "a number",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_RBRACE": "'}'",
    "_COMMA": "','",
    "_BY": "'×'",
    "_MAPSTO": "'↦'",
    "LBAR": "'|'",
    "RBAR": "'|'",
    "$END": "the end of the formula",
}

_HINTS = {
    "∂": "derivative notation is not parsed: give the formula (the right-hand side)",
    "Σ": "sums over indices are not supported; write the matrix form",
    "δ": "index notation is not supported; write the matrix form",
    "‖": "norms are not supported: write ‖x‖² as xᵀ x",
    "*": "write a matrix product as juxtaposition (A B) and a scalar one with '·'",
    "@": "write a matrix product as juxtaposition (A B) and a scalar one with '·'",
    "\\": "LaTeX commands do not mix with the Unicode notation: write it all in one",
}


def looks_like_unicode(text: str) -> bool:
    """Whether ``text`` uses a character only the Unicode notation has (ᵀ, ⊗, ∘, h₁ ...)."""
    return any(c in UNICODE_CHARACTERS for c in text)


def parse_unicode(
    text: str,
    symbols: Mapping[str, sp.Basic],
    *,
    dims: Mapping[str, sp.Basic] | None = None,
) -> sp.Basic:
    """The SymPy expression that the Unicode formula ``text`` denotes.

    ``symbols`` maps names (``"W_hx"``, ``"h_1"``; printed Wₕₓ, h₁) to
    MatrixSymbols, scalar Symbols or named intermediates, as for ``parse_latex``;
    ``dims`` maps dimension names to SymPy symbols (by default the free symbols
    of the matrices' shapes).  Raises ParseError (with a caret under the failing
    position) or, for operands whose concrete sizes differ, ShapeMismatch.
    """
    if not isinstance(text, str):
        raise ParseError(f"parse_unicode expects a string, got {type(text).__name__}")
    builder = _UnicodeBuilder(Scope(symbols, dims))
    return build(text, _prepare, lalr_parser(GRAMMAR), _syntax_error, builder)


def _prepare(text: str) -> str:
    """The LaTeX front end's preparation (limits, brackets, a left-hand side), then
    variants of the characters unified and the printed shape after a result blanked."""
    prepared = prepare(text).translate(_VARIANTS)
    return _SHAPE_SUFFIX.sub(lambda m: " " * len(m.group()), prepared)


def _syntax_error(text: str, exc: UnexpectedInput) -> LocatedError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        hint = _HINTS.get(text[pos], "it is not a symbol, function or operator matderiv prints")
        return LocatedError(f"unexpected character {text[pos]!r}: {hint}", pos)
    return unexpected_token(text, exc, TERMINAL_NAMES)


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


def ascii_name(text: str) -> tuple[str, str | None]:
    """(base, subscript) of a printed name: Wₕₓ → ("W", "hx"), h̄₁ → ("hbar", "1")."""
    base = text.rstrip(_SUBSCRIPT_LETTERS)
    sub = "".join(_FROM_SUBSCRIPT[c] for c in text[len(base) :])
    if len(base) > 1 and base[1] in _FROM_ACCENT:
        base = base[0] + _FROM_ACCENT[base[1]] + base[2:]
    if "_" in base:
        base, _, written = base.partition("_")
        sub = written + ("_" + sub if sub else "")
    return base, sub or None


def _pos(token: Token) -> int:
    return token.start_pos or 0


def _exponent(text: str, pos: int) -> Any:
    """The number after ^, ^∘, ∘ or ** (maybe in parentheses), or of superscript digits."""
    body = re.sub(r"^(?:\^∘?|∘\^?|\*\*)\s*", "", text).strip("() \t")
    body = "".join(_FROM_SUPERSCRIPT.get(c, c) for c in body)
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


class _UnicodeBuilder(Builder):
    """The LaTeX builder's sums, signs, numbers, ⊗ ∘ ⊘ and bars, and the Unicode rest."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.bound_symbols: dict[str, Any] = {}

    def transform(self, tree: Tree) -> Any:
        return super().transform(_bind(tree))

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

    def postfix(self, items: list[Any]) -> Any:
        value = items[0]
        for op in items[1:]:
            text, pos = str(op), _pos(op)
            if re.fullmatch(r"ᵀ|\^\s*T", text):
                value = alg.transpose(value)
            elif text in ("⁻¹", "⁻ᵀ"):
                value = alg.inverse(value, pos)
                value = alg.transpose(value) if text == "⁻ᵀ" else value
            elif text.startswith(("^∘", "∘")):
                value = alg.hadamard_power(value, _exponent(text, pos))
            elif text.startswith("^") and alg.is_matrix(value) and value.shape == (1, 1):
                value = sp.MatPow(value, _exponent(text, pos))  # printed so: a 1 x 1 matrix
            else:
                value = alg.power(value, _exponent(text, pos), pos)
        return value

    def call(self, items: list[Any]) -> Any:
        token, *args = items
        word, pos = str(token), _pos(token)
        if word in _MANY:
            if not all(alg.is_scalar(_scalar(a)) for a in args):
                raise LocatedError(f"{word}(...) takes scalars", pos)
            return _MANY[word](*(_scalar(a) for a in args))
        if len(args) != 1:
            raise LocatedError(f"{word} takes one argument, got {len(args)}", pos)
        (x,) = args
        if isinstance(x, alg.Unsized):
            raise x.unknown(f"inside {word}(...)")
        if word in _STRUCTURAL:
            return alg.function(word, _matrix(x) if word in _MATRIX_ONLY else x, pos)
        return alg.entrywise(_ENTRYWISE[word], x)

    def apply(self, items: list[Any]) -> Any:
        var, body, _, x = items
        body = _scalar(body)
        if not alg.is_scalar(body):
            raise LocatedError(f"the function ({var} ↦ ...) must give a scalar", _pos(var))
        if isinstance(x, alg.Unsized):
            raise x.unknown("in an entrywise function")
        return alg.entrywise(sp.Lambda(self.bound(items[:1]), body), x)

    def identity(self, items: list[Any]) -> Any:
        return sp.Identity(items[1])

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
