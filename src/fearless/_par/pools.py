"""Pools of your own: :class:`ThreadPool` and :class:`ProcessPool` (rayon's ``ThreadPool``).

A pool owns one backend (``.backends.threads`` or ``.backends.processes``)
and offers the parallel functions as methods; ``install`` makes it the
default of ``backend="auto"`` in a context. The engine sees a pool only
through :class:`~fearless._par.engine.PoolBase`. Relies on the API
(``.api``), the iterator and the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable
from typing import Self, TypeVar, final

from .api import ProgressSpec, _join, par_imap, par_map
from .backends.processes import ProcessesBackend
from .backends.threads import ThreadsBackend
from .engine import PoolBase, check_count, installed
from .iterator import ParIter

T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")


class _Pool(PoolBase):
    """What :class:`ThreadPool` and :class:`ProcessPool` share."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        """How many workers the pool runs."""
        return self._backend.workers

    def par_map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        chunksize: int | None = None,
        progress: ProgressSpec = False,
    ) -> list[R]:
        """:func:`par_map` on this pool.

        Example:
            >>> from fearless import ThreadPool
            >>> with ThreadPool(2) as pool:
            ...     pool.par_map(len, ["a", "bb"])
            [1, 2]
        """
        return par_map(fn, items, chunksize=chunksize, backend=self, progress=progress)  # type: ignore[arg-type]

    def par_imap(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        ordered: bool = True,
        chunksize: int | None = None,
        progress: ProgressSpec = False,
    ) -> Generator[R, None, None]:
        """:func:`par_imap` on this pool.

        Example:
            >>> from fearless import ThreadPool
            >>> with ThreadPool(2) as pool:
            ...     list(pool.par_imap(len, ["a", "bb"]))
            [1, 2]
        """
        return par_imap(
            fn,
            items,
            ordered=ordered,
            chunksize=chunksize,
            backend=self,  # type: ignore[arg-type]
            progress=progress,
        )

    def par_iter(self, items: Iterable[T]) -> ParIter[T]:
        """:func:`par_iter` on this pool.

        Example:
            >>> from fearless import ThreadPool
            >>> with ThreadPool(2) as pool:
            ...     pool.par_iter(range(4)).map(abs).sum()
            6
        """
        return ParIter(items, (), None, self, None)

    def install(self, fn: Callable[[], R]) -> R:
        """Call ``fn()`` with this pool as the default of every ``backend="auto"`` call in it.

        rayon's ``ThreadPool::install``: parallel calls made (directly or
        deeper down) by ``fn`` in this thread use this pool, and so does
        :func:`join` for a :class:`ThreadPool`. Threads that ``fn`` starts
        do not inherit it.

        Example:
            >>> from fearless import ThreadPool, par_map
            >>> with ThreadPool(2) as pool:
            ...     pool.install(lambda: par_map(lambda x: x + 1, [1, 2]))
            [2, 3]
        """
        self._use()
        token = installed.set(self)
        try:
            return fn()
        finally:
            installed.reset(token)

    def close(self) -> None:
        """Wait for running work, then stop the workers. Idempotent.

        Example:
            >>> from fearless import ThreadPool
            >>> pool = ThreadPool(2)
            >>> pool.close()
            >>> pool
            <ThreadPool workers=2 (closed)>
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._backend.shutdown()

    def __enter__(self) -> Self:
        self._use()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " (closed)" if self._closed else ""
        return f"<{type(self).__name__} workers={self.workers}{state}>"


@final
class ThreadPool(_Pool):
    """A pool of worker threads of your own (rayon's ``ThreadPoolBuilder``/``ThreadPool``).

    The parallel functions share one pool per backend by default; make a
    pool to choose its size, keep its workers apart from other work, or
    shut it down when done. Pass it as ``backend=pool``, call its methods,
    or :meth:`install` it. Close it with :meth:`close` or a ``with`` block.

    Args:
        workers: Number of threads; ``None`` means one per CPU.

    Example:
        >>> from fearless import ThreadPool, par_map
        >>> with ThreadPool(4) as pool:
        ...     a = pool.par_map(abs, [-1, -2])
        ...     b = par_map(str, [1, 2], backend=pool)
        ...     c = pool.join(lambda: 1, lambda: 2)
        >>> a, b, c
        ([1, 2], ['1', '2'], (1, 2))
    """

    def __init__(self, workers: int | None = None) -> None:
        workers = check_count("workers", workers)
        super().__init__()
        self._backend = ThreadsBackend(workers, prefix="fearless-pool")

    def join(self, fa: Callable[[], A], fb: Callable[[], B]) -> tuple[A, B]:
        """:func:`join` on this pool.

        Example:
            >>> from fearless import ThreadPool
            >>> with ThreadPool(2) as pool:
            ...     pool.join(lambda: "a", lambda: "b")
            ('a', 'b')
        """
        return _join(self._use(), fa, fb)


@final
class ProcessPool(_Pool):
    """A pool of worker processes of your own (``multiprocessing.Pool``, done safely).

    Started with ``forkserver`` where available, else ``spawn`` — never
    ``fork``, which can deadlock a process that runs threads. Functions
    and items are pickled: use module-level functions. A worker that dies
    raises :class:`~fearless.WorkerDiedError` naming the item, and the pool
    starts new workers on next use.

    Args:
        workers: Number of processes; ``None`` means one per CPU.
        start_method: ``"forkserver"``, ``"spawn"`` (or ``"fork"`` if you
            know no thread runs); ``None`` chooses as above.

    Example:
        >>> from fearless import ProcessPool
        >>> with ProcessPool(2) as pool:
        ...     pool.par_map(str.upper, ["a", "b", "c"])
        ['A', 'B', 'C']
    """

    def __init__(self, workers: int | None = None, *, start_method: str | None = None) -> None:
        workers = check_count("workers", workers)
        super().__init__()
        self._backend = ProcessesBackend(workers, start_method=start_method)
