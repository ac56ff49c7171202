"""Data parallelism in one call: ``par_map``, ``par_imap``, ``par_iter``, ``join``, pools.

rayon's promise — change ``iter()`` to ``par_iter()`` and it runs on every
core — ported to Python. :func:`par_map` is ``list(map(fn, items))`` run in
parallel, in input order:

>>> from fearless import par_map
>>> par_map(abs, [-3, 1, -2])
[3, 1, 2]

:func:`par_iter` chains rayon's adapters; the whole chain runs as one pass
over each chunk, on the workers:

>>> from fearless import par_iter
>>> par_iter(range(10)).map(abs).filter(lambda x: x % 2 == 0).with_backend("threads").sum()
20

:func:`join` runs two callables at once and returns both results:

>>> from fearless import join
>>> join(lambda: sum(range(10)), lambda: max(range(10)))
(45, 9)

Backends:
    ``"threads"`` (a shared pool of threads in this process),
    ``"processes"`` (a shared pool of worker processes; functions and items
    are pickled), ``"interpreters"`` (Python 3.14+), a
    :class:`ThreadPool`/:class:`ProcessPool` of your own, any
    :class:`concurrent.futures.Executor`, or a :class:`distributed.Client`
    to run on a Dask cluster (``pip install fearless[dask]``; functions and
    items are pickled with cloudpickle). ``"auto"`` (the default) picks
    threads when the GIL is disabled — free-threaded CPython runs Python
    code on all cores with no pickling — and processes when the GIL is on,
    falling back to threads for work that cannot be pickled (lambdas,
    closures). :func:`par_info` says what ``"auto"`` picks here, and why.

Chunking:
    Items travel in chunks so that per-item overhead is amortised: about
    four chunks per worker for inputs with a length; for inputs without
    one, chunks grow until each takes a few milliseconds. ``chunksize=``
    fixes the size (rayon's ``with_min_len``).

Failures:
    The exception of the earliest failing item (in input order, among the
    failures seen before the rest was cancelled) is raised with the
    worker's traceback — from a process, chained to a ``_RemoteTraceback``
    as :mod:`concurrent.futures` does — and a note naming the item. Queued
    chunks are cancelled, running thread chunks stop after their current
    item, and worker processes still running are killed (the pool starts
    fresh ones on next use); on a Dask cluster, running chunks are told to
    stop and stop after their current item. When the call raises, none of
    its work is still running.
"""

from __future__ import annotations

import atexit
import contextvars
import math
import operator
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from concurrent.futures import BrokenExecutor, Executor, Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from functools import partial
from itertools import islice
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, Self, TypeAlias, TypeVar, final

from . import _par_backend
from ._errors import PoolClosedError
from ._par_backend import (
    ALL,
    ANY,
    CANCELLED,
    COLLECT,
    COUNT,
    FAILED,
    FILTER,
    FILTER_MAP,
    FLAT_MAP,
    FOLD,
    FOR_EACH,
    MAP,
    MAX,
    MIN,
    OK,
    REDUCE,
    SUM,
    Backend,
    Pipeline,
    Task,
    Token,
    cpu_count,
    describe_items,
    run_inline,
)
from ._par_dask import DaskBackend, describe, is_client
from ._par_executor import ExecutorBackend
from ._par_interpreters import InterpretersBackend
from ._par_processes import ProcessesBackend, default_start_method
from ._par_threads import ThreadsBackend
from ._runtime import gil_enabled

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


class _Addable(Protocol):
    def __add__(self, other: Any, /) -> Any: ...

    def __radd__(self, other: Any, /) -> Any: ...


C = TypeVar("C", bound=_Comparable)
N = TypeVar("N", bound=_Addable)

#: What ``backend=`` accepts.
BackendSpec: TypeAlias = (
    'Literal["auto", "threads", "processes", "interpreters"] | ThreadPool | ProcessPool | Executor'
    " | Client"
)
#: What ``progress=`` accepts: ``True`` for a bar, or ``callback(done, total)``.
ProgressSpec: TypeAlias = "bool | Callable[[int, int | None], object]"

#: The longest single wait for a chunk; between slices the caller runs
#: Python code again (signal handlers, finalisers queued for this thread).
_SLICE = 0.05
#: Chunks per worker for inputs with a length.
_CHUNKS_PER_WORKER = 4
#: Upper bound of an automatic chunk (bounds memory per chunk).
_MAX_CHUNK = 50_000
#: For inputs without a length: how long a chunk should take, in seconds.
_TARGET_SECONDS = {False: 0.002, True: 0.01}  # threads, processes
#: Ordered results: finished chunks that wait for an earlier, slower one may
#: number up to this many windows before no new chunk starts. Counting them
#: in the window itself left a worker idle whenever chunks finished out of
#: order, until the earlier chunk was done.
_READY_WINDOWS = 4

_installed: contextvars.ContextVar[_Pool | None] = contextvars.ContextVar(
    "fearless_par_pool", default=None
)


# -- backends ----------------------------------------------------------------------


class _InlineBackend(Backend):
    """Runs chunks in the calling thread: nested calls from a pool's own workers.

    A worker that waited for its own pool could deadlock it (every worker
    waiting for chunks queued behind them), so nested parallel calls run
    sequentially in the worker, as rayon's nested calls may.
    """

    name = "inline"
    pickles = False
    workers = 1
    window = 1

    def submit(self, task: Task) -> Future[tuple[Any, ...]]:
        return run_inline(task)


_INLINE = _InlineBackend()
_shared_lock = threading.Lock()
_shared_threads: dict[int, ThreadsBackend] = {}
_shared_processes: dict[int, ProcessesBackend] = {}


def _shared(kind: str, workers: int | None) -> Backend:
    size = max(cpu_count(), workers or 0)
    with _shared_lock:
        if kind == "threads":
            threads = _shared_threads.get(size)
            if threads is None:
                threads = _shared_threads[size] = ThreadsBackend(size)
            return threads
        processes = _shared_processes.get(size)
        if processes is None:
            processes = _shared_processes[size] = ProcessesBackend(size)
        return processes


def _after_fork_in_child() -> None:
    # The lock may be held by a thread that stayed in the parent; the shared
    # pools reset themselves (their workers stayed there too).
    global _shared_lock
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_shared_pools() -> None:
    # Drop the shared process pools before the interpreter tears modules
    # down: a pool collected later reports errors from its finaliser.
    with _shared_lock:
        backends = list(_shared_processes.values())
        _shared_processes.clear()
    for backend in backends:
        backend.close_at_exit()


def _picklable(*objects: object) -> bool:
    try:
        pickle.dumps(objects)
    except Exception:
        return False
    return True


def _resolve(
    backend: object, workers: int | None, pipeline: Pipeline, first: tuple[Any, ...]
) -> Backend:
    """The backend a call runs on; ``first`` is ``(first_item,)`` or ``()``."""
    if backend == "auto":
        pool = _installed.get()
        if pool is not None:
            backend = pool
    chosen: Backend
    if isinstance(backend, _Pool):
        chosen = backend._use()
    elif isinstance(backend, Executor):
        chosen = ExecutorBackend(backend)
    elif is_client(backend):
        chosen = DaskBackend(backend, workers)
    elif backend == "auto":
        if _par_backend.in_worker_process:
            return _INLINE
        if not gil_enabled() or not _picklable(pipeline, *first):
            chosen = _shared("threads", workers)
        else:
            chosen = _shared("processes", workers)
    elif backend in ("threads", "processes"):
        if _par_backend.in_worker_process:
            return _INLINE
        chosen = _shared(str(backend), workers)
    elif backend == "interpreters":
        chosen = _shared_interpreters(workers, InterpretersBackend)
    else:
        raise TypeError(
            "backend must be 'auto', 'threads', 'processes', 'interpreters', a ThreadPool, "
            f"a ProcessPool, a concurrent.futures.Executor or a distributed.Client, got {backend!r}"
        )
    return _INLINE if chosen.in_worker() else chosen


_interpreters: dict[int, Backend] = {}


def _shared_interpreters(workers: int | None, factory: Callable[[int], Backend]) -> Backend:
    size = max(cpu_count(), workers or 0)
    with _shared_lock:
        found = _interpreters.get(size)
        if found is None:
            found = _interpreters[size] = factory(size)
        return found


def _check_count(name: str, value: object) -> int | None:
    """``value`` as an int if it is a positive int-like (``operator.index``) or None.

    Raises:
        TypeError: Not an int-like (``2.5``, ``"2"``), or a bool.
        ValueError: Less than 1.
    """
    if value is None:
        return None
    message = f"{name} must be a positive int or None, got {value!r}"
    if isinstance(value, bool):
        raise TypeError(message)
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(message) from None
    if count < 1:
        raise ValueError(message)
    return count


def _check_workers(workers: object) -> int | None:
    return _check_count("workers", workers)


def _check_chunksize(chunksize: object) -> int | None:
    return _check_count("chunksize", chunksize)


# -- progress ----------------------------------------------------------------------


class _Progress:
    """Reports ``(done, total)`` to a callback, a tqdm bar, or a plain stderr bar."""

    def __init__(self, spec: object, total: int | None) -> None:
        self.done = 0
        self.total = total
        self._callback: Callable[[int, int | None], object] | None = None
        self._bar: Any = None
        self._plain = False
        if callable(spec):
            self._callback = spec
        elif spec is True:
            try:
                import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415
            except ImportError:
                self._plain = True
                self._draw()
            else:
                self._bar = tqdm.tqdm(total=total, unit="item")
        elif spec is not False and spec is not None:
            raise TypeError(
                f"progress must be a bool or a callable taking (done, total), got {spec!r}"
            )

    def update(self, n: int) -> None:
        self.done += n
        if self._callback is not None:
            self._callback(self.done, self.total)
        elif self._bar is not None:
            self._bar.update(n)
        elif self._plain:
            self._draw()

    def _draw(self) -> None:
        total = self.total
        if total:
            width = 30
            filled = width * self.done // total
            line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{total}"
        else:
            line = f"\r{self.done} items"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._plain:
            sys.stderr.write("\n")
            sys.stderr.flush()


# -- the engine ----------------------------------------------------------------------


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


def _length(items: Iterable[Any]) -> int | None:
    if isinstance(items, Iterator):
        return None
    if isinstance(items, Sized):
        try:
            return len(items)
        except TypeError:  # pragma: no cover - a __len__ that refuses
            return None
    return None


class _HeldInterrupts:
    """Holds Ctrl-C back while fearless's own bookkeeping runs in the main thread.

    CPython raises ``KeyboardInterrupt`` at almost any point of the main
    thread; one that lands between submitting a chunk and recording its
    future, or in the middle of stopping a call, would leave work running
    after the call raised. While held, SIGINT only records itself (and
    calls ``wake``); :meth:`deliver` hands it to the handler it displaced
    at a point where the call can stop cleanly, and :meth:`release` puts
    that handler back (delivering what was held). Outside the main thread
    it does nothing: no interrupt arrives there.

    Taking hold can itself be interrupted: a Python call is a point where
    an interrupt gets in, and ``signal.signal`` runs pending handlers before
    it switches. Where a cleanup must not be cut short, the ``except`` block
    takes hold with the C function itself as its first call, once more if
    the displaced handler raised, and reports to :meth:`took`::

        try:
            displaced = _set_signal(_SIGINT, held.record)
            raised = False
        except (ValueError, TypeError):  # not the main thread; a handler from C
            displaced, raised = None, False
        except BaseException:  # the old handler ran first: one Ctrl-C
            displaced, raised = _set_signal(_SIGINT, held.record), True
        held.took(displaced, raised)
    """

    __slots__ = ("_held", "_previous", "_wake", "record")

    def __init__(self, wake: Callable[[], object] | None = None) -> None:
        self._held: list[int] = []
        self._previous: object = _NOT_HELD
        self._wake = wake
        # One bound method, so that it can be recognised; None (which
        # signal.signal refuses with a TypeError) when the handler in place
        # was installed from C: it could not be put back.
        self.record: Callable[[int, FrameType | None], None] | None = (
            self._record if _get_signal(_SIGINT) is not None else None
        )

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self._held.append(signum)  # one C call: safe in a signal handler
        if self._wake is not None:
            self._wake()

    def hold(self) -> None:
        """From now on, record SIGINT instead of running its handler."""
        try:
            displaced = _set_signal(_SIGINT, self.record)
        except (ValueError, TypeError):  # not the main thread; a handler from C
            return
        if displaced is not self.record:  # else: held already
            self._previous = displaced

    def took(self, displaced: object, raised: bool) -> None:
        """Remember what ``_set_signal(_SIGINT, self.record)`` displaced (see above).

        ``raised``: the displaced handler raised before the switch; that
        counts as one held SIGINT, delivered again when released.
        """
        if raised:
            self._held.append(_SIGINT)
        if displaced is not None and displaced is not self.record:
            self._previous = displaced

    def deliver(self) -> None:
        """Run the displaced handler for each SIGINT held so far (it may raise)."""
        previous = self._previous
        if not self._held or previous is _NOT_HELD:
            return
        if not callable(previous):
            # SIG_DFL (die) or SIG_IGN: put it back first, or the signal
            # raised again would only be recorded again.
            self.release()
            return
        while self._held:
            self._held.pop()
            previous(signal.SIGINT, sys._getframe(1))

    def release(self) -> None:
        """Put the displaced handler back, then deliver what was held."""
        previous = self._previous
        if previous is _NOT_HELD:
            return
        self._previous = _NOT_HELD
        _set_signal(_SIGINT, previous)
        while self._held:
            self._held.pop()
            _run_handler(previous)


_NOT_HELD = object()
#: ``signal.signal`` without the Python wrapper that converts enums (the C
#: function of ``_signal``, which ``signal`` imports): no interrupt can get in
#: between the call and the new handler.
_set_signal: Callable[[int, object], object] = sys.modules["_signal"].signal
_get_signal: Callable[[int], object] = sys.modules["_signal"].getsignal
_SIGINT = int(signal.SIGINT)


def _run_handler(handler: object) -> None:
    """Do what SIGINT would have done with ``handler`` installed."""
    if callable(handler):
        handler(signal.SIGINT, sys._getframe(2))
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)
    # SIG_IGN: nothing


def _next_done(done: queue.SimpleQueue[int], interrupts: _HeldInterrupts) -> int:
    """The key of the next finished chunk; a held Ctrl-C is delivered while waiting."""
    while True:
        interrupts.deliver()
        try:
            key = done.get(timeout=_SLICE)
        except queue.Empty:
            continue
        if key >= 0:  # -1: woken by a Ctrl-C
            return key


def _wait_all(futures: list[Future[tuple[Any, ...]]]) -> None:
    while futures:
        _, not_done = wait_futures(futures, timeout=_SLICE)
        futures = list(not_done)


@dataclass
class _Failure:
    index: int
    error: BaseException


def _stop(
    backend: Backend,
    token: Token,
    pending: dict[int, tuple[Future[tuple[Any, ...]], int, int]],
    cause: BaseException | None,
) -> list[_Failure]:
    """Cancel what is queued, stop what runs, wait for all of it; return failures seen.

    ``cause`` is what ended the call early (``None`` for an item's failure);
    anything but an ``Exception`` (Ctrl-C) kills running worker processes
    at once. The caller holds Ctrl-C back meanwhile (``_HeldInterrupts``)
    and delivers it once everything has stopped: the call never raises with
    work of its own still running.
    """
    urgent = cause is not None and not isinstance(cause, (Exception, GeneratorExit))
    token.cancelled = True
    futures = [future for future, _, _ in pending.values()]
    backend.stop(futures, urgent=urgent)
    _wait_all(futures)
    failures: list[_Failure] = []
    for future, first_index, count in pending.values():
        if future.cancelled():
            continue
        error = future.exception()
        if error is not None:
            if not isinstance(error, BrokenExecutor):  # else: stopped by the abort
                failures.append(_machinery_failure(backend, future, error, first_index, count))
            continue
        outcome = future.result()
        if outcome[0] == FAILED:
            failures.append(_Failure(outcome[1], _item_error(backend, outcome)))
    pending.clear()
    return failures


def _machinery_failure(
    backend: Backend,
    future: Future[tuple[Any, ...]],
    error: BaseException,
    first_index: int,
    count: int,
) -> _Failure:
    """A task that failed as a whole (a pickling error, a dead worker), not one item."""
    explained = backend.explain(future, error, first_index, count)
    if explained is error and isinstance(error, Exception):
        error.add_note(
            f"raised while running {describe_items(first_index, count)} ({backend.name})"
        )
    return _Failure(first_index, explained)


def _item_error(backend: Backend, outcome: tuple[Any, ...]) -> BaseException:
    _, index, error, text = outcome
    assert isinstance(error, BaseException)
    where = "process" if text is not None else "thread"
    if text is not None:
        error.__cause__ = _RemoteTraceback(text)
    if isinstance(error, Exception):
        error.add_note(f"raised by input item {index}, in a worker {where} ({backend.name})")
    return error


def _execute(
    backend: Backend,
    pipeline: Pipeline,
    items: Iterable[Any],
    first: tuple[Any, ...],
    rest: Iterator[Any],
    *,
    workers: int | None,
    chunksize: int | None,
    ordered: bool,
    progress: object,
) -> Generator[Any, None, None]:
    """Run ``pipeline`` over the items chunk by chunk; yield each chunk's partial result.

    At most ``window`` chunks run or wait to run, and (``ordered``) at most
    ``_READY_WINDOWS`` windows of finished chunks wait for an earlier one,
    so an endless input never loads into memory. ``ordered`` yields
    partials in input order, else as chunks finish.
    """
    total = _length(items)
    nworkers = min(workers, backend.workers) if workers else backend.workers
    window = max(1, backend.window // backend.workers) * nworkers
    limit = window * _READY_WINDOWS
    if chunksize is not None:
        size = chunksize
    elif total is not None:
        size = max(1, min(_MAX_CHUNK, math.ceil(total / (nworkers * _CHUNKS_PER_WORKER))))
    else:
        size = 1
    adaptive = chunksize is None and total is None
    target = _TARGET_SECONDS[backend.pickles]
    sliceable = isinstance(items, (list, tuple, range)) and not first
    source: Iterator[Any] = iter(()) if sliceable else rest
    head = list(first)
    reporter = _Progress(progress, total)
    token = Token()
    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    pending: dict[int, tuple[Future[tuple[Any, ...]], int, int]] = {}
    ready: dict[int, Any] = {}
    next_in = next_out = start = 0
    exhausted = False
    failure: _Failure | None = None
    # Ctrl-C is held back while this runs in the main thread, and delivered
    # where the call can stop cleanly: while waiting, or at a yield (where
    # the caller's own code runs with its handler back in place).
    interrupts = _HeldInterrupts(partial(done.put, -1))
    interrupts.hold()
    try:
        backend.begin()
        try:
            while True:
                while not exhausted and len(pending) < window and len(pending) + len(ready) < limit:
                    if sliceable:
                        chunk = list(items[start : start + size])  # type: ignore[index]
                    else:
                        # The input is the caller's code, which may block
                        # (reading a pipe): Ctrl-C must reach it.
                        interrupts.release()
                        chunk = head + list(islice(source, size - len(head)))
                        interrupts.hold()
                        head = []
                    if not chunk:
                        exhausted = True
                        break
                    future = backend.submit(Task(pipeline, start, chunk, token))
                    pending[next_in] = (future, start, len(chunk))
                    future.add_done_callback(partial(_notify, done, next_in))
                    next_in += 1
                    start += len(chunk)
                if ordered and next_out in ready:
                    while next_out in ready:
                        value = ready.pop(next_out)
                        next_out += 1
                        interrupts.release()
                        yield value
                        interrupts.hold()
                    # What was just handed out frees room in the window:
                    # submit more before waiting, or a worker sits idle.
                    continue
                if not pending:
                    if exhausted:
                        break
                    continue
                key = _next_done(done, interrupts)
                future, first_index, count = pending.pop(key)
                error = future.exception() if not future.cancelled() else None
                if error is not None:
                    failure = _machinery_failure(backend, future, error, first_index, count)
                    break
                outcome = future.result()
                if outcome[0] == OK:
                    _, result, consumed, seconds = outcome
                    interrupts.release()  # a progress callback is the caller's code
                    reporter.update(consumed)
                    interrupts.hold()
                    if adaptive and consumed:
                        wanted = int(target * consumed / seconds) if seconds > 0 else size * 8
                        size = max(1, min(_MAX_CHUNK, size * 8, wanted))
                    if ordered:
                        ready[key] = result
                    else:
                        interrupts.release()
                        yield result
                        interrupts.hold()
                elif outcome[0] == FAILED:
                    failure = _Failure(outcome[1], _item_error(backend, outcome))
                    break
                else:  # pragma: no cover - only a cancelled token makes CANCELLED
                    assert outcome[0] == CANCELLED
        except BaseException as exc:
            # Interrupted (Ctrl-C), abandoned (GeneratorExit), or the input
            # itself raised: leave nothing running behind, holding Ctrl-C
            # back until then (no Python call before hold: see the class).
            try:
                displaced = _set_signal(_SIGINT, interrupts.record)
                raised = False
            except (ValueError, TypeError):  # not the main thread; a handler from C
                displaced, raised = None, False
            except BaseException:  # the old handler ran first: one Ctrl-C
                displaced, raised = _set_signal(_SIGINT, interrupts.record), True
            interrupts.took(displaced, raised)
            _stop(backend, token, pending, exc)
            raise
        if failure is not None:
            failures = [failure, *_stop(backend, token, pending, None)]
            first_failure = min(failures, key=lambda f: f.index)
            error = first_failure.error
            try:
                raise error
            finally:
                del error, first_failure, failures, failure
    finally:
        try:
            backend.end()
            reporter.close()
        finally:
            interrupts.release()


def _nothing() -> Generator[Any, None, None]:
    yield from ()


def _notify(done: queue.SimpleQueue[int], key: int, _future: object) -> None:
    done.put(key)


def _start(
    backend: object,
    workers: int | None,
    pipeline: Pipeline,
    items: Iterable[Any],
    *,
    chunksize: int | None,
    ordered: bool,
    progress: object,
) -> Generator[Any, None, None]:
    """Pick the backend (peeking at the first item) and start the engine.

    Callers close the generator in a ``finally``: an exception raised in the
    caller's frame (Ctrl-C, a failing ``op``) keeps that frame, and so the
    suspended generator, alive in its traceback, and the chunks would run on.
    """
    rest = iter(items)
    first: tuple[Any, ...] = ()
    for item in rest:
        first = (item,)
        break
    if not first:
        return _nothing()
    chosen = _resolve(backend, workers, pipeline, first)
    return _execute(
        chosen,
        pipeline,
        items,
        first if not isinstance(items, (list, tuple, range)) else (),
        rest,
        workers=workers,
        chunksize=chunksize,
        ordered=ordered,
        progress=progress,
    )


def _validate(
    fn: object, workers: object, chunksize: object, backend: object
) -> tuple[int | None, int | None]:
    """Check the arguments of a call up front; return ``workers`` and ``chunksize`` as ints."""
    if not callable(fn):
        raise TypeError(f"expected a callable to apply to each item, got {type(fn).__name__}")
    counts = _check_workers(workers), _check_chunksize(chunksize)
    if isinstance(backend, str) and backend not in (
        "auto",
        "threads",
        "processes",
        "interpreters",
    ):
        raise ValueError(
            "backend must be 'auto', 'threads', 'processes' or 'interpreters' "
            f"(or a pool, an executor or a Dask client), got {backend!r}"
        )
    return counts


# -- par_map, par_imap ------------------------------------------------------------------


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
    workers, chunksize = _validate(fn, workers, chunksize, backend)
    out: list[R] = []
    chunks = _start(
        backend,
        workers,
        Pipeline(((MAP, fn, None),), COLLECT),
        items,
        chunksize=chunksize,
        ordered=True,
        progress=progress,
    )
    try:
        for chunk in chunks:
            out += chunk
    finally:
        chunks.close()  # at once, not when a traceback lets go of this frame
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
    workers, chunksize = _validate(fn, workers, chunksize, backend)
    return _imap(
        fn,
        items,
        ordered=ordered,
        workers=workers,
        chunksize=chunksize,
        backend=backend,
        progress=progress,
    )


def _imap(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    ordered: bool,
    workers: int | None,
    chunksize: int | None,
    backend: object,
    progress: object,
) -> Generator[R, None, None]:
    chunks = _start(
        backend,
        workers,
        Pipeline(((MAP, fn, None),), COLLECT),
        items,
        chunksize=chunksize,
        ordered=ordered,
        progress=progress,
    )
    try:
        for chunk in chunks:
            yield from chunk
    finally:
        chunks.close()


# -- par_iter ----------------------------------------------------------------------


@final
class ParIter(Generic[T]):
    """A parallel iterator (rayon's ``ParallelIterator``); made by :func:`par_iter`.

    Adapters (``map``, ``filter``, ``filter_map``, ``flat_map``, ``fold``) return a new
    ``ParIter`` and run nothing; a terminal operation (``collect``,
    ``for_each``, ``reduce``, ``sum``, ``min``, ``max``, ``count``,
    ``any``, ``all``) runs the whole chain as one pass over each chunk, on
    the workers, and combines the chunks' results in input order. Settings
    (``with_workers``, ``with_backend``, ``with_chunksize``) return a new
    ``ParIter`` too. The items are read once: run one terminal per
    ``par_iter()`` of a one-shot iterator.

    Differences from rayon:
        ``min()``/``max()`` return ``None`` for no items (rayon's
        ``Option``); ``sum()`` of no items is ``0``. ``fold`` makes one
        value per chunk, so its results depend on the chunking, as in rayon.

    Example:
        >>> from fearless import par_iter
        >>> words = ["apple", "bob", "kayak", "python"]
        >>> (par_iter(words)
        ...     .filter(lambda w: w == w[::-1])
        ...     .map(str.upper)
        ...     .collect())
        ['BOB', 'KAYAK']
    """

    __slots__ = ("_backend", "_chunksize", "_items", "_stages", "_workers")

    def __init__(
        self,
        items: Iterable[Any],
        stages: tuple[tuple[int, Any, Any], ...],
        workers: int | None,
        backend: object,
        chunksize: int | None,
    ) -> None:
        self._items = items
        self._stages = stages
        self._workers = workers
        self._backend = backend
        self._chunksize = chunksize

    def _then(self, kind: int, f: Any, g: Any = None) -> ParIter[Any]:
        if not callable(f) or (kind == FOLD and not callable(g)):
            raise TypeError("par_iter adapters take callables")
        return ParIter(
            self._items,
            (*self._stages, (kind, f, g)),
            self._workers,
            self._backend,
            self._chunksize,
        )

    def _run(self, terminal: int, *args: Any, ordered: bool = True) -> Generator[Any, None, None]:
        """Start the chain with ``terminal``; the caller closes the chunks in a ``finally``."""
        return _start(
            self._backend,
            self._workers,
            Pipeline(self._stages, terminal, args),
            self._items,
            chunksize=self._chunksize,
            ordered=ordered,
            progress=False,
        )

    def _found(self, terminal: int) -> list[Any]:
        """The values the chunks found (``MIN``/``MAX``: a 1-tuple or ``()`` each)."""
        found: list[Any] = []
        chunks = self._run(terminal)
        try:
            for part in chunks:
                found += part
        finally:
            chunks.close()
        return found

    # settings

    def with_workers(self, workers: int | None) -> ParIter[T]:
        """Run on at most ``workers`` workers (``None``: one per CPU).

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(5)).with_workers(2).count()
            5
        """
        workers = _check_workers(workers)
        return ParIter(self._items, self._stages, workers, self._backend, self._chunksize)

    def with_backend(self, backend: BackendSpec) -> ParIter[T]:
        """Run on ``backend`` (as for :func:`par_map`).

        Example:
            >>> from fearless import par_iter
            >>> par_iter([1, 2]).map(lambda x: x * 10).with_backend("threads").collect()
            [10, 20]
        """
        _validate(len, None, None, backend)
        return ParIter(self._items, self._stages, self._workers, backend, self._chunksize)

    def with_chunksize(self, chunksize: int | None) -> ParIter[T]:
        """Process ``chunksize`` items per task (rayon's ``with_min_len``; ``None``: automatic).

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(4)).with_chunksize(1).fold(int, lambda a, x: a + 1).collect()
            [1, 1, 1, 1]
        """
        chunksize = _check_chunksize(chunksize)
        return ParIter(self._items, self._stages, self._workers, self._backend, chunksize)

    # adapters

    def map(self, f: Callable[[T], U]) -> ParIter[U]:
        """Apply ``f`` to every item.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["a", "b"]).map(str.upper).collect()
            ['A', 'B']
        """
        return self._then(MAP, f)

    def filter(self, predicate: Callable[[T], object]) -> ParIter[T]:
        """Keep the items for which ``predicate`` is true.

        Example:
            >>> from fearless import par_iter
            >>> par_iter([0, 1, 2, 3]).filter(bool).collect()
            [1, 2, 3]
        """
        return self._then(FILTER, predicate)

    def flat_map(self, f: Callable[[T], Iterable[U]]) -> ParIter[U]:
        """Replace every item by the items of ``f(item)``.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["ab", "c"]).flat_map(list).collect()
            ['a', 'b', 'c']
        """
        return self._then(FLAT_MAP, f)

    def filter_map(self, f: Callable[[T], U | None]) -> ParIter[U]:
        """Apply ``f`` to every item and keep the results that are not ``None``.

        Rust's ``filter_map`` keeps the ``Some`` values of an ``Option``;
        here ``None`` plays ``None`` and any other value plays ``Some``. So
        the case study's ``filter_map(|p| process_image(p).ok())`` is
        ``filter_map(process_image_or_none)``, where the function returns
        ``None`` for an item it skips. A result that is a falsy value other
        than ``None`` (``0``, ``""``, ``[]``) is kept, unlike with
        ``map(f).filter(bool)``.

        Example:
            >>> from fearless import par_iter
            >>> def parse(text: str) -> int | None:
            ...     return int(text) if text.isdigit() else None
            >>> par_iter(["1", "x", "0", "22"]).filter_map(parse).collect()
            [1, 0, 22]
        """
        return self._then(FILTER_MAP, f)

    def fold(self, identity: Callable[[], A], op: Callable[[A, T], A]) -> ParIter[A]:
        """Fold each chunk into one value: ``op(...op(identity(), x0)..., xn)`` (rayon's ``fold``).

        Yields one accumulator per chunk; combine them with :meth:`reduce`
        (rayon's ``fold(...).reduce(...)`` idiom).

        Example:
            >>> from fearless import par_iter
            >>> (par_iter(["a", "bb", "ccc"])
            ...     .fold(int, lambda n, word: n + len(word))
            ...     .reduce(int, lambda a, b: a + b))
            6
        """
        return self._then(FOLD, identity, op)

    # terminals

    def collect(self) -> list[T]:
        """A list of the items, in input order.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(3)).map(str).collect()
            ['0', '1', '2']
        """
        out: list[T] = []
        chunks = self._run(COLLECT)
        try:
            for chunk in chunks:
                out += chunk
        finally:
            chunks.close()  # at once, not when a traceback lets go of the frame
        return out

    def for_each(self, f: Callable[[T], object]) -> None:
        """Call ``f`` on every item, on the workers, in no particular order.

        Example:
            >>> from fearless import Mutex, par_iter
            >>> seen = Mutex(set())
            >>> def record(x: int) -> None:
            ...     with seen.lock() as g:
            ...         g.value.add(x)
            >>> par_iter(range(4)).with_backend("threads").for_each(record)
            >>> sorted(seen.into_inner())
            [0, 1, 2, 3]
        """
        if not callable(f):
            raise TypeError("for_each() takes a callable")
        chunks = self._run(FOR_EACH, f, ordered=False)
        try:
            for _ in chunks:
                pass
        finally:
            chunks.close()

    def reduce(self, identity: Callable[[], T], op: Callable[[T, T], T]) -> T:
        """Combine the items with ``op``, starting from ``identity()`` (rayon's ``reduce``).

        ``op`` must be associative and ``identity()`` its neutral element:
        each chunk starts from ``identity()``, and the chunks' results are
        combined in input order.

        Example:
            >>> import operator
            >>> from fearless import par_iter
            >>> par_iter(range(1, 6)).reduce(lambda: 1, operator.mul)
            120
        """
        if not _all_callable(identity, op):
            raise TypeError("reduce() takes two callables: identity() and op(a, b)")
        acc = identity()
        chunks = self._run(REDUCE, identity, op)
        try:
            for part in chunks:
                acc = op(acc, part)
        finally:
            chunks.close()
        return acc

    def sum(self: ParIter[N]) -> N:
        """The sum of the items (``0`` for none).

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(101)).sum()
            5050
        """
        total: Any = 0
        chunks = self._run(SUM)
        try:
            for part in chunks:
                total = total + part
        finally:
            chunks.close()
        result: N = total
        return result

    def min(self: ParIter[C]) -> C | None:
        """The smallest item (the first of equals), or ``None`` when there are none.

        Example:
            >>> from fearless import par_iter
            >>> par_iter([3, 1, 2]).min()
            1
            >>> par_iter([]).min() is None
            True
        """
        found: list[C] = self._found(MIN)
        return min(found) if found else None

    def max(self: ParIter[C]) -> C | None:
        """The largest item (the first of equals), or ``None`` when there are none.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["b", "c", "a"]).max()
            'c'
        """
        found: list[C] = self._found(MAX)
        return max(found) if found else None

    def count(self) -> int:
        """The number of items.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(10)).filter(lambda x: x % 3 == 0).count()
            4
        """
        chunks = self._run(COUNT)
        try:
            return sum(chunks)
        finally:
            chunks.close()

    def any(self, predicate: Callable[[T], object] | None = None) -> bool:
        """Whether ``predicate`` (or the item itself) is true for some item.

        Stops early: once a chunk finds one, the rest is cancelled.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(10)).any(lambda x: x > 8)
            True
        """
        chunks = self._run(ANY, predicate, ordered=False)
        try:
            return any(chunks)
        finally:
            chunks.close()

    def all(self, predicate: Callable[[T], object] | None = None) -> bool:
        """Whether ``predicate`` (or the item itself) is true for every item.

        Stops early: once a chunk finds a counterexample, the rest is cancelled.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["a", "b"]).all(str.islower)
            True
        """
        chunks = self._run(ALL, predicate, ordered=False)
        try:
            return all(chunks)
        finally:
            chunks.close()

    def __repr__(self) -> str:
        names = {
            MAP: "map",
            FILTER: "filter",
            FLAT_MAP: "flat_map",
            FILTER_MAP: "filter_map",
            FOLD: "fold",
        }
        chain = "".join(f".{names[kind]}(...)" for kind, _, _ in self._stages)
        return f"<ParIter par_iter(...){chain} backend={self._backend!r}>"


def par_iter(items: Iterable[T]) -> ParIter[T]:
    """A parallel iterator over ``items`` (rayon's ``.par_iter()``).

    Args:
        items: Any iterable; read lazily, chunk by chunk, by the terminal
            operation.

    Returns:
        A :class:`ParIter` to chain adapters on.

    Example:
        >>> from fearless import par_iter
        >>> par_iter(range(1000)).map(abs).filter(lambda x: x % 7 == 0).count()
        143
    """
    return ParIter(items, (), None, "auto", None)


# -- join ----------------------------------------------------------------------


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
    pool = _installed.get()
    threads = pool._use() if isinstance(pool, ThreadPool) else _shared("threads", None)
    return _join(threads, fa, fb)


def _join(backend: Backend, fa: Callable[[], A], fb: Callable[[], B]) -> tuple[A, B]:
    if not _all_callable(fa, fb):
        raise TypeError("join() takes two callables without arguments")
    if backend.in_worker():
        return fa(), fb()
    task = Task(Pipeline(((MAP, _call, None),), COLLECT), 0, [fb], Token())
    future = backend.submit(task)
    try:
        a = fa()
    except BaseException:
        interrupts = _HeldInterrupts()  # fb has finished when join raises
        try:
            try:
                displaced = _set_signal(_SIGINT, interrupts.record)
                raised = False
            except (ValueError, TypeError):  # not the main thread; a handler from C
                displaced, raised = None, False
            except BaseException:  # the old handler ran first: one Ctrl-C
                displaced, raised = _set_signal(_SIGINT, interrupts.record), True
            interrupts.took(displaced, raised)
            _wait_all([future])
        finally:
            interrupts.release()
        raise
    _wait_all([future])
    outcome = future.result()
    if outcome[0] != OK:
        error = _item_error(backend, outcome)
        try:
            raise error
        finally:
            del error
    b: B = outcome[1][0]
    return a, b


def _all_callable(*objects: object) -> bool:
    return all(callable(obj) for obj in objects)


def _call(f: Callable[[], Any]) -> Any:
    return f()


# -- pools ----------------------------------------------------------------------


class _Pool:
    """What :class:`ThreadPool` and :class:`ProcessPool` share."""

    _backend: ThreadsBackend | ProcessesBackend

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False

    def _use(self) -> ThreadsBackend | ProcessesBackend:
        if self._closed:
            raise PoolClosedError("this pool was closed; create a new pool to run more work")
        return self._backend

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
        token = _installed.set(self)
        try:
            return fn()
        finally:
            _installed.reset(token)

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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
        workers = _check_workers(workers)
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
        workers = _check_workers(workers)
        super().__init__()
        self._backend = ProcessesBackend(workers, start_method=start_method)


# -- par_info ----------------------------------------------------------------------


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
