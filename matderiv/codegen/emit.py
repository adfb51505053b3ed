"""Emit straight-line NumPy code for matderiv expressions.

One ``Emitter`` turns the outputs (and the program that defines their
symbols) into lines of Python: every subexpression used twice gets a
temporary, so it is computed once; products are laid out so that Kronecker,
commutation, diag and ones factors are applied with the vec trick rather than
built; a sum multiplied by a vector is distributed ((A + Aᵀ) v → A v + Aᵀ v,
which avoids forming A + Aᵀ); chains of three or more plain matrices use
``numpy.linalg.multi_dot``, which picks the cheapest order at run time.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..canon import matmul
from ..errors import UnsupportedNode
from ..graph import count_uses, is_leaf
from ..numeric_functions import NumPyCode
from ..render.unicode import fmt
from ..shapes import fmt_shape, shape_of
from .batching import stacked_outer_products
from .coefficients import (
    bare,
    is_plain_number,
    is_reciprocal,
    reciprocal,
    scale_small_factor,
    split_coeff,
)
from .identifiers import RESERVED
from .one_pass import one_pass_code
from .products import STRUCTURED, columns, lu_code, product_code, wrap

_LONG = 120  # inline code longer than this gets a temporary


class _Printer(NumPyCode):
    """SymPy's NumPy printer for the scalar parts, with placeholders for operands."""


class Emitter:
    """Accumulates the lines of one generated function."""

    def __init__(self, roots: list[Any], names: dict[Any, str]) -> None:
        self.lines: list[str] = []
        self.names = dict(names)  # symbol or computed node -> variable name
        self.taken = set(names.values()) | RESERVED
        self.uses = count_uses(roots)
        self.helpers: set[str] = set()
        self.modules: set[str] = set()  # modules besides numpy the code uses (math)
        self.dims: set[Any] = set()
        self.printer = _Printer()
        self.counter = 0
        self.dim_names: dict[Any, str] = {}
        self.by_code: dict[str, str] = {}
        self.stacks: dict[frozenset[str], list[str]] = {}  # columns stacked, in order
        self.inline = False  # True: no temporaries (code inside a one-pass lambda)
        self.one_pass = True  # False: Aᵀ g(A V) as two products (the numba backend)
        self.mentions: dict[Any, dict[Any, bool]] = {}  # A -> {node: A occurs in node}

    # -- names and temporaries -------------------------------------------------
    def fresh(self, stem: str = "t") -> str:
        while True:
            self.counter += 1
            name = f"{stem}{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def assign(self, name: str, code: str) -> str:
        self.lines.append(f"{name} = {code}")
        return name

    def temp(self, code: str) -> str:
        if code.isidentifier():
            return code
        return self.assign(self.fresh(), code)

    def dim(self, d: Any) -> str:
        d = sp.sympify(d)
        self.dims |= d.free_symbols
        named = d.xreplace({s: sp.Symbol(self.dim_names.get(s, str(s))) for s in d.free_symbols})
        return str(named) if d.is_Symbol or d.is_Integer else f"({named})"

    # -- expressions -------------------------------------------------------------
    def code(self, node: Any) -> str:
        """Python code for ``node``, naming it if it is used more than once."""
        if node in self.names:
            if node in self.dim_names:  # a size used as a value: m·n (bᵀ b) x
                self.dims.add(node)
            return self.names[node]
        text = self._code(node)
        cheap = isinstance(node, sp.Transpose) and is_leaf(node.arg)  # a view
        worth = not is_leaf(node) and not cheap
        if worth and not self.inline and (self.uses[node] > 1 or len(text) > _LONG):
            name = self.assign(self.fresh(), text)
            self.names[node] = name
            return name
        return text

    def _code(self, node: Any) -> str:
        if isinstance(node, (sp.MatrixSymbol, sp.Symbol)):
            raise UnsupportedNode(f"no value for {node}: it is neither an input nor defined")
        if node.is_Number:
            return repr(int(node)) if node.is_Integer else repr(float(node))
        if isinstance(node, sp.NumberSymbol):
            return repr(float(node))
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            for cls in type(node).__mro__[1:]:
                method = getattr(self, "_" + cls.__name__, None)
                if method is not None:
                    break
        if method is None:
            raise UnsupportedNode(
                f"cannot generate code for {type(node).__name__} node {node} "
                f"(shape {fmt_shape(shape_of(node))})"
            )
        return method(node)

    def paren(self, node: Any) -> str:
        return wrap(self.code(node))

    # matrices ---------------------------------------------------------------
    def _Identity(self, node: Any) -> str:
        return f"numpy.eye({self.dim(node.rows)})"

    def _ZeroMatrix(self, node: Any) -> str:
        return f"numpy.zeros(({self.dim(node.rows)}, {self.dim(node.cols)}))"

    def _OneMatrix(self, node: Any) -> str:
        return f"numpy.ones(({self.dim(node.rows)}, {self.dim(node.cols)}))"

    def _MatrixBase(self, node: Any) -> str:
        """An explicit matrix (sp.Matrix) of numbers or scalar expressions (real: derive
        refuses the imaginary unit), as a float array."""
        rows = ", ".join(
            "[" + ", ".join(self.scalar_code(node[i, j]) for j in range(node.cols)) + "]"
            for i in range(node.rows)
        )
        return f"numpy.array([{rows}], dtype=float)"

    def _Transpose(self, node: Any) -> str:
        return f"{self.paren(node.arg)}.T"

    def _Inverse(self, node: Any) -> str:
        matrix = self.code(node.arg)
        lu = self.by_code.get(lu_code(matrix))
        if lu is not None:  # A is factorised already: A⁻¹ from its factors
            self.helpers.add("_inv_lu")
            return f"_inv_lu({lu})"
        return f"numpy.linalg.inv({matrix})"

    def _MatPow(self, node: Any) -> str:
        base, exp = node.args
        if exp.is_Integer or (exp.is_Float and float(exp).is_integer()):  # S**2.0 too
            return f"numpy.linalg.matrix_power({self.code(base)}, {int(exp)})"
        return f"{self.paren(base)} ** {self.scalar_code(exp)}"

    def _log(self, node: Any) -> str:
        """log det(M) from LU's log-magnitude (det(M) overflows); other logs as scalars."""
        if isinstance(node.args[0], sp.Determinant):
            self.helpers.add("_logdet")
            return f"_logdet({self.code(node.args[0].arg)})"
        return self._Expr(node)

    def _Determinant(self, node: Any) -> str:
        return f"numpy.linalg.det({self.code(node.arg)})"

    def _Trace(self, node: Any) -> str:
        arg = node.arg
        if isinstance(arg, sp.MatMul):
            coeff, mats = arg.as_coeff_matrices()
            if len(mats) == 2 and not any(isinstance(m, STRUCTURED) for m in mats):
                first, second = (self.paren(m) for m in mats)  # tr(AB) = Σ A ∘ Bᵀ
                total = f"numpy.sum({first} * {second}.T)"
                return total if coeff == 1 else f"{self.scalar_code(coeff)} * {total}"
        return f"numpy.trace({self.code(arg)})"

    def _HadamardProduct(self, node: Any) -> str:
        """a ∘ b ∘ c^∘-2 as a * b / c ** 2: a division, and a power NumPy computes by
        squaring, rather than a general power with a negative exponent."""
        above = [a for a in node.args if not is_reciprocal(a)]
        below = [reciprocal(a) for a in node.args if is_reciprocal(a)]
        numerator = " * ".join(self._operand(a, node) for a in above) or "1.0"
        if not below:
            return numerator
        denominator = " * ".join(self._operand(b, node) for b in below)
        return f"{numerator} / {denominator if len(below) == 1 else f'({denominator})'}"

    def _HadamardPower(self, node: Any) -> str:
        base, exp = node.args
        if is_reciprocal(node):
            return f"1.0 / {self.paren(reciprocal(node))}"
        return f"{self.paren(base)} ** {self.scalar_code(exp)}"

    def _operand(self, arg: Any, within: Any) -> str:
        """An operand of an entrywise operation; a ones matrix of the same shape is 1,
        unless every operand is one (𝟏 + 𝟏 must stay a matrix, not the float 2.0)."""
        ones = isinstance(arg, sp.OneMatrix) and arg.shape == within.shape
        if ones and not all(isinstance(bare(a), sp.OneMatrix) for a in within.args):
            return "1.0"
        return self.paren(arg)

    def _MatAdd(self, node: Any) -> str:
        stacked = stacked_outer_products(self, node)
        if stacked is not None:
            return stacked
        positive: list[str] = []
        negative: list[str] = []
        for term in node.args:
            coeff, rest = split_coeff(term)
            if isinstance(rest, sp.ZeroMatrix):
                continue
            body = self._operand(rest, node)
            size = -coeff if coeff.is_Number and coeff < 0 else coeff
            text = body if size == 1 else f"{self.scalar_code(size)} * {body}"
            (negative if size is not coeff else positive).append(text)
        # positive terms first: 1.0 - h ** 2, not - (h ** 2) + 1.0 (one pass fewer)
        parts = [*positive[:1], *(f"+ {t}" for t in positive[1:]), *(f"- {t}" for t in negative)]
        if len(parts) > 12:  # long sums: accumulate, so no line grows without bound
            acc = self.assign(self.fresh("s"), " ".join(parts[:12]))
            for start in range(12, len(parts), 12):
                acc = self.assign(self.fresh("s"), f"{acc} " + " ".join(parts[start : start + 12]))
            return acc
        return " ".join(parts) if parts else "0.0"

    def stack_columns(self, codes: list[str]) -> str:
        """A temporary for [c_1 ... c_k], remembered for ``batching.stacked_order``."""
        self.stacks.setdefault(frozenset(codes), list(codes))
        return self.shared(columns(codes))

    def shared(self, code: str) -> str:
        """A temporary for ``code``, the same one each time the same code is asked for."""
        if code not in self.by_code:
            self.by_code[code] = self.assign(self.fresh(), code)
        return self.by_code[code]

    def _ElementwiseApplyFunction(self, node: Any) -> str:
        fn = node.function
        var, body, arg = fn.variables[0], fn.expr, node.expr
        if isinstance(arg, sp.MatMul) and arg.args[0] == -1:
            # f(-u): the sign goes into the body, σ(-u) = 1/(1 + exp(u)) (not exp(-(-u)))
            body, arg = body.xreplace({var: -var}), matmul(-1, arg)
        if var not in body.free_symbols:  # t ↦ c: a matrix filled with c
            rows, cols = node.shape
            value = self._substitute(body, {}, node)
            return f"({value}) * numpy.ones(({self.dim(rows)}, {self.dim(cols)}))"
        operand = self.code(arg)
        text = self._substitute(body, {var: operand}, node)
        if "math." not in text:
            return text
        # a function NumPy has only for scalars (math.lgamma): applied entry by entry
        t = self.fresh("u")
        entry = self._substitute(body, {var: t}, node)
        return f"numpy.vectorize(lambda {t}: {entry}, otypes=[float])({operand})"

    def _Vec(self, node: Any) -> str:
        return f'{self.paren(node.arg)}.reshape(-1, 1, order="F")'

    def _Reshape(self, node: Any) -> str:
        rows, cols = node.shape
        return f'{self.paren(node.arg)}.reshape(({self.dim(rows)}, {self.dim(cols)}), order="F")'

    def _DiagVector(self, node: Any) -> str:
        return f"numpy.diagflat({self.code(node.arg)})"

    def _Diagonal(self, node: Any) -> str:
        return f'numpy.diag({self.code(node.arg)}).reshape(-1, 1, order="F")'

    def _CommutationMatrix(self, node: Any) -> str:
        self.helpers.add("_commutation")
        return f"_commutation({self.dim(node.m)}, {self.dim(node.n)})"

    def _KroneckerProduct(self, node: Any) -> str:
        first, *rest = node.args
        second = rest[0] if len(rest) == 1 else sp.KroneckerProduct(*rest)
        if isinstance(first, sp.Identity):
            self.helpers.add("_kron_eye_left")
            return f"_kron_eye_left({self.dim(first.rows)}, {self.code(second)})"
        if isinstance(second, sp.Identity):
            self.helpers.add("_kron_eye_right")
            return f"_kron_eye_right({self.code(first)}, {self.dim(second.rows)})"
        self.helpers.add("_kron")
        return f"_kron({self.code(first)}, {self.code(second)})"

    def _Softmax(self, node: Any) -> str:
        self.helpers.add("_softmax")
        return f"_softmax({self.code(node.arg)}, {node.axis})"

    def _LogSumExp(self, node: Any) -> str:
        self.helpers.add("_logsumexp")
        return f"_logsumexp({self.code(node.arg)}, {node.axis})"

    def _MatMul(self, node: Any) -> str:
        coeff, mats = node.as_coeff_matrices()
        mats = list(mats)
        if coeff != 1 and coeff.is_Number and len(mats) > 1:
            mats, coeff = scale_small_factor(mats, coeff)
        body = one_pass_code(self, mats) or product_code(self, mats)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{wrap(body)}"
        return f"{self.scalar_code(coeff)} * {wrap(body)}"

    # scalars ------------------------------------------------------------------
    def _AsScalar(self, node: Any) -> str:
        return f"{self.paren(node.arg)}[0, 0]"

    def _MatrixElement(self, node: Any) -> str:
        parent, i, j = node.args
        return f"{self.paren(parent)}[{int(i)}, {int(j)}]"

    def _Expr(self, node: Any) -> str:
        """Add, Mul, Pow and scalar functions, through SymPy's NumPy printer."""
        if isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Function, sp.Max, sp.Min)):
            operands = {a: self.code(a) for a in node.args if not is_plain_number(a)}
            return self._substitute(node, operands, node)
        raise UnsupportedNode(f"cannot generate code for {type(node).__name__} node {node}")

    def scalar_code(self, expr: Any) -> str:
        """Code for a scalar, in parentheses unless it is a name or a number."""
        expr = sp.sympify(expr)
        if expr.is_Number:
            return self._code(expr) if expr >= 0 else f"({self._code(expr)})"
        return wrap(self.code(expr))

    def _substitute(self, expr: Any, operands: dict[Any, str], node: Any) -> str:
        """Print ``expr`` (part of ``node``) with each operand replaced by already
        generated code."""
        holders = {a: sp.Symbol(f"_MDH{k}_") for k, a in enumerate(operands)}
        try:
            text = str(self.printer.doprint(expr.xreplace(holders)))
        except NotImplementedError as exc:  # SymPy's PrintMethodNotImplementedError
            culprit = _unprintable(self.printer, expr)
            name = getattr(culprit.func, "__name__", str(culprit.func))
            raise UnsupportedNode(
                f"cannot generate code for {fmt(node)}: NumPy has no implementation of "
                f"{name} (in {fmt(culprit)}), and the generated code uses NumPy alone. "
                "Evaluate this expression with SymPy (or SciPy) instead."
            ) from exc
        if "math." in text:
            self.modules.add("math")
        if "scipy.special." in text:
            self.modules.add("scipy.special")
        for a, holder in holders.items():
            text = text.replace(str(holder), f"({operands[a]})")
        return text


def _unprintable(printer: NumPyPrinter, expr: Any) -> Any:
    """The innermost subexpression of ``expr`` that the NumPy printer cannot print."""
    culprit = expr
    for node in sp.preorder_traversal(expr):
        try:
            printer.doprint(node)
        except NotImplementedError:
            culprit = node
    return culprit
