"""A candidate formula, from SymPy, matderiv's syntax, its Unicode notation or LaTeX,
over the user's symbols."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import sympy as sp

from ..errors import MatDerivError, ParseError, ShapeMismatch
from ..render.unicode import fmt, superscript
from .expr import parse_expression
from .latex import parse_latex
from .latex_text import INDEXING, caret_error
from .printed_names import ascii_name
from .unicode import looks_like_unicode, parse_unicode
from .unicode_builder import AsciiPower


def symbol_table(expr: Any, names: Mapping[str, Any]) -> dict[str, Any]:
    """Names a candidate may use: the symbols of ``expr`` (MatrixSymbols, scalar Symbols
    such as λ, and dimensions) and the named intermediates."""
    table: dict[str, Any] = {
        s.name: s
        for s in sp.sympify(expr).free_symbols
        if isinstance(s, (sp.MatrixSymbol, sp.Symbol)) and not isinstance(s, sp.Dummy)
    }
    table.update(names)
    return table


def looks_like_latex(text: str) -> bool:
    return "\\" in text or "{" in text


#: what only matderiv's syntax writes: @, .T, *, definitions, its function names
_SYNTAX_ONLY = re.compile(
    r"@|\.T\b|\*|;|^\s*[A-Za-z_]\w*\s*=(?!=)|"
    r"\b(?:sum|inv|kron|eye|trace|logdet|norm|ones|zeros|matrix_power|softmax)\s*\("
)


def parse_notation(text: str, table: Mapping[str, Any]) -> Any:
    """``text`` read in the notation its characters show: the Unicode notation matderiv
    prints (ᵀ, ⊗, ∘, ‖ ...), else LaTeX (a backslash or braces); None for neither,
    or for a formula in matderiv's syntax that also uses ᵀ, ∘, ⊗ or ⁻¹ (Wᵀ @ x,
    sum(A ∘ X)), which the syntax reads."""
    if looks_like_unicode(text.replace("−", "-")):  # a pasted minus sign: any notation's
        if _SYNTAX_ONLY.search(text) and not re.search(r"[‖²³√·]", text):
            return None
        return _read_unicode(text, table)
    if looks_like_latex(text):
        return parse_latex(text.replace("−", "-"), table)  # \frac{1}{2} x − y, from a PDF
    return None


def _read_unicode(text: str, table: Mapping[str, Any]) -> Any:
    """The Unicode reading of ``text``, refused where an ASCII ^k in it is the matrix power
    and matderiv's syntax, where ^ is entrywise, reads the formula too (A^2 + Aᵀ)."""
    powers: list[AsciiPower] = []
    formula = parse_unicode(text, table, ascii_powers=powers)
    if powers:
        try:
            parse_expression(text, table)
        except MatDerivError as syntax:
            if not _refused(syntax):  # (A^2ᵀ: the syntax reads it, and refuses it)
                return formula  # the syntax cannot read it (A^2 Aᵀ): only one reading
        raise _ambiguous_power(unicodedata.normalize("NFD", text), powers[0])
    return formula


def _ambiguous_power(text: str, power: AsciiPower) -> ParseError:
    base = power.base
    name = fmt(base) if isinstance(base, sp.MatrixSymbol) else f"({fmt(base)})"
    k = power.k
    if k == -1:
        meanings = "the entrywise reciprocal", "the inverse"
        entrywise, matrix = f"{name}^∘-1", f"{name}⁻¹ or inv({name})"
    else:
        meanings = "the entrywise power", "the matrix power"
        entrywise = f"{name}∘{name} or {name}^∘2" if k == 2 else f"{name}^∘{k}"
        matrix = f"{name}{superscript(k)} or matrix_power({fmt(base)}, {k})"
    return caret_error(
        text,
        power.pos,
        f"'^' after {name} is ambiguous here: matderiv's syntax, which reads the ᵀ ∘ ⊗ ⁻¹ "
        f"of this formula too, takes it as {meanings[0]}, the Unicode notation as "
        f"{meanings[1]}. Write {matrix} for {meanings[1]}, {entrywise} for "
        f"{meanings[0]}",
        refusal=True,
    )


#: "df/dx = ...", "dL/dW = ...", "grad f = ...": a left-hand side in derivative
#: notation before the one "=" (LaTeX and Unicode drop any; the syntax has none)
_DERIVATIVE_LHS = re.compile(r"\s*(?:[d∂][^=;@*]*/\s*[d∂][^=;@*]*|grad\b[^=;@*]*|∇[^=;@*]*)=(?!=)")


def _right_hand_side(text: str) -> str:
    found = _DERIVATIVE_LHS.match(text)
    return " " * found.end() + text[found.end() :] if found else text


def _refused(error: MatDerivError) -> bool:
    """Whether ``error`` refuses what a notation read (X^T with a T declared, A^2', s^10
    in LaTeX), rather than failing to read the text: the message to show, and (from
    the syntax) final, not handed to another notation, which would take one of the
    readings."""
    return isinstance(error, ParseError) and error.refusal


def _juxtaposed(error: MatDerivError) -> bool:
    """The syntax's error for two operands side by side: the formula is written as
    math (LaTeX without backslashes), so LaTeX's error says more."""
    return "Two operands side by side" in str(error)


def parse_candidate(candidate: Any, expr: Any, names: Mapping[str, Any]) -> Any:
    """The candidate as a SymPy expression.

    Strings with a character of the Unicode notation matderiv prints (ᵀ, ⁻¹, ⊗, ∘,
    ·, h₁ ...) are read in that notation, so a printed result can be pasted back:
    ``(e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)``.  Other strings with a backslash or braces
    are read as LaTeX; the rest in matderiv's syntax first, if that fails as LaTeX
    (``a b^T`` is LaTeX without either), and if that fails too in the Unicode
    notation, which prints some results in plain ASCII (``tr(X) 1 + a``).  The error
    reported is the one of matderiv's syntax, or LaTeX's shape mismatch, or LaTeX's
    unknown name where the syntax's error is two operands side by side.
    """
    if not isinstance(candidate, str):
        try:
            return sp.sympify(candidate, strict=True)
        except sp.SympifyError as exc:
            raise ParseError(
                f"cannot read the candidate {candidate!r}: pass a SymPy expression or a string"
            ) from exc
    return read_headline(candidate, symbol_table(expr, names))


def is_headline(text: str) -> bool:
    """Whether ``text`` is a formula with names after it: "A v, with v = B x"."""
    return _WITH.search(text) is not None


def read_headline(text: str, table: dict[str, Any]) -> Any:
    """A formula, after an optional "∂f/∂X =", with the names a headline gives after it
    (", with v₂ = softmax(K q)") substituted; ``table`` gets the names."""
    candidate, named = _with_names(_right_hand_side(text))
    pending = list(named)
    while pending:  # a name's value may use names given before it or after it
        unread: list[tuple[str, str]] = []
        for name, value in pending:
            try:
                table[_key(name)] = read_formula(value, table)
            except ParseError as exc:
                if not str(exc).startswith("unknown symbol"):
                    raise
                unread.append((name, value))
                error = exc
        if len(unread) == len(pending):
            raise error
        pending = unread
    return read_formula(candidate, table)


#: ", with v₂ = softmax(K q), r = ...": the names a headline gives after its formula
#: (and LaTeX's ", \quad \text{with } v_{2} = ..., \; r = ...")
_WITH = re.compile(r",\s*(?:\\quad\s*)?(?:\\text\s*\{\s*(?:with|where)\s*\}|with|where)\s+")
_NEXT_NAME = re.compile(r",\s*(?:\\;\s*)?(?=[^\s,=()]+\s*=(?!=))")  # v₂ =, v_{2} =


def _with_names(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The formula and the (name, value) pairs of a ", with name = value" clause."""
    parts = _WITH.split(text, maxsplit=1)
    if len(parts) == 1:
        return text, []
    named = [tuple(d.split("=", 1)) for d in _NEXT_NAME.split(parts[1])]
    if any(len(pair) != 2 for pair in named):
        raise ParseError(f"cannot read the names after the formula: {parts[1]!r}")
    return parts[0], [(name.strip(), value) for name, value in named]


def _key(name: str) -> str:
    """The symbol-table key of a printed name: v₂, v_{2} and v_2 are v_2."""
    plain = re.sub(r"[{}\\\s]", "", name)
    base, sub = ascii_name(plain)
    return f"{base}_{sub}" if sub else base


def read_formula(candidate: str, table: Mapping[str, Any]) -> Any:
    """A formula, in whichever notation reads it: the one its characters show, else
    the syntax, else LaTeX (math juxtaposed: x^T A x), else the Unicode notation; a
    ParseError for none (the syntax's, or LaTeX's where that is the likelier)."""
    formula = parse_notation(candidate, table)
    if formula is not None:
        return formula
    try:
        return parse_expression(candidate, table)
    except ParseError as syntax:
        if "*" in candidate and str(syntax).startswith("unknown symbol"):
            raise  # read by the syntax but for a name: LaTeX would read * as a product
        if _refused(syntax):
            raise  # X^T with a T declared, A^2': LaTeX would take one of the readings
        first: MatDerivError = syntax
    try:
        return parse_latex(candidate, table)
    except ShapeMismatch as mismatch:
        first = mismatch
    except ParseError as latex:
        if str(latex).startswith(INDEXING):
            raise  # x[0]: the syntax's error says only that '[' is unexpected
        if _juxtaposed(first) and str(latex).startswith("unknown symbol"):
            first = latex  # 2 A^T (A z - b): math notation with a name not declared
        if _refused(latex):
            first = latex  # s^10 x: "write ^{10}", not the syntax's "expected '@'"
    try:
        return parse_unicode(candidate, table)
    except MatDerivError:
        raise first from None
