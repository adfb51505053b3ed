"""The grammar of the Unicode notation matderiv prints, for lark's LALR parser, and
its vocabulary: sub- and superscript characters, accents, the function names.

Operators bind, loosest first: ``+ -``; unary ``-``; ``⊗``; the product
(juxtaposition, ``·``, ``/`` by a scalar); ``∘ ⊘``; superscripts (ᵀ ⁻¹ ⁻ᵀ ²
⁻² ^k ^∘k ∘²).  Sums and signs are the LaTeX grammar's (``SUMS``).  Sized
constants take their sizes in braces or as a subscript: ``I_{n}``, ``K_{m,n}``,
``vec⁻¹_{m×n}(v)``, ``𝟏_n``, ``𝟏₃``, ``𝟏_{m×n}``, ``𝟎_{m×n}`` (``I_n`` is a
NAME, looked up as the identity).
"""

from __future__ import annotations

import sympy as sp

from ..render.unicode import _SUPERSCRIPTS, ONES, ZEROS
from ..render.unicode_names import MAX_ACCENTS
from ..softmax_nodes import ALONG_AXES
from .expr_grammar import ELEMENTWISE
from .latex_grammar import BAR_CLOSE, BAR_OPEN, NORM_CLOSE, NORM_OPEN, NORM_SUB, SUMS
from .printed_names import FROM_ACCENT, SUBSCRIPT_LETTERS

SUPERSCRIPT_DIGITS = "".join(chr(c) for c in _SUPERSCRIPTS.values())
FROM_SUPERSCRIPT = {chr(v): chr(k) for k, v in _SUPERSCRIPTS.items()} | {"⁻": "-"}
_ACCENTED = f"[{''.join(FROM_ACCENT)}]{{0,{MAX_ACCENTS}}}"  # h̄, ā̇: stacked accents

_SUP = f"⁻?[{SUPERSCRIPT_DIGITS}]+"
_RATIONAL = r"-?[0-9]+(?:\.[0-9]+|\/[0-9]+)?"  # \/: lark regexes end at /
_EXPONENT = rf"(?:{_RATIONAL}|\(\s*{_RATIONAL}\s*\)|{_SUP})"
_POW = rf"(?:-?[0-9]+(?:\.[0-9]+)?|\(\s*{_RATIONAL}\s*\))"  # x**2/3 is (x**2)/3
_LETTER = "A-Za-zΑ-Ωα-ω"
_NAMED = f"[{_LETTER}][{_LETTER}0-9_{SUBSCRIPT_LETTERS}]*"  # X^∘s: a scalar's name
_POSTOP = (
    rf"ᵀ|⁻ᵀ|{_SUP}|(?:\^∘?|∘\^)\s*{_EXPONENT}|(?:\^∘|∘\^)\s*{_NAMED}|∘{_SUP}"
    rf"|\^\s*T(?![A-Za-z0-9])|\*\*\s*{_POW}"
)

ENTRYWISE = {
    "Abs": sp.Abs,
    "sign": sp.sign,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tan": sp.tan,
    **{word: make() for word, make in ELEMENTWISE.items()},
    "σ": ELEMENTWISE["sigmoid"](),  # as printed; σ before "(" is the sigmoid
    "ψ": ELEMENTWISE["digamma"](),  # ψ(x), the digamma function
}
STRUCTURAL = ("vec", "diag", "tr", "det", "softmax", "logsumexp", *ALONG_AXES, "exp", "log")
STRUCTURAL += ("tanh",)
MATRIX_ONLY = ("vec", "diag", "softmax", "logsumexp", *ALONG_AXES)
MANY = {"Max": sp.Max, "Min": sp.Min}
FUNCTIONS = sorted({*ENTRYWISE, *STRUCTURAL, *MANY})

GRAMMAR = rf"""{SUMS}
?kron: product (OTIMES product)*
?product: hadamard ((MULOP | DIVOP)? hadamard)*
?hadamard: postfix ((CIRC | OSLASH) postfix)*
?postfix: primary
        | primary POSTOP+ -> postfix
        | primary HPOW _LPAR sum _RPAR -> hadamard_power
        | primary POW _LPAR sum _RPAR -> scalar_power
        | primary POW NAME -> scalar_power
?primary: NAME -> name
        | NUMBER -> number
        | FUNC _LPAR sum (_COMMA sum)* _RPAR -> call
        | _LPAR sum _RPAR
        | IDENTITY dim _RBRACE -> identity
        | CONSTANT dim (_BY dim)? _RBRACE -> constant
        | CONSTANT_SIZED -> constant_sized
        | COMMUTATION dim _COMMA dim _RBRACE -> commutation
        | RESHAPE dim _BY dim _RBRACE _LPAR sum _RPAR -> reshape
        | _LPAR NAME _MAPSTO sum _RPAR CIRC _LPAR sum _RPAR -> apply
        | LBAR sum RBAR -> bars
        | LNORM sum RNORM NORM_SUB? -> norm
        | ROOT primary -> root

?dim: dim_product
    | dim ADDOP dim_product -> dim_add
?dim_product: dim_power
    | dim_product MULOP? dim_power -> dim_mul
?dim_power: dim_atom
    | dim_atom POSTOP -> dim_power
?dim_atom: NAME -> dim_name
    | NUMBER -> dim_number
    | _LPAR dim _RPAR

ADDOP: "+" | "-"
MULOP: "·"
DIVOP: "/"
OTIMES: "⊗"
CIRC: "∘"
OSLASH: "⊘"
ROOT: "√"
HPOW: "^∘"
POW: "^"
POSTOP.3: /{_POSTOP}/
FUNC.3: /(?:{"|".join(sorted(FUNCTIONS, key=len, reverse=True))})(?=\s*\()/
IDENTITY.4: "I_{{"
CONSTANT.4: /[{ONES}{ZEROS}]_\{{/
CONSTANT_SIZED.4: /[{ONES}{ZEROS}](?:_[A-Za-z0-9]+|[{SUBSCRIPT_LETTERS}]+)/
COMMUTATION.4: "K_{{"
RESHAPE.4: "vec⁻¹_{{"
NAME: /[{_LETTER}]{_ACCENTED}(?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*[{SUBSCRIPT_LETTERS}]*/
NUMBER: /[0-9]*[½⅓⅔¼¾]|[0-9]+(?:\.[0-9]+)?|\.[0-9]+/
_LPAR: "("
_RPAR: ")"
_RBRACE: "}}"
_COMMA: ","
_BY: "×"
_MAPSTO: "↦"
LBAR: "{BAR_OPEN}"
RBAR: "{BAR_CLOSE}"
LNORM: "{NORM_OPEN}"
RNORM: "{NORM_CLOSE}"
NORM_SUB.3: /{NORM_SUB}|[₁₂]/
%ignore /\s+/
"""

# How each terminal reads in "expected ..." messages.
TERMINAL_NAMES = {
    "ADDOP": "'+' or '-'",
    "MULOP": "'·'",
    "DIVOP": "'/'",
    "OTIMES": "'⊗'",
    "CIRC": "'∘'",
    "OSLASH": "'⊘'",
    "ROOT": "'√'",
    "POSTOP": "a superscript (ᵀ, ⁻¹, ², ^k, ^∘k)",
    "HPOW": "^∘",
    "POW": "^",
    "FUNC": "a function (vec, diag, tr, det, exp, ...)",
    "IDENTITY": "I_{n}",
    "CONSTANT": f"{ONES}_{{m×n}}",
    "CONSTANT_SIZED": f"{ONES}_n",
    "COMMUTATION": "K_{m,n}",
    "RESHAPE": "vec⁻¹_{m×n}",
    "NAME": "a symbol",
    "NUMBER": "a number",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_RBRACE": "'}'",
    "_COMMA": "','",
    "_BY": "'×'",
    "_MAPSTO": "'↦'",
    "LBAR": "'|'",
    "RBAR": "'|'",
    "LNORM": "'‖'",
    "RNORM": "'‖'",
    "NORM_SUB": "_F, _1 or _2",
    "$END": "the end of the formula",
}
