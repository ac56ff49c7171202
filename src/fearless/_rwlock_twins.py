"""The compiled twins of ``RwLock`` and ``RwLockReadGuard`` (issue 15).

With the compiled core in use (:mod:`fearless._compiled`), ``RwLock(value)``
made while the real threads backend is in force is an object of a twin: a
subclass of ``fearless._native.RwLockCore`` whose ``read()`` and
``try_read()`` run in C while no writer holds or waits for the lock. Such a
*fast* reader takes no lock: it counts itself into one atomic word and gets
a ``fearless._native.ReadGuardCore`` twin of :class:`~fearless.RwLockReadGuard`,
so readers on the free-threaded build really run in parallel. A reader that
finds a writer there, and a writer that waits for the readers in flight,
first wait a little in C with the GIL released (yields, then a futex on
Linux), since those waits last microseconds; only then do they take the
reference's path, which queues and parks them.

Everything else is the reference's own Python code (``fearless._rwlock``,
``fearless._rwlock_core``) bound into the twin's namespace, on the same
fields: writers, upgradable reads, readers that arrive while the gate is up
(they get the reference's guards), waiting and handing over, poison,
``into_inner``, ``statistics()`` and ``repr``. That code sees the fast
readers through ``_fast``, ``_fast_mine`` and ``_fast_lost`` (see
``src/native/rwlock.c`` for the protocol), and the C type's ``_gate``
setter is what opens and closes the fast path. Messages, reprs and
behaviour are therefore the reference's.

``os.fork()``: a fast reader on a thread the fork did not copy can never
leave. The C word cannot say whose its readers are, so at each fork the
child records, for every live twin, how many of its fast readers were not
the forking thread's (``_fast_lost``); the reference's fork checks count
them as lost holders.
"""

from __future__ import annotations

import os
import weakref
from types import ModuleType
from typing import Any

from . import _rwlock_core, _rwlock_guards
from ._compiled import reference_functions, twin_class
from ._deadline import Deadline
from ._errors import GuardReleasedError, WrongThreadError
from ._rwlock import RwLock
from ._rwlock_core import _RwLockCore
from ._rwlock_guards import RwLockReadGuard
from ._util import NotCopyable

#: What the twin does not take from the reference: the C type has these.
_NOT_BOUND = frozenset({"__slots__", "read", "try_read"})

#: The reference's fields the C type does not hold: the twin's own slots.
_SLOTS = tuple(
    name for name in _RwLockCore.__slots__ if name not in {"__weakref__", "_data", "_gate"}
)

#: Every twin alive, for the fork hook.
_live: weakref.WeakSet[Any] = weakref.WeakSet()

#: The reference's own functions that the twin's wrap.
_reference_block = _RwLockCore._block
_reference_read = vars(RwLock)["read"]


def _init(self: Any, value: Any, *, poison: bool = True) -> None:
    _RwLockCore.__init__(self, value, poison=poison)
    _live.add(self)


def _block(self: Any, waiter: Any, queue: Any, wait: float) -> bool:
    """The reference's wait; a writer or an upgrade first waits in C for the fast readers.

    The readers in flight leave within microseconds, and being parked and
    woken by the last of them would cost a wake-up on both sides: so the
    C type waits a little for them (``_await_readers``, bounded by ``wait``),
    and this thread hands the lock over itself -- to the first writer in
    line, which may be another. Whatever is left is the reference's wait.
    """
    if queue is None or queue is self._write_waiters:
        deadline = Deadline(wait)
        if self._await_readers(wait):
            self._run_locked(waiter.ident, self._dispatch)
            if waiter.granted:
                return True
        wait = deadline.remaining()
    return _reference_block(self, waiter, queue, wait)


def _read_slow(self: Any, timeout: float | None) -> Any:
    """``read(timeout=timeout)`` as the reference does it: the C path's fallback."""
    return _reference_read(self, timeout=timeout)


def _after_fork_in_child() -> None:
    """Count, for every twin, the fast readers the fork left behind (see the docstring)."""
    for rwlock in list(_live):
        rwlock._fast_lost = rwlock._fast - rwlock._fast_mine


def rwlock_twin(core: ModuleType) -> type:
    """The compiled twin of :class:`~fearless.RwLock` (see the module docstring)."""
    namespace = reference_functions(_RwLockCore, RwLock, skip=_NOT_BOUND | vars(NotCopyable).keys())
    namespace["__slots__"] = _SLOTS
    namespace["__init__"] = _init
    namespace["_block"] = _block
    # The C paths' fallbacks, while the gate is up: the reference's own.
    namespace["_read_slow"] = _read_slow
    namespace["_try_read_slow"] = vars(RwLock)["try_read"]
    return twin_class(RwLock, core.RwLockCore, namespace)


def install(core: ModuleType) -> None:
    """Hand the core its guard class, errors and messages; give ``RwLock`` its twin."""
    guard = twin_class(RwLockReadGuard, core.ReadGuardCore)
    core._setup_rwlock(
        guard,
        (GuardReleasedError, WrongThreadError),
        (
            _rwlock_guards._MSG_RELEASED,
            _rwlock_guards._MSG_READ_ONLY,
            _rwlock_guards._MSG_WRONG_THREAD,
        ),
        _rwlock_core.warn_dropped,
    )
    RwLock._native_twin = rwlock_twin(core)
    RwLockReadGuard._native_twin = guard
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
