"""The parallel functions: ``par_map``, ``par_imap``, ``join``, ``par_info``.

Each is a thin layer over the engine (``.engine``): it checks its arguments,
builds the :class:`~fearless._par.task.Pipeline` of its call and combines
the chunks' partial results. ``join`` submits one task to a thread pool and
runs the other callable in the calling thread. Relies on the engine, the
worker protocol and the backends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, final

from .._runtime import gil_enabled
from .backends import shared
from .backends.base import Backend, cpu_count
from .backends.dask import describe, is_client
from .backends.processes import default_start_method
from .backends.threads import ThreadsBackend
from .engine import (
    all_callable,
    concat,
    finish,
    installed,
    item_error,
    start,
    validate,
    wait_all,
)
from .interrupts import SIGINT, HeldInterrupts, set_signal
from .iterator import BackendSpec
from .task import Done, Failed, Pipeline, Stage, Task, Terminal, Token

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")

#: What ``progress=`` accepts: ``True`` for a bar, or ``callback(done, total)``.
ProgressSpec: TypeAlias = "bool | Callable[[int, int | None], object]"


def par_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int | None = None,
    chunksize: int | None = None,
    backend: BackendSpec = "auto",
    progress: ProgressSpec = False,
) -> list[R]:
    """``list(map(fn, items))``, in parallel, in input order (``multiprocessing.Pool.map``).

    Args:
        fn: Called once per item, on a worker. For processes it must be
            picklable: a module-level function, a builtin, ``str.upper``, a
            ``functools.partial`` of those.
        items: Any iterable; it is read lazily, chunk by chunk.
        workers: How many items run at once at most; ``None`` means one per
            CPU. More workers than CPUs get a pool of that size. On a Dask
            cluster: how many chunks run at once, by default the cluster's
            total thread count.
        chunksize: Items per task; ``None`` chooses (about four chunks per
            worker, or chunks of a few milliseconds for unsized inputs).
        backend: ``"auto"``, ``"threads"``, ``"processes"``,
            ``"interpreters"``, a :class:`ThreadPool` or
            :class:`ProcessPool`, any :class:`concurrent.futures.Executor`,
            or a :class:`distributed.Client` (a Dask cluster).
            See :func:`par_info` for what ``"auto"`` picks.
        progress: ``True`` draws a progress bar (tqdm when installed, e.g.
            with ``pip install fearless[progress]``, else a plain bar on
            stderr); a callable gets ``(done, total)`` after each chunk
            (``total`` is ``None`` for unsized inputs).

    Returns:
        The results, in the order of ``items``.

    Raises:
        BaseException: What ``fn`` raised for the earliest failing item
            (among those seen before the rest was cancelled), with the
            worker's traceback; no work of the call is running afterwards.
        WorkerDiedError: A worker process died; the message names the item.
            On a Dask cluster: the workers running a chunk died (or could
            not unpickle it) and Dask gave up on it.
        TypeError: On a Dask cluster, the function or an item cannot be
            pickled (the message names the items).
        BackendUnavailableError: ``backend="interpreters"`` before Python 3.14.
        PoolClosedError: ``backend`` is a closed pool.
        TypeError: ``workers`` or ``chunksize`` is not an int (a bool, a
            float, a string); any ``operator.index``-able number is accepted.
        ValueError: ``workers`` or ``chunksize`` is less than 1.

    Example:
        >>> import math
        >>> from fearless import par_map
        >>> par_map(math.isqrt, [1, 4, 9, 16, 25])
        [1, 2, 3, 4, 5]
        >>> par_map(str.upper, ["a", "b"], backend="processes")
        ['A', 'B']
        >>> try:
        ...     par_map(math.sqrt, [4, -1, 9], backend="threads")
        ... except ValueError as e:
        ...     print(e, "|", e.__notes__[0])
        math domain error | raised by input item 1, in a worker thread (threads)
    """
    workers, chunksize = validate(fn, workers, chunksize, backend)
    chunks = _map_chunks(fn, items, backend, workers, chunksize, ordered=True, progress=progress)
    out: list[R] = finish(chunks, concat)
    return out


def par_imap(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    ordered: bool = True,
    workers: int | None = None,
    chunksize: int | None = None,
    backend: BackendSpec = "auto",
    progress: ProgressSpec = False,
) -> Generator[R, None, None]:
    """A lazy :func:`par_map`: results stream back while later items still run.

    At most a few chunks per worker are in flight, and (in order) at most a
    few more windows of finished chunks wait for an earlier one, so an
    endless or huge input is never loaded into memory.
    Nothing starts until the first ``next()``. Close the iterator (or use
    ``contextlib.closing``) to stop early: closing cancels what is queued
    and waits for what runs.

    Args:
        fn: Called once per item, on a worker (see :func:`par_map`).
        items: Any iterable, possibly endless.
        ordered: ``True`` yields in input order; ``False`` yields each
            chunk's results as soon as the chunk is done.
        workers: As for :func:`par_map`.
        chunksize: As for :func:`par_map`.
        backend: As for :func:`par_map`.
        progress: As for :func:`par_map`.

    Returns:
        A generator over the results; its ``close()`` (or
        ``contextlib.closing``) stops the call early.

    Raises:
        BaseException: As :func:`par_map`, when the failing item's result
            would be next.

    Example:
        >>> import itertools, math
        >>> from fearless import par_imap
        >>> squares = par_imap(math.isqrt, (n * n for n in itertools.count()))
        >>> list(itertools.islice(squares, 5))
        [0, 1, 2, 3, 4]
        >>> squares.close()
        >>> sorted(par_imap(abs, [-1, -2, -3], ordered=False, backend="threads"))
        [1, 2, 3]
    """
    workers, chunksize = validate(fn, workers, chunksize, backend)
    # Lazy: the engine starts (and peeks at the first item) at the first next().
    start_chunks = partial(
        _map_chunks, fn, items, backend, workers, chunksize, ordered=ordered, progress=progress
    )
    return _imap(start_chunks)


def _map_chunks(
    fn: Callable[[T], R],
    items: Iterable[T],
    backend: object,
    workers: int | None,
    chunksize: int | None,
    *,
    ordered: bool,
    progress: object,
) -> Generator[list[R], None, None]:
    """Start ``map(fn, items)`` on the engine: one list of results per chunk."""
    return start(
        backend,
        workers,
        Pipeline(((Stage.MAP, fn, None),), Terminal.COLLECT),
        items,
        chunksize=chunksize,
        ordered=ordered,
        progress=progress,
    )


def _imap(start_chunks: Callable[[], Generator[list[R], None, None]]) -> Generator[R, None, None]:
    chunks = start_chunks()
    try:
        for chunk in chunks:
            yield from chunk
    finally:
        chunks.close()


def join(fa: Callable[[], A], fb: Callable[[], B]) -> tuple[A, B]:
    """Run ``fa`` and ``fb`` in parallel; return both results (rayon's ``join``).

    ``fa`` runs in the calling thread while ``fb`` runs on the shared
    thread pool (on a worker of that pool, both run in the calling thread,
    one after the other, so nested joins never deadlock the pool). Both
    have finished when ``join`` returns or raises. If both raise, ``fa``'s
    exception wins, as in rayon.

    Args:
        fa: Called with no arguments in this thread.
        fb: Called with no arguments on a worker thread.

    Returns:
        ``(fa(), fb())``.

    Raises:
        BaseException: What ``fa`` raised, else what ``fb`` raised.

    Example:
        >>> from fearless import join
        >>> def fib(n: int) -> int:
        ...     if n < 2:
        ...         return n
        ...     a, b = join(lambda: fib(n - 1), lambda: fib(n - 2))
        ...     return a + b
        >>> fib(10)
        55
    """
    pool = installed.get()
    if pool is not None and isinstance(pool._backend, ThreadsBackend):  # a ThreadPool
        return _join(pool._use(), fa, fb)
    return _join(shared("threads", None), fa, fb)


def _join(backend: Backend, fa: Callable[[], A], fb: Callable[[], B]) -> tuple[A, B]:
    if not all_callable(fa, fb):
        raise TypeError("join() takes two callables without arguments")
    if backend.in_worker():
        return fa(), fb()
    task = Task(Pipeline(((Stage.MAP, _call, None),), Terminal.COLLECT), 0, [fb], Token())
    future = backend.submit(task)
    try:
        a = fa()
    except BaseException:
        interrupts = HeldInterrupts()  # fb has finished when join raises
        try:
            # Inlined copy of the hold in fearless._par.engine._execute: keep in step.
            try:
                displaced = set_signal(SIGINT, interrupts.record)
                raised = False
            except (ValueError, TypeError):  # not the main thread; a handler from C
                displaced, raised = None, False
            except BaseException:  # the old handler ran first: one Ctrl-C
                displaced, raised = set_signal(SIGINT, interrupts.record), True
            interrupts.took(displaced, raised)
            wait_all([future])
        finally:
            interrupts.release()
        raise
    wait_all([future])
    outcome = future.result()
    if isinstance(outcome, Failed):
        error = item_error(backend, outcome)
        try:
            raise error
        finally:
            del error
    assert isinstance(outcome, Done)  # a Token nobody cancels
    b: B = outcome.partial[0]
    return a, b


def _call(f: Callable[[], Any]) -> Any:
    return f()


@final
@dataclass(frozen=True)
class ParInfo:
    """What a call would run on here, and why; see :func:`par_info`.

    Example:
        >>> from fearless import par_info
        >>> par_info().auto in ("threads", "processes")
        True
    """

    #: ``"threads"`` or ``"processes"``: what ``backend="auto"`` picks for
    #: picklable work; ``"dask"`` when describing a Dask client.
    auto: str
    #: Why, in a sentence.
    reason: str
    #: Whether the GIL is enabled right now (in this process).
    gil_enabled: bool
    #: Default number of workers: the CPUs this process may use, or the
    #: cluster's total thread count for a Dask client.
    workers: int
    #: How worker processes are started (on this machine).
    start_method: str
    #: What was described: ``"auto"``, or a Dask client's scheduler address.
    backend: str = "auto"

    def __str__(self) -> str:
        if self.backend == "auto":
            return f"auto -> {self.auto} ({self.workers} workers): {self.reason}"
        return f"{self.auto} at {self.backend} ({self.workers} workers): {self.reason}"


def par_info(backend: Literal["auto"] | Client = "auto") -> ParInfo:
    """Which backend ``backend="auto"`` picks here, and why; or what a Dask cluster offers.

    Args:
        backend: ``"auto"``, or a :class:`distributed.Client` to describe its
            cluster (asks the scheduler how many workers and threads it has).

    Returns:
        A :class:`ParInfo`; ``str()`` of it is a one-line explanation.

    Raises:
        TypeError: ``backend`` is neither ``"auto"`` nor a Dask client.

    Example:
        >>> from fearless import par_info
        >>> info = par_info()
        >>> info.auto == ("processes" if info.gil_enabled else "threads")
        True
    """
    if is_client(backend):
        address, total, reason = describe(backend)
        return ParInfo("dask", reason, gil_enabled(), total, default_start_method(), address)
    if backend != "auto":
        raise TypeError(
            "par_info() describes backend='auto' or a distributed.Client; other backends "
            f"run where they say, got {backend!r}"
        )
    version = sys.version.split()[0]
    gil = gil_enabled()
    if gil:
        auto = "processes"
        reason = (
            f"the GIL is enabled (Python {version}), so threads cannot run Python code "
            "in parallel; processes can (work that cannot be pickled falls back to threads)"
        )
    else:
        auto = "threads"
        reason = (
            f"the GIL is disabled (free-threaded Python {version}), so threads run Python "
            "code in parallel with no pickling and no extra processes"
        )
    return ParInfo(auto, reason, gil, cpu_count(), default_start_method())
