r"""LaTeX formulas, as people paste them from papers and Q&A posts, parsed into SymPy.

    parse_latex(r"(e_1 \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)", {"e_1": e1, "h_1": h1})

Symbols are matched by name to ``symbols`` (\mathbf{W}_{hx}, W_{hx} and W_hx
are one name); ``I_{n}``, ``K_{m,n}`` and ``\mathbf{1}_n`` take their sizes
from ``dims`` (latex_scope.py).  The grammar (latex_grammar.py) is an
allow-list: each rule maps to a SymPy constructor (latex_algebra.py), and
nothing else is accepted.  No user text ever reaches eval, exec, sympify or
SymPy's parsers.  This module holds the entry point, the parse-and-build
pipeline and the tree builder, both shared with the Unicode front end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, VisitError
from lark.visitors import Transformer_NonRecursive

from ..errors import ParseError
from ..shapes import fmt_shape, shape_of
from . import latex_algebra as alg
from . import latex_functions as fns
from .latex_grammar import FRACTIONS, SUP, TERMINAL_NAMES, UNVEC, latex_parser
from .latex_scope import PSEUDO_INVERSE, Scope, check_stacked, superscript
from .latex_text import MARKED, LocatedError, canonical, caret_error, prepare
from .latex_tree import check_bare_calls, check_depth
from .limits import MAX_DIGITS, MAX_EXPONENT, MAX_MAGNITUDE

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
        check_bare_calls(tree)
        try:
            value = builder.transform(tree)
        except VisitError as exc:
            raise exc.orig_exc from None
        if isinstance(value, alg.Unsized):
            raise value.unknown("")
    except LocatedError as exc:
        raise caret_error(text, exc.pos, exc.message, refusal=exc.refusal) from None
    return value


# -- syntax errors ----------------------------------------------------------------

_HINTS = {
    "partial": "derivative notation is not parsed: give the formula (the right-hand side)",
    "nabla": "derivative notation is not parsed: give the formula (the right-hand side)",
    "begin": "block matrices and environments are not supported",
    "sum": "sums over indices are not supported; write the matrix form (\\mathbf{1}^\\top x "
    "for the sum of x's entries)",
    "max": r"for max(0, x) entry by entry write \operatorname{relu}(x)",
    "cdot": r"write the inner product as x^\top y (\cdot is not read)",
    "|": r"|x| is the absolute value of a scalar or the determinant of a matrix; "
    r"a norm is \|x\| or \lVert x \rVert",
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
            before = text[:pos].rstrip()
            if len(word) <= 2 and before and (before[-1].isalnum() or before[-1] in ")'"):
                hint += r"; A\b, MATLAB's solve, is A⁻¹ b: write inv(A) @ b"
            return LocatedError(f"unknown command \\{word}: {hint}", pos)
        if re.match(r"\^\s*\+", text[pos:]):  # X^+ without braces
            return LocatedError(PSEUDO_INVERSE, pos)
        return LocatedError(f"unexpected character {text[pos]!r}", pos)
    return unexpected_token(text, exc, TERMINAL_NAMES)


def unexpected_token(text: str, exc: UnexpectedInput, names: Mapping[str, str]) -> LocatedError:
    """'unexpected ...; expected ...' at the token the parser stopped at (terminals by
    their ``names``)."""
    token = getattr(exc, "token", None)
    at_end = token is None or token.type == "$END"
    pos = len(text.rstrip()) if token is None or at_end else _pos(token)
    found = "end of the formula" if at_end else repr(MARKED.get(str(token), str(token)))
    expected = sorted({names.get(t, t) for t in getattr(exc, "expected", ())})
    return LocatedError(f"unexpected {found}; expected {', '.join(expected)}", pos)


_SUPPORTED = (
    "; supported: vec, diag, tr, det, log, exp, tanh, sigma, softmax, logsumexp (of a "
    r"matrix's rows: \operatorname{softmax}_{\mathrm{rows}}, of its columns: _{\mathrm{cols}})"
)


# -- the parse tree, bottom up ----------------------------------------------------


def _number(token: Token) -> Any:
    text = str(token)
    if len(text) > MAX_DIGITS:
        raise LocatedError(f"a number longer than {MAX_DIGITS} digits", _pos(token))
    if text[-1:] in FRACTIONS:  # ½, and 2½ (two and a half)
        return int(text[:-1] or "0") + sp.Rational(*FRACTIONS[text[-1]])
    text, _, exponent = text.partition("e")  # 1e-3, 2.5e+4: scientific notation
    if exponent and abs(int(exponent)) > MAX_MAGNITUDE:
        raise LocatedError(f"a number beyond 10^±{MAX_MAGNITUDE}", _pos(token))
    whole, _, fraction = text.partition(".")
    value = sp.Rational(
        int(whole or "0") * 10 ** len(fraction) + int(fraction or "0"), 10 ** len(fraction)
    )
    return value * sp.Rational(10) ** int(exponent or "0")


def _pos(token: Token) -> int:
    return token.start_pos or 0


#: e^{...} when e is no symbol: the exponential, written as matderiv's LaTeX printer does
_EULER = re.compile(rf"(?:e|\\mathrm\s*\{{\s*e\s*\}})\s*(?P<sup>{SUP})(?P<rest>(?:\s*{SUP})*)\s*")


class Builder(Transformer_NonRecursive):
    """Each grammar rule to its SymPy constructor (iterative: deep nesting is fine).

    The Unicode front end (unicode.py) extends it: sums, signs, numbers, ⊗ ∘ ⊘ and
    bars are built the same way in both notations.
    """

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope
        if scope.read is None:  # an exponent x^{\\circ s - 1} is a formula in this scope
            scope.read = lambda text: build(
                text, prepare, latex_parser(), _syntax_error, Builder(scope)
            )

    def transform(self, tree: Tree) -> Any:
        """The tree built; the variables of (t \\mapsto ...) are symbols while it is, and
        must not be left free (used outside their function)."""
        bound = {
            str(node.children[0]): sp.Dummy(canonical(str(node.children[0])))
            for node in tree.iter_subtrees()
            if node.data == "mapsto"
        }
        if not bound:
            return super().transform(tree)
        outer, self.scope = self.scope, self.scope.binding(bound)
        try:
            value = super().transform(tree)
        finally:
            self.scope = outer
        free: set[Any] = getattr(value, "free_symbols", set()) & set(bound.values())
        if free:
            name = next(k for k, v in bound.items() if v in free)  # as written, not _t
            raise ParseError(f"{name} is bound by ({name} \\mapsto ...) and used outside it")
        return value

    def name(self, items: list[Token]) -> Any:
        token = items[0]
        euler = _EULER.fullmatch(str(token))
        if euler and "e" not in self.scope.symbols and "e" not in self.scope.dims:
            return self._exp(euler, _pos(token))
        return self.scope.name(str(token), _pos(token))

    def _exp(self, euler: re.Match[str], pos: int) -> Any:
        """e^{body}: exp of the formula ``body``, entrywise, as matderiv prints it
        (X^T (e^{X w} - y)); superscripts after it apply to the result."""
        sup = euler.group("sup")
        body = sup[1:].lstrip()
        start = pos + euler.start("sup") + len(sup) - len(body)
        if body.startswith("{"):
            body, start = body[1:-1], start + 1
        value = fns.function("exp", self._formula(" " * start + body), pos)
        rest = euler.group("rest")
        for more in re.finditer(SUP, rest):
            where = pos + euler.start("rest") + more.start()
            value = self.scope.superscript(value, more.group()[1:].strip(), where)
        return value

    def _formula(self, padded: str) -> Any:
        """A formula inside a token, blanked before it so positions are the text's."""
        try:
            tree = latex_parser().parse(padded)
        except UnexpectedInput as exc:
            raise _syntax_error(padded, exc) from None
        check_depth(tree)
        check_bare_calls(tree)
        try:
            return Builder(self.scope).transform(tree)
        except VisitError as exc:
            raise exc.orig_exc from None

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
        for k, item in enumerate(items):
            if isinstance(item, Token):
                divide = item if item.type == "DIVOP" else None
            elif divide is not None:
                if alg.is_matrix(item) and not alg.is_1x1(item) and k + 1 < len(items):
                    raise LocatedError(  # x^T A x / x^T x was n x^T A x, entrywise
                        "'/' divides by the one factor after it, here a "
                        f"{fmt_shape(shape_of(item))} matrix, and more factors follow: write "
                        r"the division as \frac{...}{...} or put the divisor in parentheses",
                        _pos(divide),
                        refusal=True,
                    )
                factors.append(fns.divide(sp.S.One, item, _pos(divide)))
                divide = None
            else:
                factors.append(item)
        return alg.matmul(factors)

    def postfix(self, items: list[Any]) -> Any:
        value = items[0]
        sups = [op for op in items[1:] if op.type != "PRIME"]
        check_stacked([op[1:].strip() for op in sups], [_pos(op) for op in sups])
        for op in items[1:]:
            if op.type == "PRIME":
                value = alg.transpose(value)
            else:
                value = self.scope.superscript(value, op[1:].strip(), _pos(op))
        return value

    def call(self, items: list[Any]) -> Any:
        func, x = items
        word = canonical(func)
        if word in ("sigma", "psi") and word in self.scope.symbols:  # a symbol σ: σ·(x)
            return alg.matmul([self.scope.symbols[word], x])
        return fns.function(word, x, _pos(func))

    def bare_call(self, items: list[Any]) -> Any:
        """\\log x: a function applied without parentheses (``check_bare_calls``)."""
        return self.call(items)

    def call_power(self, items: list[Any]) -> Any:
        """\\sin^{2}(x) = (sin x)², as SymPy's LaTeX printer writes a power of a function
        (of a scalar only: \\tanh^{2}(X) of a matrix could mean either product)."""
        func, sup, x = items
        word, body = canonical(func), str(sup)[1:].strip()
        value = fns.function(word, x, _pos(func))
        if canonical(body) in ("-1", "{-1}"):
            message = f"\\{word}^{{-1}}, an inverse function, is not supported"
            raise LocatedError(message, _pos(sup))
        exponent = body.strip("{} ")
        if alg.is_matrix(value) and alg.is_vector(value) and re.fullmatch(r"\d+", exponent):
            return sp.HadamardPower(value, int(exponent))  # \tanh^2(W x): a vector's square
        if alg.is_matrix(value):
            raise LocatedError(
                f"\\{word}^{{...}} of a matrix is ambiguous: write the power after it, "
                f"\\{word}(X)^{{\\circ 2}} (entrywise) or \\{word}(X)^{{2}} (a matrix power)",
                _pos(sup),
            )
        return superscript(value, body, _pos(sup))

    def unvec(self, items: list[Any]) -> Any:
        """vec⁻¹_{m×n}(v): the column v refolded column-major into an m x n matrix."""
        token, x = items
        match = re.fullmatch(UNVEC, str(token))
        assert match is not None  # the lexer matched the same expression
        rows, cols = self.scope.sizes(match.group("sizes"), _pos(token))
        return fns.unvec(x, rows, cols)

    def mapsto(self, items: list[Any]) -> Any:
        """(t \\mapsto body)_{\\circ}(X): body, a scalar in t, applied to each entry of X."""
        var, body, x = items
        if not alg.is_scalar(body):
            raise LocatedError(f"the function ({var} \\mapsto ...) must give a scalar", _pos(var))
        f = sp.Lambda(self.scope.name(str(var), _pos(var)), body)
        if isinstance(x, alg.Unsized) and x.kind == "ones":
            return x.mapped(f)  # f(𝟏) = f(1) 𝟏, sized by a neighbour
        if isinstance(x, alg.Unsized):
            raise x.unknown(f"in ({var} \\mapsto ...)")
        return fns.entrywise(f, x)

    def frac(self, items: list[Any]) -> Any:
        frac, numerator, denominator = items
        return fns.divide(numerator, denominator, _pos(frac))

    def frac_digits(self, items: list[Token]) -> Any:
        num, den = re.findall(r"[0-9]", str(items[0]))
        return sp.Rational(int(num), int(den))

    def sqrt(self, items: list[Any]) -> Any:
        return alg.power(items[1], sp.Rational(1, 2), _pos(items[0]))

    def root(self, items: list[Any]) -> Any:
        """\\sqrt[k]{x} = x^{1/k} (matderiv prints det(X)^(1/3) so)."""
        token, k, x = items
        if "." in str(k) or int(k) < 2 or int(k) > MAX_EXPONENT:
            message = f"\\sqrt[{k}] needs a whole number from 2 to {MAX_EXPONENT}"
            raise LocatedError(message, _pos(k))
        return alg.power(x, sp.Rational(1, int(k)), _pos(token))

    def bars(self, items: list[Any]) -> Any:
        return fns.bars(items[1], _pos(items[0]))

    def norm(self, items: list[Any]) -> Any:
        subscript = str(items[3]).strip("_{} \t") if len(items) > 3 else ""
        subscript = {"₁": "1", "₂": "2"}.get(subscript, subscript)
        return fns.norm_of(items[1], subscript, _pos(items[0]))
