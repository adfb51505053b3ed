"""Shape declarations: ``W_hx: n_i x n_h, e: n_i, h0: n_h, c: 1``.

A single dimension declares a column vector, ``lam: scalar`` (or ``lam: 1``) a
scalar; dimensions are positive integers or names (which become positive integer
SymPy symbols, shared by every declaration).  The tiny grammar is checked with
full-match patterns, and every piece is validated before a symbol is created.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sympy as sp

from ..errors import ParseError
from .expr_grammar import spelled

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[1-9][0-9]{0,5}")
_TIMES = re.compile(r"\s+x\s+|\s*[×*]\s*")
MAX_DECLARATIONS = 500
#: a declared scalar (1 x 1): 'lam: scalar'; these words are no dimension names
_SCALAR_WORDS = {"scalar", "number", "real"}
_SHAPE_WORDS = {"vector", "column", "row", "matrix", "array"}


def dimension(text: str) -> Any:
    """A dimension: a positive integer or a positive integer symbol."""
    text = text.strip()
    if _INT.fullmatch(text):
        return sp.Integer(int(text))
    if _NAME.fullmatch(text):
        return sp.Symbol(text, integer=True, positive=True)
    glued = re.fullmatch(r"([0-9]+)x([0-9]+)", text)
    hint = f"; for a matrix write '{glued[1]} x {glued[2]}' (spaces around x)" if glued else ""
    raise ParseError(
        f"bad dimension {text!r}: use a positive integer (at most 6 digits) or a name like "
        f"n_h{hint}"
    )


def symbol_name(text: str, what: str) -> str:
    """``text`` stripped, if it is a name like ``V`` or ``W_hx``; else a ParseError
    naming ``what``."""
    name = text.strip()
    if not _NAME.fullmatch(name):
        raise ParseError(f"bad {what} {text!r}: give a name like V or V_1")
    return name


def _tuples_as_times(text: str) -> str:
    """NumPy's shape tuples as declarations: ``A: (n, n)`` or ``A: [n, n]`` is
    ``A: n x n``, ``x: (n,)`` is ``x: n``."""

    def as_times(match: re.Match[str]) -> str:
        inner = match[1] if match[1] is not None else match[2]
        dims = [d.strip() for d in inner.split(",")]
        if len(dims) > 1 and not dims[-1]:
            dims.pop()  # (n,)
        return " x ".join(dims) if all(dims) else match[0]

    return re.sub(r"\(([^()\[\]]*)\)|\[([^()\[\]]*)\]", as_times, text)


def parse_shapes(text: str) -> dict[str, sp.MatrixSymbol]:
    """``"W: n x m, x: n"`` → {"W": MatrixSymbol("W", n, m), "x": MatrixSymbol("x", n, 1)}."""
    if not isinstance(text, str):
        raise ParseError(f"shape declarations must be a string, got {type(text).__name__}")
    symbols: dict[str, sp.MatrixSymbol] = {}
    written: dict[str, str] = {}  # each name's shape as written, for messages
    # separated by commas, semicolons or newlines (one declaration a line)
    pieces = [p for p in re.split(r"[,;\r\n]", _tuples_as_times(text)) if p.strip()]
    if len(pieces) > MAX_DECLARATIONS:
        raise ParseError(f"too many declarations ({len(pieces)}; at most {MAX_DECLARATIONS})")
    for piece in pieces:
        name, colon, dims = piece.partition(":")
        name = spelled(unicodedata.normalize("NFD", name.strip()))  # h₁, ā₁ as printed
        if not colon or not _NAME.fullmatch(name):
            raise ParseError(
                f"bad shape declaration {piece.strip()!r}: write 'name: rows x cols' or "
                "'name: rows' for a column vector, e.g. 'W_hx: n_i x n_h, e: n_i'"
                + (
                    "; a name is an identifier (ASCII letters, digits, _; it may begin with "
                    "a Greek letter, Σ for Sigma, and be written as printed, h₁ for h_1)"
                    if colon and name and not name.isascii()
                    else ""
                )
            )
        if name in symbols:
            raise ParseError(f"{name} is declared twice")
        word = dims.strip().lower()
        written[name] = " ".join(dims.split())
        if word in _SCALAR_WORDS or word in ("()", "[]"):  # lam: scalar, NumPy's ()
            symbols[name] = sp.MatrixSymbol(name, 1, 1)
            continue
        if word in _SHAPE_WORDS:
            raise ParseError(
                f"bad shape {dims.strip()!r} for {name}: give its size, '{name}: n' for a "
                f"column of n entries or '{name}: m x n' for a matrix ('{name}: scalar' "
                "for a scalar)"
            )
        parts = _TIMES.split(dims.strip())
        if len(parts) > 2 or not parts[0]:
            raise ParseError(f"bad shape {dims.strip()!r} for {name}: write 'rows x cols'")
        rows = dimension(parts[0])
        cols = dimension(parts[1]) if len(parts) == 2 else sp.Integer(1)
        symbols[name] = sp.MatrixSymbol(name, rows, cols)
    _check_glued_times(symbols)
    _check_sizes_are_not_symbols(symbols, written)
    return symbols


def _check_sizes_are_not_symbols(
    symbols: dict[str, sp.MatrixSymbol], written: dict[str, str]
) -> None:
    """'n: scalar, x: n' declared a scalar n and a size n, two symbols of one name that
    formulas read one way or the other (n x, I_n): refused."""
    for user, symbol in symbols.items():
        for size in symbol.shape:
            name = str(size)
            if isinstance(size, sp.Symbol) and name in symbols:
                raise ParseError(
                    f"{name} is declared ({name}: {written[name]}) and is also a size "
                    f"({user}: {written[user]}): a name is a symbol or a size, not both; "
                    "rename one of them"
                )


def _check_glued_times(symbols: dict[str, sp.MatrixSymbol]) -> None:
    """``A: mxn`` declares a column of a dimension named mxn: refused when m and n are
    sizes of the other declarations (or numbers), as 'A: m x n' was surely meant."""
    sizes = {str(d) for s in symbols.values() for d in s.shape if isinstance(d, sp.Symbol)}
    for name, symbol in symbols.items():
        rows = str(symbol.shape[0])
        if symbol.shape[1] != 1 or not isinstance(symbol.shape[0], sp.Symbol):
            continue
        for k, char in enumerate(rows):
            left, right = rows[:k], rows[k + 1 :]
            if char != "x" or not left or not right:
                continue
            if all(part in sizes or _INT.fullmatch(part) for part in (left, right)):
                raise ParseError(
                    f"{name}: {rows} declares a column vector of a dimension named {rows}; "
                    f"for a {left} x {right} matrix write '{name}: {left} x {right}' "
                    "(spaces around x, or ×)"
                )
