"""Type-checked, never run: spawn, JoinHandle, scope and ThreadLocal."""

from __future__ import annotations

from typing import assert_type

from fearless import JoinHandle, Scope, ThreadLocal, scope, spawn


def spawn_is_typed_by_the_callable() -> None:
    def f(x: int, *, y: str) -> float:
        return 0.0

    handle = spawn(f, 1, y="a")
    assert_type(handle, JoinHandle[float])
    assert_type(handle.join(), float)
    assert_type(handle.join(timeout=1.0), float)
    assert_type(handle.is_finished(), bool)
    assert_type(handle.ident, int)
    spawn(f, "1", y="a")  # type: ignore[arg-type]
    spawn(f, 1)  # type: ignore[call-arg]
    spawn(f, 1, y="a", z=2)  # type: ignore[call-arg]
    handle.join(1.0)  # type: ignore[call-arg]
    _widened: JoinHandle[object] = handle  # covariant: a handle of float is one of object
    with scope() as s:
        assert_type(s, Scope)
        assert_type(s.spawn(f, 1, y="a"), JoinHandle[float])
        s.spawn(f, y="a")  # type: ignore[call-arg]


def thread_local_is_typed() -> None:
    local = ThreadLocal(list[int])
    assert_type(local, ThreadLocal[list[int]])
    assert_type(local.get(), list[int])
    assert_type(local.replace([1]), list[int])
    assert_type(local.take(), list[int])
    local.set(["x"])  # type: ignore[list-item]
    _counts: ThreadLocal[int] = ThreadLocal(str)  # type: ignore[arg-type]
