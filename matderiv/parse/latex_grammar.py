"""The grammar of LaTeX matrix formulas, for lark's LALR parser.

Operators bind, loosest first: ``+ -``; unary ``-``; ``\\otimes \\odot \\circ
\\oslash`` (left to right); the matrix product (juxtaposition, ``\\cdot``,
``\\times``, ``*``, ``/`` by a scalar); a function applied without parentheses
(``\\log\\det X``); super- and subscripts and primes.  A symbol's name,
subscript and superscripts are one token (NAME), split again by ``latex.py``.
The regular expressions below are shared with that splitter.
"""

from __future__ import annotations

from functools import cache

from lark import Lark

from ..softmax_nodes import ALONG_AXES

#: levels of braces a braced group may nest (e^{e^{a^{T} x}} has three)
BRACE_DEPTH = 8


def _braced(depth: int) -> str:
    """A braced group with up to ``depth`` levels of braces: {n_{h}}, {\\mathrm{in}},
    e^{\\tanh{\\left(a^{T} x\\right)}}'s exponent.  (Python's re has no recursion;
    the alternatives never overlap, so matching does not backtrack.)"""
    inner = r"[^{}]*"
    for _ in range(depth - 1):
        inner = rf"(?:[^{{}}]|\{{{inner}\}})*"
    return rf"\{{{inner}\}}"


BRACED = _braced(BRACE_DEPTH)
# Subscripts: W_{hx}, h_1, W_hx (W_{hx} if that name exists, else LaTeX's W_h x).
SUB = rf"_\s*(?:{BRACED}|\\[A-Za-z]+|[A-Za-z0-9]+)"
SUP = rf"\^\s*(?:{BRACED}|\\[A-Za-z]+|-\s*[1T](?![A-Za-z0-9])|[A-Za-z0-9*])"

GREEK_LETTERS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "varpi",
    "rho",
    "varrho",
    "sigma",
    "varsigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "ell",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
]
STYLES = [
    "mathbfit",
    "mathbf",
    "boldsymbol",
    "bm",
    "pmb",
    "bold",
    "mathrm",
    "mathit",
    "mathsf",
    "mathcal",
    "mathbb",
    "mathscr",
    "textbf",
    "textit",
    "textrm",
    "textsf",
    "text",
    "vec",
]
GREEK = r"\\(?:" + "|".join(GREEK_LETTERS) + r")(?![A-Za-z])"
STYLED = r"\\(?:" + "|".join(STYLES) + rf")(?![A-Za-z])\s*(?:{BRACED}|[A-Za-z0-9]|\\[A-Za-z]+)"
LETTERS = r"[A-Za-z]+[0-9]*"
#: the vulgar fractions read as numbers: ½ is 1/2, 2½ two and a half
FRACTIONS = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4)}

#: accents over a letter are part of its name, as SymPy names them: \bar{h} is hbar
#: (matderiv's adjoints h̄ₜ), \dot{\bar{h}} is hbardot; nested at most twice
ACCENTS = ["bar", "overline", "dot", "ddot", "tilde", "widetilde", "hat", "widehat", "check"]
ACCENT = r"\\(?:" + "|".join(ACCENTS) + r")(?![A-Za-z])"
_ACCENTED_1 = rf"{ACCENT}\s*\{{\s*(?:{GREEK}|[A-Za-z])\s*\}}"
ACCENTED = rf"{ACCENT}\s*\{{\s*(?:{_ACCENTED_1}|{GREEK}|[A-Za-z])\s*\}}"
NAME_BASE = rf"(?:{ACCENTED}|{STYLED}|{GREEK}|{LETTERS}|1(?=\s*_))"
NAME = rf"{NAME_BASE}(?:\s*(?:{SUB}|{SUP}))*"

# Functions: the words, spelled \operatorname{w}, \mathrm{w}, \text{w}, \w or w( ... ).
FUNCTION_WORDS = [
    "vec",
    "diag",
    "tr",
    "Tr",
    "trace",
    "det",
    "log",
    "ln",
    "exp",
    "tanh",
    "sigmoid",
    "sigma",
    *ALONG_AXES,
    "softmax",
    "logsumexp",
    "relu",
    "ReLU",
    "softplus",
    "step",
    "abs",
    "sign",
    "sgn",
    "sin",
    "cos",
    "sinh",
    "cosh",
    "sech",
    "sqrt",
    "loggamma",
    "lgamma",
    "gammaln",
    "digamma",
    "trigamma",
    "erf",
    "erfc",
]
_WORDS = "|".join(sorted(FUNCTION_WORDS, key=len, reverse=True))
_OPEN_PAREN = r"(?=\s*(?:\\(?:left|bigl|Bigl|big|Big)(?![A-Za-z])\s*)?[(\[])"
# \operatorname{softmax}_{\mathrm{rows}}: a softmax (logsumexp) along an axis, as printed
_AXIS_WORD = r"\\(?:mathrm|text|textrm|rm)\s*\{\s*(?:rows|cols)\s*\}"
_ALONG_AXIS = (  # _{\mathrm{rows}}, _{rows}, _\text{rows}
    r"\\(?:operatorname|mathrm|text|textrm|rm)\s*\{\s*(?:softmax|logsumexp)\s*\}\s*_\s*"
    rf"(?:\{{\s*(?:{_AXIS_WORD}|rows|cols)\s*\}}|{_AXIS_WORD})"
)
FUNC = (
    rf"{_ALONG_AXIS}|"
    rf"\\(?:log|ln)\s*\\Gamma{_OPEN_PAREN}|"  # before \log: log Γ(x)
    rf"\\(?:operatorname|mathrm|text|textrm|rm)\s*\{{\s*(?:{_WORDS})\s*\}}"
    rf"|\\(?:det|log|ln|exp|tanh|sinh|cosh|sech|sin|cos|tr|Tr|trace|sigmoid|softmax|logsumexp"
    rf"|sgn)(?![A-Za-z])"
    rf"|\\(?:vec|diag|sigma|psi){_OPEN_PAREN}"
    rf"|\\psi\s*'{_OPEN_PAREN}"
    rf"|(?<![A-Za-z\\])(?:{_WORDS}){_OPEN_PAREN}"
)

# vec⁻¹_{m×n}, as matderiv prints it: \operatorname{vec}^{-1}_{m \times n}(v)
UNVEC = (
    r"\\(?:operatorname|mathrm|text|textrm|rm)\s*\{\s*vec\s*\}\s*"
    rf"\^\s*\{{\s*-\s*1\s*\}}\s*_\s*(?P<sizes>{BRACED})"
)

# Bars |X| are paired before lexing and replaced by these two private-use characters,
# double bars (norms: \|x\|, \lVert x \rVert, ‖x‖) by the next two.
BAR_OPEN, BAR_CLOSE = "\ue000", "\ue001"
NORM_OPEN, NORM_CLOSE = "\ue002", "\ue003"
# after a norm: _F (Frobenius), _2 (Euclidean, of a vector) or _1 (sum of |entries|);
# other subscripts (_\infty, _*, _p, _{max}) are read to be refused by name
NORM_SUB = (
    r"_\s*(?:\{\s*[F12]\s*\}|[F12])(?![A-Za-z0-9])"
    # right after the mark of a closing ‖ (‖, \| or \rVert, padded with spaces)
    rf"|(?:(?<={NORM_CLOSE})|(?<={NORM_CLOSE} )|(?<={NORM_CLOSE}     ))"
    r"_\s*(?:\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z0-9*∞])"
)

SKIP = (
    r"(?:\s|~|&|\\\\|\\[,;:! ]|\\q?quad(?![A-Za-z])"
    r"|\\(?:left|right|middle|[bB]igg?[lr]?|displaystyle|textstyle|nonumber)(?![A-Za-z]))+"
)

# The top of both grammars, this one and unicode.py's: Builder.sum and .signed build it.
SUMS = r"""
?start: sum

?sum: term (ADDOP term)*
?term: ADDOP term -> signed
     | kron
"""

GRAMMAR = rf"""{SUMS}
?kron: product (KRONOP product)*
?product: factor ((MULOP | DIVOP)? factor)*
?factor: postfix
       | FUNC bare_arg -> bare_call
?bare_arg: bare_postfix
         | FUNC bare_arg -> call
?postfix: primary
        | primary (SUP | PRIME)+ -> postfix
?bare_postfix: bare_primary
             | bare_primary (SUP | PRIME)+ -> postfix
?primary: bare_primary
        | group
?bare_primary: NAME -> name
             | NUMBER -> number
             | FUNC group -> call
             | FUNC _APPLY group -> call
             | FUNC SUP group -> call_power
             | UNVEC group -> unvec
             | _LPAR NAME _MAPSTO sum _RPAR _APPLY group -> mapsto
             | FRAC _LBRACE sum _RBRACE _LBRACE sum _RBRACE -> frac
             | FRAC_DIGITS -> frac_digits
             | SQRT _LBRACE sum _RBRACE -> sqrt
             | SQRT _LBRACK NUMBER _RBRACK _LBRACE sum _RBRACE -> root
             | LBAR sum RBAR -> bars
             | LNORM sum RNORM NORM_SUB? -> norm
?group: _LPAR sum _RPAR
      | _LBRACK sum _RBRACK
      | _LBRACE sum _RBRACE
      | _LESC sum _RESC

ADDOP: "+" | "-"
KRONOP.3: /\\(?:otimes|odot|circ|oslash)(?![A-Za-z])/
MULOP.3: /\\(?:cdot|times|ast)(?![A-Za-z])|\*/
DIVOP: "/"
SUP.2: /{SUP}/
PRIME: "'"
FRAC_DIGITS.4: /\\[dt]?frac\s*[0-9]\s*[0-9]/
FRAC.3: /\\[dt]?frac(?![A-Za-z])/
SQRT.3: /\\sqrt(?![A-Za-z])/
FUNC.4: /{FUNC}/
UNVEC.5: /{UNVEC}/
_MAPSTO.3: /\\mapsto(?![A-Za-z])/
_APPLY.3: /_\s*\{{\s*\\circ\s*\}}/
NAME.2: /{NAME}/
NUMBER: /(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:e[-+][0-9]+)?/
_LPAR: "("
_RPAR: ")"
_LBRACK: "["
_RBRACK: "]"
_LESC.3: "\\{{"
_RESC.3: "\\}}"
_LBRACE: "{{"
_RBRACE: "}}"
LBAR: "{BAR_OPEN}"
RBAR: "{BAR_CLOSE}"
LNORM: "{NORM_OPEN}"
RNORM: "{NORM_CLOSE}"
NORM_SUB.3: /{NORM_SUB}/
SKIP.5: /{SKIP}/
%ignore SKIP
"""

# How each terminal reads in "expected ..." messages.
TERMINAL_NAMES = {
    "ADDOP": "'+' or '-'",
    "KRONOP": r"\otimes or \odot",
    "MULOP": r"\cdot",
    "DIVOP": "'/'",
    "SUP": "a superscript",
    "PRIME": "a prime (')",
    "FRAC_DIGITS": r"\frac",
    "FRAC": r"\frac",
    "SQRT": r"\sqrt",
    "FUNC": r"a function (\operatorname{vec}, \det, \log ...)",
    "UNVEC": r"\operatorname{vec}^{-1}_{m \times n}",
    "_MAPSTO": r"\mapsto",
    "_APPLY": r"_{\circ}",
    "NAME": "a symbol",
    "NUMBER": "a number",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LBRACK": "'['",
    "_RBRACK": "']'",
    "_LESC": r"'\{'",
    "_RESC": r"'\}'",
    "_LBRACE": "'{'",
    "_RBRACE": "'}'",
    "LBAR": "'|'",
    "RBAR": "'|'",
    "LNORM": r"'\|'",
    "RNORM": r"'\|'",
    "NORM_SUB": "_F, _1 or _2",
    "$END": "the end of the formula",
}


@cache
def lalr_parser(grammar: str) -> Lark:
    """An LALR parser of ``grammar``, built once (building one takes about 50 ms)."""
    return Lark(grammar, parser="lalr", lexer="basic", strict=False)


def latex_parser() -> Lark:
    return lalr_parser(GRAMMAR)
