"""fearless.testing: the deterministic interleaving explorer.

The explorer is itself a concurrency tool, so these tests pin down what it
promises: races in plain Python and in misuse of fearless are found, correct
programs pass every schedule of the exhaustive search, deadlocks and
livelocks are reported, failures replay, and nothing of a run is left behind.
"""

from __future__ import annotations

import _thread
import collections
import contextlib
import functools
import gc
import importlib.util
import itertools
import linecache
import queue
import random
import re
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase

from _helpers import STRESS, TIMEOUT, TickingClock, run_python
from fearless import Condvar, Mutex, OnceLock, WouldBlockError, mpsc, scope, spawn
from fearless._testing.explore import Runner
from fearless.atomic import AtomicBool, AtomicInt, Ordering
from fearless.testing import (
    DeadlockFound,
    Exploration,
    History,
    ScheduleFailure,
    Step,
    StepLimitExceeded,
    Strategy,
    explore,
)

# -- the chapter's programs: the tour's finding_races example -------------------------------


def _load_example() -> Any:
    # The example is the one source of the demonstration programs; it lives in
    # examples/ (installed as fearless._examples, which mypy does not see).
    path = Path(__file__).resolve().parent.parent / "examples" / "finding_races.py"
    spec = importlib.util.spec_from_file_location("finding_races_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()
racy_counter: Callable[[], None] = example.racy_counter
mutex_counter: Callable[[], None] = example.mutex_counter
atomic_counter: Callable[[], None] = example.atomic_counter
racy_append: Callable[[], None] = example.racy_append
mutex_append: Callable[[], None] = example.mutex_append
opposite_orders: Callable[[], None] = example.opposite_orders
handoff: Callable[[bool], None] = example.handoff


def root_cause(failure: BaseException) -> BaseException:
    cause = failure.__cause__
    assert cause is not None, failure
    while isinstance(cause, BaseExceptionGroup):
        cause = cause.exceptions[0]
    return cause


def context_switches(steps: tuple[Step, ...]) -> int:
    return sum(1 for a, b in itertools.pairwise(steps) if a.thread != b.thread)


# -- demonstration 1: the racy counter -------------------------------------------------------


def test_racy_counter_is_found_and_shrinks_to_a_few_switches() -> None:
    with pytest.raises(ScheduleFailure) as info:
        explore(racy_counter, trace=True, seed=1)
    failure = info.value
    cause = root_cause(failure)
    assert isinstance(cause, AssertionError)
    assert re.match(r"Counter: [2-5]\b", str(cause)), cause
    # A lost update needs two switches inside one increment and one back;
    # Hypothesis shrinks the schedule to a handful of context switches.
    assert 2 <= context_switches(failure.steps) <= 8, str(failure)
    assert any(s.operation == "write" and "counter += 1" in s.source for s in failure.steps)
    assert f"replay={failure.schedule!r}" in str(failure)
    assert 0 < failure.found_after < 30
    # Found within the first schedules; every shrinking run comes after.
    assert 1 <= failure.found_at <= failure.schedules_run


def test_a_run_its_chooser_cut_short_is_not_the_finding() -> None:
    # Hypothesis's data can run out mid-run (a long schedule): the chooser
    # stops the run, whose failure is then the cut's, and the strategy
    # discards it. found_at counts the first failing run that was not cut.
    class Cut:
        stopped: BaseException | None = RuntimeError("the data ran out")

        def choose(self, candidates: list[Any], preempting: bool) -> int:
            return 0

    class Whole(Cut):
        stopped = None

    def failing() -> None:
        raise AssertionError("the test's check")

    runner = Runner(failing, trace=None, max_steps=1000, stall_timeout=TIMEOUT)
    assert runner.run(Cut()).failure is not None
    assert runner.found_at == 0
    assert runner.run(Whole()).failure is not None
    assert (runner.runs, runner.found_at) == (2, 2)


@pytest.mark.parametrize("strategy", ["random", "pct", "exhaustive"])
def test_racy_counter_is_found_by_every_strategy(strategy: str) -> None:
    with pytest.raises(ScheduleFailure, match=r"AssertionError: Counter: [2-5]") as info:
        explore(racy_counter, strategy=strategy, trace=True, seed=7)  # type: ignore[arg-type]
    # No shrinking here: the first failing schedule is the one reported.
    assert info.value.found_at == info.value.schedules_run >= 1


def test_racy_counter_without_tracing_has_no_switch_point_inside_the_line() -> None:
    # Without trace=True only fearless operations and thread starts switch:
    # the increments cannot interleave, so this documents what trace= adds.
    result = explore(racy_counter, strategy="exhaustive")
    assert result.complete


@pytest.mark.parametrize("program", [mutex_counter, atomic_counter])
def test_mutex_and_atomic_counters_pass_every_schedule(program: Callable[[], None]) -> None:
    result = explore(program, strategy="exhaustive")
    assert result.complete
    assert result.schedules == result.distinct > 100


def test_mutex_counter_passes_every_schedule_with_line_tracing_too() -> None:
    result = explore(mutex_counter, strategy="exhaustive", trace=True, preemption_bound=2)
    # Every schedule within the bound passed; the bound left others out.
    assert not result.complete and result.schedules > 100
    assert result.stopped_by == "preemption_bound" and result.preemption_bound == 2


def test_partial_order_reduction_covers_every_order_of_the_critical_sections() -> None:
    # Every interleaving of 3 + 3 critical sections on one mutex is a distinct
    # behaviour (C(6, 3) = 20); the reduced search must produce all of them.
    orders: set[str] = set()

    def program() -> None:
        log = Mutex("")

        def work(name: str) -> None:
            for _ in range(3):
                with log.lock() as guard:
                    guard.value += name

        with scope() as s:
            s.spawn(work, "a")
            s.spawn(work, "b")
        orders.add(log.into_inner())

    result = explore(program, strategy="exhaustive")
    assert result.complete
    assert len(orders) == 20, sorted(orders)


# -- issue 16: tracing reach: the packages named in trace= ----------------------------------------


def counter_updates() -> None:
    # A lost update inside the standard library's pure-Python code: for a
    # mapping, Counter.update reads each count and writes the sum back in
    # one line of collections/__init__.py.
    counts = collections.Counter(a=0)

    def add() -> None:
        counts.update({"a": 1})

    with scope() as s:
        s.spawn(add)
        s.spawn(add)
    assert counts["a"] == 2, counts


def test_library_code_is_one_step_unless_traced() -> None:
    # trace=True traces the test's own code only: each update is one step,
    # so every schedule within the bound passes (the race is invisible);
    # the same bound finds it once collections is traced.
    result = explore(counter_updates, strategy="exhaustive", trace=True, preemption_bound=2)
    assert result.stopped_by == "preemption_bound" and result.preemption_bound == 2
    with pytest.raises(ScheduleFailure, match=re.escape("Counter({'a': 1})")):
        explore(counter_updates, strategy="exhaustive", trace="collections", preemption_bound=2)


@pytest.mark.parametrize("trace", ["collections", ["collections"], ("json", "collections"), "all"])
@pytest.mark.parametrize("strategy", ["exhaustive", "random", "pct", "hypothesis"])
def test_a_race_inside_a_traced_library_is_found(trace: object, strategy: Strategy) -> None:
    with pytest.raises(ScheduleFailure, match=re.escape("Counter({'a': 1})")) as found:
        explore(counter_updates, strategy=strategy, trace=trace, seed=3)  # type: ignore[arg-type]
    # The trace shows the library's line where the update was lost.
    assert "self[elem] = count + self_get(elem, 0)" in str(found.value)


def test_a_named_package_is_traced_when_a_thread_runs_it_directly() -> None:
    # No code of the test's own between the thread and the library.
    def direct() -> None:
        counts = collections.Counter(a=0)
        with scope() as s:
            s.spawn(counts.update, {"a": 1})
            s.spawn(counts.update, {"a": 1})
        assert counts["a"] == 2, counts

    for trace in ("collections", "all"):
        with pytest.raises(ScheduleFailure, match=re.escape("Counter({'a': 1})")):
            explore(direct, strategy="exhaustive", trace=trace)


def test_a_named_package_is_traced_when_a_history_records_a_call_into_it() -> None:
    # History.record calls the library function for the test: traced.
    def recorded() -> None:
        counts, history = collections.Counter(a=0), History()
        with scope() as s:
            s.spawn(history.record, "update", counts.update, {"a": 1})
            s.spawn(history.record, "update", counts.update, {"a": 1})
        assert counts["a"] == 2, counts

    for trace in ("collections", "all"):
        with pytest.raises(ScheduleFailure, match=re.escape("Counter({'a': 1})")):
            explore(recorded, strategy="exhaustive", trace=trace)


def test_a_named_package_is_traced_only_where_the_test_reaches_it() -> None:
    # Naming a package traces it, not what fearless does: a program of
    # fearless operations takes the same steps either way.
    own = explore(mutex_counter, strategy="exhaustive", trace=True, preemption_bound=1)
    named = explore(
        mutex_counter, strategy="exhaustive", trace=["collections", "json"], preemption_bound=1
    )
    assert (named.longest, named.schedules) == (own.longest, own.schedules)
    # trace="all" traces the whole standard library where the test reaches
    # it, and nothing that fearless's primitives or the explorer call.
    everything = explore(mutex_counter, strategy="exhaustive", trace="all", preemption_bound=1)
    assert (everything.longest, everything.schedules) == (own.longest, own.schedules)


def test_code_a_library_generates_is_the_library_s_and_the_test_s_exec_is_its_own() -> None:
    # namedtuple's __new__ is compiled from a string ("<string>") in a
    # namespace of collections': not the test's code, so not traced. A
    # function the test itself makes with exec is its own, and traced.
    point = collections.namedtuple("point", "x y")
    namespace: dict[str, Any] = {}
    exec("def bump(box):\n    box[0] = box[0] + 1\n", namespace)  # the point of the test

    def program() -> None:
        box = [0]
        start = point(0, 0)
        with scope() as s:
            s.spawn(namespace["bump"], box)
            s.spawn(namespace["bump"], box)
        assert box[0] == 2 and start.x == 0, box

    with pytest.raises(ScheduleFailure) as info:
        explore(program, strategy="exhaustive", trace=True)
    locations = [step.location for step in info.value.steps]
    assert "<string>:2" in locations  # bump's line, a step of its own
    assert "<string>:1" not in locations  # namedtuple's __new__, a lambda on line 1
    assert explore(lambda: point(1, 2), trace=True, replay="1:").longest == 1


def test_what_ran_untraced_is_named_in_the_result() -> None:
    # Counter(a=0) and both updates ran as one step each: the exhaustive
    # search covered every order of those steps, and the summary says what
    # it could not look inside, and how to.
    result = explore(counter_updates, strategy="exhaustive", trace=True, preemption_bound=1)
    assert result.untraced == {"collections": 3 * result.schedules}
    assert str(result).endswith(
        "; calls into untraced code, one step each: collections (3 a run);"
        " trace=['collections'] looks inside"
    )
    looked = explore(
        lambda: collections.Counter("abca").most_common(1), trace="collections", schedules=5
    )
    assert "collections" not in looked.untraced


def test_a_library_function_run_as_a_thread_counts_as_untraced() -> None:
    def threads() -> None:
        counts = collections.Counter(a=0)
        workers = [threading.Thread(target=counts.update, args=({"a": 1},)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    result = explore(threads, strategy="random", trace=True, schedules=3, seed=1)
    assert result.untraced == {"collections": 3 * 3}


def test_without_tracing_nothing_is_watched_and_nothing_is_named() -> None:
    result = explore(counter_updates, strategy="exhaustive")
    assert result.untraced == {}
    assert "untraced" not in str(result)


def test_what_the_explorer_controls_is_not_named_as_untraced() -> None:
    # queue.Queue and threading's Event run untraced, but every lock they
    # use is the scheduler's: nothing inside them is hidden.
    def handoff() -> None:
        box: queue.Queue[int] = queue.Queue()
        done = threading.Event()

        def give() -> None:
            box.put(1)
            done.set()

        worker = threading.Thread(target=give)
        worker.start()
        assert box.get() == 1
        done.wait()
        worker.join()

    result = explore(handoff, strategy="random", trace=True, schedules=5, seed=1)
    assert result.untraced == {}, result.untraced


_LAZY_PACKAGE = """
import threading
TABLE = {}
for _i in range(50):  # an import's own work: many lines, none of them switch points
    TABLE[_i] = _i * _i
LOCK = threading.Lock()  # made while the first run imports it

def bump(box):
    box[0] = box[0] + TABLE[1]
"""


def test_an_import_inside_a_traced_run_is_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first run imports the package and every later one finds it
    # imported: were the module's body traced, the first run would take
    # more steps than the others, and a schedule would not mean the same run
    # twice. Its functions are traced like any other code of the package.
    (tmp_path / "fearless_lazy_pkg.py").write_text(_LAZY_PACKAGE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fearless_lazy_pkg", raising=False)

    def program() -> None:
        import fearless_lazy_pkg  # imported by the first run

        box = [0]
        with scope() as s:
            s.spawn(fearless_lazy_pkg.bump, box)
            s.spawn(fearless_lazy_pkg.bump, box)
        assert box[0] == 2, box

    with pytest.raises(ScheduleFailure, match=re.escape("AssertionError: [1]")) as info:
        explore(program, strategy="exhaustive", trace="fearless_lazy_pkg")
    failure = info.value
    assert failure.found_at > 1  # the first run, which imported it, passed
    locations = {step.location for step in failure.steps}
    assert "fearless_lazy_pkg.py:9" in locations  # bump's line
    assert not {f"fearless_lazy_pkg.py:{n}" for n in range(2, 7)} & locations
    # A run that imports the package takes the steps of one that does not.
    monkeypatch.delitem(sys.modules, "fearless_lazy_pkg")
    importing = explore(program, replay="1:0", trace="fearless_lazy_pkg")
    assert "fearless_lazy_pkg" in sys.modules
    imported = explore(program, replay="1:0", trace="fearless_lazy_pkg")
    assert importing.longest == imported.longest


# -- demonstration 2: two mutexes in opposite orders ------------------------------------------


def test_opposite_lock_orders_deadlock_is_found_and_reported() -> None:
    with pytest.raises(DeadlockFound) as info:
        explore(opposite_orders, strategy="exhaustive")
    message = str(info.value)
    assert message.startswith("deadlock: every thread is blocked:")
    assert "T1 'one' is blocked in Mutex.lock on Mutex#2, held by T2 'two'" in message
    assert "T2 'two' is blocked in Mutex.lock on Mutex#1, held by T1 'one'" in message
    assert "T0 'main' is blocked in Scope.__exit__" in message
    # each thread's stack points at the user's line
    assert "with a.lock(), b.lock():" in message
    assert "with b.lock(), a.lock():" in message
    assert info.value.__cause__ is None


def test_deadlock_found_by_hypothesis_too() -> None:
    with pytest.raises(DeadlockFound):
        explore(opposite_orders, seed=3)


# -- demonstration 3: check-then-append ---------------------------------------------------------


def test_check_then_append_race_is_found() -> None:
    with pytest.raises(ScheduleFailure) as info:
        explore(racy_append, trace=True, seed=2)
    assert "shared_list: [" in str(root_cause(info.value))
    assert "if item not in shared_list:" in str(info.value)


def test_check_then_append_under_a_mutex_passes() -> None:
    result = explore(mutex_append, strategy="exhaustive", trace=True, preemption_bound=2)
    assert result.stopped_by == "preemption_bound" and result.schedules > 100


# -- demonstration 4: Release/Acquire hand-off -------------------------------------------------


def test_release_acquire_handoff_passes() -> None:
    result = explore(lambda: handoff(False), strategy="exhaustive", trace=True, preemption_bound=2)
    assert result.stopped_by == "preemption_bound" and result.schedules > 10


def test_flag_published_before_the_data_fails() -> None:
    with pytest.raises(ScheduleFailure) as info:
        explore(lambda: handoff(True), strategy="exhaustive", trace=True)
    assert str(root_cause(info.value)).startswith("saw the flag, but data = None")


# -- replay ------------------------------------------------------------------------------------


def test_schedules_run_counts_the_schedules_explored() -> None:
    calls = [0]

    def program() -> None:
        calls[0] += 1
        racy_counter()

    with pytest.raises(ScheduleFailure) as info:
        explore(program, strategy="random", trace=True, seed=0)
    # the failing schedule is the last one explored; one more run records its trace
    assert info.value.schedules_run == calls[0] - 1


def test_a_failure_replays_exactly() -> None:
    with pytest.raises(ScheduleFailure) as first:
        explore(racy_counter, strategy="random", trace=True, seed=5)
    with pytest.raises(ScheduleFailure) as again:
        explore(racy_counter, trace=True, replay=first.value.schedule)
    assert again.value.schedule == first.value.schedule

    def where(steps: tuple[Step, ...]) -> list[tuple[int, str, str, str]]:
        # thread names differ: threading numbers its default names process-wide
        return [(s.thread, s.operation, s.location, s.source) for s in steps]

    assert where(again.value.steps) == where(first.value.steps)
    assert str(root_cause(again.value)) == str(root_cause(first.value))


def test_replay_of_a_passing_schedule_returns_an_exploration() -> None:
    result = explore(mutex_counter, replay="1:0*3-1")
    assert result.strategy == "replay" and result.schedules == 1


def test_replay_that_does_not_fit_the_program_is_reported() -> None:
    with pytest.raises(ScheduleFailure, match=r"decision 4 picks T7, but only T0, T1 could run"):
        explore(mutex_counter, replay="1:0*4-7")
    with pytest.raises(ScheduleFailure, match=r"it has 3 decisions, the test made 0"):
        explore(lambda: None, replay="1:0*3")
    assert explore(lambda: None, replay="1:").schedules == 1


@pytest.mark.parametrize(
    ("replay", "error"),
    [
        ("0*3", ValueError),
        ("2:0*3", ValueError),
        ("2:abcdeg:0*3", ValueError),
        ("2:abcdef", ValueError),
        ("3:abcdef:0", ValueError),
        ("1:0*x", ValueError),
        ("1:-1", ValueError),
        ("1:0*0", ValueError),
        (b"1:0", TypeError),
    ],
)
def test_bad_replay_strings_are_refused(replay: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="schedule"):
        explore(mutex_counter, replay=replay)  # type: ignore[arg-type]


def test_a_replay_string_records_the_test_s_fingerprint() -> None:
    with pytest.raises(ScheduleFailure) as first:
        explore(racy_counter, trace=True, seed=1)
    schedule = first.value.schedule
    assert re.fullmatch(r"2:[0-9a-f]{6}:[0-9*-]+", schedule), schedule
    with pytest.raises(ScheduleFailure) as again:
        explore(racy_counter, trace=True, replay=schedule)
    assert again.value.schedule == schedule


def racy_counter_edited() -> None:
    racy_counter_of(3)  # what racy_counter does, in another test's source


def test_a_replay_of_a_changed_test_says_so_instead_of_running() -> None:
    with pytest.raises(ScheduleFailure) as first:
        explore(racy_counter, trace=True, seed=1)
    with pytest.raises(
        ScheduleFailure,
        match=r"recorded for another version of this test \(fingerprint [0-9a-f]{6}",
    ) as refused:
        explore(racy_counter_edited, trace=True, replay=first.value.schedule)
    assert refused.value.steps == () and refused.value.__cause__ is None
    # Without a fingerprint (the first format), the decisions alone decide.
    old = "1:" + first.value.schedule.split(":", 2)[2]
    with pytest.raises(ScheduleFailure, match=r"AssertionError: Counter: \d"):
        explore(racy_counter_edited, trace=True, replay=old)


def test_the_fingerprint_is_the_test_s_source_without_layout() -> None:
    from fearless._testing.report import fingerprint

    def one() -> int:
        return 1

    def one_again() -> int:
        return 1

    def flat() -> Callable[[], int]:
        def same() -> int:
            return 1

        return same

    def deep() -> Callable[[], int]:
        with contextlib.nullcontext():

            def same() -> int:

                return 1

        return same

    class Test:
        def __call__(self) -> int:
            return 1

    assert fingerprint(one) is not None
    assert fingerprint(one) != fingerprint(one_again)  # the name is in the source
    assert fingerprint(flat()) == fingerprint(deep())  # indentation and blank lines aside
    assert fingerprint(functools.partial(one)) == fingerprint(one)
    assert fingerprint(Test()) is not None
    assert fingerprint(len) is None  # no source: no fingerprint, and no check
    assert explore(int, replay="2:abcdef:").schedules == 1  # not checked


def test_the_fingerprints_kept_are_each_of_their_own_code() -> None:
    # Fingerprints are kept per code object, so that a property test's
    # every test case does not look for the source again; more functions
    # than are kept, each from its own source, still get their own.
    from fearless._testing.report import _FINGERPRINTS_KEPT, fingerprint

    found = set()
    for i in range(_FINGERPRINTS_KEPT + 10):
        source = f"def f():\n    return {i}\n"
        path = f"<fingerprint test {i}>"
        linecache.cache[path] = (len(source), None, source.splitlines(True), path)
        namespace: dict[str, Any] = {}
        exec(compile(source, path, "exec"), namespace)
        first = fingerprint(namespace["f"])
        assert first is not None
        assert fingerprint(namespace["f"]) == first
        found.add(first)
        del linecache.cache[path]
    assert len(found) == _FINGERPRINTS_KEPT + 10


def test_schedule_strings_are_run_length_encoded() -> None:
    from fearless._testing.report import decode_schedule, encode_schedule

    decisions = [0, 0, 0, 1, 2, 2, 0]
    assert encode_schedule(decisions) == "1:0*3-1-2*2-0"
    assert decode_schedule("1:0*3-1-2*2-0") == decisions
    assert decode_schedule(encode_schedule([])) == []


# -- strategies ---------------------------------------------------------------------------------


def two_steps() -> None:
    """Two threads that each take one lock once: a small, known space."""
    m = Mutex(0)

    def work() -> None:
        with m.lock() as g:
            g.value += 1

    with scope() as s:
        s.spawn(work)
        s.spawn(work)


def test_exhaustive_search_counts_distinct_schedules() -> None:
    result = explore(two_steps, strategy="exhaustive")
    assert result.complete
    assert result.schedules == result.distinct > 1
    # the same search twice covers the same space
    assert explore(two_steps, strategy="exhaustive").schedules == result.schedules


def test_preemption_bound_shrinks_the_space() -> None:
    results = [explore(two_steps, strategy="exhaustive", preemption_bound=b) for b in (0, 1, 2)]
    counts = [r.schedules for r in results]
    # Each search ran to its end within its bound, and the bound cut it: not complete.
    assert [(r.complete, r.stopped_by, r.preemption_bound) for r in results] == [
        (False, "preemption_bound", b) for b in (0, 1, 2)
    ]
    assert 1 <= counts[0] < counts[1] < counts[2], counts


def test_traced_exhaustive_search_deepens_the_bound_until_nothing_is_cut_off() -> None:
    def program() -> None:
        box = [0]

        def work() -> None:
            box[0] = 1

        spawn(work).join()

    result = explore(program, strategy="exhaustive", trace=True)
    assert result.complete
    bounded = explore(program, strategy="exhaustive", trace=True, preemption_bound=10)
    assert result.distinct == bounded.schedules


def test_exhaustive_search_cut_short_is_not_complete() -> None:
    result = explore(mutex_counter, strategy="exhaustive", schedules=5)
    assert result.schedules == 5 and not result.complete
    assert result.stopped_by == "schedules" and result.preemption_bound is None
    assert "stopped at the limit of 5 schedules, before the search was complete" in str(result)
    assert "the whole space" not in str(result)


# -- issue 12: complete only when nothing cut the search ----------------------------------------


def read_then_write_counter() -> None:
    """Two threads, each twice: read under the mutex, then write cur + 1 under it."""
    total = Mutex(0)

    def work() -> None:
        for _ in range(2):
            with total.lock() as guard:
                cur = guard.value
            with total.lock() as guard:
                guard.value = cur + 1

    with scope() as s:
        s.spawn(work)
        s.spawn(work)
    assert total.into_inner() != 3  # reachable: a lost update needs two preemptions


@pytest.mark.parametrize("trace", [False, True])
def test_a_preemption_bound_that_cut_the_search_is_not_complete(trace: bool) -> None:
    result = explore(
        read_then_write_counter, strategy="exhaustive", preemption_bound=1, trace=trace
    )
    assert not result.complete
    assert result.stopped_by == "preemption_bound" and result.preemption_bound == 1
    assert "every schedule with ≤ 1 preemption" in str(result)
    assert "the whole space" not in str(result)
    # ...and the bound did hide the bug: the whole search finds it.
    with pytest.raises(ScheduleFailure, match="AssertionError"):
        explore(read_then_write_counter, strategy="exhaustive", trace=trace)


def one_spawned_thread() -> None:
    """One thread beside main, taking a lock once: the smallest space with preemptions."""
    m = Mutex(0)

    def work() -> None:
        with m.lock() as g:
            g.value += 1

    with scope() as s:
        s.spawn(work)
    with m.lock() as g:
        assert g.value == 1


def test_a_bound_that_cut_nothing_leaves_the_search_complete() -> None:
    # A bounded search runs without the partial-order reduction: 70 runs
    # here, where two_steps would take 42,487.
    cut = explore(one_spawned_thread, strategy="exhaustive", preemption_bound=4)
    assert not cut.complete and cut.stopped_by == "preemption_bound"
    result = explore(one_spawned_thread, strategy="exhaustive", preemption_bound=50)
    assert result.complete and result.stopped_by is None and result.preemption_bound is None
    assert "the whole space" in str(result)


def test_a_traced_search_stopped_by_the_limit_names_the_bound_it_covered() -> None:
    # Iterative deepening: bound 0 is covered in few runs, bound 1 is cut by the limit.
    zero = explore(read_then_write_counter, strategy="exhaustive", trace=True, preemption_bound=0)
    result = explore(
        read_then_write_counter, strategy="exhaustive", trace=True, schedules=zero.schedules + 3
    )
    assert not result.complete and result.stopped_by == "schedules"
    assert result.preemption_bound == 0
    assert "every schedule with ≤ 0 preemptions; stopped at the limit of" in str(result)


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_sampling_strategies_are_never_complete(strategy: Strategy) -> None:
    result = explore(mutex_counter, strategy=strategy, schedules=20, seed=3)
    assert not result.complete and result.stopped_by == "schedules"
    assert "the whole space" not in str(result)


def test_random_and_pct_with_a_seed_repeat_themselves() -> None:
    strategies: tuple[Strategy, ...] = ("random", "pct")
    for strategy in strategies:
        a = explore(mutex_counter, strategy=strategy, schedules=30, seed=11)
        b = explore(mutex_counter, strategy=strategy, schedules=30, seed=11)
        assert a.schedules == b.schedules == 30
        assert a.distinct == b.distinct > 1


def test_hypothesis_strategy_runs_the_requested_number_of_schedules() -> None:
    result = explore(mutex_counter, schedules=25, seed=0)
    assert result.strategy == "hypothesis"
    # Hypothesis generates 25 examples; it may replay some on top
    assert result.schedules >= 25 and result.distinct > 10


def test_hypothesis_missing_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    calls: list[int] = []
    with pytest.raises(ImportError, match=r"pip install 'fearless\[testing\]'") as info:
        explore(lambda: calls.append(1))
    assert "strategy='hypothesis' (the default)" in str(info.value)
    assert "strategy='exhaustive'" in str(info.value) and "'random' or 'pct'" in str(info.value)
    assert calls == []  # raised before running anything
    # The other strategies, and a replay, need nothing more.
    assert explore(mutex_counter, strategy="exhaustive").complete
    assert explore(mutex_counter, strategy="random", schedules=5, seed=1).schedules == 5
    assert explore(mutex_counter, strategy="pct", schedules=5, seed=1).schedules == 5
    explore(mutex_counter, replay="1:")


def test_exploration_describes_itself() -> None:
    result = explore(two_steps, strategy="exhaustive")
    assert isinstance(result, Exploration)
    text = str(result)
    assert f"{result.schedules} schedules" in text and "by exhaustive" in text
    assert "the whole space" in text
    assert result.longest > 0 and result.seconds >= 0


# -- deadlocks and livelocks -----------------------------------------------------------------------


def test_lost_wakeup_is_a_deadlock() -> None:
    def program() -> None:
        ready = Mutex(False)
        cv = Condvar()

        def waiter() -> None:
            with ready.lock() as g:
                if not g.value:  # the bug: checks once, then waits without the flag
                    cv.wait(g)

        def setter() -> None:
            cv.notify_one()  # the bug: notifies before (and without) setting the flag

        with scope() as s:
            s.spawn(waiter)
            s.spawn(setter)

    with pytest.raises(DeadlockFound, match=r"T1 'waiter' is blocked in Condvar.wait"):
        explore(program, strategy="exhaustive")


def test_a_thread_left_blocked_after_the_test_returns_is_a_deadlock() -> None:
    # The sender outlives the test: the receiver thread waits for ever.
    def keeps_sender() -> None:
        tx, rx = mpsc.channel[int]()
        handle = spawn(rx.recv)
        assert handle is not None
        keep.append(tx)

    keep: list[object] = []
    with pytest.raises(DeadlockFound, match=r"T1 'recv' is blocked in Receiver.recv"):
        explore(keeps_sender, strategy="random", schedules=3, seed=0)
    keep.clear()


def test_a_failure_in_a_spawned_thread_nobody_joins_fails_the_schedule() -> None:
    def program() -> None:
        tx, rx = mpsc.channel[int]()
        spawn(rx.recv)  # never joined; with the sender gone, recv raises RecvError
        del tx

    with pytest.raises(
        ScheduleFailure, match=r"thread 'recv' raised RecvError: .* \(and nobody joined it\)"
    ) as info:
        explore(program, strategy="random", schedules=3, seed=0)
    assert isinstance(info.value.__cause__, mpsc.RecvError)


def test_a_livelock_exceeds_the_step_limit() -> None:
    def program() -> None:
        flag = AtomicBool(False)

        def spin() -> None:
            while not flag.load(Ordering.Acquire):  # nobody ever sets it
                pass

        spawn(spin).join()

    with pytest.raises(StepLimitExceeded, match=r"more than 200 steps"):
        explore(program, strategy="random", schedules=2, seed=0, max_steps=200)


# -- what is under control -------------------------------------------------------------------


def test_threading_primitives_made_inside_the_test_are_under_control() -> None:
    def program() -> None:
        q: queue.Queue[int] = queue.Queue(maxsize=1)
        lock = threading.Lock()
        done = threading.Event()
        seen: list[int] = []

        def consumer() -> None:
            for _ in range(2):
                item = q.get()
                with lock:
                    seen.append(item)
            done.set()

        t = threading.Thread(target=consumer)
        t.start()
        q.put(1)
        q.put(2)
        assert done.wait(timeout=5)
        t.join()
        assert seen == [1, 2]
        assert not t.is_alive()

    result = explore(program, strategy="exhaustive")
    assert result.complete and result.schedules > 1


def test_a_condition_with_an_rlock_under_control() -> None:
    def program() -> None:
        cond = threading.Condition(threading.RLock())
        box: list[int] = []

        def put() -> None:
            with cond, cond:  # reentrant
                box.append(1)
                cond.notify()

        t = threading.Thread(target=put)
        t.start()
        with cond:
            assert cond.wait_for(lambda: box, timeout=10)
        t.join()

    assert explore(program, strategy="exhaustive").complete


def test_time_is_virtual_inside_runs() -> None:
    def program() -> None:
        tx, rx = mpsc.channel[int]()
        start = time.monotonic()  # real clock: not under control
        with pytest.raises(mpsc.RecvTimeoutError):
            rx.recv(timeout=3600)  # an hour of virtual time, at once
        time.sleep(3600)  # virtual too
        assert time.monotonic() - start < 60
        del tx

    explore(program, strategy="random", schedules=2, seed=0)


def test_timed_lock_waits_time_out_in_virtual_time() -> None:
    def program() -> None:
        m = Mutex(0)
        holding = threading.Event()
        release = threading.Event()

        def holder() -> None:
            with m.lock():
                holding.set()
                release.wait()

        t = threading.Thread(target=holder)
        t.start()
        holding.wait()
        with pytest.raises(TimeoutError):
            m.lock(timeout=10)
        release.set()
        t.join()

    assert explore(program, strategy="exhaustive").complete


def test_current_thread_names_the_simulated_thread() -> None:
    names: list[str] = []

    def program() -> None:
        def work() -> None:
            names.append(threading.current_thread().name)

        spawn(work).join()
        t = threading.Thread(target=work, name="plain")
        t.start()
        t.join()

    explore(program, strategy="random", schedules=1, seed=0)
    assert names == ["work", "plain"]


def test_an_exception_in_a_plain_thread_fails_the_schedule() -> None:
    def program() -> None:
        def boom() -> None:
            raise KeyError("lost")

        t = threading.Thread(target=boom, name="worker")
        t.start()
        t.join()

    with pytest.raises(ScheduleFailure, match=r"thread 'worker' raised KeyError: 'lost'") as info:
        explore(program, strategy="random", schedules=1, seed=0)
    assert isinstance(info.value.__cause__, KeyError)


def test_starting_a_plain_thread_twice_is_refused() -> None:
    def program() -> None:
        t = threading.Thread(target=lambda: None)
        t.start()
        with pytest.raises(RuntimeError, match="threads can only be started once"):
            t.start()
        t.join()

    explore(program, strategy="random", schedules=2, seed=0)


def test_a_thread_blocked_outside_the_scheduler_is_reported() -> None:
    outside = _thread.allocate_lock()
    outside.acquire()

    def program() -> None:
        outside.acquire()  # a real lock, held by the test: no switch point, no progress

    try:
        with pytest.raises(ScheduleFailure, match=r"without reaching a switch point") as info:
            explore(program, strategy="random", schedules=1, seed=0, stall_timeout=0.3)
        assert "outside.acquire()" in str(info.value)
    finally:
        outside.release()


def test_a_nondeterministic_test_is_reported() -> None:
    rng = random.Random(0)

    def program() -> None:
        n = rng.randrange(1, 4)  # a different program on every run
        m = Mutex(0)
        with scope() as s:
            for _ in range(n):
                s.spawn(lambda: m.lock().unlock())

    with pytest.raises(ScheduleFailure, match=r"not deterministic"):
        explore(program, strategy="exhaustive")


def test_fearless_objects_made_outside_can_be_used_uncontended() -> None:
    flag = AtomicInt(0)
    once: OnceLock[int] = OnceLock()

    def program() -> None:
        flag.fetch_add(1)
        once.get_or_init(lambda: 1)

    result = explore(program, strategy="random", schedules=3, seed=0)
    assert flag.load() == result.schedules == 3


# -- nothing is left behind ------------------------------------------------------------------------


def test_everything_is_restored_after_an_exploration() -> None:
    from fearless import _seam

    def patched() -> tuple[object, ...]:
        return (
            threading.Thread.start,
            threading.Lock,
            threading.RLock,
            time.sleep,
            mpsc.Sender.send,
            _seam.backend,
        )

    before = patched()
    threads_before = threading.active_count()
    with pytest.raises(ScheduleFailure):
        explore(racy_counter, strategy="random", trace=True, seed=0)
    explore(mutex_counter, strategy="random", schedules=5, seed=0)
    after = patched()
    assert after == before
    assert threading.active_count() == threads_before
    assert sys.gettrace() is None


def test_an_operation_replaced_between_explorations_is_the_one_explored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each operation is wrapped once, by the first exploration; one that
    # was replaced since is wrapped anew, and put back afterwards.
    from fearless._testing.takeover import _operation_patches

    assert [w for *_, w in _operation_patches()] == [w for *_, w in _operation_patches()]
    where = next(k for k in mpsc.Sender.__mro__ if "send" in vars(k))
    original = vars(where)["send"]
    sent: list[object] = []

    def send(self: Any, value: object) -> None:
        sent.append(value)
        original(self, value)

    monkeypatch.setattr(where, "send", send)

    def program() -> None:
        tx, rx = mpsc.channel[int]()
        t = threading.Thread(target=tx.send, args=(1,))
        t.start()
        assert rx.recv() == 1
        t.join()

    result = explore(program, strategy="random", schedules=3, seed=0)
    assert sent == [1, 1, 1]
    assert result.longest >= 3  # the send is still a step of its own
    assert vars(where)["send"] is send


def test_explore_inside_explore_is_refused() -> None:
    def program() -> None:
        with pytest.raises(RuntimeError, match="cannot run inside another explore"):
            explore(lambda: None)

    explore(program, strategy="random", schedules=1, seed=0)


def test_explore_from_two_threads_at_once_is_refused() -> None:
    # Raw locks made outside the exploration: real waits, which the scheduler
    # does not control (threading.Event made here would be simulated inside a
    # run, and time-out at once in virtual time).
    inside = _thread.allocate_lock()
    inside.acquire()
    leave = _thread.allocate_lock()
    leave.acquire()
    errors: list[BaseException] = []

    def blocker() -> None:
        inside.release()  # a run is in progress
        leave.acquire(True, 30)  # the run stalls, for real, until the other thread is done

    def other() -> None:
        assert inside.acquire(True, 30)
        try:
            explore(lambda: None, strategy="random", schedules=1)
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            leave.release()

    helper = threading.Thread(target=other)
    helper.start()
    explore(blocker, strategy="random", schedules=1, seed=0)
    helper.join(30)
    assert len(errors) == 1
    assert "another thread is running explore()" in str(errors[0])


# -- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"strategy": "dfs"}, ValueError, "strategy must be one of"),
        ({"schedules": 0}, ValueError, "schedules must be an int >= 1"),
        ({"schedules": True}, ValueError, "schedules must be an int >= 1"),
        ({"max_steps": 0}, ValueError, "max_steps must be an int >= 1"),
        ({"preemption_bound": -1}, ValueError, "preemption_bound must be an int >= 0"),
        ({"depth": 0}, ValueError, "depth must be an int >= 1"),
        ({"seed": "x"}, TypeError, "seed must be an int or None"),
        (
            {"trace": 1},
            TypeError,
            "trace must be True, False, 'all', a module name or a list of module",
        ),
        (
            {"trace": []},
            TypeError,
            "trace must be True, False, 'all', a module name or a list of module",
        ),
        ({"trace": {"collections"}}, TypeError, "trace must be True, False, 'all', a module name"),
        ({"trace": ["collections", 3]}, TypeError, "trace takes module names as strings, got 3"),
        ({"trace": "no_such_module_xyz"}, ValueError, "no module of that name can be imported"),
        ({"trace": "fearless._mutex"}, ValueError, "fearless's own code is never traced"),
        ({"trace": "sys"}, ValueError, "the module has no Python source to trace"),
        ({"stall_timeout": 0}, ValueError, "stall_timeout must be a positive number"),
        ({"stall_timeout": float("nan")}, ValueError, "stall_timeout must be a positive number"),
        ({"time_limit": 0}, ValueError, "time_limit must be a positive number of seconds or None"),
        ({"time_limit": -1.5}, ValueError, "time_limit must be a positive number"),
        ({"time_limit": float("nan")}, ValueError, "time_limit must be a positive number"),
        ({"time_limit": float("inf")}, ValueError, "time_limit must be a positive number"),
        ({"time_limit": True}, ValueError, "time_limit must be a positive number"),
        ({"time_limit": "1"}, ValueError, "time_limit must be a positive number"),
    ],
)
def test_bad_arguments_are_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        explore(mutex_counter, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", ["hypothesis", "random", "pct", "exhaustive"])
def test_a_time_limit_stops_the_search_between_runs(
    strategy: Strategy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clock is read once when the search starts and once before each
    # run: with a limit of 3 ticks, two runs start before it has passed.
    explore_module = sys.modules["fearless._testing.explore"]
    monkeypatch.setattr(explore_module, "_clock", TickingClock())
    result = explore(mutex_counter, strategy=strategy, schedules=10_000, time_limit=3, seed=1)
    assert result.schedules == 2
    assert result.stopped_by == "time_limit" and result.time_limit == 3
    assert not result.complete
    cut = "stopped at the time limit of 3 s"
    if strategy == "exhaustive":
        cut += ", before the search was complete"
    assert result.coverage == cut
    assert cut in str(result)


def test_a_time_limit_that_never_passes_changes_nothing() -> None:
    result = explore(mutex_counter, strategy="exhaustive", time_limit=3600)
    assert result.complete and result.stopped_by is None and result.time_limit is None


def test_a_time_limit_keeps_the_bound_a_traced_search_covered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The traced exhaustive search deepens its preemption bound; a limit that
    # passes during a deeper level keeps the bound that was searched to its end.
    explore_module = sys.modules["fearless._testing.explore"]
    whole = explore(mutex_counter, strategy="exhaustive", trace=True, preemption_bound=0)
    monkeypatch.setattr(explore_module, "_clock", TickingClock())
    result = explore(
        mutex_counter, strategy="exhaustive", trace=True, time_limit=whole.schedules + 3
    )
    assert result.stopped_by == "time_limit" and result.preemption_bound == 0
    assert result.coverage == (
        "every schedule with ≤ 0 preemptions; stopped at the time limit of "
        f"{whole.schedules + 3} s, before the search was complete"
    )


def test_a_failure_found_before_the_time_limit_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    explore_module = sys.modules["fearless._testing.explore"]
    monkeypatch.setattr(explore_module, "_clock", TickingClock())
    with pytest.raises(ScheduleFailure, match="Counter: "):
        explore(racy_counter, strategy="exhaustive", trace=True, time_limit=1_000_000)


def test_a_time_limit_that_passes_while_hypothesis_shrinks_reports_the_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A failure was found; the limit cuts the shrinking short, and the
    # smallest failing schedule found by then is raised, never a pass.
    whole = _failure(lambda: explore(racy_counter, trace=True, seed=1))
    assert whole.schedules_run > whole.found_at + 10  # it shrank for a while
    explore_module = sys.modules["fearless._testing.explore"]
    monkeypatch.setattr(explore_module, "_clock", TickingClock())
    cut = _failure(lambda: explore(racy_counter, trace=True, seed=1, time_limit=whole.found_at + 5))
    assert re.match(r"AssertionError: Counter: [2-5]\b", str(cut)), str(cut)
    assert cut.found_at == whole.found_at
    assert cut.schedules_run < whole.schedules_run


def _failure(run: Callable[[], object]) -> ScheduleFailure:
    with pytest.raises(ScheduleFailure) as info:
        run()
    return info.value


def test_a_replay_ignores_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ScheduleFailure) as found:
        explore(racy_counter, strategy="exhaustive", trace=True)
    explore_module = sys.modules["fearless._testing.explore"]
    monkeypatch.setattr(explore_module, "_clock", TickingClock())
    with pytest.raises(ScheduleFailure):
        explore(racy_counter, trace=True, replay=found.value.schedule, time_limit=1)


def test_the_test_must_be_callable() -> None:
    with pytest.raises(TypeError, match="needs the test as a callable, got int 3"):
        explore(3)  # type: ignore[arg-type]


# -- issue 12: a passing exploration prints nothing ----------------------------------------------

_QUIET_PROGRAMS = """
import threading
from fearless import Mutex, mpsc, scope, spawn
from fearless.testing import explore

def spawned(n):
    def test():
        total = Mutex(0)
        def work():
            with total.lock() as guard:
                guard.value += 1
        handles = [spawn(work) for _ in range(n)]
        for handle in handles:
            handle.join()
        assert total.into_inner() == n
    return test

def scoped(n):
    def test():
        total = Mutex(0)
        def work():
            with total.lock() as guard:
                guard.value += 1
        with scope() as s:
            for _ in range(n):
                s.spawn(work)
        assert total.into_inner() == n
    return test

def channel(n):
    def test():
        tx, rx = mpsc.channel()
        handles = [spawn(tx.send, i) for i in range(n)]
        got = sorted(rx.recv() for _ in range(n))
        for handle in handles:
            handle.join()
        assert got == list(range(n))
    return test

def plain(n):
    def test():
        lock = threading.Lock()
        count = [0]
        def work():
            with lock:
                count[0] += 1
        threads = [threading.Thread(target=work) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert count[0] == n
    return test

PROGRAMS = [make(n) for make in (spawned, scoped, channel, plain) for n in (2, 3)]
"""


def test_a_run_ended_inside_a_traced_with_block_does_not_crash_the_interpreter() -> None:
    # Hypothesis ends runs early (its data ran out); the run then raises out
    # of the trace function, and CPython removes it. Python 3.12.1 went on
    # delivering the opcode events of the frames the exception unwound
    # (through __exit__ here) to the removed function: a segmentation fault.
    proc = run_python(
        """
import threading
from fearless.testing import explore

class Quiet:
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return None

def program():
    box = [0]
    def work():
        for _ in range(10):
            with Quiet():
                box[0] = box[0] + 1
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

for seed in range(2):
    explore(program, trace=True, seed=seed, schedules=60)
print("ok")
""",
        timeout=240,
    )
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr


# -- issue 16: inside a user's own @given ------------------------------------------------------


def racy_counter_of(n: int) -> None:
    counter = [0]

    def work() -> None:
        for _ in range(n):
            counter[0] += 1

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter[0] == 2 * n, f"Counter: {counter[0]}"


def test_inside_a_users_given_each_test_case_runs_one_schedule_drawn_from_it() -> None:
    schedules: list[int] = []
    cases = []
    for examples in (5, 40):
        calls: list[int] = []

        @settings(max_examples=examples, database=None, deadline=None)
        @given(st.integers(1, 3))
        def test(n: int) -> None:
            calls.append(n)  # noqa: B023 - the loop's list, called in the loop
            schedules.append(explore(mutex_counter).schedules)
            schedules.append(explore(mutex_counter, schedules=3).schedules)

        test()  # no nested_given health check
        cases.append(len(calls))
    # The user's max_examples decides how many test cases, each one schedule
    # (or as many as schedules= asks for).
    assert 5 <= cases[0] < cases[1], cases
    assert set(schedules) == {1, 3}


def test_inside_a_users_given_a_failure_is_shrunk_saved_and_replayed_first() -> None:
    database = InMemoryExampleDatabase()
    calls: list[int] = []

    @settings(max_examples=300, database=database, derandomize=False, deadline=None)
    @given(st.integers(1, 3))
    def test(n: int) -> None:
        calls.append(n)
        explore(lambda: racy_counter_of(n), trace=True)

    with pytest.raises(ScheduleFailure, match=r"AssertionError: Counter: \d") as first:
        test()
    # Hypothesis shrank the user's input and the schedule together, to a
    # lost update in a few switches, and reported it with its input.
    failing_n = calls[-1]  # its last call reproduces the case it reports
    assert first.value.__cause__ is not None
    assert 2 <= context_switches(first.value.steps) <= 8, str(first.value)
    notes = "\n".join(getattr(first.value, "__notes__", []))  # Hypothesis's "Falsifying..."
    assert f"n={failing_n}" in notes, notes
    assert database.data  # the failing case is saved
    calls.clear()
    with pytest.raises(ScheduleFailure) as again:
        test()
    assert calls[0] == failing_n and len(calls) <= 3, calls  # replayed first, from the database
    assert again.value.schedule == first.value.schedule


def test_inside_a_users_given_derandomize_makes_the_failure_reproducible() -> None:
    found: set[str] = set()
    for _ in range(2):
        # The failure as first found: the same test case, drawn from the
        # same derandomised seed, gives the same schedule. (Shrinking it is
        # Hypothesis's own, from there on; the test above shrinks.)
        @settings(
            max_examples=300,
            database=None,
            derandomize=True,
            deadline=None,
            phases=[Phase.generate],
        )
        @given(st.integers(1, 3))
        def test(n: int) -> None:
            explore(lambda: racy_counter_of(n), trace=True)

        with pytest.raises(ScheduleFailure) as info:
            test()
        found.add(info.value.schedule)
    assert len(found) == 1, found


def test_a_passing_hypothesis_exploration_prints_nothing() -> None:
    # Runs that Hypothesis ends early abort with threads that never started:
    # the finalisers of their JoinHandles used to print "Exception ignored
    # in: JoinHandle.__del__ ... RuntimeError: Packet#5 ... a run that is
    # over" or "... fearless._sched.Abort", for programs that pass.
    pytest.importorskip("hypothesis")
    proc = run_python(
        _QUIET_PROGRAMS
        + """
import gc
for program in PROGRAMS:
    for seed in (0, 1):
        explore(program, seed=seed, schedules=100)
gc.collect()
print("passed")
""",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "passed\n"
    assert proc.stderr == ""


def test_no_finaliser_of_a_run_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same, in this process: nothing reaches sys.unraisablehook (pytest
    # would turn it into a PytestUnraisableExceptionWarning), neither during
    # the exploration nor when the garbage collector frees the runs later.
    pytest.importorskip("hypothesis")
    raised: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: raised.append(repr(args.exc_value)))
    namespace: dict[str, Any] = {}
    exec(_QUIET_PROGRAMS, namespace)
    for program in namespace["PROGRAMS"]:
        explore(program, seed=0, schedules=60)
    gc.collect()
    assert raised == []


def test_locks_of_a_run_that_is_over_serve_several_threads_at_once() -> None:
    # After its run, a simulated lock is used by finalisers and by handles
    # the test kept -- on free-threaded CPython from several threads at
    # once (the finalisers of one channel's handles, freed on two threads,
    # raised "cannot release un-acquired lock"). There it is a plain lock:
    # a thread that finds it held by another live thread waits.
    kept: list[Any] = []

    def test() -> None:
        kept.append((Mutex(0), threading.RLock(), threading.Lock()))

    explore(test, strategy="random", schedules=1, seed=0)
    ((mutex, rlock, lock),) = kept
    rounds = 2_000 * STRESS
    start = threading.Barrier(2)

    def hammer() -> None:
        start.wait(TIMEOUT)
        for _ in range(rounds):
            with mutex.lock() as guard:
                guard.value += 1
            with rlock, rlock:
                pass
            with lock:
                pass

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    with mutex.lock() as guard:
        assert guard.value == 2 * rounds
    assert not rlock._is_owned() and not lock.locked()


def test_a_finaliser_that_fails_in_a_run_is_still_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the scheduler's own unwinding is silenced, not the program's errors.
    raised: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: raised.append(args.exc_value))

    class Faulty:
        def __del__(self) -> None:
            raise ValueError("from a finaliser")

    def program() -> None:
        def work() -> None:
            Faulty()

        spawn(work).join()

    explore(program, strategy="exhaustive")
    assert raised and all(isinstance(e, ValueError) for e in raised)
    assert sys.unraisablehook is not None


# -- issue 12: pip install 'fearless[testing]' works on free-threaded 3.13 ------------------------


def _hypothesis_requirements(python_version: str) -> list[Any]:
    import tomllib

    from packaging.requirements import Requirement

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    requirements = [Requirement(text) for text in extras["testing"]]
    return [
        r
        for r in requirements
        if r.name == "hypothesis"
        and (r.marker is None or r.marker.evaluate({"python_version": python_version}))
    ]


def test_the_testing_extra_keeps_3_13_on_the_last_pure_python_hypothesis() -> None:
    # Hypothesis 6.156 and later are compiled and have no cp313t wheel: pip
    # would build the sdist (Rust, network). 6.155.7 is a py3-none-any wheel.
    # No marker tells a free-threaded 3.13 apart, so every 3.13 gets the bound.
    (on_313,) = _hypothesis_requirements("3.13")
    assert "6.155.7" in on_313.specifier and "6.156.0" not in on_313.specifier
    assert "6.80" in on_313.specifier and "6.79.4" not in on_313.specifier
    for other in ("3.11", "3.12", "3.14"):
        (requirement,) = _hypothesis_requirements(other)
        assert "6.170.27" in requirement.specifier  # cp314t has wheels of the newest


# -- issue 12: the partial-order reduction of waits ----------------------------------------------


def _run_threads(*bodies: Callable[[], None]) -> None:
    threads = [threading.Thread(target=body) for body in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _watched_mutex(seen: set[object], try_too: bool) -> Callable[[], None]:
    """A holder that switches inside its critical section, a thread that waits, a watcher."""

    def program() -> None:
        total = Mutex(0)
        flag = AtomicInt(0)
        watched: list[object] = []

        def holder() -> None:
            with total.lock() as guard:
                flag.store(1, Ordering.SeqCst)  # a switch point while holding
                guard.value += 1

        def taker() -> None:
            with total.lock() as guard:
                guard.value += 10

        def watcher() -> None:
            stats = total.statistics()
            watched.append((stats.locked, stats.waiting))
            if try_too:
                try:
                    with total.try_lock() as guard:
                        watched.append(guard.value)
                except WouldBlockError:
                    watched.append("busy")

        _run_threads(holder, taker, watcher)
        seen.add((tuple(watched), total.into_inner()))

    return program


def _condvar_handoff(seen: set[object]) -> Callable[[], None]:
    def program() -> None:
        state = Mutex(0)
        changed = Condvar()
        woke: list[int] = []

        def waiter() -> None:
            with state.lock() as guard:
                while guard.value == 0:
                    changed.wait(guard)
                woke.append(guard.value)

        def setter() -> None:
            with state.lock() as guard:
                guard.value = 1
            changed.notify_all()

        _run_threads(waiter, setter)
        seen.add(tuple(woke))

    return program


def _outcomes(
    make: Callable[[set[object]], Callable[[], None]], reduce: bool
) -> tuple[set[object], Exploration]:
    from fearless._testing.partial_order import PartialOrder

    seen: set[object] = set()
    saved = PartialOrder.wait_reduction
    PartialOrder.wait_reduction = reduce
    try:
        result = explore(make(seen), strategy="exhaustive")
    finally:
        PartialOrder.wait_reduction = saved
    assert result.complete
    return seen, result


@pytest.mark.parametrize(
    "make",
    [
        lambda seen: _watched_mutex(seen, try_too=False),
        lambda seen: _watched_mutex(seen, try_too=True),
        _condvar_handoff,
    ],
    ids=["statistics", "statistics-and-try_lock", "condvar"],
)
def test_the_reduction_of_waits_loses_no_outcome(
    make: Callable[[set[object]], Callable[[], None]],
) -> None:
    # A thread woken from a wait runs after the step that woke it, and a wait
    # that only found its lock held does not race with the release that ends
    # it: the search then runs far fewer schedules. It must see everything
    # the unreduced search sees -- including what a watcher observes while a
    # thread waits (statistics().waiting == 1).
    reduced, fast = _outcomes(make, reduce=True)
    full, slow = _outcomes(make, reduce=False)
    assert reduced == full
    assert fast.schedules < slow.schedules


def test_the_watcher_sees_a_waiting_thread() -> None:
    seen: set[Any] = set()
    explore(_watched_mutex(seen, try_too=False), strategy="exhaustive")
    assert {watched for watched, _ in seen} == {
        ((False, 0),),
        ((False, 1),),
        ((True, 0),),
        ((True, 1),),
    }


def test_three_threads_on_two_mutexes_are_searched_to_the_end() -> None:
    # Issue 12: three threads x two increments under one mutex, then under a
    # second, hit the limit of 100,000 schedules after a minute; every lost
    # wait-and-release order is now pruned. Here, with one increment each.
    seen: set[tuple[str, str]] = set()

    def program() -> None:
        first, second = Mutex(""), Mutex("")

        def work(name: str) -> None:
            with first.lock() as guard:
                guard.value += name
            with second.lock() as guard:
                guard.value += name

        with scope() as s:
            for name in "abc":
                s.spawn(work, name)
        seen.add((first.into_inner(), second.into_inner()))

    result = explore(program, strategy="exhaustive")
    assert result.complete and result.schedules < 2_000, result
    # Each of the 6 orders on the first mutex goes with each of the 6 on the
    # second (a thread can wait for the second while others overtake it).
    assert len(seen) == 36


# -- what the explorer takes over is declared ------------------------------------------------


def _exported_classes() -> dict[str, type]:
    """Every class the public modules export that could be shared state, by public name."""
    import enum

    import fearless
    from fearless import atomic

    found: dict[str, type] = {}
    for prefix, module in (("", fearless), ("atomic.", atomic), ("mpsc.", mpsc)):
        for name in module.__all__:
            cls = getattr(module, name)
            if isinstance(cls, type) and not issubclass(cls, (BaseException, tuple, enum.Enum)):
                found[prefix + name] = cls
    return found


def _public_operations(cls: type) -> set[str]:
    """The methods a user can call on ``cls`` (what could touch shared state)."""
    import inspect

    from fearless._testing.declarations import PROTOCOL_METHODS

    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or not klass.__module__.startswith("fearless"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") and name not in PROTOCOL_METHODS:
                continue
            function = attr.__func__ if isinstance(attr, staticmethod) else attr
            # Coroutine methods run on an event loop, which explorations do not drive.
            if inspect.isfunction(function) and not inspect.iscoroutinefunction(function):
                names.add(name)
    return names


def test_every_public_operation_of_every_primitive_is_declared() -> None:
    # A new method, or a new primitive, cannot silently escape the explorer:
    # it must be declared a switch point, or declared not to be one.
    from fearless._testing.declarations import NOT_PRIMITIVES, PRIMITIVES

    exported = {
        name: cls
        for name, cls in _exported_classes().items()
        if name.rpartition(".")[2] not in NOT_PRIMITIVES
    }
    assert set(PRIMITIVES) == set(exported)
    for name, cls in exported.items():
        declared = PRIMITIVES[name]
        assert not declared.switch_points & declared.not_switch_points, name
        assert declared.switch_points | declared.not_switch_points == _public_operations(cls), name


def test_declared_switch_points_are_what_the_explorer_wraps() -> None:
    from fearless._testing.declarations import PRIMITIVES
    from fearless._testing.takeover import operations

    wrapped = {(klass, name) for klass, name, _ in operations()}
    for public, cls in _exported_classes().items():
        declared = PRIMITIVES.get(public)
        for name in _public_operations(cls):
            where = next(k for k in cls.__mro__ if name in vars(k))
            is_step = declared is not None and name in declared.switch_points
            assert ((where, name) in wrapped) == is_step, (public, name)


def test_every_declared_key_names_a_lock_of_the_run() -> None:
    # A renamed attribute would silently name a primitive by its type: every
    # step on any of its objects would then conflict with every other.
    from fearless import Arc, Barrier, Condvar, LazyLock, Once, RwLock, atomic
    from fearless._testing.declarations import PRIMITIVES
    from fearless._testing.takeover import object_key

    makers: dict[str, Callable[[], list[object]]] = {
        "Arc": lambda: [Arc(0)],
        "Weak": lambda: [Arc.downgrade(Arc(0))],
        "Barrier": lambda: [Barrier(2)],
        "Condvar": lambda: [Condvar()],
        "LazyLock": lambda: [LazyLock(int)],
        "Mutex": lambda: [Mutex(0)],
        "Once": lambda: [Once()],
        "OnceLock": lambda: [OnceLock()],
        "RwLock": lambda: [RwLock(0)],
        "Scope": lambda: [scope()],
        "mpsc.Sender": lambda: list(mpsc.channel()),
        "mpsc.SyncSender": lambda: [*mpsc.sync_channel(1), *mpsc.sync_channel(0)],
        "mpsc.Receiver": lambda: [mpsc.channel()[1]],
    }

    def make_atomic(cls: type) -> Callable[[], list[object]]:
        return lambda: [cls(False if cls is AtomicBool else 0)]

    for public, declared in PRIMITIVES.items():
        if public.startswith("atomic.") and declared.key is not None:
            makers[public] = make_atomic(getattr(atomic, public.partition(".")[2]))
    assert set(makers) == {name for name, p in PRIMITIVES.items() if p.key is not None}
    keys: dict[str, set[object]] = {}

    def program() -> None:
        for make in makers.values():
            for obj in make():
                keys.setdefault(type(obj).__name__, set()).add(object_key(obj))

    explore(program, strategy="exhaustive")
    assert set(keys) == {name.rpartition(".")[2] for name in makers}
    not_locks = {
        name: key
        for name, found in keys.items()
        for key in found
        if not (isinstance(key, tuple) and key[0] == "lock")
    }
    assert not_locks == {}


def test_the_declared_thread_bodies_exist() -> None:
    # A step inside one of them is a thread starting or ending, not an API call.
    import importlib

    from fearless._testing.declarations import THREAD_BODIES

    for module_name, qualname in THREAD_BODIES:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
        assert found.__code__.co_qualname == qualname


@pytest.mark.parametrize(
    "module_name",
    [
        "fearless",
        "fearless.atomic",
        "fearless.mpsc",
        "fearless.testing",
        "fearless.testing.strategies",
    ],
)
def test_public_names_report_their_public_module(module_name: str) -> None:
    import importlib

    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) == "typing":  # an alias: Strategy
            continue
        assert getattr(obj, "__module__", module_name) == module_name, name
        if isinstance(obj, type):
            assert (obj.__name__, obj.__qualname__) == (name, name)
            for attr, value in vars(obj).items():
                function = getattr(value, "__func__", getattr(value, "fget", value))
                if isinstance(function, types.FunctionType):
                    assert not (function.__module__ or "").startswith("fearless._"), (
                        f"{name}.{attr}"
                    )


def test_scheduling_failures_pickle_by_their_public_path() -> None:
    import pickle

    assert ScheduleFailure.__module__ == "fearless.testing"
    step = Step(0, "main", "Mutex.lock", "t.py:1", "m.lock()")
    assert pickle.loads(pickle.dumps(step)) == step
    # A failure round-trips with every field (to a worker process and back).
    for cls in (ScheduleFailure, DeadlockFound, StepLimitExceeded):
        failure = cls("a message", "1:0*3", (step,), 7, found_after=0.5, found_at=3)
        failure.note = "kept"  # type: ignore[attr-defined]
        back = pickle.loads(pickle.dumps(failure))
        assert type(back) is cls and str(back) == "a message"
        fields = (back.schedule, back.steps, back.schedules_run, back.found_after, back.found_at)
        assert fields == ("1:0*3", (step,), 7, 0.5, 3)
        assert back.note == "kept"  # type: ignore[attr-defined]
