"""``Barrier``: let a fixed number of threads meet before any goes on.

>>> import threading
>>> from fearless import Barrier
>>> barrier = Barrier(3)
>>> leaders = []
>>> def work() -> None:
...     leaders.append(barrier.wait(timeout=30).is_leader)
>>> threads = [threading.Thread(target=work) for _ in range(3)]
>>> for thread in threads:
...     thread.start()
>>> for thread in threads:
...     thread.join(timeout=30)
>>> sorted(leaders)                # exactly one leader per generation
[False, False, True]

Each thread that has to wait parks (``_park``) on a raw lock of its own,
from the backend in force when the barrier was made; the last to arrive
releases them all. Relies on ``_seam``, ``_park`` and ``_deadline``.
"""

from __future__ import annotations

import os
from itertools import filterfalse
from typing import NamedTuple, final

from . import _park, _seam
from ._deadline import Deadline, check_timeout
from ._util import Flag, NotCopyable


class BarrierStatistics(NamedTuple):
    """A snapshot of a :class:`Barrier`'s state, from :meth:`Barrier.statistics`.

    It may be stale as soon as it is returned; use it for tests and
    debugging, never for synchronisation.

    Attributes:
        parties: How many threads each generation needs.
        waiting: How many threads had arrived in the current generation
            and were blocked in ``wait()``.
        generation: How many generations had completed.
    """

    parties: int
    waiting: int
    generation: int


@final
class BarrierWaitResult(Flag):
    """What :meth:`Barrier.wait` returns: whether this thread is the leader.

    Exactly one thread of each generation gets ``is_leader == True`` (in
    this implementation, the last to arrive), so one thread can do a step
    for all of them. Results cannot be built directly.

    Example:
        >>> from fearless import Barrier
        >>> Barrier(1).wait()
        BarrierWaitResult(is_leader=True)
    """

    __slots__ = ()

    _flag_name = "is_leader"

    @property
    def is_leader(self) -> bool:
        """Whether this thread is the generation's leader (exactly one is).

        Example:
            >>> from fearless import Barrier
            >>> Barrier(1).wait().is_leader
            True
        """
        return self._flag


_LEADER = BarrierWaitResult._of(True)
_FOLLOWER = BarrierWaitResult._of(False)

# How many times this process is removed from the first by os.fork(): an
# arrival made under an older value was made in a parent process.
_fork_epoch = 0


def _after_fork_in_child() -> None:
    global _fork_epoch
    _fork_epoch += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_MSG_TIMEOUT = "barrier: {arrived} of {parties} threads arrived within {timeout} seconds"


def _lost(entry: tuple[int, int, _seam.RawLock]) -> bool:
    """Whether an arrival was made by a thread that os.fork() did not copy here."""
    return entry[1] != _fork_epoch and _seam.thread_gone(entry[0])


@final
class Barrier(NotCopyable):
    """A meeting point for ``n`` threads (Rust's ``Barrier``).

    Each call to :meth:`wait` blocks until ``n`` threads have called it;
    then all ``n`` return together and the barrier starts over for the next
    *generation* — it is reusable, with no reset.

    Args:
        n: How many threads each generation needs, at least 1.

    Leader:
        Exactly one of the ``n`` threads of a generation gets a result with
        ``is_leader == True``.

    Timeouts:
        Rust's barrier has none. Here ``wait(timeout=...)`` withdraws the
        thread's arrival when the time is up and raises the built-in
        :class:`TimeoutError`: the generation still needs ``n`` arrivals
        and the barrier stays usable. (``threading.Barrier`` instead breaks
        for everyone.) A thread whose generation completed just as its
        timeout passed returns normally.

    Interrupts:
        A ``KeyboardInterrupt`` (or any exception) that arrives in ``wait``
        withdraws the thread's arrival exactly as a timeout does, unless its
        generation had already completed; the barrier stays usable.

    Fork:
        In a child made by ``os.fork()``, the arrivals of the parent's
        waiting threads, which the child does not have, are withdrawn: the
        child's barrier counts only its own threads (as if those waits had
        timed out).

    Copying:
        ``copy.copy``, ``copy.deepcopy`` and pickling raise
        :class:`TypeError`: share the same ``Barrier`` instead.

    Example:
        >>> import threading
        >>> from fearless import Barrier
        >>> barrier = Barrier(2)
        >>> results = []
        >>> def twice() -> None:
        ...     for _ in range(2):
        ...         results.append(barrier.wait(timeout=30).is_leader)
        >>> thread = threading.Thread(target=twice)
        >>> thread.start()
        >>> twice()
        >>> thread.join(timeout=30)
        >>> results.count(True)            # one leader in each of 2 generations
        2
    """

    __slots__ = (
        "__weakref__",
        "_allocate_lock",
        "_generation",
        "_lock",
        "_n",
        "_waiters",
    )

    _copy_advice = (
        "a barrier is one meeting point: share the same Barrier between threads "
        "(or make a new Barrier(n) for a separate group)"
    )

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"barrier size must be an int, got {type(n).__name__} {n!r}")
        if n < 1:
            raise ValueError(f"barrier size must be at least 1, got {n}")
        self._n = n
        self._allocate_lock = _seam.backend.allocate_lock
        self._lock = self._allocate_lock()
        # The arrivals of the current generation: (thread identity, raw lock)
        # per waiting thread, each parked on its own raw lock that the leader
        # releases. Its length *is* the arrival count, so arriving and
        # withdrawing are each one C call (list.append, list.remove): an
        # interrupt can never leave a count and a list that disagree.
        self._waiters: list[tuple[int, int, _seam.RawLock]] = []
        self._generation = 0

    @property
    def parties(self) -> int:
        """How many threads each generation needs (read-only).

        Example:
            >>> from fearless import Barrier
            >>> Barrier(4).parties
            4
        """
        return self._n

    def wait(self, *, timeout: float | None = None) -> BarrierWaitResult:
        """Block until ``parties`` threads have called ``wait``.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever.

        Returns:
            A result whose ``is_leader`` is true for exactly one thread of
            the generation.

        Raises:
            TimeoutError: The generation did not complete within
                ``timeout``. This thread's arrival was withdrawn; the
                barrier is still usable.
            KeyboardInterrupt: Ctrl-C while waiting: this thread's arrival
                was withdrawn (unless its generation had completed), and the
                barrier is still usable.
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import Barrier
            >>> try:
            ...     Barrier(2).wait(timeout=0.01)   # nobody else comes
            ... except TimeoutError as e:
            ...     print(e)
            barrier: 1 of 2 threads arrived within 0.01 seconds
        """
        # Signal safety: the only bookkeeping is membership of ``entry`` in
        # the current generation's list, made and undone by one C call each;
        # the handler below can always tell whether this thread's arrival
        # still counts, whatever instant an interrupt (or RecursionError)
        # arrived at. Everything is built before the internal lock is taken,
        # so no allocation (and no garbage collection) happens under it.
        wait = check_timeout(timeout)
        waiter = _park.waiter(self._allocate_lock)
        entry = (_seam.get_ident(), _fork_epoch, waiter)
        fresh: list[tuple[int, int, _seam.RawLock]] = []
        lock = self._lock
        generation = -1
        try:
            with lock:
                waiters = self._waiters
                if _seam.forked_away:
                    # Arrivals of threads that os.fork() did not copy can never
                    # leave: withdraw them, as a timeout would.
                    # (A loop in C: a Python loop's back edge here would be
                    # outside the with-statement's protection on 3.12+.)
                    waiters[:] = filterfalse(_lost, waiters)
                if len(waiters) + 1 >= self._n:
                    self._waiters = fresh
                    self._generation += 1
                else:
                    generation = self._generation
                    waiters.append(entry)
            if generation < 0:
                # The leader. A waiter whose release an interrupt cut off
                # notices the new generation at its next slice.
                for _, _, parked in waiters:
                    parked.release()
                return _LEADER
            # Released by the leader, or (a release an interrupt cut off)
            # the generation moved on: either way this thread made it.
            if _park.park(waiter, Deadline(wait), lambda: self._generation != generation):
                return _FOLLOWER
            with lock:
                arrived = len(self._waiters)
                if self._generation != generation:
                    # The leader released this generation after our timeout
                    # passed but before we got here: we made it after all.
                    return _FOLLOWER
                self._waiters.remove(entry)
        except BaseException:
            with lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)
            raise
        raise TimeoutError(_MSG_TIMEOUT.format(arrived=arrived, parties=self._n, timeout=timeout))

    def statistics(self) -> BarrierStatistics:
        """A snapshot of how many threads wait at the barrier.

        Lets tests see that threads arrived without sleeping: poll
        ``statistics().waiting`` up to a deadline.

        Example:
            >>> from fearless import Barrier
            >>> Barrier(3).statistics()
            BarrierStatistics(parties=3, waiting=0, generation=0)
        """
        # Read without the internal lock: a finaliser that runs inside wait()
        # on this thread may call it.
        return BarrierStatistics(
            parties=self._n, waiting=self._live_waiting(), generation=self._generation
        )

    def _live_waiting(self) -> int:
        waiters = self._waiters
        if _seam.forked_away:
            return sum(1 for e in waiters if not _lost(e))
        return len(waiters)

    def __repr__(self) -> str:
        return f"Barrier(<{self._live_waiting()} of {self._n} waiting>)"
