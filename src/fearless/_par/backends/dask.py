"""A Dask cluster as a backend: ``backend=client`` with a :class:`distributed.Client`.

fearless never imports Dask itself: a client exists only once the caller has
imported ``distributed``, so :func:`is_client` looks for the class in
``sys.modules``. Install it with ``pip install fearless[dask]``.

Each chunk becomes one Dask task (``client.submit``), keyed
``fearless-chunk-<call>-<first item>`` so the dashboard groups a call's
chunks, with earlier chunks at a higher priority. The caller keeps a window
of chunks on the cluster, as on every backend, and each chunk's outcome is
fetched as soon as Dask reports it done. Dask pickles the function and the
items with cloudpickle — lambdas and closures travel by value, module-level
functions by reference (their module, and fearless, must be importable on
the workers) — and sends results back the same way.

Stopping a failed or abandoned call:
    Dask cannot interrupt a running task, so fearless first tells every
    worker that the call is over (``client.run``); a running chunk sees it
    before its next item and returns at once. Then the chunks that have not
    reached a worker yet are cancelled (``client.cancel``), and the call waits
    for the rest, which finish their current item and stop. A chunk that
    fails meanwhile still counts, so the earliest failure wins as on threads.
    On Ctrl-C the call cancels everything and returns at once; a chunk
    already running finishes on its worker and its result is dropped.

A failing item's exception comes back in the chunk's outcome, with the
worker's formatted traceback, and is raised chained to a
``_RemoteTraceback`` as for processes. A worker that dies while running a
chunk (Dask's ``KilledWorker``) raises :class:`~fearless.WorkerDiedError`.

Relies on the backend interface (``.base``) and the worker protocol
(``fearless._par.task``). Dask workers unpickle :func:`_run_chunk`,
:class:`_CallToken` and :func:`_stop_call` by module path.
"""

from __future__ import annotations

import sys
import threading
import traceback
import uuid
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from ..._errors import WorkerDiedError
from ..task import Failed, Outcome, Task, Token
from .base import Backend, describe_items

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskBackend", "describe", "is_client", "stop_requested"]

#: How many stopped calls a worker remembers (a few bytes each).
_REMEMBERED: Final = 4096

# -- on the workers ----------------------------------------------------------------

_stopped_lock = threading.Lock()
_stopped: set[str] = set()
_stopped_order: deque[str] = deque()
_running = threading.local()


def _stop_call(call: str) -> None:
    """Mark ``call`` stopped in this worker process (run on every worker by ``client.run``)."""
    with _stopped_lock:
        if call in _stopped:
            return
        _stopped.add(call)
        _stopped_order.append(call)
        while len(_stopped_order) > _REMEMBERED:
            _stopped.discard(_stopped_order.popleft())


class _CallToken(Token):
    """A chunk's cancellation flag on a worker: set once the call is marked stopped."""

    __slots__ = ("_call",)

    def __init__(self, call: str) -> None:
        self._call = call

    @property
    def cancelled(self) -> bool:
        return self._call in _stopped

    @cancelled.setter
    def cancelled(self, value: bool) -> None:
        if value:
            _stop_call(self._call)


def _run_chunk(task: Task, call: str) -> Outcome:
    """The function each Dask task runs: one chunk, with a traceback for a failure."""
    token = _CallToken(call)
    task.token = token
    previous = getattr(_running, "token", None)
    _running.token = token
    try:
        outcome = task()
    finally:
        _running.token = previous
    if isinstance(outcome, Failed) and outcome.traceback is None:
        text = "".join(traceback.format_exception(outcome.error))
        return Failed(outcome.item, outcome.error, text)
    return outcome


def stop_requested() -> bool:
    """Whether the call whose chunk runs in this thread (on a Dask worker) was told to stop.

    ``False`` outside a chunk. The chunk itself stops before its next item on
    its own; an item can poll this to give up early (the tests use it to hold
    an item until the stop arrives).
    """
    token = getattr(_running, "token", None)
    return token is not None and bool(token.cancelled)


def _in_task() -> bool:
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


# -- in the caller ----------------------------------------------------------------------


def is_client(obj: object) -> TypeGuard[Client]:
    """Whether ``obj`` is a :class:`distributed.Client` (without importing Dask)."""
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(obj, distributed.Client)


def describe(client: Client) -> tuple[str, int, str]:
    """``(scheduler address, total threads, a sentence)`` about the cluster behind ``client``."""
    dask: Any = client  # much of distributed's API is untyped
    nthreads: dict[str, int] = dask.nthreads()
    total = sum(nthreads.values())
    address = str(dask.scheduler.address)
    workers = f"{len(nthreads)} worker{'s' if len(nthreads) != 1 else ''}"
    threads = f"{total} thread{'s' if total != 1 else ''}"
    sentence = (
        f"a Dask cluster of {workers} with {threads} in all; chunks run there as Dask tasks, "
        "with the function and items pickled by cloudpickle"
    )
    return address, total, sentence


class _Bridge(Future[Outcome]):
    """A :class:`concurrent.futures.Future` that a Dask future completes.

    Exactly one of the Dask callback (which fetches the outcome) and
    :meth:`DaskBackend.stop` (which cancels) settles it: whoever claims it first.
    """

    def __init__(self, remote: Any) -> None:
        super().__init__()
        self._claim_lock = threading.Lock()
        self._claimed = False
        self.remote: Any = remote
        self.key: str = remote.key

    def claim(self) -> bool:
        with self._claim_lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def settle(self, remote: Any) -> None:
        """Dask's done callback (in Dask's callback thread): fetch the outcome."""
        if not self.claim():
            return
        self.set_running_or_notify_cancel()
        try:
            outcome = remote.result()
        except BaseException as exc:
            self.set_exception(exc)
        else:
            self.set_result(outcome)
        finally:
            self.remote = None  # lets Dask release the result on the workers

    def drop(self) -> None:
        """Settle as cancelled (the caller claimed it)."""
        self.cancel()
        self.set_running_or_notify_cancel()
        self.remote = None


class DaskBackend(Backend):
    """A :class:`distributed.Client` behind the backend interface; see the module docstring.

    Args:
        client: A synchronous client of the cluster to run on.
        workers: How many chunks may run at once; ``None`` means the
            cluster's total thread count when the call starts.
    """

    pickles = True

    def __init__(self, client: Client, workers: int | None = None) -> None:
        if getattr(client, "asynchronous", False):
            raise TypeError(
                "backend=<distributed.Client> needs a synchronous client: par_map blocks, "
                "which would stall the event loop of an asynchronous one; run the call in a "
                "thread (asyncio.to_thread) with a client created without asynchronous=True"
            )
        self._client: Any = client  # much of distributed's API is untyped
        address, total, _ = describe(client)
        self.name = f"dask {address}"
        self.workers = workers or max(1, total)
        # Two chunks per worker when the cluster has a thread for each (one
        # running, one queued at the scheduler); with fewer workers than
        # threads, one each, so that no more than `workers` run at once.
        self.window = 2 * self.workers if self.workers >= total else self.workers
        self._call = uuid.uuid4().hex

    def submit(self, task: Task) -> Future[Outcome]:
        try:
            remote = self._client.submit(
                _run_chunk,
                task,
                self._call,
                key=f"fearless-chunk-{self._call}-{task.start}",
                priority=-task.start,
                pure=False,
            )
        except Exception as exc:
            if not _is_pickling_error(exc):
                raise
            root = _root_cause(exc)
            raise TypeError(
                f"cannot send the function or {describe_items(task.start, len(task.items))} "
                f"to the Dask cluster ({type(root).__name__}: {root}): Dask pickles both with "
                "cloudpickle, which sends lambdas and closures but not the locks, open files, "
                "sockets or generators they hold"
            ) from exc
        bridge = _Bridge(remote)
        remote.add_done_callback(bridge.settle)
        return bridge

    def stop(self, futures: list[Future[Outcome]], *, urgent: bool) -> None:
        bridges = [f for f in futures if isinstance(f, _Bridge) and not f.done()]
        if not bridges:
            return
        client = self._client
        if urgent:  # Ctrl-C: return at once; running chunks finish on their workers
            _cancel(client, [b for b in bridges if b.claim()])
            return
        # Every chunk that starts from now on, or reaches its next item,
        # sees the call stopped. Then the chunks no worker has started are
        # cancelled; the caller waits for the others (running, or done and
        # on their way back), which stop before their next item.
        try:
            client.run(_stop_call, self._call, on_error="ignore")
            remotes = [remote for b in bridges if (remote := b.remote) is not None]
            busy = {str(key) for keys in client.processing().values() for key in keys}
            busy.update(str(key) for key, where in client.who_has(remotes).items() if where)
        except Exception:  # the cluster is unreachable: nothing there to wait for
            busy = set()
        _cancel(client, [b for b in bridges if b.key not in busy and b.claim()])

    def explain(
        self, future: Future[Outcome], error: BaseException, task_start: int, task_len: int
    ) -> BaseException:
        items = describe_items(task_start, task_len)
        if type(error).__name__ == "KilledWorker":
            died = WorkerDiedError(
                f"the Dask workers running {items} died, and Dask gave up on the chunk; "
                "a worker also dies when it cannot unpickle a chunk, so check that fearless "
                "and the modules defining your functions are importable there (the workers' "
                "logs say why)"
            )
            died.__cause__ = error
            return died
        return error

    def in_worker(self) -> bool:
        # A chunk that waited for the cluster it runs on could hold the last
        # free thread: nested calls from a Dask task run inline.
        return _in_task()


def _cancel(client: Any, bridges: list[_Bridge]) -> None:
    remotes = [b.remote for b in bridges if b.remote is not None]
    try:
        if remotes:
            client.cancel(remotes)
    finally:
        for bridge in bridges:
            bridge.drop()


def _is_pickling_error(exc: BaseException) -> bool:
    import pickle  # noqa: PLC0415

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, pickle.PicklingError) or "pickle" in str(cause):
            return True
        cause = cause.__cause__
    return "serialize" in str(exc)


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc
