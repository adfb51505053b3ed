"""The grammar of matderiv's expression syntax (expr.py) and its function vocabulary.

The syntax is NumPy's (@, *, .T); the operators matderiv prints, ᵀ ∘ ⊗ ⁻¹, are read
too, so a formula may mix them (sum(A ∘ X), Wᵀ @ x).

``ELEMENTWISE`` functions apply entrywise to matrices (and directly to scalars);
``STRUCTURAL`` ones build matderiv's and SymPy's matrix nodes.  The Unicode
front end and the syntax printer (render/syntax.py) share the vocabulary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sympy as sp
from lark import Lark, Token

from ..canon import canonical
from ..named_functions import BODIES, named_function
from ..nodes import CommutationMatrix, Vec, diag
from ..norms import norm
from ..render.unicode_names import FROM_GREEK
from ..softmax_nodes import ALONG_AXES, LogSumExp, Softmax, along_axis
from .printed_names import SUBSCRIPT_LETTERS, ascii_name, is_printed

GRAMMAR = r"""
program: stmt (";" stmt)* ";"?
?stmt: NAME "=" expr          -> assign
     | expr                   -> bare
?expr: sum
?sum: product
    | sum "+" product         -> add
    | sum "-" product         -> sub
?product: unary
    | product "@" unary       -> matmul
    | product "*" unary       -> mul
    | product "∘" unary       -> circ
    | product "⊗" unary       -> kron
    | product "/" unary       -> div
?unary: power
    | "-" unary               -> neg
    | "+" unary
?power: postfix
    | postfix POW unary       -> pow
?postfix: atom
    | postfix ".T"            -> transpose
    | postfix "'"             -> transpose
    | postfix "ᵀ"             -> transpose
    | postfix "⁻¹"            -> inverse
?atom: NUMBER                 -> number
    | NAME                    -> name
    | NAME "(" expr ("," expr)* ")"  -> call
    | "(" expr ")"
POW: "^" | "**"
NAME: /[A-Za-z_\u0391-\u03a9\u03b1-\u03c9]ACCENTS[A-Za-z0-9_]*[SUBSCRIPTS]*/
NUMBER: /[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?/ | /\.[0-9]+([eE][-+]?[0-9]+)?/
%ignore /[ \t\r\n]+/
"""


#: a printed name's accents (h̄, ā̇) and subscripts (h₁): read as the names they print for
GRAMMAR = GRAMMAR.replace("ACCENTS", "[\u0302\u0303\u0304\u0307]{0,3}")
GRAMMAR = GRAMMAR.replace("SUBSCRIPTS", SUBSCRIPT_LETTERS)


def spelled(name: str) -> str:
    """A name that begins with a Greek letter as the name it prints for: Σ is Sigma,
    μ_1 is mu_1 (in the syntax and in --shapes); one with a subscript or accent
    character as printed, h₁ as h_1, ā₁ as abar_1 (``name`` tries a1bar too)."""
    if is_printed(name):
        base, sub = ascii_name(name)
        return f"{base}_{sub}" if sub else base
    return FROM_GREEK[name[0]] + name[1:] if name[:1] in FROM_GREEK else name


def _spelled(token: Token) -> Token:
    return token.update(value=spelled(token.value))


PARSER = Lark(
    GRAMMAR,
    start="program",
    parser="lalr",
    maybe_placeholders=False,
    lexer_callbacks={"NAME": _spelled},
)


#: entrywise functions: applied with applyfunc to matrices, directly to scalars
ELEMENTWISE: dict[str, Callable[[], Any]] = {
    "tanh": lambda: sp.tanh,
    "exp": lambda: sp.exp,
    "log": lambda: sp.log,
    "sqrt": lambda: sp.sqrt,
    "sin": lambda: sp.sin,
    "cos": lambda: sp.cos,
    "sinh": lambda: sp.sinh,
    "cosh": lambda: sp.cosh,
    "sech": lambda: sp.sech,  # sech² is how many write tanh′
    # the gamma family, for likelihoods of counts and proportions
    "loggamma": lambda: sp.loggamma,
    "lgamma": lambda: sp.loggamma,
    "gammaln": lambda: sp.loggamma,
    "digamma": lambda: sp.digamma,
    "trigamma": lambda: sp.trigamma,
    # the error function, of GELU's x Φ(x) = x (1 + erf(x/√2))/2
    "erf": lambda: sp.erf,
    "erfc": lambda: sp.erfc,
    **{name: functools.partial(named_function, name) for name in BODIES},
}


def _ones(rows: Any, cols: Any) -> Any:
    return sp.OneMatrix(rows, cols)


def _sum_entries(a: Any) -> Any:
    """𝟏ᵀ A 𝟏, without a ones factor of size 1 (𝟏ᵀ x for a column x)."""
    rows, cols = a.shape
    factors = [
        *([] if rows == 1 else [_ones(1, rows)]),
        a,
        *([] if cols == 1 else [_ones(cols, 1)]),
    ]
    return sp.MatMul(*factors) if len(factors) > 1 else a


#: structural functions: name -> (number of arguments, constructor)
#: (eye, zeros, ones and commutation take dimensions, the others matrices:
#: DIMENSION_ARGUMENTS)
STRUCTURAL: dict[str, tuple[int, Callable[..., Any]]] = {
    "inv": (1, lambda a: sp.Inverse(a)),
    "tr": (1, lambda a: sp.Trace(a)),
    "trace": (1, lambda a: sp.Trace(a)),
    "det": (1, lambda a: sp.Determinant(a)),
    "logdet": (1, lambda a: sp.log(sp.Determinant(a))),
    "kron": (2, lambda a, b: canonical(sp.KroneckerProduct(a, b))),
    "vec": (1, lambda a: Vec(a)),
    "diag": (1, lambda a: diag(a)),
    "sum": (1, lambda a: _sum_entries(a)),
    "softmax": (1, lambda a: Softmax(a)),
    "eye": (1, lambda n: sp.Identity(n)),
    "zeros": (2, lambda rows, cols: sp.ZeroMatrix(rows, cols)),
    "ones": (2, lambda rows, cols: sp.OneMatrix(rows, cols)),
    "commutation": (2, lambda m, n: CommutationMatrix(m, n)),
    "logsumexp": (1, lambda a: LogSumExp(a)),
    "norm": (1, lambda a: norm(a)),
    **{name: (1, along_axis(name)) for name in ALONG_AXES},
}

#: what a second argument was meant for: softmax(Z, 1) as NumPy's axis
ARITY_HINTS = {
    word: f". For one {word} per row of a matrix Z (NumPy's axis=1) write {word}_rows(Z), "
    f"per column (axis=0) {word}_cols(Z)."
    for word in ("softmax", "logsumexp")
}

DIMENSION_ARGUMENTS = {
    "eye": "eye(n_h)",
    "zeros": "zeros(m, n)",
    "ones": "ones(m, n)",
    "commutation": "commutation(m, n)",
}

FUNCTIONS = sorted([*ELEMENTWISE, *STRUCTURAL, "matrix_power"])

#: functions refused by name: piecewise constant, so not differentiable at their jumps
NOT_DIFFERENTIABLE = ("floor", "ceil", "round", "trunc")
