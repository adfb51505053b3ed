"""Shared machinery: result tables, wall-clock timers, time-limited child processes.

All times are wall-clock seconds from ``time.perf_counter``.  Evaluation
timings take the minimum over repeats of a timeit-style autoranged loop;
derivation timings run each case in a freshly forked child process, so
SymPy's and matderiv's caches start cold every time (what a user sees on the
first call), and take the minimum over such runs.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

MISMATCH = "✗ mismatch"
FAILED = "✗ error"


@dataclass
class Table:
    """One result table: printed with rich and written as Markdown."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append([str(c) for c in cells])


@dataclass
class Target:
    """One target of issue 6 and whether this run met it."""

    name: str
    measured: str
    met: bool | None  # None: not measured in this run


@dataclass
class Section:
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


@dataclass
class Settings:
    quick: bool = False
    full: bool = False  # print every row of long tables
    heavy: bool = False  # sizes that take minutes or many GB
    min_time: float = 0.2  # seconds per timed batch (autorange)
    repeats: int = 5  # timed batches per measurement; the minimum is reported

    @classmethod
    def make(cls, quick: bool, full: bool, heavy: bool) -> Settings:
        if quick:
            return cls(quick=True, full=full, heavy=heavy, min_time=0.05, repeats=3)
        return cls(full=full, heavy=heavy)


# -- formatting --------------------------------------------------------------------


def fmt_time(t: float | None) -> str:
    """Seconds in a readable unit, three significant digits."""
    if t is None or math.isnan(t):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale or unit == "µs":
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} s"


def fmt_ratio(r: float | None) -> str:
    if r is None or math.isnan(r) or math.isinf(r):
        return "-"
    return f"{r:.2f}x"


def median(values: list[float]) -> float:
    v = sorted(values)
    if not v:
        return math.nan
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


# -- output size ---------------------------------------------------------------------


def nodes(expr: Any) -> int:
    """Tree size in SymPy nodes: every node of the expression tree, repeats counted.

    MatrixSymbols, Symbols and numbers are leaves (one node each; their name and
    shape arguments are not counted).  The count is iterative (no recursion limit).
    """
    if not isinstance(expr, sp.Basic):
        return 1
    count, stack = 0, [expr]
    while stack:
        node = stack.pop()
        count += 1
        if not isinstance(node, sp.MatrixSymbol) and not node.is_Atom:
            stack.extend(a for a in node.args if isinstance(a, sp.Basic))
    return count


def distinct_nodes(expr: Any) -> int:
    """DAG size: distinct subexpressions (what a common-subexpression pass keeps).

    Nodes are numbered bottom-up by (type, numbers of their arguments), iteratively:
    SymPy's own hashing and equality recurse and overflow the stack on deep trees.
    """
    if not isinstance(expr, sp.Basic):
        return 1
    number: dict[int, int] = {}  # id(node) -> class number (expr keeps every node alive)
    classes: dict[Any, int] = {}
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in number:
            continue
        leaf = isinstance(node, sp.MatrixSymbol) or node.is_Atom
        args = [] if leaf else [a for a in node.args if isinstance(a, sp.Basic)]
        if not ready and args:
            stack.append((node, True))
            stack.extend((a, False) for a in args if id(a) not in number)
            continue
        key = ("leaf", node) if leaf else (type(node), tuple(number[id(a)] for a in args))
        number[id(node)] = classes.setdefault(key, len(classes))
    return len(classes)


# -- time-limited child processes ----------------------------------------------------


@dataclass
class Outcome:
    status: str  # "ok" | "timeout" | "error" | "crash"
    value: Any = None
    error: str = ""


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(Outcome("ok", fn(*args)))
    except BaseException as exc:  # report every failure to the parent
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/matderiv/" in f.filename or "/benchmarks/" in f.filename]
        where = " ".join(
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in (ours or frames)[-1:]
        )
        if frames and ours and frames[-1] is not ours[-1]:
            where += f" → {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}"
        conn.send(Outcome("error", error=f"{type(exc).__name__} ({where}): {exc}"[:300]))
    finally:
        conn.close()


def run_limited(fn: Callable[..., Any], args: tuple[Any, ...], limit: float) -> Outcome:
    """Run fn(*args) in a forked child; give up (kill the child) after ``limit`` seconds.

    Forking gives every run the parent's imports but a state of its own: the
    derivation benchmarks call this before JAX is imported (JAX's threads and
    fork do not mix).
    """
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args))  # not daemonic: may fork
    proc.start()
    child.close()
    try:
        if parent.poll(limit):
            try:
                return parent.recv()  # type: ignore[no-any-return]
            except EOFError:
                return Outcome("crash", error=f"child exited with code {proc.exitcode}")
        return Outcome("timeout")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()


def min_over_runs(
    fn: Callable[..., Any], args: tuple[Any, ...], limit: float, runs: int, budget: float
) -> Outcome:
    """run_limited up to ``runs`` times (while the total stays under ``budget``
    seconds); the outcome with the smallest ``value["time"]``."""
    best: Outcome | None = None
    spent = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        out = run_limited(fn, args, limit)
        spent += time.perf_counter() - start
        if out.status != "ok":
            return out if best is None else best
        if best is None or out.value["time"] < best.value["time"]:
            best = out
        if spent + out.value["time"] > budget:
            break
    assert best is not None
    return best
