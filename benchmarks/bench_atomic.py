"""AtomicI64.fetch_add against a ``threading.Lock``-protected int, 1 and 2 threads.

    python -m benchmarks.bench_atomic      # from the repository's root

Target: ``AtomicI64.fetch_add(1, Ordering.Relaxed)`` at most 0.3x of
``with lock: x += 1`` on 3.11 and 0.5x on free-threaded 3.13t with the
compiled core (issue 15; and within 1.3x of ``cereggii``'s C atomic), 1.5x
for the pure-Python reference (issue 3), with 1 thread and with 2 threads.

Optional peers are timed when importable and skipped with a note otherwise
(they are not dependencies): ``itertools.count`` (the "+1 only" trick: a C
iterator, atomic under the GIL), ``cereggii.AtomicInt64`` and
``ft_utils.concurrency.AtomicInt64`` (C extensions).

Two floors run beside fearless: a Python method around a C lock with no
check at all (:class:`FloorAtomic`), and the same plus only what Rust's
types give for free -- an ``int`` operand within i64's range, and the
wrap of the result (:class:`FloorCheckedAtomic`). Where the second misses
the target, no pure-Python ``AtomicI64`` that checks its operand can meet
it on that interpreter.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any

import fearless
from benchmarks._timing import GIL, compare, interpreter, report, run_threads
from fearless.atomic import AtomicI64, Ordering

N = 200_000
#: The target against ``with lock: x += 1``: issue 15's with the compiled
#: core (0.3x on 3.11, 0.5x on 3.13t), issue 3's for the pure-Python reference.
TARGET = (0.3 if GIL else 0.5) if fearless.native else 1.5
BASELINE = "with lock: x += 1"


class FloorAtomic:
    """The least a pure-Python ``fetch_add`` does: a method, a C lock, no checks.

    No operand type or range test, no ordering test, no wrapping: not a
    usable atomic, only the floor under ``AtomicI64.fetch_add``.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def fetch_add(self, val: int, order: Ordering = Ordering.SeqCst) -> int:
        with self._lock:
            old = self._value
            self._value = old + val
        return old


_MIN, _MAX = -(2**63), 2**63 - 1


class FloorCheckedAtomic(FloorAtomic):
    """:class:`FloorAtomic` plus only what Rust's types give for free.

    An operand that is an ``int`` within i64's range, and the wrap of the
    result into that range; still no ordering test.
    """

    __slots__ = ()

    # Every name the checks read is a parameter, so a local: the fastest
    # lookup there is (LOAD_FAST).
    def fetch_add(
        self,
        val: int,
        order: Ordering = Ordering.SeqCst,
        *,
        lo: int = _MIN,
        hi: int = _MAX,
        type_: type[type] = type,
        int_: type[int] = int,
    ) -> int:
        if type_(val) is not int_ or not lo <= val <= hi:
            raise TypeError("an i64 operand is needed")
        with self._lock:
            old = self._value
            self._value = new = old + val
            if not lo <= new <= hi:
                self._value = (new - lo) % 2**64 + lo
        return old


def _import(module: str, attr: str) -> Any:
    """``module.attr``, or None (with a note) when it is not installed."""
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        print(f"  (skipped {module}.{attr}: not installed)")
        return None


def _increment(counter: Any) -> Callable[[], object]:
    """The peer's "add one" method (their APIs differ)."""
    for name in ("get_and_increment", "increment_and_get", "incr"):
        method = getattr(counter, name, None)
        if method is not None:
            return method  # type: ignore[no-any-return]
    raise AttributeError(f"{type(counter).__name__} has no increment method")


def peers() -> dict[str, Callable[[], Any]]:
    """Factories of a fresh "add one" callable for each peer that is installed."""
    found: dict[str, Callable[[], Any]] = {
        "itertools.count (+1 only)": lambda: itertools.count().__next__
    }
    for label, module, attr in (
        ("cereggii.AtomicInt64", "cereggii", "AtomicInt64"),
        ("ft_utils AtomicInt64", "ft_utils.concurrency", "AtomicInt64"),
    ):
        cls = _import(module, attr)
        if cls is not None:
            found[label] = _factory(cls)
    return found


def _factory(cls: Any) -> Callable[[], Any]:
    return lambda: _increment(cls(0))


def cases(nthreads: int, peer_factories: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each case adds 1 a total of N times, split over ``nthreads`` threads."""
    per_thread = N // nthreads

    def with_lock() -> None:
        lock = threading.Lock()
        box = [0]

        def work() -> None:
            for _ in range(per_thread):
                with lock:
                    box[0] += 1

        run_threads(nthreads, work)
        assert box[0] == N

    def with_atomic() -> None:
        counter = AtomicI64(0)

        def work() -> None:
            relaxed = Ordering.Relaxed  # Rust's `use Ordering::Relaxed`
            for _ in range(per_thread):
                counter.fetch_add(1, relaxed)

        run_threads(nthreads, work)
        assert counter.load() == N

    def with_atomic_inline() -> None:
        counter = AtomicI64(0)

        def work() -> None:
            for _ in range(per_thread):
                counter.fetch_add(1, Ordering.Relaxed)

        run_threads(nthreads, work)
        assert counter.load() == N

    def floor(cls: type[FloorAtomic]) -> Callable[[], None]:
        def with_floor() -> None:
            counter = cls()

            def work() -> None:
                relaxed = Ordering.Relaxed
                for _ in range(per_thread):
                    counter.fetch_add(1, relaxed)

            run_threads(nthreads, work)
            assert counter._value == N

        return with_floor

    result: dict[str, Any] = {
        BASELINE: with_lock,
        "fearless AtomicI64.fetch_add": with_atomic,
        "  (Ordering.Relaxed inline)": with_atomic_inline,
        "floor: method + lock, no checks": floor(FloorAtomic),
        "floor + operand check and wrap": floor(FloorCheckedAtomic),
    }
    for label, factory in peer_factories.items():

        def with_peer(factory: Callable[[], Any] = factory) -> None:
            add_one = factory()

            def work() -> None:
                for _ in range(per_thread):
                    add_one()

            run_threads(nthreads, work)

        result[label] = with_peer
    return result


def main() -> None:
    core = "compiled core" if fearless.native else "pure Python"
    print(f"Atomic benchmarks on {interpreter()}, {core}")
    peer_factories = peers()
    # A C extension built without free-threading support re-enables the
    # GIL when imported; then every figure below is a GIL figure.
    if getattr(sys, "_is_gil_enabled", lambda: True)() != GIL:
        print("  WARNING: importing the peers re-enabled the GIL; the figures below have it on")
    for nthreads in (1, 2):
        report(
            f"{nthreads} thread{'s' if nthreads > 1 else ''}, {N} increments in all: "
            f"counter.fetch_add(1, Relaxed)  vs  {BASELINE}",
            compare(cases(nthreads, peer_factories)),
            BASELINE,
            TARGET,
        )


if __name__ == "__main__":
    main()
