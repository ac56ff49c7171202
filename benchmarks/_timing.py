"""Timing helpers: medians of interleaved repeats, printed as ratios."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Callable

GIL = getattr(sys, "_is_gil_enabled", lambda: True)()


def interpreter() -> str:
    """e.g. ``3.13.5 free-threaded (GIL off)``."""
    version = sys.version.split()[0]
    return f"{version} ({'GIL on' if GIL else 'GIL off'})"


def compare(cases: dict[str, Callable[[], object]], repeats: int = 9) -> dict[str, float]:
    """Run every case ``repeats`` times, interleaved; return median seconds each.

    Interleaving spreads machine noise evenly over the cases, so their
    ratios stay meaningful on a noisy two-core machine.
    """
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():
        fn()  # warm up
    for _ in range(repeats):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, medians: dict[str, float], baseline: str, target: float | None) -> float:
    """Print each case's median and its ratio to ``baseline``; return the worst ratio."""
    base = medians[baseline]
    print(f"\n{title}")
    worst = 0.0
    for name, t in medians.items():
        ratio = t / base
        if name.startswith("fearless"):
            worst = max(worst, ratio)
        print(f"  {name:34s} {t * 1e3:9.2f} ms   {ratio:5.2f}x")
    if target is not None:
        verdict = "meets" if worst <= target else "MISSES"
        print(f"  -> {worst:.2f}x vs target <= {target:.1f}x: {verdict}")
    return worst


def run_threads(nthreads: int, work: Callable[[], object]) -> None:
    """Run ``work`` on ``nthreads`` threads released together by a barrier; join them."""
    start = threading.Barrier(nthreads + 1)

    def run() -> None:
        start.wait()
        work()

    threads = [threading.Thread(target=run) for _ in range(nthreads)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
