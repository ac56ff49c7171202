"""The engine: one parallel call, from the first item to the last result.

Every parallel function (``par_map``, ``par_imap``, every terminal of
``par_iter``) is a :class:`~fearless._par.task.Pipeline` handed to
:func:`start`, which peeks at the first item, picks the backend
(:func:`resolve`) and returns the generator :func:`_execute`. That generator
runs a :class:`_Call` step by step:

1. ``fill``: cut the input into chunks and submit them, up to the window;
2. ``advance``: hand out the next result (in input order, or as chunks
   finish), else wait for the next finished chunk;
3. ``receive``: record a finished chunk (progress, adaptive chunk size), or
   its failure;
4. ``stop``: on a failure, an interrupt or an abandoned generator, cancel
   what is queued, stop what runs and wait for all of it;
5. ``raise_failure``: raise the earliest failing item's exception.

Ctrl-C is held back (``.interrupts``) while the call's bookkeeping runs in
the main thread, so a call never raises with work of its own still running.
The engine relies on the worker protocol (``.task``), the backends
(``.backends``) and progress reporting (``.progress``); pools plug in
through :class:`PoolBase`.
"""

from __future__ import annotations

import contextvars
import math
import operator
import pickle
import queue
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from concurrent.futures import BrokenExecutor, Executor, Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._errors import PoolClosedError
from .._runtime import gil_enabled
from .backends import shared, shared_interpreters
from .backends.base import INLINE, Backend, describe_items
from .backends.dask import DaskBackend, is_client
from .backends.executor import ExecutorBackend
from .interrupts import SIGINT, HeldInterrupts, set_signal
from .progress import Progress
from .task import Cancelled, Done, Failed, Outcome, Pipeline, Task, Token, worker

if TYPE_CHECKING:
    from .backends.processes import ProcessesBackend
    from .backends.threads import ThreadsBackend

R = TypeVar("R")

#: The longest single wait for a chunk; between slices the caller runs
#: Python code again (signal handlers, finalisers queued for this thread).
_SLICE: Final = 0.05
#: Chunks per worker for inputs with a length.
_CHUNKS_PER_WORKER: Final = 4
#: Upper bound of an automatic chunk (bounds memory per chunk).
_MAX_CHUNK: Final = 50_000
#: For inputs without a length: how long a chunk should take, in seconds.
_TARGET_SECONDS: Final = {False: 0.002, True: 0.01}  # threads, processes
#: Ordered results: finished chunks that wait for an earlier, slower one may
#: number up to this many windows before no new chunk starts. Counting them
#: in the window itself left a worker idle whenever chunks finished out of
#: order, until the earlier chunk was done.
READY_WINDOWS: Final = 4


# -- pools and the choice of backend ------------------------------------------------


class PoolBase:
    """What the engine needs of a pool (``ThreadPool``, ``ProcessPool``): its backend.

    Attributes:
        _backend: The backend the pool runs on.
    """

    _backend: ThreadsBackend | ProcessesBackend

    def __init__(self) -> None:
        self._closed = False

    def _use(self) -> ThreadsBackend | ProcessesBackend:
        """The pool's backend, for a call about to run on it."""
        if self._closed:
            raise PoolClosedError("this pool was closed; create a new pool to run more work")
        return self._backend


#: The pool ``install()``-ed in this context: the default of ``backend="auto"``.
installed: contextvars.ContextVar[PoolBase | None] = contextvars.ContextVar(
    "fearless_par_pool", default=None
)


def _picklable(*objects: object) -> bool:
    try:
        pickle.dumps(objects)
    except Exception:
        return False
    return True


def resolve(  # noqa: PLR0912 - one branch per kind of backend
    backend: object, workers: int | None, pipeline: Pipeline, first: tuple[Any, ...]
) -> Backend:
    """The backend a call runs on; ``first`` is ``(first_item,)`` or ``()``."""
    if backend == "auto":
        pool = installed.get()
        if pool is not None:
            backend = pool
    chosen: Backend
    if isinstance(backend, PoolBase):
        chosen = backend._use()
    elif isinstance(backend, Executor):
        chosen = ExecutorBackend(backend)
    elif is_client(backend):
        chosen = DaskBackend(backend, workers)
    elif backend == "auto":
        if worker.in_process:
            return INLINE
        if not gil_enabled() or not _picklable(pipeline, *first):
            chosen = shared("threads", workers)
        else:
            chosen = shared("processes", workers)
    elif backend in ("threads", "processes"):
        if worker.in_process:
            return INLINE
        chosen = shared(str(backend), workers)
    elif backend == "interpreters":
        chosen = shared_interpreters(workers)
    else:
        raise TypeError(
            "backend must be 'auto', 'threads', 'processes', 'interpreters', a ThreadPool, "
            f"a ProcessPool, a concurrent.futures.Executor or a distributed.Client, got {backend!r}"
        )
    return INLINE if chosen.in_worker() else chosen


# -- arguments ----------------------------------------------------------------------


def check_count(name: str, value: object) -> int | None:
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


def validate(
    fn: object, workers: object, chunksize: object, backend: object
) -> tuple[int | None, int | None]:
    """Check the arguments of a call up front; return ``workers`` and ``chunksize`` as ints."""
    if not callable(fn):
        raise TypeError(f"expected a callable to apply to each item, got {type(fn).__name__}")
    counts = check_count("workers", workers), check_count("chunksize", chunksize)
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


def all_callable(*objects: object) -> bool:
    """Whether every one of ``objects`` is callable."""
    return all(callable(obj) for obj in objects)


# -- failures ----------------------------------------------------------------------


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


# Tracebacks name it as they always have.
_RemoteTraceback.__module__ = "fearless._par"


@dataclass
class _Failure:
    index: int
    error: BaseException


def _machinery_failure(
    backend: Backend,
    future: Future[Outcome],
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


def item_error(backend: Backend, outcome: Failed) -> BaseException:
    """The exception of a failed item, with its worker's traceback and a note naming it."""
    index, error, text = outcome
    where = "process" if text is not None else "thread"
    if text is not None:
        error.__cause__ = _RemoteTraceback(text)
    if isinstance(error, Exception):
        error.add_note(f"raised by input item {index}, in a worker {where} ({backend.name})")
    return error


# -- waiting ----------------------------------------------------------------------


def _next_done(done: queue.SimpleQueue[int], interrupts: HeldInterrupts) -> int:
    """The key of the next finished chunk; a held Ctrl-C is delivered while waiting."""
    while True:
        interrupts.deliver()
        try:
            key = done.get(timeout=_SLICE)
        except queue.Empty:
            continue
        if key >= 0:  # -1: woken by a Ctrl-C
            return key


def wait_all(futures: list[Future[Outcome]]) -> None:
    """Wait until every one of ``futures`` is done, in slices (signal handlers run between)."""
    while futures:
        _, not_done = wait_futures(futures, timeout=_SLICE)
        futures = list(not_done)


def _notify(done: queue.SimpleQueue[int], key: int, _future: object) -> None:
    done.put(key)


# -- one call ----------------------------------------------------------------------


def _length(items: Iterable[Any]) -> int | None:
    if isinstance(items, Iterator):
        return None
    if isinstance(items, Sized):
        try:
            return len(items)
        except TypeError:  # pragma: no cover - a __len__ that refuses
            return None
    return None


def _first_size(total: int | None, nworkers: int, chunksize: int | None) -> int:
    """The size of the first chunk: ``chunksize``, a share of ``total``, or 1 (adaptive)."""
    if chunksize is not None:
        return chunksize
    if total is not None:
        return max(1, min(_MAX_CHUNK, math.ceil(total / (nworkers * _CHUNKS_PER_WORKER))))
    return 1


#: What :meth:`_Call.advance` returns when it has nothing to hand out yet.
_NOTHING: Final = object()
#: What it returns when the call is over (every result handed out, or a failure).
_FINISHED: Final = object()


class _Call:
    """The state of one parallel call while :func:`_execute` runs it.

    At most ``window`` chunks run or wait to run, and (ordered) at most
    ``READY_WINDOWS`` windows of finished chunks wait for an earlier one, so
    an endless input never loads into memory. Chunks are keyed by their
    position in the input (``next_in`` submitted so far, ``next_out``
    handed out so far, in order).
    """

    __slots__ = (
        "adaptive",
        "backend",
        "done",
        "exhausted",
        "failure",
        "head",
        "interrupts",
        "items",
        "limit",
        "next_in",
        "next_out",
        "pending",
        "pipeline",
        "ready",
        "reporter",
        "size",
        "sliceable",
        "source",
        "start",
        "target",
        "token",
        "window",
    )

    def __init__(
        self,
        backend: Backend,
        pipeline: Pipeline,
        items: Iterable[Any],
        first: tuple[Any, ...],
        rest: Iterator[Any],
        *,
        workers: int | None,
        chunksize: int | None,
        progress: object,
    ) -> None:
        total = _length(items)
        nworkers = min(workers, backend.workers) if workers else backend.workers
        self.backend = backend
        self.pipeline = pipeline
        self.window = max(1, backend.window // backend.workers) * nworkers
        self.limit = self.window * READY_WINDOWS
        self.size = _first_size(total, nworkers, chunksize)
        self.adaptive = chunksize is None and total is None
        self.target = _TARGET_SECONDS[backend.pickles]
        self.items = items
        self.sliceable = isinstance(items, (list, tuple, range)) and not first
        self.source: Iterator[Any] = iter(()) if self.sliceable else rest
        self.head = list(first)
        self.reporter = Progress(progress, total)
        self.token = Token()
        self.done: queue.SimpleQueue[int] = queue.SimpleQueue()
        #: Submitted chunks not yet received: key -> (future, first index, length).
        self.pending: dict[int, tuple[Future[Outcome], int, int]] = {}
        #: Finished chunks' results waiting for an earlier one: key -> result.
        self.ready: dict[int, Any] = {}
        self.next_in = self.next_out = self.start = 0
        self.exhausted = False
        self.failure: _Failure | None = None
        self.interrupts = HeldInterrupts(partial(self.done.put, -1))

    def fill(self) -> None:
        """Submit chunks while the window has room and the input lasts."""
        pending = self.pending
        while len(pending) < self.window and len(pending) + len(self.ready) < self.limit:
            if self.exhausted:
                return
            chunk = self._next_chunk()
            if not chunk:
                self.exhausted = True
                return
            future = self.backend.submit(Task(self.pipeline, self.start, chunk, self.token))
            pending[self.next_in] = (future, self.start, len(chunk))
            future.add_done_callback(partial(_notify, self.done, self.next_in))
            self.next_in += 1
            self.start += len(chunk)

    def _next_chunk(self) -> list[Any]:
        """The next ``size`` items (fewer at the end; none once the input is exhausted)."""
        if self.sliceable:
            return list(self.items[self.start : self.start + self.size])  # type: ignore[index]
        # The input is the caller's code, which may block (reading a pipe):
        # Ctrl-C must reach it.
        self.interrupts.release()
        chunk = self.head + list(islice(self.source, self.size - len(self.head)))
        self.interrupts.hold()
        self.head = []
        return chunk

    def advance(self, ordered: bool) -> Any:
        """Submit what fits; then the next result to hand out, ``_NOTHING`` or ``_FINISHED``.

        ``ordered`` hands results out in input order, else as chunks finish.
        """
        self.fill()
        if ordered and self.next_out in self.ready:
            # What is handed out frees room in the window: the next advance
            # submits more before waiting, or a worker would sit idle.
            value = self.ready.pop(self.next_out)
            self.next_out += 1
            return value
        if not self.pending:
            return _FINISHED if self.exhausted else _NOTHING
        return self.receive(_next_done(self.done, self.interrupts), ordered)

    def receive(self, key: int, ordered: bool) -> Any:
        """Take finished chunk ``key``: its result to hand out, ``_NOTHING`` or ``_FINISHED``."""
        future, first_index, count = self.pending.pop(key)
        error = future.exception() if not future.cancelled() else None
        if error is not None:
            self.failure = _machinery_failure(self.backend, future, error, first_index, count)
            return _FINISHED
        outcome = future.result()
        if type(outcome) is Done:
            self._count(outcome)
            if ordered:
                self.ready[key] = outcome.partial
                return _NOTHING
            return outcome.partial
        if type(outcome) is Failed:
            self.failure = _Failure(outcome.item, item_error(self.backend, outcome))
            return _FINISHED
        assert type(outcome) is Cancelled  # pragma: no cover - only a cancelled token does
        return _NOTHING  # pragma: no cover

    def _count(self, outcome: Done) -> None:
        """Report a finished chunk's items, and size the next chunks after its pace."""
        consumed, seconds = outcome.consumed, outcome.seconds
        self.interrupts.release()  # a progress callback is the caller's code
        self.reporter.update(consumed)
        self.interrupts.hold()
        if self.adaptive and consumed:
            size = self.size
            wanted = int(self.target * consumed / seconds) if seconds > 0 else size * 8
            self.size = max(1, min(_MAX_CHUNK, size * 8, wanted))

    def stop(self, cause: BaseException | None) -> list[_Failure]:
        """Cancel what is queued, stop what runs, wait for all of it; return failures seen.

        ``cause`` is what ended the call early (``None`` for an item's failure);
        anything but an ``Exception`` (Ctrl-C) kills running worker processes
        at once. The caller holds Ctrl-C back meanwhile and delivers it once
        everything has stopped: the call never raises with work of its own
        still running.
        """
        backend = self.backend
        urgent = cause is not None and not isinstance(cause, (Exception, GeneratorExit))
        self.token.cancelled = True
        futures = [future for future, _, _ in self.pending.values()]
        backend.stop(futures, urgent=urgent)
        wait_all(futures)
        failures: list[_Failure] = []
        for future, first_index, count in self.pending.values():
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                if not isinstance(error, BrokenExecutor):  # else: stopped by the abort
                    failures.append(_machinery_failure(backend, future, error, first_index, count))
                continue
            outcome = future.result()
            if type(outcome) is Failed:
                failures.append(_Failure(outcome.item, item_error(backend, outcome)))
        self.pending.clear()
        return failures

    def raise_failure(self) -> None:
        """After a failure: stop the rest, then raise the earliest failing item's error."""
        failure = self.failure
        if failure is None:
            return
        self.failure = None
        failures = [failure, *self.stop(None)]
        error = min(failures, key=lambda f: f.index).error
        try:
            raise error
        finally:
            del error, failures, failure


def _execute(call: _Call, ordered: bool) -> Generator[Any, None, None]:
    """Run ``call``'s pipeline over the items chunk by chunk; yield each chunk's partial result.

    ``ordered`` yields partials in input order, else as chunks finish. See
    :class:`_Call` for the steps.
    """
    backend = call.backend
    interrupts = call.interrupts
    # Ctrl-C is held back while this runs in the main thread, and delivered
    # where the call can stop cleanly: while waiting, or at a yield (where
    # the caller's own code runs with its handler back in place).
    interrupts.hold()
    try:
        backend.begin()
        try:
            while True:
                value = call.advance(ordered)
                if value is _FINISHED:
                    break
                if value is _NOTHING:
                    continue
                interrupts.release()
                yield value
                interrupts.hold()
        except BaseException as exc:
            # Interrupted (Ctrl-C), abandoned (GeneratorExit), or the input
            # itself raised: leave nothing running behind, holding Ctrl-C
            # back until then. No Python call before the hold: see
            # HeldInterrupts (inlined copy in fearless._par.api._join: keep in step).
            try:
                displaced = set_signal(SIGINT, interrupts.record)
                raised = False
            except (ValueError, TypeError):  # not the main thread; a handler from C
                displaced, raised = None, False
            except BaseException:  # the old handler ran first: one Ctrl-C
                displaced, raised = set_signal(SIGINT, interrupts.record), True
            interrupts.took(displaced, raised)
            call.stop(exc)
            raise
        call.raise_failure()
    finally:
        try:
            backend.end()
            call.reporter.close()
        finally:
            interrupts.release()


def _nothing() -> Generator[Any, None, None]:
    yield from ()


def start(
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

    Callers close the generator in a ``finally`` (:func:`finish` does):
    an exception raised in the caller's frame (Ctrl-C, a failing ``op``)
    keeps that frame, and so the suspended generator, alive in its
    traceback, and the chunks would run on.
    """
    rest = iter(items)
    first: tuple[Any, ...] = ()
    for item in rest:
        first = (item,)
        break
    if not first:
        return _nothing()
    call = _Call(
        resolve(backend, workers, pipeline, first),
        pipeline,
        items,
        first if not isinstance(items, (list, tuple, range)) else (),
        rest,
        workers=workers,
        chunksize=chunksize,
        progress=progress,
    )
    return _execute(call, ordered)


def finish(chunks: Generator[Any, None, None], combine: Callable[[Iterator[Any]], R]) -> R:
    """``combine(chunks)``, then close ``chunks`` at once (not when a traceback lets go)."""
    try:
        return combine(chunks)
    finally:
        chunks.close()


def concat(chunks: Iterable[list[Any]]) -> list[Any]:
    """The chunks' lists, one after the other, in one list."""
    out: list[Any] = []
    for chunk in chunks:
        out += chunk
    return out
