"""Section 1a: the identity battery, matderiv's derive vs SymPy's ``expr.diff(X)``.

Each row of tests/test_identities_*.py is derived by both engines, each in a
freshly forked child (cold caches, a time limit); SymPy's answer is classified
and, when it is a matrix, checked against central finite differences.
"""

from __future__ import annotations

import re
import time
import warnings
from typing import Any

import numpy as np
import sympy as sp
from cases import identity_rows
from harness import (
    Outcome,
    Section,
    Settings,
    Table,
    fmt_time,
    median,
    min_over_runs,
    nodes,
    run_limited,
)
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.utilities.exceptions import SymPyDeprecationWarning

from matderiv import derive, diag, evaluate
from matderiv.testing import max_error, numeric_jacobian, random_values

BATTERY_LIMIT = 10.0  # seconds per SymPy diff


# -- 1a: the identity battery ------------------------------------------------------


def _matderiv_row(rows: list[Any], i: int) -> dict[str, Any]:
    expr, wrt, dims, _, kw = rows[i].build()
    start = time.perf_counter()
    d = derive(expr, wrt)
    elapsed = time.perf_counter() - start
    vec = not isinstance(wrt, sp.MatrixSymbol)
    try:  # the same finite-difference check as SymPy's answers get, after the timing
        err, scale = max_error(d, _values(expr, dims, kw), dims)
        checked = "✓" if err <= 1e-5 * max(1.0, scale) else "✗"
    except Exception:
        checked = "?"
    out = {"time": elapsed, "nodes": nodes(d.result), "checked": checked}
    return {**out, "wrt": str(wrt), "vec": vec}


def _values(expr: Any, dims: Any, kw: dict[str, Any]) -> dict[Any, Any]:
    """Random values as the identity tests draw them (the row's check kwargs)."""
    rng = np.random.default_rng(kw.get("seed", 0))
    definite = kw.get("definite", kw.get("spd"))
    positive, symmetric = kw.get("positive"), kw.get("symmetric")
    return random_values(expr, dims, rng, definite, positive, symmetric=symmetric)


def _wrt(rows: list[Any], i: int) -> dict[str, Any]:
    wrt = rows[i].build()[1]
    return {"time": 0.0, "wrt": str(wrt), "vec": not isinstance(wrt, sp.MatrixSymbol)}


def _sympy_row(rows: list[Any], i: int) -> dict[str, Any]:
    expr, wrt, dims, _, kw = rows[i].build()
    start = time.perf_counter()
    result = expr.diff(wrt)
    elapsed = time.perf_counter() - start
    return {"time": elapsed, "nodes": nodes(result), **_classify(result, expr, wrt, dims, kw)}


def _classify(result: Any, expr: Any, wrt: Any, dims: Any, kw: dict[str, Any]) -> dict[str, str]:
    """What SymPy returned: unevaluated, a higher-rank array, 0, or a matrix checked
    numerically against central finite differences (either layout accepted)."""
    name = type(result).__name__
    if isinstance(result, sp.Derivative) or "Derivative" in name:
        return {"kind": "unevaluated", "detail": name}
    shape = getattr(result, "shape", ())
    if len(shape) > 2:
        return {"kind": f"rank-{len(shape)} array", "detail": name}
    if result == 0 or isinstance(result, sp.ZeroMatrix):
        return {"kind": "✗ returns 0", "detail": name}
    try:
        values = _values(expr, dims, kw)
        result = result.replace(  # SymPy's diagonal matrix of a vector -> matderiv's
            lambda e: isinstance(e, DiagMatrix),
            lambda e: diag(e.args[0] if e.args[0].shape[1] == 1 else e.args[0].T),
        )
        got = np.atleast_2d(np.asarray(evaluate(result, {**values, **dims}), dtype=float))
        jac = numeric_jacobian(expr, wrt, values)
    except Exception as exc:
        return {"kind": "unchecked", "detail": f"{name}: {type(exc).__name__}"}
    p, q = np.asarray(values[wrt]).shape
    scale = max(1.0, float(np.abs(jac).max()))
    candidates = [jac, jac.T]
    if jac.shape[0] == 1:
        candidates.append(jac.reshape(p, q, order="F"))
    for want in candidates:
        if want.shape == got.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5 * scale):
            return {"kind": "✓ matrix", "detail": name}
    return {"kind": "✗ wrong matrix", "detail": name}


def _outcome_kind(out: Outcome) -> str:
    if out.status == "ok":
        return str(out.value["kind"])
    if out.status == "timeout":
        return f"timeout (>{BATTERY_LIMIT:g} s)"
    return "error"


def warm_up() -> None:
    """Import and initialise both engines in the parent, on a case outside the battery,
    so a forked child times the derivation, not SymPy's lazy imports."""
    A, X = sp.MatrixSymbol("A", 3, 3), sp.MatrixSymbol("X", 3, 3)
    f = sp.Trace(A * X) + sp.log(sp.Determinant(X))
    f.diff(X)
    derive(f, X)
    x = sp.MatrixSymbol("x", 3, 1)
    x.applyfunc(sp.tanh).diff(x)
    derive(x.applyfunc(sp.tanh), x)
    derive(x.applyfunc(sp.asinh), x)  # matderiv's sp.solve path (its first call imports)


def battery(settings: Settings) -> Section:
    warnings.filterwarnings("ignore", category=SymPyDeprecationWarning)  # SymPy's own diff
    rows = identity_rows()
    warm_up()
    runs = 1 if settings.quick else 3
    results = []
    for i, row in enumerate(rows):
        md = min_over_runs(_matderiv_row, (rows, i), 60.0, runs, budget=5.0)
        sy = min_over_runs(_sympy_row, (rows, i), BATTERY_LIMIT, runs, budget=5.0)
        # the variable's name, built in a child too: the parent's SymPy cache stays cold
        about = md.value if md.status == "ok" else run_limited(_wrt, (rows, i), 60.0).value
        kind = _outcome_kind(sy)
        if sy.status == "error":
            kind = "error (wrt vec(·))" if about and about["vec"] else "error"
        results.append((row.id, about["wrt"] if about else "?", md, sy, kind))

    summary = Table(
        f"1a. Identity battery ({len(rows)} rows): matderiv derive vs SymPy expr.diff(X)",
        [
            "SymPy outcome",
            "rows",
            "matderiv ✓",
            "matderiv time",
            "SymPy time",
            "matderiv nodes",
            "SymPy nodes",
        ],
    )
    kinds = sorted({r[4] for r in results}, key=lambda k: (not k.startswith("✓"), k))
    for kind in [*kinds, "all rows"]:
        group = [r for r in results if kind in ("all rows", r[4])]
        md_ok = [r[2].value for r in group if r[2].status == "ok"]
        sy_ok = [r[3].value for r in group if r[3].status == "ok"]
        summary.add(
            kind,
            len(group),
            sum(v["checked"] == "✓" for v in md_ok),
            fmt_time(median([v["time"] for v in md_ok])),
            fmt_time(median([v["time"] for v in sy_ok])) if sy_ok else "-",
            _med_int([v["nodes"] for v in md_ok]),
            _med_int([v["nodes"] for v in sy_ok]) if sy_ok else "-",
        )
    md_fail = [r for r in results if r[2].status != "ok"]
    summary.notes += [
        "Times and node counts are medians over the rows in each group; time is wall-clock "
        "for one call in a freshly forked process (cold caches), the minimum over "
        f"{runs} such run(s); SymPy is stopped after {BATTERY_LIMIT:g} s.",
        "matderiv: derive(expr, wrt) in its default (numerator) layout; it returns a result "
        f"for every row{'' if not md_fail else ' except ' + ', '.join(r[0] for r in md_fail)};"
        " 'matderiv ✓' counts results equal to central finite differences (checked after "
        "the timing, as SymPy's matrices are).",
        "SymPy outcome: '✓ matrix' = a matrix equal to central finite differences (either "
        "layout); 'rank-k array' = an array expression (e.g. PermuteDims of shape "
        "(m, n, 1, 1) for a scalar), not a matrix; 'unevaluated' = an ArrayDerivative "
        "returned as is; '✗ returns 0' = ZeroMatrix for a non-zero derivative; "
        "'error (wrt vec(·))' = SymPy cannot differentiate with respect to vec(X).",
        "nodes: SymPy expression tree size, repeats counted, symbols and numbers one node "
        "each (harness.nodes).",
    ]
    detail = Table(
        "1a. Identity battery, every row",
        ["row", "wrt", "matderiv time", "nodes", "✓", "SymPy time", "nodes", "SymPy outcome"],
    )
    for rid, wrt, md, sy, kind in results:
        error = re.sub(r" \(.*?\)", "", sy.error, count=1)  # drop the file:line
        extra = error[:70] if sy.status == "error" else sy.value["detail"] if sy.value else ""
        detail.add(
            rid,
            wrt,
            fmt_time(md.value["time"]) if md.status == "ok" else f"✗ {md.status}",
            md.value["nodes"] if md.status == "ok" else "-",
            md.value["checked"] if md.status == "ok" else "-",
            fmt_time(sy.value["time"]) if sy.status == "ok" else "-",
            sy.value["nodes"] if sy.status == "ok" else "-",
            f"{kind}: {extra}" if extra else kind,
        )
    return Section([summary, detail] if settings.full else [summary])


def _med_int(values: list[int]) -> str:
    return "-" if not values else f"{median([float(v) for v in values]):.0f}"
