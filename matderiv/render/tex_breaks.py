r"""Breaking a long LaTeX formula into rows that fit a portrait page.

``render/latex.py`` writes each step on a row of an ``align*``; a long formula (the
result of a three-layer network written out, a product with a long ``diag(·)``) ran up
to 300 pt past the margin.  This module reads the formula the printer wrote, estimates
how wide each piece is typeset, and breaks it where a reader expects: before a ``+``
or ``-`` between terms first, then before ``\otimes`` or ``\circ``, then between the
factors of a product, at the outermost level of parentheses it can.  A break inside
``\left( ... \right)`` closes the row with ``\right.`` and opens the next with
``\left.`` so that every row is valid LaTeX on its own (amsmath cannot pair delimiters
across rows); a brace group broken across rows loses its braces (SymPy's
``\tanh{\left(x\right)}``), and one with a script (``{x y}^{T}``) is not broken.
The LaTeX parser reads such rows back (it drops the ``\right. \left.`` pairs).

Widths are in units of a small italic letter (about 5.5 pt at 10 pt): a rough
measure, good enough to keep rows within a page without TeX at hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

#: the formula's width, in italic letters, that fits beside a label on a portrait
#: page (an article's 345 pt text width, less a label ∂f/∂vec(W) and its =: rows of
#: 54-57 letters measured 0-15 pt too wide beside ∂Y/∂vec(W))
ROW_WIDTH = 48.0

#: the width of the ``&\quad`` that starts each row after the first
_INDENT = 2.0

_OPERATORS = {"otimes": 2.5, "circ": 1.9, "cdot": 1.6, "odot": 2.4, "times": 2.4}
_OPERATORS |= {"oplus": 2.4, "bmod": 3.0, "le": 2.4, "leq": 2.4, "ge": 2.4, "geq": 2.4}
_OPERATORS |= {"to": 2.6, "mapsto": 2.6, "in": 2.0, "Rightarrow": 3.0}
#: commands whose one brace argument is part of them (\operatorname{diag})
_ONE_ARGUMENT = {"operatorname", "text", "textbf", "mathbf", "mathrm", "mathit"}
_ONE_ARGUMENT |= {"hat", "bar", "tilde", "dot", "ddot", "vec", "boldsymbol", "mathcal"}
_ONE_ARGUMENT |= {"overline", "mathbb", "sqrt", "underbrace", "widehat", "check", "mathop"}
_TWO_ARGUMENTS = {"frac", "dfrac", "tfrac", "binom"}
#: commands that apply to what follows them: never a row's last piece
_PREFIXES = {"sum", "prod", "int", "lim", "max", "min", "sup", "inf"}
_FUNCTIONS = {"tanh", "sinh", "cosh", "exp", "log", "ln", "sin", "cos", "tan", "det", "tr"}
#: a fraction whose numerator is wider than this, over a short denominator, is
#: written 1/den (...) so that it can be broken (a Hessian's \frac{...}{10} ran 700 pt)
_WIDE_NUMERATOR = 24.0
#: commands whose scripts are set below them, not beside (in display style)
_BELOW = (r"\underbrace", r"\sum", r"\prod")
_SPACING = (r"\;", r"\,", r"\:", r"\quad", r"\qquad")
_SPACES = {"quad": 2.0, "qquad": 4.0, ";": 0.6, ",": 0.35, ":": 0.5, "!": -0.3, " ": 0.5}
_TEXT_LIKE = {"operatorname", "text", "textbf", "mathrm"}

_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


@dataclass(frozen=True)
class _Piece:
    """A piece of the formula that is never broken inside: an atom with its scripts
    (x_{1}^{T}, \\frac{a}{b}), an operator, or one side of a pair of delimiters."""

    text: str
    kind: str  # "atom", "op", "open", "close", "punct", "prefix"
    width: float
    spaced: bool  # written after white space (a break there reads as written)
    closer: str = ""  # for \left(: what closes it at a row's end (\right.)
    opener: str = ""  # for \left(: what reopens it at the next row's start (\left.)


def width(text: str) -> float:
    """The typeset width of a LaTeX formula, in italic letters (roughly)."""
    return sum(piece.width for piece in _pieces(text))


def fits(text: str, room: float = ROW_WIDTH) -> bool:
    return width(text) <= room


def break_rows(text: str, room: float = ROW_WIDTH) -> list[str]:
    """``text`` as rows of at most ``room`` letters where it can be broken (the first
    row has ``room``, the others ``room`` less an indent); each row valid LaTeX.

    The breaks are chosen together, as TeX breaks paragraphs: each costs by how deep
    in parentheses it is and what it is between (terms, ⊗/∘ operands, factors), each
    row by its count and how much of its room it leaves empty, a row past its room
    far more; the cheapest set of breaks wins."""
    pieces = _pieces(text)
    if sum(p.width for p in pieces) <= room:
        return [text]
    stacks, partners = _open_stacks(pieces)
    ends = [
        k
        for k in range(1, len(pieces))
        if _breakable(pieces[k - 1], pieces[k]) and not _sealed(pieces, stacks, partners, k)
    ]
    ends.append(len(pieces))
    starts = [0, *ends[:-1]]
    reach = [0.0]  # reach[k]: the width of pieces[:k]
    for piece in pieces:
        reach.append(reach[-1] + piece.width)
    best: dict[int, tuple[float, int]] = {0: (0.0, -1)}  # end -> (cost, start of its row)
    for index, end in enumerate(ends):
        options = []
        for start in reversed(starts[: index + 1]):  # the breaks before end, nearest first
            space = room - (_INDENT if start else 0.0)
            used = reach[end] - reach[start]
            options.append((best[start][0] + _cost(pieces, stacks, end, used, space), start))
            if used > space:  # a longer row from further back is past its room too
                break
        best[end] = min(options)
    rows, end = [], len(pieces)
    while end > 0:
        start = best[end][1]
        rows.append(_row_text(pieces, stacks, partners, start, end))
        end = start
    return rows[::-1]


def _cost(
    pieces: list[_Piece], stacks: list[tuple[int, ...]], end: int, used: float, space: float
) -> float:
    """A row ending at ``end``: its break (the deeper in parentheses the dearer, by the
    square of the depth: three rows read better than a break two deep; a
    break between terms cheaper than around ⊗ or ∘, cheaper than between factors), its
    empty room (not the last row's), and its excess over its room."""
    if used > space:
        return 1000.0 + 100.0 * (used - space)
    if end == len(pieces):
        return 4.0
    after = pieces[end]
    nature = 0.0 if after.text in ("+", "-") else 1.5 if after.kind == "op" else 3.0
    empty = (space - used) / space
    return 4.0 + 6.0 * len(stacks[end]) ** 2 + nature + 8.0 * empty * empty


def _breakable(before: _Piece, after: _Piece) -> bool:
    """A break between two pieces: where the printer put white space or before an
    operator, never after an operator, an opening delimiter, a Σ, a number, a comma or
    a space, nor before a closing delimiter or a comma, nor beside an =."""
    if before.kind in ("op", "open", "prefix", "punct") or after.kind in ("close", "punct"):
        return False
    if "=" in (before.text, after.text) or before.text in _SPACING:
        return False  # a headline's ", \; v_{3} = ...": verify reads each name = value
    if before.text[:1].isdigit():  # 2 diag(u): a number stays with what it scales
        return False
    return after.spaced or after.kind == "op"


def _open_stacks(pieces: list[_Piece]) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    """For each position (before piece k, and the end), the open delimiters around it,
    outermost first; and each delimiter's partner (open to close and back)."""
    stacks: list[tuple[int, ...]] = []
    stack: list[int] = []
    partners: dict[int, int] = {}
    for k, piece in enumerate(pieces):
        stacks.append(tuple(stack))
        if piece.kind == "open":
            stack.append(k)
        elif piece.kind == "close" and stack:
            partners[k] = stack[-1]
            partners[stack.pop()] = k
    stacks.append(tuple(stack))
    return stacks, partners


def _sealed(
    pieces: list[_Piece], stacks: list[tuple[int, ...]], partners: dict[int, int], k: int
) -> bool:
    """Whether a break before piece k is inside a brace group with a script ({x y}^{T}):
    its braces could not be dropped (see ``_row_text``)."""
    return any(pieces[j].text == "{" and pieces[partners.get(j, j)].text != "}" for j in stacks[k])


def _row_text(
    pieces: list[_Piece],
    stacks: list[tuple[int, ...]],
    partners: dict[int, int],
    start: int,
    end: int,
) -> str:
    r"""Pieces start to end as a row: \left( ... \right. and \left. ... \right) where
    a pair is broken; a brace group broken across rows (\tanh{\left( ... \right)}, as
    SymPy writes it) loses its braces, which group nothing there."""
    reopened = "".join(pieces[k].opener for k in stacks[start])
    body = ""
    for k in range(start, end):
        piece = pieces[k]
        if piece.text in ("{", "}") and not start <= partners.get(k, k) < end:
            continue
        body += (" " if piece.spaced and body else "") + piece.text
    closed = "".join(pieces[k].closer for k in reversed(stacks[end]))
    return f"{reopened}{body}{closed}"


# -- reading the formula into pieces --------------------------------------------------


def _pieces(text: str) -> list[_Piece]:
    reader = _Reader(text)
    pieces: list[_Piece] = []
    while True:
        spaced = reader.skip_space()
        if reader.done():
            return pieces
        piece = reader.piece(spaced, pieces[-1] if pieces else None)
        if piece.kind == "script" and pieces:  # x^{T}, \right)_{\circ}: part of it
            last = pieces[-1]
            below = last.text.startswith(_BELOW)  # \underbrace{...}_{n \times 1}, \sum_{k}
            pieces[-1] = _Piece(
                last.text + piece.text,
                last.kind,
                max(last.width, piece.width) if below else last.width + piece.width,
                last.spaced,
                last.closer,
                last.opener,
            )
        elif piece.kind == "unfold":  # its own pieces: breakable inside
            unfolded = _pieces(piece.text)
            pieces.append(replace(unfolded[0], spaced=piece.spaced))
            pieces.extend(unfolded[1:])
        else:
            pieces.append(piece)


class _Reader:
    """A cursor over LaTeX source as ``tex_printer`` writes it."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def done(self) -> bool:
        return self.at >= len(self.text)

    def skip_space(self) -> bool:
        start = self.at
        while not self.done() and self.text[self.at].isspace():
            self.at += 1
        return self.at > start

    def group(self) -> tuple[str, float]:
        """A brace group {...} or one token, with the width of what it holds."""
        self.skip_space()
        if self.done():
            return "", 0.0
        if self.text[self.at] != "{":
            start = self.at
            piece = self.piece(False, None)
            return self.text[start : self.at], piece.width
        depth, start = 0, self.at
        while not self.done():
            char = self.text[self.at]
            if char == "\\":
                self.at += 2
                continue
            depth += {"{": 1, "}": -1}.get(char, 0)
            self.at += 1
            if depth == 0:
                break
        inner = self.text[start + 1 : self.at - 1]
        return self.text[start : self.at], width(inner)

    def piece(self, spaced: bool, previous: _Piece | None) -> _Piece:
        text, start = self.text, self.at
        char = text[start]
        if char in "^_":
            self.at += 1
            _, inner = self.group()
            return _Piece(text[start : self.at], "script", 0.7 * inner, spaced)
        if char == "'":
            self.at += 1
            return _Piece("'", "script", 0.3, spaced)
        if char == "{":
            self.at += 1
            return _Piece("{", "open", 0.0, spaced)
        if char == "}":
            self.at += 1
            return _Piece("}", "close", 0.0, spaced)
        if char in "+-=<>":
            self.at += 1
            unary = previous is None or previous.kind in ("open", "op", "punct", "prefix")
            return _Piece(char, "atom" if unary else "op", 1.6 if unary else 2.5, spaced)
        if char in ",;":
            self.at += 1
            return _Piece(char, "punct", 0.8, spaced)
        if char == "\\":
            return self._command(spaced)
        if char.isdigit() or char == ".":
            match = re.match(r"[0-9.]+", text[start:])
            self.at += len(match.group(0)) if match else 1
            return _Piece(text[start : self.at], "atom", 1.0 * (self.at - start), spaced)
        self.at += 1
        return _Piece(char, "atom", _letter(char), spaced)

    def _command(self, spaced: bool) -> _Piece:
        start = self.at
        match = _COMMAND.match(self.text, start)
        name = match.group(1) if match else self.text[start + 1 : start + 2]
        self.at = match.end() if match else start + 2
        if name in ("left", "right"):
            delimiter = _COMMAND.match(self.text, self.at)
            self.at = delimiter.end() if delimiter else self.at + 1
            shown = self.text[start : self.at]
            size = 0.0 if shown.endswith(".") else 0.8
            if name == "left":
                return _Piece(shown, "open", size, spaced, closer=r"\right.", opener=r"\left.")
            return _Piece(shown, "close", size, spaced)
        if name == "begin":  # \begin{matrix} ... \end{matrix}: one piece
            end = self.text.find(r"\end{", self.at)
            close = self.text.find("}", end) if end >= 0 else -1
            self.at = close + 1 if close >= 0 else len(self.text)
            return _Piece(self.text[start : self.at], "atom", 8.0, spaced)
        if name in _OPERATORS:
            return _Piece(self.text[start : self.at], "op", _OPERATORS[name], spaced)
        if name in _SPACES:
            return _Piece(self.text[start : self.at], "atom", _SPACES[name], spaced)
        if name in _TWO_ARGUMENTS:
            numerator, top = self.group()
            denominator, bottom = self.group()
            if name == "frac" and top > _WIDE_NUMERATOR and bottom <= 4:
                # \frac{long product}{10}, which no break can enter: \frac{1}{10} (...)
                return _Piece(
                    rf"\frac{{1}}{denominator} \left({numerator[1:-1]}\right)",
                    "unfold",
                    top,
                    spaced,
                )
            return _Piece(self.text[start : self.at], "atom", max(top, bottom) + 0.4, spaced)
        if name in _ONE_ARGUMENT:
            held, inner = self.group()
            if name in _TEXT_LIKE:
                inner = 1.0 * len(re.sub(r"\\[A-Za-z]+|[{}]", "", held))
            return _Piece(self.text[start : self.at], "atom", inner, spaced)
        kind = "prefix" if name in _PREFIXES else "atom"
        size = 2.0 if kind == "prefix" else 1.0 * len(name) if len(name) > 1 else 1.0
        if name in _FUNCTIONS:  # \tanh x: an operator's thin space after it
            size += 0.6
        if len(name) > 1 and name in _GREEK:
            size = 1.0
        return _Piece(self.text[start : self.at], kind, size, spaced)


def _letter(char: str) -> float:
    """The width of a character: capitals are wider than small letters (W 9 pt, x 6)."""
    if char in "()[]|":
        return 0.8
    return 1.6 if char.isupper() else 1.1 if char.isalpha() else 1.0


_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
    "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
    "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega", "partial", "nabla", "ell",
    "infty", "lVert", "rVert", "top", "hbar", "imath", "jmath", "lfloor", "rfloor",
    "dagger",
}  # fmt: skip
