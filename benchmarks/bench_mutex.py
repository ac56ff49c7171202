"""Mutex against ``threading.Lock``: uncontended and contended.

    python -m benchmarks.bench_mutex      # from the repository's root

Targets. With the compiled core (``fearless.native``, issue 15):
uncontended <= 1.2x on 3.11 and <= 1.6x on free-threaded 3.13t; 4 threads
contending <= 1.5x on both. For the pure-Python reference
(``FEARLESS_PURE_PYTHON=1``; DESIGN/issue 2): uncontended <= 2.0x on both
builds; 2 and 4 threads contending <= 3x on 3.13t and <= 4x on 3.11.

Two floors run beside fearless: the thinnest pure-Python guard (a context
manager around the C lock, nothing else) and the least a data-owning mutex
with a fresh guard per acquisition must do, with no check at all
(:class:`FloorMutex`). Where a floor misses a target, no pure-Python
``Mutex`` with DESIGN.md's guards can meet it on that interpreter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import fearless
from benchmarks._timing import GIL, compare, interpreter, report, run_threads
from fearless import Mutex

N = 200_000


def uncontended_lock() -> None:
    lock = threading.Lock()
    x = 0
    for _ in range(N):
        with lock:
            x += 1


class ThinGuard:
    """The thinnest pure-Python guard: ``__enter__``/``__exit__`` around a C lock.

    Not a usable primitive (no value, no checks): it shows the floor any
    pure-Python guard pays on this interpreter.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def uncontended_thin_guard() -> None:
    guard = ThinGuard()
    x = 0
    for _ in range(N):
        with guard:
            x += 1


class FloorMutex:
    """The least a data-owning mutex with a guard per acquisition must do.

    ``lock()`` is a Python method that builds a fresh guard (DESIGN.md: a
    released guard must stay released, so guards cannot be reused), takes
    the C lock and copies the value into the guard's slot; the guard's
    ``__exit__`` writes it back and releases. No check of any kind (no
    self-deadlock test, no poison, no released-guard test, no wrong-thread
    test): not a usable primitive, only the floor under ``fearless.Mutex``.
    """

    __slots__ = ("_data", "_lock")

    def __init__(self, value: int) -> None:
        self._lock = threading.Lock()
        self._data = value

    def lock(self) -> FloorGuard:
        guard = _new(FloorGuard)
        guard._mutex = self
        self._lock.acquire()
        guard.value = self._data
        return guard

    def into_inner(self) -> int:
        return self._data


class FloorGuard:
    __slots__ = ("_mutex", "value")

    _mutex: FloorMutex
    value: int

    def __enter__(self) -> FloorGuard:
        return self

    def __exit__(self, *exc_info: object) -> None:
        mutex = self._mutex
        mutex._data = self.value
        mutex._lock.release()


_new = object.__new__


def uncontended_floor_mutex() -> None:
    m = FloorMutex(0)
    for _ in range(N):
        with m.lock() as g:
            g.value += 1


def uncontended_mutex() -> None:
    m = Mutex(0)
    for _ in range(N):
        with m.lock() as g:
            g.value += 1


def contended(nthreads: int, per_thread: int) -> dict[str, object]:
    def with_lock() -> None:
        lock = threading.Lock()
        box = [0]

        def work() -> None:
            for _ in range(per_thread):
                with lock:
                    box[0] += 1

        run_threads(nthreads, work)
        assert box[0] == nthreads * per_thread

    def with_(factory: Callable[[int], Any]) -> Callable[[], None]:
        def run() -> None:
            m = factory(0)

            def work() -> None:
                for _ in range(per_thread):
                    with m.lock() as g:
                        g.value += 1

            run_threads(nthreads, work)
            assert m.into_inner() == nthreads * per_thread

        return run

    return {
        "threading.Lock": with_lock,
        "data-owning floor (no checks)": with_(FloorMutex),
        "fearless.Mutex": with_(Mutex),
    }


def main() -> None:
    native = fearless.native
    print(f"Mutex benchmarks on {interpreter()}, {'compiled core' if native else 'pure Python'}")
    report(
        "uncontended: with m.lock() as g: g.value += 1  vs  with lock: x += 1",
        compare(
            {
                "threading.Lock": uncontended_lock,
                "thin guard (pure-Python floor)": uncontended_thin_guard,
                "data-owning floor (no checks)": uncontended_floor_mutex,
                "fearless.Mutex": uncontended_mutex,
            }
        ),
        "threading.Lock",
        (1.2 if GIL else 1.6) if native else 2.0,
    )
    for nthreads in (2, 4):
        if native:
            target: float | None = 1.5 if nthreads == 4 else None
        else:
            target = 4.0 if GIL else 3.0
        report(
            f"{nthreads} threads contending on one lock, {100_000 // nthreads} ops each",
            compare(contended(nthreads, 100_000 // nthreads)),  # type: ignore[arg-type]
            "threading.Lock",
            target,
        )


if __name__ == "__main__":
    main()
