"""Run matderiv's benchmarks and print the tables; also write them to RESULTS.md.

    python benchmarks/run.py                      # everything (about 10 minutes)
    python benchmarks/run.py --quick              # fewer sizes and repeats
    python benchmarks/run.py --only derive,codegen,hessian
    python benchmarks/run.py --full               # every row of the identity battery
    python benchmarks/run.py --heavy              # also the multi-GB / multi-minute cases

See benchmarks/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported in main(), after the thread settings are in the environment
    from harness import Section, Table, Target
    from rich.table import Table as RichTable

SECTIONS = ("derive", "codegen", "hessian")  # in this order: derive forks before JAX loads
HERE = Path(__file__).resolve().parent


def limit_threads(threads: int) -> str:
    """Pin NumPy's BLAS and JAX's XLA to ``threads`` threads (before they are imported),
    and the process to ``threads`` cores; returns a description for the report.

    The flags alone do not hold XLA to one core: measured here, jitted JAX ran at
    1.57 cores of CPU time per second of wall time with them set (a runtime thread
    beside the compute thread), while NumPy ran at 1.0.  Pinning the whole process
    (``os.sched_setaffinity``) gives every implementation the same cores.
    """
    if threads <= 0:
        return "library defaults"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    flags = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"
    if threads > 1:
        flags = f"intra_op_parallelism_threads={threads}"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    note = f"BLAS/XLA limited to {threads}"
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[-threads:]
        os.sched_setaffinity(0, cores)
        note += f"; process pinned to core(s) {', '.join(map(str, cores))}"
    return note


def machine(threads: str) -> list[tuple[str, str]]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy as np

    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    versions = ", ".join(
        f"{p} {_version(p)}"
        for p in ("matderiv", "numpy", "sympy", "numba", "jax", "jaxlib", "autograd")
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} logical cores"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Packages", versions),
        ("BLAS", f"{blas.get('name', '?')} {blas.get('version', '')}".strip()),
        ("Threads", threads),
        ("Load average at start (1, 5, 15 min)", load),
    ]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def rich_table(t: Table) -> RichTable:
    from rich.table import Table as RichTable

    out = RichTable(*t.columns, title=t.title, title_justify="left", show_lines=False)
    for row in t.rows:
        out.add_row(*row)
    return out


def markdown_table(t: Table) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [f"### {t.title}", ""]
    lines.append("| " + " | ".join(esc(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---" for _ in t.columns) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in t.rows]
    if t.notes:
        lines.append("")
        lines += [f"- {note}" for note in t.notes]
    return "\n".join(lines) + "\n"


def targets_table(targets: list[Target]) -> Table:
    from harness import Table

    table = Table("Targets (issue 6)", ["target", "measured", "met"])
    for tg in targets:
        table.add(tg.name, tg.measured, {True: "✓", False: "✗", None: "not measured"}[tg.met])
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--full", action="store_true", help="print every battery row")
    parser.add_argument("--heavy", action="store_true", help="include multi-GB cases")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS and XLA threads and the cores the process may use (default 1: "
        "stable on a shared machine and equal for every library; 0: library defaults)",
    )
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"), help="Markdown file")
    parser.add_argument("--no-write", action="store_true", help="do not write the Markdown")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    threads = limit_threads(args.threads)
    from harness import Section, Settings, fmt_time
    from rich.console import Console

    settings = Settings.make(args.quick, args.full, args.heavy)
    command = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in (argv or []))
    started = datetime.datetime.now().astimezone()
    info = machine(threads)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(f"[bold]matderiv benchmarks[/bold]  {started:%Y-%m-%d %H:%M %Z}")
    for key, value in info:
        console.print(f"  {key}: {value}")

    results = Section()
    clock = time.perf_counter()
    for name in SECTIONS:
        if name not in chosen:
            continue
        console.rule(name)
        section = _load(name).run(settings)
        for table in section.tables:
            console.print(rich_table(table))
            for note in table.notes:
                console.print(f"  • {note}", style="dim")
        results.tables += section.tables
        results.targets += section.targets
    elapsed = time.perf_counter() - clock
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        info.append(("Load average at the end", load))
    summary = targets_table(results.targets)
    console.rule("targets")
    console.print(rich_table(summary))
    console.print(f"total time {fmt_time(elapsed)}")
    if not args.no_write:
        total = fmt_time(elapsed)
        _write(Path(args.output), command.strip(), started, info, total, summary, results)
        console.print(f"wrote {args.output}")
    return 0


def _load(name: str) -> Any:
    return importlib.import_module(f"{name}_bench")


def _write(
    path: Path,
    command: str,
    started: datetime.datetime,
    info: list[tuple[str, str]],
    total: str,
    summary: Table,
    results: Section,
) -> None:
    head = [
        "# matderiv benchmark results",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M %Z}",
        f"- Command: `{command}` (from the repository root; took {total})",
        *(f"- {key}: {value}" for key, value in info),
        "- Times are wall-clock (`time.perf_counter`): evaluations are the minimum over "
        "repeated autoranged batches, interleaved across the implementations of a row; "
        "derivations are single calls in freshly forked "
        "processes (cold caches), the minimum over runs.  Other processes may share the "
        "machine (see the load average), so absolute times are noisy; ratios between "
        "columns of one row, measured back to back, are more reliable.",
        "",
    ]
    body = [markdown_table(summary), *(markdown_table(t) for t in results.tables)]
    path.write_text("\n".join(head) + "\n" + "\n".join(body))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
