"""Every blocking call takes the same timeouts, with the same errors.

DESIGN.md: a timeout larger than ``threading.TIMEOUT_MAX`` waits as long as
the platform allows and never raises ``OverflowError``; every number
``threading`` accepts as a timeout is accepted; NaN and negative timeouts
raise ``ValueError`` with one message everywhere. Each call below is made
where it does not need to wait, so a huge timeout returns at once.
"""

from __future__ import annotations

import decimal
import fractions
import threading
from collections.abc import Callable

import pytest

from fearless import Barrier, Condvar, Mutex, RwLock, spawn
from fearless.mpsc import channel, select, sync_channel


def _mutex_lock(timeout: object) -> None:
    Mutex(0).lock(timeout=timeout).unlock()  # type: ignore[arg-type]


def _rwlock_read(timeout: object) -> None:
    RwLock(0).read(timeout=timeout).unlock()  # type: ignore[arg-type]


def _rwlock_write(timeout: object) -> None:
    RwLock(0).write(timeout=timeout).unlock()  # type: ignore[arg-type]


def _rwlock_upgradable(timeout: object) -> None:
    RwLock(0).upgradable_read(timeout=timeout).unlock()  # type: ignore[arg-type]


def _rwlock_upgrade(timeout: object) -> None:
    lock = RwLock(0)
    with lock.upgradable_read() as guard:
        guard.upgrade(timeout=timeout).unlock()  # type: ignore[arg-type]


def _condvar_wait_while(timeout: object) -> None:
    mutex, cv = Mutex(0), Condvar()
    with mutex.lock() as guard:
        # The predicate is false at once: no wait at all.
        cv.wait_while(guard, lambda v: v != 0, timeout=timeout)  # type: ignore[arg-type]


def _barrier_wait(timeout: object) -> None:
    Barrier(1).wait(timeout=timeout)  # type: ignore[arg-type]


def _join(timeout: object) -> None:
    handle = spawn(lambda: 1)
    handle.join(timeout=timeout)  # type: ignore[arg-type]


def _recv(timeout: object) -> None:
    tx, rx = channel[int]()
    tx.send(1)
    rx.recv(timeout=timeout)  # type: ignore[arg-type]


def _bounded_send(timeout: object) -> None:
    tx, _rx = sync_channel[int](1)
    tx.send(1, timeout=timeout)  # type: ignore[arg-type]


def _select(timeout: object) -> None:
    tx, rx = channel[int]()
    tx.send(1)
    select(rx, timeout=timeout)  # type: ignore[call-overload]


CALLS: dict[str, Callable[[object], None]] = {
    "Mutex.lock": _mutex_lock,
    "RwLock.read": _rwlock_read,
    "RwLock.write": _rwlock_write,
    "RwLock.upgradable_read": _rwlock_upgradable,
    "upgrade": _rwlock_upgrade,
    "Condvar.wait_while": _condvar_wait_while,
    "Barrier.wait": _barrier_wait,
    "JoinHandle.join": _join,
    "Receiver.recv": _recv,
    "SyncSender.send": _bounded_send,
    "select": _select,
}


class _Seconds:
    """Anything with ``__float__``, as ``threading`` accepts it."""

    def __float__(self) -> float:
        return 5.0


class _Index:
    """Anything with ``__index__``, as ``threading`` accepts it."""

    def __index__(self) -> int:
        return 5


ACCEPTED: list[object] = [
    0,
    5,
    0.5,
    10**400,  # beyond float's range: as long as the platform allows
    -0.0,
    float("inf"),
    threading.TIMEOUT_MAX * 2,
    fractions.Fraction(1, 2),
    decimal.Decimal("0.5"),
    _Seconds(),
    _Index(),
]

REFUSED_VALUE: list[object] = [-1, -0.001, -(10**400), float("nan"), decimal.Decimal("NaN")]
REFUSED_TYPE: list[object] = [True, "1", [1], 1j, object()]


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("timeout", ACCEPTED, ids=repr)
def test_every_number_is_accepted(call: Callable[[object], None], timeout: object) -> None:
    call(timeout)


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_numpy_numbers_are_accepted(call: Callable[[object], None]) -> None:
    import numpy as np

    call(np.int64(5))
    call(np.float32(0.5))
    call(np.float64(0.5))


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("timeout", REFUSED_VALUE, ids=repr)
def test_negative_and_nan_raise_the_same_value_error(
    call: Callable[[object], None], timeout: object
) -> None:
    expected = f"timeout must be a non-negative number of seconds or None, got {timeout!r}"
    with pytest.raises(ValueError, match=r"^timeout must be") as info:
        call(timeout)
    assert str(info.value) == expected


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("timeout", REFUSED_TYPE, ids=repr)
def test_non_numbers_raise_the_same_type_error(
    call: Callable[[object], None], timeout: object
) -> None:
    expected = (
        f"timeout must be a number of seconds or None, got {type(timeout).__name__} {timeout!r}"
    )
    with pytest.raises(TypeError) as info:
        call(timeout)
    assert str(info.value) == expected
