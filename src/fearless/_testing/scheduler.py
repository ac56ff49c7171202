"""The deterministic scheduler behind :mod:`fearless.testing` (internal).

One *run* executes a test function under a :class:`Scheduler`. Every
simulated thread is a real OS thread, but only one of them runs at a time:
the others wait on a private *baton* (a :class:`Signal`). At every
*switch point* the running thread asks the scheduler's chooser (a strategy,
see :mod:`.strategies` and :mod:`.partial_order`) which runnable thread goes
next and, if it is another one, hands the baton over and waits for it to
come back. Handing over through the kernel (a pipe, or a lock) gives the
happens-before edges a free-threaded build needs, so the runs are correct
whether or not the GIL is there.

Switch points:

- the start of every public operation of a fearless primitive (wrapped
  for the exploration by :mod:`.takeover`, as :mod:`.declarations`
  declares), so lock-free operations -- a channel's ``send``,
  ``OnceLock.get``, ``Arc.strong_count`` -- are steps of their own;
- every acquire of a raw lock from the seam inside them (the first one of
  an operation belongs to the operation's own step: ``merge_next``), and
  every thread start;
- with ``trace=True``, every new line of user code and every store to
  shared state inside a line (see :mod:`.tracing`).

Releasing a lock is not a switch point: until its next switch point the
releasing thread does only invisible work, which commutes with everything
the others do, so a switch there is the same schedule as a switch at the
next switch point.

For the exhaustive search (:mod:`.partial_order`) the scheduler can record,
for every step, the *keys* of what it touched (see :mod:`.keys`).

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

The scheduler relies on the real ``_thread`` only (its batons and workers);
what it simulates -- locks, the seam's backend, ``threading`` and
``time.sleep`` -- lives in :mod:`.locks` and :mod:`.takeover`.
"""

from __future__ import annotations

import _thread
import os
import select
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Final, NoReturn, Protocol

from .keys import CLOCK, Keyed
from .report import Step, api_call, creator, make_step, user_stack
from .tracing import Reach, Tracer

if TYPE_CHECKING:
    from .locks import SimLock, SimRLock

__all__ = [
    "BLOCKED",
    "FINISHED",
    "RUNNABLE",
    "Abort",
    "Chooser",
    "Deadlock",
    "Scheduler",
    "Signal",
    "SimThread",
    "StepLimit",
    "UnhandledThreadError",
]

_real_allocate_lock: Final = _thread.allocate_lock
_real_start_new_thread: Final = _thread.start_new_thread
_get_ident: Final = _thread.get_ident

#: Held while the state of a run's simulated locks changes outside runs
#: (see :mod:`.locks`), and while :meth:`Scheduler.close` frees them.
OUTSIDE: Final = _thread.allocate_lock()

RUNNABLE: Final = 0
BLOCKED: Final = 1
FINISHED: Final = 2


class Abort(SystemExit):
    """Unwinds a simulated thread when its run is over (never escapes a run).

    A ``SystemExit``, so that ``except Exception`` in the code under test
    does not swallow it and ``threading.excepthook`` (which fearless uses to
    report failures of threads nobody joined) stays silent about it.
    """


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
        self.state = RUNNABLE
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

    def describe_wait(self) -> str:
        """What a thread blocked on this one waits for, in a deadlock report."""
        return f"thread T{self.index} {self.name!r} to finish"

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
        trace: Reach | None,
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
        #: after it, whatever they touch (see ``partial_order.PartialOrder``).
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

    def running_me(self) -> SimThread | None:
        """:meth:`me`, or None once that simulated thread has finished.

        Its OS thread may still run code after that (finalisers, freeing
        what the body left): code outside the run, as on any other thread.
        """
        me = self.by_ident.get(_get_ident())
        return None if me is None or me.state == FINISHED else me

    def label(self, kind: str) -> str:
        """A name for a new primitive: the fearless object being built, numbered."""
        owner = creator(sys._getframe(2)) or kind
        n = self._labels.get(owner, 0) + 1
        self._labels[owner] = n
        return f"{owner}#{n}"

    # -- switch points -------------------------------------------------------------

    def switch(self, operation: str, frame: FrameType | None = None) -> None:  # noqa: PLR0912 - the explorer's hot switch point, kept in one frame
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
                self.steps_log.append(make_step(me, operation, frame))
            finally:
                self.quiet = False
        threads = self.threads
        if len(threads) == 1:
            if self.points is not None:
                self._point((me.index,), me)
            return
        candidates = [me]
        for t in threads:
            if t.state == RUNNABLE and t is not me:
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

    def touch(self, obj: Keyed) -> None:
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

    def block(self, waiting: Keyed | None, deadline: float | None) -> bool:
        """Wait (as the running thread) until woken or the virtual ``deadline``.

        Returns False when the deadline passed first.
        """
        if self.aborting:
            raise Abort
        me = self.current
        assert me is not None
        me.state = BLOCKED
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
            if t.waiting is waiting and t.state == BLOCKED:
                t.state = RUNNABLE
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
        candidates = [t for t in self.threads if t.state == RUNNABLE]
        if not candidates:
            timed = [t for t in self.threads if t.state == BLOCKED and t.deadline is not None]
            if not timed:
                self.fail(Deadlock(self._deadlock_report()))
            self.clock = max(self.clock, min(t.deadline for t in timed if t.deadline is not None))
            self.touch(CLOCK)
            for t in timed:
                if t.deadline is not None and t.deadline <= self.clock:
                    t.state = RUNNABLE
                    t.timed_out = True
                    t.waiting = None
                    t.deadline = None
            candidates = [t for t in self.threads if t.state == RUNNABLE]
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
        if me.state != FINISHED:
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
            if t.state == FINISHED:
                continue
            frame = frames.get(t.ident)
            api = api_call(frame)[0] if frame is not None else None
            where = f" in {api}" if api is not None else ""
            lines.append(f"  T{t.index} {t.name!r} is blocked{where} on {_describe(t.waiting)}")
            if frame is not None:
                lines.extend("    " + s for s in user_stack(frame))
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
            if self.trace is not None:
                sys.settrace(Tracer(self, self.trace).global_trace)
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
        t.state = FINISHED
        self.wake(t)
        if not self.aborting:
            if all(u.state == FINISHED for u in self.threads):
                self.signal.release()
                return
            try:
                self._pass_on(t)
                return
            except Abort:
                pass  # a deadlock: unwind the others
        for u in self.threads:
            if u.state != FINISHED:
                u.state = RUNNABLE
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
        with OUTSIDE:  # threads outside runs use the locks meanwhile (see .locks)
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


def _describe(waiting: object) -> str:
    """What a blocked thread waits for: a lock, a thread (each says, see ``describe_wait``)."""
    if waiting is None:
        return "nothing (sleeping)"
    describe: Callable[[], str] | None = getattr(waiting, "describe_wait", None)
    return repr(waiting) if describe is None else describe()


class UnhandledThreadError(AssertionError):
    """A plain ``threading.Thread`` of the test raised (wrapped by explore)."""


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
