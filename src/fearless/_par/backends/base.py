"""The one small interface every backend implements, and what backends share.

A backend runs :class:`~fearless._par.task.Task` objects — one chunk of the
input plus the fused pipeline to apply to it — and hands back a
:class:`concurrent.futures.Future` per task. Everything else (chunking, the
bounded window of chunks in flight, ordering, progress, the first failure,
cancellation) lives once, in ``fearless._par.engine``. Adding a backend
(Ray, say) is one module in this package that implements :class:`Backend`.

This module relies only on the worker protocol (``fearless._par.task``).
"""

from __future__ import annotations

import contextlib
import os
import weakref
from concurrent.futures import Future
from typing import Any, Protocol

from ..task import Outcome, Task

__all__ = [
    "INLINE",
    "Backend",
    "cpu_count",
    "describe_items",
    "reset_after_fork",
    "run_inline",
]


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


class Backend(Protocol):
    """What the engine needs of a backend. One module per backend.

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

    def submit(self, task: Task) -> Future[Outcome]:
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

    def stop(self, futures: list[Future[Outcome]], *, urgent: bool) -> None:
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
        self, future: Future[Outcome], error: BaseException, task_start: int, task_len: int
    ) -> BaseException:
        """Turn a failure of the machinery itself (not of an item) into the error to raise."""
        return error

    def in_worker(self) -> bool:
        """Whether the calling thread is one of this backend's workers (nested call)."""
        return False


def describe_items(start: int, count: int) -> str:
    """``item 3`` or ``items 3..6``, for messages."""
    return f"item {start}" if count <= 1 else f"items {start}..{start + count - 1}"


def run_inline(task: Task) -> Future[Outcome]:
    """Run ``task`` in the calling thread and return a completed future."""
    future: Future[Outcome] = Future()
    future.set_running_or_notify_cancel()
    try:
        future.set_result(task())
    except BaseException as exc:  # pragma: no cover - Task() does not raise
        future.set_exception(exc)
    return future


class InlineBackend(Backend):
    """Runs chunks in the calling thread: nested calls from a pool's own workers.

    A worker that waited for its own pool could deadlock it (every worker
    waiting for chunks queued behind them), so nested parallel calls run
    sequentially in the worker, as rayon's nested calls may.
    """

    name = "inline"
    pickles = False
    workers = 1
    window = 1

    def submit(self, task: Task) -> Future[Outcome]:
        return run_inline(task)


#: The one inline backend.
INLINE = InlineBackend()


def reset_after_fork(backends: weakref.WeakSet[Any]) -> None:
    """In a child made by ``os.fork()``: tell every backend in ``backends`` (``_forked()``)."""
    with contextlib.suppress(RuntimeError):  # the set changed size: a thread lost by fork
        for backend in list(backends):
            backend._forked()
