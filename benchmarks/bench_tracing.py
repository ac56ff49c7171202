"""What ``explore``'s ``trace=`` costs: schedules per second at each reach.

    python -m benchmarks.bench_tracing            # from the repository's root
    python -m benchmarks.bench_tracing --quick    # a smoke run: few schedules and repeats

Issue 16 asks that the cost of tracing be measured and documented. Each
program below is explored with the ``random`` strategy for a fixed number of
schedules with a fixed seed (so every repeat explores the same schedules),
once per reach, the repeats interleaved; the table shows schedules per
second and the slowdown against the program's cheapest reach.

The reaches:

- ``trace=False``: only fearless's operations are switch points;
- ``trace=True``: also every line of the test's own code and every store to
  shared state inside a line;
- ``trace=<package>``: also the named library's code, where the test
  reaches it;
- ``trace="all"``: also the whole standard library and every installed
  package, where the test reaches them.

The programs (each asserts only what holds under every schedule, so every
exploration runs all its schedules):

- mutex counter: 2 threads x 3 increments of a ``fearless.Mutex``; no
  library code at all, so what the wider reaches add is their per-call
  bookkeeping;
- Counter.update: 2 threads update one ``collections.Counter`` (pure
  Python in the standard library: the race lies inside it);
- cachetools: 2 threads put into and read one ``cachetools.LRUCache``
  (skipped where cachetools is not installed: ``pip install
  'fearless[corpus]'``).
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
from collections.abc import Callable

from benchmarks._timing import interpreter
from fearless import Mutex, scope
from fearless.testing import explore

Program = Callable[[], None]


def mutex_counter() -> None:
    counter = Mutex(0)

    def work() -> None:
        for _ in range(3):
            with counter.lock() as guard:
                guard.value += 1

    with scope() as s:
        s.spawn(work)
        s.spawn(work)
    assert counter.into_inner() == 6


def counter_updates() -> None:
    counts = collections.Counter(a=0)

    def add() -> None:
        counts.update({"a": 1})

    with scope() as s:
        s.spawn(add)
        s.spawn(add)
    assert 1 <= counts["a"] <= 2  # the lost update is allowed here: count schedules


def cachetools_program() -> None:
    import cachetools  # noqa: PLC0415 - optional peer, imported where measured

    cache: cachetools.LRUCache[str, int] = cachetools.LRUCache(maxsize=2)

    def put(key: str) -> None:
        cache[key] = 1
        cache.get("a")

    with scope() as s:
        s.spawn(put, "a")
        s.spawn(put, "b")
    assert len(cache) <= 2


def have_cachetools() -> bool:
    try:
        import cachetools  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def rate(program: Program, trace: object, schedules: int) -> Callable[[], float]:
    """A timed exploration of ``schedules`` schedules; returns schedules per second."""

    def run() -> float:
        start = time.perf_counter()
        result = explore(program, strategy="random", schedules=schedules, seed=0, trace=trace)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        assert result.schedules == schedules, result
        return result.schedules / elapsed

    return run


def table(
    title: str, program: Program, reaches: dict[str, object], schedules: int, repeats: int
) -> None:
    runs = {name: rate(program, trace, schedules) for name, trace in reaches.items()}
    for run in runs.values():
        run()  # warm up: imports, code analysis
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            rates[name].append(run())
    medians = {name: statistics.median(values) for name, values in rates.items()}
    fastest = max(medians.values())
    print(f"\n{title} ({schedules} schedules, median of {repeats})")
    for name, value in medians.items():
        spread = f"{min(rates[name]):,.0f}-{max(rates[name]):,.0f}"
        print(f"  trace={name:24s} {value:9,.0f}/s  ({spread})  {fastest / value:5.2f}x slower")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    schedules, repeats = (20, 1) if quick else (200, 7)
    print(f"fearless.testing tracing cost on {interpreter()}")
    table(
        "mutex counter (no library code)",
        mutex_counter,
        {"False": False, "True": True, '"collections"': "collections", '"all"': "all"},
        schedules,
        repeats,
    )
    table(
        "Counter.update (the race inside collections)",
        counter_updates,
        {"True": True, '"collections"': "collections", '"all"': "all"},
        schedules,
        repeats,
    )
    if have_cachetools():
        table(
            "cachetools.LRUCache (the races inside cachetools)",
            cachetools_program,
            {"True": True, '"cachetools"': "cachetools", '"all"': "all"},
            schedules,
            repeats,
        )
    else:
        print("\ncachetools.LRUCache: skipped (pip install 'fearless[corpus]')")


if __name__ == "__main__":
    main()
