"""The chapter's races, found before production: fearless.testing explores interleavings.

The chapter's sharpest point: "Python happily runs a racy program and gives
you wrong answers silently" -- and "forgetting the lock? No compiler warning.
Bug discovered in production." Rust catches these at compile time and tests
the rest with loom. fearless ports loom: :func:`fearless.testing.explore`
runs a test under many thread schedules, one thread at a time, switching at
every fearless operation and (``trace=True``) at every line and every store
of plain Python code, so the lost ``counter += 1`` turns up in a test
instead of in production.
"""

from __future__ import annotations

import threading

from fearless import Mutex, scope
from fearless.atomic import AtomicBool, AtomicInt, Ordering
from fearless.testing import DeadlockFound, ScheduleFailure, explore

# -- the chapter's racy counter: 2 threads x 3 increments -----------------------------

counter = 0


def racy_counter() -> None:
    global counter
    counter = 0

    def increment(n: int) -> None:
        global counter
        for _ in range(n):
            counter += 1  # NOT thread-safe: a read, an add, a write

    threads = [threading.Thread(target=increment, args=(3,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter == 6, f"Counter: {counter}"


def mutex_counter() -> None:
    total = Mutex(0)

    def increment(n: int) -> None:
        for _ in range(n):
            with total.lock() as guard:
                guard.value += 1

    with scope() as s:
        s.spawn(increment, 3)
        s.spawn(increment, 3)
    assert total.into_inner() == 6


def atomic_counter() -> None:
    total = AtomicInt(0)

    def increment(n: int) -> None:
        for _ in range(n):
            total.fetch_add(1, Ordering.Relaxed)

    with scope() as s:
        s.spawn(increment, 3)
        s.spawn(increment, 3)
    assert total.load() == 6


# -- the chapter's check-then-append ---------------------------------------------------


def racy_append() -> None:
    shared_list: list[int] = []

    def append_items(items: list[int]) -> None:
        for item in items:
            if item not in shared_list:  # RACE CONDITION!
                shared_list.append(item)

    with scope() as s:
        s.spawn(append_items, [1, 2])
        s.spawn(append_items, [2, 3])
    assert sorted(shared_list) == [1, 2, 3], f"shared_list: {shared_list}"


def mutex_append() -> None:
    shared: Mutex[list[int]] = Mutex([])

    def append_items(items: list[int]) -> None:
        for item in items:
            with shared.lock() as guard:
                if item not in guard.value:
                    guard.value.append(item)

    with scope() as s:
        s.spawn(append_items, [1, 2])
        s.spawn(append_items, [2, 3])
    assert sorted(shared.into_inner()) == [1, 2, 3]


# -- two mutexes taken in opposite orders --------------------------------------------------


def opposite_orders() -> None:
    a, b = Mutex("a"), Mutex("b")

    def one() -> None:
        with a.lock(), b.lock():
            pass

    def two() -> None:
        with b.lock(), a.lock():
            pass

    with scope() as s:
        s.spawn(one)
        s.spawn(two)


# -- the Release/Acquire hand-off: data first, then the flag ----------------------------------


class Slot:
    """Data another thread may read once ``ready`` says it is there."""

    def __init__(self) -> None:
        self.data: list[int] | None = None
        self.ready = AtomicBool(False)


def handoff(publish_first: bool) -> None:
    slot = Slot()

    def producer() -> None:
        if publish_first:  # the bug: the flag goes up before the data is there
            slot.ready.store(True, Ordering.Release)
            slot.data = [1, 2, 3]
        else:
            slot.data = [1, 2, 3]
            slot.ready.store(True, Ordering.Release)

    def consumer() -> None:
        if slot.ready.load(Ordering.Acquire):
            assert slot.data == [1, 2, 3], f"saw the flag, but data = {slot.data}"

    with scope() as s:
        s.spawn(consumer)
        s.spawn(producer)


def report(title: str, test: object, **options: object) -> None:
    try:
        result = explore(test, strategy="exhaustive", **options)  # type: ignore[arg-type]
    except DeadlockFound as failure:
        print(f"{title}: DEADLOCK found")
        for line in str(failure).splitlines():
            if "is blocked in Mutex.lock" in line:
                print(f"  {line.strip()}")
    except ScheduleFailure as failure:
        cause = failure.__cause__
        while isinstance(cause, BaseExceptionGroup):  # a scope's failed threads
            cause = cause.exceptions[0]
        print(f"{title}: RACE found -- {cause}")
        again = _fails_again(test, failure.schedule, options)
        print(f"  replaying its schedule fails the same way: {again}")
    else:
        # result.coverage: "the whole space" only when nothing (a preemption
        # bound, the limit on schedules) cut the search; else what it covered.
        print(
            f"{title}: passed all {result.schedules} schedules "
            f"({result.coverage}; complete: {result.complete})"
        )


def _fails_again(test: object, schedule: str, options: dict[str, object]) -> bool:
    try:
        explore(test, replay=schedule, **options)  # type: ignore[arg-type]
    except ScheduleFailure as failure:
        return failure.schedule == schedule
    return False


def main() -> None:
    report("counter += 1 (2 threads x 3)", racy_counter, trace=True)
    report("Mutex counter", mutex_counter)
    report("AtomicInt counter", atomic_counter)
    report("check-then-append", racy_append, trace=True)
    report("check-then-append under a Mutex", mutex_append, trace=True, preemption_bound=2)
    report("two mutexes, opposite orders", opposite_orders)
    report(
        "Release/Acquire: data, then flag", lambda: handoff(False), trace=True, preemption_bound=2
    )
    report("Release/Acquire: flag, then data", lambda: handoff(True), trace=True)


if __name__ == "__main__":
    main()
