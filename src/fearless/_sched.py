"""The deterministic scheduler behind :mod:`fearless.testing` (internal).

One *run* executes a test function under a :class:`Scheduler`. Every
simulated thread is a real OS thread, but only one of them runs at a time:
the others wait on a private *baton* (a :class:`Signal`). At every
*switch point* the running thread asks the scheduler's chooser which
runnable thread goes next and, if it is another one, hands the baton over
and waits for it to come back. Handing over through the kernel (a pipe, or
a lock) gives the happens-before edges a free-threaded build needs, so the
runs are correct whether or not the GIL is there.

Switch points:

- the start of every public operation of a fearless primitive (wrapped
  for the exploration, see :func:`_operations`), so lock-free operations
  -- a channel's ``send``, ``OnceLock.get``, ``Arc.strong_count`` -- are
  steps of their own;
- every acquire of a raw lock from the seam inside them (the first one of
  an operation belongs to the operation's own step), and every thread
  start;
- with ``trace=True``, every new line of user code and every store to
  shared state inside a line (``STORE_GLOBAL``, ``STORE_DEREF``,
  ``STORE_ATTR``, ``STORE_SUBSCR`` and the matching deletes), so a
  ``counter += 1`` can lose an update between its read and its write.

Releasing a lock is not a switch point: until its next switch point the
releasing thread does only invisible work, which commutes with everything
the others do, so a switch there is the same schedule as a switch at the
next switch point.

A *step* is what one thread does from one scheduling point to the next.
For the exhaustive search (``_explore._PartialOrder``) the scheduler can
record, for every step, the *keys* of what it touched: locks (named by the
thread that made them and how many it had made before, so the same lock
has the same key in every run), threads, primitives, the clock, or
:data:`ANYTHING` for a traced line. Steps with disjoint keys commute.

Blocking never blocks the OS thread behind the scheduler's back: a thread
that must wait is marked blocked on the object it waits for and the baton
goes to another runnable thread. Time is virtual: it moves only when every
thread is blocked and one of them waits with a timeout — then the clock
jumps to the earliest deadline. If no thread can run and none has a
deadline, the run ends as a deadlock, reported with every thread's stack.

Ending a run early (a failure, a deadlock, the step limit) *aborts* it:
each unfinished thread is resumed in turn and unwinds with :class:`Abort`
(a ``SystemExit``), running its ``finally`` blocks; while aborting, no
thread waits and no switch happens.

Plain ``threading`` is under control too during an exploration, for
simulated threads only: ``Thread.start``/``join``/``is_alive``, the
``threading`` locks (and so ``Event``, ``Condition``, ``Semaphore``,
``Barrier`` and ``queue.Queue`` made during the run) and ``time.sleep``.
Everything else in the process keeps the real ones.
"""

from __future__ import annotations

import _thread
import dis
import enum
import functools
import inspect
import linecache
import os
import select
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any, Final, NamedTuple, NoReturn, Protocol

from . import _seam

__all__ = [
    "Abort",
    "Chooser",
    "Scheduler",
    "Step",
]

_real_allocate_lock: Final = _thread.allocate_lock
_real_start_new_thread: Final = _thread.start_new_thread
_get_ident: Final = _thread.get_ident
_TIMEOUT_MAX: Final = threading.TIMEOUT_MAX

_RUNNABLE: Final = 0
_BLOCKED: Final = 1
_FINISHED: Final = 2

_FEARLESS_DIR: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: The tour's examples are installed inside the package, but they are user code.
_EXAMPLES_DIR: Final = _FEARLESS_DIR + "_examples" + os.sep


def _is_fearless(filename: str) -> bool:
    """Whether ``filename`` is fearless's own code (not traced, not shown as user code)."""
    return filename.startswith(_FEARLESS_DIR) and not filename.startswith(_EXAMPLES_DIR)


class _Keyed(Protocol):
    @property
    def key(self) -> object: ...


class _Token:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def key(self) -> object:
        return self

    def __repr__(self) -> str:
        return self._name


#: What a step of user code touches when we cannot tell (a line, a store):
#: it conflicts with every other step.
ANYTHING: Final = _Token("ANYTHING")
#: The virtual clock, read by monotonic() and moved by timeouts.
CLOCK: Final = _Token("CLOCK")


class Abort(SystemExit):
    """Unwinds a simulated thread when its run is over (never escapes a run).

    A ``SystemExit``, so that ``except Exception`` in the code under test
    does not swallow it and ``threading.excepthook`` (which fearless uses to
    report failures of threads nobody joined) stays silent about it.
    """


class Step(NamedTuple):
    """One switch point of a recorded run: who was about to do what, and where."""

    thread: int
    thread_name: str
    operation: str
    location: str
    source: str

    def __str__(self) -> str:
        where = f"{self.location}  {self.source}" if self.source else self.location
        return f"T{self.thread} {self.thread_name[:10]:<10} {self.operation:<20} {where}"


class Chooser(Protocol):
    """A strategy: which of the runnable threads goes next."""

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        """An index into ``candidates``.

        ``candidates`` lists the thread that was running first when it can
        go on (then ``preempting`` is true: choosing any other index is a
        preemption), followed by the other runnable threads in creation
        order.
        """
        ...


class SimThread:
    """A simulated thread: its baton, its state, and what it waits for."""

    __slots__ = (
        "baton",
        "deadline",
        "ident",
        "in_operation",
        "index",
        "name",
        "py_thread",
        "rotation",
        "state",
        "timed_out",
        "waiting",
        "woken_at",
    )

    def __init__(self, index: int, name: str, py_thread: threading.Thread | None) -> None:
        self.index = index
        self.name = name
        self.py_thread = py_thread
        self.baton: Signal = _NO_BATON  # the worker's, once it has one
        self.state = _RUNNABLE
        self.waiting: object = None
        self.deadline: float | None = None
        self.timed_out = False
        self.ident = 0
        self.in_operation = False  # inside a fearless operation (see _as_operation)
        self.rotation = 0  # select's per-thread counter
        #: With ``track``: the scheduling point of the step that woke this
        #: blocked thread, until its next step begins (-1: none).
        self.woken_at = -1

    @property
    def key(self) -> object:
        return ("thread", self.index)

    def __repr__(self) -> str:
        return f"<simulated thread T{self.index} {self.name!r}>"


# -- the scheduler ---------------------------------------------------------------------


class Scheduler:
    """One run of a test function: its threads, its clock and its decisions."""

    def __init__(
        self,
        chooser: Chooser,
        *,
        max_steps: int,
        record: bool,
        trace: bool,
        track: bool = False,
    ) -> None:
        self.chooser = chooser
        self.max_steps = max_steps
        self.threads: list[SimThread] = []
        self.by_ident: dict[int, SimThread] = {}
        self.current: SimThread | None = None
        self.clock = 0.0
        self.steps = 0
        #: The index of the thread chosen at each decision (a switch point
        #: where more than one thread could run): the replayable schedule.
        self.decisions: list[int] = []
        self.steps_log: list[Step] | None = [] if record else None
        self.failure: BaseException | None = None
        self.aborting = False
        self.trace = trace
        #: Set while the scheduler runs code of its own that must not be traced.
        self.quiet = False
        #: Released for the controller (the thread that called explore) when
        #: the run is over, or when a simulated thread needs it: ``request``.
        self.signal = Signal()
        self.request: Callable[[], object] | None = None
        self._reply = Signal()
        self._answer: tuple[bool, object] = (True, None)
        self._labels: dict[str, int] = {}
        #: With ``track``: every scheduling point (the runnable threads, the one
        #: chosen) and what the step that followed it touched.
        self.points: list[tuple[tuple[int, ...], int]] | None = [] if track else None
        self.footprints: list[set[object]] | None = [] if track else None
        #: With ``track``: for every scheduling point, the earlier point whose
        #: step woke the chosen thread from a wait just before (-1: none). The
        #: woken thread's step cannot come before the waking one: it happens
        #: after it, whatever they touch (see ``_explore._PartialOrder``).
        self.wakers: list[int] | None = [] if track else None
        #: With ``track``: the scheduling points whose step only found what it
        #: waits for unavailable and blocked: it began at that wait's own
        #: switch point, and nothing but the scheduler ran in it.
        self.pure_waits: set[int] | None = set() if track else None
        self._footprint: set[object] | None = None
        self._started: set[int] = set()
        self._made: dict[int, int] = {}
        #: A thread that just switched at the start of a fearless operation:
        #: its first lock operation inside belongs to that step (no switch).
        self.merge_next: SimThread | None = None
        #: The plain ``threading.Thread`` objects started in this run.
        self.plain_threads: dict[threading.Thread, SimThread] = {}
        #: Every lock made in this run, for :meth:`close`.
        self.locks: list[SimLock | SimRLock] = []

    # -- identity ------------------------------------------------------------------

    def me(self) -> SimThread | None:
        """The calling thread's simulated thread, or None for any other thread."""
        return self.by_ident.get(_get_ident())

    def label(self, kind: str) -> str:
        """A name for a new primitive: the fearless object being built, numbered."""
        owner = _creator(sys._getframe(2)) or kind
        n = self._labels.get(owner, 0) + 1
        self._labels[owner] = n
        return f"{owner}#{n}"

    # -- switch points -------------------------------------------------------------

    def switch(self, operation: str, frame: FrameType | None = None) -> None:
        """A switch point in the running thread, before ``operation``."""
        if self.aborting:
            return
        me = self.current
        assert me is not None
        if self.merge_next is me:  # the operation that just began takes this lock
            self.merge_next = None
            return
        self.steps += 1
        if self.steps > self.max_steps:
            self.fail(
                StepLimit(
                    f"the run took more than {self.max_steps} steps: a livelock, or a "
                    "test too big for max_steps"
                )
            )
        if self.steps_log is not None:
            self.quiet = True  # building the record must not trace (namedtuple code is "<string>")
            try:
                self.steps_log.append(_step(me, operation, frame))
            finally:
                self.quiet = False
        threads = self.threads
        if len(threads) == 1:
            if self.points is not None:
                self._point((me.index,), me)
            return
        candidates = [me]
        for t in threads:
            if t.state == _RUNNABLE and t is not me:
                candidates.append(t)
        if len(candidates) == 1:
            if self.points is not None:
                self._point((me.index,), me)
            return
        chosen = candidates[self._choose(candidates, True)]
        self.decisions.append(chosen.index)
        if self.points is not None:
            self._point(tuple(t.index for t in candidates), chosen)
        if chosen is not me:
            self.current = chosen
            chosen.baton.release()
            self._wait_turn(me)

    # -- what each step touched (for partial-order reduction) ---------------------

    def begin(self, main: SimThread) -> None:
        """Start the run: ``main`` goes first (called by the controller)."""
        self.current = main
        if self.points is not None:
            self._point((main.index,), main)
        main.baton.release()

    def _point(self, enabled: tuple[int, ...], chosen: SimThread) -> None:
        """A scheduling point: ``chosen`` runs next, out of ``enabled``."""
        assert self.points is not None
        assert self.footprints is not None
        assert self.wakers is not None
        self.points.append((enabled, chosen.index))
        self.wakers.append(chosen.woken_at)
        chosen.woken_at = -1
        footprint: set[object] = set()
        if chosen.index not in self._started:  # a thread's first step follows its spawn
            self._started.add(chosen.index)
            footprint.add(chosen.key)
        self.footprints.append(footprint)
        self._footprint = footprint

    def touch(self, obj: _Keyed) -> None:
        """The running step reads or writes ``obj`` (a lock, a thread, the clock...).

        Footprints hold keys that name the same object in every run, not the
        objects (each run makes its own): a lock is named by the thread that
        made it and how many locks that thread had made before.
        """
        footprint = self._footprint
        if footprint is not None:
            footprint.add(obj.key)

    def touch_key(self, key: object) -> None:
        """:meth:`touch`, given the key."""
        footprint = self._footprint
        if footprint is not None:
            footprint.add(key)

    def new_key(self) -> tuple[str, int, int]:
        """A key for a new lock: the same in every run that makes it the same way."""
        me = self.me()
        maker = -1 if me is None else me.index
        n = self._made.get(maker, 0)
        self._made[maker] = n + 1
        return ("lock", maker, n)

    def _choose(self, candidates: list[SimThread], preempting: bool) -> int:
        self.quiet = True  # a chooser is not code under test, wherever it was written
        try:
            return self.chooser.choose(candidates, preempting)
        except AssertionError as refusal:  # a replayed schedule that does not fit
            self.quiet = False
            self.fail(refusal)
        finally:
            self.quiet = False

    def block(self, waiting: _Keyed | None, deadline: float | None) -> bool:
        """Wait (as the running thread) until woken or the virtual ``deadline``.

        Returns False when the deadline passed first.
        """
        if self.aborting:
            raise Abort
        me = self.current
        assert me is not None
        me.state = _BLOCKED
        me.waiting = waiting
        me.deadline = deadline
        me.timed_out = False
        self._pass_on(me)
        # A new step begins here: it looks at what it waited for again.
        if waiting is not None:
            self.touch(waiting)
        if deadline is not None:
            self.touch(CLOCK)
        return not me.timed_out

    def step_mark(self) -> int:
        """Where the next step would begin: for :meth:`pure_wait`."""
        points = self.points
        return -1 if points is None else len(points)

    def pure_wait(self, mark: int) -> None:
        """About to block, having done nothing since ``mark`` but find the wait needed.

        When the running step began at or after ``mark`` (a wait's own
        switch point, not an operation that merged the wait into its first
        step), the step is a *pure* wait: had the thread run later, once what
        it waits for was available, it would simply have gone on.
        """
        points, pure = self.points, self.pure_waits
        if points is not None and pure is not None and 0 <= mark < len(points):
            pure.add(len(points) - 1)

    def wake(self, waiting: object) -> None:
        """Make every thread blocked on ``waiting`` runnable."""
        points = self.points
        for t in self.threads:
            if t.waiting is waiting and t.state == _BLOCKED:
                t.state = _RUNNABLE
                t.waiting = None
                t.deadline = None
                if points is not None:
                    t.woken_at = len(points) - 1

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` in virtual time: a switch point, then a timed block."""
        self.switch("sleep")
        self.touch(CLOCK)
        if seconds > 0:
            self.block(None, self.clock + seconds)

    def _wait_turn(self, me: SimThread) -> None:
        me.baton.acquire()
        if self.aborting:
            raise Abort

    def _pass_on(self, me: SimThread) -> None:
        """``me`` cannot run (blocked or finished): run another thread."""
        candidates = [t for t in self.threads if t.state == _RUNNABLE]
        if not candidates:
            timed = [t for t in self.threads if t.state == _BLOCKED and t.deadline is not None]
            if not timed:
                self.fail(Deadlock(self._deadlock_report()))
            self.clock = max(self.clock, min(t.deadline for t in timed if t.deadline is not None))
            self.touch(CLOCK)
            for t in timed:
                if t.deadline is not None and t.deadline <= self.clock:
                    t.state = _RUNNABLE
                    t.timed_out = True
                    t.waiting = None
                    t.deadline = None
            candidates = [t for t in self.threads if t.state == _RUNNABLE]
        if len(candidates) == 1:
            chosen = candidates[0]
        else:
            chosen = candidates[self._choose(candidates, False)]
            self.decisions.append(chosen.index)
        if self.points is not None:
            self._point(tuple(t.index for t in candidates), chosen)
        if chosen is me:
            return
        self.current = chosen
        chosen.baton.release()
        if me.state != _FINISHED:
            self._wait_turn(me)

    # -- failures ------------------------------------------------------------------

    def fail(self, error: BaseException) -> NoReturn:
        """End the run with ``error`` (the first failure wins) and unwind this thread."""
        self.record_failure(error)
        raise Abort

    def report_unjoined(self, thread: threading.Thread, error: BaseException) -> bool:
        """A thread of this run failed and nobody will join it: True when handled here.

        During the run that fails the run; once the run has failed for any
        reason, the exploration reports the failure, so it stays quiet.
        """
        if self.failure is not None:
            return True
        if self.me() is None:
            return False
        failure = UnhandledThreadError(
            f"thread {thread.name!r} raised {type(error).__name__}: {error} (and nobody joined it)"
        )
        failure.__cause__ = error
        self.record_failure(failure)
        return True

    def record_failure(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error
        self.aborting = True

    def _deadlock_report(self) -> str:
        frames = sys._current_frames()
        lines = ["every thread is blocked:"]
        for t in self.threads:
            if t.state == _FINISHED:
                continue
            frame = frames.get(t.ident)
            api = _api_call(frame)[0] if frame is not None else None
            where = f" in {api}" if api is not None else ""
            lines.append(f"  T{t.index} {t.name!r} is blocked{where} on {_describe(t.waiting)}")
            if frame is not None:
                lines.extend("    " + s for s in _user_stack(frame))
        return "\n".join(lines)

    # -- threads -------------------------------------------------------------------

    def start_thread(
        self,
        body: Callable[[], object],
        name: str | None,
        py_thread: threading.Thread | None = None,
    ) -> SimThread:
        """Create a simulated thread running ``body`` (runnable, not yet running)."""
        index = len(self.threads)
        t = SimThread(index, name or (py_thread.name if py_thread else f"T{index}"), py_thread)
        self.threads.append(t)
        # The worker registers t while this thread goes on: t cannot run
        # before it is chosen and its baton released, whenever that is.
        worker = _worker()
        t.baton = worker.wake
        worker.job = lambda: self._bootstrap(t, body)
        worker.wake.release()
        return t

    def _bootstrap(self, t: SimThread, body: Callable[[], object]) -> None:
        py_thread = t.py_thread
        if py_thread is None:  # made here, before registering: its locks are real ones
            py_thread = t.py_thread = _ThreadRecord(t.name, self)
        t.ident = ident = _get_ident()
        self.by_ident[ident] = t
        py_thread._ident = ident  # type: ignore[attr-defined]
        with threading._active_limbo_lock:  # type: ignore[attr-defined]
            threading._active[ident] = py_thread  # type: ignore[attr-defined]
        t.baton.acquire()
        try:
            if self.aborting:
                raise Abort
            if self.trace:
                sys.settrace(_Tracer(self).global_trace)
            body()
        except Abort:
            pass
        except BaseException as exc:
            self.record_failure(exc)
        finally:
            sys.settrace(None)
            with threading._active_limbo_lock:  # type: ignore[attr-defined]
                threading._active.pop(ident, None)  # type: ignore[attr-defined]
        self._finish(t)

    def _finish(self, t: SimThread) -> None:
        self.touch(t)  # joins wait for this
        t.state = _FINISHED
        self.wake(t)
        if not self.aborting:
            if all(u.state == _FINISHED for u in self.threads):
                self.signal.release()
                return
            try:
                self._pass_on(t)
                return
            except Abort:
                pass  # a deadlock: unwind the others
        for u in self.threads:
            if u.state != _FINISHED:
                u.state = _RUNNABLE
                self.current = u
                u.baton.release()
                return
        self.signal.release()

    # -- the controller ----------------------------------------------------------

    def close(self) -> None:
        """End the run, once every one of its threads has finished.

        Objects of the run can outlive it (a handle kept by Hypothesis, a
        cycle the garbage collector frees later), and their finalisers then
        use the run's locks from outside any run. A lock still held by a
        simulated thread is held by a thread that is gone -- typically a
        hand-over lock that an aborted run's thread never got to release,
        such as a spawned thread's start signal: nobody can release it
        any more, so the run's end does. Forgetting the run's threads makes
        every later use of its locks an uncontended one from outside, on
        whichever OS thread (workers are reused by later runs).
        """
        self.by_ident.clear()
        for lock in self.locks:
            if isinstance(lock.owner, SimThread):
                lock.drop_dead_owner()
        self.locks.clear()
        self.signal.close()
        self._reply.close()

    def in_controller(self, fn: Callable[[], object]) -> tuple[bool, object]:
        """Run ``fn()`` on the controller's thread: ``(True, result)`` or ``(False, exception)``.

        For what only that thread may do, such as drawing from Hypothesis
        (its test context belongs to the thread running the test).
        """
        self.request = fn
        self.signal.release()
        self._reply.acquire()
        return self._answer

    def serve(self) -> bool:
        """On the controller, after ``signal``: answer a request (True) or see the end (False)."""
        fn = self.request
        if fn is None:
            return False
        self.request = None
        try:
            self._answer = (True, fn())
        except BaseException as exc:
            self._answer = (False, exc)
        self._reply.release()
        return True


class StepLimit(AssertionError):
    """The run exceeded its step limit (wrapped into the public error by explore)."""


class Deadlock(AssertionError):
    """Every thread blocked (wrapped into the public error by explore)."""


class Signal:
    """A counting semaphore that one thread releases and another waits on.

    Built on a pipe where there is one: a thread woken through a pipe runs
    again several times sooner than one woken through a lock -- measured
    here, 5 us against 14 us on 3.11 and 72 us on free-threaded 3.13 -- and
    a run hands control over between its threads dozens of times. Elsewhere
    (Windows, whose ``select`` takes sockets only) it is a lock.
    """

    __slots__ = ("_lock", "_read", "_write")

    def __init__(self) -> None:
        if _PIPES:
            self._read, self._write = os.pipe()
        else:
            self._lock = _real_allocate_lock()
            self._lock.acquire()

    def release(self) -> None:
        if _PIPES:
            os.write(self._write, b"\0")
        else:
            self._lock.release()

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for a release (at most ``timeout`` seconds); False if none came."""
        if not _PIPES:
            return self._lock.acquire(True, -1 if timeout is None else timeout)
        if timeout is not None and not select.select([self._read], [], [], timeout)[0]:
            return False
        os.read(self._read, 1)
        return True

    def close(self) -> None:
        if _PIPES:
            os.close(self._read)
            os.close(self._write)


_PIPES: Final = os.name == "posix"


class _NoBaton(Signal):
    def __init__(self) -> None:
        pass


_NO_BATON: Final = _NoBaton()


class _Worker:
    """An OS thread that runs simulated threads one after another.

    Starting an OS thread costs far more than a short run; workers park
    between jobs so that thousands of runs reuse a handful of threads. A
    worker's signal starts its jobs and is the baton of the simulated
    thread it runs.
    """

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.wake = Signal()
        self.job: Callable[[], None] | None = None

    def loop(self) -> None:
        while True:
            self.wake.acquire()
            job, self.job = self.job, None
            assert job is not None
            job()
            del job
            with _idle_lock:
                if len(_idle) >= _MAX_IDLE:
                    return
                _idle.append(self)


_idle: list[_Worker] = []
_idle_lock: Final = _real_allocate_lock()
_MAX_IDLE: Final = 16


def _worker() -> _Worker:
    """An idle worker, or a new one."""
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
        _real_start_new_thread(worker.loop, ())
    return worker


class _ThreadRecord(threading.Thread):
    """The ``threading.Thread`` that ``current_thread()`` shows for a simulated thread."""

    def __init__(self, name: str, run: Scheduler) -> None:
        super().__init__(name=name, daemon=True)
        #: fearless's report of a failed thread nobody joined asks the run.
        self.fearless_run = run


# -- locks -----------------------------------------------------------------------------


class SimLock:
    """A raw lock whose waits are decisions of the scheduler."""

    __slots__ = ("_sched", "held", "key", "label", "owner")

    def __init__(self, sched: Scheduler, label: str) -> None:
        self._sched = sched
        self.key = sched.new_key()
        self.held = False
        self.owner: SimThread | None = None
        self.label = label
        sched.locks.append(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        sched = self._sched
        if sched.me() is None:
            return self._acquire_outside(blocking)
        if not _take_turn(sched, self, blocking, timeout):
            return False
        self.held = True
        self.owner = sched.current
        return True

    def _acquire_outside(self, blocking: bool) -> bool:
        if not self.held:
            self.held = True
            return True
        return _refuse_outside(self.label, blocking)

    def release(self) -> None:
        if not self.held:
            raise RuntimeError("release unlocked lock")
        self.held = False
        self.owner = None
        self._sched.touch(self)
        self._sched.wake(self)

    def locked(self) -> bool:
        return self.held

    def drop_dead_owner(self) -> None:
        """The run is over and its thread still holds this lock: free it (see Scheduler.close)."""
        self.held = False
        self.owner = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{'locked' if self.held else 'unlocked'} simulated lock {self.label}>"


class SimRLock:
    """A reentrant raw lock under the scheduler; knows its owner like ``_thread.RLock``."""

    __slots__ = ("_sched", "count", "key", "label", "owner")

    def __init__(self, sched: Scheduler, label: str) -> None:
        self._sched = sched
        self.key = sched.new_key()
        #: The simulated thread holding it; outside runs, a real thread's ident.
        self.owner: SimThread | int | None = None
        self.count = 0
        self.label = label
        sched.locks.append(self)

    @property
    def held(self) -> bool:
        return self.count > 0

    def _caller(self) -> SimThread | int:
        me = self._sched.me()
        return _get_ident() if me is None else me

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        sched = self._sched
        me = sched.me()
        if me is None:
            return self._acquire_outside(blocking)
        if self.owner is me:
            self.count += 1
            return True
        if not _take_turn(sched, self, blocking, timeout):
            return False
        self.owner = me
        self.count = 1
        return True

    def _acquire_outside(self, blocking: bool) -> bool:
        # Used after its run (a finaliser, a handle kept by the test): one
        # thread at a time, so only an uncontended acquire can work.
        me = _get_ident()
        if self.owner == me or not self.count:
            self.owner = me
            self.count += 1
            return True
        return _refuse_outside(self.label, blocking)

    def release(self) -> None:
        if self.owner is None or self.owner != self._caller():
            raise RuntimeError("cannot release un-acquired lock")
        self.count -= 1
        if not self.count:
            self.owner = None
            self._sched.touch(self)
            self._sched.wake(self)

    def _is_owned(self) -> bool:
        return self.owner is not None and self.owner == self._caller()

    def drop_dead_owner(self) -> None:
        """The run is over and its thread still holds this lock: free it (see Scheduler.close)."""
        self.count = 0
        self.owner = None

    # threading.Condition uses these to wait on a recursively held RLock.
    def _release_save(self) -> tuple[int, SimThread | int | None]:
        if not self._is_owned():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self.count, self.owner)
        self.count = 1
        self.release()
        return state

    def _acquire_restore(self, state: tuple[int, SimThread | int | None]) -> None:
        self.acquire()
        self.count, self.owner = state

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{'locked' if self.count else 'unlocked'} simulated rlock {self.label}>"


def _take_turn(sched: Scheduler, lock: SimLock | SimRLock, blocking: bool, timeout: float) -> bool:
    """The switch point of an acquire, then wait while ``lock`` is held: False if given up."""
    first = sched.step_mark()
    sched.switch(f"acquire {lock.label}")
    sched.touch(lock)
    if lock.held:
        deadline = _deadline(sched, blocking, timeout)
        while lock.held:
            if deadline == 0:
                return False
            sched.pure_wait(first)
            if not sched.block(lock, deadline if deadline != -1 else None):
                return False
    return True


def _refuse_outside(label: str, blocking: bool) -> bool:
    """An acquire outside any run of a lock held by a thread of a finished run."""
    if blocking:
        raise RuntimeError(
            f"{label} was made under fearless.testing and is held by a thread of a "
            "run that is over; it cannot be waited for outside that run"
        )
    return False


def _deadline(sched: Scheduler, blocking: bool, timeout: float) -> float:
    """0: do not wait; -1: wait forever; else the virtual time to give up at."""
    if not blocking or timeout == 0:
        return 0
    if timeout < 0 or timeout >= _TIMEOUT_MAX:
        return -1
    return sched.clock + timeout


class SimBackend:
    """The seam's backend during a run: simulated locks, threads and clock."""

    spins = 0
    snoozes = 0
    slice = float("inf")

    def __init__(self, sched: Scheduler) -> None:
        self._sched = sched
        self._real = _seam.ThreadBackend()

    def allocate_lock(self) -> _seam.RawLock:
        sched = self._sched
        if sched.me() is None:
            return self._real.allocate_lock()
        return SimLock(sched, sched.label("lock"))

    def allocate_rlock(self) -> _seam.RawRLock:
        sched = self._sched
        if sched.me() is None:
            return self._real.allocate_rlock()
        return SimRLock(sched, sched.label("rlock"))

    def rlock_owner(self, lock: _seam.RawRLock) -> int | None:
        if isinstance(lock, SimRLock):
            owner = lock.owner
            return owner.ident if isinstance(owner, SimThread) else owner
        return self._real.rlock_owner(lock)

    def start_thread(self, target: Callable[[], object], name: str | None) -> None:
        sched = self._sched
        if sched.me() is None:
            self._real.start_thread(target, name)
            return
        t = sched.start_thread(target, name or _callable_name(target))
        sched.touch(t)
        sched.switch(f"spawn T{t.index}")

    def monotonic(self) -> float:
        sched = self._sched
        if sched.me() is None:
            return self._real.monotonic()
        sched.touch(CLOCK)
        return sched.clock

    def pause(self) -> None:
        if self._sched.me() is None:
            self._real.pause()

    def snooze(self) -> None:
        if self._sched.me() is None:
            self._real.snooze()

    def rotation(self) -> int:
        me = self._sched.me()
        if me is None:
            return self._real.rotation()
        me.rotation += 1
        return me.rotation - 1


# -- every public operation is a switch point ----------------------------------------------

#: Besides these, a class's operations are its public methods.
_PROTOCOL_METHODS: Final = frozenset({"__enter__", "__exit__", "__iter__", "__next__"})
#: A guard's release only releases a lock: not a step of its own (see the module docstring).
_GUARD_RELEASES: Final = frozenset({"unlock", "__enter__", "__exit__"})


def _operations() -> list[tuple[type, str, Any]]:
    """Every public operation of fearless's primitives: (defining class, name, attribute).

    Many are lock-free (a channel's send, ``OnceLock.get``,
    ``Arc.strong_count``): they read or write shared state between the seam's
    lock operations, so they must be switch points of their own, and steps
    that touch their object.
    """
    import fearless  # noqa: PLC0415 - only explorations need these
    from fearless import atomic, mpsc  # noqa: PLC0415

    classes: set[type] = set()
    for module in (fearless, atomic, mpsc):
        for export in module.__all__:
            cls = getattr(module, export)
            if (
                isinstance(cls, type)
                and _ours(cls)
                and export not in _NOT_PRIMITIVES
                and not issubclass(cls, (BaseException, tuple, enum.Enum))
            ):
                classes.add(cls)
    found: dict[tuple[type, str], Any] = {}
    for cls in classes:
        for klass in cls.__mro__:
            if not _ours(klass):
                continue
            for name, attr in vars(klass).items():
                if name.startswith("_") and name not in _PROTOCOL_METHODS:
                    continue
                if klass.__name__.endswith("Guard") and name in _GUARD_RELEASES:
                    continue
                function = attr.__func__ if isinstance(attr, staticmethod) else attr
                if inspect.isfunction(function) and not inspect.iscoroutinefunction(function):
                    found[klass, name] = attr
    return [(klass, name, attr) for (klass, name), attr in found.items()]


#: Exported classes that are not shared-state primitives (parallel maps run
#: their own threads or processes; explorations do not control them).
_NOT_PRIMITIVES: Final = frozenset({"ParIter", "ThreadPool", "ProcessPool", "ParInfo"})


def _ours(cls: type) -> bool:
    # fearless presents its classes as fearless.X, fearless.mpsc.X... (see _util)
    return cls.__module__ == "fearless" or cls.__module__.startswith("fearless.")


def running_here() -> Scheduler | None:
    """The active run's scheduler when the caller is one of its threads, else None."""
    sched = _active
    if sched is None or sched.me() is None:
        return None
    return sched


def _object_key(obj: object) -> object:
    """A key for a primitive, the same in every run: its seam lock's, else its type's."""
    for name in ("_lock", "lock", "_chan", "_inner", "_packet", "_mutex"):
        value = getattr(obj, name, None)
        if isinstance(value, (SimLock, SimRLock)):
            return value.key
        inner = getattr(value, "lock", None)
        if isinstance(inner, (SimLock, SimRLock)):
            return inner.key
    return ("type", type(obj).__qualname__)


def _as_operation(attr: Any) -> Any:
    """``attr`` (a method or staticmethod) made a switch point when a simulated thread calls it."""
    static = isinstance(attr, staticmethod)
    function = attr.__func__ if static else attr
    owner_name = function.__qualname__.rsplit(".", 1)[0].lstrip("_")

    def enter(args: tuple[Any, ...]) -> tuple[Scheduler, SimThread] | None:
        sched = running_here()
        if sched is None or sched.aborting:
            return None
        me = sched.me()
        assert me is not None
        if me.in_operation:  # an operation calling another: one step
            return None
        owner = type(args[0]).__name__ if args and not static else owner_name
        sched.switch(f"{owner}.{function.__name__}")
        sched.touch_key(_object_key(args[0]) if args else ANYTHING)
        sched.merge_next = me
        me.in_operation = True
        return sched, me

    def leave(entered: tuple[Scheduler, SimThread]) -> None:
        sched, me = entered
        me.in_operation = False
        if sched.merge_next is me:
            sched.merge_next = None

    if inspect.isgeneratorfunction(function):

        def operation(*args: Any, **kwargs: Any) -> Any:
            iterator = function(*args, **kwargs)
            while True:  # every item is a step (a receive, for a Receiver)
                entered = enter(args)
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    if entered is not None:
                        leave(entered)
                yield item

    else:

        def operation(*args: Any, **kwargs: Any) -> Any:
            entered = enter(args)
            try:
                return function(*args, **kwargs)
            finally:
                if entered is not None:
                    leave(entered)

    functools.update_wrapper(operation, function)
    return staticmethod(operation) if static else operation


# -- runs, and plain threading and time ---------------------------------------------------


_active: Scheduler | None = None


def active() -> Scheduler | None:
    """The scheduler of the run in progress, if any."""
    return _active


@contextmanager
def running(sched: Scheduler) -> Iterator[None]:
    """Put ``sched`` in charge of the seam for one run (inside :func:`controlling`)."""
    global _active
    _active = sched
    try:
        with _seam.install(SimBackend(sched)):
            yield
    finally:
        _active = None


@contextmanager
def controlling() -> Iterator[None]:
    """Route ``threading``, ``time.sleep`` and the lock-free operations to the active run.

    Installed once per exploration (changing a class's attributes is slow
    on free-threaded builds). Outside runs, and for threads that are not
    simulated, every patched function does what the original does.
    """
    global _controlling
    with _controlling_lock:
        if _controlling:
            raise RuntimeError(
                "another thread is running explore(): explorations take over threading "
                "and time.sleep process-wide, so they run one at a time"
            )
        _controlling = True
    real_start = threading.Thread.start
    real_join = threading.Thread.join
    real_is_alive = threading.Thread.is_alive
    real_rlock = threading.RLock
    real_allocate = threading._allocate_lock  # type: ignore[attr-defined]
    real_sleep = time.sleep

    def start(self: threading.Thread) -> None:
        sched = running_here()
        if sched is None:
            return real_start(self)
        if self in sched.plain_threads or self._started.is_set():  # type: ignore[attr-defined]
            raise RuntimeError("threads can only be started once")

        def body() -> None:
            # Event.set() without its lock: nobody can be waiting on it.
            self._started._flag = True  # type: ignore[attr-defined]
            try:
                self.run()
            except Abort:
                raise
            except BaseException as exc:
                raise UnhandledThreadError(
                    f"thread {self.name!r} raised {type(exc).__name__}: {exc}"
                ) from exc

        t = sched.start_thread(body, self.name, self)
        sched.plain_threads[self] = t
        sched.touch(t)
        sched.switch(f"start T{t.index}")

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        sched = running_here()
        t = None if sched is None else sched.plain_threads.get(self)
        if sched is None or t is None:
            return real_join(self, timeout)
        if t is sched.me():
            raise RuntimeError("cannot join current thread")
        first = sched.step_mark()
        sched.switch(f"join T{t.index}")
        sched.touch(t)
        deadline = None if timeout is None else sched.clock + max(timeout, 0)
        while t.state != _FINISHED:
            sched.pure_wait(first)
            if not sched.block(t, deadline):
                return None
        return None

    def is_alive(self: threading.Thread) -> bool:
        sched = _active
        t = None if sched is None else sched.plain_threads.get(self)
        if t is None:
            return real_is_alive(self)
        return t.state != _FINISHED

    def lock() -> Any:
        sched = running_here()
        if sched is None:
            return real_allocate()
        return SimLock(sched, sched.label("threading.Lock"))

    def rlock(*args: Any, **kwargs: Any) -> Any:
        sched = running_here()
        if sched is None:
            return real_rlock(*args, **kwargs)
        return SimRLock(sched, sched.label("threading.RLock"))

    def sleep(seconds: float) -> None:
        sched = running_here()
        if sched is None:
            return real_sleep(seconds)
        sched.sleep(seconds)
        return None

    patches: list[tuple[object, str, object]] = [
        (threading.Thread, "start", start),
        (threading.Thread, "join", join),
        (threading.Thread, "is_alive", is_alive),
        (threading, "Lock", lock),
        (threading, "RLock", rlock),
        (threading, "_allocate_lock", lock),
        (time, "sleep", sleep),
    ]
    real_unraisable = sys.unraisablehook

    def unraisable(args: Any) -> None:
        # A finaliser that a run's end interrupted: an object of the run
        # dropped while its threads unwind waited for a lock of the run, and
        # no thread waits any more (see Abort). That is the run ending, not
        # an error of the program: Abort never leaves a run, not even here.
        exc_type = args.exc_type
        if isinstance(exc_type, type) and issubclass(exc_type, Abort):
            return
        real_unraisable(args)

    patches += [(cls, name, _as_operation(attr)) for cls, name, attr in _operations()]
    patches.append((sys, "unraisablehook", unraisable))
    originals = [(owner, name, vars(owner)[name]) for owner, name, _ in patches]
    try:
        for owner, name, new in patches:
            setattr(owner, name, new)
        yield
    finally:
        for owner, name, old in originals:
            setattr(owner, name, old)
        _controlling = False


_controlling = False
_controlling_lock: Final = _real_allocate_lock()


class UnhandledThreadError(AssertionError):
    """A plain ``threading.Thread`` of the test raised (wrapped by explore)."""


# -- line tracing -------------------------------------------------------------------------

_STORES: Final = frozenset(
    dis.opmap[name]
    for name in (
        "STORE_GLOBAL",
        "STORE_DEREF",
        "STORE_ATTR",
        "STORE_SUBSCR",
        "DELETE_GLOBAL",
        "DELETE_DEREF",
        "DELETE_ATTR",
        "DELETE_SUBSCR",
    )
    if name in dis.opmap
)

#: Per code object: None when it is not user code, else the offsets of its
#: stores to shared state.
_analysed: dict[CodeType, frozenset[int] | None] = {}


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(threading.__file__) + os.sep}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            dirs.add(os.path.abspath(paths[key]) + os.sep)
    return tuple(sorted(dirs))


_LIBRARY_DIRS: Final = _library_dirs()


def _analyse(code: CodeType) -> frozenset[int] | None:
    if code.co_filename.startswith("<frozen "):  # the import system, abc, codecs...
        return None
    filename = os.path.abspath(code.co_filename)
    if _is_fearless(filename):
        return None
    if filename.startswith(_LIBRARY_DIRS) and not filename.startswith(_EXAMPLES_DIR):
        return None
    return frozenset(i.offset for i in dis.get_instructions(code) if i.opcode in _STORES)


class _Tracer:
    """``sys.settrace`` functions that make user code's lines and stores switch points."""

    __slots__ = ("_sched",)

    def __init__(self, sched: Scheduler) -> None:
        self._sched = sched

    def global_trace(self, frame: FrameType, event: str, arg: object) -> Any:
        sched = self._sched
        if sched.quiet:
            return None
        code = frame.f_code
        try:
            stores = _analysed[code]
        except KeyError:
            stores = _analysed[code] = _analyse(code)
        if stores is None:
            return None
        if stores:

            def local_trace(frame: FrameType, event: str, arg: object) -> Any:
                if event == "line":
                    sched.switch("line", frame)
                    sched.touch(ANYTHING)
                elif event == "opcode" and frame.f_lasti in stores:
                    sched.switch("write", frame)
                    sched.touch(ANYTHING)
                return local_trace

            # Opcode events make the stores inside a line switch points too.
            # f_trace first: Python 3.13 turns opcode events on for a frame
            # only when f_trace_opcodes is set while f_trace already is.
            frame.f_trace = local_trace
            frame.f_trace_opcodes = True
            return local_trace

        def lines_only(frame: FrameType, event: str, arg: object) -> Any:
            if event == "line":
                sched.switch("line", frame)
                sched.touch(ANYTHING)
            return lines_only

        return lines_only


# -- reporting -------------------------------------------------------------------------


def _is_library_frame(frame: FrameType) -> bool:
    filename = frame.f_code.co_filename
    return _is_fearless(filename) or filename == threading.__file__


def _user_frame(frame: FrameType | None) -> FrameType | None:
    while frame is not None and _is_library_frame(frame):
        frame = frame.f_back
    return frame


def _step(me: SimThread, operation: str, frame: FrameType | None) -> Step:
    if frame is None:  # a fearless operation: name it by the API the user called
        api, user = _api_call(sys._getframe(2))
        if api is not None:
            operation = api
    else:
        user = frame
    if user is None:
        return Step(me.index, me.name, operation, "", "")
    filename = user.f_code.co_filename
    lineno = user.f_lineno or 0
    source = linecache.getline(filename, lineno).strip()
    return Step(me.index, me.name, operation, f"{os.path.basename(filename)}:{lineno}", source)


def _api_call(frame: FrameType | None) -> tuple[str | None, FrameType | None]:
    """The library call the user made (``"Mutex.lock"``) and the user's frame.

    The call is the outermost library frame under the user's frame; with no
    user frame at all (a thread starting or ending), it is named for that.
    """
    api: FrameType | None = None
    bootstrap = False
    while frame is not None and _is_library_frame(frame):
        code = frame.f_code
        if code.co_filename != __file__:
            if code.co_name == "__call__" and code.co_qualname == "_Packet.__call__":
                bootstrap = True  # spawn's thread body: not an API call
            else:
                api = frame
        frame = frame.f_back
    if api is None:
        return ("thread ends" if bootstrap else None), frame
    code = api.f_code
    owner = api.f_locals.get("self") if "self" in code.co_varnames else None
    if owner is not None:
        return f"{type(owner).__name__}.{code.co_name}", frame
    return code.co_qualname, frame


def _user_stack(frame: FrameType) -> list[str]:
    """The user code frames of ``frame``'s stack, innermost last."""
    entries = traceback.extract_stack(frame)
    kept = [e for e in entries if not _is_fearless(e.filename) and e.filename != threading.__file__]
    return [line.rstrip() for line in traceback.format_list(kept)]


def _describe(waiting: object) -> str:
    if isinstance(waiting, SimRLock):  # a mutex, an Arc's counts: a real owner
        owner = waiting.owner
        held = f", held by T{owner.index} {owner.name!r}" if isinstance(owner, SimThread) else ""
        return f"{waiting.label}{held}"
    if isinstance(waiting, SimLock):  # often a signal (a join, a wake-up), not a lock
        return waiting.label
    if isinstance(waiting, SimThread):
        return f"thread T{waiting.index} {waiting.name!r} to finish"
    if waiting is None:
        return "nothing (sleeping)"
    return repr(waiting)


def _creator(frame: FrameType | None) -> str | None:
    """The fearless class whose ``__init__`` (or helper) is allocating a lock."""
    depth = 0
    while frame is not None and depth < 6:
        filename = frame.f_code.co_filename
        if _is_fearless(filename) and filename != __file__:
            self = frame.f_locals.get("self")
            if self is not None and type(self).__module__.startswith("fearless"):
                return type(self).__name__.lstrip("_")
        depth += 1
        frame = frame.f_back
    return None


def _callable_name(target: Callable[[], object]) -> str | None:
    name = getattr(target, "__name__", None)  # fearless.spawn's packet copies the function's
    return name if isinstance(name, str) else None
