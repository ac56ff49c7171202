"""Arc clone + drop against creating and deleting a ``weakref.ref``.

    python -m benchmarks.bench_arc      # from the repository's root

Issue 3 asks for ``Arc.clone()`` + ``drop()`` per second, against the
cheapest standard-library notion of "another handle to a shared object":
creating and deleting a ``weakref.ref``. Both are reported as operations
per second and as a time ratio (lower is faster), for one thread and for
two threads churning the same allocation.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from benchmarks._timing import compare, interpreter, report, run_threads
from fearless import Arc

N = 200_000


class Shared:
    """Something to share: weakref-able, like most user objects."""


def weakref_churn(n: int) -> Callable[[], None]:
    def run() -> None:
        obj = Shared()
        ref = weakref.ref
        for _ in range(n):
            r = ref(obj)
            del r

    return run


def arc_churn(n: int) -> Callable[[], None]:
    def run() -> None:
        a = Arc(Shared())
        for _ in range(n):
            b = a.clone()
            b.drop()
        assert a.strong_count() == 1

    return run


def arc_gc_churn(n: int) -> Callable[[], None]:
    def run() -> None:
        a = Arc(Shared())
        for _ in range(n):
            b = a.clone()
            del b  # dropped by garbage collection
        assert a.strong_count() == 1

    return run


def threaded(nthreads: int, make: Callable[[int], Callable[[], None]]) -> Callable[[], None]:
    """``make(n)`` run by ``nthreads`` threads at once, ``N // nthreads`` each."""
    per_thread = N // nthreads

    def run() -> None:
        run_threads(nthreads, make(per_thread))

    return run


def shared_arc_churn(n: int) -> Callable[[], None]:
    a = Arc(Shared())

    def run() -> None:
        for _ in range(n):
            b = a.clone()
            b.drop()

    return run


def shared_weakref_churn(n: int) -> Callable[[], None]:
    obj = Shared()

    def run() -> None:
        ref = weakref.ref
        for _ in range(n):
            r = ref(obj)
            del r

    return run


def main() -> None:
    print(f"Arc benchmarks on {interpreter()}")
    medians = compare(
        {
            "weakref.ref create + delete": weakref_churn(N),
            "fearless Arc clone + drop": arc_churn(N),
            "fearless Arc clone + del (gc)": arc_gc_churn(N),
        }
    )
    report(f"1 thread, {N:,} handles", medians, "weakref.ref create + delete", None)
    for name, t in medians.items():
        print(f"  {name:34s} {N / t / 1e6:6.2f} M/s")
    medians = compare(
        {
            "weakref.ref create + delete": threaded(2, shared_weakref_churn),
            "fearless Arc clone + drop": threaded(2, shared_arc_churn),
        }
    )
    report(
        f"2 threads on one allocation, {N:,} handles in all",
        medians,
        "weakref.ref create + delete",
        None,
    )
    for name, t in medians.items():
        print(f"  {name:34s} {N / t / 1e6:6.2f} M/s")


if __name__ == "__main__":
    main()
