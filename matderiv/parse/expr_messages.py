"""The messages of the expression syntax's parser: the line with a caret under the
place, what the grammar expected there, the one slip common enough to name (two
operands side by side), and close matches of an unknown name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from sympy import sympify

from ..errors import ParseError, ShapeMismatch
from ..naming import adjoint_note
from ..shapes import dims_equal, is_matrix, shape_of
from .expr_grammar import ARITY_HINTS, PARSER
from .latex_grammar import FRACTIONS

#: names of the identity in LaTeX and printed notation, which the syntax writes eye(n)
_IDENTITY = re.compile(r"I(?:_\{?\w+\}?|_?[0-9]+|d)?|Id|\bIdentity")


def unknown_name_advice(name: str, hint: str) -> str:
    """What to do about an unknown name: declare it, or write the identity as eye(n);
    ``hint`` is the close matches among the known names."""
    if _IDENTITY.fullmatch(name):
        return (
            f"In this syntax the identity is eye(n), with its size: {name} is the "
            "identity in LaTeX and in the notation matderiv prints, where * is the "
            f"matrix product, not ∘ as here.{hint}"
        )
    adjoint = adjoint_note(name)
    return (
        f"Declare its shape: on the command line in --shapes (--shapes '{name}: n x m', "
        f"or '{name}: scalar' for a scalar), in Python among the symbols given; a candidate "
        f"of verify may use the symbols of the expression and of names=.{hint}"
        + (f" {adjoint}." if adjoint is not None else "")
    )


def caret(text: str, pos: int | None, context: int = 40) -> str:
    """The line of ``text`` around ``pos`` with a caret under it (long lines are cut)."""
    pos = len(text) if pos is None else pos
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    column = pos - line_start
    start = max(0, column - context)
    shown = line[start : column + context]
    prefix = "…" if start else ""
    suffix = "…" if column + context < len(line) else ""
    return f"  {prefix}{shown}{suffix}\n  {' ' * (len(prefix) + column - start)}^"


def _describe_expected(error: UnexpectedInput) -> str:
    expected = sorted(getattr(error, "expected", None) or getattr(error, "allowed", None) or [])
    words = [_terminal_name(e) for e in expected]
    return f"; expected {', '.join(words[:12])}" if words else ""


def _terminal_name(terminal: str) -> str:
    names = {"NAME": "a name", "NUMBER": "a number", "POW": "'^'", "$END": "end of input"}
    if terminal in names:
        return names[terminal]
    try:
        return repr(PARSER.get_terminal(terminal).pattern.value)
    except KeyError:
        return terminal


def syntax_error(text: str, error: UnexpectedInput) -> ParseError:
    pos = getattr(error, "pos_in_stream", None)
    if pos is None:
        pos = len(text)
    what = "unexpected end of input" if isinstance(error, UnexpectedEOF) else "syntax error"
    if isinstance(error, UnexpectedCharacters):
        what = f"unexpected character {text[pos]!r}"
    hint = _hint(error) or _written_hint(text, pos)
    return ParseError(f"{what}{_describe_expected(error)}:\n{caret(text, pos)}{hint}")


def _written_hint(text: str, pos: int) -> str:
    """For notations of other tools at ``pos``: SymPy's A.I, a determinant |X|."""
    if text.startswith(".I", pos) and not text[pos + 2 : pos + 3].isalnum():
        name = (re.search(r"\w+$", text[:pos]) or [""])[0] or "M"
        return f"\nWrite inv({name}) for the inverse {name}⁻¹ (SymPy's {name}.I)."
    if text[pos : pos + 1] in FRACTIONS:
        p, q = FRACTIONS[text[pos]]
        return f"\nWrite {p}/{q} for {text[pos]} in this syntax."
    before = (re.search(r"\w+$", text[:pos]) or [""])[0]
    if before in ("np", "numpy") and text.startswith(".", pos):
        return f"\nWrite the functions without {before}.: tr(X), inv(X), exp(x), sum(x)."
    method = re.match(r"\.(dot|transpose|trace|sum|inv)\b", text[pos:])
    if method is not None:  # NumPy's methods: x.dot(y), X.transpose()
        return (
            f"\nThe syntax has NumPy's operators, not its methods ({method[0]}): write "
            "x.T @ y for x.dot(y), X.T for X.transpose(), tr(X), sum(X), inv(X)."
        )
    keyword = re.match(r"\s*=", text[pos:]) and "(" in text[:pos]  # softmax(x, axis=1)
    if keyword and before:
        called = (re.findall(r"(\w+)\s*\(", text[:pos]) or [""])[-1]
        rows = (
            ARITY_HINTS[called][1:]
            if called in ARITY_HINTS
            else " sum(X) adds all entries; a column of row sums is X @ ones(n, 1), a row "
            "of column sums ones(1, m) @ X."
            if called == "sum"
            else " norm(x) is the 2-norm of a vector, the Frobenius norm of a matrix."
            if called == "norm"
            else ""
        )
        return f"\nThe functions take no keyword arguments ({before}=).{rows}"
    if text.startswith("|", pos):
        return (
            "\nWrite det(X) for the determinant |X|, logdet(X) for log |X|, abs(x) for "
            "entrywise absolute values, norm(x) for ‖x‖; or paste the formula as LaTeX "
            "(\\ln|X|), where | | is read."
        )
    return ""


def _hint(error: UnexpectedInput) -> str:
    """What to write instead, for the one slip common enough to name: two operands
    side by side (``2 x``, ``x.T A x``), which is no product in this syntax."""
    if (
        isinstance(error, UnexpectedToken)
        and error.token.type in ("NAME", "NUMBER", "LPAR")
        and "AT" in error.expected
    ):
        return (
            "\nTwo operands side by side are not a product here: write A @ B for a "
            "matrix product and 2 * x for a multiple."
        )
    return ""


def suggest(name: str, choices: list[str], cutoff: float = 0.5) -> str:
    """Close matches of ``name`` (by difflib's ratio; function names need 0.7, so floor
    does not suggest log)."""
    same = [c for c in choices if c.lower() == name.lower()]  # X for x: ratio 0
    close = same or difflib.get_close_matches(name, choices, n=3, cutoff=cutoff)
    return f" Did you mean {', '.join(close)}?" if close else ""


def star_hint(exc: ShapeMismatch, left: Any, right: Any) -> ShapeMismatch:
    """A ∘ product of shapes NumPy would broadcast, or that would be a matrix product:
    say what to write."""
    (lr, lc), (rr, rc) = shape_of(left), shape_of(right)
    column = dims_equal(lc, 1) and dims_equal(lr, rr) and not dims_equal(rc, 1)
    row = dims_equal(lr, 1) and dims_equal(rc, 1) and not dims_equal(lc, 1)
    if row and dims_equal(lc, rr):  # x.T * y, MATLAB's x'*y: the inner product
        hint = (
            "In matderiv's syntax * is the entrywise product, as in NumPy; write "
            "x.T @ y for the inner product (MATLAB's x'*y)."
        )
    elif column or (dims_equal(rc, 1) and dims_equal(lr, rr) and not dims_equal(lc, 1)):
        hint = (
            "matderiv does not broadcast a column across a matrix as NumPy does: write "
            "diag(v) @ W to scale the rows of W by a column v."
        )
    elif (dims_equal(lc, 1) and dims_equal(rr, 1)) or row:
        hint = (
            "matderiv does not broadcast a column against a row as NumPy does: write "
            "v @ w.T for the outer product of columns v and w."
        )
    elif dims_equal(lc, rr):
        hint = (
            "In matderiv's syntax * is the entrywise product, as in NumPy; "
            "write @ for the matrix product."
        )
    else:
        return exc
    return _hinted(exc, hint)


def sum_hint(exc: ShapeMismatch, left: Any, right: Any) -> ShapeMismatch:
    """A sum NumPy would broadcast, a row (or column) added to each row (column) of a
    matrix (X W + b.T, a layer's bias): say what to write."""
    rows, cols = shape_of(right)
    wide, narrow = (left, right) if dims_equal(rows, 1) or dims_equal(cols, 1) else (right, left)
    (wr, wc), (nr, nc) = shape_of(wide), shape_of(narrow)
    v = _operand(narrow)
    if dims_equal(nr, 1) and dims_equal(nc, wc):
        hint = (
            "matderiv does not broadcast a row down a matrix as NumPy does: write "
            f"ones({wr}, 1) @ {v} to add the row {v} to each of the {wr} rows."
        )
    elif dims_equal(nc, 1) and dims_equal(nr, wr):
        hint = (
            "matderiv does not broadcast a column across a matrix as NumPy does: write "
            f"{v} @ ones({wc}, 1).T to add the column {v} to each of the {wc} columns."
        )
    else:
        return exc
    return _hinted(exc, hint)


def _hinted(exc: ShapeMismatch, hint: str) -> ShapeMismatch:
    out = ShapeMismatch(f"{exc} {hint}")
    out.node, out.hint = exc.node, hint
    return out


def _operand(expr: Any) -> str:
    """``expr`` in the syntax, in parentheses unless a name or a transposed name."""
    from ..render.syntax import to_syntax  # (it imports the grammar this module does)

    text = to_syntax(expr)
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


#: functions other tools name otherwise: what this syntax calls them
OTHER_NAMES = {
    "ln": "log(x) for the natural logarithm",
    "inverse": "inv(X) for the inverse",
    "transpose": "X.T for the transpose",
    "det_log": "logdet(X)",
    "logsigmoid": "log(sigmoid(x))",
    "expit": "sigmoid(x)",
    "dot": "x.T @ y for the inner product",
    "max": "relu(x) for max(0, x)",
}

#: functions of matrices (SciPy's) that matderiv does not differentiate: said, not
#: "did you mean exp?", whose exp(A) is entrywise
MATRIX_FUNCTIONS = {
    "expm": "the matrix exponential",
    "logm": "the matrix logarithm",
    "sqrtm": "the matrix square root",
    "cholesky": "the Cholesky factor",
    "eig": "an eigen-decomposition",
    "eigh": "an eigen-decomposition",
    "svd": "the singular value decomposition",
}


def matrix_function_advice(name: str) -> str:
    return (
        f" {name} is {MATRIX_FUNCTIONS[name]}, which matderiv does not differentiate; "
        "exp, log and sqrt here are entrywise (exp(A) is the exponential of each entry, "
        "not the matrix exponential)."
    )


def split_product(name: str, known: Mapping[str, Any]) -> str:
    """Xw for X and w declared: a product written as one word, as in math (lamx for a
    scalar lam: lam * x)."""
    for k in range(1, len(name)):
        left, right = name[:k], name[k:]
        if left in known and right in known:
            scalar = any(
                not is_matrix(known[s]) or shape_of(known[s]) == (1, 1) for s in (left, right)
            )
            op = "*" if scalar else "@"
            return (
                f" Did you mean {left} {op} {right}? A name is one word here: write a product "
                "with @ (* for a scalar or entrywise)."
            )
    return ""


def size_defined(text: str, token: Any, dim: Any, symbols: Mapping[str, Any]) -> ParseError:
    """n = 3 in a program, where n is a size of the declared shapes: it set no size
    (zeros(n, 1) beside x was 3 x 1, x itself still n x 1)."""
    users = [
        (name, s.shape)
        for name, s in symbols.items()
        if is_matrix(s) and any(dim in sympify(d).free_symbols for d in s.shape)
    ][:3]

    def declared(number: Any = None) -> str:
        shapes = [
            [d if number is None else sympify(d).subs(dim, number) for d in shape]
            for _, shape in users
        ]
        return ", ".join(
            f"{name}: {rows}" if cols == 1 else f"{name}: {rows} x {cols}"
            for (name, _), (rows, cols) in zip(users, shapes, strict=True)
        )

    return ParseError(
        f"{token} is a size ({declared()}), and a definition cannot set it:\n"
        f"{caret(text, token.start_pos)}\n"
        "Sizes are set by the declared shapes, not by assignment: to compute with numbers, "
        f"declare numbers in the shapes, as '{declared(3)}'; or give the definition "
        "another name."
    )
