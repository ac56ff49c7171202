"""The compiled twins of ``Mutex`` and ``MutexGuard`` (issue 15).

With the compiled core in use (:mod:`fearless._compiled`), ``Mutex(value)``
made while the real threads backend is in force is an object of a twin: a
subclass of ``fearless._native.MutexCore`` that holds the hot paths in C --
``lock()`` on a free mutex, ``try_lock()``, and the guard's ``value``,
``with`` block and ``unlock()`` (a ``fearless._native.GuardCore`` twin) --
and runs the reference's own Python code for everything else: the twin's
namespace binds the functions of :class:`fearless._mutex.Mutex` (``into_inner``,
``repr``, ``statistics``, poisoning, the refusals, the wait), which work on
the attributes the C type offers under the reference's names (``_data``,
``_trouble``, ``_poison``, ``_owner``, ``_waiting``, ``_is_owned()``,
``_acquire()``, ``_release()``, a guard's ``_mutex``). So are messages,
reprs and behaviour the reference's, and :class:`~fearless.Condvar`'s friend
functions work on both. Only the blocking step differs: the twin waits in C
(:meth:`_wait_for_lock`), with the GIL released, after a short spin.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import _mutex, _seam
from ._compiled import reference_functions, twin_class
from ._deadline import Deadline
from ._errors import DeadlockError, GuardReleasedError, WrongThreadError
from ._mutex import Mutex, MutexGuard
from ._util import NotCopyable

#: What the twin does not take from the reference: the C type has these
#: (``lock``, ``try_lock``), or they are the reference's own machinery.
_NOT_BOUND = frozenset(
    {
        "__init__",
        "__slots__",
        "lock",
        "try_lock",
        "_owner",
        "_released_guard",
        "_wait_for_lock",
    }
)


def _wait_for_lock(self: Any, deadline: Deadline) -> bool:
    """Spin, then block with the GIL released, until the lock is taken or the deadline passed."""
    return bool(self._acquire(True, deadline.remaining()))


def mutex_twin(core: ModuleType) -> type:
    """The compiled twin of :class:`~fearless.Mutex` (see the module docstring)."""
    namespace = reference_functions(Mutex, skip=_NOT_BOUND | vars(NotCopyable).keys())
    namespace["_wait_for_lock"] = _wait_for_lock
    return twin_class(Mutex, core.MutexCore, namespace)


def install(core: ModuleType) -> None:
    """Hand the core its guard class, errors and messages; give ``Mutex`` its twin."""
    guard = twin_class(MutexGuard, core.GuardCore)
    core._setup_mutex(
        guard,
        (DeadlockError, GuardReleasedError, WrongThreadError),
        (_mutex._MSG_DEADLOCK, _mutex._MSG_RELEASED, _mutex._MSG_WRONG_THREAD),
        _mutex._drop_unreleased,  # the compiled guard's finaliser calls it when still held
        _seam,  # its forked_away sends lock() to the reference's wait
    )
    Mutex._native_twin = mutex_twin(core)
    MutexGuard._native_twin = guard
