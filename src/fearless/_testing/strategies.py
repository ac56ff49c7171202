"""The strategies: who decides, at every decision, which thread goes next (internal).

A strategy is a :class:`~.scheduler.Chooser`. :class:`_Drawn` asks
Hypothesis (which then shrinks a failure towards fewer preemptions),
:class:`_Random` draws uniformly, :class:`_PCT` is probabilistic
concurrency testing, :class:`Replay` follows a replay string, and the
exhaustive search is :class:`~.partial_order.PartialOrder` without
``trace`` and :class:`_DepthFirst` by increasing preemption bound with it.
Each ``by_*`` function runs a whole exploration's worth of schedules with
one of them through the :class:`~.explore.Runner`. Relies on
:mod:`.scheduler`'s types, :mod:`.partial_order` and :mod:`.report`.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from .partial_order import PartialOrder
from .report import NONDETERMINISTIC, Mismatch, encode_schedule
from .scheduler import Scheduler, SimThread, UnhandledThreadError

if TYPE_CHECKING:
    from .explore import Runner

__all__ = [
    "Covered",
    "Replay",
    "by_hypothesis",
    "by_pct",
    "check",
    "check_hypothesis",
    "exhaustively",
    "randomly",
]


class _Drawn:
    """Draws every decision from Hypothesis.

    0 -- the thread that was running, when it can go on -- is where
    Hypothesis shrinks to, so a failure shrinks towards fewer preemptions.
    Only one simulated thread runs at a time, with real locks between them,
    so drawing from whichever thread is running is safe.
    """

    def __init__(self, runner: Runner, data: Any, strategies: Any) -> None:
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
            raise Mismatch("Hypothesis ended the test case")
        assert isinstance(value, int)
        return value


class Replay:
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
        raise Mismatch(
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
                raise Mismatch(NONDETERMINISTIC.format(node.options, options))
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


class _FailedRun(Exception):
    """A run failed: its decisions (raised inside Hypothesis, so it can shrink them)."""

    def __init__(self, decisions: list[int], error: BaseException) -> None:
        super().__init__(f"schedule {encode_schedule(decisions)} failed: {error!r}")
        self.decisions = decisions
        self.error = error


class _OutOfTime(KeyboardInterrupt):
    """The time limit passed: raised inside Hypothesis to end its search at once.

    A ``KeyboardInterrupt`` because that is the one exception Hypothesis
    passes straight through, as a request to stop: any other, even a
    ``BaseException``, would be taken for a failure to shrink, or, since
    the example stopped drawing where earlier ones went on, for a flaky
    strategy. :func:`by_hypothesis` catches it as soon as it leaves.
    """


_NO_HYPOTHESIS: Final = (
    "explore()'s strategy='hypothesis' (the default) needs Hypothesis, which is not "
    "installed: pip install 'fearless[testing]'. Or pass a strategy that needs nothing "
    "more: strategy='exhaustive' (every schedule of a small test), 'random' or 'pct'."
)


def check_hypothesis() -> None:
    """Raise an ImportError that says what to do when Hypothesis cannot be imported."""
    try:
        import hypothesis.strategies  # noqa: F401, PLC0415 - an optional dependency
    except ImportError as error:
        raise ImportError(_NO_HYPOTHESIS, name=error.name) from None


def in_hypothesis_test() -> bool:
    """Whether the caller runs inside a Hypothesis test (a user's own ``@given``)."""
    hypothesis = sys.modules.get("hypothesis")
    return hypothesis is not None and bool(hypothesis.currently_in_test_context())


def within_given(runner: Runner, schedules: int) -> None:
    """The default strategy inside a user's ``@given`` test: draw from that test's data.

    A nested ``@given`` would make Hypothesis quadratic (its ``nested_given``
    health check refuses it). The schedules' decisions are drawn from the
    test case in progress instead, like an ``st.data()`` draw: the user's
    settings decide how many test cases run (``max_examples``), whether
    they are derandomised, and where a failure is saved; Hypothesis shrinks
    the user's inputs and the schedule together, and replays the failing
    case first on the next run, from its example database.
    """
    from hypothesis import strategies as st  # noqa: PLC0415 - an optional dependency
    from hypothesis.control import current_build_context  # noqa: PLC0415

    data = current_build_context().data
    for _ in range(schedules):
        if runner.out_of_time():
            return
        chooser = _Drawn(runner, data, st)
        with _scrutineer_paused():
            sched = runner.run(chooser)
        if chooser.stopped is not None:
            raise chooser.stopped  # Hypothesis ends this test case (its data ran out)
        if sched.failure is not None:
            with _scrutineer_paused():  # the failure's replay, too
                failure = runner.failure(sched.decisions, sched.failure)
            raise failure


@contextlib.contextmanager
def _scrutineer_paused() -> Iterator[None]:
    """Hypothesis's explain phase off while a run traces (Python 3.12 and later).

    Replaying a failure, Hypothesis watches which lines run through
    ``sys.monitoring`` LINE events, for every thread, and disables each
    location once seen; CPython then stops reporting that location to
    ``sys.settrace`` as well, so a replayed schedule would take fewer steps
    than it did, and Hypothesis would call its own data flaky. Its events
    are off during the run (it learns nothing from the explored threads),
    and the locations are enabled again for the tracer.

    The events restart before every run, whether or not the scrutineer is
    there: on the free-threaded build (3.13t) a run right after a restart
    saw more line events than one without, so runs of the same schedule
    inside and outside the explain phase drew different numbers of
    decisions (Hypothesis's FlakyStrategyDefinition, in 11 of 12 runs of
    the test that shrinks inside a user's ``@given``; 0 of 6 since).
    """
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        yield
        return
    tools = [t for t in range(6) if monitoring.get_tool(t) == "scrutineer"]
    events = {t: monitoring.get_events(t) for t in tools}
    for tool in tools:
        monitoring.set_events(tool, monitoring.events.NO_EVENTS)
    monitoring.restart_events()
    try:
        yield
    finally:
        for tool, mask in events.items():
            if monitoring.get_tool(tool) == "scrutineer":
                monitoring.set_events(tool, mask)


def by_hypothesis(runner: Runner, schedules: int, seed: int | None) -> None:
    check_hypothesis()
    import hypothesis  # noqa: PLC0415 - an optional dependency
    from hypothesis import strategies as st  # noqa: PLC0415

    # The smallest failing run so far: Hypothesis only tries smaller
    # schedules once one failed, so it is the latest failure of the first's
    # kind. A time limit that passes while Hypothesis shrinks reports it.
    best: list[_FailedRun] = []

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
        if runner.out_of_time():
            raise _OutOfTime
        chooser = _Drawn(runner, data, st)
        sched = runner.run(chooser)
        if chooser.stopped is not None:
            raise chooser.stopped
        if sched.failure is not None:
            failed = _FailedRun(sched.decisions, sched.failure)
            if not best or _same_kind(failed.error, best[0].error):
                best[:] = [failed]
            raise failed

    if seed is not None:
        one_schedule = hypothesis.seed(seed)(one_schedule)
    try:
        one_schedule()
    except _FailedRun as failed:
        decisions, error = failed.decisions, failed.error
    except _OutOfTime:
        if not best:
            return
        decisions, error = best[0].decisions, best[0].error
    else:
        return
    # Raised outside the except block, so that the test's own exception
    # (set as __cause__ by runner.failure) is the only one chained.
    raise runner.failure(decisions, error)


def _same_kind(error: BaseException, first: BaseException) -> bool:
    """Whether two failures are the same bug to Hypothesis: the same exception type."""

    def kind(e: BaseException) -> type[BaseException]:
        cause = e.__cause__ if isinstance(e, UnhandledThreadError) else e
        return type(cause if cause is not None else e)

    return kind(error) is kind(first)


def check(runner: Runner, sched: Scheduler) -> None:
    if sched.failure is not None:
        raise runner.failure(sched.decisions, sched.failure)


def randomly(runner: Runner, schedules: int, seed: int | None) -> None:
    rng = random.Random(seed)
    for _ in range(schedules):
        if runner.out_of_time():
            return
        check(runner, runner.run(_Random(random.Random(rng.getrandbits(64)))))


def by_pct(runner: Runner, schedules: int, seed: int | None, depth: int) -> None:
    rng = random.Random(seed)
    length = 0
    for _ in range(schedules):
        if runner.out_of_time():
            return
        sched = runner.run(_PCT(random.Random(rng.getrandbits(64)), depth, length or 64))
        check(runner, sched)
        length = max(length, len(sched.decisions))


class Covered(NamedTuple):
    """How far an exhaustive search went (see :class:`Exploration`)."""

    complete: bool
    stopped_by: Literal["schedules", "preemption_bound", "time_limit"] | None
    preemption_bound: int | None


def exhaustively(runner: Runner, schedules: int, bound: int | None) -> Covered:
    if bound is None and not runner.trace:
        return _by_partial_order(runner, schedules)
    return _by_preemption_bounds(runner, schedules, bound)


def _by_partial_order(runner: Runner, schedules: int) -> Covered:
    """Every schedule, each order of conflicting steps once (untraced code only)."""
    search = PartialOrder(runner)
    for _ in range(schedules):
        if runner.out_of_time():
            return Covered(False, "time_limit", None)
        search.restart()
        sched = runner.run(search, track=True)
        check(runner, sched)
        try:
            more = search.advance(sched)
        except Mismatch as mismatch:
            raise runner.failure(sched.decisions, mismatch) from None
        if not more:
            return Covered(True, None, None)
    return Covered(False, "schedules", None)


def _by_preemption_bounds(runner: Runner, schedules: int, bound: int | None) -> Covered:
    """Every schedule within ``bound`` preemptions, or by increasing bounds if None."""
    # Traced code conflicts everywhere, so the unbounded space is huge: search
    # it by increasing preemption bound (CHESS's iterative context bounding),
    # so that a bug is found with as few preemptions as it needs.
    covered: int | None = None  # the deepest bound searched to its end
    for level in itertools.count() if bound is None else (bound,):
        dfs = _DepthFirst(level)
        while True:
            if runner.runs >= schedules:
                return Covered(False, "schedules", covered)
            if runner.out_of_time():
                return Covered(False, "time_limit", covered)
            dfs.restart()
            check(runner, runner.run(dfs))
            if not dfs.advance():
                break
        if not dfs.pruned:
            return Covered(True, None, None)  # nothing was cut off: that was every schedule
        covered = level
    assert bound is not None
    return Covered(False, "preemption_bound", bound)
