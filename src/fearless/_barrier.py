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
"""

from __future__ import annotations

from typing import NamedTuple, final

from . import _seam
from ._deadline import check_timeout
from ._util import NoPublicConstructor


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
class BarrierWaitResult(metaclass=NoPublicConstructor):
    """What :meth:`Barrier.wait` returns: whether this thread is the leader.

    Exactly one thread of each generation gets ``is_leader == True`` (in
    this implementation, the last to arrive), so one thread can do a step
    for all of them. Results cannot be built directly.

    Example:
        >>> from fearless import Barrier
        >>> Barrier(1).wait()
        BarrierWaitResult(is_leader=True)
    """

    __slots__ = ("_is_leader",)

    _is_leader: bool

    @property
    def is_leader(self) -> bool:
        """Whether this thread is the generation's leader (exactly one is).

        Example:
            >>> from fearless import Barrier
            >>> Barrier(1).wait().is_leader
            True
        """
        return self._is_leader

    def __repr__(self) -> str:
        return f"BarrierWaitResult(is_leader={self._is_leader})"


def _wait_result(is_leader: bool) -> BarrierWaitResult:
    result: BarrierWaitResult = BarrierWaitResult._create()
    result._is_leader = is_leader
    return result


_LEADER = _wait_result(True)
_FOLLOWER = _wait_result(False)

_MSG_TIMEOUT = "barrier: {arrived} of {parties} threads arrived within {timeout} seconds"


@final
class Barrier:
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
        "_count",
        "_generation",
        "_lock",
        "_n",
        "_waiters",
    )

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"barrier size must be an int, got {type(n).__name__} {n!r}")
        if n < 1:
            raise ValueError(f"barrier size must be at least 1, got {n}")
        self._n = n
        self._allocate_lock = _seam.backend.allocate_lock
        self._lock = self._allocate_lock()
        # The threads of the current generation, each parked on a raw lock
        # of its own that the leader releases.
        self._waiters: list[_seam.RawLock] = []
        self._count = 0
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
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import Barrier
            >>> try:
            ...     Barrier(2).wait(timeout=0.01)   # nobody else comes
            ... except TimeoutError as e:
            ...     print(e)
            barrier: 1 of 2 threads arrived within 0.01 seconds
        """
        wait = check_timeout(timeout)
        lock = self._lock
        lock.acquire()
        count = self._count + 1
        if count == self._n:
            waiters = self._waiters
            self._waiters = []
            self._count = 0
            self._generation += 1
            for waiter in waiters:
                waiter.release()
            lock.release()
            return _LEADER
        waiter = self._allocate_lock()
        waiter.acquire()
        self._waiters.append(waiter)
        self._count = count
        lock.release()

        passed = False
        arrived = 0
        try:
            passed = waiter.acquire(True, wait)
        finally:
            if not passed:
                lock.acquire()
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    # The leader released this generation after our timeout
                    # passed but before we got here: we made it after all.
                    passed = True
                else:
                    arrived = self._count
                    self._count = arrived - 1
                lock.release()
        if not passed:
            raise TimeoutError(
                _MSG_TIMEOUT.format(arrived=arrived, parties=self._n, timeout=timeout)
            )
        return _FOLLOWER

    def statistics(self) -> BarrierStatistics:
        """A snapshot of how many threads wait at the barrier.

        Lets tests see that threads arrived without sleeping: poll
        ``statistics().waiting`` up to a deadline.

        Example:
            >>> from fearless import Barrier
            >>> Barrier(3).statistics()
            BarrierStatistics(parties=3, waiting=0, generation=0)
        """
        return BarrierStatistics(parties=self._n, waiting=self._count, generation=self._generation)

    def __repr__(self) -> str:
        return f"Barrier(<{self._count} of {self._n} waiting>)"
