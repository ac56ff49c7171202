"""The chapter's "Rust — True Parallelism": an ``Arc<AtomicI64>`` counter, ported.

The chapter's Rust:

    let counter = Arc::new(AtomicI64::new(0));

    let handles: Vec<_> = (0..4).map(|_| {
        let counter = Arc::clone(&counter);
        thread::spawn(move || {
            for _ in 0..1_000_000 {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
    }).collect();

    for h in handles {
        h.join().unwrap();
    }

    println!("Counter: {}", counter.load(Ordering::Relaxed)); // Always 4,000,000

The port reads line for line: ``Arc(AtomicI64(0))``, ``counter.clone()``
handed to ``spawn`` (which drops it when the thread ends, as Rust's ``move``
closure does), ``fetch_add(1, Ordering.Relaxed)``, ``join()``. The count is
always 4,000,000 (4 x 50,000 under ``FEARLESS_EXAMPLE_QUICK``), with or
without the GIL, where the chapter's ``counter += 1`` on a global loses
updates (see ``gil_problem.py``). It is timed, and the speed-up over one
thread doing the same total is measured on this interpreter, not assumed.

What the figures say. Four threads hammering *one* atomic do not go four
times faster, in Rust either: every increment is a turn at the same cache
line. In fearless each atomic operation is a short critical section on the
atomic's own lock -- sequentially consistent, stronger than the ``Relaxed``
asked for, which Rust allows -- so the threads take turns there too. Under
the GIL, only one thread runs Python at a time anyway. The second count
shows where true parallelism comes from: each thread counts on its own and
publishes once, ``fetch_add(1_000_000, Ordering.Relaxed)``; on a
free-threaded build (3.13t) the four loops then run at once, as many at a
time as there are cores. (The ``Release``/``Acquire`` hand-off that used to
sit here is in ``atomic_ordering.py`` with the chapter's other orderings.)
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
import time
from collections.abc import Callable

from fearless import Arc, spawn
from fearless.atomic import AtomicI64, Ordering

QUICK = bool(os.environ.get("FEARLESS_EXAMPLE_QUICK"))
THREADS = 4
INCREMENTS = 50_000 if QUICK else 1_000_000


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def cpu_cores() -> int:
    """The cores this process may run on."""
    count = getattr(os, "process_cpu_count", None)  # 3.13+
    if count is not None:
        return int(count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def interpreter() -> str:
    build = "free-threaded build, " if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    if not gil_enabled():
        state = "GIL off"
    elif build:
        state = "GIL on (re-enabled)"  # PYTHON_GIL=1, or a module that needs the GIL
    else:
        state = "GIL on"
    cores = cpu_cores()
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}, "
        f"{build}{state}); {cores} CPU core{'s' if cores != 1 else ''}"
    )


def increment(counter: Arc[AtomicI64], n: int) -> None:
    atomic = counter.value  # Rust derefs the Arc at each call; a local does it once
    for _ in range(n):
        atomic.fetch_add(1, Ordering.Relaxed)


def count_then_publish(counter: Arc[AtomicI64], n: int) -> None:
    local = 0
    for _ in range(n):
        local += 1
    counter.value.fetch_add(local, Ordering.Relaxed)  # one shared step per thread


def run(work: Callable[[Arc[AtomicI64], int], None], threads: int, n: int) -> tuple[int, float]:
    """``work(counter, n)`` on ``threads`` fearless threads: the final count, the wall time."""
    counter = Arc(AtomicI64(0))
    began = time.perf_counter()
    handles = [spawn(work, counter.clone(), n) for _ in range(threads)]
    for h in handles:
        h.join()
    elapsed = time.perf_counter() - began
    return counter.value.load(Ordering.Relaxed), elapsed


def report(work: Callable[[Arc[AtomicI64], int], None]) -> None:
    total, many = run(work, THREADS, INCREMENTS)
    _, one = run(work, 1, THREADS * INCREMENTS)
    print(f"  Counter: {total:,}   Time: {many:.2f}s")
    print(
        f"  {THREADS * INCREMENTS:,} on 1 thread: {one:.2f}s; "
        f"speed-up over 1 thread: {one / many:.2f}x"
    )


def main() -> None:
    print(interpreter())
    print(f"Arc<AtomicI64>, fetch_add(1, Ordering.Relaxed): {THREADS} threads x {INCREMENTS:,}")
    report(increment)
    print("  always exact, GIL or not: each fetch_add is one indivisible step")
    if gil_enabled():
        print("  GIL on: one thread runs Python at a time, so 4 threads are no faster than 1")
    else:
        print("  GIL off: the threads run at once but take turns at the one atomic")
    print(f"each thread counts {INCREMENTS:,} alone, then fetch_add(count, Ordering.Relaxed)")
    report(count_then_publish)
    if gil_enabled():
        print("  GIL on: the loops still run one at a time")
    else:
        cores = cpu_cores()
        print(
            f"  GIL off: the loops run in parallel, {min(THREADS, cores)} at a time "
            f"(this machine has {cores} core{'s' if cores != 1 else ''})"
        )


if __name__ == "__main__":
    main()
