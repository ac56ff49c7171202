"""Threads the Rust way: ``spawn`` and ``JoinHandle``, scoped threads, thread-locals.

:func:`spawn` starts a thread running ``fn(*args, **kwargs)`` and returns a
:class:`JoinHandle`. ``join()`` waits for the thread and gives back what
``fn`` returned — or raises what it raised, traceback and all (Rust's
``JoinHandle::join`` returns ``Err(payload)`` when the thread panicked):

>>> from fearless import spawn
>>> handle = spawn(sum, [1, 2, 3])
>>> handle.join(timeout=30)
6
>>> def fail() -> None:
...     raise ValueError("boom")
>>> try:
...     spawn(fail).join(timeout=30)
... except ValueError as e:
...     print("the thread failed:", e)
the thread failed: boom

Scoped threads (Rust's ``std::thread::scope``) are all joined when the
``with`` block ends, however it ends; failures nobody joined are raised
together as an :class:`ExceptionGroup`:

>>> from fearless import scope
>>> words = ["a", "bb", "ccc"]
>>> with scope() as s:
...     handles = [s.spawn(len, word) for word in words]
>>> [h.join() for h in handles]          # every thread has finished already
[1, 2, 3]

:class:`ThreadLocal` is Rust's ``thread_local!``: each thread sees a value
of its own, made by ``init()`` on first use in that thread:

>>> from fearless import ThreadLocal
>>> seen = ThreadLocal(list)
>>> seen.get().append("main")
>>> spawn(lambda: seen.get()).join(timeout=30)      # another thread: its own list
[]
>>> seen.get()
['main']

A spawned thread and its handle share a ``_Packet`` (Rust's ``Packet``):
the outcome, and the joiners parked (``_park``) on raw locks of their own
until the thread publishes it. Relies on ``_seam`` (threads, raw locks,
fork), ``_park`` and ``_deadline``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypeVar, cast, final

from . import _park, _seam
from ._deadline import Deadline, check_timeout
from ._errors import ConsumedError, DeadlockError, ScopeClosedError
from ._handle import Handle
from ._util import NoPublicConstructor, NotCopyable

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")

# Values of ``_Packet.consumed``: 0 means the outcome is still there to take.
_JOINED = 1  # join() took it
_RAISED_BY_SCOPE = 2  # the thread failed and its scope raised the exception
_NEVER_STARTED = 3  # the thread could not be started; no handle escaped

# Values of ``Scope._state``.
_NEW = 0
_OPEN = 1
_ENDED = 2

_MSG_JOIN_SELF = "a thread cannot join itself; joining would deadlock"
_MSG_JOINED = "this thread was already joined; join() consumes the handle, so call it only once"
_MSG_RAISED_BY_SCOPE = (
    "this scoped thread failed and its scope already raised the exception; "
    "join it inside the with block to handle the failure there"
)
_MSG_TIMEOUT = "thread did not finish within {} seconds; the handle stays joinable"
_MSG_SCOPE_ENDED = "this scope has ended; spawn scoped threads inside its with block"
_MSG_SCOPE_NOT_ENTERED = (
    "this scope was never entered; use it as `with scope() as s:` and spawn inside the block"
)
_MSG_SCOPE_REENTERED = "this scope was already entered; call scope() for a new one"
_MSG_JOIN_LOST = (
    "this thread was lost by os.fork(): it was running in the parent when this "
    "process was forked and does not exist here, so it can never finish; join it in "
    "the parent, or start threads after forking (or use the 'forkserver' or "
    "'spawn' start methods)"
)


def _report_failure(
    thread: threading.Thread | None,
    error: BaseException,
    *,
    # Bound now: at interpreter shutdown this may run from a finaliser after
    # the module's globals (and threading's) were cleared.
    _getattr: Any = getattr,
    _isinstance: Any = isinstance,
    _SystemExit: Any = SystemExit,
    _threading: Any = threading,
    _Args: Any = threading.ExceptHookArgs,
    _default_hook: Any = threading.excepthook,
) -> None:
    """Report a failure nobody will join, as an unjoined ``threading.Thread`` would.

    ``SystemExit`` stays silent, as in ``threading``: it is how a thread
    asks to end (and how fearless.testing unwinds the threads of a run).
    Everything it needs is bound when it is defined, so it works during
    interpreter shutdown too.
    """
    if _isinstance(error, _SystemExit):
        return
    run = _getattr(thread, "fearless_run", None)  # a thread of a fearless.testing run
    if run is not None and run.report_unjoined(thread, error):
        return
    hook = _getattr(_threading, "excepthook", None) or _default_hook
    hook(_Args([type(error), error, error.__traceback__, thread]))


class _Packet:
    """What a spawned thread shares with its :class:`JoinHandle` (Rust's ``Packet``).

    The thread holds the packet, not the handle, so a handle can be
    garbage-collected while its thread runs. ``state`` is a raw lock that the
    spawning thread acquires when the packet is made; the new thread releases
    it once it has recorded its identity (``spawn`` waits for that), and from
    then on it guards ``finished``, ``orphaned``, ``consumed`` and
    ``waiters``, always in ``with`` statements whose bodies only load and
    store (no interrupt can arrive inside, nothing there allocates).

    A joining thread waits on a raw lock of its own, registered in
    ``waiters`` (one ``list.append``); the thread releases them all when it
    has published its outcome. A joiner interrupted at any point holds
    nothing that anyone else needs: its own lock, at most, and it
    unregisters it.
    """

    __slots__ = (
        "__name__",  # read by threading.Thread to name the thread "Thread-N (fn)"
        "allocate_lock",
        "args",
        "consumed",
        "error",
        "finished",
        "fn",
        "ident",
        "kwargs",
        "label",
        "orphaned",
        "result",
        "state",
        "thread",
        "waiters",
    )

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished = False
        self.orphaned = False
        self.consumed = 0
        self.ident = 0
        self.thread: threading.Thread | None = None
        name = getattr(fn, "__name__", None)
        if isinstance(name, str):
            self.__name__ = name
        label = getattr(fn, "__qualname__", name)
        self.label: str = label if isinstance(label, str) else type(fn).__qualname__
        self.waiters: list[_seam.RawLock] = []
        self.allocate_lock = _seam.backend.allocate_lock
        self.state = self.allocate_lock()
        self.state.acquire()

    def finished_or_lost(self) -> bool:
        """Whether a joiner may stop waiting: the thread finished (True), or raise.

        Raises:
            DeadlockError: The thread was lost by ``os.fork()``.
        """
        if self.finished:
            return True
        if _seam.thread_gone(self.ident):
            raise DeadlockError(_MSG_JOIN_LOST)
        return False

    def __call__(self, _report: Any = _report_failure) -> None:
        """The body of the new thread."""
        self.ident = _seam.get_ident()
        self.thread = threading.current_thread()
        self.state.release()  # spawn() waits for this before it returns
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            tb = exc.__traceback__
            if tb is not None and tb.tb_next is not None:
                # Start the traceback at the caller's code, not at this frame.
                exc.__traceback__ = tb.tb_next
            self.error = exc
        finally:
            # Rust's move semantics: the closure and what it captured are
            # dropped when the thread ends, before join() returns. Finalisers
            # run here, on this thread, while no fearless lock is held.
            del self.fn, self.args, self.kwargs
        fresh: list[_seam.RawLock] = []
        with self.state:
            self.finished = True  # join() may return from here on
            orphaned = self.orphaned
            waiters = self.waiters
            self.waiters = fresh
        for waiter in waiters:
            waiter.release()
        error = self.error
        if orphaned and error is not None:
            _report(self.thread, error)


def _new_handle(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A handle whose thread is not started yet (see :func:`_launch`)."""
    if not callable(fn):
        raise TypeError(
            f"spawn() needs a callable to run in the new thread, got {type(fn).__name__} {fn!r}"
        )
    return JoinHandle._create(_Packet(fn, args, kwargs))


def _launch(packet: _Packet) -> None:
    """Start the packet's thread and wait until it runs (its ``ident`` is known)."""
    try:
        _seam.start_thread(packet, None)
    except Exception:
        _abandon(packet)  # e.g. "can't start new thread": no thread will ever run it
        raise
    with packet.state:  # the new thread releases it first thing
        pass


def _abandon(packet: _Packet) -> None:
    """Retire a packet whose thread never ran, so that nothing waits on it."""
    del packet.fn, packet.args, packet.kwargs
    packet.consumed = _NEVER_STARTED
    packet.finished = True
    packet.state.release()


def _wait_finished(packet: _Packet, lock_timeout: float) -> bool:
    """Wait until the packet's thread finished, ``lock_timeout`` at most (``-1``: forever).

    Waits on a raw lock of its own, in short slices: between them the
    waiting thread runs Python code again, so finalisers that free-threaded
    CPython queued for it run promptly, and a Ctrl-C arrives. Whatever
    interrupts it, the lock is unregistered before this returns or raises.

    Raises:
        DeadlockError: The thread was lost by ``os.fork()``.
    """
    waiter = _park.waiter(packet.allocate_lock)
    state = packet.state
    try:
        with state:
            if packet.finished:
                return True
            packet.waiters.append(waiter)
        if _seam.thread_gone(packet.ident):
            raise DeadlockError(_MSG_JOIN_LOST)
        return _park.park(waiter, Deadline(lock_timeout), packet.finished_or_lost)
    finally:
        with state:
            if waiter in packet.waiters:
                packet.waiters.remove(waiter)


@final
class JoinHandle(Handle, Generic[R_co], metaclass=NoPublicConstructor):
    """An owned permission to join a thread (Rust's ``JoinHandle<T>``).

    Returned by :func:`spawn` and :meth:`Scope.spawn`; handles cannot be
    built directly. :meth:`join` waits for the thread and returns what its
    callable returned, or raises what it raised.

    Joining:
        ``join()`` consumes the handle, as Rust's ``join(self)`` does: a
        second ``join()`` raises :class:`~fearless.ConsumedError`, and the
        handle drops its reference to the result. ``join(timeout=...)``
        raises :class:`TimeoutError` if the thread is still running; the
        handle stays joinable. A thread that joins its own handle gets
        :class:`~fearless.DeadlockError` at once instead of hanging.

    Failures:
        If the callable raised, ``join()`` raises that same exception object.
        Its ``__traceback__`` continues below ``join()`` with the frames of
        the failed thread, so the report shows where the thread failed.
        A failure is never silent: if the handle is garbage-collected
        without being joined — before or after its thread failed — the
        exception is reported through :func:`threading.excepthook`, as an
        exception escaping a ``threading.Thread`` is. While the handle
        exists nothing is reported: the failure waits for ``join()``.
        (Rust keeps the payload of a dropped handle silently.)

    Moves:
        The thread drops its references to the callable and its arguments
        when it finishes, before ``join()`` returns — Rust's ``move``
        closures: a resource handed to a thread is released when the thread
        is done. (A traceback keeps the frames of a failed call alive, as
        any Python traceback does.)

    Example:
        >>> from fearless import spawn
        >>> def square(x: int) -> int:
        ...     return x * x
        >>> handle = spawn(square, 7)
        >>> handle.join(timeout=30)
        49
        >>> handle.is_finished()
        True
        >>> handle
        <JoinHandle square: joined>
    """

    __slots__ = ("__weakref__", "_packet")

    _dropped = _MSG_JOINED
    _copy_advice = (
        "a JoinHandle is the one permission to join its thread: pass the handle "
        "itself, or join() it and copy the result"
    )

    def __init__(self, packet: _Packet) -> None:
        self._packet = packet

    def join(self, *, timeout: float | None = None) -> R_co:
        """Wait for the thread to finish; return its result or raise its exception.

        The joining thread waits in short slices, so finalisers queued for it
        keep running while it waits.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever. A
                timeout beyond ``threading.TIMEOUT_MAX`` waits as long as the
                platform allows.

        Returns:
            What the thread's callable returned.

        Raises:
            BaseException: Whatever the thread's callable raised — the same
                object, with the thread's frames in its traceback.
            TimeoutError: The thread was still running after ``timeout``
                seconds; the handle stays joinable.
            DeadlockError: The thread tried to join itself.
            ConsumedError: The handle was already joined (or, for a scoped
                thread that failed, its scope already raised the failure).
            ValueError: ``timeout`` is negative.

        Example:
            >>> import threading
            >>> from fearless import spawn
            >>> go = threading.Event()
            >>> handle = spawn(go.wait, 30)
            >>> try:
            ...     handle.join(timeout=0)
            ... except TimeoutError as e:
            ...     print(e)
            thread did not finish within 0 seconds; the handle stays joinable
            >>> go.set()
            >>> handle.join(timeout=30)
            True
        """
        lock_timeout = check_timeout(timeout)
        packet = self._packet
        if packet.ident == _seam.get_ident() and not packet.finished:
            raise DeadlockError(_MSG_JOIN_SELF)
        if not packet.finished and not _wait_finished(packet, lock_timeout):
            raise TimeoutError(_MSG_TIMEOUT.format(timeout))
        result: Any = None
        error: BaseException | None = None
        with packet.state:
            consumed = packet.consumed
            if not consumed:
                packet.consumed = _JOINED
                result, error = packet.result, packet.error
                packet.result = packet.error = None
        if consumed:
            raise ConsumedError(_MSG_JOINED if consumed == _JOINED else _MSG_RAISED_BY_SCOPE)
        if error is not None:
            try:
                raise error
            finally:
                del error  # no cycle through this frame
        return cast(R_co, result)

    def is_finished(self) -> bool:
        """Whether the thread has finished running its callable.

        A snapshot (it may turn true right after it returned false); once
        true, :meth:`join` returns at once.

        Example:
            >>> import threading
            >>> from fearless import spawn
            >>> go = threading.Event()
            >>> handle = spawn(go.wait, 30)
            >>> handle.is_finished()
            False
            >>> go.set()
            >>> handle.join(timeout=30)
            True
            >>> handle.is_finished()
            True
        """
        return self._packet.finished

    @property
    def ident(self) -> int:
        """The thread's identity: what ``threading.get_ident()`` returns in it.

        Known as soon as :func:`spawn` returns (Rust's
        ``handle.thread().id()``). The operating system may reuse it for a
        new thread once this one has ended.

        Example:
            >>> import threading
            >>> from fearless import spawn
            >>> handle = spawn(threading.get_ident)
            >>> handle.join(timeout=30) == handle.ident
            True
        """
        return self._packet.ident

    def __repr__(self) -> str:
        # A snapshot; never blocks.
        packet = self._packet
        if packet.consumed:
            state = "joined"
        elif not packet.finished:
            state = "running"
        elif packet.error is not None:
            state = "failed"
        else:
            state = "finished"
        return f"<JoinHandle {packet.label}: {state}>"

    def _drop(
        self, _report: Any = _report_failure, _seam: Any = _seam, _getattr: Any = getattr
    ) -> bool:
        # Garbage collection detaches the thread (Handle.__del__). Rust keeps
        # the panic payload of a dropped handle silently; Python reports a
        # thread's unhandled exception, so do that: now if the thread
        # already failed, or when it fails later. What it uses is bound as
        # default arguments: at interpreter shutdown this runs after the
        # module's globals were cleared.
        packet = self._packet  # AttributeError: construction never finished
        if packet.ident in (_getattr(_seam, "forked_away", None) or ()):
            return False  # a thread os.fork() lost: its failure belongs to the parent
        with packet.state:
            consumed, finished = packet.consumed, packet.finished
            if not consumed and not finished:
                packet.orphaned = True
        error = packet.error
        if not consumed and finished and error is not None:
            _report(packet.thread, error)
        return not consumed


def spawn(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> JoinHandle[R]:
    """Run ``fn(*args, **kwargs)`` in a new thread (Rust's ``std::thread::spawn``).

    The thread is an ordinary, non-daemon ``threading.Thread`` named like
    Python names threads (``"Thread-3 (fn)"``): the interpreter waits for
    it at exit. ``spawn`` returns once the thread is running. Every keyword
    argument is passed on to ``fn``; ``spawn`` takes none of its own.

    Args:
        fn: The callable to run; positional-only, so ``fn`` may take a
            keyword argument called ``fn``.
        *args: Positional arguments for ``fn``.
        **kwargs: Keyword arguments for ``fn``.

    Returns:
        A :class:`JoinHandle` whose :meth:`~JoinHandle.join` returns what
        ``fn`` returns (``JoinHandle[R]``: the types are checked against
        ``fn``'s signature).

    Raises:
        TypeError: ``fn`` is not callable (raised here, not in the thread).
        RuntimeError: The operating system could not start a thread.

    Example:
        >>> from fearless import Mutex, spawn
        >>> totals = Mutex(0)
        >>> def add(n: int, *, times: int) -> None:
        ...     for _ in range(times):
        ...         with totals.lock() as guard:
        ...             guard.value += n
        >>> handles = [spawn(add, n, times=100) for n in (1, 2, 3)]
        >>> for handle in handles:
        ...     handle.join(timeout=30)
        >>> totals
        Mutex(600)
    """
    handle: JoinHandle[R] = _new_handle(fn, args, kwargs)
    _launch(handle._packet)
    return handle


@final
class Scope(NotCopyable, metaclass=NoPublicConstructor):
    """Where scoped threads are spawned (Rust's ``std::thread::Scope``).

    Made by :func:`scope` and used as ``with scope() as s:``; scopes cannot
    be built directly. :meth:`spawn` starts a thread that is guaranteed to
    be joined when the ``with`` block ends.

    Joining:
        At the end of the ``with`` block the scope waits for every thread
        spawned on it — also the ones spawned by its own threads, and the
        ones spawned while others were finishing — before the block is
        left. Handles can be joined earlier inside the block; handles of
        threads that succeeded can still be joined after it.

    Failures:
        Exceptions of scoped threads that were not joined inside the block
        are raised together, after every thread finished, as an
        :class:`ExceptionGroup` (``"2 scoped threads failed"``) — a
        :class:`BaseExceptionGroup` if one of them is not an
        :class:`Exception`. A failure already delivered by ``join()`` is not
        raised again. If the block itself raised, the scope still joins
        every thread; the block's exception propagates unchanged when no
        thread failed, otherwise it is the first exception of the group
        (``"the with block and 1 scoped thread failed"``).

    Interrupts:
        A ``KeyboardInterrupt`` that arrives while the scope is waiting for
        its threads stops the wait and propagates; threads cannot be
        stopped from outside, so they keep running.

    Example:
        >>> from fearless import scope
        >>> def fail(n: int) -> None:
        ...     raise ValueError(n)
        >>> try:
        ...     with scope() as s:
        ...         first, second = s.spawn(fail, 1), s.spawn(fail, 2)
        ... except ExceptionGroup as group:
        ...     print(group.message, sorted(e.args[0] for e in group.exceptions))
        2 scoped threads failed [1, 2]
    """

    __slots__ = ("__weakref__", "_handles", "_lock", "_state")

    _copy_advice = "spawn on the scope itself (it is the `s` of `with scope() as s:`)"

    def __init__(self) -> None:
        self._lock = _seam.allocate_lock()
        self._handles: list[JoinHandle[Any]] = []
        self._state = _NEW

    def spawn(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> JoinHandle[R]:
        """Run ``fn(*args, **kwargs)`` in a new thread joined by this scope.

        Like :func:`spawn`, but the thread is joined at the end of the
        scope's ``with`` block at the latest. Callable from the block and
        from the scope's own threads.

        Args:
            fn: The callable to run (positional-only).
            *args: Positional arguments for ``fn``.
            **kwargs: Keyword arguments for ``fn``.

        Returns:
            A :class:`JoinHandle` (Rust's ``ScopedJoinHandle``).

        Raises:
            TypeError: ``fn`` is not callable.
            ScopeClosedError: The scope's ``with`` block has not started
                or has ended.
            RuntimeError: The operating system could not start a thread.

        Example:
            >>> from fearless import Mutex, scope
            >>> found = Mutex([])
            >>> def walk(s, depth: int) -> None:
            ...     with found.lock() as guard:
            ...         guard.value.append(depth)
            ...     if depth < 3:
            ...         s.spawn(walk, s, depth + 1)  # scoped threads spawn more
            >>> with scope() as s:
            ...     first = s.spawn(walk, s, 1)
            >>> found
            Mutex([1, 2, 3])
        """
        handle: JoinHandle[R] = _new_handle(fn, args, kwargs)
        with self._lock:
            state = self._state
            if state == _OPEN:
                self._handles.append(handle)
        if state != _OPEN:
            _abandon(handle._packet)
            raise ScopeClosedError(_MSG_SCOPE_NOT_ENTERED if state == _NEW else _MSG_SCOPE_ENDED)
        _launch(handle._packet)
        return handle

    def __enter__(self) -> Self:
        with self._lock:
            state = self._state
            if state == _NEW:
                self._state = _OPEN
        if state != _NEW:
            raise ScopeClosedError(_MSG_SCOPE_REENTERED)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        failures = self._join_all()
        if not failures:
            return  # the block's exception, if any, propagates unchanged
        count = len(failures)
        threads = "thread" if count == 1 else "threads"
        if exc is None:
            raise BaseExceptionGroup(f"{count} scoped {threads} failed", failures)
        raise BaseExceptionGroup(
            f"the with block and {count} scoped {threads} failed", [exc, *failures]
        ) from None

    def _join_all(self) -> list[BaseException]:
        """Wait for every thread, close the scope, take the unjoined failures."""
        lock = self._lock
        handles = self._handles
        index = 0
        fresh: list[JoinHandle[Any]] = []
        while True:
            with lock:
                if index == len(handles):
                    self._state = _ENDED  # no thread of ours runs: nobody can spawn
                    self._handles = fresh
                    break
                handle = handles[index]
            index += 1
            if not handle._packet.finished:
                _wait_finished(handle._packet, -1)
        failures: list[BaseException] = []
        for handle in handles:  # in spawn order
            packet = handle._packet
            with packet.state:
                error = packet.error
                if not packet.consumed and error is not None:
                    packet.consumed = _RAISED_BY_SCOPE
                    packet.error = None
                else:
                    error = None
            if error is not None:
                failures.append(error)
        return failures

    def __repr__(self) -> str:
        state = self._state
        if state == _NEW:
            return "<Scope (not entered)>"
        return "<Scope (open)>" if state == _OPEN else "<Scope (ended)>"


def scope() -> Scope:
    """A scope for threads that are joined before it ends (Rust's ``std::thread::scope``).

    Use it as ``with scope() as s:`` and start threads with
    :meth:`Scope.spawn`. When the block ends — normally or by an exception —
    every thread spawned on the scope has finished; failures nobody joined
    are raised as an :class:`ExceptionGroup` (see :class:`Scope`).

    Returns:
        A new :class:`Scope`, to be entered once.

    Example:
        >>> from fearless import scope
        >>> data = [1, 2, 3, 4, 5, 6]
        >>> with scope() as s:
        ...     left = s.spawn(sum, data[:3])
        ...     right = s.spawn(sum, data[3:])
        ...     total = left.join() + right.join()
        >>> total
        21
    """
    scope_: Scope = Scope._create()
    return scope_


@final
class ThreadLocal(NotCopyable, Generic[T]):
    """A value of which every thread has its own copy (Rust's ``thread_local!``).

    Each thread that calls :meth:`get` first gets a fresh value from
    ``init()``; afterwards it sees its own value, whatever other threads do.
    As in Rust, no lock is needed to use it: no other thread can reach it.

    Args:
        init: Called without arguments, once per thread, the first time that
            thread needs a value (again after :meth:`take`). If it raises,
            the thread stays without a value and the next :meth:`get` calls
            it again.

    Lifetime:
        A thread's value is released when the thread ends, and every
        thread's value when the ``ThreadLocal`` is garbage-collected.
        (Built on :class:`threading.local`.)

    Example:
        >>> from fearless import ThreadLocal, scope
        >>> calls = ThreadLocal(int)
        >>> def work() -> int:
        ...     for _ in range(3):
        ...         calls.set(calls.get() + 1)
        ...     return calls.get()
        >>> with scope() as s:
        ...     handles = [s.spawn(work) for _ in range(4)]
        >>> [h.join() for h in handles]          # each thread counted its own
        [3, 3, 3, 3]
        >>> calls.get()                          # this thread still has init()'s value
        0
    """

    __slots__ = ("__weakref__", "_init", "_local")

    _copy_advice = (
        "share the same ThreadLocal between threads (each sees its own value), "
        "or copy this thread's value: copy.copy(local.get())"
    )

    def __init__(self, init: Callable[[], T]) -> None:
        if not callable(init):
            raise TypeError(
                "ThreadLocal() needs a callable that makes each thread's value, "
                f"got {type(init).__name__} {init!r}"
            )
        self._init = init
        self._local = threading.local()

    def get(self) -> T:
        """This thread's value, made by ``init()`` if the thread has none yet.

        Returns:
            The value itself, not a copy: mutating it changes this thread's
            value.

        Raises:
            BaseException: Whatever ``init()`` raised; nothing is stored.

        Example:
            >>> from fearless import ThreadLocal
            >>> names = ThreadLocal(lambda: ["main"])
            >>> names.get().append("more")
            >>> names.get()
            ['main', 'more']
        """
        local = self._local
        try:
            value: T = local.value
        except AttributeError:
            value = self._init()
            local.value = value
        return value

    def set(self, value: T) -> None:
        """Replace this thread's value (``init()`` is not called).

        Args:
            value: The new value; other threads keep theirs.

        Example:
            >>> from fearless import ThreadLocal
            >>> depth = ThreadLocal(int)
            >>> depth.set(3)
            >>> depth.get()
            3
        """
        self._local.value = value

    def replace(self, value: T) -> T:
        """Set this thread's value and return the previous one.

        Like Rust's ``LocalKey::replace``, a thread without a value gets one
        from ``init()`` first, and that is what is returned.

        Args:
            value: The new value.

        Returns:
            The value this thread had before.

        Example:
            >>> from fearless import ThreadLocal
            >>> depth = ThreadLocal(int)
            >>> depth.replace(5)
            0
            >>> depth.replace(6)
            5
        """
        previous = self.get()
        self._local.value = value
        return previous

    def take(self) -> T:
        """Return this thread's value and forget it; the next :meth:`get` calls ``init()``.

        Rust's ``LocalKey::take`` leaves ``Default::default()`` behind; here
        ``init()`` plays that part, lazily.

        Returns:
            The value this thread had (made by ``init()`` if it had none).

        Example:
            >>> from fearless import ThreadLocal
            >>> buffer = ThreadLocal(list)
            >>> buffer.get().extend([1, 2])
            >>> buffer.take()
            [1, 2]
            >>> buffer.get()
            []
        """
        value = self.get()
        del self._local.value
        return value

    def __repr__(self) -> str:
        # Shows this thread's value; never calls init().
        try:
            value = self._local.value
        except AttributeError:
            return "ThreadLocal(<no value in this thread>)"
        return f"ThreadLocal({value!r})"
