"""``fearless.testing.explore``: run a test under many schedules (see :mod:`fearless.testing`)."""

from __future__ import annotations

import gc
import itertools
import math
import random
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, NoReturn

from . import _sched
from ._sched import Scheduler, SimThread, Step

__all__ = [
    "DeadlockFound",
    "Exploration",
    "ScheduleFailure",
    "StepLimitExceeded",
    "Strategy",
    "explore",
]

Strategy = Literal["hypothesis", "random", "pct", "exhaustive"]

_STRATEGIES: Final = ("hypothesis", "random", "pct", "exhaustive")
_DEFAULT_SCHEDULES: Final = {"hypothesis": 200, "random": 1000, "pct": 1000, "exhaustive": 100_000}
_REPLAY_VERSION: Final = "1"


# -- results and failures ----------------------------------------------------------------


@dataclass(frozen=True)
class Exploration:
    """What a passing :func:`explore` covered.

    ``str()`` of it is a one-line summary that says how far the search
    went: ``the whole space`` only when :attr:`complete` is true, ``every
    schedule with ≤ N preemptions`` when a preemption bound cut it, and
    ``stopped at the limit of N schedules`` when ``schedules`` (for the
    exhaustive strategy, by default 100,000) did.

    Attributes:
        strategy: The strategy that chose the schedules (``"replay"`` for a replay).
        schedules: How many runs of the test executed, each under one schedule.
        distinct: How many of them took different decisions (the
            exhaustive search repeats none, except that with ``trace=True``
            and no ``preemption_bound`` each deeper bound runs the
            schedules of the shallower ones again).
        complete: ``"exhaustive"`` only: True when nothing cut the search
            (no ``preemption_bound`` left a schedule out, and the limit of
            ``schedules`` was not reached), so every schedule of the test
            ran and passed. False for every other strategy.
        longest: The most switch points one run went through.
        seconds: Wall-clock time the exploration took.
        stopped_by: What cut the search short: ``"schedules"`` when the
            limit on the number of runs was reached (for ``"exhaustive"``:
            before the search was complete; the other strategies always
            run to their limit unless Hypothesis runs out of new schedules
            first), ``"preemption_bound"`` when the exhaustive search ran
            every schedule within the bound but the bound left others out,
            None when nothing did.
        preemption_bound: ``"exhaustive"`` only, when it is not complete:
            every schedule with at most this many preemptions ran (the
            ``preemption_bound`` given, or with ``trace=True`` and no bound,
            the deepest bound searched to its end before the limit); None
            when no such bound was covered.
    """

    strategy: str
    schedules: int
    distinct: int
    complete: bool
    longest: int
    seconds: float
    stopped_by: Literal["schedules", "preemption_bound"] | None = None
    preemption_bound: int | None = None

    @property
    def coverage(self) -> str:
        """How far the search went, in words (as ``str()`` says it after the counts)."""
        covered = ""
        if self.preemption_bound is not None:
            n = self.preemption_bound
            covered = f"every schedule with ≤ {n} preemption{'' if n == 1 else 's'}"
        if self.complete:
            return "the whole space"
        if self.stopped_by == "schedules" and self.strategy == "exhaustive":
            cap = (
                f"stopped at the limit of {self.schedules:,} schedules, "
                "before the search was complete"
            )
            return f"{covered}; {cap}" if covered else cap
        return covered

    def __str__(self) -> str:
        rate = self.schedules / self.seconds if self.seconds > 0 else math.inf
        coverage = self.coverage
        done = f", {coverage}" if coverage else ""
        return (
            f"{self.schedules} schedules ({self.distinct} distinct{done}) by {self.strategy} "
            f"in {self.seconds:.2f} s ({rate:,.0f}/s), longest run {self.longest} steps"
        )


class ScheduleFailure(AssertionError):
    """A schedule under which the test failed, with the trace that reproduces it.

    The test's own exception, if it raised one, is ``__cause__``.

    Attributes:
        schedule: The failing schedule as a short string; pass it back as
            ``explore(fn, replay=schedule)`` to run exactly that schedule.
        steps: Every switch point of the failing run, in order: which
            thread was about to do what, and at which line.
        schedules_run: How many schedules ran until this one failed
            (counting this one, and the runs spent shrinking it).
        found_after: Seconds from the start of the exploration to the end
            of the first run that failed (Hypothesis then spends more runs
            shrinking it).
    """

    def __init__(
        self,
        message: str,
        schedule: str,
        steps: tuple[Step, ...],
        schedules_run: int,
        found_after: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.schedule = schedule
        self.steps = steps
        self.schedules_run = schedules_run
        self.found_after = found_after


class DeadlockFound(ScheduleFailure):
    """Every thread was blocked: the message shows what each waits for, and its stack."""


class StepLimitExceeded(ScheduleFailure):
    """A run went through more than ``max_steps`` switch points: a livelock, or a test too long."""


class _Mismatch(AssertionError):
    """A schedule asked for a thread that could not run at that point."""


# -- choosers ----------------------------------------------------------------------------


class _Drawn:
    """Draws every decision from Hypothesis.

    0 -- the thread that was running, when it can go on -- is where
    Hypothesis shrinks to, so a failure shrinks towards fewer preemptions.
    Only one simulated thread runs at a time, with real locks between them,
    so drawing from whichever thread is running is safe.
    """

    def __init__(self, runner: _Runner, data: Any, strategies: Any) -> None:
        self._runner = runner
        self._draw = data.draw
        self._integers = strategies.integers
        self._bounds: dict[int, Any] = {}
        #: What Hypothesis raised into a draw (it ends the test case, e.g.
        #: when the data ran out); re-raised on the controller after the run.
        self.stopped: BaseException | None = None

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        n = len(candidates)
        strategy = self._bounds.get(n)
        if strategy is None:
            strategy = self._bounds[n] = self._integers(min_value=0, max_value=n - 1)
        sched = self._runner.sched
        assert sched is not None
        # Draw on the controller: Hypothesis keeps its test context per thread.
        ok, value = sched.in_controller(lambda: self._draw(strategy))
        if not ok:
            assert isinstance(value, BaseException)
            self.stopped = value
            raise _Mismatch("Hypothesis ended the test case")
        assert isinstance(value, int)
        return value


class _Replay:
    """Follows the thread indices of a replay string; then keeps going."""

    def __init__(self, threads: list[int]) -> None:
        self._threads = threads
        self._at = 0

    def unused(self) -> int:
        """How many decisions of the schedule the run did not reach."""
        return max(0, len(self._threads) - self._at)

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        at = self._at
        self._at = at + 1
        if at >= len(self._threads):
            return 0
        wanted = self._threads[at]
        for i, t in enumerate(candidates):
            if t.index == wanted:
                return i
        runnable = ", ".join(f"T{t.index}" for t in candidates)
        raise _Mismatch(
            f"the schedule does not fit this test: decision {at} picks T{wanted}, but only "
            f"{runnable} could run there (did the test change, or does it depend on time, "
            "randomness or I/O?)"
        )


class _Random:
    """Uniformly random among the runnable threads at every decision."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        return self._rng.randrange(len(candidates))


class _PCT:
    """Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010).

    Every thread gets a random priority and the highest-priority runnable
    thread runs; at ``depth - 1`` random decisions the running thread's
    priority drops below every other. A bug of depth ``d`` among ``n``
    threads and ``k`` steps is found with probability at least
    ``1 / (n * k ** (d - 1))`` per run.
    """

    def __init__(self, rng: random.Random, depth: int, length: int) -> None:
        self._rng = rng
        self._priority: dict[int, float] = {}
        self._changes = {rng.randrange(max(length, 1)): depth - i for i in range(1, depth)}
        self._at = 0

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        priority = self._priority
        for t in candidates:
            if t.index not in priority:
                priority[t.index] = self._rng.random() + len(self._changes) + 1
        best = max(range(len(candidates)), key=lambda i: priority[candidates[i].index])
        change = self._changes.get(self._at)
        self._at += 1
        if change is not None:
            priority[candidates[best].index] = float(change) - 1
            best = max(range(len(candidates)), key=lambda i: priority[candidates[i].index])
        return best


class _Node:
    __slots__ = ("chosen", "options", "preempting", "preemptions")

    def __init__(self, options: tuple[int, ...], preempting: bool, preemptions: int) -> None:
        self.options = options
        self.chosen = 0
        self.preempting = preempting
        self.preemptions = preemptions  # before this decision

    def after(self) -> int:
        return self.preemptions + (1 if self.preempting and self.chosen else 0)


class _DepthFirst:
    """Every schedule, depth first, each run following a prefix then the default."""

    def __init__(self, bound: int | None) -> None:
        self._bound = bound
        self._stack: list[_Node] = []
        self._at = 0
        #: Whether the bound cut off any schedule (if not, the search covered all).
        self.pruned = False

    def restart(self) -> None:
        self._at = 0

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        at = self._at
        self._at = at + 1
        options = tuple(t.index for t in candidates)
        stack = self._stack
        if at < len(stack):
            node = stack[at]
            if node.options != options:
                raise _Mismatch(_NONDETERMINISTIC.format(node.options, options))
            return node.chosen
        stack.append(_Node(options, preempting, stack[-1].after() if stack else 0))
        return 0

    def advance(self) -> bool:
        """Move to the next unexplored schedule; False when there is none."""
        stack = self._stack
        del stack[self._at :]
        while stack:
            node = stack[-1]
            if node.chosen + 1 < len(node.options):
                cost = node.preemptions + (1 if node.preempting else 0)
                if self._bound is None or cost <= self._bound:
                    node.chosen += 1
                    return True
                self.pruned = True
            stack.pop()
        return False


class _State:
    """A scheduling point on the current path of the partial-order search."""

    __slots__ = ("backtrack", "chosen", "done", "enabled", "sleep")

    def __init__(
        self, enabled: tuple[int, ...], chosen: int, footprint: set[object], sleep: _Sleep
    ) -> None:
        self.enabled = enabled
        self.chosen = chosen
        self.backtrack: set[int] = set()
        #: The threads run from here so far, and what their step touched.
        self.done: dict[int, set[object]] = {chosen: footprint}
        #: Threads whose step from here is known to lead nowhere new (Godefroid's
        #: sleep set): explored from an earlier state, and independent of what
        #: ran since.
        self.sleep = sleep


_Sleep = dict[int, set[object]]


def _dependent(a: set[object], b: set[object]) -> bool:
    return _sched.ANYTHING in a or _sched.ANYTHING in b or not a.isdisjoint(b)


class _PartialOrder:
    """Every schedule up to reordering of independent steps: dynamic partial-order reduction.

    Flanagan and Godefroid's DPOR (POPL 2005), stateless: each run replays a
    prefix of the path and then lets the thread that ran go on. Afterwards
    every step is checked against the earlier steps of other threads: where
    two steps touched the same object (a lock, a thread, a channel, the
    clock) and neither had to happen before the other, the earlier
    scheduling point gets a new branch that runs the later thread first.
    Steps that touch disjoint objects commute, so their orders are not
    explored twice. Sleep sets (Godefroid) prune what DPOR alone would still
    repeat: a thread already run from a state sleeps in the states after it
    until something it conflicts with runs. Together they turn the 28,680
    schedules of two threads taking one lock each into a few dozen.

    Waits get the co-enabledness rule of DPOR: a step of a thread woken from
    a wait happens after the step that woke it (they never race), and a
    *pure* wait -- a step that began at the wait's own switch point and only
    found the lock held or the thread unfinished -- does not race with the
    step that ends it: running that step first leads to the state the
    woken thread resumes in anyway. (Without it, every "try, block, be
    woken" was a second order of the same behaviour: 1,072 runs for two
    threads of three mutex increments instead of 126.) A step
    of traced user code (a line, a store) conflicts with every step, so with
    ``trace=True`` this degrades to plain depth-first search.
    """

    #: Whether a thread woken from a wait is ordered after its waker, and a
    #: pure wait does not race with the step that ends it (see :meth:`_races`);
    #: off, every such pair is a race, as in plain DPOR (the tests compare).
    wait_reduction = True

    def __init__(self, runner: _Runner) -> None:
        self._runner = runner
        self._stack: list[_State] = []
        self._prefix = 0  # how many scheduling points replay the stack's choices
        self._sleeps: list[_Sleep] = []  # this run's sleep sets, from the prefix on

    def restart(self) -> None:
        self._sleeps = [self._stack[self._prefix - 1].sleep] if self._prefix else [{}]

    def _sleep_at(self, at: int, sched: Scheduler) -> _Sleep:
        """The sleep set at scheduling point ``at`` (>= prefix - 1) of the current run."""
        points, footprints = sched.points, sched.footprints
        assert points is not None
        assert footprints is not None
        base = max(self._prefix - 1, 0)
        sleeps = self._sleeps
        while base + len(sleeps) <= at:
            j = base + len(sleeps) - 1
            ran, touched = points[j][1], footprints[j]
            asleep = dict(sleeps[-1])
            if j == self._prefix - 1:  # the branch point: what was explored there sleeps
                asleep.update(self._stack[j].done)
            sleeps.append(
                {t: fp for t, fp in asleep.items() if t != ran and not _dependent(fp, touched)}
            )
        return sleeps[at - base]

    def choose(self, candidates: list[SimThread], preempting: bool) -> int:
        sched = self._runner.sched
        assert sched is not None
        assert sched.points is not None
        at = len(sched.points)
        if at >= self._prefix:
            asleep = self._sleep_at(at, sched)
            for i, t in enumerate(candidates):
                if t.index not in asleep:
                    return i
            return 0  # every thread sleeps: nothing new down here, but the run must end
        wanted = self._stack[at].chosen
        for i, t in enumerate(candidates):
            if t.index == wanted:
                return i
        raise _Mismatch(
            _NONDETERMINISTIC.format(self._stack[at].enabled, tuple(t.index for t in candidates))
        )

    def advance(self, sched: Scheduler) -> bool:
        """Learn from the run just made; set up the next one. False when the search is over."""
        points, footprints = sched.points, sched.footprints
        assert points is not None
        assert footprints is not None
        stack = self._stack
        for k in range(min(self._prefix, len(points))):
            if points[k] != (stack[k].enabled, stack[k].chosen):
                raise _Mismatch(_NONDETERMINISTIC.format(stack[k].enabled, points[k][0]))
        if self._prefix:
            branch = stack[self._prefix - 1]
            branch.done[branch.chosen] = footprints[self._prefix - 1]
        for k in range(self._prefix, len(points)):
            enabled, chosen = points[k]
            stack.append(_State(enabled, chosen, footprints[k], self._sleep_at(k, sched)))
        assert sched.wakers is not None
        assert sched.pure_waits is not None
        self._races(points, footprints, sched.wakers, sched.pure_waits)
        for depth in range(len(stack) - 1, -1, -1):
            state = stack[depth]
            todo = state.backtrack - state.done.keys() - state.sleep.keys()
            if todo:
                state.chosen = min(todo)
                del stack[depth + 1 :]
                self._prefix = depth + 1
                return True
        return False

    def _races(
        self,
        points: list[tuple[tuple[int, ...], int]],
        footprints: list[set[object]],
        wakers: list[int],
        pure_waits: set[int],
    ) -> None:
        """Add a branch before every step for each later, conflicting step it races with.

        Vector clocks give happens-before. Steps are indexed by what they
        touched, so each step is compared with the steps that share a key
        with it (and those that touched :data:`ANYTHING`), not with all.
        """
        stack = self._stack
        anything = _sched.ANYTHING
        clocks: list[dict[int, int]] = []  # vector clock of each step
        known: dict[int, dict[int, int]] = {}  # each thread's clock after its last step
        by_key: dict[object, list[int]] = {}  # the steps that touched each key
        wild: list[int] = []  # the steps that touched ANYTHING
        everything: dict[int, int] = {}  # the join of every clock so far
        #: For a step that woke a thread: that thread's wait, when the wait did
        #: nothing else (a pure wait: a lock found held, a thread not yet
        #: finished). Running the waker first would have let the wait go on at
        #: once: the very state the woken thread resumes in after the waker,
        #: whose orders are explored from there. So the two do not race.
        futile: dict[int, int] = {}
        latest: dict[int, int] = {}  # each thread's latest step so far
        reduce = self.wait_reduction
        for k, (_, thread) in enumerate(points if reduce else ()):
            waker = wakers[k]
            wait = latest.get(thread, -1)
            if waker >= 0 and wait in pure_waits:
                waited = footprints[wait]
                if len(waited) == 1 and waited <= footprints[waker] and anything not in waited:
                    futile[waker] = wait
            latest[thread] = k
        for k, (_, thread) in enumerate(points):
            touched = footprints[k]
            skip = futile.get(k, -1)
            before = known.get(thread, {})
            waker = wakers[k] if reduce else -1
            if waker >= 0:
                # Woken from a wait by step ``waker`` (a release, a notify, a
                # send): this step could not have run before it, so the two
                # do not race (they are never co-enabled), and neither does
                # what the waker knew. The order that matters -- this thread
                # waiting only after the waker's step -- races at its wait.
                before = dict(before)
                for t, c in clocks[waker].items():
                    if before.get(t, 0) < c:
                        before[t] = c
            if anything in touched:
                groups: list[Sequence[int]] = [range(k)]
            else:
                groups = [by_key.get(key, ()) for key in touched]
                groups.append(wild)
            race = -1
            for group in groups:
                for i in reversed(group):
                    if i <= race:
                        break
                    if i == skip:
                        continue
                    other = points[i][1]
                    if other != thread and before.get(other, 0) <= i:
                        race = i  # the latest conflicting step not known to this thread
                        break
            if race >= 0:
                state = stack[race]
                if thread in state.enabled:
                    state.backtrack.add(thread)
                else:
                    state.backtrack.update(state.enabled)
            clock = dict(before)
            if anything in touched:
                sources: list[dict[int, int]] = [everything]
            else:
                last = [group[-1] for group in groups if group]
                sources = [clocks[i] for i in last]
            for source in sources:
                for t, c in source.items():
                    if clock.get(t, 0) < c:
                        clock[t] = c
            clock[thread] = k + 1
            clocks.append(clock)
            known[thread] = clock
            for t, c in clock.items():
                if everything.get(t, 0) < c:
                    everything[t] = c
            if anything in touched:
                wild.append(k)
            else:
                for key in touched:
                    by_key.setdefault(key, []).append(k)


_NONDETERMINISTIC = (
    "the test is not deterministic: the same schedule prefix led to different runnable "
    "threads ({} before, {} now); does it depend on time, randomness, I/O or objects made "
    "outside the test?"
)


# -- replay strings -----------------------------------------------------------------------


def encode_schedule(decisions: list[int]) -> str:
    """``[0, 0, 0, 1, 1, 0]`` -> ``"1:0*3-1*2-0"``."""
    parts = []
    for index, group in itertools.groupby(decisions):
        n = sum(1 for _ in group)
        parts.append(str(index) if n == 1 else f"{index}*{n}")
    return f"{_REPLAY_VERSION}:" + "-".join(parts)


def decode_schedule(text: str) -> list[int]:
    """The decisions of a replay string (see :func:`encode_schedule`)."""
    if not isinstance(text, str):
        raise TypeError(f"replay must be a schedule string, got {type(text).__name__}")
    version, sep, body = text.strip().partition(":")
    if not sep or version != _REPLAY_VERSION:
        raise ValueError(
            f"{text!r} is not a fearless.testing schedule: copy the replay='...' string "
            "printed by a failing explore()"
        )
    decisions: list[int] = []
    for part in body.split("-") if body else ():
        index, star, count = part.partition("*")
        try:
            n = int(count) if star else 1
            thread = int(index)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a fearless.testing schedule: bad part {part!r}"
            ) from None
        if n < 1 or thread < 0:
            raise ValueError(f"{text!r} is not a fearless.testing schedule: bad part {part!r}")
        decisions.extend([thread] * n)
    return decisions


# -- running ------------------------------------------------------------------------------


class _Runner:
    """Runs the test once per schedule and turns a failing run into a :class:`ScheduleFailure`."""

    def __init__(
        self,
        fn: Callable[[], object],
        *,
        trace: bool,
        max_steps: int,
        stall_timeout: float,
    ) -> None:
        self.fn = fn
        self.trace = trace
        self.max_steps = max_steps
        self.stall_timeout = stall_timeout
        self.runs = 0
        self.longest = 0
        self.seen: set[tuple[int, ...]] = set()
        self.sched: Scheduler | None = None
        self.started = time.perf_counter()
        self.found_after = 0.0  # when the first failing run ended

    def run(
        self, chooser: _sched.Chooser, *, record: bool = False, track: bool = False
    ) -> Scheduler:
        sched = Scheduler(
            chooser, max_steps=self.max_steps, record=record, trace=self.trace, track=track
        )
        self.sched = sched
        # The cyclic GC would run finalisers at points that differ from run
        # to run; with it off, a schedule means the same run every time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with _sched.running(sched):
                main = sched.start_thread(self.fn, "main")
                sched.begin(main)
                self._await(sched)
            sched.close()  # not after a stall: a late release must not hit a reused fd
        finally:
            if collecting:
                gc.enable()
        self.runs += 1
        if sched.failure is not None and not self.found_after:
            self.found_after = time.perf_counter() - self.started
        self.longest = max(self.longest, sched.steps)
        self.seen.add(tuple(sched.decisions))
        return sched

    def _await(self, sched: Scheduler) -> None:
        last: tuple[int, SimThread | None] = (-1, None)
        since = time.monotonic()
        while True:
            if sched.signal.acquire(0.2):
                if not sched.serve():
                    return
                continue
            now = time.monotonic()
            progress = (sched.steps, sched.current)
            if progress != last:
                last, since = progress, now
            elif now - since > self.stall_timeout:
                self._stalled(sched)

    def _stalled(self, sched: Scheduler) -> NoReturn:
        t = sched.current
        frame = sys._current_frames().get(t.ident) if t is not None else None
        stack = "".join(traceback.format_stack(frame)) if frame is not None else "(no stack)"
        name = f"T{t.index} {t.name!r}" if t is not None else "the running thread"
        raise ScheduleFailure(
            f"{name} ran for {self.stall_timeout} s without reaching a switch point: it "
            "blocks outside the scheduler's control (a lock made before explore() started, "
            "I/O, a C extension) or computes for too long; its stack:\n" + stack,
            encode_schedule(sched.decisions),
            (),
            self.runs + 1,
        )

    def failure(self, decisions: list[int], first: BaseException | None = None) -> ScheduleFailure:
        """Replay ``decisions`` with recording on and build the public error."""
        runs = self.runs  # the replay below is not one more schedule explored
        sched = self.run(_Replay(decisions), record=True)
        error = sched.failure
        schedule = encode_schedule(sched.decisions)
        steps = tuple(sched.steps_log or ())
        note = ""
        if error is None:
            error = first
            note = (
                "\n(the failure did not happen again when the schedule was replayed: the test "
                "is not deterministic under a fixed schedule -- does it use time, randomness, "
                "I/O, or objects made outside the test?)"
            )
        assert error is not None
        cls: type[ScheduleFailure] = ScheduleFailure
        if isinstance(error, _sched.Deadlock):
            cls, headline = DeadlockFound, f"deadlock: {error}"
        elif isinstance(error, _sched.StepLimit):
            cls, headline = StepLimitExceeded, str(error)
        elif isinstance(error, _Mismatch):
            headline = str(error)
        else:
            cause = error.__cause__ if isinstance(error, _sched.UnhandledThreadError) else error
            text = str(cause)
            headline = f"{type(cause).__name__}{': ' + text if text else ''}"
            if isinstance(error, _sched.UnhandledThreadError):
                headline = f"{error}"
        message = (
            f"{headline}\n"
            f"replay this schedule with explore(..., replay={schedule!r}){note}\n"
            f"{render(steps)}"
        )
        failure = cls(message, schedule, steps, runs, self.found_after)
        if not isinstance(error, (_sched.Deadlock, _sched.StepLimit, _Mismatch)):
            cause = error.__cause__ if isinstance(error, _sched.UnhandledThreadError) else error
            failure.__cause__ = cause
        return failure


def render(steps: tuple[Step, ...] | list[Step], *, around: int = 2) -> str:
    """The steps of a run as text, one line per step, long stretches of one thread shortened."""
    if not steps:
        return "(no steps recorded)"
    switches = sum(1 for a, b in itertools.pairwise(steps) if a.thread != b.thread)
    lines = [f"schedule: {len(steps)} steps, {switches} context switches"]
    for _, group in itertools.groupby(steps, key=lambda s: s.thread):
        run = list(group)
        if len(run) > 2 * around + 1:
            lines.extend(f"  {s}" for s in run[:around])
            lines.append(f"       ... {len(run) - 2 * around} more steps of T{run[0].thread}")
            lines.extend(f"  {s}" for s in run[-around:])
        else:
            lines.extend(f"  {s}" for s in run)
    return "\n".join(lines)


# -- strategies ---------------------------------------------------------------------------


class _FailedRun(Exception):
    """A run failed: its decisions (raised inside Hypothesis, so it can shrink them)."""

    def __init__(self, decisions: list[int], error: BaseException) -> None:
        super().__init__(f"schedule {encode_schedule(decisions)} failed: {error!r}")
        self.decisions = decisions
        self.error = error


_NO_HYPOTHESIS: Final = (
    "explore()'s strategy='hypothesis' (the default) needs Hypothesis, which is not "
    "installed: pip install 'fearless[testing]'. Or pass a strategy that needs nothing "
    "more: strategy='exhaustive' (every schedule of a small test), 'random' or 'pct'."
)


def _check_hypothesis() -> None:
    """Raise an ImportError that says what to do when Hypothesis cannot be imported."""
    try:
        import hypothesis.strategies  # noqa: F401, PLC0415 - an optional dependency
    except ImportError as error:
        raise ImportError(_NO_HYPOTHESIS, name=error.name) from None


def _by_hypothesis(runner: _Runner, schedules: int, seed: int | None) -> None:
    _check_hypothesis()
    import hypothesis  # noqa: PLC0415 - an optional dependency
    from hypothesis import strategies as st  # noqa: PLC0415

    @hypothesis.settings(
        max_examples=schedules,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=hypothesis.Verbosity.quiet,
        phases=(hypothesis.Phase.generate, hypothesis.Phase.shrink),
        suppress_health_check=[
            hypothesis.HealthCheck.too_slow,
            hypothesis.HealthCheck.data_too_large,
            hypothesis.HealthCheck.filter_too_much,
        ],
    )
    @hypothesis.given(st.data())
    def one_schedule(data: Any) -> None:
        chooser = _Drawn(runner, data, st)
        sched = runner.run(chooser)
        if chooser.stopped is not None:
            raise chooser.stopped
        if sched.failure is not None:
            raise _FailedRun(sched.decisions, sched.failure)

    if seed is not None:
        one_schedule = hypothesis.seed(seed)(one_schedule)
    try:
        one_schedule()
    except _FailedRun as failed:
        decisions, error = failed.decisions, failed.error
    else:
        return
    # Raised outside the except block, so that the test's own exception
    # (set as __cause__ by runner.failure) is the only one chained.
    raise runner.failure(decisions, error)


def _check(runner: _Runner, sched: Scheduler) -> None:
    if sched.failure is not None:
        raise runner.failure(sched.decisions, sched.failure)


def _randomly(runner: _Runner, schedules: int, seed: int | None) -> None:
    rng = random.Random(seed)
    for _ in range(schedules):
        _check(runner, runner.run(_Random(random.Random(rng.getrandbits(64)))))


def _by_pct(runner: _Runner, schedules: int, seed: int | None, depth: int) -> None:
    rng = random.Random(seed)
    length = 0
    for _ in range(schedules):
        sched = runner.run(_PCT(random.Random(rng.getrandbits(64)), depth, length or 64))
        _check(runner, sched)
        length = max(length, len(sched.decisions))


class _Covered(NamedTuple):
    """How far an exhaustive search went (see :class:`Exploration`)."""

    complete: bool
    stopped_by: Literal["schedules", "preemption_bound"] | None
    preemption_bound: int | None


def _exhaustively(runner: _Runner, schedules: int, bound: int | None) -> _Covered:
    if bound is None and not runner.trace:
        search = _PartialOrder(runner)
        for _ in range(schedules):
            search.restart()
            sched = runner.run(search, track=True)
            _check(runner, sched)
            try:
                more = search.advance(sched)
            except _Mismatch as mismatch:
                raise runner.failure(sched.decisions, mismatch) from None
            if not more:
                return _Covered(True, None, None)
        return _Covered(False, "schedules", None)
    # Traced code conflicts everywhere, so the unbounded space is huge: search
    # it by increasing preemption bound (CHESS's iterative context bounding),
    # so that a bug is found with as few preemptions as it needs.
    covered: int | None = None  # the deepest bound searched to its end
    for level in itertools.count() if bound is None else (bound,):
        dfs = _DepthFirst(level)
        while True:
            if runner.runs >= schedules:
                return _Covered(False, "schedules", covered)
            dfs.restart()
            _check(runner, runner.run(dfs))
            if not dfs.advance():
                break
        if not dfs.pruned:
            return _Covered(True, None, None)  # nothing was cut off: that was every schedule
        covered = level
    assert bound is not None
    return _Covered(False, "preemption_bound", bound)


# -- the entry point -----------------------------------------------------------------------


def explore(
    fn: Callable[[], object],
    /,
    *,
    strategy: Strategy = "hypothesis",
    schedules: int | None = None,
    seed: int | None = None,
    trace: bool = False,
    max_steps: int = 100_000,
    preemption_bound: int | None = None,
    depth: int = 3,
    replay: str | None = None,
    stall_timeout: float = 10.0,
) -> Exploration:
    """Run ``fn`` under many schedules; raise on the first that fails.

    ``fn`` is the test: it starts threads (``fearless.spawn``, ``scope``,
    or ``threading.Thread``), joins them and checks what they did. Each run
    executes it from the start with only one thread running at a time, and
    at every switch point the strategy decides which runnable thread goes
    next. A failing run — an exception in ``fn`` or in a thread nobody
    joined, every thread blocked, more than ``max_steps`` switch points —
    raises :class:`ScheduleFailure` with the schedule's trace and a replay
    string.

    Args:
        fn: The test, called with no arguments once per schedule. It must be
            deterministic given the schedule (no time, randomness or I/O
            deciding what threads do) and make the objects it shares
            itself: locks made before ``explore`` are not under control.
        strategy: ``"hypothesis"`` (the default: Hypothesis draws the
            decisions and shrinks a failure to a minimal schedule; needs
            ``hypothesis`` installed), ``"random"`` (uniform at every
            decision), ``"pct"`` (probabilistic concurrency testing: random
            thread priorities, ``depth - 1`` priority changes) or
            ``"exhaustive"`` (every schedule, depth first, within
            ``preemption_bound``).
        schedules: How many schedules to run at most. Defaults: 200
            (hypothesis), 1000 (random, pct), 100,000 (exhaustive). An
            exhaustive search that reaches this limit stops there and
            passes without being complete: the result's ``stopped_by`` is
            ``"schedules"`` and its summary says ``stopped at the limit of
            N schedules``.
        seed: Makes ``"random"``, ``"pct"`` and ``"hypothesis"`` choose the
            same schedules every time.
        trace: Also switch at every line of user code and before every store
            to shared state inside a line (a global, a closure variable, an
            attribute, an item), so races in plain Python such as
            ``counter += 1`` are found. Code of fearless, the standard
            library and installed packages is not traced.
        max_steps: The most switch points one run may take; more fails as a
            probable livelock.
        preemption_bound: ``"exhaustive"`` only: the most times one schedule
            may switch away from a thread that could have gone on (CHESS's
            bound; most bugs need one or two). ``None`` (the default): no
            bound. Without ``trace`` the unbounded search is complete and
            small, because orders of steps that touch different objects are
            explored once (partial-order reduction). With ``trace=True``
            every line may conflict with every other, the space grows
            exponentially with the number of lines, and a bound of 2 is the
            practical choice. A bound that left schedules out makes the
            result not ``complete`` (``stopped_by="preemption_bound"``).
        depth: ``"pct"`` only: the bug depth to aim for (priority changes + 1).
        replay: A schedule string from a :class:`ScheduleFailure`: run
            exactly that schedule, once, and raise the failure again with
            its trace.
        stall_timeout: Real seconds a thread may run without reaching a
            switch point before the exploration fails (it is blocked on
            something the scheduler does not control).

    Returns:
        What was covered, when no schedule failed. Its ``complete`` is True
        only when nothing -- a ``preemption_bound``, the limit of
        ``schedules`` -- cut an exhaustive search; ``stopped_by`` names
        what did.

    Raises:
        ScheduleFailure: A schedule failed; :class:`DeadlockFound` and
            :class:`StepLimitExceeded` for those two cases.
        ImportError: ``strategy="hypothesis"`` (the default) without
            Hypothesis installed, before anything runs: install it with
            ``pip install 'fearless[testing]'``, or pass another strategy
            (none of the others needs it).
        TypeError, ValueError: A bad argument.
        RuntimeError: Called from inside another exploration.

    Example:
        >>> from fearless import Mutex, scope
        >>> from fearless.testing import explore
        >>> def test():
        ...     counter = Mutex(0)
        ...     def work():
        ...         with counter.lock() as guard:
        ...             guard.value += 1
        ...     with scope() as s:
        ...         s.spawn(work)
        ...         s.spawn(work)
        ...     assert counter.into_inner() == 2
        >>> result = explore(test, strategy="exhaustive")
        >>> result.complete       # every schedule ran, and passed
        True
    """
    _validate(
        fn,
        strategy=strategy,
        schedules=schedules,
        seed=seed,
        trace=trace,
        max_steps=max_steps,
        preemption_bound=preemption_bound,
        depth=depth,
        stall_timeout=stall_timeout,
    )
    if _sched.running_here() is not None:
        raise RuntimeError("explore() cannot run inside another explore()")
    decisions = None if replay is None else decode_schedule(replay)
    if strategy == "hypothesis" and decisions is None:
        _check_hypothesis()  # before anything runs
    with _sched.controlling():
        return _explore(
            fn,
            strategy=strategy,
            schedules=schedules,
            seed=seed,
            trace=trace,
            max_steps=max_steps,
            preemption_bound=preemption_bound,
            depth=depth,
            decisions=decisions,
            stall_timeout=stall_timeout,
        )


def _explore(
    fn: Callable[[], object],
    *,
    strategy: Strategy,
    schedules: int | None,
    seed: int | None,
    trace: bool,
    max_steps: int,
    preemption_bound: int | None,
    depth: int,
    decisions: list[int] | None,
    stall_timeout: float,
) -> Exploration:
    runner = _Runner(fn, trace=trace, max_steps=max_steps, stall_timeout=stall_timeout)
    started = time.perf_counter()
    covered = _Covered(False, None, None)
    if decisions is not None:
        chooser = _Replay(decisions)
        sched = runner.run(chooser)
        if sched.failure is not None:
            raise runner.failure(decisions, sched.failure)
        if chooser.unused():
            raise ScheduleFailure(
                f"the schedule does not fit this test: it has {len(decisions)} decisions, the "
                f"test made {len(sched.decisions)} (did the test change?)",
                encode_schedule(decisions),
                (),
                runner.runs,
            )
        strategy_name = "replay"
    else:
        n = schedules if schedules is not None else _DEFAULT_SCHEDULES[strategy]
        strategy_name = strategy
        if strategy == "exhaustive":
            covered = _exhaustively(runner, n, preemption_bound)
        else:
            if strategy == "hypothesis":
                _by_hypothesis(runner, n, seed)
            elif strategy == "random":
                _randomly(runner, n, seed)
            else:
                _by_pct(runner, n, seed, depth)
            if runner.runs >= n:
                covered = _Covered(False, "schedules", None)
    return Exploration(
        strategy=strategy_name,
        schedules=runner.runs,
        distinct=len(runner.seen),
        complete=covered.complete,
        longest=runner.longest,
        seconds=time.perf_counter() - started,
        stopped_by=covered.stopped_by,
        preemption_bound=covered.preemption_bound,
    )


def _validate(
    fn: object,
    *,
    strategy: object,
    schedules: object,
    seed: object,
    trace: object,
    max_steps: object,
    preemption_bound: object,
    depth: object,
    stall_timeout: object,
) -> None:
    if not callable(fn):
        raise TypeError(f"explore() needs the test as a callable, got {type(fn).__name__} {fn!r}")
    if strategy not in _STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(map(repr, _STRATEGIES))}, got {strategy!r}"
        )
    for name, value, low in (
        ("schedules", schedules, 1),
        ("max_steps", max_steps, 1),
        ("preemption_bound", preemption_bound, 0),
        ("depth", depth, 1),
    ):
        if value is None and name in ("schedules", "preemption_bound"):
            continue
        if type(value) is not int or value < low:  # bool is not a count
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if seed is not None and type(seed) is not int:
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if type(trace) is not bool:
        raise TypeError(f"trace must be True or False, got {trace!r}")
    if (
        isinstance(stall_timeout, bool)
        or not isinstance(stall_timeout, (int, float))
        or not stall_timeout > 0
        or not math.isfinite(stall_timeout)
    ):
        raise ValueError(
            f"stall_timeout must be a positive number of seconds, got {stall_timeout!r}"
        )
