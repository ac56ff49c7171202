"""Any :class:`concurrent.futures.Executor` as a backend (``backend=executor``).

fearless submits chunks to it and never shuts it down: the executor belongs
to the caller. Running chunks cannot be stopped from outside, so after a
failure the call waits for them (in a thread pool they stop after their
current item). A :class:`~concurrent.futures.ProcessPoolExecutor` needs
picklable functions and items. Relies on the backend interface (``.base``).
"""

from __future__ import annotations

import sys
from concurrent.futures import Executor, Future

from ..task import Outcome, Task
from .base import Backend, cpu_count


class ExecutorBackend(Backend):
    """A user's executor behind the backend interface."""

    def __init__(self, executor: Executor, workers: int | None = None) -> None:
        self._executor = executor
        guess = getattr(executor, "_max_workers", None)
        self.workers = workers or (guess if isinstance(guess, int) and guess > 0 else cpu_count())
        # Without concurrent.futures.process imported, it cannot be a process pool.
        process = sys.modules.get("concurrent.futures.process")
        self.pickles = process is not None and isinstance(executor, process.ProcessPoolExecutor)
        self.window = 2 * self.workers if self.pickles else self.workers
        self.name = type(executor).__name__

    def submit(self, task: Task) -> Future[Outcome]:
        return self._executor.submit(task)

    # stop(): not ours to kill; the protocol's default cancels the queued
    # chunks and the call waits for running ones.
