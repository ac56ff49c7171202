"""The exhaustive search without ``trace``: dynamic partial-order reduction (internal).

:class:`PartialOrder` is the chooser of ``explore(strategy="exhaustive")``
when lines are not traced: every schedule up to reordering of independent
steps, with sleep sets, and the wait rules described on the class. It
learns from each run's tracked scheduling points, footprints (the keys of
:mod:`.keys` each step touched), wakers and pure waits, all recorded by the
:class:`~.scheduler.Scheduler` with ``track=True``. Relies on those records
and :mod:`.report`'s :class:`~.report.Mismatch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .keys import ANYTHING, dependent
from .report import NONDETERMINISTIC, Mismatch
from .scheduler import Scheduler, SimThread

if TYPE_CHECKING:
    from .explore import Runner

__all__ = ["PartialOrder"]


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


class PartialOrder:
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

    def __init__(self, runner: Runner) -> None:
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
                {t: fp for t, fp in asleep.items() if t != ran and not dependent(fp, touched)}
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
        raise Mismatch(
            NONDETERMINISTIC.format(self._stack[at].enabled, tuple(t.index for t in candidates))
        )

    def advance(self, sched: Scheduler) -> bool:
        """Learn from the run just made; set up the next one. False when the search is over."""
        points, footprints = sched.points, sched.footprints
        assert points is not None
        assert footprints is not None
        stack = self._stack
        for k in range(min(self._prefix, len(points))):
            if points[k] != (stack[k].enabled, stack[k].chosen):
                raise Mismatch(NONDETERMINISTIC.format(stack[k].enabled, points[k][0]))
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

    def _races(  # noqa: PLR0912, PLR0915 - the dependence rules, one branch per kind of step
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
        anything = ANYTHING
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
