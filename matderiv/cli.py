"""The ``matderiv`` command: derive, verify and worked examples, in the terminal.

Bad input (syntax, shapes, unknown names) prints a clear message and exits
with status 2; ``verify`` exits 1 when the candidate is wrong.  No Python
traceback is shown unless ``--debug`` is given.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

import sympy as sp
import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .codegen import to_code
from .derivation import Derivation
from .diagnosis import entrywise_power_note
from .engine import derive
from .errors import MatDerivError, ParseError, ShapeMismatch, UnusedNameWarning
from .examples import EXAMPLES
from .nodes import Vec
from .parse.candidate import parse_notation
from .parse.declarations import parse_shapes, symbol_name
from .parse.expr import Program, parse_expression, parse_program
from .parse.expr_messages import suggest
from .render.json_view import derivation_json, verdict_json
from .render.unicode import fmt
from .second_order import hessian, hvp
from .verification import verify

EXIT_WRONG, EXIT_BAD_INPUT, EXIT_INTERNAL = 1, 2, 3

app = typer.Typer(
    help=(
        "Symbolic matrix calculus that shows its work.\n\n"
        "Examples (each on one line):\n\n"
        "\b\n"
        "  matderiv example rnn\n\n"
        "\b\n"
        '  matderiv derive "a = W.T @ e + U.T @ h0; h = tanh(a); L = c.T @ h" --wrt W\n'
        '      --shapes "W: n_i x n_h, U: n_h x n_h, e: n_i, h0: n_h, c: n_h"\n\n'
        "\b\n"
        '  matderiv verify "kron(e, eye(n_h)) @ diag(1 - h^2)" --of "h = tanh(W.T @ e)"\n'
        '      --wrt "vec(W.T)" --shapes "W: n_i x n_h, e: n_i" --layout denominator\n\n'
        "\b\n"
        '  matderiv hessian "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n"'
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

SHAPES_HELP = (
    'Shapes of the symbols, e.g. "W_hx: n_i x n_h, e: n_i" (one dimension = a column '
    "vector); a symbol left out is named in the error."
)
WRT_HELP = "Variable: a symbol X, vec(X) or vec(X.T)."
LAYOUT_HELP = "numerator (J = d vec Y / d vec Xᵀ) or denominator (Jᵀ; gradients shaped like X)."

# options several commands share
# optional: without it, the first symbol of the expression is "unknown", with a caret
# under it and the declaration to add, which says more than "Missing option"
_SHAPES = typer.Option("", "--shapes", help=SHAPES_HELP)
_LAYOUT = typer.Option("numerator", "--layout", help=LAYOUT_HELP)
_LATEX = typer.Option(False, "--latex", help="Print LaTeX (amsmath align*).")
_STANDALONE = typer.Option(
    False, "--standalone", help="With --latex: a whole document that pdflatex compiles."
)
_JSON = typer.Option(False, "--json", help="Print JSON: result, shape, steps.")
_INDEX = typer.Option(False, "--index", help="Also show index notation.")
_PROGRAM = typer.Option(
    False,
    "--program",
    help="Keep the definitions 'a = ...; h = ...' as a program (where=): the result "
    "refers to their names and to generated adjoints h̄ (backprop), defined in the steps "
    "under 'generated program' (in --json: 'definitions').",
)
_CODE = typer.Option(
    None,
    "--code",
    help="Print the generated function instead of the steps: --code numpy, or "
    "--code numba (compiled by numba.njit; pip install 'matderiv[numba]').",
)
_DEBUG = typer.Option(False, "--debug", help="Show Python tracebacks.")
_WRT_SEVERAL = typer.Option(
    ...,
    "--wrt",
    help=f"{WRT_HELP} Repeat it for several variables: one derivation each, or with "
    "--code one function returning all of them.",
)


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False)


def _run(debug: bool, action: Callable[[], int], as_json: bool = False) -> None:
    """Run ``action``; turn matderiv errors into exit status 2 and a clean message (with
    --json also a JSON object {"error": ..., "kind": ...} on stdout, for scripts)."""
    try:
        code = action()
    except MatDerivError as exc:
        if debug:
            raise
        _report("error", exc, str(exc), as_json)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as exc:
        if debug:
            raise
        message = f"{type(exc).__name__}: {exc}\nRun again with --debug for the traceback."
        _report("internal error", exc, message, as_json)
        raise typer.Exit(EXIT_INTERNAL) from None
    raise typer.Exit(code)


def _report(what: str, exc: Exception, message: str, as_json: bool) -> None:
    _console(stderr=True).print(Text(f"{what}: ", style="bold red") + Text(message))
    if as_json:
        error = {"error": message, "kind": type(exc).__name__}
        typer.echo(json.dumps(error, ensure_ascii=False, indent=2))


def _check_arguments(ctx: typer.Context, first: str) -> None:
    """Arguments left over are mistyped options (--shape) or extra arguments; Click
    names the first kind with the option meant, as without ignore_unknown_options.
    ``first`` is the formula argument, which a mistyped option may have taken."""
    known = sorted(o for p in ctx.command.params for o in p.opts if o.startswith("--"))
    for arg in (first, *ctx.args):
        name = arg.split("=", 1)[0]
        if re.fullmatch(r"--[A-Za-z][A-Za-z-]*", name) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            meant = f"; did you mean {close[0]}?" if close else f" (options: {', '.join(known)})"
            _usage_error(ctx, f"no such option {name}{meant}")
    if ctx.args:
        _usage_error(
            ctx,
            f"unexpected extra argument(s): {' '.join(ctx.args)} (quote a formula or a "
            'shape list that has spaces: --shapes "A: n x n, x: n")',
        )


def _check_outputs(
    ctx: typer.Context, latex: bool, as_json: bool, code: str | None, standalone: bool
) -> None:
    chosen = [f for f, on in (("--latex", latex), ("--json", as_json), ("--code", code)) if on]
    if len(chosen) > 1:
        _usage_error(ctx, f"{' and '.join(chosen)} print different things: choose one")
    if standalone and not latex:
        _usage_error(ctx, "--standalone makes a LaTeX document: add --latex")


def _usage_error(ctx: typer.Context, message: str) -> None:
    """A mistake in the command line itself: the message and where --help is, exit 2."""
    _console(stderr=True).print(
        Text("error: ", style="bold red") + Text(f"{message}\nSee '{ctx.command_path} --help'.")
    )
    raise typer.Exit(EXIT_BAD_INPUT)


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


def _print_derivation(
    d: Derivation,
    latex: bool,
    as_json: bool,
    index: bool,
    code: str | None = None,
    standalone: bool = False,
) -> None:
    _print_derivations([d], latex, as_json, index, code, standalone)


def _print_derivations(
    ds: list[Derivation],
    latex: bool,
    as_json: bool,
    index: bool,
    code: str | None = None,
    standalone: bool = False,
) -> None:
    """One derivation as before; several (one per --wrt) one after another, as a JSON
    list, or as one generated function returning a tuple (shared work computed once)."""
    if code is not None:
        typer.echo(to_code(ds if len(ds) > 1 else ds[0], backend=code), nl=False)
    elif as_json:
        data = [derivation_json(d) for d in ds]
        typer.echo(json.dumps(data if len(ds) > 1 else data[0], indent=2, ensure_ascii=False))
    elif latex and standalone:
        typer.echo(_latex_document(ds, index))
    elif latex:
        typer.echo("\n\n".join(d.to_latex(index=index) for d in ds))
    else:
        console = _console()
        for d in ds:
            console.print(d)
            if index:
                console.print(Text(d.to_index_notation()))


def _latex_document(ds: list[Derivation], index: bool) -> str:
    """One document with every derivation (the preamble of the first's)."""
    first = ds[0].to_latex(standalone=True, index=index)
    if len(ds) == 1:
        return first
    head, _, _ = first.partition("\\begin{document}")
    body = "\n\n".join(d.to_latex(index=index) for d in ds)
    return f"{head}\\begin{{document}}\n{body}\n\\end{{document}}\n"


def _read_program(text: str, symbols: dict[str, Any], as_program: bool = False) -> Program:
    """EXPR (or --of) in matderiv's syntax, which may define names; or one formula in
    LaTeX (\\|A x - b\\|^2) or in the Unicode notation matderiv prints (‖A x - b‖²),
    told apart as verify tells a candidate's notation."""
    formula = parse_notation(text, symbols)
    if formula is None:
        program = parse_program(text, symbols, as_program)
        exprs = [program.expr, *program.names.values(), *program.definitions.values()]
        note = next(filter(None, (entrywise_power_note(e) for e in exprs)), "")
        if note:  # A^-1 and A^2 read as entrywise powers: say so (LaTeX's are not)
            _console(stderr=True).print(Text("note: ", style="bold yellow") + Text(f"{note}"))
        return program
    if as_program:
        raise ParseError(
            "--program needs definitions in matderiv's syntax ('a = ...; L = ...'); "
            "a LaTeX or Unicode formula has none"
        )
    return Program(formula)


def _variable(text: str, symbols: dict[str, Any], program: Program) -> Any:
    """--wrt read over the declared symbols; a name EXPR defines is no variable."""
    name = text.strip()
    defined = {*program.names, *map(str, program.definitions)}
    if name in defined:
        exprs = [program.expr, *program.definitions.values()]
        used = set().union(*(e.free_symbols for e in exprs))
        inputs = sorted(str(s) for s in used & set(symbols.values()))
        raise ParseError(
            f"--wrt {name}: {name} is an intermediate the expression defines ({name} = "
            "...), not an input; differentiate with respect to an input"
            + (f" ({', '.join(inputs)})" if inputs else "")
            + f": the steps go through {name}."
        )
    return parse_expression(text, symbols)


def _symmetric(text: str, symbols: dict[str, Any]) -> list[Any]:
    """--symmetric "Sigma, A": declared symbols."""
    out = []
    for name in filter(None, (part.strip() for part in re.split(r"[,;\s]+", text))):
        if name not in symbols:
            raise ParseError(
                f"--symmetric {name}: no symbol {name} is declared in --shapes"
                + suggest(name, list(symbols))
            )
        out.append(symbols[name])
    return out


def _program_inputs(program: Program, as_program: bool) -> dict[str, Any]:
    """How the engine gets the program's names: as where= definitions (--program) or
    as display names of the substituted intermediates."""
    return {"where": program.definitions} if as_program else {"names": program.names}


#: "-X^{-T}" is a formula, not an unknown option (real options still work); what is
#: left over is checked by ``_check_arguments``
_FORMULAS_MAY_START_WITH_MINUS = {"ignore_unknown_options": True, "allow_extra_args": True}


@app.command("derive", context_settings=_FORMULAS_MAY_START_WITH_MINUS)
def derive_command(
    ctx: typer.Context,
    expr: str = typer.Argument(
        ..., help="Expression, or definitions 'a = ...; h = ...; L = ...'."
    ),
    wrt: list[str] = _WRT_SEVERAL,
    shapes: str = _SHAPES,
    layout: str = _LAYOUT,
    latex: bool = _LATEX,
    standalone: bool = _STANDALONE,
    as_json: bool = _JSON,
    index: bool = _INDEX,
    as_program: bool = _PROGRAM,
    code: str | None = _CODE,
    debug: bool = _DEBUG,
) -> None:
    """Differentiate EXPR with respect to --wrt and print every step.

    \b
    Example:
      matderiv derive "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n" --layout denominator
    """

    _check_arguments(ctx, expr)
    _check_outputs(ctx, latex, as_json, code, standalone)

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = _read_program(expr, symbols, as_program)
        variables = [_variable(w, symbols, program) for w in wrt]
        if len(set(variables)) < len(variables):
            raise ParseError(f"--wrt names a variable twice: {', '.join(wrt)}")
        ds = [
            derive(program.expr, v, layout, **_program_inputs(program, as_program))
            for v in variables
        ]
        _print_derivations(ds, latex, as_json, index, code, standalone)
        return 0

    _run(debug, action, as_json)


def _direction(
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


@app.command("hessian", context_settings=_FORMULAS_MAY_START_WITH_MINUS)
def hessian_command(
    ctx: typer.Context,
    expr: str = typer.Argument(
        ..., help="A scalar expression, or definitions 'a = ...; h = ...; L = ...'."
    ),
    wrt: str = typer.Option(..., "--wrt", help="Variable: a symbol X (a vector or a matrix)."),
    shapes: str = _SHAPES,
    product: bool = typer.Option(
        False,
        "--hvp",
        help="The Hessian-vector product H vec(V), shaped like X, without the Hessian.",
    ),
    direction: str | None = typer.Option(
        None,
        "--direction",
        help="With --hvp: the name of V (declared in --shapes, or a new symbol shaped like "
        "X). Default: V, or a fresh name if V is taken.",
    ),
    latex: bool = _LATEX,
    standalone: bool = _STANDALONE,
    as_json: bool = _JSON,
    index: bool = _INDEX,
    as_program: bool = _PROGRAM,
    code: str | None = _CODE,
    debug: bool = _DEBUG,
) -> None:
    """The Hessian d²f/dvec(X)dvec(X)ᵀ of a scalar EXPR, or with --hvp the product H vec(V).

    \b
    Example:
      matderiv hessian "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n"
    """

    _check_arguments(ctx, expr)
    _check_outputs(ctx, latex, as_json, code, standalone)

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = _read_program(expr, symbols, as_program)
        variable = _variable(wrt, symbols, program)
        kwargs = _program_inputs(program, as_program)
        V = _direction(direction, variable, symbols, "--hvp", product)
        if product:
            d = hvp(program.expr, variable, V, **kwargs)
        else:
            d = hessian(program.expr, variable, **kwargs)
        _print_derivation(d, latex, as_json, index, code, standalone)
        return 0

    _run(debug, action, as_json)


@app.command("verify", context_settings=_FORMULAS_MAY_START_WITH_MINUS)
def verify_command(
    ctx: typer.Context,
    candidate: str = typer.Argument(..., help="Your formula: matderiv syntax or LaTeX."),
    of: str = typer.Option(..., "--of", help="The expression differentiated (may define names)."),
    wrt: str = typer.Option(..., "--wrt", help=WRT_HELP),
    shapes: str = _SHAPES,
    layout: str = _LAYOUT,
    second: bool = typer.Option(
        False,
        "--hessian",
        help="CANDIDATE is the Hessian d²f/dvec(X)dvec(X)ᵀ of the scalar --of "
        "(the same in both layouts).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the verdict as JSON (ok, kind, message, formulas)."
    ),
    direction: str | None = typer.Option(
        None,
        "--direction",
        help="With --hessian: CANDIDATE is the Hessian-vector product H vec(V), shaped like "
        "X, written with this V (declared in --shapes, or a new symbol shaped like X).",
    ),
    as_program: bool = typer.Option(
        False,
        "--program",
        help="Keep the definitions of --of as a program (where=), as derive --program: "
        "CANDIDATE may use their names and the generated adjoints h̄ (hbar_1, h̄₁).",
    ),
    symmetric: str = typer.Option(
        "",
        "--symmetric",
        help='Square constant matrices CANDIDATE may take as symmetric, e.g. "Sigma, A" '
        "(a covariance): 2 A x for x.T @ A @ x is then right.",
    ),
    debug: bool = _DEBUG,
) -> None:
    """Check a hand-derived CANDIDATE; exit 0 if it is right, 1 if it is wrong.

    \b
    Example (wrong on purpose: right only if A is symmetric, so it exits 1):
      matderiv verify "2 * A @ x" --of "x.T @ A @ x" --wrt x
          --shapes "A: n x n, x: n" --layout denominator
    """

    _check_arguments(ctx, candidate)

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = _read_program(of, symbols, as_program)
        variable = _variable(wrt, symbols, program)
        V = _direction(direction, variable, symbols, "--hessian", second)
        verdict = verify(
            candidate,
            program.expr,
            variable,
            layout,
            **_program_inputs(program, as_program),
            order=2 if second else 1,
            direction=V,
            symmetric=_symmetric(symmetric, symbols),
        )
        if as_json:
            typer.echo(json.dumps(verdict_json(verdict), ensure_ascii=False, indent=2))
        else:
            _console().print(verdict)
        return 0 if verdict else EXIT_WRONG

    _run(debug, action, as_json)


@app.command("example")
def example_command(
    name: str = typer.Argument("rnn", help=f"One of: {', '.join(EXAMPLES)}."),
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of the table."),
    index: bool = _INDEX,
) -> None:
    """Print a worked derivation (rnn: one RNN step; rnn-loss: its scalar loss;
    logdet-hessian: the Hessian of log det X)."""
    if name not in EXAMPLES:
        typer.echo(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    ex = EXAMPLES[name]()
    if ex.order == 2:
        d = hessian(ex.expr, ex.wrt, names=ex.names)
    else:
        d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
    if not latex:
        _console().print(Text(ex.title, style="bold"))
    _print_derivation(d, latex, False, index)


def main() -> None:
    """Entry point of the ``matderiv`` console script."""
    # the names of a program's definitions: SymPy may rebuild one away (g.T @ (c / s)
    # as (1/s) gᵀ c), which is no typo on the command line
    warnings.simplefilter("ignore", UnusedNameWarning)
    sys.exit(app())


__all__ = ["app", "derivation_json", "main"]
