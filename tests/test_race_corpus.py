"""The race corpus: real races in real libraries, found by the default strategy.

Each entry of ``benchmarks.race_corpus.CORPUS`` drives a library's own code
at its pinned version; the test command installs those versions
(``fearless[corpus]``), and an entry whose library is missing or at another
version is skipped, saying what to install. How many schedules and seconds
each strategy needs is measured by ``python -m benchmarks.race_corpus``, not
here: these tests check that the race is found, that the failure is the
race's own symptom, and that the fixed program passes.
"""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.race_corpus import CORPUS, GAPS, Race

from _helpers import TickingClock
from fearless.testing import ScheduleFailure, explore

pytest.importorskip("hypothesis")  # the default strategy

FIXED = [race for race in CORPUS if race.fixed is not None]
#: The runs within which the default strategy must find each race: with
#: seed 0 on 3.11 every entry is found within 68 (the catch_warnings race;
#: the others within 26), and what is left goes to shrinking.
RUNS = 120


@pytest.fixture(autouse=True)
def _warning_filters() -> Iterator[None]:
    # The catch_warnings race leaks filters by design: put pytest's back.
    saved = warnings.filters
    try:
        yield
    finally:
        warnings.filters = saved
        warnings._filters_mutated()  # type: ignore[attr-defined]


def _source_files(module: str) -> set[str]:
    """The file names (as a trace shows them) of ``module``'s Python sources."""
    loaded = importlib.import_module(module)
    paths = getattr(loaded, "__path__", None)
    if paths is None:
        return {Path(str(loaded.__file__)).name}
    return {path.name for root in paths for path in Path(root).rglob("*.py")}


def _runnable(race: Race) -> None:
    reason = race.missing()
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.parametrize("race", CORPUS, ids=lambda race: race.key)
def test_the_default_strategy_finds_each_race(race: Race, monkeypatch: pytest.MonkeyPatch) -> None:
    _runnable(race)
    if not race.present():
        # This interpreter ships the fix: the same program passes.
        result = explore(race.program, trace=list(race.trace), seed=0)
        assert result.schedules > 0
        return
    # The budget counts runs, not seconds (a clock that ticks once per
    # reading), so the test asks the same of every machine under any load:
    # the race is found within RUNS runs, and the budget then cuts
    # Hypothesis's shrinking short -- the smallest failing schedule found
    # by then is raised. The seconds are benchmarks/race_corpus.py's.
    monkeypatch.setattr(sys.modules["fearless._testing.explore"], "_clock", TickingClock())
    with pytest.raises(ScheduleFailure) as info:
        explore(race.program, trace=list(race.trace), seed=0, time_limit=RUNS)
    failure = info.value
    headline = str(failure).splitlines()[0]
    assert re.search(race.symptom, headline), str(failure)
    # The trace switches inside the library's own code.
    files = _source_files(race.trace[0])
    assert any(step.location.rsplit(":", 1)[0] in files for step in failure.steps), str(failure)
    assert 1 <= failure.found_at <= failure.schedules_run


@pytest.mark.parametrize("race", FIXED, ids=lambda race: race.key)
@pytest.mark.parametrize("strategy", ["hypothesis", "random", "pct"])
def test_the_fixed_program_passes(race: Race, strategy: str) -> None:
    _runnable(race)
    assert race.fixed is not None
    result = explore(race.fixed, strategy=strategy, trace=list(race.trace), seed=0)  # type: ignore[arg-type]
    assert result.schedules > 0


@pytest.mark.parametrize("race", GAPS, ids=lambda race: race.key)
@pytest.mark.parametrize("strategy", ["random", "pct", "exhaustive"])
def test_the_races_the_default_strategy_misses_are_found_by_the_others(
    race: Race, strategy: str
) -> None:
    # What the default strategy does not find within its 200 schedules yet
    # (see benchmarks/race_corpus.py's GAPS); the other strategies do.
    _runnable(race)
    with pytest.raises(ScheduleFailure) as info:
        explore(race.program, strategy=strategy, trace=list(race.trace), seed=0)  # type: ignore[arg-type]
    assert re.search(race.symptom, str(info.value).splitlines()[0]), str(info.value)


def test_every_entry_names_its_library_version_and_report() -> None:
    assert len(CORPUS) >= 12
    assert len({race.library for race in CORPUS}) >= 6
    assert len({race.key for race in CORPUS}) == len(CORPUS)
    for race in CORPUS + GAPS:
        assert race.reported.startswith("https://"), race.key
        assert race.version and race.what and race.trace, race.key
