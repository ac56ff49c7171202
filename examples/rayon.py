"""Simple Parallelism with Rayon: ``Pool.map`` and ``.par_iter()``, ported.

The chapter's Python:

    from multiprocessing import Pool

    def process_item(item):
        return heavy_computation(item)

    with Pool(8) as pool:
        results = pool.map(process_item, items)

and its Rust — "change .iter() to .par_iter(), that's it":

    // Sequential:
    let results: Vec<_> = items.iter().map(|item| heavy_computation(item)).collect();

    // Parallel (change .iter() to .par_iter() — that's it!):
    let results: Vec<_> = items.par_iter().map(|item| heavy_computation(item)).collect();

In fearless both are one call: ``par_map(process_item, items)`` and
``par_iter(items).map(heavy_computation).collect()``, in input order, the
same results as the sequential ``map``. Rayon's ``filter_map`` is here too
(``None`` plays Rust's ``None``: the item is dropped; a falsy value such as
``0`` is kept), and ``rayon::join`` is ``join(fa, fb)``.

Where the work runs is not Rust's answer everywhere. ``backend="auto"``
picks threads when the GIL is disabled (free-threaded Python): no pickling,
no extra processes, rayon's model. With the GIL on, threads would take
turns, so it picks worker processes, which need the function and the items
pickled — and falls back to threads, in this process, for work that cannot
be pickled (a lambda, a closure). A fallback is silent, so this program
does not take the backend's word for it: it maps a module-level function
that returns ``os.getpid()`` the same way and prints what really ran the
work. Worker processes import this file, hence the ``if __name__ ==
"__main__":`` guard; ``join`` always runs on threads of this process, so it
is parallel only on a free-threaded build.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

from fearless import join, par_info, par_iter, par_map

QUICK = bool(os.environ.get("FEARLESS_EXAMPLE_QUICK"))
ITEMS = 200 if QUICK else 4_000
ROUNDS = 2_000
PROBES = 16  # tasks of one item each that report where they ran


def heavy_computation(item: int) -> int:
    """Deterministic CPU-bound work: a few thousand multiply-adds."""
    acc = item
    for k in range(ROUNDS):
        acc = (acc * 31 + k) % 1_000_003
    return acc


def process_item(item: int) -> int:
    return heavy_computation(item)


def worker_pid(_: object) -> int:
    """Where a task ran: module-level, so it is sent to workers like ``process_item``."""
    return os.getpid()


def ran_on(pids: Sequence[int]) -> str:
    """What really ran the tasks, from the process ids they reported."""
    here = os.getpid()
    if set(pids) == {here}:
        return "threads of this process"
    if here not in pids:
        return "worker processes"
    return "this process and worker processes"


def parse_reading(line: str) -> int | None:
    """Rust's ``line.parse::<i64>().ok()``: the number, or None for a bad line."""
    try:
        return int(line)
    except ValueError:
        return None


def sum_heavy(items: Sequence[int]) -> int:
    return sum(map(heavy_computation, items))


def where() -> str:
    """``"pid/thread-id"`` of the caller."""
    return f"{os.getpid()}/{threading.get_ident()}"


def describe(place: str) -> str:
    """``place`` (from :func:`where`) as seen from this thread."""
    if place == where():
        return "this thread"
    if place.partition("/")[0] == str(os.getpid()):
        return "another thread of this process"
    return "another process"


def halves_joined(items: Sequence[int]) -> tuple[int, int, str, str]:
    """rayon::join over the two halves: each sum, and where each side ran."""
    half = len(items) // 2

    def fa() -> tuple[int, str]:
        return sum_heavy(items[:half]), where()

    def fb() -> tuple[int, str]:
        return sum_heavy(items[half:]), where()

    (left, where_a), (right, where_b) = join(fa, fb)
    return left, right, where_a, where_b


def main() -> None:
    info = par_info()
    gil = "enabled" if info.gil_enabled else "disabled"
    print(f"backend='auto' picks {info.auto} here: the GIL is {gil}")
    items = list(range(ITEMS))
    probes = range(PROBES)

    began = time.perf_counter()
    expected = list(map(process_item, items))
    sequential = time.perf_counter() - began

    # Pool(8).map(process_item, items) -> par_map(process_item, items)
    began = time.perf_counter()
    results = par_map(process_item, items)
    seconds = time.perf_counter() - began
    same = results == expected
    print(f"par_map(process_item, items): {len(results):,} results, same as map(): {same}")
    print(f"  ran on {ran_on(par_map(worker_pid, probes, chunksize=1))}")
    print(
        f"  map(): {sequential:.2f} s, par_map: {seconds:.2f} s "
        f"({sequential / seconds:.1f}x with {info.workers} workers, their start-up included)"
    )

    # items.iter().map(...).collect() -> par_iter(items).map(...).collect()
    began = time.perf_counter()
    collected = par_iter(items).map(heavy_computation).collect()
    seconds = time.perf_counter() - began
    print(
        f"par_iter(items).map(heavy_computation).collect(): same as map(): {collected == expected}"
    )
    print(f"  ran on {ran_on(par_iter(probes).with_chunksize(1).map(worker_pid).collect())}")
    print(f"  par_iter: {seconds:.2f} s ({sequential / seconds:.1f}x)")
    total = par_iter(items).map(heavy_computation).sum()
    same = total == sum(expected)
    print(f"par_iter(items).map(heavy_computation).sum(): same as sum(map()): {same}")

    # filter_map(|line| line.parse().ok()): None drops an item, 0 stays.
    lines = ["n/a" if n % 7 == 3 else str(n % 50) for n in items]
    readings = par_iter(lines).filter_map(parse_reading).collect()
    same = readings == [r for r in map(parse_reading, lines) if r is not None]
    print(
        f"par_iter(lines).filter_map(parse_reading).collect(): {len(readings):,} readings, "
        f"{len(lines) - len(readings):,} bad lines skipped, {readings.count(0):,} zeros kept; "
        f"same as the sequential loop: {same}"
    )

    # The silent fallback the ran-on lines above rule out: a lambda cannot be pickled.
    lambda_pids = par_map(lambda _: os.getpid(), probes, chunksize=1)
    if info.gil_enabled:
        print(f"par_map(lambda ...): cannot be pickled, so 'auto' ran it on {ran_on(lambda_pids)}")
    else:
        print(f"par_map(lambda ...): no pickling needed, ran on {ran_on(lambda_pids)}")

    # rayon::join(|| a(), || b()) -> join(fa, fb)
    left, right, where_a, where_b = halves_joined(items)
    print(f"join(fa, fb): both halves back, they add up: {left + right == sum(expected)}")
    parallel = "taking turns under the GIL" if info.gil_enabled else "in parallel"
    print(f"  fa ran on {describe(where_a)}, fb on {describe(where_b)} ({parallel})")


if __name__ == "__main__":
    main()
