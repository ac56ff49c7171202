"""The one small interface every ``par_map`` backend implements, and the chunk runner.

A backend runs :class:`Task` objects — one chunk of the input plus the fused
pipeline to apply to it — and hands back a :class:`concurrent.futures.Future`
per task. Everything else (chunking, the bounded window of chunks in flight,
ordering, progress, the first failure, cancellation) lives once, in
``fearless._par``. Adding a backend (Ray, say) is one module that implements
:class:`Backend`.

This module is internal, and imported by worker processes: it must stay cheap
to import and everything a task holds must be picklable when the functions
the user gave are.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from functools import partial
from itertools import chain, islice
from operator import is_not, length_hint
from typing import Any, Final, Protocol

__all__ = [
    "CANCELLED",
    "Backend",
    "Pipeline",
    "Task",
    "Token",
    "cpu_count",
]

# Stage kinds of a pipeline (kept small: they are pickled with every chunk).
MAP: Final = 0
FILTER: Final = 1
FLAT_MAP: Final = 2
FOLD: Final = 3
FILTER_MAP: Final = 4  # map, then drop the Nones (rayon's filter_map over Option)

# Terminal kinds: what each chunk hands back.
COLLECT: Final = 0  # the list of values
FOR_EACH: Final = 1  # None (the values were consumed by a function)
REDUCE: Final = 2  # op-reduced value, starting from identity()
SUM: Final = 3
MIN: Final = 4  # (value,) or () when the chunk had no value
MAX: Final = 5
COUNT: Final = 6
ANY: Final = 7  # bool; short-circuits
ALL: Final = 8

#: Outcome kinds, the first element of the tuple a task returns.
OK: Final = 0  # (OK, partial, items consumed, seconds)
FAILED: Final = 1  # (FAILED, item index, exception, formatted traceback or None)
CANCELLED: Final = 2  # (CANCELLED,)

#: Set in worker processes by the processes backend: a shared array and the
#: offset of this worker's slot in it; the runner writes the index of the
#: item it is working on there, so that the parent can name the item a
#: worker that died was running.
slot: Any = None
slot_pos = 0
#: True in a worker process of the processes backend.
in_worker_process = False


def cpu_count() -> int:
    """The number of CPUs this process may use (at least 1)."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        n: int | None = count()
    else:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            n = os.cpu_count()
    return max(1, n or 1)


class Token:
    """A cancellation flag shared by the caller and its chunks (threads only).

    The caller sets ``cancelled``; a chunk running in this process checks it
    between rounds of items (about every millisecond, see :func:`_rounds`)
    and stops. A chunk sent to another process carries a copy, which never
    changes: those are stopped by the backend instead.
    """

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def __reduce__(self) -> tuple[type[Token], tuple[()]]:
        return (Token, ())


class _Cancelled(Exception):
    pass


class Pipeline:
    """The fused chain of adapters and the terminal step, applied to one chunk."""

    __slots__ = ("stages", "terminal", "terminal_args")

    def __init__(
        self,
        stages: tuple[tuple[int, Any, Any], ...],
        terminal: int,
        terminal_args: tuple[Any, ...] = (),
    ) -> None:
        self.stages = stages
        self.terminal = terminal
        self.terminal_args = terminal_args

    def __reduce__(self) -> tuple[type[Pipeline], tuple[Any, ...]]:
        return (Pipeline, (self.stages, self.terminal, self.terminal_args))

    def apply(self, values: Iterator[Any]) -> Any:  # noqa: PLR0911
        """Run the stages lazily over ``values`` and reduce them as the terminal says."""
        it: Iterator[Any] = values
        for kind, f, g in self.stages:
            if kind == MAP:
                it = map(f, it)
            elif kind == FILTER:
                it = filter(f, it)
            elif kind == FLAT_MAP:
                it = chain.from_iterable(map(f, it))
            elif kind == FILTER_MAP:
                it = filter(_is_not_none, map(f, it))
            else:
                it = _fold(it, f, g)
        terminal = self.terminal
        if terminal == COLLECT:
            return list(it)
        if terminal == FOR_EACH:
            f = self.terminal_args[0]
            for value in it:
                f(value)
            return None
        if terminal == REDUCE:
            identity, op = self.terminal_args
            acc = identity()
            for value in it:
                acc = op(acc, value)
            return acc
        if terminal == SUM:
            return sum(it)
        if terminal in (MIN, MAX):
            empty = object()
            found = (min if terminal == MIN else max)(it, default=empty)
            return () if found is empty else (found,)
        if terminal == COUNT:
            n = 0
            for _ in it:
                n += 1
            return n
        predicate = self.terminal_args[0]
        if terminal == ANY:
            return any(map(predicate, it)) if predicate is not None else any(it)
        return all(map(predicate, it)) if predicate is not None else all(it)


#: ``filter_map``'s test, in C: ``_is_not_none(x)`` is ``None is not x``.
_is_not_none = partial(is_not, None)


def _fold(values: Iterator[Any], identity: Callable[[], Any], op: Callable[[Any, Any], Any]) -> Any:
    acc = identity()
    for value in values:
        acc = op(acc, value)
    yield acc


def _source(items: Iterator[Any], index: int) -> Iterator[Any]:
    """The items one by one, each index written to this worker process's slot first."""
    shared = slot
    pos = slot_pos
    for item in items:
        shared[pos] = index
        yield item
        index += 1


#: A chunk run in this process is fed to its pipeline in rounds (see
#: :func:`_rounds`); a round grows, doubling, while it takes less than this.
_ROUND_SECONDS: Final = 0.001
_MAX_ROUND: Final = 4096


def _rounds(it: Iterator[Any], count: int, token: Token) -> Iterator[Iterator[Any]]:
    """``count`` items of the list iterator ``it``, as slices of growing size.

    Chained, the slices feed the pipeline at C speed: nothing in Python runs
    per item but the user's functions. (A generator per item, which checked
    the token and recorded the index, held two threads of free-threaded
    3.13 to 0.84-1.13x sequential on 200,000 items of 1 us; this runs them
    at 1.43-1.75x.) The cancellation token is checked between rounds, and a
    round doubles only while it takes less than ``_ROUND_SECONDS``, so a
    cancelled chunk stops within about a millisecond or one item, whichever
    is longer.
    """
    step = 1
    clock = time.perf_counter
    while count > 0:
        if token.cancelled:
            raise _Cancelled
        began = clock()
        yield islice(it, step)
        count -= step
        if step < _MAX_ROUND and clock() - began < _ROUND_SECONDS:
            step *= 2


class Task:
    """One chunk of the input and what to do with it; called on a worker.

    Returns an outcome tuple (see ``OK``, ``FAILED``, ``CANCELLED``); it never
    raises for a failing item, so the caller learns *which* item failed.
    """

    __slots__ = ("items", "pipeline", "start", "token")

    def __init__(self, pipeline: Pipeline, start: int, items: list[Any], token: Token) -> None:
        self.pipeline = pipeline
        self.start = start
        self.items = items
        self.token = token

    def __reduce__(self) -> tuple[type[Task], tuple[Any, ...]]:
        return (Task, (self.pipeline, self.start, self.items, self.token))

    def __call__(self) -> tuple[Any, ...]:
        items = self.items
        start = self.start
        began = time.perf_counter()
        it = iter(items)
        if slot is None:
            # Items consumed so far: len(items) - length_hint(it), exact for
            # a list iterator; the item at work is the last one consumed.
            source: Iterator[Any] = chain.from_iterable(_rounds(it, len(items), self.token))
        else:
            # A worker process reports every item it starts in its slot.
            source = _source(it, start)
        try:
            partial = self.pipeline.apply(source)
        except _Cancelled:
            return (CANCELLED,)
        except BaseException as exc:
            tb = exc.__traceback__
            if tb is not None and tb.tb_next is not None:
                exc.__traceback__ = tb.tb_next  # start at the user's code, not here
            index = start + max(0, len(items) - length_hint(it) - 1)
            if in_worker_process:
                text = "".join(traceback.format_exception(exc))
                return (FAILED, index, exc, text)
            return (FAILED, index, exc, None)
        finally:
            self.items = []  # drop the inputs as soon as they are used
        consumed = len(items) - length_hint(it)
        return (OK, partial, consumed, time.perf_counter() - began)


class Backend(Protocol):
    """What ``fearless._par`` needs of a backend. One module per backend.

    Attributes:
        name: Shown in reprs, ``par_info()`` and error messages.
        workers: How many tasks it runs at once.
        window: How many chunks the caller keeps submitted and not yet
            finished (a few more windows of finished chunks may wait for an
            earlier one, to be handed out in order); bounds memory for
            endless inputs.
        pickles: Whether tasks cross a process boundary (functions, items and
            results must be picklable).
    """

    name: str
    workers: int
    window: int
    pickles: bool

    def submit(self, task: Task) -> Future[tuple[Any, ...]]:
        """Start ``task`` on a worker; the future's result is the task's outcome."""
        ...

    # The bodies below are the defaults of backends that subclass this
    # protocol explicitly: no bookkeeping, cancel what is queued, report
    # machinery failures as they are, never nested.

    def begin(self) -> None:
        """A call starts using the backend (counts concurrent users)."""
        return None

    def end(self) -> None:
        """That call has finished with the backend."""
        return None

    def stop(self, futures: list[Future[tuple[Any, ...]]], *, urgent: bool) -> None:
        """Cancel the queued ``futures`` of a failed or interrupted call; stop running ones.

        Afterwards every future in ``futures`` completes soon (cancelled,
        finished, or failed by the abort). Threads cannot be stopped from
        outside (their chunks see the token and stop after the current
        item); the processes backend kills its workers (always when
        ``urgent``, i.e. on Ctrl-C; otherwise when no other call is using
        the pool) and starts fresh ones on next use.
        """
        for future in futures:
            future.cancel()

    def explain(
        self, future: Future[tuple[Any, ...]], error: BaseException, task_start: int, task_len: int
    ) -> BaseException:
        """Turn a failure of the machinery itself (not of an item) into the error to raise."""
        return error

    def in_worker(self) -> bool:
        """Whether the calling thread is one of this backend's workers (nested call)."""
        return False


def describe_items(start: int, count: int) -> str:
    """``item 3`` or ``items 3..6``, for messages."""
    return f"item {start}" if count <= 1 else f"items {start}..{start + count - 1}"


def run_inline(task: Task) -> Future[tuple[Any, ...]]:
    """Run ``task`` in the calling thread and return a completed future."""
    future: Future[tuple[Any, ...]] = Future()
    future.set_running_or_notify_cancel()
    try:
        future.set_result(task())
    except BaseException as exc:  # pragma: no cover - Task() does not raise
        future.set_exception(exc)
    return future


def as_items(values: Iterable[Any]) -> list[Any]:
    """``values`` as a list (no copy when it already is one)."""
    return values if isinstance(values, list) else list(values)
