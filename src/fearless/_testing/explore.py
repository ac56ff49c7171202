"""``fearless.testing.explore``: run a test under many schedules (internal).

See :mod:`fearless.testing` for the user's view.

:func:`explore` validates its arguments, takes over for the exploration
(:func:`.takeover.controlling`) and runs the chosen strategy
(:mod:`.strategies`); :class:`Runner` runs the test once per schedule under
a fresh :class:`~.scheduler.Scheduler` and turns a failing run into a
:class:`~.report.ScheduleFailure` by replaying it with recording on.
Relies on every other module of this package.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Final, Literal, NoReturn

from . import takeover
from .report import (
    DeadlockFound,
    Exploration,
    Mismatch,
    ScheduleFailure,
    StepLimitExceeded,
    decode_replay,
    encode_schedule,
    fingerprint,
    render,
)
from .scheduler import Chooser, Deadlock, Scheduler, SimThread, StepLimit, UnhandledThreadError
from .strategies import (
    Covered,
    Replay,
    by_hypothesis,
    by_pct,
    check_hypothesis,
    exhaustively,
    in_hypothesis_test,
    randomly,
    within_given,
)
from .tracing import Reach, reach

__all__ = ["Runner", "Strategy", "explore"]

Strategy = Literal["hypothesis", "random", "pct", "exhaustive"]

_STRATEGIES: Final = ("hypothesis", "random", "pct", "exhaustive")
_DEFAULT_SCHEDULES: Final = {"hypothesis": 200, "random": 1000, "pct": 1000, "exhaustive": 100_000}

#: The clock of ``time_limit`` and of a failure's ``seconds`` (a seam for tests).
_clock: Callable[[], float] = time.perf_counter


class Runner:
    """Runs the test once per schedule and turns a failing run into a :class:`ScheduleFailure`."""

    def __init__(
        self,
        fn: Callable[[], object],
        *,
        trace: Reach | None,
        max_steps: int,
        stall_timeout: float,
        time_limit: float | None = None,
    ) -> None:
        self.fn = fn
        #: What a replay string records of the test (see report.fingerprint).
        self.fingerprint = fingerprint(fn)
        self.trace = trace
        self.max_steps = max_steps
        self.stall_timeout = stall_timeout
        self.runs = 0
        self.longest = 0
        self.seen: set[tuple[int, ...]] = set()
        self.sched: Scheduler | None = None
        self.started = _clock()
        self.found_after = 0.0  # when the first failing run ended
        self.found_at = 0  # how many schedules had run then, counting it
        self.deadline = math.inf if time_limit is None else self.started + time_limit
        #: Set once a strategy stopped because :meth:`out_of_time` said so.
        self.timed_out = False

    def out_of_time(self) -> bool:
        """Whether the time limit has passed; a strategy asks before each new run.

        A run in progress always finishes: a limit cuts the search between
        runs, never a run.
        """
        if _clock() < self.deadline:
            return False
        self.timed_out = True
        return True

    def run(self, chooser: Chooser, *, record: bool = False, track: bool = False) -> Scheduler:
        sched = Scheduler(
            chooser, max_steps=self.max_steps, record=record, trace=self.trace, track=track
        )
        self.sched = sched
        # The cyclic GC would run finalisers at points that differ from run
        # to run; with it off, a schedule means the same run every time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with takeover.running(sched):
                main = sched.start_thread(self.fn, "main")
                sched.begin(main)
                self._await(sched)
            sched.close()  # not after a stall: a late release must not hit a reused fd
        finally:
            if collecting:
                gc.enable()
        self.runs += 1
        # The first failing run is the finding, unless its chooser cut it
        # short (Hypothesis's data ran out: the strategy discards that run,
        # and its failure may be the cut's, not the test's).
        stopped = getattr(chooser, "stopped", None)
        if sched.failure is not None and stopped is None and not self.found_at:
            self.found_after = _clock() - self.started
            self.found_at = self.runs
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
            encode_schedule(sched.decisions, self.fingerprint),
            (),
            self.runs + 1,
            found_after=_clock() - self.started,
            found_at=self.runs + 1,
        )

    def failure(self, decisions: list[int], first: BaseException | None = None) -> ScheduleFailure:
        """Replay ``decisions`` with recording on and build the public error."""
        runs = self.runs  # the replay below is not one more schedule explored
        sched = self.run(Replay(decisions), record=True)
        error = sched.failure
        schedule = encode_schedule(sched.decisions, self.fingerprint)
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
        if isinstance(error, Deadlock):
            cls, headline = DeadlockFound, f"deadlock: {error}"
        elif isinstance(error, StepLimit):
            cls, headline = StepLimitExceeded, str(error)
        elif isinstance(error, Mismatch):
            headline = str(error)
        else:
            cause = error.__cause__ if isinstance(error, UnhandledThreadError) else error
            text = str(cause)
            headline = f"{type(cause).__name__}{': ' + text if text else ''}"
            if isinstance(error, UnhandledThreadError):
                headline = f"{error}"
        message = (
            f"{headline}\n"
            f"replay this schedule with explore(..., replay={schedule!r}){note}\n"
            f"{render(steps)}"
        )
        failure = cls(
            message, schedule, steps, runs, found_after=self.found_after, found_at=self.found_at
        )
        if not isinstance(error, (Deadlock, StepLimit, Mismatch)):
            cause = error.__cause__ if isinstance(error, UnhandledThreadError) else error
            failure.__cause__ = cause
        return failure


# -- the entry point -----------------------------------------------------------------------


def explore(
    fn: Callable[[], object],
    /,
    *,
    strategy: Strategy = "hypothesis",
    schedules: int | None = None,
    seed: int | None = None,
    trace: bool | str | Sequence[str] = False,
    max_steps: int = 100_000,
    preemption_bound: int | None = None,
    depth: int = 3,
    replay: str | None = None,
    stall_timeout: float = 10.0,
    time_limit: float | None = None,
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
        trace: Also switch at every line of traced code and before every
            store to shared state inside a line (a global, a closure
            variable, an attribute, an item), so races in plain Python such
            as ``counter += 1`` are found. ``True``: the test's own code
            (everything outside the standard library and installed
            packages). A module name, or a list of them
            (``["cachetools", "myapp"]``): those packages too, wherever they
            are installed (a race inside library code is then found). Make
            the objects such a package locks inside the test: a lock it made
            at import is outside the scheduler's control. ``"all"``: the
            whole standard library and every installed package too, where
            the test's code reaches them (not where fearless's primitives
            or the explorer call them). fearless's own code and the import
            system are never traced. ``False`` (the default): only
            fearless's operations are switch points.
        max_steps: The most switch points one run may take; more fails as a
            probable livelock.
        preemption_bound: ``"exhaustive"`` only: the most times one schedule
            may switch away from a thread that could have gone on (CHESS's
            bound; most bugs need one or two). ``None`` (the default): no
            bound. Without ``trace`` the unbounded search is complete and
            small, because orders of steps that touch different objects are
            explored once (partial-order reduction). With ``trace``
            every line may conflict with every other, the space grows
            exponentially with the number of lines, and a bound of 2 is the
            practical choice. A bound that left schedules out makes the
            result not ``complete`` (``stopped_by="preemption_bound"``).
        depth: ``"pct"`` only: the bug depth to aim for (priority changes + 1).
        replay: A schedule string from a :class:`ScheduleFailure`: run
            exactly that schedule, once, and raise the failure again with
            its trace. The string records a fingerprint of the test
            function's source: replayed against a test that changed since,
            it raises a :class:`ScheduleFailure` that says so instead of
            running something else (a change to the code under test -- the
            fix -- is fine).
        stall_timeout: Real seconds a thread may run without reaching a
            switch point before the exploration fails (it is blocked on
            something the scheduler does not control).
        time_limit: Wall-clock seconds the search may take, or None (the
            default) for no limit. Checked before each run (a run in
            progress finishes): once it has passed, the search stops and
            passes without being complete, with ``stopped_by`` set to
            ``"time_limit"``; it cuts the limit of ``schedules`` short, and
            is ignored by ``replay``, which runs one schedule.

    Returns:
        What was covered, when no schedule failed. Its ``complete`` is True
        only when nothing -- a ``preemption_bound``, the limit of
        ``schedules``, the ``time_limit`` -- cut an exhaustive search;
        ``stopped_by`` names what did.

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
        >>> from fearless import scope
        >>> from fearless.atomic import AtomicI64
        >>> from fearless.testing import explore
        >>> def test():
        ...     hits = AtomicI64(0)
        ...     with scope() as s:
        ...         s.spawn(hits.fetch_add, 1)
        ...         s.spawn(hits.fetch_add, 1)
        ...     assert hits.load() == 2
        >>> result = explore(test, strategy="exhaustive")
        >>> result.complete       # every schedule ran, and passed
        True
    """
    settings = _Settings(
        fn,
        strategy=strategy,
        schedules=schedules,
        seed=seed,
        trace=trace,
        max_steps=max_steps,
        preemption_bound=preemption_bound,
        depth=depth,
        stall_timeout=stall_timeout,
        time_limit=time_limit,
    )
    if takeover.running_here() is not None:
        raise RuntimeError("explore() cannot run inside another explore()")
    recorded, decisions = (None, None) if replay is None else decode_replay(replay)
    if strategy == "hypothesis" and decisions is None:
        check_hypothesis()  # before anything runs
    if recorded is not None:
        _check_fingerprint(recorded, fn)
    with takeover.controlling():
        return _explore(settings, decisions)


def _check_fingerprint(recorded: str, fn: Callable[[], object]) -> None:
    """Refuse a replay string recorded for another version of the test."""
    now = fingerprint(fn)
    if now is not None and now != recorded:
        raise ScheduleFailure(
            f"the schedule was recorded for another version of this test (fingerprint "
            f"{recorded}; the test's is {now} now): the test changed since, and the "
            "schedule would run something else. Explore the test again for a new one.",
            "",
            (),
            0,
        )


def _explore(settings: _Settings, decisions: list[int] | None) -> Exploration:
    strategy, schedules, seed = settings.strategy, settings.schedules, settings.seed
    runner = Runner(
        settings.fn,
        trace=reach(settings.trace),
        max_steps=settings.max_steps,
        stall_timeout=settings.stall_timeout,
        time_limit=None if decisions is not None else settings.time_limit,
    )
    started = time.perf_counter()
    covered = Covered(False, None, None)
    if decisions is not None:
        chooser = Replay(decisions)
        sched = runner.run(chooser)
        if sched.failure is not None:
            raise runner.failure(decisions, sched.failure)
        if chooser.unused():
            raise ScheduleFailure(
                f"the schedule does not fit this test: it has {len(decisions)} decisions, the "
                f"test made {len(sched.decisions)} (did the test change?)",
                encode_schedule(decisions, runner.fingerprint),
                (),
                runner.runs,
            )
        strategy_name = "replay"
    else:
        n = schedules if schedules is not None else _DEFAULT_SCHEDULES[strategy]
        strategy_name = strategy
        if strategy == "exhaustive":
            covered = exhaustively(runner, n, settings.preemption_bound)
        else:
            if strategy == "hypothesis" and in_hypothesis_test():
                n = schedules if schedules is not None else 1  # per test case of the user's
                within_given(runner, n)
            elif strategy == "hypothesis":
                by_hypothesis(runner, n, seed)
            elif strategy == "random":
                randomly(runner, n, seed)
            else:
                by_pct(runner, n, seed, settings.depth)
            if runner.runs >= n:
                covered = Covered(False, "schedules", None)
        if runner.timed_out:
            covered = Covered(False, "time_limit", covered.preemption_bound)
    return Exploration(
        strategy=strategy_name,
        schedules=runner.runs,
        distinct=len(runner.seen),
        complete=covered.complete,
        longest=runner.longest,
        seconds=time.perf_counter() - started,
        stopped_by=covered.stopped_by,
        preemption_bound=covered.preemption_bound,
        time_limit=settings.time_limit if covered.stopped_by == "time_limit" else None,
        untraced=dict(runner.trace.untraced) if runner.trace is not None else {},
    )


@dataclasses.dataclass(frozen=True)
class _Settings:
    """:func:`explore`'s arguments, checked once when made (``__post_init__``)."""

    fn: Callable[[], object]
    strategy: Strategy
    schedules: int | None
    seed: int | None
    trace: bool | str | Sequence[str]
    max_steps: int
    preemption_bound: int | None
    depth: int
    stall_timeout: float
    time_limit: float | None

    def __post_init__(self) -> None:
        _validate(**vars(self))


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
    time_limit: object,
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
    reach(trace)  # raises if it is not a valid trace= (resolved again when the search starts)
    for name, seconds in (("stall_timeout", stall_timeout), ("time_limit", time_limit)):
        if seconds is None and name == "time_limit":
            continue
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not seconds > 0
            or not math.isfinite(seconds)
        ):
            none = " or None" if name == "time_limit" else ""
            raise ValueError(f"{name} must be a positive number of seconds{none}, got {seconds!r}")
