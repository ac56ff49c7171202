"""The ``"threads"`` backend: a pool of OS threads in this process.

Nothing is pickled and results are the very objects the function returned.
On free-threaded CPython the threads run Python code in parallel; with the
GIL they overlap only while they wait (I/O, C code that releases the GIL).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ._par_backend import Backend, Task, cpu_count

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
        self._executor = ThreadPoolExecutor(
            self.workers, thread_name_prefix=prefix, initializer=_mark_worker, initargs=(self,)
        )

    def submit(self, task: Task) -> Future[tuple[Any, ...]]:
        return self._executor.submit(task)

    # stop(): the protocol's default cancels queued chunks; running ones saw
    # the token and stop after their current item.

    def in_worker(self) -> bool:
        return getattr(_local, "owner", None) is self

    def shutdown(self) -> None:
        """Wait for running tasks, then stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def in_any_worker() -> bool:
    """Whether the calling thread belongs to some fearless thread pool."""
    return getattr(_local, "owner", None) is not None
