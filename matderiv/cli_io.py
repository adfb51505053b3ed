"""The command line's running and printing: errors as clean messages and exit status
(with --json also as JSON), mistakes in the command line itself (a mistyped option, two
outputs at once), and the derivations printed as a table, LaTeX, JSON or code."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable

import typer
from rich.console import Console
from rich.text import Text

from .codegen import to_code
from .derivation import Derivation
from .errors import MatDerivError
from .render.json_view import derivation_json

EXIT_WRONG, EXIT_BAD_INPUT, EXIT_INTERNAL = 1, 2, 3


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False)


def run(debug: bool, action: Callable[[], int], as_json: bool = False) -> None:
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
    console(stderr=True).print(Text(f"{what}: ", style="bold red") + Text(message))
    if as_json:
        error = {"error": message, "kind": type(exc).__name__}
        typer.echo(json.dumps(error, ensure_ascii=False, indent=2))


def check_arguments(ctx: typer.Context, first: str) -> None:
    """Arguments left over are mistyped options (--shape) or extra arguments; Click
    names the first kind with the option meant, as without ignore_unknown_options.
    ``first`` is the formula argument, which a mistyped option may have taken."""
    known = sorted(o for p in ctx.command.params for o in p.opts if o.startswith("--"))
    for arg in (first, *ctx.args):
        name = arg.split("=", 1)[0]
        if re.fullmatch(r"--[A-Za-z][A-Za-z-]*", name) and name not in known:
            if name == "--layout" and ctx.command.name == "hessian":
                usage_error(
                    ctx, "a Hessian is the same in both layouts (it is symmetric): drop --layout"
                )
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            meant = f"; did you mean {close[0]}?" if close else f" (options: {', '.join(known)})"
            usage_error(ctx, f"no such option {name}{meant}")
    if ctx.args:
        usage_error(
            ctx,
            f"unexpected extra argument(s): {' '.join(ctx.args)} (quote a formula or a "
            'shape list that has spaces: --shapes "A: n x n, x: n")',
        )


def check_outputs(
    ctx: typer.Context, latex: bool, as_json: bool, code: str | None, standalone: bool
) -> None:
    chosen = [f for f, on in (("--latex", latex), ("--json", as_json), ("--code", code)) if on]
    if len(chosen) > 1:
        usage_error(ctx, f"{' and '.join(chosen)} print different things: choose one")
    if standalone and not latex:
        usage_error(ctx, "--standalone makes a LaTeX document: add --latex")


def usage_error(ctx: typer.Context, message: str) -> None:
    """A mistake in the command line itself: the message and where --help is, exit 2."""
    console(stderr=True).print(
        Text("error: ", style="bold red") + Text(f"{message}\nSee '{ctx.command_path} --help'.")
    )
    raise typer.Exit(EXIT_BAD_INPUT)


def print_derivations(
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
        out = console()
        for d in ds:
            out.print(d)
            if index:
                out.print(Text(d.to_index_notation()))


def _latex_document(ds: list[Derivation], index: bool) -> str:
    """One document with every derivation, each with its headline as a document of its
    own starts (the preamble of the first's; the headlines were dropped)."""
    documents = [d.to_latex(standalone=True, index=index) for d in ds]
    if len(ds) == 1:
        return documents[0]
    head = documents[0].partition("\\begin{document}")[0]
    bodies = [
        doc.partition("\\begin{document}\n")[2].rpartition("\\end{document}")[0].strip()
        for doc in documents
    ]
    body = "\n\n\\bigskip\n".join(bodies)
    return f"{head}\\begin{{document}}\n{body}\n\\end{{document}}\n"
