"""Symbol names made safe for LaTeX: a name is the user's text, and LaTeX gives
meaning to # $ % & { } ~ \\ and has no glyph for most non-ASCII letters.

``escape`` keeps ``_`` and ``^`` (SymPy reads them as sub- and superscripts),
escapes LaTeX's special characters, writes Greek letters as their macros
(α → \\alpha) and accented Latin letters as accents over the letter
(ĥ → \\hat{h}, β̂ → \\hat{\\beta}); any other character becomes its code point, so
the document still compiles.  A name written in LaTeX (``\\hat{\\beta}``) is kept.
"""

from __future__ import annotations

import re
import unicodedata

from ..parse.latex_grammar import ACCENTS, GREEK_LETTERS

_SPECIAL = {
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "\\": r"\textbackslash{}",
}
#: combining mark -> LaTeX math accent
_ACCENTS = {
    "\u0302": "hat",
    "\u0303": "tilde",
    "\u0304": "bar",
    "\u0307": "dot",
    "\u0308": "ddot",
    "\u0301": "acute",
    "\u0300": "grave",
    "\u0306": "breve",
    "\u030c": "check",
    "\u20d7": "vec",
}
#: Greek capitals that look like Latin letters have no macro of their own
_GREEK_AS_LATIN = {"ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z", "ETA": "H",
                   "IOTA": "I", "KAPPA": "K", "MU": "M", "NU": "N", "OMICRON": "O",
                   "RHO": "P", "TAU": "T", "CHI": "X"}  # fmt: skip


#: a name already written as LaTeX groups its sub- or superscript: h_{t}, x_{t-1}
_GROUPED = re.compile(r"[^{}_^]+(?:_\{[^{}_^]*\})?(?:\^\{[^{}_^]*\})?")


#: a name written in LaTeX, kept as it is: \hat{\beta}, \mathbf{x}_{1}, \tilde{W}
_WRITTEN_IN_LATEX = re.compile(r"(?:\\[A-Za-z]+ ?|[A-Za-z0-9_^{}',]| (?=\\))+")


def escape(name: str) -> str:
    """``name`` with every character LaTeX would misread written for LaTeX; the braces
    of a grouped subscript, h_{t}, are kept (escaped, they printed as h{t}); a name
    written in LaTeX (\\hat{\\beta}) is kept; a combining accent is put over the
    character before it (β̂ → \\hat{\\beta}, which has no single character)."""
    name = unicodedata.normalize("NFC", name)
    if "\\" in name and _written_in_latex(name):
        return name
    keep = {"{", "}"} if "{" in name and _GROUPED.fullmatch(name) else set()
    out: list[str] = []
    for c in name:
        if c in _ACCENTS and out:
            out[-1] = rf"\{_ACCENTS[c]}{{{out[-1].rstrip()}}}"
        else:
            out.append(c if c in keep else _character(c))
    return "".join(out)


#: the commands a name written in LaTeX may use: those amsmath's documents have
_KEPT_COMMANDS = {
    *GREEK_LETTERS,
    *ACCENTS,
    *[
        "vec",
        "acute",
        "grave",
        "breve",
        "mathbf",
        "mathrm",
        "mathit",
        "mathcal",
        "mathsf",
        "boldsymbol",
    ],
    *["prime", "ell"],  # not \\text{x_1} nor \\operatorname: their _ is text
}


def _written_in_latex(name: str) -> bool:
    commands = set(re.findall(r"\\([A-Za-z]+)", name))
    return (
        bool(_WRITTEN_IN_LATEX.fullmatch(name)) and _balanced(name) and commands <= _KEPT_COMMANDS
    )


def _balanced(name: str) -> bool:
    depth = 0
    for c in name:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _character(c: str) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    if c.isascii():
        return c
    greek = _greek(c)
    if greek is not None:
        return greek
    decomposed = unicodedata.normalize("NFD", c)
    base, marks = decomposed[0], decomposed[1:]
    if base.isascii() and marks and all(m in _ACCENTS for m in marks):
        out = base
        for mark in marks:
            out = rf"\{_ACCENTS[mark]}{{{out}}}"
        return out
    return rf"\text{{U+{ord(c):04X}}}"


def _greek(c: str) -> str | None:
    words = unicodedata.name(c, "").split()
    if words[:2] not in (["GREEK", "SMALL"], ["GREEK", "CAPITAL"]) or words[2:3] != ["LETTER"]:
        return None
    letter = " ".join(words[3:])
    if not letter.isalpha():  # FINAL SIGMA, letters with accents: no macro
        return None
    letter = "LAMBDA" if letter == "LAMDA" else letter  # Unicode's spelling
    if words[1] == "SMALL" and letter == "OMICRON":
        return "o"
    if words[1] == "CAPITAL":
        latin = _GREEK_AS_LATIN.get(letter)
        return latin if latin is not None else f"\\{letter.capitalize()} "
    return f"\\{letter.lower()} "
