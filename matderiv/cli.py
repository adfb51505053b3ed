"""The ``matderiv`` command: derive, verify and worked examples, in the terminal.

Bad input (syntax, shapes, unknown names) prints a clear message and exits
with status 2; ``verify`` exits 1 when the candidate is wrong.  No Python
traceback is shown unless ``--debug`` is given.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .derivation import Derivation
from .engine import derive
from .errors import MatDerivError
from .examples import EXAMPLES
from .parse.declarations import parse_shapes
from .parse.expr import parse_expression, parse_program
from .render.latex import tex, tex_shape
from .render.unicode import fmt
from .verification import verify

EXIT_WRONG, EXIT_BAD_INPUT, EXIT_INTERNAL = 1, 2, 3

app = typer.Typer(
    help=(
        "Symbolic matrix calculus that shows its work.\n\n"
        "Examples:\n\n"
        "  matderiv example rnn\n\n"
        '  matderiv derive "a = W.T @ e + U.T @ h0; h = tanh(a); L = c.T @ h" '
        '--wrt W --shapes "W: n_i x n_h, U: n_h x n_h, e: n_i, h0: n_h, c: n_h"\n\n'
        '  matderiv verify "kron(e, eye(n_h)) @ diag(1 - h^2)" --of "h = tanh(W.T @ e)" '
        '--wrt "vec(W.T)" --shapes "W: n_i x n_h, e: n_i" --layout denominator'
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

SHAPES_HELP = 'Shapes, e.g. "W_hx: n_i x n_h, e: n_i" (one dimension = a column vector).'
WRT_HELP = "Variable: a symbol X, vec(X) or vec(X.T)."
LAYOUT_HELP = "numerator (J = d vec Y / d vec Xᵀ) or denominator (Jᵀ; gradients shaped like X)."


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False)


def _run(debug: bool, action: Callable[[], int]) -> None:
    """Run ``action``; turn matderiv errors into exit status 2 and a clean message."""
    try:
        code = action()
    except MatDerivError as exc:
        if debug:
            raise
        _console(stderr=True).print(Text("error: ", style="bold red") + Text(str(exc)))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as exc:
        if debug:
            raise
        message = f"{type(exc).__name__}: {exc}\nRun again with --debug for the traceback."
        _console(stderr=True).print(Text("internal error: ", style="bold red") + Text(message))
        raise typer.Exit(EXIT_INTERNAL) from None
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"matderiv {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """matderiv: layout-annotated matrix derivatives with every chain-rule step."""


def derivation_json(d: Derivation) -> dict[str, Any]:
    """A Derivation as plain JSON data for other programs."""

    def shape(s: Any) -> list[str]:
        return [str(s[0]), str(s[1])]

    steps = []
    for step in d.steps:
        item: dict[str, Any] = {
            "kind": step.kind,
            "lhs": step.lhs,
            "expr": fmt(step.expr),
            "latex": tex(step.expr),
            "shape": shape(step.shape),
            "rule": step.rule,
            "note": step.note,
        }
        if step.differential is not None:
            item["differential"] = [fmt(step.differential[0]), fmt(step.differential[1])]
        if step.factors:
            item["factors"] = [
                [{"label": f.label, "shape": shape(f.shape)} for f in term]
                for term in step.factors
            ]
            item["product_shape"] = shape(step.product_shape)
        if step.before is not None:
            item["before"] = fmt(step.before)
        steps.append(item)
    return {
        "of": fmt(d.of),
        "wrt": fmt(d.wrt),
        "layout": d.layout,
        "result": fmt(d.result),
        "result_named": fmt(d.steps[-1].expr),
        "result_latex": tex(d.result),
        "shape": shape(d.shape),
        "shape_latex": tex_shape(d.shape),
        "description": d.description,
        "definitions": [
            {"name": str(k), "expr": fmt(v), "latex": tex(v)} for k, v in d.definitions.items()
        ],
        "steps": steps,
    }


def _print_derivation(
    d: Derivation, latex: bool, as_json: bool, index: bool, code: str | None = None
) -> None:
    if code is not None:
        typer.echo(d.to_code(backend=code), nl=False)
    elif as_json:
        typer.echo(json.dumps(derivation_json(d), ensure_ascii=False, indent=2))
    elif latex:
        typer.echo(d.to_latex(index=index))
    else:
        console = _console()
        console.print(d)
        if index:
            console.print(Text(d.to_index_notation()))


#: "-X^{-T}" is a formula, not an unknown option (real options still work)
_FORMULAS_MAY_START_WITH_MINUS = {"ignore_unknown_options": True}


@app.command("derive", context_settings=_FORMULAS_MAY_START_WITH_MINUS)
def derive_command(
    expr: str = typer.Argument(
        ..., help="Expression, or definitions 'a = ...; h = ...; L = ...'."
    ),
    wrt: str = typer.Option(..., "--wrt", help=WRT_HELP),
    shapes: str = typer.Option(..., "--shapes", help=SHAPES_HELP),
    layout: str = typer.Option("numerator", "--layout", help=LAYOUT_HELP),
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX (amsmath align*)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: result, shape, steps."),
    index: bool = typer.Option(False, "--index", help="Also show index notation."),
    as_program: bool = typer.Option(
        False,
        "--program",
        help="Keep the definitions 'a = ...; h = ...' as a program (where=): the result "
        "refers to their names and to generated adjoints, listed under Definitions.",
    ),
    code: str | None = typer.Option(
        None,
        "--code",
        help="Print the generated function instead of the steps: --code numpy, or "
        "--code numba (compiled by numba.njit; pip install 'matderiv[numba]').",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks."),
) -> None:
    """Differentiate EXPR with respect to --wrt and print every step.

    Example: matderiv derive "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n" --layout denominator
    """

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = parse_program(expr, symbols, as_program)
        variable = parse_expression(wrt, symbols)
        if as_program:
            d = derive(program.expr, variable, layout, where=program.definitions)
        else:
            d = derive(program.expr, variable, layout, names=program.names)
        _print_derivation(d, latex, as_json, index, code)
        return 0

    _run(debug, action)


@app.command("verify", context_settings=_FORMULAS_MAY_START_WITH_MINUS)
def verify_command(
    candidate: str = typer.Argument(..., help="Your formula: matderiv syntax or LaTeX."),
    of: str = typer.Option(..., "--of", help="The expression differentiated (may define names)."),
    wrt: str = typer.Option(..., "--wrt", help=WRT_HELP),
    shapes: str = typer.Option(..., "--shapes", help=SHAPES_HELP),
    layout: str = typer.Option("numerator", "--layout", help=LAYOUT_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks."),
) -> None:
    """Check a hand-derived CANDIDATE; exit 0 if it is right, 1 if it is wrong.

    Example: matderiv verify "2 * A @ x" --of "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n"
    --layout denominator
    """

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = parse_program(of, symbols)
        variable = parse_expression(wrt, symbols)
        verdict = verify(candidate, program.expr, variable, layout, names=program.names)
        _console().print(verdict)
        return 0 if verdict else EXIT_WRONG

    _run(debug, action)


@app.command("example")
def example_command(
    name: str = typer.Argument("rnn", help=f"One of: {', '.join(EXAMPLES)}."),
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of the table."),
    index: bool = typer.Option(False, "--index", help="Also show index notation."),
) -> None:
    """Print a worked derivation (rnn: one RNN step; rnn-loss: its scalar loss)."""
    if name not in EXAMPLES:
        typer.echo(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    ex = EXAMPLES[name]()
    d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
    if not latex:
        _console().print(Text(ex.title, style="bold"))
    _print_derivation(d, latex, False, index)


def main() -> None:
    """Entry point of the ``matderiv`` console script."""
    sys.exit(app())


__all__ = ["app", "derivation_json", "main"]
