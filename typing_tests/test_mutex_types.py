"""Type-checked, never run: what mypy must accept and reject (compile-fail tests).

Each misuse line carries ``# type: ignore[<code>]``; with
``warn_unused_ignores`` a misuse that stops being rejected fails mypy.
"""

from __future__ import annotations

from typing import assert_type

from fearless import Mutex, MutexGuard, MutexStatistics, PoisonError


def mutex_guards_are_typed() -> None:
    m = Mutex(1)
    assert_type(m, Mutex[int])
    g = m.lock()
    assert_type(g, MutexGuard[int])
    assert_type(g.value, int)
    g.value = 2
    g.value += 1
    with m.lock(timeout=1.0) as g2:
        assert_type(g2, MutexGuard[int])
    assert_type(m.try_lock(), MutexGuard[int])
    assert_type(m.into_inner(), int)
    assert_type(m.statistics(), MutexStatistics)
    assert_type(m.is_poisoned(), bool)


def mutex_rejects_wrong_values() -> None:
    m = Mutex(1)
    with m.lock() as g:
        g.value = "text"  # type: ignore[assignment]
    explicit: Mutex[int] = Mutex("text")  # type: ignore[arg-type]
    m.lock(timeout="1")  # type: ignore[arg-type]
    m.lock(1.0)  # type: ignore[call-arg]


def mutex_is_invariant() -> None:
    ints: Mutex[int] = Mutex(1)
    objects: Mutex[object] = ints  # type: ignore[assignment]


def poison_error_recovers(m: Mutex[list[int]]) -> None:
    try:
        m.lock()
    except PoisonError as e:
        guard = e.into_inner()
        guard.unlock()


def poison_error_is_generic_over_what_it_guards(m: Mutex[list[int]]) -> MutexGuard[list[int]]:
    # ``except`` cannot name a type argument: annotate the caught error
    # with what the call returns (as for Rust's PoisonError<MutexGuard<T>>).
    try:
        return m.lock()
    except PoisonError as e:
        poisoned: PoisonError[MutexGuard[list[int]]] = e
        assert_type(poisoned.into_inner(), MutexGuard[list[int]])
        return poisoned.into_inner()


def poison_error_from_into_inner_gives_the_value(m: Mutex[list[int]]) -> list[int]:
    try:
        return m.into_inner()
    except PoisonError as e:
        poisoned: PoisonError[list[int]] = e
        assert_type(poisoned.into_inner(), list[int])
        return poisoned.into_inner()


def poison_error_checks_what_it_holds() -> None:
    def recover() -> MutexGuard[int]:
        return Mutex(1).lock()

    error = PoisonError("poisoned", recover)
    assert_type(error, PoisonError[MutexGuard[int]])
    assert_type(error.into_inner(), MutexGuard[int])
    wrong: PoisonError[MutexGuard[str]] = error  # type: ignore[assignment]
    value: str = error.into_inner().value  # type: ignore[assignment]
