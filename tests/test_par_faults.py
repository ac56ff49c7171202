"""Faults and hostile input against par_map and the pools (issue 12).

- A caller killed (SIGTERM, SIGKILL) in the middle of a ``"processes"`` call
  leaves no process behind: workers, fork server, resource tracker.
- ``workers`` and ``chunksize`` are checked up front at every entry point,
  with errors that name the parameter.
- Ctrl-C while a thread-backend call blocks leaves no worker running.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import operator
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from _helpers import STRESS, TIMEOUT, run_python
from fearless._par import ParIter, ProcessPool, ThreadPool, par_imap, par_iter, par_map
from fearless._par.backends import processes as _par_processes
from fearless._par.backends.processes import ProcessesBackend

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process states from /proc"
)

#: How long the processes of a killed caller may take to go away.
GONE_WITHIN = 10.0

# -- a killed caller leaves nothing behind --------------------------------------------------

KILL_ME = textwrap.dedent(
    """
    import os, sys, time, warnings
    from fearless._par import ProcessPool, par_map

    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+

    def block(x):
        os.write(1, f"running {os.getpid()}\\n".encode())  # one write: atomic on a pipe
        time.sleep(300)  # the test kills the caller long before
        return x

    if __name__ == "__main__":
        start_method = sys.argv[1]
        if start_method == "default":
            par_map(block, range(4), backend="processes", workers=2, chunksize=1)
        else:
            with ProcessPool(2, start_method=start_method) as pool:
                pool.par_map(block, range(4), chunksize=1)
    """
)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _descendants(root: int) -> dict[int, str]:
    """Every living descendant of ``root``, pid -> start time (to tell a reused pid)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or fields[0] in ("Z", "X"):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        started[int(entry.name)] = fields[19]
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = started[child]
            todo.append(child)
    return found


def _alive(pid: int, started: str) -> bool:
    """Whether that process (not a later one with its pid) still runs; a zombie is dead."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X") and fields[19] == started


def _lines(stream: Any) -> queue.Queue[str]:
    """The lines of ``stream``, read by a daemon thread, so reads can be bounded."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


@pytest.mark.parametrize(
    ("start_method", "sig"),
    [
        ("default", signal.SIGTERM),
        ("default", signal.SIGKILL),
        ("spawn", signal.SIGTERM),
        ("fork", signal.SIGKILL),
    ],
)
def test_a_killed_caller_leaves_no_process_behind(
    tmp_path: Path, start_method: str, sig: signal.Signals
) -> None:
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_ME)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, str(script), start_method],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    left: dict[int, str] = {}
    try:
        lines = _lines(proc.stdout)
        # Handshake: both workers run an item.
        got = [lines.get(timeout=TIMEOUT) for _ in range(2)]
        assert all(line.startswith("running ") for line in got), got
        workers = {int(line.split()[1]) for line in got}
        left = _descendants(proc.pid)
        assert workers <= left.keys()
        if start_method == "default":
            # The fork server (the workers' parent) and the resource tracker.
            assert len(left) >= 4, left
        proc.send_signal(sig)
        assert proc.wait(TIMEOUT) == -sig
        deadline = time.monotonic() + GONE_WITHIN
        while any(_alive(pid, started) for pid, started in left.items()):
            assert time.monotonic() < deadline, (
                f"still running {GONE_WITHIN}s after the caller got {sig.name}: "
                f"{sorted(pid for pid, started in left.items() if _alive(pid, started))} "
                f"of {sorted(left)}"
            )
            time.sleep(0.01)  # polling for a process to end: back-off, not a handshake
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
        for pid, started in left.items():  # a failed test leaves nothing either
            if _alive(pid, started):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if proc.stdout is not None:
            proc.stdout.close()


def _exit_codes(processes: list[Any]) -> list[int]:
    """Each process's exit code, once every one of them is gone.

    A process is gone when its sentinel is ready. Its exit code may still read
    ``None`` for a moment after that: the pool's manager thread joins the same
    ``Process`` objects, and when its ``waitpid`` reaps a worker first, ours
    fails with ``ECHILD`` until the manager has stored the code it got
    (``popen_fork.Popen.poll``; seen on 3.12 under load). So wait for the
    sentinels, then for the codes, both bounded.
    """
    pending = [process.sentinel for process in processes]
    deadline = time.monotonic() + TIMEOUT
    while pending:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"workers still running {TIMEOUT}s after their lifeline was cut"
        ready = multiprocessing.connection.wait(pending, remaining)
        pending = [sentinel for sentinel in pending if sentinel not in ready]
    while None in (codes := [process.exitcode for process in processes]):
        assert time.monotonic() < deadline, f"no exit code for a worker that is gone: {codes}"
        time.sleep(0.001)  # another thread is storing a code it reaped: back-off
    return codes


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_workers_exit_when_their_lifeline_is_cut(start_method: str) -> None:
    # What a dying caller does to its workers, without killing this process.
    pool = ProcessPool(2, start_method=start_method)
    try:
        assert pool.par_map(abs, [-1, -2], chunksize=1) == [1, 2]
        backend = pool._backend
        assert isinstance(backend, ProcessesBackend)
        executor = backend._executor
        assert executor is not None
        processes = list(backend._processes.values())
        assert processes
        _par_processes._cut_lifeline(executor)
        codes = _exit_codes(processes)
        # The first to exit breaks the pool, whose manager may terminate the
        # rest: each code is the orphan's, or SIGTERM's.
        exited = {_par_processes.ORPHAN_EXIT_CODE}
        if start_method == "forkserver":
            # A worker made by the fork server is not this process's child:
            # it learns the exit code from the server, and multiprocessing
            # reports 255 when the server closed that pipe without a word
            # (popen_forkserver.Popen.poll; seen under load, for the worker
            # that exited first). The process is gone all the same.
            exited.add(255)
        assert exited & set(codes), codes  # at least one exited by itself
        assert set(codes) <= exited | {-signal.SIGTERM}, codes
    finally:
        pool.close()


# -- workers and chunksize are checked up front ---------------------------------------------


class Two:
    """An int-like object (numpy.int64 is one): accepted through ``__index__``."""

    def __index__(self) -> int:
        return 2


BAD: list[tuple[object, type[Exception]]] = [
    (2.5, TypeError),
    (2.0, TypeError),
    ("2", TypeError),
    (True, TypeError),
    (False, TypeError),
    (Fraction(2), TypeError),
    ([2], TypeError),
    (0, ValueError),
    (-1, ValueError),
]


@pytest.fixture
def pool() -> Iterator[ThreadPool]:
    with ThreadPool(1) as pool:
        yield pool


def _entry_points(name: str, pool: ThreadPool) -> list[tuple[str, Callable[[object], object]]]:
    """Every public call that takes ``name``, as a function of its value."""
    calls: list[tuple[str, Callable[[object], object]]] = [
        ("par_map", lambda v: par_map(abs, [1], **{name: v})),  # type: ignore[arg-type]
        ("par_imap", lambda v: par_imap(abs, [1], **{name: v})),  # type: ignore[arg-type]
    ]
    if name == "workers":
        calls += [
            ("with_workers", lambda v: par_iter([1]).with_workers(v)),  # type: ignore[arg-type]
            ("ThreadPool", ThreadPool),  # type: ignore[list-item]
            ("ProcessPool", ProcessPool),  # type: ignore[list-item]
        ]
    else:
        calls += [
            ("with_chunksize", lambda v: par_iter([1]).with_chunksize(v)),  # type: ignore[arg-type]
            ("ThreadPool.par_map", lambda v: pool.par_map(abs, [1], chunksize=v)),  # type: ignore[arg-type]
            ("ThreadPool.par_imap", lambda v: pool.par_imap(abs, [1], chunksize=v)),  # type: ignore[arg-type]
        ]
    return calls


@pytest.mark.parametrize("name", ["workers", "chunksize"])
@pytest.mark.parametrize(("value", "error"), BAD)
def test_bad_workers_and_chunksize_are_refused_up_front_by_name(
    name: str, value: object, error: type[Exception], pool: ThreadPool
) -> None:
    message = f"^{re.escape(f'{name} must be a positive int or None, got {value!r}')}$"
    for where, call in _entry_points(name, pool):
        with pytest.raises(error, match=message):
            call(value)
            pytest.fail(f"{where} accepted {name}={value!r}")


@pytest.mark.parametrize("name", ["workers", "chunksize"])
def test_int_like_workers_and_chunksize_are_accepted(name: str, pool: ThreadPool) -> None:
    for where, call in _entry_points(name, pool):
        got = call(Two())
        if isinstance(got, Iterator):
            got = list(got)
        if isinstance(got, (ThreadPool, ProcessPool)):
            assert got.workers == 2, where
            got.close()
        elif isinstance(got, ParIter):
            assert got.map(abs).collect() == [1], where
        else:
            assert got == [1], where
    assert par_map(abs, [-1, -2, -3], workers=Two(), chunksize=Two()) == [1, 2, 3]  # type: ignore[arg-type]
    assert par_iter(range(5)).with_workers(Two()).with_chunksize(Two()).sum() == 10  # type: ignore[arg-type]


# -- Ctrl-C while the caller blocks --------------------------------------------------------


def test_ctrl_c_while_par_map_blocks_on_threads_leaves_no_worker_running() -> None:
    result = run_python(
        """
        import _thread, threading, time
        from fearless._par import ThreadPool

        started = threading.Barrier(3, timeout=30)
        running = [0]
        lock = threading.Lock()

        def work(x):
            with lock:
                running[0] += 1
            try:
                if x < 2:
                    started.wait()  # both workers run an item: the caller blocks
                time.sleep(0.01)
            finally:
                with lock:
                    running[0] -= 1
            return x

        def interrupt():
            started.wait()
            _thread.interrupt_main()

        with ThreadPool(2) as pool:
            threading.Thread(target=interrupt, daemon=True).start()
            began = time.monotonic()
            try:
                pool.par_map(work, range(100_000), chunksize=1)
            except KeyboardInterrupt:
                took = time.monotonic() - began
                print("interrupted", running[0], took < 2.0)
            else:
                print("finished")
            # Usable afterwards.
            print(pool.par_map(abs, [-1, -2]))
        """,
        timeout=60,
    )
    assert result.stdout == "interrupted 0 True\n[1, 2]\n", result.stderr


STORM = """
import _thread, signal, threading, time
from fearless._par import ThreadPool, par_imap, par_iter, par_map

running = [0]
count_lock = threading.Lock()


def work(x):
    with count_lock:
        running[0] += 1
    try:
        time.sleep(0.0002)
    finally:
        with count_lock:
            running[0] -= 1
    return x


# KeyboardInterrupt only inside the calls under test: the test's own
# bookkeeping cannot be cut by the storm.
in_call = [False]


def on_sigint(signum, frame):
    if in_call[0]:
        raise KeyboardInterrupt


signal.signal(signal.SIGINT, on_sigint)
stop = threading.Event()
go = threading.Event()


def storm():
    go.wait()
    while not stop.is_set():
        _thread.interrupt_main()
        time.sleep(0.0002)


pool = ThreadPool(2)
calls = {
    "par_map": lambda: pool.par_map(work, range(40), chunksize=1),
    "par_imap": lambda: list(pool.par_imap(work, iter(range(40)), chunksize=1)),
    "par_iter": lambda: pool.par_iter(range(40)).with_chunksize(1).map(work).reduce(
        int, lambda a, b: a + b
    ),
}
threading.Thread(target=storm, daemon=True).start()
go.set()
for name, call in calls.items():
    interrupted = finished = left_running = 0
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        in_call[0] = True
        try:
            call()
            in_call[0] = False
            finished += 1
        except KeyboardInterrupt:
            in_call[0] = False
            interrupted += 1
            if running[0]:
                left_running += 1
    print(name, "interrupted" if interrupted else "never interrupted", left_running, flush=True)
stop.set()
in_call[0] = False
print(pool.par_map(abs, [-1, -2]), running[0])
"""


def test_an_interrupt_storm_never_leaves_work_running_after_the_call_raised() -> None:
    # Ctrl-C can land anywhere: between submitting a chunk and recording it,
    # in the middle of stopping the call, or in the caller's loop over the
    # chunks. Whenever KeyboardInterrupt leaves the call, none of its work runs.
    seconds = 1.0 if STRESS == 1 else 3.0  # per kind of call
    result = run_python(f"SECONDS = {seconds}\n" + STORM, timeout=90)
    assert result.stdout == (
        "par_map interrupted 0\npar_imap interrupted 0\npar_iter interrupted 0\n[1, 2] 0\n"
    ), result.stderr


def test_the_sigint_handler_is_put_back_after_every_kind_of_call() -> None:
    def mine(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, mine)
    try:
        for handler in (mine, signal.SIG_IGN, signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signal.SIGINT, handler)
            assert par_map(abs, [-1, -2], backend="threads") == [1, 2]
            assert signal.getsignal(signal.SIGINT) is handler
            results = par_imap(abs, iter(range(-5, 0)), backend="threads", chunksize=1)
            assert next(results) == 5
            assert signal.getsignal(signal.SIGINT) is handler  # the caller's code runs here
            results.close()
            assert signal.getsignal(signal.SIGINT) is handler
            with pytest.raises(ZeroDivisionError):
                par_map(partial(operator.truediv, 1), [1, 0], backend="threads")
            assert signal.getsignal(signal.SIGINT) is handler
            assert par_iter([1, 2]).with_backend("threads").sum() == 3
            assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_calls_from_other_threads_leave_signals_alone() -> None:
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(par_map(abs, [-3], backend="threads")))
    thread.start()
    thread.join(TIMEOUT)
    assert box == [[3]]


# -- os.fork() ------------------------------------------------------------------------


def test_a_forked_child_runs_parallel_calls_on_workers_of_its_own() -> None:
    # The parent's pools' threads, manager threads and fork server stay in
    # the parent: a child that used them would wait for ever.
    result = run_python(
        """
        import os, sys, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        from fearless._par import backends
        from fearless._par import ProcessPool, ThreadPool, par_map

        if __name__ == "__main__":
            tp, pp = ThreadPool(2), ProcessPool(2)
            for backend in ("threads", "processes", tp, pp):
                assert par_map(abs, range(-50, 0), backend=backend, chunksize=1)[0] == 50
            pid = os.fork()
            if pid == 0:
                try:
                    got = [par_map(abs, [-n], backend=b) for n, b in
                           enumerate(("threads", "processes", tp, pp))]
                    print("child", got, flush=True)
                    tp.close()
                    pp.close()
                    backends.close_shared_pools()
                finally:
                    os._exit(0)
            deadline = time.monotonic() + 60
            while os.waitpid(pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    print("child hung")
                    break
                time.sleep(0.01)  # polling for a child's exit: back-off
            print("parent", par_map(abs, [-5], backend=pp), par_map(abs, [-6], backend=tp))
            tp.close()
            pp.close()
        """,
        timeout=90,
    )
    assert result.stdout == "child [[0], [1], [2], [3]]\nparent [5] [6]\n", result.stderr


DEFAULT_ACTION = textwrap.dedent(
    """
    import os, signal, sys, time
    from fearless._par import par_map

    def work(pid):
        os.kill(pid, signal.SIGINT)  # while the caller waits for this item
        time.sleep(60)  # the program is gone long before

    if __name__ == "__main__":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        par_map(work, [os.getpid()] * 4, backend=sys.argv[1], workers=2, chunksize=1)
        print("finished")
    """
)


@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_ctrl_c_with_the_default_action_ends_the_program(tmp_path: Path, backend: str) -> None:
    # signal.SIG_DFL: Ctrl-C kills the program at once, as the OS does;
    # held back for a moment, it must be neither lost nor looped on.
    script = tmp_path / "default_action.py"
    script.write_text(DEFAULT_ACTION)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, str(script), backend],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == -signal.SIGINT, (result.returncode, result.stderr)
    assert result.stdout == ""


# -- a script without the main-module guard ---------------------------------------------------

UNGUARDED = textwrap.dedent(
    """
    import sys
    from fearless._par import ProcessPool

    def square(x):
        return x * x

    # No `if __name__ == "__main__":` here: each worker runs this again.
    with ProcessPool(2, start_method=sys.argv[1]) as pool:
        print(pool.par_map(square, range(8)))
    """
)


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_an_unguarded_main_module_is_explained(tmp_path: Path, start_method: str) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    # Both workers print their traceback on the one stderr pipe at once.
    # Line-buffered (Python's default for stderr), each line is one write(2),
    # which a pipe keeps whole; unbuffered (PYTHONUNBUFFERED, as CI and this
    # machine set it), Python writes a traceback in pieces (the type, ": ",
    # the message; 3.11's carets one by one), and the two interleave mid-line.
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.run(
        [sys.executable, str(script), start_method],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    # The caller's error says what happened and what to do.
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "fearless.WorkerDiedError: a worker process died (exit code 1) while starting,"
        " before it ran any item; each worker imports the main module first"
    ), proc.stderr
    assert 'put that code under `if __name__ == "__main__":`' in last
    # Each worker refused before making shared memory or semaphores: none leak.
    assert (
        "RuntimeError: parallel work was started while a worker process was importing"
        " the main module" in proc.stderr
    ), proc.stderr
    assert "leaked" not in proc.stderr
    assert proc.stdout == ""


def test_a_pool_made_in_a_worker_importing_main_is_refused(tmp_path: Path) -> None:
    # What the worker sees, tested in this process: a process that is still
    # importing its parent's main module refuses to start a pool.
    backend = ProcessesBackend(1, start_method="spawn")
    process = backend._context.current_process()
    process._inheriting = True  # type: ignore[attr-defined]
    try:
        with pytest.raises(RuntimeError, match=r"put the code that starts it under"):
            backend.submit(None)  # type: ignore[arg-type]
    finally:
        del process._inheriting  # type: ignore[attr-defined]
    assert backend._executor is None
