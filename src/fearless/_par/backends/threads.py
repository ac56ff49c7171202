"""The ``"threads"`` backend: a pool of OS threads in this process.

Nothing is pickled and results are the very objects the function returned.
On free-threaded CPython the threads run Python code in parallel; with the
GIL they overlap only while they wait (I/O, C code that releases the GIL).
Relies on the backend interface (``.base``) only.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor

from ..task import Outcome, Task
from .base import Backend, cpu_count, reset_after_fork

_local = threading.local()


def _mark_worker(owner: ThreadsBackend) -> None:
    _local.owner = owner


class ThreadsBackend(Backend):
    """A :class:`concurrent.futures.ThreadPoolExecutor` behind the backend interface."""

    name = "threads"
    pickles = False

    def __init__(self, workers: int | None = None, *, prefix: str = "fearless-par") -> None:
        self.workers = workers if workers is not None else cpu_count()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        # One chunk per worker in flight: each finished chunk wakes the caller,
        # which submits the next at once (a thread pool needs no queue ahead).
        self.window = self.workers
        self._prefix = prefix
        self._executor = self._new_executor()
        _backends.add(self)

    def _new_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            self.workers,
            thread_name_prefix=self._prefix,
            initializer=_mark_worker,
            initargs=(self,),
        )

    def _forked(self) -> None:
        # In a child made by os.fork(): the pool's threads stayed behind in
        # the parent, and its executor would queue work for them for ever.
        # Start afresh; the old executor is dropped unused.
        self._executor = self._new_executor()

    def submit(self, task: Task) -> Future[Outcome]:
        return self._executor.submit(task)

    # stop(): the protocol's default cancels queued chunks; running ones saw
    # the token and stop after their current item.

    def in_worker(self) -> bool:
        return getattr(_local, "owner", None) is self

    def shutdown(self) -> None:
        """Wait for running tasks, then stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)


#: Every live backend, so that a child made by os.fork() can reset them.
_backends: weakref.WeakSet[ThreadsBackend] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    reset_after_fork(_backends)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
