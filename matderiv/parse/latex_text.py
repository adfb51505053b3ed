"""The text side of the LaTeX front end: a bracket pre-scan, names, messages.

``prepare`` runs before the parser.  It enforces the size and nesting limits,
reports unbalanced brackets, pairs the bars of ``|X|``, removes math
delimiters ($, \\[ \\]) and a left-hand side (``\\frac{\\partial L}{\\partial W} =``).
It only ever replaces characters by others of the same length, so every
position the parser reports is a position in the user's text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from ..errors import ParseError
from ..naming import adjoint_note
from .latex_grammar import ACCENTS, BAR_CLOSE, BAR_OPEN, NORM_CLOSE, NORM_OPEN, STYLES
from .limits import MAX_DEPTH, MAX_LENGTH

_CLOSER = {"(": ")", "[": "]", "{": "}", "\\{": "\\}"}
_OPENER = {v: k for k, v in _CLOSER.items()}
_COMMAND = re.compile(r"\\([A-Za-z]+)")


class LocatedError(Exception):
    """A parse failure at a position of the text; ``parse_latex`` adds the caret."""

    def __init__(self, message: str, pos: int, *, refusal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.refusal = refusal  # as ParseError's


def caret_error(
    text: str, pos: int, message: str, context: int = 40, *, refusal: bool = False
) -> ParseError:
    """A ParseError showing the line of ``text`` around ``pos``, a caret under ``pos``."""
    pos = max(0, min(pos, len(text)))
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : len(text) if end < 0 else end].replace("\t", " ")
    column = pos - start
    left, right = max(0, column - context), column + context
    shown = ("..." if left else "") + line[left:right] + ("..." if right < len(line) else "")
    offset = column - left + (3 if left else 0)
    where = f"line {text.count(chr(10), 0, pos) + 1}, " if "\n" in text else ""
    return ParseError(
        f"{message} (at {where}column {column + 1}):\n    {shown}\n    {' ' * offset}^",
        refusal=refusal,
    )


def prepare(text: str) -> str:
    """``text`` ready for the lexer, of the same length; raises LocatedError."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    chars = list(text)
    _strip_delimiters(chars)
    equals = _scan_brackets(text, chars)
    _one_formula(text, equals)
    _no_indexing(text)
    _one_digit_exponents(text)
    if equals:  # keep only the right-hand side of "lhs = rhs"
        _blank(chars, 0, equals[0] + 1)
    prepared = _subscript_first(_unstyled("".join(chars)))
    if not prepared.strip():
        raise LocatedError("nothing to parse: the formula is empty", len(text))
    return prepared


#: an operand followed by brackets of whole numbers or slices (x[0], A[1][2], A[:, 0],
#: log(x)[0]), or a name by a braced whole number (x{0}): indexing, which LaTeX would
#: read as a product with the number (x[0] was x·0, silently 0)
_INDEXING = re.compile(
    r"(?<=[A-Za-z0-9')\]}])\s*((?:\\left\s*)?\[\s*[-+]?[0-9:][0-9\s,:+-]*(?:\\right\s*)?\])"
    r"|(?<![\\A-Za-z])[A-Za-z]+[0-9]*\s*(\{\s*[0-9]+\s*\})"
)
_AFTER_COMMAND = re.compile(r"\\sqrt\s*$")  # \sqrt[3]{x}: an optional argument
#: how the indexing error starts (read_formula tells it from LaTeX's other errors)
INDEXING = "indexing"


#: a superscript of several digits (or a decimal) without braces: TeX takes one digit
_LONG_EXPONENT = re.compile(r"\^\s*(-?[0-9](?:\.?[0-9])+)")


def _one_digit_exponents(text: str) -> None:
    """s^10 is s¹·0 in LaTeX (a superscript without braces is one character), which no
    one means: refused, with the braces to write (s^10 x was read as 0)."""
    found = _LONG_EXPONENT.search(text)
    if found is not None:
        digits = found.group(1)
        raise LocatedError(
            f"^{digits} without braces: LaTeX takes one character as the exponent "
            f"(^{digits[0]}, then {digits[1:]}); write ^{{{digits}}}",
            found.start(),
            refusal=True,
        )


def _no_indexing(text: str) -> None:
    for found in _INDEXING.finditer(text):
        group = 1 if found.group(1) else 2
        if _AFTER_COMMAND.search(text, 0, found.start(group)):
            continue
        raise LocatedError(
            f"{INDEXING} (an entry or a slice, {found.group(group)}) is not read: "
            "matderiv differentiates whole matrices and vectors. Hint: for the entry x_i "
            "write e_i^T x with a unit column e_i declared like x, or differentiate the "
            "whole expression",
            found.start(group),
        )


#: what goes on after a formula: a consequence, or a name defined after its use
_GOES_ON = re.compile(
    r"\\(?:implies|Rightarrow|Longrightarrow|iff|Leftrightarrow)\b"
    r"|\\(?:text|mbox|mathrm)\s*\{\s*(?:where|with|for|and|if|s\.t\.)\b"
)


def _one_formula(text: str, equals: list[int]) -> None:
    """A candidate is one formula, with at most a left-hand side: ∇f = 2Aᵀ(Ax − b) = 0
    was read as 0, and 2Aᵀr where r = Ax − b as Ax − b (only what followed the last
    '=' was kept)."""
    found = _GOES_ON.search(text)
    if found is not None:
        raise LocatedError(
            f"the formula goes on after {found.group(0).strip()}: verify reads one formula "
            "(with at most a left-hand side such as \\nabla f =); give the derivative "
            "alone, with any name defined after it (r = Ax - b) written out",
            found.start(),
        )
    if len(equals) > 1:
        raise LocatedError(
            "the formula has more than one '=' (a chain such as \\nabla f = 2A^T(Ax - b) "
            "= 0): give the derivative alone, with at most one left-hand side",
            equals[1],
        )


_POWER_THEN_SUBSCRIPT = re.compile(
    rf"({NORM_CLOSE}\s*)(\^\s*(?:\{{[^{{}}]*\}}|[0-9]))(\s*_\s*(?:\{{[^{{}}]*\}}|[A-Za-z0-9]))"
)


#: a norm's F in a font, _{\mathrm{F}}: the letter alone
_STYLED_NORM_LETTER = re.compile(r"\\(?:mathrm|mathsf|text|textrm|rm)\s*\{\s*([F12])\s*\}")


def _subscript_first(text: str) -> str:
    r"""‖x‖^2_2 as ‖x‖_2^2 (LaTeX takes the scripts in either order), _{\mathrm{F}} as
    _{F}; the same length."""

    def letter(m: re.Match[str]) -> str:
        return m[1].center(len(m[0]))

    text = re.sub(
        rf"{NORM_CLOSE}\s*(?:\^\s*(?:\{{[^{{}}]*\}}|[0-9])\s*)?_\s*\{{[^{{}}]*\{{[^{{}}]*\}}[^{{}}]*\}}",
        lambda m: _STYLED_NORM_LETTER.sub(letter, m[0]),
        text,
    )
    return _POWER_THEN_SUBSCRIPT.sub(lambda m: m[1] + m[3] + m[2], text)


#: a transpose's T in a font without braces around it, ^\mathrm{T}; a function's name
#: in a font, \boldsymbol{\sigma}(...): the letter or command alone
_STYLED_T = re.compile(r"(?<=\^)\s*\\(?:mathrm|mathsf|text|textrm|rm|mathit)\s*\{\s*(T)\s*\}")
_STYLED_FUNCTION = re.compile(
    r"\\(?:boldsymbol|bm|mathbf|mathrm|mathit)\s*\{\s*(\\[A-Za-z]+)\s*\}(?=\s*(?:\(|\\left\b))"
)


def _unstyled(text: str) -> str:
    """^\\mathrm{T} as ^T, \\boldsymbol{\\sigma}( as \\sigma(; the same length."""
    for pattern in (_STYLED_T, _STYLED_FUNCTION):
        text = pattern.sub(lambda m: m[1].center(len(m[0])), text)
    return text


#: equation environments around the formula (align's & too), labels and tags anywhere
_ENVIRONMENT = re.compile(
    r"\\(?:begin|end)\s*\{\s*(?:equation|displaymath|math|gather|align|multline|flalign)"
    r"\*?\s*\}"
)
_LABEL = re.compile(  # \tag*{$n_{h} \times n$}: braces inside, one level
    r"\\(?:label|tag\*?|eqref)\s*\{(?:[^{}]|\{[^{}]*\})*\}|\\(?:nonumber|notag)\b"
)
#: a pair of parentheses broken across two rows, as matderiv's LaTeX writes it:
#: \left( ... \right. \\ &\quad \left. ... \right) reads as \left( ... \right)
_ROW_BREAK = re.compile(
    r"\\right\s*\.(?:\s|\\\\\*?|&|\\q?quad\b|\\displaybreak\s*(?:\[\d\])?)*\\left\s*\."
)
#: a remark after the formula: \quad \text{(by the chain rule)}
_REMARK = re.compile(
    r"(?:\\[,;:! ]|\\q?quad\b|~|\s|,)*\\(?:text|mbox|textrm)\s*"
    r"\{[^{}]*(?:\s|\()[^{}]*\}\s*[.,;]?\s*$"  # words: \text{c} is the symbol c
)


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "


def _strip_delimiters(chars: list[str]) -> None:
    """Blank out $ signs, \\[ \\] or \\( \\) around the formula, an equation environment
    around it, labels and tags, a remark in \\text after it, the \\right. \\left. of
    parentheses broken across rows, and a final . or ,"""
    for i, c in enumerate(chars):
        if c == "$":
            chars[i] = " "
    text = "".join(chars)
    environments = list(_ENVIRONMENT.finditer(text))
    for found in (*environments, *_LABEL.finditer(text)):
        _blank(chars, found.start(), found.end())
    if any("align" in found[0] for found in environments):
        chars[:] = [" " if c == "&" else c for c in chars]
    text = "".join(chars)
    remark = _REMARK.search(text)
    if remark is not None:
        before = text[: remark.start()].rstrip()
        if before and before[-1] not in "^_":  # x^\text{T} is no remark
            _blank(chars, remark.start(), remark.end())
    text = "".join(chars)
    for found in iter(lambda: _ROW_BREAK.search("".join(chars)), None):
        _blank(chars, found.start(), found.end())
    text = "".join(chars)
    for opening, closing in (("\\[", "\\]"), ("\\(", "\\)")):
        head, tail = len(text) - len(text.lstrip()), len(text.rstrip())
        if text.startswith(opening, head) and text.endswith(closing, 0, tail):
            chars[head : head + 2] = "  "
            chars[tail - 2 : tail] = "  "
            text = "".join(chars)
    tail = len(text.rstrip())
    if tail and text[tail - 1] in ".,;":
        chars[tail - 1] = " "


def _scan_brackets(text: str, chars: list[str]) -> list[int]:
    """Check nesting and balance, pair |...| bars; the positions of the top-level '='."""
    stack: list[tuple[str, int]] = []
    equals: list[int] = []
    i = 0
    while i < len(chars):
        token, width = _next_token(text, i)
        if token in _CLOSER:
            stack.append((token, i))
            if len(stack) > MAX_DEPTH:
                raise LocatedError(f"brackets nest deeper than {MAX_DEPTH} levels", i)
        elif token in _OPENER:
            if not stack or stack[-1][0] != _OPENER[token]:
                raise LocatedError(_unbalanced(token, stack), i)
            stack.pop()
        elif token in _BARS:
            _pair_bar(chars, stack, "|", _BARS[token], i, width)
        elif token in _NORMS:
            _pair_bar(chars, stack, "‖", _NORMS[token], i, width)
        elif token == "=" and not stack:
            equals.append(i)
        i += width
    for opener, where in reversed(stack):
        raise LocatedError(f"'{opener}' is never closed", where)
    return equals


_BARS = {"|": "toggle", "lvert": "open", "rvert": "close", "vert": "toggle"}
_NORMS = {"‖": "toggle", "\\|": "toggle", "lVert": "open", "rVert": "close", "Vert": "toggle"}
_MARKS = {"|": (BAR_OPEN, BAR_CLOSE), "‖": (NORM_OPEN, NORM_CLOSE)}
#: each private mark back to the bar the user wrote, for messages
MARKED = {mark: bar for bar, marks in _MARKS.items() for mark in marks}


def _next_token(text: str, i: int) -> tuple[str, int]:
    """The bracket-relevant token at ``i`` and its width; commands other than bars are ''."""
    if text[i] != "\\":
        return text[i], 1
    command = _COMMAND.match(text, i)
    if command is None:  # \{ \} \| \, \\ ...
        return text[i : i + 2], 2
    word = command.group(1)
    return word if word in _BARS or word in _NORMS else "", command.end() - i


def _pair_bar(
    chars: list[str], stack: list[tuple[str, int]], kind: str, direction: str, i: int, width: int
) -> None:
    """An opening or closing bar of ``kind`` (| or ‖): \\rvert / \\rVert close, \\lvert /
    \\lVert open, and a bare bar closes the bar of its kind open at its level, else opens."""
    closes = direction == "close" or (
        direction == "toggle" and bool(stack) and stack[-1][0] == kind
    )
    if closes:
        if not stack or stack[-1][0] != kind:
            raise LocatedError(f"a closing '{kind}' without an opening one", i)
        stack.pop()
    else:
        stack.append((kind, i))
        if len(stack) > MAX_DEPTH:
            raise LocatedError(f"brackets nest deeper than {MAX_DEPTH} levels", i)
    opening, closing = _MARKS[kind]
    chars[i : i + width] = [closing if closes else opening] + [" "] * (width - 1)


def _unbalanced(closer: str, stack: list[tuple[str, int]]) -> str:
    if not stack:
        return f"'{closer}' has no matching '{_OPENER[closer]}'"
    opener, where = stack[-1]
    expected = f"'{opener}'" if opener in _MARKS else f"'{_CLOSER[opener]}'"
    return f"expected {expected} to close the '{opener}' at column {where + 1}, found '{closer}'"


_STYLE_COMMAND = re.compile(
    r"\\(?:" + "|".join([*STYLES, "operatorname", "rm", "sf", "bf"]) + r")(?![A-Za-z])"
)


#: an accent over a name, innermost first: \\dot{\\bar{h}} -> \\dot{hbar} -> hbardot
_ACCENT_OVER = re.compile(r"\\(" + "|".join(ACCENTS) + r")(?![A-Za-z])\s*\{\s*([^{}]*?)\s*\}")
_ACCENT_NAME = {"overline": "bar", "widetilde": "tilde", "widehat": "hat"}


def canonical(name: str) -> str:
    """The name without styling, braces or spaces: \\mathbf{W}_{hx} -> W_hx, \\delta -> delta,
    \\bar{h}_{1} -> hbar_1 (an accent is part of the name, as SymPy names it)."""
    while True:
        accented = _ACCENT_OVER.sub(
            lambda m: re.sub(r"^\\", "", m.group(2)) + _ACCENT_NAME.get(m.group(1), m.group(1)),
            name,
        )
        if accented == name:
            break
        name = accented
    plain = _STYLE_COMMAND.sub("", name)
    plain = re.sub(r"\\[,;:! ]", "", plain)
    plain = _COMMAND.sub(r"\1", plain)
    return re.sub(r"[\s{}]", "", plain)


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """'unknown symbol ...; did you mean ...?' with the close matches among ``known``."""
    known = sorted(set(known))
    lowered = {k.lower().replace("_", ""): k for k in known}
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    loose = lowered.get(name.lower().replace("_", ""))
    if loose and loose not in close:
        close.insert(0, loose)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    adjoint = adjoint_note(name)
    if adjoint is not None:
        hint = f"; {adjoint}"
    listing = f" (known: {', '.join(known)})" if 0 < len(known) <= 12 else ""
    return f"unknown {kind} {name!r}{hint}{listing}"
