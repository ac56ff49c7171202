"""``fearless.testing.explore`` against ``interleave-test``: schedules per second, time to a bug.

    python -m benchmarks.bench_testing            # from the repository's root
    python -m benchmarks.bench_testing --quick    # a smoke run: few schedules, seeds, repeats

Targets (issue 6): more schedules per second than interleave-test on the same
program, and the racy counter's failure found within 1 second.

The programs, run unchanged by both tools (each is a zero-argument test that
makes its own state, starts plain ``threading.Thread`` threads — both tools
take those over — joins them and asserts):

- racy counter: 2 threads x 3 ``counter += 1`` on a shared plain int (a
  closure variable). For schedules per second the assertion is relaxed to
  ``2 <= counter <= 6`` (true under every schedule), so each exploration runs
  all its schedules; for the time to the first failure it is ``counter == 6``.
- channel: a producer thread sends 0, 1, 2 and a consumer thread receives
  three items and checks their order. fearless runs it on a
  ``fearless.mpsc.channel``; interleave-test cannot control fearless's raw
  ``_thread`` locks, so it runs the nearest equivalent, ``queue.Queue`` (whose
  locks both tools replace while they run); fearless runs that program too,
  for a like-for-like row.

Switch points differ by design. fearless with ``trace=True`` switches at every
line of user code and every store to shared state inside a line (plus every
synchronising operation); ``trace=False`` only at synchronising operations.
interleave-test (``sys.monitoring``) switches at every bytecode instruction
(``granularity="opcode"``, its default) or every line (``"line"``); at line
granularity ``counter += 1`` is atomic, so the racy counter's bug cannot be
found there. Ratios are therefore taken against interleave-test's opcode
granularity, the one that finds the same bugs; the line rows are shown for
reference. Strategies are paired by kind: ``random`` with ``random``,
fearless's ``exhaustive`` with interleave-test's ``dfs`` (systematic searches,
both given a bound of 2 preemptions), ``pct`` with ``pct`` (both depth 3).

Rates are medians of interleaved repeats of one exploration of a fixed number
of schedules with a fixed seed (so every repeat explores the same schedules).
interleave-test needs Python >= 3.12: on 3.11 only fearless is measured.

Each tool runs its own copy of every program (same source, code objects of
its own): on CPython 3.13, once a ``sys.monitoring`` tool has had INSTRUCTION
events on a code object (interleave-test does), ``sys.settrace`` no longer
delivers opcode events for it, so fearless would stop switching at the stores
inside a line and could no longer find the racy counter's bug.
"""

from __future__ import annotations

import importlib
import queue
import statistics
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks._timing import compare, interpreter
from fearless.mpsc import channel
from fearless.testing import ScheduleFailure, Strategy, explore

QUICK = "--quick" in sys.argv
SCHEDULES = 10 if QUICK else 100  # per exploration, for schedules per second
REPEATS = 1 if QUICK else 5
SEEDS = 2 if QUICK else 5  # time to the first failure: one search per seed
CAP = 1_000 if QUICK else 10_000  # the most schedules one search for the failure may run
RATE_SEED = 1
PREEMPTIONS = 2  # the bound of the systematic searches (both tools' default)
TARGET_SECONDS = 1.0
ILT_BASELINE = "interleave-test opcode"


# -- the programs (traced by both tools: keep them in this file) --------------------------


def racy_counter() -> None:
    counter = 0

    def work() -> None:
        nonlocal counter
        for _ in range(3):
            counter += 1

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter == 6, counter


def racy_counter_relaxed() -> None:
    counter = 0

    def work() -> None:
        nonlocal counter
        for _ in range(3):
            counter += 1

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 2 <= counter <= 6, counter


def channel_program() -> None:
    tx, rx = channel[int]()

    def produce() -> None:
        for i in range(3):
            tx.send(i)

    def consume() -> None:
        got = [rx.recv() for _ in range(3)]
        assert got == [0, 1, 2], got

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def queue_program() -> None:
    q: queue.Queue[int] = queue.Queue()

    def produce() -> None:
        for i in range(3):
            q.put(i)

    def consume() -> None:
        got = [q.get() for _ in range(3)]
        assert got == [0, 1, 2], got

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# -- interleave-test, when it is installed -------------------------------------------------


def load_interleave_test() -> Any:
    """The ``interleave_test`` module, or None (with a note saying why)."""
    try:
        module: Any = importlib.import_module("interleave_test")
    except ImportError:
        major, minor = sys.version_info[:2]
        if (major, minor) < (3, 12):
            print(
                f"interleave-test: not installable on {major}.{minor} "
                "(it needs Python >= 3.12): fearless only"
            )
        else:
            print("interleave-test: not installed (pip install interleave-test): fearless only")
        return None
    print(f"interleave-test {getattr(module, '__version__', '?')}: compared on the same programs")
    return module


ILT_STRATEGY = {"random": "random", "exhaustive": "dfs", "pct": "pct"}


def fresh(program: Callable[[], None]) -> Callable[[], None]:
    """A copy of ``program`` with code objects of its own, its nested functions' too.

    For interleave-test: see the module's docstring for why the tools must
    not share code objects.
    """

    def copy(code: types.CodeType) -> types.CodeType:
        consts = tuple(copy(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
        return code.replace(co_consts=consts)

    assert isinstance(program, types.FunctionType)
    return types.FunctionType(
        copy(program.__code__),
        program.__globals__,
        program.__name__,
        program.__defaults__,
        program.__closure__,
    )


# -- schedules per second ----------------------------------------------------------------------


@dataclass
class Rate:
    """One row: a tool exploring one program with one strategy."""

    explore: Callable[[], tuple[int, bool]]  # -> (schedules run, search finished)
    schedules: int = 0
    complete: bool = False
    calls: int = 0
    errors: list[int] = field(default_factory=list)  # which calls raised (0: the warm-up)
    first_error: str = ""

    def __call__(self) -> None:
        self.calls += 1
        try:
            self.schedules, self.complete = self.explore()
        except Exception as error:  # ScheduleFailure, interleave-test's InterleaveError
            self.errors.append(self.calls - 1)
            if not self.first_error:
                self.first_error = f"{type(error).__name__}: {_first_line(error)}"

    @property
    def timed_errors(self) -> bool:
        """Whether a timed run (not only the warm-up) raised: its median means nothing."""
        return any(call > 0 for call in self.errors)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


def fearless_rate(program: Callable[[], None], strategy: Strategy, trace: bool) -> Rate:
    def run() -> tuple[int, bool]:
        result = explore(
            program,
            strategy=strategy,
            schedules=SCHEDULES,
            seed=RATE_SEED,
            trace=trace,
            preemption_bound=PREEMPTIONS,
        )
        # The search ran to its end within the bound (complete is False when
        # the bound left schedules out; only the limit on schedules matters here).
        return result.schedules, result.stopped_by != "schedules"

    return Rate(run)


def ilt_rate(ilt: Any, program: Callable[[], None], strategy: str, granularity: str) -> Rate:
    program = fresh(program)

    def run() -> tuple[int, bool]:
        result = ilt.explore(
            program,
            strategy=ILT_STRATEGY[strategy],
            iterations=SCHEDULES,
            seed=RATE_SEED,
            granularity=granularity,
            max_preemptions=PREEMPTIONS,
        )
        return int(result.schedules_run), bool(result.exhausted)

    return Rate(run)


def report_rates(title: str, rows: dict[str, Rate]) -> None:
    medians = compare(dict(rows), repeats=REPEATS)
    rates = {name: rows[name].schedules / t if t > 0 else 0.0 for name, t in medians.items()}
    base = rates.get(ILT_BASELINE)
    print(f"\n{title}")
    print(
        f"  {'':40s} {'schedules':>10s} {'ms/exploration':>15s} {'schedules/s':>12s}"
        + ("   vs interleave-test opcode" if base else "")
    )
    for name, row in rows.items():
        if len(row.errors) == row.calls:
            print(f"  {name:40s} error: {row.first_error}")
            continue
        count = f"{row.schedules}{'*' if row.complete else ''}"
        ratio = f"   {rates[name] / base:8.2f}x" if base else ""
        print(f"  {name:40s} {count:>10s} {medians[name] * 1e3:15.1f} {rates[name]:12,.0f}{ratio}")
    if any(row.complete for row in rows.values()):
        print(
            f"  (* the whole space within {PREEMPTIONS} preemptions: "
            "fewer schedules than asked for)"
        )
    for name, row in rows.items():
        if row.errors and len(row.errors) < row.calls:
            which = (
                f"{len(row.errors)} of {row.calls} explorations (warm-up included)"
                if row.timed_errors
                else "the warm-up exploration"
            )
            print(f"  ! {name}: {which} raised {row.first_error}")
    candidates = [
        rates[name] for name, row in rows.items() if "trace=True" in name and not row.timed_errors
    ]
    if base and candidates:
        worst = min(candidates) / base
        verdict = "meets" if worst > 1.0 else "MISSES"
        print(
            f"  -> fearless trace=True / interleave-test opcode: {worst:.2f}x "
            f"(worst row) vs target > 1x: {verdict}"
        )


def rate_tables(ilt: Any) -> None:
    strategies: tuple[Strategy, ...] = ("random", "exhaustive")
    for strategy in strategies:
        peer = f"{strategy}/{ILT_STRATEGY[strategy]}" if ilt else strategy
        counter: dict[str, Rate] = {
            "fearless trace=True": fearless_rate(racy_counter_relaxed, strategy, True),
        }
        if ilt is not None:
            counter[ILT_BASELINE] = ilt_rate(ilt, racy_counter_relaxed, strategy, "opcode")
            counter["interleave-test line (blind to +=)"] = ilt_rate(
                ilt, racy_counter_relaxed, strategy, "line"
            )
        report_rates(
            f"racy counter (2 threads x 3 `counter += 1`, assertion relaxed), {peer}, "
            f"{SCHEDULES} schedules per exploration",
            counter,
        )
        chan: dict[str, Rate] = {
            "fearless mpsc.channel trace=False": fearless_rate(channel_program, strategy, False),
            "fearless mpsc.channel trace=True": fearless_rate(channel_program, strategy, True),
            "fearless queue.Queue trace=False": fearless_rate(queue_program, strategy, False),
            "fearless queue.Queue trace=True": fearless_rate(queue_program, strategy, True),
        }
        if ilt is not None:
            chan[ILT_BASELINE] = ilt_rate(ilt, queue_program, strategy, "opcode")
            chan["interleave-test line"] = ilt_rate(ilt, queue_program, strategy, "line")
        report_rates(
            f"channel (producer sends 3 ints, consumer checks their order), {peer}, "
            f"{SCHEDULES} schedules per exploration",
            chan,
        )


# -- time to the first failure -------------------------------------------------------------


@dataclass
class Found:
    """What one search for the racy counter's failure ended with."""

    found: bool  # the program's own assertion failed
    seconds: float
    schedules: int  # as the tool counts them
    steps: int  # switch points (decisions) of the failing run it reported
    error: str = ""  # a failure other than the assertion
    found_after: float = 0.0  # fearless: seconds to the first failing run


def fearless_search(strategy: Strategy) -> Callable[[int], Found]:
    def search(seed: int) -> Found:
        start = time.perf_counter()
        try:
            result = explore(
                racy_counter,
                strategy=strategy,
                schedules=CAP,
                seed=seed,
                trace=True,
                preemption_bound=PREEMPTIONS,
            )
        except ScheduleFailure as failure:
            seconds = time.perf_counter() - start
            found = isinstance(failure.__cause__, AssertionError)
            error = "" if found else _first_line(failure)
            return Found(
                found,
                seconds,
                failure.schedules_run,
                len(failure.steps),
                error,
                failure.found_after,
            )
        return Found(False, time.perf_counter() - start, result.schedules, 0)

    return search


def ilt_search(ilt: Any, strategy: str) -> Callable[[int], Found]:
    program = fresh(racy_counter)

    def search(seed: int) -> Found:
        start = time.perf_counter()
        try:
            result = ilt.explore(
                program,
                strategy=strategy,
                iterations=CAP,
                seed=seed,
                granularity="opcode",
                max_preemptions=PREEMPTIONS,
            )
        except ilt.InterleaveError as failure:
            seconds = time.perf_counter() - start
            found = isinstance(failure.failure.exception, AssertionError)
            error = "" if found else f"{type(failure).__name__}: {_first_line(failure)}"
            schedules = int(failure.result.schedules_run)
            return Found(found, seconds, schedules, len(failure.failure.schedule), error)
        return Found(False, time.perf_counter() - start, int(result.schedules_run), 0)

    return search


def failure_table(ilt: Any) -> None:  # noqa: PLR0912 - one table row per peer outcome
    searches: dict[str, Callable[[int], Found]] = {
        "fearless random": fearless_search("random"),
        "fearless pct": fearless_search("pct"),
        "fearless exhaustive": fearless_search("exhaustive"),
    }
    try:
        importlib.import_module("hypothesis")
    except ImportError:
        skipped = "  (skipped fearless hypothesis: Hypothesis is not installed)"
    else:
        skipped = ""
        searches["fearless hypothesis (with shrinking)"] = fearless_search("hypothesis")
    if ilt is not None:
        for strategy in ("random", "pct", "dfs"):
            searches[f"interleave-test {strategy} opcode"] = ilt_search(ilt, strategy)
    warm_up = {name: search(SEEDS + 1) for name, search in searches.items()}
    outcomes: dict[str, list[Found]] = {name: [] for name in searches}
    for seed in range(SEEDS):  # interleaved, like the repeats of the rate tables
        for name, search in searches.items():
            outcomes[name].append(search(seed))
    print(
        f"\ntime to the first failure: racy counter with `assert counter == 6`, "
        f"{SEEDS} seeds, at most {CAP:,} schedules each"
    )
    print(
        f"  {'':38s} {'found':>6s} {'schedules':>10s} {'steps':>6s} {'median ms':>10s} "
        f"{'worst ms':>9s}"
    )
    for name, runs in outcomes.items():
        hits = [r for r in runs if r.found]
        line = f"  {name:38s} {f'{len(hits)}/{len(runs)}':>6s}"
        if not hits:
            ran = statistics.median(r.schedules for r in runs)
            line += f"   not found (median {ran:,.0f} schedules run)"
        else:
            ms = [r.seconds * 1e3 for r in hits]
            line += (
                f" {statistics.median(r.schedules for r in hits):10.0f}"
                f" {statistics.median(r.steps for r in hits):6.0f}"
                f" {statistics.median(ms):10.1f} {max(ms):9.1f}"
            )
            if name.startswith("fearless"):
                found_ms = [r.found_after * 1e3 for r in hits]
                ok = len(hits) == len(runs) and max(found_ms) < TARGET_SECONDS * 1e3
                line += "   meets < 1 s" if ok else "   MISSES < 1 s"
                if "shrinking" in name:
                    line += (
                        f" (found after {statistics.median(found_ms):.1f} ms median,"
                        f" {max(found_ms):.1f} worst; the rest is shrinking)"
                    )
        print(line)
        for r in [*runs, warm_up[name]]:
            if r.error:
                print(f"      ! a search ended with another failure: {r.error}")
                break
    if skipped:
        print(skipped)
    print(
        "  schedules: as each tool counts them (for Hypothesis: including shrinking);\n"
        "  steps: switch points of the failing run reported (fearless: lines and\n"
        "  stores; interleave-test: bytecodes); the < 1 s target is on the time to\n"
        "  the first failing run"
    )


def main() -> None:
    print(f"fearless.testing benchmarks on {interpreter()}{' (quick)' if QUICK else ''}")
    ilt = load_interleave_test()
    rate_tables(ilt)
    failure_table(ilt)


if __name__ == "__main__":
    main()
