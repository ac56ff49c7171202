"""Type-checked, never run: Condvar, Barrier, Once, OnceLock, LazyLock."""

from __future__ import annotations

from typing import assert_type

from fearless import (
    Barrier,
    BarrierWaitResult,
    Condvar,
    LazyLock,
    Mutex,
    Once,
    OnceLock,
)


def condvar_takes_mutex_guards() -> None:
    m = Mutex([1])
    cv = Condvar()
    with m.lock() as g:
        assert_type(cv.wait(g), bool)
        assert_type(cv.wait(g, timeout=0.5), bool)
        assert_type(cv.wait_while(g, lambda v: len(v) == 0), bool)
        cv.wait_while(g, lambda v: v + 1)  # type: ignore[operator]
        cv.wait(g, 0.5)  # type: ignore[call-arg]
        cv.wait(m)  # type: ignore[arg-type]
    cv.notify_one()
    cv.notify_all()


def barrier_results() -> None:
    b = Barrier(2)
    result = b.wait(timeout=1)
    assert_type(result, BarrierWaitResult)
    assert_type(result.is_leader, bool)
    result.is_leader = True  # type: ignore[misc]
    Barrier("2")  # type: ignore[arg-type]


def once_cells_are_generic() -> None:
    once = Once()
    once.call_once(lambda: None)
    assert_type(once.is_completed, bool)
    cell: OnceLock[int] = OnceLock()
    assert_type(cell.get(), int | None)
    assert_type(cell.set(1), bool)
    assert_type(cell.get_or_init(lambda: 2), int)
    cell.set("x")  # type: ignore[arg-type]
    cell.get_or_init(lambda: "x")  # type: ignore[arg-type, return-value]
    lazy = LazyLock(lambda: {"a": 1})
    assert_type(lazy, LazyLock[dict[str, int]])
    assert_type(lazy.force(), dict[str, int])
    assert_type(lazy.value, dict[str, int])
    lazy.value = {}  # type: ignore[misc]
