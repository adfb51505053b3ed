"""The numba dialect of the generated code: which NumPy constructs numba compiles
with NumPy's meaning (``Checker``), and the rewrites where numba spells a
construct differently (``Rewriter``).

The list is deliberately closed: numba silently ignores, for instance,
``order="F"`` in ``reshape``, so a construct not on it raises ``BackendError``
naming it instead of compiling to a different computation.
"""

from __future__ import annotations

import ast
from typing import Any

from ..errors import BackendError
from .numba_compile_time import nested_tuple
from .numba_helpers import HELPERS, REPLACEMENTS

#: numpy functions whose numba implementation has NumPy's meaning for the arguments
#: the generated code passes (checked by the identity battery in both layouts)
NUMPY_FUNCTIONS = {
    # entrywise
    "tanh", "exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
    "log1p", "expm1", "abs", "absolute", "sign", "reciprocal", "power",
    "maximum", "minimum", "heaviside",  # heaviside: by AS_HELPERS
    # structure
    "concatenate", "eye", "zeros", "ones", "trace", "sum", "diagflat", "repeat", "diag",
}  # fmt: skip
LINALG_FUNCTIONS = {"inv", "det", "matrix_power", "multi_dot"}
#: array methods and attributes (methods without arguments but ``dot``'s operand)
METHODS = {"dot", "sum", "max", "copy"}
ATTRIBUTES = {"T", "shape"}
#: numpy functions computed by a helper of the numba dialect
AS_HELPERS = {
    "numpy.diagflat": "_diagflat",
    "numpy.linalg.matrix_power": "_matrix_power",
    "numpy.repeat": "_repeat",
    "numpy.heaviside": "_heaviside",
}
#: helper -> (argument that may be None for an identity, argument giving its size)
_IDENTITY_SLOTS = {"_kron_left": ((0, 3), (1, 4)), "_kron_right": ((1, 3), (2, 4))}


def unsupported(what: str, node: ast.AST) -> BackendError:
    return BackendError(
        f"backend='numba' does not compile {what} (in `{ast.unparse(node)[:120]}`); "
        "use backend='numpy', which runs every generated function"
    )


def attribute_path(node: ast.expr) -> str | None:
    """'numpy.linalg.inv' for that attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


class Checker(ast.NodeVisitor):
    """Raises BackendError on the first construct not known to mean the same in numba."""

    ALLOWED = (
        ast.Assign, ast.Return, ast.Name, ast.Load, ast.Store, ast.Constant, ast.BinOp,
        ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd,
        ast.Tuple, ast.List, ast.Subscript, ast.Slice, ast.Call, ast.Attribute, ast.keyword,
    )  # fmt: skip

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, self.ALLOWED):
            raise unsupported(type(node).__name__, node)
        super().generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        path = attribute_path(node.func)
        if path is not None and path.startswith("numpy."):
            self._numpy_call(path, node)
        elif isinstance(node.func, ast.Name):
            if node.func.id not in HELPERS and node.func.id not in REPLACEMENTS:
                raise unsupported(node.func.id, node)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
            if _is_sum_keepdims(node):
                self.visit(node.func.value)
                return
            if node.keywords or (node.args and node.func.attr != "dot"):
                raise unsupported(f".{node.func.attr} with arguments", node)
            self.visit(node.func.value)
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "reshape":
            if not _is_vec_reshape(node):
                raise unsupported("a reshape other than a column-major one", node)
            self.visit(node.func.value)
            return
        else:
            raise unsupported("this call", node)
        for arg in node.args:
            self.visit(arg)

    def _numpy_call(self, path: str, node: ast.Call) -> None:
        parts = path.split(".")
        ok = (len(parts) == 2 and parts[1] in NUMPY_FUNCTIONS) or (
            len(parts) == 3 and parts[1] == "linalg" and parts[2] in LINALG_FUNCTIONS
        )
        keywords_ok = all(k.arg == "axis" and parts[1] == "concatenate" for k in node.keywords)
        if not ok or not keywords_ok:
            raise unsupported(path, node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr not in ATTRIBUTES:
            raise unsupported(f"the attribute .{node.attr}", node)
        self.visit(node.value)


def _is_sum_keepdims(node: ast.Call) -> bool:
    """``M.sum(axis=0 or 1, keepdims=True)``."""
    kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "sum"
        and not node.args
        and kw in ({"axis": "0", "keepdims": "True"}, {"axis": "1", "keepdims": "True"})
    )


def _is_vec_reshape(node: ast.Call) -> bool:
    """``M.reshape(-1, 1, order="F")`` (vec M) or ``M.reshape((r, c), order="F")``."""
    kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
    args = node.args
    vec = [ast.unparse(a) for a in args] == ["-1", "1"]
    shape = len(args) == 1 and isinstance(args[0], ast.Tuple) and len(args[0].elts) == 2
    return (vec or shape) and kw == {"order": "'F'"}


class Rewriter(ast.NodeTransformer):
    """NumPy forms numba spells differently: tuples for concatenate, chained dots for
    multi_dot (left to right), a column-major vec through a C-ordered copy of Mᵀ."""

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        path = attribute_path(node.func)
        if path == "numpy.concatenate" and isinstance(node.args[0], ast.List):
            node.args[0] = nested_tuple(node.args[0].elts, node.keywords)
        elif path in _IDENTITY_SLOTS:
            for slot, size in _IDENTITY_SLOTS[path]:
                arg = node.args[slot]
                if isinstance(arg, ast.Constant) and arg.value is None:
                    node.args[slot] = ast.parse(
                        f"numpy.eye({ast.unparse(node.args[size])})", mode="eval"
                    ).body
        elif path in AS_HELPERS:
            return ast.Call(ast.Name(AS_HELPERS[path], ast.Load()), node.args, [])
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "sum" and node.keywords:
            # M.sum(axis=a, keepdims=True) -> M.sum(axis=a).reshape(...): no keepdims in numba
            axis = next(k.value for k in node.keywords if k.arg == "axis")
            node.keywords = [k for k in node.keywords if k.arg == "axis"]
            shape = "(1, -1)" if ast.unparse(axis) == "0" else "(-1, 1)"
            reshape = ast.Attribute(node, "reshape", ast.Load())
            return ast.Call(reshape, [ast.parse(shape, mode="eval").body], [])
        elif path == "numpy.linalg.multi_dot" and isinstance(node.args[0], ast.List):
            first, *rest = node.args[0].elts
            for factor in rest:
                first = ast.Call(ast.Attribute(first, "dot", ast.Load()), [factor], [])
            return first
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "reshape":
            # column-major reshape: M.reshape((r, c), order="F") = Mᵀ.copy().reshape((c, r))ᵀ
            transposed = ast.Attribute(node.func.value, "T", ast.Load())
            copy = ast.Call(ast.Attribute(transposed, "copy", ast.Load()), [], [])
            if len(node.args) == 2:  # vec
                return ast.Call(ast.Attribute(copy, "reshape", ast.Load()), node.args, [])
            rows, cols = node.args[0].elts  # type: ignore[attr-defined]
            swapped = ast.Tuple([cols, rows], ast.Load())
            reshaped = ast.Call(ast.Attribute(copy, "reshape", ast.Load()), [swapped], [])
            return ast.Attribute(reshaped, "T", ast.Load())
        return node
