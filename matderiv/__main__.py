"""The ``matderiv`` command (``python -m matderiv``)."""

from __future__ import annotations

import typer
from rich.console import Console

from . import __version__
from .engine import derive
from .examples import EXAMPLES

app = typer.Typer(
    help="Symbolic matrix calculus that shows its work.",
    no_args_is_help=True,
    add_completion=False,
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


@app.command()
def example(
    name: str = typer.Argument("rnn", help=f"One of: {', '.join(EXAMPLES)}."),
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of the table."),
) -> None:
    """Print a worked derivation, e.g. `matderiv example rnn`."""
    if name not in EXAMPLES:
        typer.echo(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}", err=True)
        raise typer.Exit(2)
    ex = EXAMPLES[name]()
    d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
    if latex:
        typer.echo(d.to_latex())
        return
    console = Console()
    console.print(f"[bold]{ex.title}[/bold]")
    console.print(d)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
