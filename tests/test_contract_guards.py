"""The guard contract, once, over every kind of guard (DESIGN.md, "Details that are fixed too").

Every guard -- ``MutexGuard``, ``RwLockReadGuard``, ``RwLockWriteGuard``,
``RwLockUpgradableReadGuard``, and the guards ``upgrade()`` and
``downgrade()`` make -- is a context manager whose ``with`` returns the
guard itself; it gives access to the value while held; once released every
use raises ``GuardReleasedError`` and a second ``unlock()`` does too, while
the ``with`` block's exit after an ``unlock()`` does nothing; only the
owning thread may release it; its ``repr`` shows the value or that it was
released and never blocks; it cannot be built, copied or pickled. The
``try_`` forms never block and never raise ``DeadlockError``. The kinds are
listed in ``tests/_contracts.py`` (trio's ``generic_lock_test`` shape); a
test checks that every public guard class is there.
"""

from __future__ import annotations

import copy
import pickle
import threading
from collections.abc import Callable
from typing import Any

import pytest

import fearless
from _contracts import (
    GUARD_COPY_ADVICE,
    GUARD_KINDS,
    MSG_NO_DELETE,
    MSG_READ_ONLY,
    MSG_WRONG_THREAD,
    MUTEX,
    RWLOCK,
    GuardKind,
    Held,
    LockFamily,
    each_guard_kind,
    on_other_thread,
    raised_on_other_thread,
)
from fearless import DeadlockError, GuardReleasedError, WouldBlockError, WrongThreadError


def test_every_public_guard_class_has_a_kind() -> None:
    public = {getattr(fearless, name) for name in fearless.__all__}
    guards = {obj for obj in public if isinstance(obj, type) and hasattr(obj, "unlock")}
    assert guards == {kind.cls for kind in GUARD_KINDS.values()}


def _released(kind: GuardKind, how: str) -> tuple[Any, Any]:
    """A lock and a guard of ``kind`` on it, released by ``how``."""
    lock = kind.make([1])
    guard = kind.take(lock)
    if how == "unlock":
        guard.unlock()
    else:
        with guard:
            pass
    return lock, guard


each_release = pytest.mark.parametrize("how", ["unlock", "with"])


@each_guard_kind
def test_with_returns_the_guard_and_holds_the_lock_until_exit(kind: GuardKind) -> None:
    lock = kind.make([1])
    guard = kind.take(lock)
    assert isinstance(guard, kind.cls)  # the class or its compiled twin (tests/test_native.py)
    with guard as entered:
        assert entered is guard
        assert guard.value == [1]
        assert kind.counted(lock)
        assert on_other_thread(lambda: kind.counted(lock)), "statistics() seen elsewhere"
        if kind.owner is not None:
            assert kind.owner(lock) == threading.get_ident()
    assert not kind.counted(lock)
    if kind.owner is not None:
        assert kind.owner(lock) is None
    assert kind.family.free(lock)


@each_guard_kind
def test_value_is_assignable_only_through_a_writing_guard(kind: GuardKind) -> None:
    lock = kind.make([1])
    with kind.take(lock) as guard:
        guard.value.append(2)  # the value itself is the caller's: mutable in place
        if kind.writable:
            guard.value = [3]
            assert guard.value == [3]
            with pytest.raises(AttributeError) as deleted:
                del guard.value
            assert str(deleted.value) == MSG_NO_DELETE
        else:
            with pytest.raises(AttributeError) as assigned:
                guard.value = [3]
            assert str(assigned.value) == MSG_READ_ONLY
            with pytest.raises(AttributeError) as deleted:
                del guard.value
            assert str(deleted.value) == MSG_READ_ONLY
    with kind.take(lock) as again:
        assert again.value == ([3] if kind.writable else [1, 2])


@each_release
@each_guard_kind
def test_a_released_guard_refuses_every_use(kind: GuardKind, how: str) -> None:
    _lock, guard = _released(kind, how)
    uses: dict[str, Callable[[], object]] = {
        "value": lambda: guard.value,
        "value =": lambda: setattr(guard, "value", [2]),
        "del value": lambda: delattr(guard, "value"),
        "with": guard.__enter__,
        "unlock": guard.unlock,
    }
    for name, use in uses.items():
        with pytest.raises(GuardReleasedError) as raised:
            use()
        assert str(raised.value) == kind.released, name


@each_release
@each_guard_kind
def test_a_released_guard_refuses_use_from_another_thread_too(kind: GuardKind, how: str) -> None:
    _lock, guard = _released(kind, how)
    for use in (lambda: guard.value, guard.unlock):
        error = raised_on_other_thread(use)
        assert isinstance(error, GuardReleasedError)
        assert str(error) == kind.released


@each_guard_kind
def test_exit_after_unlock_does_nothing_even_to_a_newer_guard(kind: GuardKind) -> None:
    lock = kind.make([1])
    with kind.take(lock) as stale:
        stale.unlock()
        newer = kind.take(lock)  # the same thread locks again inside the block
    # The stale guard's exit left the newer guard alone.
    assert kind.counted(lock)
    assert newer.value == [1]
    assert stale.__exit__(None, None, None) is None
    assert kind.counted(lock)
    newer.unlock()
    assert not kind.counted(lock)
    assert kind.family.free(lock)


@pytest.mark.parametrize("how", ["unlock", "__exit__"])
@each_guard_kind
def test_only_the_owning_thread_may_release(kind: GuardKind, how: str) -> None:
    lock = kind.make([1])
    guard = kind.take(lock)
    release: Callable[[], object] = (
        guard.unlock if how == "unlock" else lambda: guard.__exit__(None, None, None)
    )
    error = raised_on_other_thread(release)
    assert isinstance(error, WrongThreadError)
    assert str(error) == MSG_WRONG_THREAD
    # Nothing changed: the guard still holds the lock for its thread.
    assert kind.counted(lock)
    assert not kind.family.free(lock)
    assert guard.value == [1]
    guard.unlock()
    assert kind.family.free(lock)


@each_guard_kind
def test_repr_shows_the_value_then_that_it_was_released(kind: GuardKind) -> None:
    lock = kind.make([1])
    guard = kind.take(lock)
    assert repr(guard) == f"<{kind.name} value=[1]>"
    guard.value.append(2)
    assert repr(guard) == f"<{kind.name} value=[1, 2]>"
    guard.unlock()
    assert repr(guard) == f"<{kind.name} (released)>"


@each_guard_kind
def test_reprs_never_block_on_a_guard_held_elsewhere(kind: GuardKind) -> None:
    lock = kind.make([1])
    with Held(lambda: kind.take(lock)) as held:
        # On a third thread, joined with a bound: a repr that blocked would fail.
        guard_repr, lock_repr = on_other_thread(lambda: (repr(held.guard), repr(lock)))
        assert guard_repr == f"<{kind.name} value=[1]>"
        shown = "[1]" if kind.lock_repr_shows_value else "<locked>"
        assert lock_repr == f"{kind.family.name}({shown})"
        assert repr(lock) == lock_repr
    assert repr(lock) == f"{kind.family.name}([1])"


@each_guard_kind
def test_a_guard_cannot_be_built_copied_or_pickled(kind: GuardKind) -> None:
    qualname = f"fearless.{kind.name}"
    assert kind.cls.__module__ == "fearless"
    with pytest.raises(TypeError) as built:
        kind.cls()
    assert str(built.value) == f"{qualname} has no public constructor"
    lock = kind.make([1])
    with kind.take(lock) as guard:
        for verb, refuse in (
            ("copy", copy.copy),
            ("copy", copy.deepcopy),
            ("pickle", pickle.dumps),
        ):
            with pytest.raises(TypeError) as refused:
                refuse(guard)
            assert str(refused.value) == f"cannot {verb} a {qualname}: {GUARD_COPY_ADVICE}"
        assert kind.counted(lock)


@each_guard_kind
def test_a_guard_dropped_unreleased_is_released_with_a_resource_warning(
    kind: GuardKind,
) -> None:
    lock = kind.make([1])
    guard = kind.take(lock)
    with pytest.warns(ResourceWarning, match=r"was never released"):
        del guard  # the last reference: finalised at once (gc would find no cycle)
    assert not kind.counted(lock)
    assert kind.family.free(lock)


# -- try_lock / try_read / try_write -------------------------------------------------

#: Each ``try_`` form: its family, how to call it, its WouldBlockError message,
#: and the guard kinds it may share the lock with.
TRIES: dict[str, tuple[LockFamily, Callable[[Any], Any], str, frozenset[str]]] = {
    "try_lock": (
        MUTEX,
        lambda m: m.try_lock(),
        "mutex is locked; try again later or call lock() to wait for it",
        frozenset(),
    ),
    "try_read": (
        RWLOCK,
        lambda r: r.try_read(),
        "rwlock is write-locked or a writer is waiting; try again later or call read() to wait",
        frozenset(
            {"RwLockReadGuard", "RwLockReadGuard-from-downgrade", "RwLockUpgradableReadGuard"}
        ),
    ),
    "try_write": (
        RWLOCK,
        lambda r: r.try_write(),
        "rwlock is locked; try again later or call write() to wait for it",
        frozenset(),
    ),
}

TRY_CASES = [
    pytest.param(try_name, kind_name, id=f"{try_name}-beside-{kind_name}")
    for try_name, (family, _, _, _) in TRIES.items()
    for kind_name, kind in GUARD_KINDS.items()
    if kind.family is family
]


@pytest.mark.parametrize("try_name", TRIES)
def test_try_on_a_free_lock_returns_a_held_guard(try_name: str) -> None:
    family, attempt, _, _ = TRIES[try_name]
    lock = family.make([1])
    with attempt(lock) as guard:
        assert guard.value == [1]
        assert not family.free(lock)
    assert family.free(lock)


@pytest.mark.parametrize("holder", ["this-thread", "other-thread"])
@pytest.mark.parametrize(("try_name", "kind_name"), TRY_CASES)
def test_try_never_blocks_and_never_raises_deadlock(
    try_name: str, kind_name: str, holder: str
) -> None:
    _, attempt, would_block, shares_with = TRIES[try_name]
    kind = GUARD_KINDS[kind_name]
    lock = kind.make([1])

    def check() -> None:
        if kind_name in shares_with:
            attempt(lock).unlock()
            return
        with pytest.raises(WouldBlockError) as raised:
            attempt(lock)
        assert not isinstance(raised.value, DeadlockError)
        assert str(raised.value) == would_block

    if holder == "this-thread":
        with kind.take(lock):
            check()
            assert kind.counted(lock)
    else:
        with Held(lambda: kind.take(lock)):
            check()
            assert kind.counted(lock)
    assert kind.family.free(lock)
