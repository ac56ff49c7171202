"""Contract tests for par_map, par_imap, par_iter, join and the pools (DESIGN.md, "parallelism")."""

from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import operator
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _helpers import GIL_ENABLED, TIMEOUT, wait_until
from fearless._errors import (
    BackendUnavailableError,
    FearlessError,
    PoolClosedError,
    WorkerDiedError,
)
from fearless._par import (
    ParInfo,
    ParIter,
    ProcessPool,
    ThreadPool,
    api,
    engine,
    join,
    par_imap,
    par_info,
    par_iter,
    par_map,
    task,
)

# -- picklable helpers (module level, so worker processes can import them) --------------


class Boom(Exception):
    pass


def square(x: int) -> int:
    return x * x


def is_even(x: int) -> bool:
    return x % 2 == 0


def fail_on_3(x: int) -> int:
    if x == 3:
        raise Boom(f"item {x}")
    return x


def die_on_2(x: int) -> int:
    if x == 2:
        os._exit(7)
    return x


def sigkill_on_1(x: int) -> int:
    if x == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def append_to(acc: list[int], x: int) -> list[int]:
    acc.append(x)
    return acc


def pid_of(_: object) -> int:
    return os.getpid()


def block_or_fail(arg: tuple[str, int]) -> int:
    """Item 0 fails once item 1 is running; item 1 blocks (bounded) until killed."""
    path, x = arg
    if x == 1:
        Path(f"{path}.{os.getpid()}").write_text("running")
        time.sleep(TIMEOUT * 2)  # the worker is killed long before
        return x
    deadline = time.monotonic() + TIMEOUT
    while not any(p.name.startswith(Path(path).name + ".") for p in Path(path).parent.iterdir()):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    raise Boom("item 0 failed while item 1 runs")


def make_lock(_: object) -> object:
    return threading.Lock()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def gone(pid: int) -> bool:
    return not pid_alive(pid)


# -- fixtures and helpers --------------------------------------------------------------------


class CountingExecutor(Executor):
    """A thread pool that counts submitted tasks (one task = one round trip)."""

    def __init__(self, workers: int = 2) -> None:
        self._inner = ThreadPoolExecutor(workers)
        self._max_workers = workers
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait, cancel_futures=cancel_futures)


@pytest.fixture
def counting() -> Iterator[CountingExecutor]:
    executor = CountingExecutor()
    yield executor
    executor.shutdown()


BackendName = Literal["threads", "processes"]
BACKENDS: list[BackendName] = ["threads", "processes"]


class Active:
    """Counts items running right now, and the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0

    def run(self, fn: Callable[[int], int]) -> Callable[[int], int]:
        def wrapped(x: int) -> int:
            with self.lock:
                self.now += 1
            try:
                return fn(x)
            finally:
                with self.lock:
                    self.now -= 1

        return wrapped


# -- par_map ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_par_map_keeps_input_order(backend: BackendName) -> None:
    items = list(range(100))
    assert par_map(square, items, backend=backend) == [x * x for x in items]
    assert par_map(square, items, backend=backend, chunksize=7) == [x * x for x in items]
    assert par_map(square, iter(items), backend=backend) == [x * x for x in items]
    assert par_map(square, (x for x in items), backend=backend, workers=1) == [x * x for x in items]


@pytest.mark.parametrize("backend", [*BACKENDS, "auto"])
def test_par_map_of_nothing(backend: Literal["threads", "processes", "auto"]) -> None:
    assert par_map(square, [], backend=backend) == []
    assert par_map(square, iter([]), backend=backend) == []


def plus_one_squared(x: int) -> list[int]:
    return [x + 1, x * x]


@pytest.mark.parametrize(("backend", "examples"), [("threads", 60), ("processes", 12)])
def test_par_iter_chains_match_the_sequential_pipeline(
    backend: Literal["threads", "processes"], examples: int
) -> None:
    @settings(max_examples=examples, deadline=None)
    @given(
        xs=st.lists(st.integers(-1000, 1000), max_size=300),
        chunksize=st.none() | st.integers(1, 64),
        workers=st.integers(1, 3),
    )
    def check(xs: list[int], chunksize: int | None, workers: int) -> None:
        it = par_iter(xs).with_backend(backend).with_workers(workers)
        if chunksize is not None:
            it = it.with_chunksize(chunksize)
        assert it.map(square).filter(is_even).collect() == [
            square(x) for x in xs if is_even(square(x))
        ]
        assert it.flat_map(plus_one_squared).sum() == sum(
            y for x in xs for y in plus_one_squared(x)
        )
        assert it.filter(is_even).count() == sum(1 for x in xs if is_even(x))
        assert it.filter_map(half_if_even).collect() == sequential_filter_map(half_if_even, xs)
        assert it.map(square).filter_map(half_if_even).count() == len(
            sequential_filter_map(half_if_even, map(square, xs))
        )
        assert par_map(square, xs, workers=workers, chunksize=chunksize, backend=backend) == [
            square(x) for x in xs
        ]
        unordered = par_imap(
            square, xs, workers=workers, chunksize=chunksize, backend=backend, ordered=False
        )
        assert sorted(unordered) == sorted(square(x) for x in xs)

    check()


def test_par_map_on_any_executor_and_pools() -> None:
    with ThreadPoolExecutor(3) as executor:
        assert par_map(str, range(10), backend=executor) == [str(x) for x in range(10)]
    with ThreadPool(2) as tpool:
        assert tpool.par_map(square, range(5)) == [0, 1, 4, 9, 16]
        assert par_map(square, range(5), backend=tpool) == [0, 1, 4, 9, 16]
        assert tpool.workers == 2
    with ProcessPool(1) as ppool:
        assert ppool.par_map(square, range(5)) == [0, 1, 4, 9, 16]
        assert par_map(pid_of, [1], backend=ppool) != [os.getpid()]


def test_threads_run_in_parallel() -> None:
    # Two items meet at a barrier: a backend that serialised them would time out.
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    assert par_map(lambda _: barrier.wait(), [0, 1], backend="threads", workers=2) in (
        [0, 1],
        [1, 0],
    )


def test_processes_run_in_other_processes() -> None:
    pids = par_map(pid_of, range(4), backend="processes", chunksize=1)
    assert os.getpid() not in pids


def test_workers_bounds_concurrency() -> None:
    active = Active()
    peak = [0]

    def watch(x: int) -> int:
        with active.lock:
            peak[0] = max(peak[0], active.now)
        return x

    assert par_map(active.run(watch), range(50), backend="threads", workers=1, chunksize=1) == list(
        range(50)
    )
    assert peak[0] == 1


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"^workers must be a positive int or None, got 0$"):
        par_map(square, [1], workers=0)
    with pytest.raises(ValueError, match=r"^chunksize must be a positive int or None, got 0$"):
        par_map(square, [1], chunksize=0)
    with pytest.raises(ValueError, match=r"^backend must be 'auto', 'threads', 'processes'"):
        par_map(square, [1], backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^backend must be"):
        par_map(square, [1], backend=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^expected a callable to apply to each item, got int$"):
        par_map(42, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^progress must be a bool or a callable"):
        par_map(square, [1], progress="yes")  # type: ignore[arg-type]


# -- chunking ----------------------------------------------------------------------------------


def test_automatic_chunks_are_about_four_per_worker(counting: CountingExecutor) -> None:
    assert par_map(abs, range(200_000), backend=counting) == list(range(200_000))
    assert counting.submitted == 8  # 2 workers x 4 chunks, not 200,000 round trips


def test_chunksize_is_respected(counting: CountingExecutor) -> None:
    assert par_map(abs, range(10), backend=counting, chunksize=3) == list(range(10))
    assert counting.submitted == 4


def test_unsized_inputs_grow_their_chunks(counting: CountingExecutor) -> None:
    assert par_map(abs, iter(range(100_000)), backend=counting) == list(range(100_000))
    assert 1 < counting.submitted < 1000  # starts at 1 item, grows to milliseconds' worth


# -- par_imap ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_par_imap_streams_an_endless_input(backend: BackendName) -> None:
    pulled = [0]

    def naturals() -> Iterator[int]:
        for n in itertools.count():
            pulled[0] += 1
            yield n

    results = par_imap(square, naturals(), backend=backend, workers=2, chunksize=2)
    assert pulled[0] == 0  # lazy: nothing starts before the first next()
    first = list(itertools.islice(results, 10))
    assert first == [x * x for x in range(10)]
    # At most a window of chunks in flight (2 per worker for processes, 1 for
    # threads), and a few windows of finished chunks waiting for an earlier
    # one: of 2 items each, beyond the 10 handed out.
    window = 2 * 2
    assert pulled[0] <= 10 + 2 * window * engine.READY_WINDOWS
    results.close()


def test_par_imap_unordered_yields_everything() -> None:
    assert sorted(par_imap(square, range(50), ordered=False, backend="threads", chunksize=3)) == [
        x * x for x in range(50)
    ]


def test_par_imap_unordered_does_not_wait_for_a_slow_head() -> None:
    release = threading.Event()

    def slow_head(x: int) -> int:
        if x == 0:
            assert release.wait(TIMEOUT)
        return x

    results = par_imap(
        slow_head, range(4), ordered=False, backend="threads", workers=2, chunksize=1
    )
    got = [next(results) for _ in range(3)]  # item 0 is still blocked
    assert sorted(got) == [1, 2, 3]
    release.set()
    assert list(results) == [0]


def test_closing_par_imap_leaves_nothing_running() -> None:
    active = Active()
    release = threading.Event()

    def work(x: int) -> int:
        if x > 0:
            assert release.wait(TIMEOUT)
        return x

    results = par_imap(active.run(work), range(100), backend="threads", workers=2, chunksize=1)
    assert next(results) == 0
    threading.Timer(0.0, release.set).start()
    results.close()
    assert active.now == 0


# -- failures ----------------------------------------------------------------------------------


def test_failure_is_raised_with_the_worker_traceback_on_threads() -> None:
    with pytest.raises(Boom, match=r"(?m)^item 3$") as info:
        par_map(fail_on_3, range(10), backend="threads", chunksize=1)
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert names[-1] == "fail_on_3"
    assert info.value.__notes__ == ["raised by input item 3, in a worker thread (threads)"]


def test_failure_is_raised_with_a_remote_traceback_on_processes() -> None:
    with pytest.raises(Boom, match=r"(?m)^item 3$") as info:
        par_map(fail_on_3, range(10), backend="processes", chunksize=2)
    cause = info.value.__cause__
    assert type(cause).__name__ == "_RemoteTraceback"
    assert 'in fail_on_3\n    raise Boom(f"item {x}")' in str(cause)
    assert info.value.__notes__ == ["raised by input item 3, in a worker process (processes)"]


def test_earliest_failure_among_those_seen_wins() -> None:
    # Item 7 fails first; item 3 fails while the call is stopping: 3 is raised.
    three_started = threading.Event()
    seven_failed = threading.Event()

    def fn(x: int) -> int:
        if x == 7:
            assert three_started.wait(TIMEOUT)
            seven_failed.set()
            raise Boom("7")
        if x == 3:
            three_started.set()
            assert seven_failed.wait(TIMEOUT)
            raise Boom("3")
        return x

    with pytest.raises(Boom, match=r"(?m)^3$"):
        par_map(fn, range(10), backend="threads", workers=2, chunksize=5)


def test_a_later_failure_is_raised_when_earlier_items_succeed() -> None:
    def fn(x: int) -> int:
        if x == 7:
            raise Boom("7")
        return x

    with pytest.raises(Boom, match=r"(?m)^7$"):
        par_map(fn, range(10), backend="threads", workers=2, chunksize=5)


def test_failure_cancels_the_rest_and_leaves_no_thread_task_running() -> None:
    active = Active()
    ran: list[int] = []

    def fn(x: int) -> int:
        ran.append(x)
        if x == 0:
            raise Boom("first")
        return x

    with pytest.raises(Boom):
        par_map(active.run(fn), range(10_000), backend="threads", workers=2, chunksize=1)
    assert active.now == 0
    assert len(ran) < 100  # cancelled, not run to the end


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 3000),
    data=st.data(),
    chunksize=st.integers(1, 5000),
    stage=st.sampled_from(["map", "filter", "flat_map", "sum"]),
)
def test_a_failure_inside_a_big_chunk_names_its_item(
    size: int, data: st.DataObject, chunksize: int, stage: str
) -> None:
    # A chunk run in this process goes through its pipeline in rounds of
    # growing size; the failing item is still the one named.
    bad = data.draw(st.integers(0, size - 1), label="bad")

    def check(x: int) -> int:
        if x == bad:
            raise Boom(f"item {x}")
        return x

    it = par_iter(range(size)).with_backend("threads").with_chunksize(chunksize)
    with pytest.raises(Boom) as info:
        if stage == "map":
            it.map(check).collect()
        elif stage == "filter":
            it.filter(lambda x: check(x) >= 0).collect()
        elif stage == "flat_map":
            it.flat_map(lambda x: [check(x)]).count()
        else:
            it.map(check).sum()
    assert info.value.__notes__ == [f"raised by input item {bad}, in a worker thread (threads)"]


def test_a_cancelled_chunk_stops_within_a_round_not_at_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled = threading.Event()

    class WatchedToken(task.Token):
        __slots__ = ()

        def __setattr__(self, name: str, value: object) -> None:
            super().__setattr__(name, value)
            if name == "cancelled" and value:
                cancelled.set()

    monkeypatch.setattr(engine, "Token", WatchedToken)
    second_started = threading.Event()
    ran: list[int] = []

    def fn(x: int) -> int:
        if x == 0:  # the first chunk fails once the second runs
            assert second_started.wait(TIMEOUT)
            raise Boom("first chunk")
        if x >= 1000:
            ran.append(x)
            second_started.set()
            if x == 1001:  # then the second chunk waits to be cancelled
                assert cancelled.wait(TIMEOUT)
        return x

    with pytest.raises(Boom, match="first chunk"):
        par_map(fn, range(2000), backend="threads", workers=2, chunksize=1000)
    assert cancelled.is_set()
    assert 2 <= len(ran) < 10, ran  # stopped within a round: not all 1,000 items


def test_failure_kills_running_worker_processes(tmp_path: Path) -> None:
    stem = str(tmp_path / "running")
    start = time.monotonic()
    with pytest.raises(Boom, match=r"(?m)^item 0 failed while item 1 runs$"):
        par_map(block_or_fail, [(stem, 0), (stem, 1)], backend="processes", workers=2, chunksize=1)
    assert time.monotonic() - start < TIMEOUT  # did not wait for item 1's sleep
    (marker,) = tmp_path.iterdir()
    pid = int(marker.name.rsplit(".", 1)[1])
    wait_until(lambda: not pid_alive(pid), what="the running worker to be gone")
    assert par_map(square, [1, 2], backend="processes") == [1, 4]  # the pool recovers


def test_failure_of_the_input_iterator_stops_the_call() -> None:
    active = Active()

    def items() -> Iterator[int]:
        yield from range(5)
        raise Boom("input")

    with pytest.raises(Boom, match=r"^input$"):
        par_map(active.run(square), items(), backend="threads", chunksize=1)
    assert active.now == 0


def test_unpicklable_results_and_items_fail_clearly_on_processes() -> None:
    with pytest.raises(TypeError, match=r"(?m)^cannot pickle '_thread.lock' object$") as info:
        par_map(make_lock, range(4), backend="processes", chunksize=4)
    assert info.value.__notes__ == ["raised while running items 0..3 (processes)"]
    with pytest.raises(TypeError, match=r"(?m)^cannot pickle '_thread.lock' object$"):
        par_map(pid_of, [threading.Lock()], backend="processes")
    assert par_map(square, [3], backend="processes") == [9]


def test_processes_stream_unordered_with_progress() -> None:
    seen: list[int] = []
    got = par_imap(
        square,
        iter(range(20)),
        ordered=False,
        backend="processes",
        chunksize=3,
        progress=lambda done, total: seen.append(done),
    )
    assert sorted(got) == [x * x for x in range(20)]
    assert seen[-1] == 20


def test_a_dead_worker_names_its_item_and_the_pool_recovers() -> None:
    msg = (
        r"^a worker process died \(exit code 7\) while running item 2; "
        r"the pool starts new workers on next use$"
    )
    with pytest.raises(WorkerDiedError, match=msg) as info:
        par_map(die_on_2, range(6), backend="processes", chunksize=1)
    assert isinstance(info.value, FearlessError)
    assert par_map(square, range(4), backend="processes") == [0, 1, 4, 9]


def test_a_pool_broken_just_before_a_submit_names_the_dead_workers_item() -> None:
    # A worker can die between the backend's look at its pool and the next
    # submit: the pool then refuses the task (BrokenProcessPool). Seen once
    # under load as a raw BrokenProcessPool out of par_map. The refused task
    # now fails like the pool's own, so the caller gets WorkerDiedError.
    from concurrent.futures import BrokenExecutor

    from fearless._par.backends.processes import ProcessesBackend
    from fearless._par.task import Pipeline, Stage, Task, Terminal, Token

    backend = ProcessesBackend(1)
    try:
        pipeline = Pipeline(((Stage.MAP, die_on_2, None),), Terminal.COLLECT)
        dying = backend.submit(Task(pipeline, 2, [2], Token()))
        error = dying.exception(timeout=TIMEOUT)
        assert isinstance(error, BrokenExecutor)
        broken = backend._executor  # broken, and not replaced: _current() is skipped
        assert broken is not None
        backend._current = lambda: broken  # type: ignore[method-assign]
        refused = backend.submit(Task(pipeline, 3, [3], Token()))
        late = refused.exception(timeout=0)
        assert isinstance(late, BrokenExecutor)
        died = backend.explain(refused, late, 3, 1)
        assert isinstance(died, WorkerDiedError)
        assert str(died) == (
            "a worker process died (exit code 7) while running item 2; "
            "the pool starts new workers on next use"
        )
    finally:
        del backend._current
        backend.shutdown()


def test_a_sigkilled_worker_names_its_item() -> None:
    msg = r"^a worker process died \(exit code -9\) while running item 1; "
    with ProcessPool(2) as pool, pytest.raises(WorkerDiedError, match=msg):
        pool.par_map(sigkill_on_1, range(4), chunksize=1)


SIGINT_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading, time
    from pathlib import Path
    from fearless._par import par_map

    def block(x):
        Path(sys.argv[1], f"{os.getpid()}-{threading.get_ident()}").write_text("running")
        time.sleep(120)  # a worker process is killed long before
        return x

    lock = threading.Lock()
    active = [0]

    def short(x):
        with lock:
            active[0] += 1
        Path(sys.argv[1], f"{os.getpid()}-{threading.get_ident()}").write_text("running")
        time.sleep(0.05)  # 10,000 of them would take minutes
        with lock:
            active[0] -= 1
        return x

    if __name__ == "__main__":
        backend = sys.argv[2]
        fn, items = (block, [0, 1]) if backend == "processes" else (short, range(10_000))
        try:
            par_map(fn, items, backend=backend, workers=2, chunksize=1)
        except KeyboardInterrupt:
            print("interrupted, items still running:", active[0], flush=True)
            sys.exit(3)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_returns_at_once_and_leaves_no_orphan_processes(
    tmp_path: Path, backend: BackendName
) -> None:
    script = tmp_path / "interrupt_me.py"
    script.write_text(SIGINT_SCRIPT)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(marks), backend],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def marked() -> set[int]:
        return {int(p.name.split("-")[0]) for p in marks.iterdir()}

    try:
        wait_until(lambda: len(list(marks.iterdir())) >= 2, what="two items running")
        pids = marked()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            # Workers left behind hold the program's output pipes: reading
            # them to the end would never end while they live.
            for pid in marked() - {proc.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 3, err
    assert out == "interrupted, items still running: 0\n"
    pids.discard(proc.pid)
    for pid in pids:
        wait_until(partial(gone, pid), what=f"worker {pid} to be gone")


# -- backends ----------------------------------------------------------------------------------


def test_auto_follows_the_gil() -> None:
    info = par_info()
    assert isinstance(info, ParInfo)
    assert info.gil_enabled == GIL_ENABLED
    pids = par_map(pid_of, range(4), chunksize=1)
    if GIL_ENABLED:
        assert info.auto == "processes"
        assert os.getpid() not in pids
        assert re.match(r"^auto -> processes \(\d+ workers\): the GIL is enabled", str(info))
    else:
        assert info.auto == "threads"
        assert set(pids) == {os.getpid()}
        assert re.match(r"^auto -> threads \(\d+ workers\): the GIL is disabled", str(info))


def test_auto_falls_back_to_threads_for_unpicklable_work() -> None:
    here = os.getpid()
    assert par_map(lambda _: os.getpid(), range(4)) == [here] * 4
    unpicklable = threading.Lock()
    assert par_map(pid_of, [unpicklable]) == [here]


def test_interpreters_backend_or_a_clear_error() -> None:
    if sys.version_info >= (3, 14):  # pragma: no cover - no 3.14 here yet
        assert par_map(square, range(10), backend="interpreters") == [x * x for x in range(10)]
        return
    version = re.escape(sys.version.split()[0])
    msg = (
        r"^the 'interpreters' backend needs Python 3\.14 or later "
        rf"\(concurrent\.futures\.InterpreterPoolExecutor\); this is Python {version}: "
        r"use backend='processes' or backend='threads'$"
    )
    with pytest.raises(BackendUnavailableError, match=msg):
        par_map(square, [1], backend="interpreters")


def test_nested_calls_from_a_pool_worker_do_not_deadlock() -> None:
    with ThreadPool(1) as pool:
        inner = pool.par_map(lambda x: sum(pool.par_map(square, range(x))), range(5))
    assert inner == [sum(y * y for y in range(x)) for x in range(5)]


# -- progress ----------------------------------------------------------------------------------


def test_progress_callback_sees_every_item() -> None:
    seen: list[tuple[int, int | None]] = []
    par_map(
        square, range(10), backend="threads", chunksize=3, progress=lambda d, t: seen.append((d, t))
    )
    assert [t for _, t in seen] == [10] * 4
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert done[-1] == 10
    seen.clear()
    par_map(
        square,
        iter(range(5)),
        backend="threads",
        chunksize=2,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (5, None)


def test_progress_bar_without_tqdm_goes_to_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    par_map(square, range(4), backend="threads", chunksize=2, progress=True)
    err = capsys.readouterr().err
    assert err.endswith("\r[" + "#" * 30 + "] 4/4\n")
    assert "\r[" + "." * 30 + "] 0/4" in err


def test_progress_bar_uses_tqdm_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[object] = []

    class FakeBar:
        def __init__(self, total: int | None, unit: str) -> None:
            events.append(("open", total, unit))

        def update(self, n: int) -> None:
            events.append(n)

        def close(self) -> None:
            events.append("close")

    fake = types.ModuleType("tqdm")
    fake.tqdm = FakeBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", fake)
    par_map(square, range(4), backend="threads", chunksize=2, progress=True)
    assert events == [("open", 4, "item"), 2, 2, "close"]


def test_progress_bar_draws_with_the_real_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    tqdm = pytest.importorskip("tqdm", reason="needs tqdm: pip install fearless[progress]")
    par_map(square, range(8), backend="threads", chunksize=2, progress=True)
    err = capsys.readouterr().err
    # tqdm draws the empty bar at once and the full one when the call ends.
    assert re.match(r"\r +0%\| +\| 0/8 \[00:00<\?, \?item/s\]", err), err
    assert re.search(r"\r100%\|\S+\| 8/8 \[\d\d:\d\d<00:00, +[\d.]+item/s\]\n$", err), err
    assert not tqdm.tqdm._instances  # the bar was closed


# -- par_iter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_par_iter_adapters_and_terminals(backend: BackendName) -> None:
    def it() -> ParIter[int]:
        return par_iter(range(20)).with_backend(backend).with_chunksize(3)

    assert it().map(square).filter(is_even).collect() == [x * x for x in range(20) if x % 2 == 0]
    assert it().flat_map(range).count() == sum(range(20))
    assert it().map(str).collect() == [str(x) for x in range(20)]
    assert it().sum() == 190
    assert it().min() == 0
    assert it().max() == 19
    assert it().count() == 20
    assert it().reduce(int, operator.add) == 190
    assert it().fold(list, append_to).map(len).collect() == [3, 3, 3, 3, 3, 3, 2]
    assert it().any(is_even) is True
    assert it().map(square).all(is_even) is False
    assert it().filter(is_even).all(is_even) is True
    assert par_iter([]).with_backend(backend).min() is None
    assert par_iter([]).with_backend(backend).sum() == 0


def test_par_iter_chain_runs_one_pass_per_chunk(counting: CountingExecutor) -> None:
    result = (
        par_iter(range(10))
        .with_backend(counting)
        .with_chunksize(2)
        .map(square)
        .filter(is_even)
        .map(str)
        .flat_map(list)
        .collect()
    )
    assert result == list("04163664")
    assert counting.submitted == 5  # one task per chunk, whatever the chain's length


def test_par_iter_for_each_runs_on_the_workers() -> None:
    threads: set[int] = set()
    lock = threading.Lock()

    def record(_: int) -> None:
        with lock:
            threads.add(threading.get_ident())

    par_iter(range(10)).with_backend("threads").with_chunksize(1).for_each(record)
    assert threading.get_ident() not in threads


def test_par_iter_any_stops_an_endless_input() -> None:
    assert par_iter(itertools.count()).with_backend("threads").any(lambda x: x > 1000) is True
    assert par_iter(itertools.count()).with_backend("threads").all(lambda x: x < 1000) is False


def test_par_iter_with_workers_and_repr() -> None:
    it = par_iter([3, 1, 2]).with_workers(1).map(square).filter(bool)
    assert it.collect() == [9, 1, 4]
    assert repr(it) == "<ParIter par_iter(...).map(...).filter(...) backend='auto'>"


def test_par_iter_failure_names_the_source_item() -> None:
    with pytest.raises(Boom) as info:
        par_iter(range(10)).map(fail_on_3).with_backend("threads").with_chunksize(4).sum()
    assert info.value.__notes__ == ["raised by input item 3, in a worker thread (threads)"]


def test_par_iter_reduce_with_a_non_commutative_op_keeps_order() -> None:
    words = [str(x) for x in range(30)]
    assert par_iter(words).with_chunksize(4).reduce(str, operator.add) == "".join(words)


# -- par_iter.filter_map ---------------------------------------------------------------------------


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


def pid_if_odd(x: int) -> int | None:
    return os.getpid() if x % 2 else None


FilterMapBackend = Literal["threads", "processes", "executor", "interpreters"]
#: Every backend a process of its own can run (Dask: tests/test_par_dask.py).
FILTER_MAP_BACKENDS: list[FilterMapBackend] = ["threads", "processes", "executor", "interpreters"]
HAS_INTERPRETERS = sys.version_info >= (3, 14)


@contextlib.contextmanager
def backend_named(name: FilterMapBackend) -> Iterator[Any]:
    """The ``backend=`` argument for ``name``; ``"executor"`` is a ThreadPoolExecutor."""
    if name == "executor":
        with ThreadPoolExecutor(2) as executor:
            yield executor
    else:
        yield name


def sequential_filter_map(f: Callable[[Any], Any], xs: Iterable[Any]) -> list[Any]:
    return [y for y in map(f, xs) if y is not None]


@pytest.mark.parametrize("name", FILTER_MAP_BACKENDS)
def test_par_iter_filter_map_on_every_backend(name: FilterMapBackend) -> None:
    xs = list(range(40))
    odd = list(range(1, 40, 2))
    halves = sequential_filter_map(half_if_even, xs)
    assert halves == list(range(20))  # 0 included: only None is dropped
    with backend_named(name) as backend:

        def it(items: list[int] = xs) -> ParIter[int]:
            return par_iter(items).with_backend(backend).with_chunksize(3)

        if name == "interpreters" and not HAS_INTERPRETERS:
            with pytest.raises(BackendUnavailableError, match=r"^the 'interpreters' backend"):
                it().filter_map(half_if_even).collect()
            return
        # Input order kept, Nones dropped, with chunks of 3 and automatic ones.
        assert it().filter_map(half_if_even).collect() == halves
        assert par_iter(xs).with_backend(backend).filter_map(half_if_even).collect() == halves
        # Falsy results are kept (unlike map(f).filter(bool)): same values, same types.
        kept = it().filter_map(falsy_or_none).collect()
        expected = sequential_filter_map(falsy_or_none, xs)
        assert [(type(v), v) for v in kept] == [(type(v), v) for v in expected]
        assert len(kept) == 40 - len(range(0, 40, 7))
        # Chained with the other adapters, in any position.
        assert it().map(square).filter_map(half_if_even).collect() == sequential_filter_map(
            half_if_even, map(square, xs)
        )
        assert it().filter_map(half_if_even).filter(is_even).map(square).collect() == [
            h * h for h in halves if h % 2 == 0
        ]
        assert it().flat_map(plus_one_squared).filter_map(half_if_even).sum() == sum(
            sequential_filter_map(half_if_even, (y for x in xs for y in plus_one_squared(x)))
        )
        assert it().filter_map(half_if_even).filter_map(half_if_even).collect() == list(range(10))
        # Terminals.
        assert it().filter_map(half_if_even).count() == 20
        assert it().filter_map(half_if_even).sum() == sum(halves)
        assert it().filter_map(half_if_even).min() == 0
        assert it().filter_map(half_if_even).max() == 19
        assert it().filter_map(half_if_even).reduce(int, operator.add) == sum(halves)
        assert it().filter_map(half_if_even).any(is_even) is True
        # Nothing kept, nothing at all.
        assert it(odd).filter_map(half_if_even).collect() == []
        assert it(odd).filter_map(half_if_even).count() == 0
        assert it(odd).filter_map(half_if_even).sum() == 0
        assert it(odd).filter_map(half_if_even).min() is None
        assert it([]).filter_map(half_if_even).collect() == []


@pytest.mark.parametrize(
    "name", [n for n in FILTER_MAP_BACKENDS if n != "interpreters" or HAS_INTERPRETERS]
)
def test_par_iter_filter_map_raises_like_map(name: FilterMapBackend) -> None:
    def failure(stage: Callable[[ParIter[int]], ParIter[int]], backend: Any) -> Boom:
        with pytest.raises(Boom, match=r"(?m)^item 3$") as info:
            stage(par_iter(range(10)).with_backend(backend).with_chunksize(2)).collect()
        return info.value

    with backend_named(name) as backend:
        mapped = failure(lambda it: it.map(fail_on_3), backend)
        filtered = failure(lambda it: it.filter_map(half_or_fail_on_3), backend)
    assert filtered.__notes__ == mapped.__notes__
    assert filtered.__notes__[0].startswith("raised by input item 3, in a worker ")
    if name == "threads":
        assert filtered.__notes__ == ["raised by input item 3, in a worker thread (threads)"]
    if name == "processes":
        assert filtered.__notes__ == ["raised by input item 3, in a worker process (processes)"]
        assert type(filtered.__cause__).__name__ == "_RemoteTraceback"
        assert 'in half_or_fail_on_3\n    raise Boom(f"item {x}")' in str(filtered.__cause__)
    else:
        names = [frame.name for frame in traceback.extract_tb(filtered.__traceback__)]
        assert names[-1] == "half_or_fail_on_3"


def test_par_iter_filter_map_follows_auto_like_map() -> None:
    here = os.getpid()
    pids = par_iter(range(8)).with_chunksize(1).filter_map(pid_if_odd).collect()
    assert len(pids) == 4
    if GIL_ENABLED:  # worker processes, for a function they can import
        assert here not in pids
    else:
        assert set(pids) == {here}
    # A lambda cannot be pickled: threads of this process, as with map.
    found = par_iter(range(4)).filter_map(lambda x: os.getpid() if x else None).collect()
    assert found == [here] * 3


def test_par_iter_filter_map_repr_and_arguments() -> None:
    it = par_iter([3, 1, 2]).map(square).filter_map(half_if_even).filter(bool)
    assert it.collect() == [2]
    assert repr(it) == "<ParIter par_iter(...).map(...).filter_map(...).filter(...) backend='auto'>"
    threads = par_iter([1]).with_backend("threads").filter_map(half_if_even)
    assert repr(threads) == "<ParIter par_iter(...).filter_map(...) backend='threads'>"
    for bad in (None, 3, "half_if_even"):
        with pytest.raises(TypeError, match=r"^par_iter adapters take callables$"):
            par_iter([1]).filter_map(bad)  # type: ignore[arg-type]


# -- join ----------------------------------------------------------------------------------


def test_join_runs_both_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    a, b = join(lambda: ("a", barrier.wait()), lambda: ("b", barrier.wait()))
    assert (a[0], b[0]) == ("a", "b")


def test_join_failures() -> None:
    b_done = threading.Event()

    def slow_b() -> int:
        b_done.set()
        return 2

    with pytest.raises(Boom, match=r"^a$"):
        join(lambda: (_ for _ in ()).throw(Boom("a")), slow_b)
    assert b_done.is_set()  # fb finished before join raised


def test_join_fails_b_alone() -> None:
    def fb() -> int:
        raise Boom("b")

    with pytest.raises(Boom, match=r"(?m)^b$"):
        join(lambda: 1, fb)


def test_nested_joins_do_not_deadlock() -> None:
    def total(lo: int, hi: int) -> int:
        if hi - lo <= 4:
            return sum(range(lo, hi))
        mid = (lo + hi) // 2
        a, b = join(lambda: total(lo, mid), lambda: total(mid, hi))
        return a + b

    assert total(0, 1000) == sum(range(1000))


# -- pools ----------------------------------------------------------------------------------


def pool_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("fearless-pool"))


def test_thread_pool_is_closed_by_with_and_refuses_work_afterwards() -> None:
    before = pool_threads()
    with ThreadPool(3) as pool:
        assert pool.par_map(square, range(30), chunksize=1) == [x * x for x in range(30)]
        assert pool.join(lambda: 1, lambda: 2) == (1, 2)
        assert repr(pool) == "<ThreadPool workers=3>"
    assert pool_threads() == before
    assert repr(pool) == "<ThreadPool workers=3 (closed)>"
    msg = r"^this pool was closed; create a new pool to run more work$"
    with pytest.raises(PoolClosedError, match=msg):
        pool.par_map(square, [1])
    with pytest.raises(PoolClosedError, match=msg):
        par_map(square, [1], backend=pool)
    with pytest.raises(PoolClosedError, match=msg):
        pool.join(lambda: 1, lambda: 2)
    pool.close()  # idempotent


def test_process_pool_close_ends_its_processes() -> None:
    with ProcessPool(2) as pool:
        pids = set(pool.par_map(pid_of, range(8), chunksize=1))
        assert os.getpid() not in pids
        assert list(pool.par_imap(square, range(5))) == [0, 1, 4, 9, 16]
        assert pool.par_iter(range(5)).map(square).sum() == 30
    for pid in pids:
        wait_until(partial(gone, pid), what=f"worker {pid} to end")


def test_install_makes_a_pool_the_default() -> None:
    with ThreadPool(2) as pool:

        def names() -> list[str]:
            return par_map(lambda _: threading.current_thread().name, range(4), chunksize=1)

        assert all(name.startswith("fearless-pool") for name in pool.install(names))
        assert pool.install(lambda: join(lambda: 1, lambda: threading.current_thread().name))[
            1
        ].startswith("fearless-pool")


def test_shared_pool_is_reused_across_calls() -> None:
    par_map(square, [1, 2], backend="threads")
    threads = {t.ident for t in threading.enumerate()}
    for _ in range(20):
        par_map(square, [1, 2], backend="threads")
    assert {t.ident for t in threading.enumerate()} == threads


def test_worker_process_flag_is_off_here() -> None:
    assert task.worker.in_process is False
    assert math.isqrt(16) == 4


def test_a_result_handed_out_frees_its_place_in_the_window_at_once() -> None:
    # workers=2 keeps at most two chunks in flight. Once item 0's result is
    # handed out, item 2 must start while item 1 still runs; item 1 waits
    # for that, so a window refilled only after item 1 would fail here.
    item_2_started = threading.Event()

    def work(x: int) -> int:
        if x == 1:
            assert item_2_started.wait(TIMEOUT), "item 2 never started while item 1 ran"
        if x == 2:
            item_2_started.set()
        return x

    assert par_map(work, [0, 1, 2], workers=2, chunksize=1, backend="threads") == [0, 1, 2]


def test_a_chunk_finished_out_of_order_does_not_idle_its_worker() -> None:
    # workers=2: item 1 finishes while item 0 still runs. Its result waits
    # for item 0's, but its worker must take item 2 meanwhile; item 0 waits
    # for that, so counting waiting results as chunks in flight fails here.
    item_2_started = threading.Event()

    def work(x: int) -> int:
        if x == 0:
            assert item_2_started.wait(TIMEOUT), "item 2 never started while item 0 ran"
        if x == 2:
            item_2_started.set()
        return x

    assert par_map(work, [0, 1, 2], workers=2, chunksize=1, backend="threads") == [0, 1, 2]


def test_results_waiting_for_a_slow_chunk_are_bounded() -> None:
    # An endless input whose first item is slow: later chunks finish and
    # wait for it, but only a bounded number of them (4 windows of 2).
    started: list[int] = []
    lock = threading.Lock()

    def work(x: int) -> int:
        with lock:
            started.append(x)
        if x == 0:
            wait_until(lambda: len(started) >= 8, what="seven later items to finish")
        return x

    results = par_imap(work, itertools.count(), workers=2, chunksize=1, backend="threads")
    assert next(results) == 0
    results.close()
    assert sorted(started)[:8] == list(range(8))
    assert len(started) <= 16, f"{len(started)} items started while item 0 ran"


def _hold_block(source: str) -> list[str]:
    """The lines of the inlined Ctrl-C hold in ``source``, indentation removed."""
    lines = [line.strip() for line in source.splitlines()]
    first = lines.index("displaced = set_signal(SIGINT, interrupts.record)") - 1
    last = lines.index("interrupts.took(displaced, raised)")
    return lines[first : last + 1]


def test_join_holds_ctrl_c_with_the_same_code_as_the_engine() -> None:
    # fearless._par.api._join holds an inlined copy of the engine's hold (it
    # cannot be a function: calling one lets an interrupt in): keep in step.
    engine_block = _hold_block(inspect.getsource(engine._execute))
    assert len(engine_block) == 8
    assert _hold_block(inspect.getsource(api._join)) == engine_block
