r"""LaTeX formulas, as people paste them from papers and Q&A posts, parsed into SymPy.

    parse_latex(r"(e_1 \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)", {"e_1": e1, "h_1": h1})

Symbols are matched by name to ``symbols`` (\mathbf{W}_{hx}, W_{hx} and W_hx
are one name); ``I_{n}``, ``K_{m,n}`` and ``\mathbf{1}_n`` take their sizes
from ``dims``.  The grammar (latex_grammar.py) is an allow-list: each rule maps
to a SymPy constructor (latex_algebra.py), and nothing else is accepted.  No
user text ever reaches eval, exec, sympify or SymPy's parsers.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, VisitError
from lark.visitors import Transformer_NonRecursive

from ..errors import ParseError
from ..nodes import commutation
from . import latex_algebra as alg
from .latex_grammar import NAME_BASE, SUB, SUP, TERMINAL_NAMES, latex_parser
from .latex_text import (
    MAX_DEPTH,
    LocatedError,
    canonical,
    caret_error,
    prepare,
    unknown_name,
)

__all__ = ["parse_latex"]


def parse_latex(
    text: str,
    symbols: Mapping[str, sp.Basic],
    *,
    dims: Mapping[str, sp.Basic] | None = None,
) -> sp.Basic:
    r"""The SymPy expression that the LaTeX formula ``text`` denotes.

    ``symbols`` maps names to MatrixSymbols, scalar Symbols or named
    intermediates (``{"h_1": tanh(...)}``, substituted as that expression).
    ``dims`` maps dimension names (``"n_h"``) to SymPy symbols; by default the
    free symbols of the matrices' shapes.  A left-hand side ``... =`` is
    skipped.  Raises ParseError (with a caret under the failing position) or,
    for operands whose concrete sizes differ, ShapeMismatch.
    """
    if not isinstance(text, str):
        raise ParseError(f"parse_latex expects a string, got {type(text).__name__}")
    return build(text, prepare, latex_parser(), _syntax_error, Builder(Scope(symbols, dims)))


def build(
    text: str,
    prepared: Callable[[str], str],
    parser: Lark,
    syntax_error: Callable[[str, UnexpectedInput], LocatedError],
    builder: Builder,
) -> sp.Basic:
    """``text``, ``prepared`` for the lexer, parsed and built; every failure a ParseError
    with a caret under its position in ``text``.  Shared with the Unicode front end."""
    try:
        ready = prepared(text)
        try:
            tree = parser.parse(ready)
        except UnexpectedInput as exc:
            raise syntax_error(ready, exc) from None
        check_depth(tree)
        try:
            value = builder.transform(tree)
        except VisitError as exc:
            raise exc.orig_exc from None
        if isinstance(value, alg.Unsized):
            raise value.unknown("")
    except LocatedError as exc:
        raise caret_error(text, exc.pos, exc.message) from None
    return value


def check_depth(tree: Tree) -> None:
    """Nesting without brackets (\\log\\log ... x, - - ... x) is limited like brackets."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            while isinstance(node, Tree):
                node = node.children[0]
            raise LocatedError(f"the formula nests deeper than {MAX_DEPTH} levels", _pos(node))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


# -- syntax errors ----------------------------------------------------------------

_HINTS = {
    "partial": "derivative notation is not parsed: give the formula (the right-hand side)",
    "nabla": "derivative notation is not parsed: give the formula (the right-hand side)",
    "begin": "block matrices and environments are not supported",
    "sum": "sums over indices are not supported; write the matrix form",
    "lVert": r"norms are not supported: write \|x\|^2 as x^T x",
    "|": r"norms are not supported: write \|x\|^2 as x^T x",
}


def _syntax_error(text: str, exc: UnexpectedInput) -> LocatedError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        command = re.match(
            r"\\(?:operatorname|mathrm|text)\s*\{([^{}]*)\}|\\([A-Za-z]+|.)", text[pos:]
        )
        if command and command.group(1) is not None:
            return LocatedError(f"unknown function {command.group(1)!r}{_SUPPORTED}", pos)
        if command:
            word = command.group(2)
            hint = _HINTS.get(word, "it is not a function, symbol or operator matderiv knows")
            return LocatedError(f"unknown command \\{word}: {hint}", pos)
        return LocatedError(f"unexpected character {text[pos]!r}", pos)
    return unexpected_token(text, exc, TERMINAL_NAMES)


def unexpected_token(text: str, exc: UnexpectedInput, names: Mapping[str, str]) -> LocatedError:
    """'unexpected ...; expected ...' at the token the parser stopped at (terminals by
    their ``names``)."""
    token = getattr(exc, "token", None)
    at_end = token is None or token.type == "$END"
    pos = len(text.rstrip()) if token is None or at_end else _pos(token)
    found = "end of the formula" if at_end else repr(str(token))
    expected = sorted({names.get(t, t) for t in getattr(exc, "expected", ())})
    return LocatedError(f"unexpected {found}; expected {', '.join(expected)}", pos)


_SUPPORTED = "; supported: vec, diag, tr, det, log, exp, tanh, sigma, softmax, logsumexp"


# -- names ------------------------------------------------------------------------

_PART = re.compile(rf"\s*(?:(?P<sub>{SUB})|(?P<sup>{SUP}))")
_BASE = re.compile(NAME_BASE)


class Scope:
    """The names a formula may use: symbols, dimensions, and the constants I, 1, K, pi.

    Shared with the Unicode front end (unicode.py), which looks names up with ``lookup``.
    """

    def __init__(self, symbols: Mapping[str, Any], dims: Mapping[str, Any] | None) -> None:
        self.symbols = _index(symbols, "symbols")
        if dims is None:
            found = {
                s
                for v in self.symbols.values()
                if alg.is_matrix(v)
                for d in v.shape
                for s in getattr(d, "free_symbols", ())
            }
            dims = {str(s): s for s in found}
        self.dims = _index(dims, "dims")

    def name(self, text: str, pos: int) -> Any:
        """A NAME token: base, at most one subscript, superscripts applied in order."""
        base = _BASE.match(text)
        assert base is not None, text  # the lexer matched NAME_BASE
        sub: tuple[str, int] | None = None
        decorations: list[str] = []
        sups: list[tuple[str, int]] = []
        for part in _PART.finditer(text, base.end()):
            where = pos + part.start(part.lastgroup or 0)
            if part.group("sub"):
                if sub is not None:
                    raise LocatedError("a second subscript: write one, as in W_{hx}", where)
                sub = (part.group("sub")[1:].strip(), where)
            elif re.fullmatch(r"\(.*\)", canonical(part.group("sup")[1:])):
                decorations.append(canonical(part.group("sup")))  # W^{(1)}: part of the name
            else:
                sups.append((part.group("sup")[1:].strip(), where))
        factors = self.lookup(base.group(), sub, decorations, pos)
        for body, where in sups:
            factors[-1] = superscript(factors[-1], body, where)
        return alg.matmul(factors)

    def lookup(
        self, base: str, sub: tuple[str, int] | None, decorations: list[str], pos: int
    ) -> list[Any]:
        b, s = canonical(base), "_" + canonical(sub[0]) if sub else ""
        keys = [b + s + "".join(decorations), b + "".join(decorations) + s]
        for table in (self.symbols, self.dims):
            for key in keys:
                if key in table:
                    return [table[key]]
        if not decorations:
            special = self._special(b, sub, pos)
            if special is not None:
                return [special]
            if re.fullmatch(r"[A-Za-z]{2,}", base):  # ab: a times b, as LaTeX reads it
                with contextlib.suppress(LocatedError):
                    return self._run(base[:-1], pos) + self.lookup(base[-1], sub, [], pos)
            if sub and re.fullmatch(r"[A-Za-z0-9]{2,}", sub[0]):  # W_hx not found: W_h x
                with contextlib.suppress(LocatedError):
                    first = (sub[0][0], sub[1])
                    return self.lookup(base, first, [], pos) + self._run(sub[0][1:], pos)
        hint = r" (\sigma is the sigmoid only before '(')" if b == "sigma" else ""
        raise LocatedError(unknown_name("symbol", keys[0], self.symbols) + hint, pos)

    def _run(self, letters: str, pos: int) -> list[Any]:
        """Juxtaposed single letters and numbers: xy2 is x times y times 2."""
        return [
            sp.Integer(int(piece)) if piece.isdigit() else self.lookup(piece, None, [], pos)[0]
            for piece in re.findall(r"[0-9]+|[A-Za-z]", letters)
        ]

    def _special(self, b: str, sub: tuple[str, int] | None, pos: int) -> Any:
        if b == "I":
            return sp.Identity(self.dimension(*sub)) if sub else alg.Unsized("identity", pos)
        if b == "1":
            return sp.OneMatrix(*self._shape(*sub)) if sub else alg.Unsized("ones", pos)
        if b == "0":
            return sp.ZeroMatrix(*self._shape(*sub)) if sub else sp.S.Zero
        if b == "K" and sub:
            return commutation(*self._pair(*sub))
        if b == "pi" and not sub:
            return sp.pi
        return None

    def dimension(self, raw: str, pos: int) -> Any:
        """A size written in a subscript: a name from dims, an integer, or a product of them."""
        key = canonical(raw)
        if key in self.dims:
            return self.dims[key]
        if key.isdigit():
            return sp.Integer(int(key))
        parts = [p for p in re.split(r"\\times|\\cdot|\*|\s+", raw.strip("{} ")) if p]
        if len(parts) > 1:
            return sp.Mul(*(self.dimension(p, pos) for p in parts))
        pieces = self._split_dims(key)
        if pieces:
            return sp.Mul(*pieces)
        raise LocatedError(unknown_name("dimension", key, self.dims), pos)

    def _shape(self, raw: str, pos: int) -> tuple[Any, Any]:
        """1_{n} is n x 1; 1_{m \\times n} and 1_{m,n} are m x n."""
        parts = re.split(r",|\\times", raw.strip("{} "))
        if len(parts) == 2:
            return self.dimension(parts[0], pos), self.dimension(parts[1], pos)
        return self.dimension(raw, pos), sp.S.One

    def _pair(self, raw: str, pos: int) -> tuple[Any, Any]:
        """K_{m,n}; K_{mn} when it splits into exactly two dimensions."""
        parts = raw.strip("{} ").split(",")
        if len(parts) == 2:
            return self.dimension(parts[0], pos), self.dimension(parts[1], pos)
        pieces = self._split_dims(canonical(raw))
        if pieces and len(pieces) == 2:
            return pieces[0], pieces[1]
        raise LocatedError(f"K_{{{raw.strip('{} ')}}} needs two sizes: write K_{{m,n}}", pos)

    def _split_dims(self, key: str) -> list[Any] | None:
        """``key`` read as consecutive dimension names or integers (longest first), or None."""
        out, i = [], 0
        names = sorted(self.dims, key=len, reverse=True)
        while i < len(key):
            digits = re.match(r"[0-9]+", key[i:])
            match = next((n for n in names if key.startswith(n, i)), None)
            if match is not None:
                out.append(self.dims[match])
                i += len(match)
            elif digits:
                out.append(sp.Integer(int(digits.group())))
                i += digits.end()
            else:
                return None
        return out


def _index(table: Mapping[str, Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if not isinstance(value, sp.Basic):
            raise ParseError(f"{what}[{key!r}] must be a SymPy object, got {type(value).__name__}")
        name = canonical(key)
        if out.get(name, value) != value:
            raise ParseError(f"{what}: two entries are both named {name!r}")
        out[name] = value
    return out


def superscript(x: Any, body: str, pos: int) -> Any:
    """x^{body}: T, \\top, \\intercal, \\prime; -1; -T; an integer k; \\circ k; 1/2."""
    s = canonical(body)
    if s in ("T", "top", "intercal", "prime"):
        return alg.transpose(x)
    if s in ("-T", "-top", "-intercal"):
        return alg.transpose(alg.inverse(x, pos))
    number = re.fullmatch(r"(circ|odot)?(-?[0-9]+)(?:/([0-9]+))?|[dt]?frac([0-9])([0-9])", s)
    if number is None:
        raise LocatedError(
            f"unsupported superscript ^{{{body.strip('{}')}}}: write ^T (or ^\\top), ^{{-1}}, "
            "^{-T}, an integer power, or ^{\\circ k} for an entrywise power",
            pos,
        )
    hadamard, whole, over, num, den = number.groups()
    k = sp.Rational(int(num), int(den)) if num else sp.Rational(int(whole), int(over or 1))
    if abs(k.p) > MAX_EXPONENT or k.q > MAX_EXPONENT:
        raise LocatedError(f"an exponent larger than {MAX_EXPONENT}", pos)
    return alg.hadamard_power(x, k) if hadamard else alg.power(x, k, pos)


# -- the parse tree, bottom up ----------------------------------------------------


MAX_DIGITS = 30
MAX_EXPONENT = 1000


def _number(token: Token) -> Any:
    text = str(token)
    if len(text) > MAX_DIGITS:
        raise LocatedError(f"a number longer than {MAX_DIGITS} digits", _pos(token))
    whole, _, fraction = text.partition(".")
    return sp.Rational(
        int(whole or "0") * 10 ** len(fraction) + int(fraction or "0"), 10 ** len(fraction)
    )


def _pos(token: Token) -> int:
    return token.start_pos or 0


class Builder(Transformer_NonRecursive):
    """Each grammar rule to its SymPy constructor (iterative: deep nesting is fine).

    The Unicode front end (unicode.py) extends it: sums, signs, numbers, ⊗ ∘ ⊘ and
    bars are built the same way in both notations.
    """

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope

    def name(self, items: list[Token]) -> Any:
        return self.scope.name(str(items[0]), _pos(items[0]))

    def number(self, items: list[Token]) -> Any:
        return _number(items[0])

    def sum(self, items: list[Any]) -> Any:
        terms = [items[0]]
        for op, term in zip(items[1::2], items[2::2], strict=True):
            terms.append(alg.negate(term) if op == "-" else term)
        return self.add(terms)

    def add(self, terms: list[Any]) -> Any:
        return alg.add(terms)

    def signed(self, items: list[Any]) -> Any:
        op, x = items
        return alg.negate(x) if op == "-" else x

    def operator_word(self, op: Token) -> str:
        """otimes, odot, circ or oslash: the operator token as a LaTeX command word."""
        return canonical(op)

    def kron(self, items: list[Any]) -> Any:
        operands, kind = [items[0]], ""
        for op, x in zip(items[1::2], items[2::2], strict=True):
            word = self.operator_word(op)
            if kind and (word == "otimes") != (kind == "otimes"):
                operands = [alg.elementwise(kind, operands)]
            kind = "otimes" if word == "otimes" else "odot"
            operands.append(alg.reciprocal(x, _pos(op)) if word == "oslash" else x)
        return alg.elementwise(kind, operands)

    def product(self, items: list[Any]) -> Any:
        factors: list[Any] = []
        divide: Token | None = None
        for item in items:
            if isinstance(item, Token):
                divide = item if item.type == "DIVOP" else None
            elif divide is not None:
                factors.append(alg.divide(sp.S.One, item, _pos(divide)))
                divide = None
            else:
                factors.append(item)
        return alg.matmul(factors)

    def postfix(self, items: list[Any]) -> Any:
        value = items[0]
        for op in items[1:]:
            if op.type == "PRIME":
                value = alg.transpose(value)
            else:
                value = superscript(value, op[1:].strip(), _pos(op))
        return value

    def call(self, items: list[Any]) -> Any:
        func, x = items
        return alg.function(canonical(func), x, _pos(func))

    def frac(self, items: list[Any]) -> Any:
        frac, numerator, denominator = items
        return alg.divide(numerator, denominator, _pos(frac))

    def frac_digits(self, items: list[Token]) -> Any:
        num, den = re.findall(r"[0-9]", str(items[0]))
        return sp.Rational(int(num), int(den))

    def sqrt(self, items: list[Any]) -> Any:
        return alg.power(items[1], sp.Rational(1, 2), _pos(items[0]))

    def bars(self, items: list[Any]) -> Any:
        return alg.bars(items[1], _pos(items[0]))
