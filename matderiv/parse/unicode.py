"""The Unicode notation matderiv prints (``fmt``, ``str(d)``), parsed back into SymPy.

    parse_unicode("(e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)", {"e_1": e1, "h_1": h1})

What ``render/unicode.py`` writes is read back: juxtaposition is the matrix
product (``a bᵀ``), ``·`` and ``/`` multiply and divide by scalars, ``⊗`` is the
Kronecker and ``∘`` the Hadamard product (``⊘`` entrywise division), ``Xᵀ X⁻¹
X⁻ᵀ`` transpose and invert, ``X²``, ``X⁻²`` (or ``X^2``) are matrix powers and
``X^∘-1`` (or ``X∘²``) entrywise ones, superscript digits on a scalar are powers
(``tr(X)²``, ``h²`` entrywise for a vector), ``I_n I₃ I_{m·n}``, ``K_{m,n}`` and
``vec⁻¹_{m×n}(v)`` take sizes, as do the matrices of ones and zeros ``𝟏_n``
(a column), ``𝟏_nᵀ``, ``𝟏_{m×n}``, ``𝟎_{m×n}``, ``(t ↦ 1/(1 + exp(-t)))∘(X)``
applies a scalar function entrywise, and ``vec diag tr det softmax logsumexp``
and the scalar functions are called with parentheses.  Subscripts are part of
a name: ``Wₕₓ`` is the symbol ``W_hx``, ``h̄₁`` is ``hbar_1``.  A left-hand side
``∂h₁/∂vec(Wₕₓᵀ) =`` and a trailing shape ``(nₕ·nᵢ × nₕ)``, as ``str(d)``
prints them, are skipped.  A bare ``1`` or ``0`` is the number, and in a sum or
∘ product with a matrix the matrix of ones (``1 - h∘h``), as the printer writes it.

This module is the entry point and its error messages; the grammar and its
vocabulary are in unicode_grammar.py, the tree builder in unicode_builder.py.

Like the other front ends the grammar is an allow-list and nothing reaches
eval, exec or sympify; length, nesting, numbers and exponents are bounded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import sympy as sp
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from ..errors import ParseError
from ..render.unicode import ONES, ZEROS
from .latex import build, unexpected_token
from .latex_grammar import lalr_parser
from .latex_scope import PSEUDO_INVERSE, Scope
from .latex_text import LocatedError, prepare
from .unicode_builder import AsciiPower, UnicodeBuilder
from .unicode_grammar import (
    FROM_ACCENT,
    GRAMMAR,
    SUBSCRIPT_LETTERS,
    SUPERSCRIPT_DIGITS,
    TERMINAL_NAMES,
)

__all__ = ["UNICODE_CHARACTERS", "looks_like_unicode", "parse_unicode"]

#: characters that only this notation uses: a candidate holding one is read as Unicode
UNICODE_CHARACTERS = frozenset(
    "ᵀ⁻⊤∘⊙⊗⊘·⋅×↦−‖½⅓⅔¼¾⁺†"  # (⁺ †: refused, as the pseudo-inverse)
    + ONES
    + ZEROS
    + SUBSCRIPT_LETTERS
    + SUPERSCRIPT_DIGITS
    + "".join(FROM_ACCENT)
)

# Same-length replacements, so positions stay the user's: variants of the printed forms,
# and the frame of rich's panel (a line copied from the terminal).
_VARIANTS = str.maketrans(
    {"−": "-", "⋅": "·", "⊤": "ᵀ", "⊙": "∘", "│": " ", "'": "ᵀ", "′": "ᵀ", "’": "ᵀ"}
)
# The shape str(d) prints after a result: "   (nₕ·nᵢ × nₕ)" at the end (a size in a
# formula, 𝟏_{m×n}, is in braces and has no spaces around its ×).
_SHAPE_SUFFIX = re.compile(r"\s\(\s*[^(){}=×]*\s×\s[^(){}=×]*\)\s*$")


_HINTS = {
    "∂": "derivative notation is not parsed: give the formula (the right-hand side)",
    "Σ": "sums over indices are not supported; write the matrix form",
    "δ": "index notation is not supported; write the matrix form",
    "*": "write a matrix product as juxtaposition (A B) and a scalar one with '·'",
    "@": "write a matrix product as juxtaposition (A B) and a scalar one with '·'",
    "\\": "LaTeX commands do not mix with the Unicode notation: write it all in one",
    ONES: f"write the size of a matrix of ones: {ONES}_n, {ONES}_nᵀ or {ONES}_{{m×n}}",
    ZEROS: f"write the size of a matrix of zeros: {ZEROS}_n, {ZEROS}_nᵀ or {ZEROS}_{{m×n}}",
    "⁺": PSEUDO_INVERSE.replace("X^{+}", "X⁺").replace("^T", "ᵀ").replace("^{-1}", "⁻¹"),
    "†": PSEUDO_INVERSE.replace("X^{+}", "X†").replace("^T", "ᵀ").replace("^{-1}", "⁻¹"),
}


def looks_like_unicode(text: str) -> bool:
    """Whether ``text`` uses a character only the Unicode notation has (ᵀ, ⊗, ∘, h₁ ...)."""
    return any(c in UNICODE_CHARACTERS for c in text)


def parse_unicode(
    text: str,
    symbols: Mapping[str, sp.Basic],
    *,
    dims: Mapping[str, sp.Basic] | None = None,
    ascii_powers: list[AsciiPower] | None = None,
) -> sp.Basic:
    """The SymPy expression that the Unicode formula ``text`` denotes.

    ``symbols`` maps names (``"W_hx"``, ``"h_1"``; printed Wₕₓ, h₁) to
    MatrixSymbols, scalar Symbols or named intermediates, as for ``parse_latex``;
    ``dims`` maps dimension names to SymPy symbols (by default the free symbols
    of the matrices' shapes).  Raises ParseError (with a caret under the failing
    position) or, for operands whose concrete sizes differ, ShapeMismatch.
    ``ascii_powers``, if given, receives each ASCII ``^k`` read as a matrix power.
    """
    if not isinstance(text, str):
        raise ParseError(f"parse_unicode expects a string, got {type(text).__name__}")
    builder = UnicodeBuilder(Scope(symbols, dims))
    text = unicodedata.normalize("NFD", text)  # a typed ā is one character, a printed ā two
    prepared = lambda t: builder.prepared(_prepare(t))  # noqa: E731
    value = build(text, prepared, lalr_parser(GRAMMAR), _syntax_error, builder)
    if ascii_powers is not None:
        ascii_powers.extend(builder.ascii_powers)
    return value


def _prepare(text: str) -> str:
    """The LaTeX front end's preparation (limits, brackets, a left-hand side), then
    variants of the characters unified and the printed shape after a result blanked."""
    prepared = prepare(text).translate(_VARIANTS)
    return _SHAPE_SUFFIX.sub(lambda m: " " * len(m.group()), prepared)


def _syntax_error(text: str, exc: UnexpectedInput) -> LocatedError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        hint = _HINTS.get(text[pos], "it is not a symbol, function or operator matderiv prints")
        digit = text[pos - 1 : pos]
        if text[pos] == "_" and digit in ("0", "1") and not text[: pos - 1][-1:].isalnum():
            sized = {"0": ZEROS, "1": ONES}[digit]  # 0_{m×n}: the number has no size
            hint = f"a sized matrix of {'zeros' if digit == '0' else 'ones'} is {sized}_{{m×n}}"
        return LocatedError(f"unexpected character {text[pos]!r}: {hint}", pos)
    return unexpected_token(text, exc, TERMINAL_NAMES)
