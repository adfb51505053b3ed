"""The ``matderiv`` command: derive, verify and worked examples, in the terminal.

Bad input (syntax, shapes, unknown names) prints a clear message and exits
with status 2; ``verify`` exits 1 when the candidate is wrong.  No Python
traceback is shown unless ``--debug`` is given.
"""

from __future__ import annotations

import json
import sys
import warnings

import typer
from rich.text import Text

from . import __version__, cli_io
from . import cli_inputs as inputs
from .engine import derive
from .errors import MatDerivError, ParseError, UnusedNameWarning
from .examples import EXAMPLES
from .parse.declarations import parse_shapes
from .render.json_view import derivation_json, verdict_json
from .second_order import hessian, hvp
from .verification import verify

app = typer.Typer(
    help=(
        "Symbolic matrix calculus that shows its work. The layout is numerator unless "
        "--layout denominator (gradients shaped like X) is given.\n\n"
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
    'Shapes of the symbols, e.g. "W_hx: n_i x n_h, e: n_i, lam: scalar" (one dimension '
    "= a column vector); a symbol left out is named in the error."
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
_SYMMETRIC = typer.Option(
    "",
    "--symmetric",
    help='Square matrices that are symmetric, e.g. "Sigma, S" (a covariance, its data): '
    "the result is written with Sigma.T = Sigma; with --wrt Sigma too, the gradient among "
    "symmetric matrices, (G + G.T)/2.",
)
_WRT_SEVERAL = typer.Option(
    ...,
    "--wrt",
    help=f"{WRT_HELP} Repeat it for several variables: one derivation each, or with "
    "--code one function returning all of them.",
)


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
    symmetric: str = _SYMMETRIC,
    debug: bool = _DEBUG,
) -> None:
    """Differentiate EXPR with respect to --wrt and print every step.

    \b
    Example:
      matderiv derive "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n" --layout denominator
    """

    cli_io.check_arguments(ctx, expr)
    cli_io.check_outputs(ctx, latex, as_json, code, standalone)

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = inputs.read_program(expr, symbols, as_program)
        variables = [inputs.variable(w, symbols, program) for w in wrt]
        if len(set(variables)) < len(variables):
            raise ParseError(f"--wrt names a variable twice: {', '.join(wrt)}")
        kwargs = inputs.program_inputs(program, as_program)
        declared = inputs.symmetric_matrices(symmetric, symbols)
        ds = [derive(program.expr, v, layout, **kwargs, symmetric=declared) for v in variables]
        cli_io.print_derivations(ds, latex, as_json, index, code, standalone)
        return 0

    cli_io.run(debug, action, as_json)


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
    symmetric: str = typer.Option(
        "",
        "--symmetric",
        help='Square constant matrices that are symmetric, e.g. "Sigma": the result is '
        "written with Sigma.T = Sigma.",
    ),
    debug: bool = _DEBUG,
) -> None:
    """The Hessian d²f/dvec(X)dvec(X)ᵀ of a scalar EXPR, or with --hvp the product H vec(V).

    \b
    Example:
      matderiv hessian "x.T @ A @ x" --wrt x --shapes "A: n x n, x: n"
    """

    cli_io.check_arguments(ctx, expr)
    cli_io.check_outputs(ctx, latex, as_json, code, standalone)

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = inputs.read_program(expr, symbols, as_program)
        variable = inputs.variable(wrt, symbols, program)
        kwargs = inputs.program_inputs(program, as_program)
        kwargs["symmetric"] = inputs.symmetric_matrices(symmetric, symbols)
        V = inputs.direction(direction, variable, symbols, "--hvp", product)
        if product:
            d = hvp(program.expr, variable, V, **kwargs)
        else:
            d = hessian(program.expr, variable, **kwargs)
        cli_io.print_derivations([d], latex, as_json, index, code, standalone)
        return 0

    cli_io.run(debug, action, as_json)


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
        help='Square matrices CANDIDATE may take as symmetric, e.g. "Sigma, A" (a '
        "covariance): 2 A x for x.T @ A @ x is then right; with --wrt Sigma too, the "
        "gradient among symmetric matrices.",
    ),
    debug: bool = _DEBUG,
) -> None:
    """Check a hand-derived CANDIDATE; exit 0 if it is right, 1 if it is wrong.

    \b
    Example (wrong on purpose: right only if A is symmetric, so it exits 1):
      matderiv verify "2 * A @ x" --of "x.T @ A @ x" --wrt x
          --shapes "A: n x n, x: n" --layout denominator
    """

    cli_io.check_arguments(ctx, candidate)

    def action() -> int:
        symbols = parse_shapes(shapes)
        program = inputs.read_program(of, symbols, as_program)
        variable = inputs.variable(wrt, symbols, program)
        V = inputs.direction(direction, variable, symbols, "--hessian", second)
        verdict = verify(
            candidate,
            program.expr,
            variable,
            layout,
            **inputs.program_inputs(program, as_program),
            order=2 if second else 1,
            direction=V,
            symmetric=inputs.symmetric_matrices(symmetric, symbols),
        )
        if as_json:
            typer.echo(json.dumps(verdict_json(verdict), ensure_ascii=False, indent=2))
        else:
            cli_io.console().print(verdict)
        return 0 if verdict else cli_io.EXIT_WRONG

    cli_io.run(debug, action, as_json)


@app.command("example")
def example_command(
    ctx: typer.Context,
    name: str = typer.Argument("rnn", help=f"One of: {', '.join(EXAMPLES)}."),
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of the table."),
    as_json: bool = _JSON,
    standalone: bool = _STANDALONE,
    index: bool = _INDEX,
) -> None:
    """Print a worked derivation (rnn: one RNN step; rnn-loss: its scalar loss;
    logdet-hessian: the Hessian of log det X)."""
    cli_io.check_outputs(ctx, latex, as_json, None, standalone)

    def action() -> int:
        if name not in EXAMPLES:  # said as derive says its errors (JSON with --json)
            raise MatDerivError(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}")
        ex = EXAMPLES[name]()
        if ex.order == 2:
            d = hessian(ex.expr, ex.wrt, names=ex.names)
        else:
            d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
        if not (latex or as_json):
            cli_io.console().print(Text(ex.title, style="bold"))
        cli_io.print_derivations([d], latex, as_json, index, None, standalone)
        return 0

    cli_io.run(False, action, as_json)


def main() -> None:
    """Entry point of the ``matderiv`` console script."""
    # the names of a program's definitions: SymPy may rebuild one away (g.T @ (c / s)
    # as (1/s) gᵀ c), which is no typo on the command line
    warnings.simplefilter("ignore", UnusedNameWarning)
    _utf8_streams()
    sys.exit(app())


def _utf8_streams() -> None:
    """Output in UTF-8 where the stream's encoding has no ᵀ, ∂, ⊗ (cp1252: Windows'
    redirection to a file), which printed an internal error (UnicodeEncodeError)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "ᵀ∂⊗∘𝟏".encode(getattr(stream, "encoding", None) or "ascii")
        except (LookupError, UnicodeEncodeError):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(encoding="utf-8")


__all__ = ["app", "derivation_json", "main"]
