"""Functions, bars, norms and division as the LaTeX (and Unicode) readers build them:
allow-listed words only; a 1 x 1 matrix inside a scalar function is its number."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..nodes import AsScalar, Reshape, diag, vec
from ..norms import norm, norm_1
from ..softmax_nodes import ALONG_AXES, along_axis, logsumexp, softmax
from .expr_grammar import ELEMENTWISE
from .latex_algebra import (
    Unsized,
    elementwise,
    is_1x1,
    is_matrix,
    is_scalar,
    is_vector,
    matmul,
    require_square,
)
from .latex_text import LocatedError

#: entrywise functions by word: the expression syntax's names, as matderiv prints them
#: (\operatorname{relu}), and ln (log), sgn (sign), ReLU (relu), \sigma (sigmoid)
_ENTRYWISE = {
    **ELEMENTWISE,  # sqrt as a word too: \operatorname{sqrt}_{\circ}(X), as printed
    "ln": ELEMENTWISE["log"],
    "sgn": ELEMENTWISE["sign"],
    "ReLU": ELEMENTWISE["relu"],
    "sigma": ELEMENTWISE["sigmoid"],
    "psi": ELEMENTWISE["digamma"],  # \psi(x), the digamma function
    "psi'": ELEMENTWISE["trigamma"],  # \psi'(x), its derivative
    "logGamma": ELEMENTWISE["loggamma"],  # \log\Gamma(x)
    "lnGamma": ELEMENTWISE["loggamma"],
}


def function(word: str, x: Any, pos: int) -> Any:
    """The allow-listed function ``word`` (already canonical) applied to x."""
    if isinstance(x, Unsized) and x.kind == "ones" and word in _ENTRYWISE:
        return x.mapped(_ENTRYWISE[word]())  # tanh(𝟏) = tanh(1) 𝟏, sized by a neighbour
    if isinstance(x, Unsized):
        raise x.unknown(f"inside {word}(...)")
    if word in _ENTRYWISE:
        return entrywise(_ENTRYWISE[word](), x)
    if word in ("tr", "Tr", "trace", "det"):
        if not is_matrix(x):
            return x
        require_square(x, lambda: f"{word}({x})")
        return sp.Trace(x) if word != "det" else sp.Determinant(x)
    constructors = {"vec": vec, "diag": diag, "softmax": softmax, "logsumexp": logsumexp}
    constructors.update({name: along_axis(name) for name in ALONG_AXES})
    if word in constructors:  # of a number: of the 1 x 1 matrix tex() printed as it
        return constructors[word](x if is_matrix(x) else sp.MatMul(x, sp.Identity(1)))
    raise LocatedError(f"unknown function {word!r}", pos)


def unvec(x: Any, rows: Any, cols: Any) -> Any:
    """vec⁻¹_{rows×cols}(x): the column x refolded column-major (a size mismatch is
    a ShapeMismatch naming both); a scalar is the 1 x 1 matrix it was printed from."""
    if isinstance(x, Unsized):
        raise x.unknown("inside vec^{-1}(...)")
    return Reshape(x if is_matrix(x) else sp.MatMul(x, sp.Identity(1)), rows, cols)


def entrywise(f: Any, x: Any) -> Any:
    if is_1x1(x):
        return f(AsScalar(x))
    # Not x.applyfunc(f): on an entrywise function SymPy would fuse the two.
    return ElementwiseApplyFunction(f, x) if is_matrix(x) else f(x)


def bars(x: Any, pos: int) -> Any:
    """|x|: the absolute value of a scalar (or 1 x 1 matrix), the determinant of a
    square matrix."""
    if isinstance(x, Unsized):
        raise x.unknown("inside |...|")
    if not is_matrix(x):
        return sp.Abs(x)
    if is_1x1(x):  # |aᵀ b| is the absolute value of the number, not det(aᵀ b)
        return sp.Abs(AsScalar(x))
    if is_vector(x):
        raise LocatedError(f"|{x}| of a vector is ambiguous: write its norm as \\|{x}\\|", pos)
    return function("det", x, pos)


def norm_of(x: Any, subscript: str, pos: int) -> Any:
    """‖x‖ (‖x‖₂) of a vector, ‖X‖_F of a matrix, |x| of a scalar."""
    if isinstance(x, Unsized):
        raise x.unknown("inside a norm")
    if subscript not in ("", "F", "1", "2"):
        raise LocatedError(_other_norm(x, subscript), pos)
    if not is_matrix(x):
        return sp.Abs(x)
    if subscript == "1":
        if not is_vector(x) and not is_1x1(x):
            raise LocatedError(
                f"‖{x}‖₁ of a matrix is its largest column sum, which matderiv does not "
                "differentiate; for the sum of the entries' absolute values write "
                "\\mathbf{1}^T \\operatorname{abs}(X) \\mathbf{1}",
                pos,
            )
        return norm_1(x)
    if subscript == "2" and not is_vector(x) and not is_1x1(x):
        raise LocatedError(
            f"‖{x}‖₂ of a matrix is its spectral norm, which matderiv does not "
            "differentiate; ‖X‖_F is the Frobenius norm",
            pos,
        )
    return norm(x)


def _other_norm(x: Any, subscript: str) -> str:
    """Why ‖x‖ with this subscript is refused: the norms matderiv differentiates."""
    sub = subscript.replace(" ", "")
    if sub in (r"\infty", "∞", r"\max", "max"):
        what = "the largest absolute entry (the max norm), not differentiable where two tie"
    elif sub in ("*", r"\ast", "nuc", r"\text{nuc}", "tr"):
        what = "the nuclear norm (the sum of singular values), which has no rule here"
    else:
        what = f"a norm with the subscript {subscript}, which matderiv does not know"
    return (
        f"‖{x}‖_{subscript} is {what}. matderiv differentiates ‖x‖ (‖x‖_2, Euclidean) "
        "and ‖x‖_1 of a vector, and ‖X‖_F (Frobenius) of a matrix."
    )


def divide(x: Any, d: Any, pos: int) -> Any:
    if is_1x1(d):  # \frac{1}{x^T x}: a 1 x 1 matrix divides as its number
        d = AsScalar(d)
    if is_matrix(d) and is_vector(d):  # \frac{1}{1 + e^{-z}}: entrywise, as y ⊘ v
        reciprocal = sp.HadamardPower(d, -1)
        if is_scalar(x):
            return matmul([x, reciprocal])
        return elementwise("odot", [x, reciprocal])
    if not is_scalar(d):
        raise LocatedError(
            "division by a matrix is not defined: multiply by the inverse of the "
            "denominator, (...)^{-1}",
            pos,
        )
    return matmul([x, sp.Pow(d, -1)])
