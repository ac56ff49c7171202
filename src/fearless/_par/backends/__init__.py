"""The backends of the parallel functions, one module each, and the shared pools.

Every backend implements the small :class:`~.base.Backend` interface
(``submit`` a task, ``stop`` a failed call's futures, ``explain`` a failure
of the machinery, tell whether the caller is one of its workers):

- ``threads``: a pool of threads in this process (``ThreadsBackend``);
- ``processes``: worker processes, started by forkserver or spawn
  (``ProcessesBackend``);
- ``executor``: any :class:`concurrent.futures.Executor` (``ExecutorBackend``);
- ``interpreters``: sub-interpreters, Python 3.14+ (``InterpretersBackend``);
- ``dask``: a Dask cluster through a ``distributed.Client`` (``DaskBackend``).

Adding one (Ray, say) is one more module here and one more branch in
``fearless._par.engine.resolve``. This module keeps the shared pools that
``backend="threads"``, ``"processes"`` and ``"interpreters"`` run on, one
per size, created on first use and dropped at exit.
"""

from __future__ import annotations

import atexit
import os
import threading

from .base import Backend, cpu_count
from .interpreters import InterpretersBackend
from .processes import ProcessesBackend
from .threads import ThreadsBackend

_shared_lock = threading.Lock()
_shared_threads: dict[int, ThreadsBackend] = {}
_shared_processes: dict[int, ProcessesBackend] = {}
_shared_interpreters: dict[int, Backend] = {}


def shared(kind: str, workers: int | None) -> Backend:
    """The shared ``"threads"`` or ``"processes"`` pool of at least ``workers`` workers."""
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


def shared_interpreters(workers: int | None) -> Backend:
    """The shared ``"interpreters"`` pool (raises BackendUnavailableError before 3.14)."""
    size = max(cpu_count(), workers or 0)
    with _shared_lock:
        found = _shared_interpreters.get(size)
        if found is None:
            found = _shared_interpreters[size] = InterpretersBackend(size)
        return found


def _after_fork_in_child() -> None:
    # The lock may be held by a thread that stayed in the parent; the shared
    # pools reset themselves (their workers stayed there too).
    global _shared_lock
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def close_shared_pools() -> None:
    """Drop the shared process pools before the interpreter tears modules down.

    A pool collected later reports errors from its finaliser.
    """
    with _shared_lock:
        backends = list(_shared_processes.values())
        _shared_processes.clear()
    for backend in backends:
        backend.close_at_exit()
