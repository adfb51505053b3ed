"""The command line's inputs: EXPR (or --of) read as a program or one formula, --wrt,
--symmetric and --direction read over the declared shapes."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from rich.text import Text
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .cli_io import console
from .diagnosis import entrywise_power_note
from .errors import ParseError, ShapeMismatch
from .nodes import Vec
from .parse.candidate import parse_notation, read_formula
from .parse.declarations import symbol_name
from .parse.expr import Program, parse_expression, parse_program
from .parse.expr_grammar import spelled
from .parse.expr_messages import suggest
from .render.unicode import fmt
from .shapes import dims_equal, shape_of


def read_program(text: str, symbols: dict[str, Any], as_program: bool = False) -> Program:
    """EXPR (or --of) in matderiv's syntax, which may define names; or one formula in
    LaTeX (\\|A x - b\\|^2) or in the Unicode notation matderiv prints (‖A x - b‖²),
    told apart as verify tells a candidate's notation."""
    formula = parse_notation(text, symbols)
    if formula is None:
        try:
            program = parse_program(text, symbols, as_program)
        except ParseError:
            if as_program or _DEFINES.search(text):
                raise
            formula = read_formula(text, symbols)  # x^T A x, tr(A X B): math, as verify reads
            _note(matrix_function_note(formula))
            return Program(formula)
        exprs = [program.expr, *program.names.values(), *program.definitions.values()]
        # A^-1 and A^2 read as entrywise powers: say so (LaTeX's are not)
        _note(next(filter(None, (entrywise_power_note(e) for e in exprs)), ""))
        _note(next(filter(None, (matrix_function_note(e) for e in exprs)), ""))
        return program
    if as_program:
        raise ParseError(
            "--program needs definitions in matderiv's syntax ('a = ...; L = ...'); "
            "a LaTeX or Unicode formula has none"
        )
    _note(matrix_function_note(formula))
    return Program(formula)


#: a program's marks: definitions (a = ...) or statements (;)
_DEFINES = re.compile(r";|(?<![<>=!])=(?!=)")


def _note(note: str) -> None:
    if note:
        console(stderr=True).print(Text("note: ", style="bold yellow") + Text(note))


#: functions with a meaning for a square matrix as a whole (a power series), which
#: matderiv takes entrywise
_MATRIX_FUNCTIONS = (sp.exp, sp.sin, sp.cos, sp.sinh, sp.cosh, sp.log)  # and √ (a Pow)


def matrix_function_note(expr: Any) -> str:
    """ "exp(X) is exp of each entry ..." for such a function of a square matrix (the
    Cookbook's ∂tr(sin X)/∂X = cos(X)ᵀ is of the matrix function); else ""."""
    for node in sorted(expr.atoms(ElementwiseApplyFunction), key=str):
        rows, cols = shape_of(node.expr)
        body = node.function.expr
        if dims_equal(rows, 1) or not dims_equal(rows, cols):
            continue
        power = isinstance(body, sp.Pow) and (body.base == sp.E or body.exp == sp.S.Half)
        if isinstance(body, _MATRIX_FUNCTIONS) or power:  # exp(X), √X
            return (
                f"{fmt(node)} is taken entry by entry: matderiv's functions of a matrix "
                "act on each entry, and it has no matrix functions (the matrix "
                "exponential, sin of a matrix as a power series)."
            )
    return ""


def variable(text: str, symbols: dict[str, Any], program: Program) -> Any:
    """--wrt read over the declared symbols; a name EXPR defines is no variable."""
    name = text.strip()
    defined = {*program.names, *map(str, program.definitions)}
    exprs = [program.expr, *program.definitions.values()]
    used = set().union(*(getattr(e, "free_symbols", set()) for e in exprs))
    if name in defined:
        inputs = sorted(str(s) for s in used & set(symbols.values()))
        raise ParseError(
            f"--wrt {name}: {name} is an intermediate the expression defines ({name} = "
            "...), not an input; differentiate with respect to an input"
            + (f" ({', '.join(inputs)})" if inputs else "")
            + f": the steps go through {name}."
        )
    variable = parse_expression(text, symbols)
    if not (getattr(variable, "free_symbols", set()) & used):
        _note(  # derive 'x^T A x + s^10' --wrt s: 0 from a misread formula looked right
            f"the expression does not contain {name}: its derivative with respect to {name} is 0"
        )
    return variable


def symmetric_matrices(text: str, symbols: dict[str, Any]) -> list[Any]:
    """--symmetric "Sigma, A": declared symbols."""
    out = []
    for given in filter(None, (part.strip() for part in re.split(r"[,;\s]+", text))):
        name = spelled(given)  # Σ is Sigma, as in --shapes
        if name not in symbols:
            raise ParseError(
                f"--symmetric {name}: no symbol {name} is declared in --shapes"
                + suggest(name, list(symbols))
            )
        out.append(symbols[name])
    return out


def program_inputs(program: Program, as_program: bool) -> dict[str, Any]:
    """How the engine gets the program's names: as where= definitions (--program) or
    as display names of the substituted intermediates."""
    return {"where": program.definitions} if as_program else {"names": program.names}


def direction(
    name: str | None, variable: Any, symbols: dict[str, Any], flag: str, given: bool
) -> Any:
    """The HVP direction --direction names (None without it): a declared symbol shaped
    like the variable X (for --wrt vec(X) too), or a new one; only with ``flag``."""
    if name is None:
        return None
    if not given:
        raise ParseError(
            f"--direction names the V of a Hessian-vector product: add {flag}, or drop --direction"
        )
    name = symbol_name(name, "--direction")
    if isinstance(variable, Vec):
        variable = variable.arg
    if name in symbols:
        V = symbols[name]
        if V.shape != variable.shape:
            raise ShapeMismatch(
                f"--direction {name} is declared {fmt(V.shape[0])} x {fmt(V.shape[1])}, but "
                f"the direction of a Hessian-vector product is shaped like {fmt(variable)} "
                f"({fmt(variable.shape[0])} x {fmt(variable.shape[1])}): declare it so, "
                "or leave it out of --shapes"
            )
        return V
    return sp.MatrixSymbol(name, *variable.shape)
