"""Names as matderiv prints them, read back as the names they print for: Wₕₓ is W_hx,
h̄₁ is hbar_1 (or h1bar, the CLI's h1's adjoint), μ₁ is mu_1.  Shared by the Unicode
notation and matderiv's syntax, which reads printed names beside its operators
(``h0 @ ā₁ᵀ``)."""

from __future__ import annotations

import re

from ..render.unicode_names import _ACCENTS, _SUBSCRIPT_CHARS, FROM_GREEK

SUBSCRIPT_LETTERS = "".join(_SUBSCRIPT_CHARS.values())
FROM_SUBSCRIPT = {v: k for k, v in _SUBSCRIPT_CHARS.items()}
FROM_ACCENT = {mark: word for word, mark in _ACCENTS.items()}


def ascii_name(text: str) -> tuple[str, str | None]:
    """(base, subscript) of a printed name: Wₕₓ → ("W", "hx"), h̄₁ → ("hbar", "1"),
    h̄1 → ("h1bar", None) (the adjoint of the CLI's h1), ā̇ → ("abardot", None)."""
    base = text.rstrip(SUBSCRIPT_LETTERS)
    sub = "".join(FROM_SUBSCRIPT[c] for c in text[len(base) :])
    first, after = base[:1], base[1:]
    marks = len(after) - len(after.lstrip("".join(FROM_ACCENT)))
    accents = "".join(FROM_ACCENT[c] for c in after[:marks])
    rest = after[marks:]
    if first in FROM_GREEK and not rest[:1].isalpha():
        first = FROM_GREEK[first]  # μ₁ is mu_1 and ν̄₃ nubar_3, as printed
    if marks and rest.isascii() and rest.isdecimal():
        base = first + rest + accents
    else:
        base = first + accents + rest
    if "_" in base:
        base, _, written = base.partition("_")
        sub = written + ("_" + sub if sub else "")
    return base, sub or None


def is_printed(name: str) -> bool:
    """Whether ``name`` has a subscript or accent character (h₁, ā)."""
    return any(c in FROM_SUBSCRIPT or c in FROM_ACCENT for c in name)


def other_spelling(name: str) -> str | None:
    """The CLI's spelling of a printed name with a numeric subscript: h_1 (h₁) is also
    h1, abar_1 (ā₁) a1bar, the adjoint of a1; None for other names."""
    found = re.fullmatch(rf"([A-Za-z]+?)((?:{'|'.join(_ACCENTS)})*)_([0-9]+)", name)
    return None if found is None else found[1] + found[3] + found[2]
