"""Section 1: derivation time and output size, matderiv vs SymPy's ``MatrixExpr.diff``.

Every derivation runs in a freshly forked child (cold caches, a time limit);
see harness.py.  Output size is ``harness.nodes`` (tree size, repeats counted).
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import battery
from cases import rnn_program, rnn_tree
from harness import (
    Outcome,
    Section,
    Settings,
    Table,
    Target,
    distinct_nodes,
    fmt_ratio,
    fmt_time,
    min_over_runs,
    nodes,
    run_limited,
)

from matderiv import gradient, hvp
from matderiv.limits import deep_recursion

RNN_LIMIT = 30.0  # seconds per differentiation of the nested tree
BUILD_LIMIT = 60.0  # seconds to build the nested tree


# -- 1b: the unrolled RNN ----------------------------------------------------------


def _where_run(T: int) -> dict[str, Any]:
    L, W, _, where = rnn_program(T)
    cpu, start = time.process_time(), time.perf_counter()
    d = gradient(L, W, where=where)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    size = nodes(d.result) + sum(nodes(v) for v in d.definitions.values())
    return {"time": elapsed, "cpu": cpu, "steps": len(d.steps), "nodes": size}


def _hvp_run(T: int) -> dict[str, Any]:
    L, W, _, where = rnn_program(T)
    start = time.perf_counter()
    hvp(L, W, where=where)
    return {"time": time.perf_counter() - start}


def _tree_diff(L: Any, W: Any, engine: str) -> dict[str, Any]:
    start = time.perf_counter()
    result = gradient(L, W).result if engine == "matderiv" else L.diff(W)
    elapsed = time.perf_counter() - start
    with deep_recursion():  # SymPy's .shape of a deep result recurses through it
        rank = len(getattr(result, "shape", ()))
    name = type(result).__name__ if rank == 2 else f"rank-{rank} {type(result).__name__}"
    return {
        "time": elapsed,
        "nodes": nodes(result),
        "distinct": distinct_nodes(result),
        "kind": name,
    }


def _tree_run(T: int, engines: tuple[str, ...]) -> dict[str, Any]:
    """Build the nested tree once, then differentiate it in a fresh fork per engine."""
    start = time.perf_counter()
    L, W, _ = rnn_tree(T)
    out: dict[str, Any] = {"build": time.perf_counter() - start}
    if out["build"] <= BUILD_LIMIT:
        for engine in engines:  # the result's size is counted inside the (doubled) limit
            out[engine] = run_limited(_tree_diff, (L, W, engine), 2 * RNN_LIMIT)
    return out


def _tree_cell(out: Outcome | None, engine: str, others_alive: bool) -> tuple[str, bool]:
    """(cell, keep going) for one engine on the nested tree.

    A column stops at its first timeout; matderiv's also at its first error, SymPy's
    at an error only once matderiv's has stopped (its errors are cheap, the shared
    tree build is not)."""
    if out is None:
        return f"build > {BUILD_LIMIT:g} s", False
    if out.status != "ok":
        if out.status == "timeout":
            return f"timeout (>{2 * RNN_LIMIT:g} s)", False
        error = re.sub(r" \(.*?\)", "", out.error, count=1)  # drop the file:line
        return f"✗ {error[:80]}", engine == "sympy" and others_alive
    v = out.value
    if v["time"] > RNN_LIMIT:
        return f"{fmt_time(v['time'])} (over the {RNN_LIMIT:g} s limit)", False
    size = f"{v['nodes']} nodes" if engine == "matderiv" else f"{v['kind']}, {v['nodes']} nodes"
    return f"{fmt_time(v['time'])} ({size}, {v['distinct']} distinct)", True


def rnn(settings: Settings) -> Section:
    top = 256 if settings.quick else 1024
    ts = [2**i for i in range(11) if 2**i <= top]
    runs = 1 if settings.quick else 3
    columns = ["T", "where= time", "(CPU)", "steps", "nodes", "nodes/T", "HVP", "tree build"]
    table = Table(
        "1b. Unrolled RNN, L = Σ_t cᵀh_t: gradient wrt W",
        [*columns, "matderiv on tree", "SymPy diff on tree"],
    )
    where_times: dict[int, float] = {}
    alive = {"matderiv": True, "sympy": True}
    for length in ts:
        budget = 15.0 if length < 512 else 30.0
        w = min_over_runs(_where_run, (length,), 120.0, runs, budget=budget)
        cells: list[Any] = [length]
        if w.status == "ok":
            v = w.value
            where_times[length] = v["time"]
            cells += [fmt_time(v["time"]), fmt_time(v["cpu"]), v["steps"], v["nodes"]]
            cells.append(f"{v['nodes'] / length:.1f}")
        else:
            cells += [f"✗ {w.status}: {w.error[:80]}", "-", "-", "-", "-"]
        hvp_max = 64 if settings.quick else 256
        h = run_limited(_hvp_run, (length,), 120.0) if length <= hvp_max else None
        cells.append(
            "-" if h is None else fmt_time(h.value["time"]) if h.status == "ok" else h.status
        )
        engines = tuple(e for e, ok in alive.items() if ok)
        tree = ["-", "-", "-"]
        tree_max = 16 if settings.quick else 256
        if engines and length <= tree_max:
            limit = BUILD_LIMIT + 2 * (2 * RNN_LIMIT) + 30
            built = run_limited(_tree_run, (length, engines), limit)
            tree[0] = fmt_time(built.value["build"]) if built.status == "ok" else "timeout"
            for i, engine in enumerate(("matderiv", "sympy"), start=1):
                if engine in engines:
                    out = built.value.get(engine) if built.status == "ok" else None
                    tree[i], alive[engine] = _tree_cell(out, engine, alive["matderiv"])
        table.add(*cells, *tree)
    table.notes += [
        "where= time: gradient(L, W, where={h_t: tanh(Wᵀx_t + Uᵀh_{t-1})}), wall-clock in a "
        f"fresh process, min over up to {runs} runs; (CPU) is that run's process CPU time; "
        "steps = len(d.steps); nodes = tree size of d.result plus every value of "
        "d.definitions (the user's h_t and the generated adjoints hbar_t).",
        "HVP: hvp(L, W, where=...), the Hessian-vector product's derivation (the gradient, "
        "then its directional derivative), one fresh run, up to T = 256.",
        "tree: the same loss as one nested expression (each h_t substituted), built once per "
        f"T (SymPy's constructors, 'tree build', limit {BUILD_LIMIT:g} s), then differentiated "
        f"in a fresh fork per engine (limit {RNN_LIMIT:g} s): matderiv's gradient(L, W) and "
        "SymPy's L.diff(W).  Node counts are tree size (repeats counted) and distinct "
        "subexpressions.  A timeout, an over-limit build or (matderiv) an error stops a "
        "column; SymPy's errors stop it once matderiv's column has stopped.",
    ]
    scaling = None if settings.quick else _scaling(SCALING_ROUNDS)
    if scaling is not None:
        best, paired = scaling
        for T, t in best.items():
            where_times[T] = min(t, where_times.get(T, t))
        table.notes.append(
            f"Scaling: {SCALING_ROUNDS} more fresh runs each of T = 256 and T = 1024, "
            "interleaved (256, 1024, 256, ...) so that a slow spell of the machine hits both; "
            "the targets use each T's minimum over all its runs.  The ratio of one round's "
            f"pair ranged {min(paired):.2f}-{max(paired):.2f} (median "
            f"{statistics.median(paired):.2f}).  The work is linear in T: the number of "
            "SymPy comparisons and of loop iterations grows exactly 4x from 256 to 1024."
        )
    section = Section([table])
    section.targets += _rnn_targets(where_times)
    return section


SCALING_ROUNDS = 5


def _scaling(rounds: int) -> tuple[dict[int, float], list[float]] | None:
    """Fresh runs of T = 256 and 1024, interleaved: each T's minimum and each round's
    t(1024)/t(256).  None if a run fails (the table shows why)."""
    best = {256: float("inf"), 1024: float("inf")}
    paired = []
    for _ in range(rounds):
        times = {}
        for T in best:
            out = run_limited(_where_run, (T,), 120.0)
            if out.status != "ok":
                return None
            times[T] = out.value["time"]
            best[T] = min(best[T], times[T])
        paired.append(times[1024] / times[256])
    return best, paired


def _rnn_targets(times: dict[int, float]) -> list[Target]:
    out = []
    for T, limit in ((256, 2.0), (1024, 10.0)):
        t = times.get(T)
        out.append(
            Target(
                f"RNN where= gradient derivation < {limit:g} s at T = {T}",
                fmt_time(t) if t is not None else "not measured",
                None if t is None else t < limit,
            )
        )
    if 256 in times and 1024 in times:
        r = times[1024] / times[256]
        out.append(Target("t(1024) / t(256) ≤ 4.5 (linear in T)", fmt_ratio(r), r <= 4.5))
    else:
        out.append(Target("t(1024) / t(256) ≤ 4.5 (linear in T)", "not measured", None))
    return out


def run(settings: Settings) -> Section:
    a, b = battery.battery(settings), rnn(settings)
    return Section(a.tables + b.tables, a.targets + b.targets)
