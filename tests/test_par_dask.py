"""par_map and friends on a real Dask cluster: ``backend=distributed.Client``.

The module starts one ``LocalCluster`` on loopback — two worker processes
with one thread each, started by Dask's nannies — and closes it at the end.
Workers import this module to run its functions (cloudpickle sends
module-level functions by reference), so cross-process hand-shakes go
through files in ``tmp_path``, polled with a deadline.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import operator
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip(
    "distributed", reason="the Dask backend needs distributed: pip install fearless[dask]"
)

import dask  # noqa: E402 - only with distributed installed
from distributed import Client  # noqa: E402

from _helpers import TIMEOUT, wait_until  # noqa: E402
from fearless import WorkerDiedError  # noqa: E402
from fearless._par import ParInfo, par_imap, par_info, par_iter, par_map  # noqa: E402
from fearless._par.backends.dask import stop_requested  # noqa: E402

# -- run on the workers (module level, so the workers import them by name) ---------------------


class Boom(Exception):
    pass


def square(x: int) -> int:
    return x * x


def is_even(x: int) -> bool:
    return x % 2 == 0


def singleton(x: int) -> list[int]:
    return [x]


def fail_on_3(x: int) -> int:
    if x == 3:
        raise Boom(f"item {x}")
    return x


def pid_of(_: object) -> int:
    return os.getpid()


def touch(folder: str, name: str) -> None:
    Path(folder, name).touch()


def await_file(folder: str, name: str) -> None:
    """Wait (bounded) until another item, maybe in another process, creates ``name``."""
    path = Path(folder, name)
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"{name} never appeared"
        time.sleep(0.001)


def await_stop(x: int) -> None:
    """Hold item ``x`` (bounded) until its call tells the chunk to stop."""
    deadline = time.monotonic() + TIMEOUT
    while not stop_requested():
        assert time.monotonic() < deadline, f"item {x} was never told to stop"
        time.sleep(0.001)


def fail_late_or_early(folder: str, x: int) -> int:
    """Item 7 fails once item 3 runs; item 3 fails once the call is stopping."""
    if x == 3:
        touch(folder, "3-started")
        await_stop(x)
        time.sleep(0.2)  # the rest of the item's work, which the call waits for
        raise Boom("3")
    if x == 7:
        await_file(folder, "3-started")
        raise Boom("7")
    return x


def fail_5_hold_the_rest(folder: str, x: int) -> int:
    """Item 5 fails once item 0 runs; every other item that starts holds until told to stop."""
    touch(folder, f"started-{x}")
    if x == 5:
        await_file(folder, "started-0")
        raise Boom("5")
    await_stop(x)
    time.sleep(0.2)  # the rest of the item's work, which the call waits for
    touch(folder, f"finished-{x}")
    return x


def alone(folder: str, x: int) -> int:
    """Fails if another item runs at the same moment (anywhere on the cluster)."""
    flag = os.open(Path(folder, "busy"), os.O_CREAT | os.O_EXCL)  # FileExistsError if not alone
    try:
        time.sleep(0.002)  # widen the window a concurrent item would hit (not synchronisation)
        return x
    finally:
        os.close(flag)
        Path(folder, "busy").unlink()


def nested(n: int) -> int:
    # On a worker, a call with the worker's own client runs inline.
    return sum(par_map(square, range(n), backend=distributed.get_client()))


# -- the cluster -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # No retries of a chunk whose worker died: the test for it stays fast.
    # No sampling profiler: it reads other threads' frames, which can crash
    # a free-threaded interpreter (CPython gh-152355); the nannies pass the
    # setting on to the worker processes.
    settings = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # The scheduler serves HTTP even without a dashboard, on port 8787
            # unless told otherwise; another cluster there would make Dask warn.
            scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
            silence_logs=logging.CRITICAL,
        )
    dask_client = distributed.Client(cluster)  # untyped in Dask: Any here
    try:
        dask_client.wait_for_workers(2, timeout=TIMEOUT)
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


def idle(client: Any) -> bool:
    """Whether the scheduler has no task on any worker."""
    return not any(client.processing().values())


def workers_of(client: Any) -> set[str]:
    return set(client.nthreads())


def address(client: Client) -> str:
    return str(client.scheduler_info()["address"])


def files(folder: Path, prefix: str) -> set[int]:
    return {int(p.name.rsplit("-", 1)[1]) for p in folder.glob(f"{prefix}-*")}


# -- results --------------------------------------------------------------------------------------


def test_par_map_runs_on_the_workers_in_input_order(client: Client) -> None:
    assert par_map(square, range(100), backend=client) == [x * x for x in range(100)]
    pids = set(par_map(pid_of, range(8), backend=client, chunksize=1))
    assert pids <= set(client.run(os.getpid).values())
    assert os.getpid() not in pids


def test_lambdas_and_closures_travel_by_value(client: Client) -> None:
    offset = 10
    assert par_map(lambda x: x + offset, [1, 2, 3], backend=client) == [11, 12, 13]


def test_empty_input(client: Client) -> None:
    assert par_map(square, [], backend=client) == []
    assert list(par_imap(square, iter(()), backend=client, ordered=False)) == []
    assert par_iter([]).with_backend(client).sum() == 0
    assert par_iter([]).with_backend(client).min() is None


def test_par_imap_ordered_and_unordered(client: Client) -> None:
    done: list[int] = []
    ordered = par_imap(
        square, iter(range(40)), backend=client, progress=lambda d, _: done.append(d)
    )
    assert list(ordered) == [x * x for x in range(40)]
    assert done[-1] == 40
    unordered = par_imap(square, range(40), backend=client, ordered=False, chunksize=3)
    assert sorted(unordered) == [x * x for x in range(40)]


def test_par_imap_streams_an_endless_input_and_closing_stops_it(client: Client) -> None:
    roots = par_imap(square, itertools.count(), backend=client)
    assert list(itertools.islice(roots, 25)) == [x * x for x in range(25)]
    roots.close()
    wait_until(lambda: idle(client), what="the cluster to be idle")


def test_par_iter_chain_runs_on_the_cluster(client: Client) -> None:
    xs = range(1000)
    it = par_iter(xs).with_backend(client)
    assert it.map(square).filter(is_even).sum() == sum(x * x for x in xs if x % 2 == 0)
    assert it.map(square).count() == 1000
    assert it.map(square).max() == 999 * 999
    assert it.any(lambda x: x == 500)
    assert not it.all(is_even)
    assert it.flat_map(lambda x: [x, -x]).filter(lambda x: x < 0).min() == -999
    # reduce combines the chunks in input order: a non-commutative op keeps it.
    chunked = par_iter(range(30)).with_backend(client).with_chunksize(4)
    assert chunked.map(singleton).reduce(list, operator.add) == list(range(30))


def half_if_even(x: int) -> int | None:
    """rayon's ``Some(x / 2)`` for an even ``x``, ``None`` for an odd one (0 gives a falsy 0)."""
    return x // 2 if x % 2 == 0 else None


def falsy_or_none(x: int) -> object:
    """``None`` or a falsy value: filter_map drops only the ``None``."""
    return (None, 0, "", [], False, 0.0, ())[x % 7]


def half_or_fail_on_3(x: int) -> int | None:
    if x == 3:
        raise Boom(f"item {x}")
    return half_if_even(x)


def test_par_iter_filter_map_on_the_cluster(client: Client) -> None:
    xs = range(100)
    halves = [x // 2 for x in xs if x % 2 == 0]
    it = par_iter(xs).with_backend(client).with_chunksize(7)
    assert it.filter_map(half_if_even).collect() == halves  # in order, 0 kept
    assert par_iter(xs).with_backend(client).filter_map(half_if_even).collect() == halves
    kept = it.filter_map(falsy_or_none).collect()
    expected = [v for v in map(falsy_or_none, xs) if v is not None]
    assert [(type(v), v) for v in kept] == [(type(v), v) for v in expected]
    assert it.map(square).filter_map(half_if_even).filter(is_even).collect() == [
        x * x // 2 for x in xs if x % 2 == 0 and x * x // 2 % 2 == 0
    ]
    assert it.flat_map(singleton).filter_map(half_if_even).max() == 49
    assert it.filter_map(half_if_even).count() == 50
    assert it.filter_map(half_if_even).sum() == sum(halves)
    odd = par_iter(range(1, 20, 2)).with_backend(client)
    assert odd.filter_map(half_if_even).collect() == []
    assert odd.filter_map(half_if_even).sum() == 0
    # A lambda travels by value, as map's does.
    offset = 100
    assert it.filter_map(lambda x: x + offset if x < 3 else None).collect() == [100, 101, 102]


def test_par_iter_filter_map_failure_is_raised_like_map(client: Client) -> None:
    it = par_iter(range(10)).with_backend(client).with_chunksize(2)
    with pytest.raises(Boom, match=r"(?m)^item 3$") as info:
        it.filter_map(half_or_fail_on_3).collect()
    cause = info.value.__cause__
    assert type(cause).__name__ == "_RemoteTraceback"
    assert 'in half_or_fail_on_3\n    raise Boom(f"item {x}")' in str(cause)
    assert info.value.__notes__ == [
        f"raised by input item 3, in a worker process (dask {address(client)})"
    ]
    with pytest.raises(Boom) as mapped:
        it.map(fail_on_3).collect()
    assert mapped.value.__notes__ == info.value.__notes__


def test_an_asynchronous_client_is_refused(client: Client) -> None:
    async def main() -> None:
        async with distributed.Client(address(client), asynchronous=True) as aclient:
            par_map(square, [1], backend=aclient)

    with pytest.raises(TypeError, match=r"^backend=<distributed.Client> needs a synchronous"):
        asyncio.run(main())


def test_nested_calls_on_a_worker_run_inline(client: Client) -> None:
    assert par_map(nested, [3, 4], backend=client) == [5, 14]


# -- failures -------------------------------------------------------------------------------------


def test_failure_is_raised_with_the_remote_traceback(client: Client) -> None:
    with pytest.raises(Boom, match=r"(?m)^item 3$") as info:
        par_map(fail_on_3, range(10), backend=client, chunksize=2)
    cause = info.value.__cause__
    assert type(cause).__name__ == "_RemoteTraceback"
    assert 'in fail_on_3\n    raise Boom(f"item {x}")' in str(cause)
    assert info.value.__notes__ == [
        f"raised by input item 3, in a worker process (dask {address(client)})"
    ]


def test_the_earliest_failure_in_input_order_wins(client: Client, tmp_path: Path) -> None:
    # Item 7 fails first; item 3, running on the other worker, fails only
    # once the call is stopping: the call waits for it and raises item 3's
    # error, as "the earliest in input order among the failures seen".
    fn = functools.partial(fail_late_or_early, str(tmp_path))
    with pytest.raises(Boom, match=r"(?m)^3$") as info:
        par_map(fn, range(10), backend=client, chunksize=5)
    assert info.value.__notes__[0].startswith("raised by input item 3, in a worker process")


def test_failure_stops_running_chunks_and_cancels_the_rest(client: Client, tmp_path: Path) -> None:
    # Four chunks of five; item 5 fails while item 0 runs. Every item that
    # starts holds until the stop reaches its worker, so a chunk can only
    # have started its first item, and the chunk stops right after it.
    fn = functools.partial(fail_5_hold_the_rest, str(tmp_path))
    start = time.monotonic()
    with pytest.raises(Boom, match=r"(?m)^5$"):
        par_map(fn, range(20), backend=client, chunksize=5)
    started, finished = files(tmp_path, "started"), files(tmp_path, "finished")
    # Nothing of the call runs any more: every item that started has finished.
    assert started == finished | {5}
    assert {0, 5} <= started <= {0, 5, 10, 15}
    assert time.monotonic() - start < TIMEOUT
    wait_until(lambda: idle(client), what="the cluster to be idle")
    assert files(tmp_path, "started") == started  # and nothing starts later


def test_unpicklable_work_fails_clearly(client: Client) -> None:
    lock = threading.Lock()
    msg = (
        r"^cannot send the function or item 0 to the Dask cluster "
        r"\(TypeError: cannot pickle '_thread.lock' object\): "
    )
    with pytest.raises(TypeError, match=msg) as info:
        par_map(lambda x: (lock, x)[1], [1], backend=client)
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(TypeError, match=msg):
        par_map(pid_of, [threading.Lock()], backend=client)
    assert idle(client)


# -- workers= and par_info --------------------------------------------------------------------


def chunks_of(client: Client, n: int, **kwargs: Any) -> int:
    """How many chunks a par_map over ``n`` items made (one progress report each)."""
    reports: list[int] = []
    par_map(square, range(n), backend=client, progress=lambda d, _: reports.append(d), **kwargs)
    assert reports[-1] == n
    return len(reports)


def test_workers_defaults_to_the_cluster_threads_and_can_be_overridden(
    client: Client, tmp_path: Path
) -> None:
    # About four chunks per worker: 2 threads in the cluster by default.
    assert chunks_of(client, 16) == 8
    assert chunks_of(client, 16, workers=1) == 4
    assert chunks_of(client, 16, workers=4) == 16
    # workers=1 runs one chunk at a time, though the cluster has two threads.
    fn: Callable[[int], int] = functools.partial(alone, str(tmp_path))
    assert par_map(fn, range(12), backend=client, workers=1, chunksize=1) == list(range(12))


def test_par_info_describes_the_cluster(client: Client) -> None:
    info = par_info(client)
    assert isinstance(info, ParInfo)
    assert (info.auto, info.workers, info.backend) == ("dask", 2, address(client))
    assert str(info) == (
        f"dask at {address(client)} (2 workers): a Dask cluster of 2 workers with 2 threads "
        "in all; chunks run there as Dask tasks, with the function and items pickled by "
        "cloudpickle"
    )
    assert par_info().backend == "auto"
    with pytest.raises(TypeError, match=r"^par_info\(\) describes backend='auto' or a"):
        par_info("threads")  # type: ignore[arg-type]


# -- last: a worker dies (Dask's nanny replaces it) ----------------------------------------------


def test_a_worker_that_dies_raises_worker_died_error(client: Client) -> None:
    msg = r"^the Dask workers running item 0 died, and Dask gave up on the chunk; "
    with pytest.raises(WorkerDiedError, match=msg) as info:
        par_map(os._exit, [3], backend=client)
    killed: Any = info.value.__cause__
    assert type(killed).__name__ == "KilledWorker"
    # The nanny starts a new worker; the cluster runs work again.
    dead = killed.last_worker.address
    wait_until(
        lambda: len(workers := workers_of(client)) == 2 and dead not in workers,
        what="the dead worker to be replaced",
    )
    assert par_map(square, [1, 2, 3], backend=client) == [1, 4, 9]
