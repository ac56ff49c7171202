"""The ``"processes"`` backend: worker processes, chunks pickled to and fro.

Built on :class:`concurrent.futures.ProcessPoolExecutor` with an explicit
start method — ``forkserver`` where the platform has it, else ``spawn`` —
never ``fork``: forking a process that runs threads (and fearless's callers
usually do) can copy a lock some other thread held and deadlock the child;
Python 3.12+ warns about it and 3.14 stopped defaulting to it on Linux.
Functions are pickled by reference, so they must be importable by name
(module-level functions, builtins, ``str.upper``, ``functools.partial`` of
those): no lambdas or functions defined inside other functions.

Each worker process writes the index of the item it is working on into a
slot of a small shared array, so when a worker dies (``os._exit``, a
segfault, SIGKILL) the caller can name the item that killed it. A pool whose
worker died, or whose workers fearless killed to stop a failed or
interrupted call, is replaced by a fresh one on next use. In a child made by
``os.fork()``, a pool forgets the parent's workers and starts its own, with
``spawn`` (the fork server answers only the process that started it).

Every pool has a lifeline: a pipe whose write end only the caller holds.
Each worker watches the read end in a thread and exits at EOF, which comes
when the caller dies however it dies (SIGTERM, SIGKILL, a crash) or drops
the pool. ``multiprocessing``'s fork server and resource tracker exit on
their own once no process holds their pipes, so a killed caller leaves
nothing behind. (A plain ``ProcessPoolExecutor`` has no such watch: its
workers hold both ends of their task queue and wait on it for ever.)

Relies on the backend interface (``.base``) and, in the workers, on the
worker state of the protocol (``fearless._par.task.worker``), which
:func:`_init_worker` fills. Worker processes unpickle ``_init_worker`` and
every task by module path: keep those names where they are.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import weakref
from concurrent.futures import BrokenExecutor, Future
from typing import TYPE_CHECKING, Any

from ..._errors import WorkerDiedError
from ..task import Outcome, Task, worker
from .base import cpu_count, describe_items, reset_after_fork

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext

#: Items of each worker's slot in the shared array: its pid, then the index
#: of the item it is working on.
_SLOT_SIZE = 2
#: How long to wait for a broken pool to finish stopping its workers.
_JOIN_TIMEOUT = 10.0
#: The attribute of a future that remembers the pool it was submitted to.
_POOL_ATTR = "_fearless_pool"
#: The attribute of a pool that holds both ends of its lifeline.
_LIFELINE_ATTR = "_fearless_lifeline"
#: Exit code of a worker whose caller is gone (sysexits' EX_SOFTWARE).
ORPHAN_EXIT_CODE = 70
#: Exit code of a worker the broken pool stopped (how it stops the survivors).
_TERMINATED = -int(signal.SIGTERM)

#: The write ends of every live pool's lifeline, by id. A child made by
#: os.fork() (the "fork" start method, or the user's own fork) closes them
#: at once, or the workers would live as long as that child.
_lifelines: dict[int, Connection] = {}


#: Every live backend, so that a child made by os.fork() can reset them.
_backends: weakref.WeakSet[ProcessesBackend] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_lifelines.values()):
        with contextlib.suppress(OSError):
            writer.close()
    _lifelines.clear()
    reset_after_fork(_backends)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def default_start_method() -> str:
    """``forkserver`` where available (POSIX), else ``spawn``; never ``fork``."""
    import multiprocessing  # noqa: PLC0415 - imported on first use: it is slow to import

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _watch_lifeline(lifeline: Connection) -> None:
    """In a worker: block until the caller's end of the lifeline closes, then exit."""
    try:
        while True:
            lifeline.recv_bytes()  # the caller never writes; EOF is the message
    except (EOFError, OSError):
        pass
    # The caller is gone (or dropped this pool): nobody will read a result.
    # os._exit, not sys.exit: the main thread may be deep in the user's code.
    os._exit(ORPHAN_EXIT_CODE)


def _init_worker(slots: Any, counter: Any, lifeline: Connection) -> None:
    # Exit when the caller dies, however it dies: see the module docstring.
    threading.Thread(
        target=_watch_lifeline, args=(lifeline,), name="fearless-lifeline", daemon=True
    ).start()
    # Ctrl-C in a terminal signals the whole process group; the caller
    # handles it (and kills the workers), so the workers ignore it instead
    # of each printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with counter.get_lock():
        index = counter.value
        counter.value = index + 1
    base = (index % (len(slots) // _SLOT_SIZE)) * _SLOT_SIZE
    slots[base] = os.getpid()
    slots[base + 1] = -1
    worker.enter_process(slots, base + 1)


class ProcessesBackend:
    """A process pool behind the backend interface; see the module docstring."""

    name = "processes"
    pickles = True

    def __init__(self, workers: int | None = None, *, start_method: str | None = None) -> None:
        self.workers = workers if workers is not None else cpu_count()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        # Two chunks per worker in flight: one running, one queued, so a
        # worker never waits for the caller to send it more.
        self.window = 2 * self.workers
        self.start_method = start_method or default_start_method()
        import multiprocessing  # noqa: PLC0415 - imported on first use: it is slow to import

        self._context: BaseContext = multiprocessing.get_context(self.start_method)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._slots: Any = None
        self._processes: dict[int, Any] = {}
        self._users = 0
        self._closed = False
        _backends.add(self)

    def _forked(self) -> None:
        # In a child made by os.fork(): the pool, its manager thread and its
        # workers belong to the parent (and the lock may be held by a thread
        # that stayed there). Forget them; the next call starts a pool of
        # this process's own.
        self._lock = threading.Lock()
        self._executor = None
        self._slots = None
        self._processes = {}
        self._users = 0
        if self.start_method == "forkserver":
            # multiprocessing's fork server is the parent's: asking it for a
            # worker fails here (ChildProcessError). Spawn instead.
            import multiprocessing  # noqa: PLC0415 - imported already: self._context is one

            self.start_method = "spawn"
            self._context = multiprocessing.get_context("spawn")

    def _current(self) -> ProcessPoolExecutor:
        # Called with self._lock held.
        executor = self._executor
        if executor is not None and getattr(executor, "_broken", False):
            executor.shutdown(wait=True)  # its futures have failed already
            _cut_lifeline(executor)
            executor = None
        if executor is None:
            from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415 - slow import

            if getattr(self._context.current_process(), "_inheriting", False):
                # This is a worker importing the caller's unguarded main
                # module. Refuse before making a pool's shared memory and
                # semaphores, which a dying worker would leak.
                raise RuntimeError(
                    "parallel work was started while a worker process was importing the"
                    " main module; put the code that starts it under"
                    ' `if __name__ == "__main__":`'
                )

            slots = self._context.RawArray("q", self.workers * _SLOT_SIZE)
            counter = self._context.Value("i", 0)
            reader, writer = self._context.Pipe(duplex=False)
            try:
                executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=self._context,
                    initializer=_init_worker,
                    initargs=(slots, counter, reader),
                )
            except BaseException:
                reader.close()
                writer.close()
                raise
            setattr(executor, _LIFELINE_ATTR, (reader, writer))
            _lifelines[id(writer)] = writer
            self._executor = executor
            self._slots = slots
            processes = getattr(executor, "_processes", None)
            self._processes = processes if isinstance(processes, dict) else {}
        return executor

    def submit(self, task: Task) -> Future[Outcome]:
        with self._lock:
            executor = self._current()
            try:
                future = executor.submit(task)
            except BrokenExecutor as error:
                # A worker died after _current() looked: the pool refuses
                # new work. Fail this task as the pool fails its own, so
                # that explain() names the item the dead worker was running.
                future = Future()
                future.set_exception(error)
            # Remember which pool ran it: a broken pool is replaced at the
            # next submit, maybe before this future's failure is explained.
            setattr(future, _POOL_ATTR, (self._slots, self._processes, weakref.ref(executor)))
            return future

    def begin(self) -> None:
        with self._lock:
            self._users += 1

    def end(self) -> None:
        with self._lock:
            self._users -= 1

    def stop(self, futures: list[Future[Outcome]], *, urgent: bool) -> None:
        processes: list[Any] = []
        with self._lock:
            executor = self._executor
            kill = (
                executor is not None
                and (urgent or self._users <= 1)
                and any(future.running() for future in futures)
            )
            if kill:
                self._executor = None
                processes = list(self._processes.values())
        if not kill:
            # Nothing of ours runs, or another call shares the pool: cancel
            # what is queued and let the running chunks finish.
            for future in futures:
                # A broken pool fails its futures itself; cancelling one
                # meanwhile crashes Python 3.11's pool manager.
                if not getattr(_owner(future), "_broken", False):
                    future.cancel()
            return
        assert executor is not None
        # Not cancelled first: the killed pool fails every pending future
        # itself (and Python 3.11's pool crashes on one cancelled meanwhile).
        try:
            _kill(executor, processes)
        finally:
            _cut_lifeline(executor)

    def close_at_exit(self) -> None:
        """Stop the workers and drop the pool while the interpreter is still whole."""
        self.shutdown()

    def explain(
        self, future: Future[Outcome], error: BaseException, task_start: int, task_len: int
    ) -> BaseException:
        if not isinstance(error, BrokenExecutor):
            return error
        slots, processes, executor_ref = getattr(future, _POOL_ATTR, (None, {}, None))
        executor = executor_ref() if executor_ref is not None else None
        # The pool's manager thread stops and joins every worker of a broken
        # pool; once it is done, every exit code is known. (Joining a worker
        # from two threads at once can lose its exit code.)
        manager = getattr(executor, "_executor_manager_thread", None)
        if isinstance(manager, threading.Thread):
            manager.join(_JOIN_TIMEOUT)
        culprit = _culprit(slots, processes, task_start, task_len)
        starting = _died_starting(slots, processes) if culprit is None else None
        if starting is not None:
            died = WorkerDiedError(
                f"a worker process died (exit code {starting}) while starting, before it"
                f" ran any item{_main_guard_hint()}"
            )
            died.__cause__ = error
            return died
        if culprit is None:
            where = f"while running {describe_items(task_start, task_len)} or other items"
            code = ""
        else:
            index, exitcode = culprit
            where = f"while running item {index}"
            code = f" (exit code {exitcode})"
        died = WorkerDiedError(
            f"a worker process died{code} {where}; the pool starts new workers on next use"
        )
        died.__cause__ = error
        return died

    def in_worker(self) -> bool:
        return worker.in_process

    def shutdown(self) -> None:
        """Wait for running tasks, then stop the worker processes."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            try:
                executor.shutdown(wait=True, cancel_futures=True)
            finally:
                _cut_lifeline(executor)


def _cut_lifeline(executor: ProcessPoolExecutor) -> None:
    """Close both ends of ``executor``'s lifeline: any worker still alive exits."""
    ends = getattr(executor, _LIFELINE_ATTR, None)
    if ends is None:
        return
    reader, writer = ends
    _lifelines.pop(id(writer), None)
    for end in (writer, reader):
        with contextlib.suppress(OSError):
            end.close()


def _owner(future: Future[Outcome]) -> ProcessPoolExecutor | None:
    """The pool ``future`` was submitted to, while it exists."""
    remembered = getattr(future, _POOL_ATTR, None)
    if remembered is None:
        return None
    owner: ProcessPoolExecutor | None = remembered[2]()
    return owner


def _kill(executor: ProcessPoolExecutor, processes: list[Any]) -> None:
    """Kill every worker of ``executor`` and wait until the pool has wound down."""
    for process in processes:
        with contextlib.suppress(OSError, ValueError):  # already gone
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.join(_JOIN_TIMEOUT)
    # A worker killed halfway through sending a result leaves a partial
    # message in the result pipe, and the pool's manager thread would wait
    # for the rest forever: this process holds the pipe's only other write
    # end. Every worker is dead now, so closing it turns that wait into EOF,
    # which the manager handles as a broken pool (failing the remaining
    # futures and joining the workers).
    result_queue = getattr(executor, "_result_queue", None)
    writer = getattr(result_queue, "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()
    manager = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False)
    if isinstance(manager, threading.Thread):
        manager.join(_JOIN_TIMEOUT)


def _culprit(
    slots: Any, processes: dict[int, Any], task_start: int, task_len: int
) -> tuple[int, int] | None:
    """The item index and exit code of the worker that died running this task, if known."""
    if slots is None:
        return None
    by_pid = {int(slots[i]): int(slots[i + 1]) for i in range(0, len(slots), _SLOT_SIZE)}
    found: tuple[int, int] | None = None
    for process in list(processes.values()):
        exitcode = process.exitcode
        if exitcode is None or exitcode == _TERMINATED:
            continue
        index = by_pid.get(process.pid, -1)
        if task_start <= index < task_start + task_len:
            return index, exitcode
        if index >= 0 and found is None:
            found = index, exitcode
    return found


def _died_starting(slots: Any, processes: dict[int, Any]) -> int | None:
    """The exit code of a worker that died before any worker had started, if one did.

    A worker writes its pid into ``slots`` as the first thing it does (in
    :func:`_init_worker`); a pool none of whose slots holds a pid has never
    had a worker get that far.
    """
    if slots is None or any(slots[i] for i in range(0, len(slots), _SLOT_SIZE)):
        return None
    for process in list(processes.values()):
        exitcode = process.exitcode
        if exitcode is not None and exitcode != _TERMINATED:
            return int(exitcode)
    return None


def _main_guard_hint() -> str:
    """What to do about a worker that died starting, when the caller is a script.

    A worker started by ``forkserver`` or ``spawn`` imports the caller's main
    module first. If that module starts parallel work when imported (no
    ``if __name__ == "__main__":`` guard), multiprocessing stops the worker
    with a RuntimeError, printed on stderr, and the pool breaks.
    """
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) is None:
        return "; the pool starts new workers on next use"
    return (
        "; each worker imports the main module first, so if that module starts"
        " parallel work when it is imported, put that code under"
        ' `if __name__ == "__main__":` (see "Safe importing of main module" in'
        " the multiprocessing docs)"
    )
