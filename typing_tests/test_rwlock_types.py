"""Type-checked, never run: RwLock guards, read-only values, variance."""

from __future__ import annotations

from typing import assert_type

from fearless import (
    RwLock,
    RwLockReadGuard,
    RwLockStatistics,
    RwLockUpgradableReadGuard,
    RwLockWriteGuard,
)


def typed() -> None:
    rw = RwLock([1])
    assert_type(rw, RwLock[list[int]])
    with rw.read() as r:
        assert_type(r, RwLockReadGuard[list[int]])
        assert_type(r.value, list[int])
        r.value = [2]  # type: ignore[misc]
    with rw.write() as w:
        assert_type(w.value, list[int])
        w.value = [3]
        w.value = "x"  # type: ignore[assignment]
        assert_type(w.downgrade(), RwLockReadGuard[list[int]])
    with rw.upgradable_read() as u:
        assert_type(u, RwLockUpgradableReadGuard[list[int]])
        u.value = [4]  # type: ignore[misc]
        assert_type(u.upgrade(timeout=1.0), RwLockWriteGuard[list[int]])
    assert_type(rw.try_read(), RwLockReadGuard[list[int]])
    assert_type(rw.try_write(), RwLockWriteGuard[list[int]])
    assert_type(rw.statistics(), RwLockStatistics)
    assert_type(rw.into_inner(), list[int])
    rw.read(1.0)  # type: ignore[call-arg]


def covariant_read_guard(g: RwLockReadGuard[bool]) -> RwLockReadGuard[int]:
    return g


def invariant_lock(rw: RwLock[bool]) -> RwLock[int]:
    return rw  # type: ignore[return-value]
