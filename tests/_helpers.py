"""Deterministic helpers for concurrency tests (CPython's threading_helper).

Synchronise with handshakes, never with sleeps; bound every wait.
"""

from __future__ import annotations

import _thread
import dis
import os
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fearless import _seam

#: Generous bound for any single wait in a test; a hang fails, it never blocks CI.
TIMEOUT = 30.0

GIL_ENABLED: bool = getattr(sys, "_is_gil_enabled", lambda: True)()

#: Multiplier for stress tests: 1 by default, 10 with FEARLESS_STRESS=big
#: (which the test command sets on the free-threaded build).
STRESS: int = 10 if os.environ.get("FEARLESS_STRESS") == "big" else 1


def reference(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
    """An object of the pure-Python implementation of ``cls``, whatever ``fearless.native`` says.

    For the tests that look inside the reference (its raw lock, its calls);
    ``cls(*args)`` gives the compiled core's object when the core is in use.
    """
    obj = object.__new__(cls)
    obj.__init__(*args, **kwargs)
    return obj


def wait_until(
    predicate: Callable[[], bool],
    timeout: float = TIMEOUT,
    what: str = "",
    *,
    worker: Worker | None = None,
) -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds.

    For observing a primitive's own state (``statistics().waiting``), which
    has no event to wait on. The short sleeps are back-off, not
    synchronisation: correctness never depends on their length.

    ``worker``: the thread whose progress the predicate watches. If it ends
    while the predicate is still false, the wait fails at once with what
    the thread raised or returned, instead of timing out with no cause.
    """
    deadline = time.monotonic() + timeout
    delay = 0.0001
    while not predicate():
        if worker is not None and not worker.thread.is_alive() and not predicate():
            raise AssertionError(
                f"the worker ended before {what or predicate}: "
                f"raised {worker.error!r}, returned {worker.result!r}"
            ) from worker.error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


class Worker:
    """A ``threading.Thread`` that keeps its target's result or exception."""

    def __init__(self, target: Callable[..., Any], *args: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._target = target
        self._args = args
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self._target(*self._args)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = TIMEOUT) -> Any:
        """Join within ``timeout``; re-raise the thread's exception; return its result."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"thread still running after {timeout}s"
        if self.error is not None:
            raise self.error
        return self.result


def run_concurrently(worker: Callable[..., Any], nthreads: int, *args: Any) -> list[Any]:
    """Start ``nthreads`` running ``worker(index, *args)`` at once; join; re-raise.

    All threads start behind a barrier so they really race. Returns the
    results in thread order.
    """
    barrier = threading.Barrier(nthreads, timeout=TIMEOUT)

    def run(index: int) -> Any:
        barrier.wait()
        return worker(index, *args)

    workers = [Worker(run, i) for i in range(nthreads)]
    return [w.join() for w in workers]


class WithStatement:
    """Mixin for test locks with ``acquire``/``release``: the ``with`` protocol too.

    fearless enters its internal critical sections with ``with`` (see
    ``_seam.RawLock``), so every raw lock a test backend hands out needs it.
    """

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class _GatedLock(WithStatement):
    """A raw lock that parks its thread right after a timed acquire timed out."""

    def __init__(self, gate: GatedBackend) -> None:
        self._lock = _thread.allocate_lock()
        self._gate = gate

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        acquired = self._lock.acquire(blocking, timeout)
        if not acquired and blocking and timeout >= 0:
            self._gate.timed_out.set()
            assert self._gate.proceed.wait(TIMEOUT)
        return acquired

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


class GatedBackend(_seam.ThreadBackend):
    """Opens the window between "my timeout passed" and "I react to it"."""

    def __init__(self) -> None:
        self.timed_out = threading.Event()
        self.proceed = threading.Event()

    def allocate_lock(self) -> _seam.RawLock:  # type: ignore[override]
        return _GatedLock(self)


def run_python(code: str, timeout: float = 120.0, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (this one) and return what it did.

    For tests that must not share a process with the suite: interrupts,
    ``os.fork()``, interpreter shutdown. The program is bounded by
    ``timeout`` (a hang fails the test) and by ``faulthandler``, which
    dumps every thread's stack a little before that, so a hang shows where.
    Its stdout and stderr come back as text; ``env`` adds variables.
    """
    dump_after = max(1.0, timeout - 10.0)
    prologue = (
        f"import faulthandler; faulthandler.dump_traceback_later({dump_after!r}, exit=True)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env},
    )


#: The runnable programs the tour runs (``fearless._examples`` once installed).
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(
    name: str, *args: str, quick: bool = True, timeout: float = 120.0, **env: str
) -> str:
    """Run ``examples/<name>`` with this interpreter; return its stdout.

    The program must succeed and print nothing on stderr. ``quick`` sets
    ``FEARLESS_EXAMPLE_QUICK=1``, under which the examples shrink the
    chapter's big counts so that the suite stays fast (the tour runs them
    in full); ``env`` adds variables. ``-X faulthandler`` makes a crash
    show its stacks, and ``timeout`` bounds a hang.
    """
    variables = {**os.environ, **env}
    if quick:
        variables["FEARLESS_EXAMPLE_QUICK"] = "1"
    else:
        variables.pop("FEARLESS_EXAMPLE_QUICK", None)
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=variables,
    )
    assert proc.returncode == 0, f"{name} exited with {proc.returncode}:\n{proc.stderr}"
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def uncovered_back_edges(code: Any) -> list[tuple[str, int]]:
    """Loops whose head is inside a ``try`` but whose back edge is not.

    CPython 3.12+ compiles some loops (a ``while`` with a compound condition,
    a loop body ending in ``if ...: raise``) so that the final
    ``JUMP_BACKWARD`` -- where an interrupt is raised -- is missing from the
    exception table of the ``try`` around the loop: the ``finally`` would be
    skipped. Such loops must live in a function of their own.
    """
    entries = dis._parse_exception_table(code)  # type: ignore[attr-defined]
    found = []
    for ins in dis.get_instructions(code):
        if ins.opname == "JUMP_BACKWARD" and ins.positions and ins.positions.lineno:
            here = {e.target for e in entries if e.start <= ins.offset < e.end}
            head = {e.target for e in entries if e.start <= ins.argval < e.end}
            if head - here:
                found.append((code.co_qualname, ins.positions.lineno))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found += uncovered_back_edges(const)
    return found


class TickingClock:
    """A stand-in for ``time.perf_counter`` that moves one second per reading.

    ``explore`` reads its clock once when the search starts and once before
    each run: with this one, ``time_limit=n`` allows about ``n`` runs, the
    same on any machine under any load.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now
