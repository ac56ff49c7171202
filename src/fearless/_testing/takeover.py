"""How an exploration takes over: the seam, ``threading``, ``time.sleep``, the primitives.

:func:`controlling` is installed once per exploration. It routes plain
``threading`` (``Thread.start``/``join``/``is_alive``, the ``threading``
locks, and so ``Event``, ``Condition``, ``Semaphore``, ``Barrier`` and
``queue.Queue`` made during the run) and ``time.sleep`` to the run in
progress, for simulated threads only, and wraps every operation that
:mod:`.declarations` declares a switch point so that calling it from a
simulated thread is a step of its own, touching the object's declared key
(:func:`object_key`). :func:`running` puts one run's scheduler in charge
of the seam (:class:`SimBackend`: simulated locks, threads and clock).
Everything else in the process keeps the real ones. Relies on the seam's
:func:`~fearless._seam.install`, :mod:`.scheduler` and :mod:`.locks`.
"""

from __future__ import annotations

import _thread
import functools
import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from .. import _seam
from .declarations import PRIMITIVES
from .keys import ANYTHING, CLOCK
from .locks import SimLock, SimRLock
from .report import callable_name
from .scheduler import FINISHED, Abort, Scheduler, SimThread, UnhandledThreadError

__all__ = [
    "SimBackend",
    "controlling",
    "object_key",
    "operations",
    "primitive_classes",
    "running",
    "running_here",
]

_real_allocate_lock: Final = _thread.allocate_lock


class SimBackend:
    """The seam's backend during a run: simulated locks, threads and clock."""

    spins = 0
    snoozes = 0
    slice = float("inf")

    def __init__(self, sched: Scheduler) -> None:
        self._sched = sched
        self._real = _seam.ThreadBackend()

    def allocate_lock(self) -> _seam.RawLock:
        sched = self._sched
        if sched.me() is None:
            return self._real.allocate_lock()
        return SimLock(sched, sched.label("lock"))

    def allocate_rlock(self) -> _seam.RawRLock:
        sched = self._sched
        if sched.me() is None:
            return self._real.allocate_rlock()
        return SimRLock(sched, sched.label("rlock"))

    def rlock_owner(self, lock: _seam.RawRLock) -> int | None:
        if isinstance(lock, SimRLock):
            owner = lock.owner
            return owner.ident if isinstance(owner, SimThread) else owner
        return self._real.rlock_owner(lock)

    def start_thread(self, target: Callable[[], object], name: str | None) -> None:
        sched = self._sched
        if sched.me() is None:
            self._real.start_thread(target, name)
            return
        t = sched.start_thread(target, name or callable_name(target))
        sched.touch(t)
        sched.switch(f"spawn T{t.index}")

    def monotonic(self) -> float:
        sched = self._sched
        if sched.me() is None:
            return self._real.monotonic()
        sched.touch(CLOCK)
        return sched.clock

    def pause(self) -> None:
        if self._sched.me() is None:
            self._real.pause()

    def snooze(self) -> None:
        if self._sched.me() is None:
            self._real.snooze()

    def rotation(self) -> int:
        me = self._sched.me()
        if me is None:
            return self._real.rotation()
        me.rotation += 1
        return me.rotation - 1


# -- every declared operation is a switch point --------------------------------------------


def primitive_classes() -> dict[type, str]:
    """Every class :data:`.declarations.PRIMITIVES` names, with its public name."""
    import fearless  # noqa: PLC0415 - only explorations need these
    from fearless import atomic, mpsc  # noqa: PLC0415

    modules = {"atomic": atomic, "mpsc": mpsc}
    classes: dict[type, str] = {}
    for public in PRIMITIVES:
        module_name, _, name = public.rpartition(".")
        classes[getattr(modules[module_name] if module_name else fearless, name)] = public
    return classes


def operations() -> list[tuple[type, str, Any]]:
    """Every declared switch point: (defining class, name, attribute), once each.

    An operation is wrapped where it is defined, in every class of
    fearless's along the primitive's MRO that defines it.
    """
    found: dict[tuple[type, str], Any] = {}
    for cls, public in primitive_classes().items():
        names = PRIMITIVES[public].switch_points
        for klass in cls.__mro__:
            if not _ours(klass):
                continue
            for name in names & vars(klass).keys():
                found[klass, name] = vars(klass)[name]
    return [(klass, name, attr) for (klass, name), attr in found.items()]


def _ours(cls: type) -> bool:
    # fearless presents its classes as fearless.X, fearless.mpsc.X... (see _util)
    return cls.__module__ == "fearless" or cls.__module__.startswith("fearless.")


#: Each declared class (and its subclasses, as met): the path to its key's lock.
_key_paths: dict[type, tuple[str, ...] | None] = {}


def _key_path(cls: type) -> tuple[str, ...] | None:
    try:
        return _key_paths[cls]
    except KeyError:
        pass
    path: tuple[str, ...] | None = None
    declared = primitive_classes()
    for klass in cls.__mro__:
        public = declared.get(klass)
        if public is not None:
            path = PRIMITIVES[public].key
            break
    _key_paths[cls] = path
    return path


def object_key(obj: object) -> object:
    """A key for a primitive, the same in every run: its seam lock's, else its type's.

    The lock is found by the path :mod:`.declarations` declares for the class.
    """
    path = _key_path(type(obj))
    if path is not None:
        value: object = obj
        for name in path:
            value = getattr(value, name, None)
        if isinstance(value, (SimLock, SimRLock)):
            return value.key
    return ("type", type(obj).__qualname__)


def _as_operation(attr: Any) -> Any:
    """``attr`` (a method or staticmethod) made a switch point when a simulated thread calls it."""
    static = isinstance(attr, staticmethod)
    function = attr.__func__ if static else attr
    owner_name = function.__qualname__.rsplit(".", 1)[0].lstrip("_")

    def enter(args: tuple[Any, ...]) -> tuple[Scheduler, SimThread] | None:
        sched = running_here()
        if sched is None or sched.aborting:
            return None
        me = sched.me()
        assert me is not None
        if me.in_operation:  # an operation calling another: one step
            return None
        owner = type(args[0]).__name__ if args and not static else owner_name
        sched.switch(f"{owner}.{function.__name__}")
        sched.touch_key(object_key(args[0]) if args else ANYTHING)
        sched.merge_next = me
        me.in_operation = True
        return sched, me

    def leave(entered: tuple[Scheduler, SimThread]) -> None:
        sched, me = entered
        me.in_operation = False
        if sched.merge_next is me:
            sched.merge_next = None

    if inspect.isgeneratorfunction(function):

        def operation(*args: Any, **kwargs: Any) -> Any:
            iterator = function(*args, **kwargs)
            while True:  # every item is a step (a receive, for a Receiver)
                entered = enter(args)
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    if entered is not None:
                        leave(entered)
                yield item

    else:

        def operation(*args: Any, **kwargs: Any) -> Any:
            entered = enter(args)
            try:
                return function(*args, **kwargs)
            finally:
                if entered is not None:
                    leave(entered)

    functools.update_wrapper(operation, function)
    return staticmethod(operation) if static else operation


#: (defining class, name) -> (the class's namespace, the attribute, its
#: switch-point wrapper), made by the first exploration: wrapping every
#: operation anew cost each exploration about 25 ms, and a property test
#: that calls ``explore`` is one exploration per test case. The namespace
#: (a live view) is read directly: ``vars()`` of a twinned class runs its
#: metaclass's ``__getattribute__``.
_wrapped: dict[tuple[type, str], tuple[Mapping[str, Any], Any, Any]] = {}


def _operation_patches() -> list[tuple[type, str, Any, Any]]:
    """(class, name, attribute, wrapper) for every declared operation, each wrapped once."""
    if not _wrapped:
        for cls, name, attr in operations():
            _wrapped[cls, name] = (vars(cls), attr, _as_operation(attr))
    patches: list[tuple[type, str, Any, Any]] = []
    for (cls, name), (namespace, attr, wrapper) in list(_wrapped.items()):
        current = namespace[name]
        if current is not attr:  # replaced since: wrap what is there now
            wrapper = _as_operation(current)  # noqa: PLW2901
            _wrapped[cls, name] = (namespace, current, wrapper)
        patches.append((cls, name, current, wrapper))
    return patches


# -- runs, and plain threading and time ---------------------------------------------------


_active: Scheduler | None = None


def running_here() -> Scheduler | None:
    """The active run's scheduler when the caller is one of its threads, else None."""
    sched = _active
    if sched is None or sched.me() is None:
        return None
    return sched


@contextmanager
def running(sched: Scheduler) -> Iterator[None]:
    """Put ``sched`` in charge of the seam for one run (inside :func:`controlling`)."""
    global _active
    _active = sched
    try:
        with _seam.install(SimBackend(sched)):
            yield
    finally:
        _active = None


@contextmanager
def controlling() -> Iterator[None]:  # noqa: PLR0915 - patches and restores everything in one with block
    """Route ``threading``, ``time.sleep`` and the lock-free operations to the active run.

    Installed once per exploration (changing a class's attributes is slow
    on free-threaded builds). Outside runs, and for threads that are not
    simulated, every patched function does what the original does.
    """
    global _controlling
    with _controlling_lock:
        if _controlling:
            raise RuntimeError(
                "another thread is running explore(): explorations take over threading "
                "and time.sleep process-wide, so they run one at a time"
            )
        _controlling = True
    real_start = threading.Thread.start
    real_join = threading.Thread.join
    real_is_alive = threading.Thread.is_alive
    real_rlock = threading.RLock
    real_allocate = threading._allocate_lock  # type: ignore[attr-defined]
    real_sleep = time.sleep

    def start(self: threading.Thread) -> None:
        sched = running_here()
        if sched is None:
            return real_start(self)
        if self in sched.plain_threads or self._started.is_set():  # type: ignore[attr-defined]
            raise RuntimeError("threads can only be started once")

        def body() -> None:
            # Event.set() without its lock: nobody can be waiting on it.
            self._started._flag = True  # type: ignore[attr-defined]
            try:
                self.run()
            except Abort:
                raise
            except BaseException as exc:
                raise UnhandledThreadError(
                    f"thread {self.name!r} raised {type(exc).__name__}: {exc}"
                ) from exc

        t = sched.start_thread(body, self.name, self)
        sched.plain_threads[self] = t
        sched.touch(t)
        sched.switch(f"start T{t.index}")

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        sched = running_here()
        t = None if sched is None else sched.plain_threads.get(self)
        if sched is None or t is None:
            return real_join(self, timeout)
        if t is sched.me():
            raise RuntimeError("cannot join current thread")
        first = sched.step_mark()
        sched.switch(f"join T{t.index}")
        sched.touch(t)
        deadline = None if timeout is None else sched.clock + max(timeout, 0)
        while t.state != FINISHED:
            sched.pure_wait(first)
            if not sched.block(t, deadline):
                return None
        return None

    def is_alive(self: threading.Thread) -> bool:
        sched = _active
        t = None if sched is None else sched.plain_threads.get(self)
        if t is None:
            return real_is_alive(self)
        return t.state != FINISHED

    def lock() -> Any:
        sched = running_here()
        if sched is None:
            return real_allocate()
        return SimLock(sched, sched.label("threading.Lock"))

    def rlock(*args: Any, **kwargs: Any) -> Any:
        sched = running_here()
        if sched is None:
            return real_rlock(*args, **kwargs)
        return SimRLock(sched, sched.label("threading.RLock"))

    def sleep(seconds: float) -> None:
        sched = running_here()
        if sched is None:
            return real_sleep(seconds)
        sched.sleep(seconds)
        return None

    patches: list[tuple[object, str, object]] = [
        (threading.Thread, "start", start),
        (threading.Thread, "join", join),
        (threading.Thread, "is_alive", is_alive),
        (threading, "Lock", lock),
        (threading, "RLock", rlock),
        (threading, "_allocate_lock", lock),
        (time, "sleep", sleep),
    ]
    real_unraisable = sys.unraisablehook

    def unraisable(args: Any) -> None:
        # A finaliser that a run's end interrupted: an object of the run
        # dropped while its threads unwind waited for a lock of the run, and
        # no thread waits any more (see Abort). That is the run ending, not
        # an error of the program: Abort never leaves a run, not even here.
        exc_type = args.exc_type
        if isinstance(exc_type, type) and issubclass(exc_type, Abort):
            return
        real_unraisable(args)

    patches.append((sys, "unraisablehook", unraisable))
    originals = [(owner, name, vars(owner)[name]) for owner, name, _ in patches]
    for cls, name, attr, wrapper in _operation_patches():
        patches.append((cls, name, wrapper))
        originals.append((cls, name, attr))
    try:
        for owner, name, new in patches:
            setattr(owner, name, new)
        yield
    finally:
        for owner, name, old in originals:
            setattr(owner, name, old)
        _controlling = False


_controlling = False
_controlling_lock: Final = _real_allocate_lock()
