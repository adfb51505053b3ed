"""Table 2d: the numba backend's first call (its compile time) for the RNN gradient.

numba compiles on the first call.  For straight-line code its compile time grows
with the number of statements, and with the square of a concatenated tuple's
length; matderiv rewrites the source for it (matderiv/codegen/numba_compile_time.py):
repeated statements become calls of one compiled function per form, long
concatenations are nested.  Each cell is one fresh forked process (numba's
caches cold, as on a user's first call), run before JAX is imported.
"""

from __future__ import annotations

import ast
import time
from typing import Any

import numpy as np
from cases import rnn_data, rnn_program
from harness import Outcome, Settings, Table, fmt_time, run_limited

from matderiv import gradient, lambdify

SIZE = 16  # n = m; the compile time does not depend on it
LIMIT = 240.0  # seconds per cell


def _first_call(T: int, rewrites: bool) -> dict[str, Any]:
    import matderiv.codegen.numba_compile_time as ct

    if not rewrites:  # the source numba was given before the rewrites
        ct.MIN_REPEATS = ct.CHUNK = 10**9
    L, W, U, where = rnn_program(T)
    start = time.perf_counter()
    targets = [gradient(L, W, where=where), gradient(L, U, where=where)]
    fast = lambdify(targets, backend="numba")
    generated = time.perf_counter() - start
    data = rnn_data(T, SIZE, np.random.default_rng(T))
    start = time.perf_counter()
    got = fast(**data)
    first = time.perf_counter() - start
    want = lambdify(targets)(**data)
    if not all(np.allclose(g, w, rtol=1e-9) for g, w in zip(got, want, strict=True)):
        raise AssertionError("the numba result differs from the NumPy backend's")
    later = min(_timed(fast, data) for _ in range(5))
    core = next(f for f in ast.parse(fast.source).body if getattr(f, "name", "") == "_f_core")
    statements = len(core.body)  # type: ignore[attr-defined]
    return {"time": first, "generated": generated, "later": later, "statements": statements}


def _timed(fn: Any, data: dict[str, np.ndarray]) -> float:
    start = time.perf_counter()
    fn(**data)
    return time.perf_counter() - start


def _cell(out: Outcome, key: str = "time") -> str:
    if out.status == "ok":
        return fmt_time(out.value[key])
    if out.status == "timeout":
        return f"> {LIMIT:g} s"
    return f"✗ {out.status}: {out.error}"[:80]


def table(settings: Settings) -> Table:
    steps = [8, 32] if settings.quick else [2, 8, 32, 128]
    without_up_to = 0 if settings.quick else 32
    t = Table(
        "2d. numba backend: the first call (compilation), RNN gradient wrt W and U",
        [
            "T",
            "core statements",
            "derive + generate",
            "first call",
            "first call, source not rewritten",
            f"later calls (n = {SIZE})",
        ],
    )
    for T in steps:
        out = run_limited(_first_call, (T, True), LIMIT)
        plain = _cell(run_limited(_first_call, (T, False), LIMIT)) if without_up_to >= T else "-"
        ok = out.status == "ok"
        t.add(
            T,
            out.value["statements"] if ok else "-",
            _cell(out, "generated") if ok else "-",
            _cell(out),
            plain,
            _cell(out, "later") if ok else "-",
        )
    t.notes.append(
        "One fresh forked process per cell (numba's caches cold).  'first call' is "
        "lambdify(..., backend='numba') called once: numba compiles then.  'source not "
        "rewritten': the same code without the compile-time rewrites (every statement "
        "inline, concatenations of T pieces flat), measured up to "
        f"T = {without_up_to or '-'}.  Each result is checked against the NumPy backend's."
    )
    return t
