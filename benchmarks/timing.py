"""Wall-clock timing of evaluations, after checking each output against a reference.

``bench_all`` is timeit-style: autorange a batch of each function to
``settings.min_time`` seconds, then time ``settings.repeats`` rounds of one batch per
function (interleaved) and report each function's minimum, per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from harness import FAILED, MISMATCH, Settings, Target, fmt_ratio, fmt_time

# -- evaluation timing ---------------------------------------------------------------


def autorange(fn: Callable[[], Any], settings: Settings) -> int:
    """Calls per timed batch: enough for ``settings.min_time`` seconds (0 = too slow to
    batch: time single calls).  The first, warm-up call (JAX compiles) is not timed."""
    start = time.perf_counter()
    fn()
    if time.perf_counter() - start > 1.0:
        return 0
    number = 1
    while True:
        t = _timed(fn, number)
        if t >= settings.min_time:
            return number
        number *= 2 if t * 4 > settings.min_time else 10


def bench_all(fns: dict[str, Callable[[], Any]], settings: Settings) -> dict[str, float]:
    """Seconds per call of each function: the minimum over ``settings.repeats`` batches.

    Batches are interleaved (a batch of each function in turn, repeatedly), so a
    change in the machine's load affects every column of a row alike.  A call slower
    than 1 s is timed alone, twice (once in quick mode or above 10 s).
    """
    numbers = {name: autorange(fn, settings) for name, fn in fns.items()}
    best = {name: float("inf") for name in fns}
    slow_runs = 1 if settings.quick else 2
    for round_ in range(settings.repeats):
        for name, fn in fns.items():
            number = numbers[name]
            if number == 0:  # slow: single calls, at most two, one if it took over 10 s
                if round_ >= slow_runs or (round_ > 0 and best[name] > 10.0):
                    continue
                number = 1
            best[name] = min(best[name], _timed(fn, number) / number)
    return best


def _timed(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


# -- verify, then time ---------------------------------------------------------------


def close(got: Any, want: Any, rtol: float = 1e-7) -> bool:
    """np.allclose on (tuples of) arrays, with an absolute tolerance scaled to ``want``."""
    if isinstance(want, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(want)
            and all(close(g, w, rtol) for g, w in zip(got, want, strict=True))
        )
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if g.size != w.size:
        return False
    scale = max(1.0, float(np.abs(w).max(initial=0.0)))
    return bool(np.allclose(g.reshape(w.shape), w, rtol=rtol, atol=rtol * scale))


def verify_and_time(
    impls: dict[str, Callable[[], Any]],
    reference: Any,
    settings: Settings,
    post: dict[str, Callable[[Any], Any]] | None = None,
) -> dict[str, float | str]:
    """For each implementation: its time per call, or a loud failure cell.

    Every implementation's output (passed through ``post[name]``, e.g. a reshape,
    outside the timing) is first compared with ``reference`` (np.allclose); a
    mismatch or an exception is reported, never timed.
    """
    out: dict[str, float | str] = {}
    for name, fn in impls.items():
        try:
            value = fn()
            ok = close((post or {}).get(name, lambda v: v)(value), reference)
        except Exception as exc:
            out[name] = f"{FAILED}: {type(exc).__name__}: {str(exc)[:60]}"
            continue
        if not ok:
            out[name] = MISMATCH
        del value
    timed = bench_all({k: fn for k, fn in impls.items() if k not in out}, settings)
    return {name: out.get(name, timed.get(name, FAILED)) for name in impls}


def cell(value: float | str) -> str:
    return fmt_time(value) if isinstance(value, float) else value


def ratio(a: float | str, b: float | str) -> float | None:
    return a / b if isinstance(a, float) and isinstance(b, float) and b > 0 else None


def worst(
    name: str, ratios: list[float | None], limit: float, *, at_least: bool = False
) -> Target:
    """A target on the worst ratio over the cases measured: at most ``limit`` (or at
    least, for speed-ups).  A case that failed or mismatched fails the target."""
    values = [r for r in ratios if r is not None]
    failed = len(ratios) - len(values)
    if not values:
        return Target(name, "✗ every case failed" if failed else "not measured", None)
    top = min(values) if at_least else max(values)
    met = top >= limit if at_least else top <= limit
    if failed:
        return Target(name, f"{fmt_ratio(top)}; ✗ {failed} case(s) failed or mismatched", False)
    return Target(name, fmt_ratio(top), met)
