"""softmax and logsumexp: of a column vector, and of each column or each row of a matrix.

``Softmax(x)`` and ``LogSumExp(x)`` of a column x (n x 1) are what they always were:
an n x 1 softmax and a 1 x 1 log-sum-exp.  ``Softmax(S, axis)`` of a matrix S
normalises along ``axis`` as NumPy's and JAX's ``axis=``: 0 each column, 1 each row
(attention's softmax(Q Kᵀ)); ``LogSumExp(S, 0)`` is the 1 x m row of the columns'
log-sum-exps, ``LogSumExp(S, 1)`` the n x 1 column of the rows' (a batch's
cross-entropy).  A column's softmax along axis 0 is the plain ``Softmax(x)``: one
node per meaning.
"""

from __future__ import annotations

import operator
from functools import partial
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import MatDerivError, ShapeMismatch
from .nodes import _as_matrix
from .shape_cache import matrix_shape

#: what an axis means, as printed: softmax_rows(S), logsumexp_cols(S)
AXIS_WORDS = {0: "cols", 1: "rows"}
#: the printed names of the axis forms, which every reader takes: name -> (word, axis)
ALONG_AXES = {
    f"{word}_{AXIS_WORDS[axis]}": (word, axis)
    for word in ("softmax", "logsumexp")
    for axis in (1, 0)
}


_USES = {
    "softmax": "as attention's softmax(Q Kᵀ)",
    "logsumexp": "as a batch's cross-entropy with one sample per row",
}


def _axis(arg: MatrixExpr, axis: Any, what: str) -> int | None:
    """The axis of ``what``(arg, axis): None for a column's plain form, else 0 or 1
    (-2 and -1 count from the end, as in NumPy)."""
    rows, cols = matrix_shape(arg)
    if axis is None:
        if cols == 1:
            return None
        shown, written = _written(arg)
        raise ShapeMismatch(
            f"{what}({shown}): {shown} is a matrix ({rows} x {cols}); say which way to "
            f"normalise. Hint: {what}(..., axis=1) in Python (in the syntax "
            f"{what}_rows({written}), in LaTeX "
            rf"\operatorname{{{what}}}_{{\mathrm{{rows}}}}) is one {what} per row, "
            f"{_USES[what]}; axis=0 ({what}_cols) one per column; {what}(vec({written})) "
            "one over all its entries."
        )
    try:
        which = None if isinstance(axis, bool) else operator.index(axis)
    except TypeError:
        which = None
    if which not in (0, 1, -1, -2):
        raise ShapeMismatch(
            f"{what}({_written(arg)[0]}, axis={axis!r}): a matrix has axes 0 (down each "
            "column) and 1 (along each row), or -2 and -1 counted from the end, as in "
            "NumPy: give one of them as an integer."
        )
    which %= 2
    if which == 0 and cols == 1:
        return None  # a column's softmax: the plain form
    return which


def _written(arg: MatrixExpr) -> tuple[str, str]:
    """``arg`` as matderiv prints it (Q Kᵀ) and in the syntax (Q @ K.T), for a message."""
    from .render.syntax import to_syntax  # (the renderers import the nodes)
    from .render.unicode import fmt

    try:
        return fmt(arg), to_syntax(arg)
    except MatDerivError:
        return fmt(arg), "S"


def _sum_exp(x: MatrixExpr, axis: int, fixed: Any) -> Any:
    """Σ_k exp(x_{k, fixed}) (axis 0: down column ``fixed``) or Σ_k exp(x_{fixed, k})."""
    length = x.shape[axis]
    k = sp.Dummy("k", integer=True)

    def entry(k: Any) -> Any:
        return x._entry(k, fixed) if axis == 0 else x._entry(fixed, k)

    if length.is_Integer:
        return sp.Add(*(sp.exp(entry(j)) for j in range(int(length))))
    return sp.Sum(sp.exp(entry(k)), (k, 0, length - 1))


class _AlongAxis(MatrixExpr):
    """A softmax or logsumexp: args (x,) for a column, (x, axis) for a matrix."""

    word = ""

    def __new__(cls, arg: Any, axis: Any = None) -> Any:
        arg = _as_matrix(arg, cls.word)
        which = _axis(arg, axis, cls.word)
        if which is None:
            return super().__new__(cls, arg)
        return super().__new__(cls, arg, sp.Integer(which))

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def axis(self) -> int:
        """0 (each column; a column vector's plain form) or 1 (each row)."""
        return int(self.args[1]) if len(self.args) > 1 else 0

    @property
    def name(self) -> str:
        """softmax, or softmax_rows / softmax_cols for a matrix: the printed name."""
        return self.word if len(self.args) == 1 else f"{self.word}_{AXIS_WORDS[self.axis]}"

    def _sympystr(self, printer: Any) -> str:
        return f"{self.name}({printer._print(self.arg)})"


class Softmax(_AlongAxis):
    """softmax(x) = exp(x) / sum(exp(x)) for a column vector x (not elementwise); of a
    matrix, the softmax of each column (axis 0) or each row (axis 1)."""

    word = "softmax"

    @property
    def shape(self) -> tuple[Any, Any]:
        return matrix_shape(self.arg)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        fixed = j if self.axis == 0 else i
        return sp.exp(self.arg._entry(i, j, **kwargs)) / _sum_exp(self.arg, self.axis, fixed)

    def _latex(self, printer: Any) -> str:
        return rf"{_tex_name(self)}\left({printer._print(self.arg)}\right)"


class LogSumExp(_AlongAxis):
    """logsumexp(x) = log(sum_i exp(x_i)) for a column vector x: a 1 x 1 matrix (a scalar).
    Of a matrix: the 1 x m row of its columns' (axis 0), the n x 1 column of its rows'
    (axis 1).

    It is 1 x 1 like aᵀx, so ``logsumexp(z) - y.T*z`` is a valid SymPy sum.
    """

    word = "logsumexp"

    @property
    def shape(self) -> tuple[Any, Any]:
        if len(self.args) == 1:
            return (sp.S.One, sp.S.One)
        rows, cols = matrix_shape(self.arg)
        return (sp.S.One, cols) if self.axis == 0 else (rows, sp.S.One)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        fixed = j if self.axis == 0 else i
        return sp.log(_sum_exp(self.arg, self.axis, fixed))

    def _eval_transpose(self) -> Any:
        return self if len(self.args) == 1 else None

    def _latex(self, printer: Any) -> str:
        return rf"{_tex_name(self)}\left({printer._print(self.arg)}\right)"


def _tex_name(node: _AlongAxis) -> str:
    r"""\operatorname{softmax}, or \operatorname{softmax}_{\mathrm{rows}} along an axis."""
    name = rf"\operatorname{{{node.word}}}"
    return name if len(node.args) == 1 else rf"{name}_{{\mathrm{{{AXIS_WORDS[node.axis]}}}}}"


def softmax(x: Any, axis: int | None = None) -> Softmax:
    """softmax(x) of a column vector (its Jacobian is diag(s) - s sᵀ); of a matrix,
    ``axis=1`` is one softmax per row (attention's), ``axis=0`` one per column."""
    node = Softmax(x, axis)
    _refuse_one_entry(node)
    return node


def logsumexp(x: Any, axis: int | None = None) -> LogSumExp:
    """log(sum(exp(x))) of a column vector (its gradient is softmax(x)); of a matrix,
    ``axis=1`` is the column of each row's, ``axis=0`` the row of each column's."""
    node = LogSumExp(x, axis)
    _refuse_one_entry(node)
    return node


def _refuse_one_entry(node: _AlongAxis) -> None:
    """softmax_rows of a column (each row one entry: all ones), softmax_cols of a row:
    what the user wrote, but surely not what was meant.  (Refused where users write
    them; the node itself takes them, as a size set to 1 makes them.)"""
    if len(node.args) == 1:
        return
    rows, cols = matrix_shape(node.arg)
    if (cols if node.axis == 1 else rows) != 1:
        return
    shown, written = _written(node.arg)
    word, kind = node.word, "column" if node.axis == 1 else "row"
    plain = f"{word}({written})" if node.axis == 1 else f"{word}_rows({written})"
    value = "1 in every entry" if word == "softmax" else f"{shown} itself"
    raise ShapeMismatch(
        f"{node.name}({shown}): {shown} is a {kind} ({rows} x {cols}), so each "
        f"{'row' if node.axis == 1 else 'column'} has one entry and this is {value}. "
        f"Hint: for one {word} over the {kind}'s entries write {plain}."
    )


def along_axis(name: str) -> Any:
    """The constructor a printed name stands for: softmax_rows is x ↦ softmax(x, axis=1)."""
    word, axis = ALONG_AXES[name]
    return partial(softmax if word == "softmax" else logsumexp, axis=axis)
