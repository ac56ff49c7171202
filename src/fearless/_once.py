"""One-time initialisation: ``Once``, ``OnceLock[T]`` and ``LazyLock[T]``.

Three tools for "do this exactly once, whoever gets there first", safe when
many threads race for it:

- :class:`Once` runs a callable once, for its side effects.
- :class:`OnceLock` is a cell written at most once: :meth:`OnceLock.set`
  or :meth:`OnceLock.get_or_init`.
- :class:`LazyLock` is a value computed by a function on first use.

While one thread runs the initialiser the others block until it finished,
then all see the same result. Once initialised, reading is a plain
attribute access.

>>> from fearless import LazyLock, OnceLock
>>> settings = LazyLock(lambda: {"workers": 4})
>>> settings.value["workers"]
4
>>> cache: OnceLock[str] = OnceLock()
>>> cache.get_or_init(lambda: "computed")
'computed'
>>> cache.get_or_init(lambda: "ignored: already set")
'computed'

The three share :class:`_Initialiser`: the runner's identity and the
threads parked (``_park``) until it finished, each on a raw lock of its own
from the backend in force when the cell was made. Relies on ``_seam`` and
``_park``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, ClassVar, Final, Generic, NamedTuple, TypeVar, final

from . import _park, _seam
from ._errors import DeadlockError, PoisonError
from ._util import Flag, NotCopyable

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_MSG_ONCE_REENTRANT = (
    "this Once is already running a callable on this thread; "
    "calling it again from inside that callable would deadlock"
)
_MSG_ONCE_POISONED = (
    "Once is poisoned: an earlier call_once() callable raised; "
    "use call_once_force() to run a callable anyway"
)
_MSG_ONCE_LOCK_REENTRANT = (
    "this OnceLock is already being initialised by this thread; "
    "initialising it again from inside the initialiser would deadlock"
)
_MSG_LAZY_LOCK_REENTRANT = (
    "this LazyLock is already being initialised by this thread; "
    "reading it from inside its own initialiser would deadlock"
)


_MSG_ONCE_LOST = (
    "Once is poisoned: its callable was running in a thread that os.fork() did not "
    "copy into this process, so it never completed; use call_once_force() to run a "
    "callable anyway (or create the Once after forking)"
)
_MSG_NOT_CALLABLE = "{} needs a callable, got {} {!r}"


class _Uninit(enum.Enum):
    UNINIT = 0


_UNINIT: Final = _Uninit.UNINIT

# Values of ``_Initialiser._poison``: only a ``Once`` is ever poisoned.
_HEALTHY = 0
_POISONED = 1
_LOST = 2  # poisoned: the callable ran in a thread that os.fork() did not copy


class OnceStatistics(NamedTuple):
    """A snapshot of a :class:`Once`, :class:`OnceLock` or :class:`LazyLock`.

    From their ``statistics()`` methods. It may be stale as soon as it is
    returned; use it for tests and debugging, never for synchronisation.

    Attributes:
        completed: Whether the callable completed (the cell holds a value).
        running: Whether some thread was running the callable.
        waiting: How many threads were blocked until it finished.
        poisoned: Whether a :class:`Once` was poisoned (always ``False``
            for the cells, which stay empty and retry instead).
    """

    completed: bool
    running: bool
    waiting: int
    poisoned: bool


class _Initialiser(NotCopyable):
    """What the three have in common: a result, a runner and the threads waiting for it.

    ``_value`` is ``_UNINIT`` until a callable completed, then its result
    (``None`` for a ``Once``), written once, last, under the internal lock:
    readers that find it set need no lock. ``_runner`` is the identity of the
    thread running the callable, or None. The other threads park on a raw
    lock each, acquired once, that the runner releases when it finished,
    either way. ``_poison`` says whether a ``Once`` is poisoned (and why);
    a cell whose initialiser failed (or whose runner ``os.fork()`` lost) is
    empty again, never poisoned: ``_poisons`` tells the two apart.

    Signal safety. A ``KeyboardInterrupt`` (or ``RecursionError``) may
    arrive after any call returns, so the bookkeeping is such that an
    exception handler can always see what it has to undo: a waiter is
    registered by one C call (``list.append``) and is registered exactly
    while its lock is in ``_waiters``; a thread is the runner exactly while
    ``_runner`` is its identity. The critical sections (``with lock:``)
    hold only loads and stores, so an interrupt can only arrive outside
    them, and nothing in them allocates (no garbage collection, hence no
    finaliser, runs under the internal lock). Waiters wait in slices and
    re-check at each, so a wake-up that an interrupt cut off (or a runner
    that ``os.fork()`` lost) costs at most one slice.
    """

    __slots__ = ("_allocate_lock", "_init", "_lock", "_poison", "_runner", "_value", "_waiters")

    _value: Any
    #: The initialiser of a LazyLock, dropped once it succeeded (None otherwise).
    _init: Any
    #: Whether a callable that failed (or was lost by ``os.fork()``) poisons.
    _poisons: ClassVar[bool]

    def __init__(self) -> None:
        self._allocate_lock = _seam.backend.allocate_lock
        self._lock = self._allocate_lock()
        self._runner: int | None = None
        self._waiters: list[_seam.RawLock] = []
        self._value = _UNINIT
        self._poison = _HEALTHY
        self._init = None

    def _run(self, fn: Callable[[], Any], reentrant_message: str, force: bool) -> Any:
        """The result, running ``fn`` for it unless another thread does or did.

        ``fn``'s result becomes ``_value``. Raises what ``_enter`` raises
        (``force`` as there), or :class:`~fearless.DeadlockError` with
        ``reentrant_message`` when called from inside the running ``fn``.
        """
        me = _seam.get_ident()
        if self._runner == me and not _seam.thread_gone(me):  # only this thread can do so
            raise DeadlockError(reentrant_message)
        fresh: list[_seam.RawLock] = []
        started = False
        try:
            value = self._enter(force)
            if value is not _UNINIT:
                return value
            started = True
            value = fn()
            with self._lock:
                self._poison = _HEALTHY
                self._value = value  # published last, after it is complete
                self._runner = None
                waiters = self._waiters
                self._waiters = fresh
                self._init = None  # a LazyLock's fn is dropped once it succeeded
        except BaseException:
            # If this thread is still the runner: give up the role, and
            # poison (where failures poison) if ``fn`` started: it raised, or
            # an interrupt arrived before the outcome was recorded. One
            # interrupted before ``fn`` started leaves everything as it was.
            # Inline, in this frame: a call would be one more place for an
            # interrupt (or RecursionError) to stop the clean-up.
            waiters = fresh
            with self._lock:
                if self._runner == me:
                    self._runner = None
                    if started and self._poisons and self._value is _UNINIT:
                        self._poison = _POISONED
                    waiters = self._waiters
                    self._waiters = fresh
            _park.unpark_all(waiters)
            raise
        _park.unpark_all(waiters)
        return value

    def _enter(self, force: bool) -> Any:
        """Return the result, or ``_UNINIT`` once this thread became the runner.

        Waits while another thread runs a callable. Raises
        :class:`~fearless.PoisonError` instead of running one when the
        ``Once`` is poisoned, unless ``force`` (a cell always forces). A
        runner lost by ``os.fork()`` counts as one that raised. An exception
        leaves this thread unregistered as a waiter; if it arrived just after
        this thread became the runner, the caller's handler sees ``_runner``
        and undoes it.
        """
        me = _seam.get_ident()
        lock = self._lock
        waiter: _seam.RawLock | None = None
        try:
            while True:
                new = _park.waiter(self._allocate_lock)
                fresh: list[_seam.RawLock] = []
                with lock:
                    value = self._value
                    if value is not _UNINIT:
                        return value
                    runner = self._runner
                    if runner is not None and _seam.forked_away and _seam.thread_gone(runner):
                        # The runner was lost by os.fork(): its callable never
                        # completes. As if it had raised.
                        if self._poisons:
                            self._poison = _LOST
                        self._runner = runner = None
                        self._waiters = fresh  # waiters check in at their next slice
                    poison = self._poison
                    if runner is None:
                        if force or poison == _HEALTHY:
                            self._runner = me
                            return _UNINIT
                    else:
                        waiter = new
                        self._waiters.append(new)
                if runner is None:
                    raise PoisonError(
                        _MSG_ONCE_LOST if poison == _LOST else _MSG_ONCE_POISONED,
                        _recover_nothing,
                    )
                self._wait_for_runner(new)
        except BaseException:
            if waiter is not None:
                with lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
            raise

    def statistics(self) -> OnceStatistics:
        """A snapshot of the state and of the threads waiting for it.

        ``completed``: a callable (initialiser) completed, and none will run
        again; ``running``: one is running now; ``waiting``: threads blocked
        until it finished; ``poisoned``: a ``Once`` whose callable raised
        (a cell never is: it is empty again).

        Example:
            >>> from fearless import Once, OnceLock
            >>> Once().statistics()
            OnceStatistics(completed=False, running=False, waiting=0, poisoned=False)
            >>> cell: OnceLock[int] = OnceLock()
            >>> cell.set(7)
            True
            >>> cell.statistics()
            OnceStatistics(completed=True, running=False, waiting=0, poisoned=False)
        """
        return OnceStatistics(
            completed=self._value is not _UNINIT,
            running=self._runner is not None,
            waiting=len(self._waiters),
            poisoned=self._poison != _HEALTHY,
        )

    def _wait_for_runner(self, waiter: _seam.RawLock) -> None:
        """Wait until ``waiter`` is released or unregistered, or the runner was lost.

        Called by ``_enter`` inside its ``try``, which unregisters ``waiter``
        if this raises.
        """

        def woken() -> bool:
            if waiter not in self._waiters:
                return True  # woken; the runner's release may still be on its way
            runner = self._runner
            return runner is None or _seam.thread_gone(runner)

        _park.park(waiter, _park.FOREVER, woken)


@final
class OnceState(Flag):
    """What :meth:`Once.call_once_force` passes to its callable.

    Example:
        >>> from fearless import Once
        >>> Once().call_once_force(lambda state: print(state))
        OnceState(is_poisoned=False)
    """

    __slots__ = ()

    _flag_name = "is_poisoned"

    @property
    def is_poisoned(self) -> bool:
        """Whether an earlier callable of the :class:`Once` raised.

        Example:
            >>> from fearless import Once
            >>> Once().call_once_force(lambda state: print(state.is_poisoned))
            False
        """
        return self._flag


@final
class Once(_Initialiser):
    """Run a callable exactly once, however many threads try (Rust's ``Once``).

    The first :meth:`call_once` runs its callable; calls made while it runs
    block until it finished; later calls return at once without calling
    anything. Use it for one-time global set-up whose result lives
    elsewhere; to keep a value, use :class:`OnceLock` or :class:`LazyLock`.

    Poisoning:
        As in Rust, if the callable raises, the exception propagates and
        the ``Once`` is poisoned: it did not complete, and every later (or
        waiting) :meth:`call_once` raises :class:`~fearless.PoisonError`
        (whose ``into_inner()`` returns ``None``: there is no value to
        recover). :meth:`call_once_force` runs a callable anyway and tells
        it whether the ``Once`` was poisoned; if that callable returns, the
        ``Once`` is complete.

    Deadlocks:
        Calling :meth:`call_once` or :meth:`call_once_force` on the same
        ``Once`` from inside its running callable raises
        :class:`~fearless.DeadlockError` (Rust deadlocks or panics).

    Interrupts:
        A ``KeyboardInterrupt`` that arrives while the callable runs is an
        exception the callable raised: the ``Once`` is poisoned. One that
        arrives while the thread waits for another thread's callable, or
        before its own callable started, leaves the ``Once`` as it was.

    Fork:
        In a child made by ``os.fork()``, a callable that was running in
        another thread of the parent never completes there: the ``Once`` is
        poisoned, as if it had raised, and ``call_once`` raises
        :class:`~fearless.PoisonError` saying so (``call_once_force`` runs).

    Example:
        >>> from fearless import Once
        >>> init = Once()
        >>> init.call_once(lambda: print("setting up"))
        setting up
        >>> init.call_once(lambda: print("never printed"))
        >>> init.is_completed
        True
    """

    __slots__ = ("__weakref__",)

    _poisons = True
    _copy_advice = (
        "a Once records that something happened, once per program: "
        "share the same Once between threads"
    )

    @property
    def is_completed(self) -> bool:
        """Whether a callable completed: ``call_once`` would not call anything.

        A snapshot, but one that never goes back: once true it stays true.
        ``False`` while the callable runs and after it raised.

        Example:
            >>> from fearless import Once
            >>> once = Once()
            >>> once.is_completed
            False
            >>> once.call_once(lambda: None)
            >>> once.is_completed
            True
        """
        return self._value is not _UNINIT

    def call_once(self, fn: Callable[[], object]) -> None:
        """Call ``fn()`` if no callable completed yet; otherwise do nothing.

        Blocks while another thread runs its callable.

        Args:
            fn: Called with no arguments, at most once over all calls to
                this ``Once``. Its return value is ignored.

        Raises:
            TypeError: ``fn`` is not callable; the ``Once`` is untouched.
            PoisonError: An earlier callable raised (or its thread was lost
                by ``os.fork()``); nothing was called.
                See :meth:`call_once_force`.
            DeadlockError: Called from inside this ``Once``'s running
                callable.
            BaseException: Whatever ``fn`` raised; the ``Once`` is poisoned.

        Example:
            >>> from fearless import Once, PoisonError
            >>> once = Once()
            >>> try:
            ...     once.call_once(lambda: 1 / 0)
            ... except ZeroDivisionError:
            ...     print("failed")
            failed
            >>> once.call_once(lambda: None)
            Traceback (most recent call last):
            ...
            fearless.PoisonError: Once is poisoned: an earlier call_once() callable raised; ...
        """
        if not callable(fn):
            raise TypeError(_MSG_NOT_CALLABLE.format("call_once()", type(fn).__name__, fn))
        if self._value is _UNINIT:

            def call() -> None:  # the Once keeps nothing fn returns
                fn()

            self._run(call, _MSG_ONCE_REENTRANT, False)

    def call_once_force(self, fn: Callable[[OnceState], object]) -> None:
        """Like :meth:`call_once`, but run ``fn`` even if the ``Once`` is poisoned.

        Args:
            fn: Called with a :class:`OnceState` telling whether the
                ``Once`` was poisoned. If it returns, the ``Once`` is
                complete; if it raises, the ``Once`` stays (or becomes)
                poisoned.

        Raises:
            TypeError: ``fn`` is not callable; the ``Once`` is untouched.
            DeadlockError: Called from inside this ``Once``'s running
                callable.
            BaseException: Whatever ``fn`` raised.

        Example:
            >>> from fearless import Once
            >>> once = Once()
            >>> try:
            ...     once.call_once(lambda: 1 / 0)
            ... except ZeroDivisionError:
            ...     pass
            >>> once.call_once_force(lambda state: print("poisoned:", state.is_poisoned))
            poisoned: True
            >>> once.is_completed
            True
        """
        if not callable(fn):
            raise TypeError(_MSG_NOT_CALLABLE.format("call_once_force()", type(fn).__name__, fn))
        if self._value is _UNINIT:

            def call() -> None:  # runs only in the runner, which alone writes _poison now
                fn(OnceState._of(self._poison != _HEALTHY))

            self._run(call, _MSG_ONCE_REENTRANT, True)

    def __repr__(self) -> str:
        if self._value is not _UNINIT:
            return "Once(<complete>)"
        if self._runner is not None:
            return "Once(<running>)"
        return "Once(<poisoned>)" if self._poison != _HEALTHY else "Once(<incomplete>)"


def _recover_nothing() -> None:
    return None


class _Cell(_Initialiser):
    """A value written at most once: the machinery of OnceLock and LazyLock.

    Not generic itself, so that ``OnceLock[T]`` can be invariant and
    ``LazyLock[T_co]`` covariant; each declares the type of ``_value``.
    """

    __slots__ = ()

    _poisons = False  # the next caller runs its own initialiser

    def __repr__(self) -> str:
        value = self._value
        shown = "<uninit>" if value is _UNINIT else repr(value)
        return f"{type(self).__name__}({shown})"


@final
class OnceLock(_Cell, Generic[T]):
    """A cell that is written at most once (Rust's ``OnceLock<T>``).

    Starts empty. :meth:`set` or :meth:`get_or_init` fill it, once; after
    that it never changes, and :meth:`get` is a plain attribute read.

    Initialisation:
        :meth:`get_or_init` runs its function at most once even when many
        threads race: one runs it, the others block until it finished and
        return the same value. If the function raises, the exception
        propagates, the cell stays empty, and the next caller tries again —
        one of the blocked callers runs its own function. (Rust's
        ``get_or_init`` behaves the same way when the closure panics.)

    Deadlocks:
        Calling :meth:`get_or_init` or :meth:`set` on the same cell from
        inside its running initialiser raises
        :class:`~fearless.DeadlockError`.

    Interrupts and fork:
        An initialiser interrupted by ``KeyboardInterrupt`` failed like any
        other: the cell stays empty. In a child made by ``os.fork()``, an
        initialiser that was running in another thread of the parent never
        finishes there: it counts as failed, and the next caller in the
        child runs its own.

    Example:
        >>> from fearless import OnceLock
        >>> cell: OnceLock[int] = OnceLock()
        >>> cell.get() is None
        True
        >>> cell.set(92)
        True
        >>> cell.set(62)
        False
        >>> cell
        OnceLock(92)
    """

    __slots__ = ("__weakref__",)

    _copy_advice = (
        "share the same OnceLock between threads, or copy its value: copy.copy(cell.get())"
    )

    _value: T | _Uninit

    def get(self) -> T | None:
        """The value, or ``None`` while the cell is empty; never blocks.

        Returns ``None`` while another thread is still initialising the
        cell. A cell holding ``None`` is indistinguishable from an empty one
        here; use :meth:`statistics` if it matters.

        Example:
            >>> from fearless import OnceLock
            >>> cell = OnceLock[str]()
            >>> print(cell.get())
            None
            >>> _ = cell.set("hello")
            >>> cell.get()
            'hello'
        """
        value = self._value
        return None if value is _UNINIT else value

    def set(self, value: T) -> bool:
        """Store ``value`` if the cell is empty.

        If another thread is running :meth:`get_or_init`, waits until it
        finished: if that filled the cell, ``value`` is not stored.

        Args:
            value: The value to store.

        Returns:
            ``True`` if ``value`` was stored, ``False`` if the cell was
            already full (Rust returns ``Err(value)``).

        Raises:
            DeadlockError: Called from inside this cell's running
                initialiser.

        Example:
            >>> from fearless import OnceLock
            >>> cell: OnceLock[list[int]] = OnceLock()
            >>> cell.set([1]), cell.set([2]), cell.get()
            (True, False, [1])
        """
        if self._value is not _UNINIT:
            return False
        stored = False

        def store() -> T:
            # Runs only in the runner, the one thread that fills the cell.
            nonlocal stored
            stored = True
            return value

        self._run(store, _MSG_ONCE_LOCK_REENTRANT, True)
        return stored

    def get_or_init(self, fn: Callable[[], T]) -> T:
        """The value, computing it with ``fn()`` if the cell is empty.

        Args:
            fn: Called with no arguments to produce the value; runs at most
                once over all callers that succeed.

        Returns:
            The value in the cell: ``fn()``'s result, or what was there
            already (or what another thread's function returned meanwhile).

        Raises:
            TypeError: ``fn`` is not callable; the cell is untouched.
            DeadlockError: Called from inside this cell's running
                initialiser.
            BaseException: Whatever ``fn`` raised; the cell stays empty.

        Example:
            >>> from fearless import OnceLock
            >>> cell: OnceLock[int] = OnceLock()
            >>> try:
            ...     cell.get_or_init(lambda: int("not a number"))
            ... except ValueError:
            ...     print("failed; still empty:", cell.get())
            failed; still empty: None
            >>> cell.get_or_init(lambda: 7)
            7
        """
        if not callable(fn):
            raise TypeError(_MSG_NOT_CALLABLE.format("get_or_init()", type(fn).__name__, fn))
        value = self._value
        if value is not _UNINIT:
            return value
        initialised: T = self._run(fn, _MSG_ONCE_LOCK_REENTRANT, True)
        return initialised


@final
class LazyLock(_Cell, Generic[T_co]):
    """A value computed on first use (Rust's ``LazyLock<T>``).

    ``fn`` runs the first time :meth:`force` or :attr:`value` is used; every
    later use returns the same object with a plain attribute read. Threads
    that arrive while ``fn`` runs block until it finished.

    Args:
        fn: Called with no arguments to produce the value; dropped once it
            succeeded.

    Failure:
        If ``fn`` raises, the exception propagates, nothing is stored, and
        the next access runs ``fn`` again (like
        :func:`functools.cached_property`). Rust poisons the ``LazyLock``
        instead, so every later access panics; retrying is what Python code
        expects of lazily computed values.

    Deadlocks:
        Reading the ``LazyLock`` from inside its own ``fn`` raises
        :class:`~fearless.DeadlockError`.

    Interrupts and fork:
        As for :class:`OnceLock`: an interrupted ``fn`` failed, and one that
        was running in a thread that ``os.fork()`` did not copy counts as
        failed in the child, which runs ``fn`` again.

    Example:
        >>> from fearless import LazyLock
        >>> def load() -> dict[str, int]:
        ...     print("loading")
        ...     return {"port": 8080}
        >>> config = LazyLock(load)
        >>> config
        LazyLock(<uninit>)
        >>> config.value["port"]
        loading
        8080
        >>> config.force()["port"]
        8080
    """

    __slots__ = ("__weakref__",)

    _copy_advice = (
        "share the same LazyLock between threads, or copy its value: copy.copy(lazy.value)"
    )

    _value: T_co | _Uninit

    def __init__(self, fn: Callable[[], T_co]) -> None:
        if not callable(fn):
            raise TypeError(f"LazyLock needs a callable, got {type(fn).__name__}")
        super().__init__()
        self._init = fn

    @property
    def value(self) -> T_co:
        """The value, computed by ``fn`` on first use (see :meth:`force`).

        Example:
            >>> from fearless import LazyLock
            >>> LazyLock(lambda: [1, 2, 3]).value
            [1, 2, 3]
        """
        value = self._value
        if value is _UNINIT:
            return self._force()
        return value

    def force(self) -> T_co:
        """Compute the value if that has not happened yet, and return it.

        Returns:
            The value ``fn`` returned (the same object every time).

        Raises:
            DeadlockError: Called from inside ``fn``.
            BaseException: Whatever ``fn`` raised; the next access retries.

        Example:
            >>> from fearless import LazyLock
            >>> lazy = LazyLock(lambda: object())
            >>> lazy.force() is lazy.force() is lazy.value
            True
        """
        value = self._value
        if value is _UNINIT:
            return self._force()
        return value

    def _force(self) -> T_co:
        fn = self._init
        if fn is None:  # dropped: another thread stored the value just now
            value: T_co = self._value  # type: ignore[assignment]
            return value
        forced: T_co = self._run(fn, _MSG_LAZY_LOCK_REENTRANT, True)
        return forced
