"""Type-checked, never run: fearless.testing (compile-fail tests).

Each misuse line carries ``# type: ignore[<code>]``; with
``warn_unused_ignores`` a misuse that stops being rejected fails mypy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, assert_type

import fearless
from fearless.testing import (
    DeadlockFound,
    Exploration,
    ScheduleFailure,
    Step,
    StepLimitExceeded,
    explore,
)


def test() -> None:
    pass


def explore_is_typed() -> None:
    result = explore(test, strategy="exhaustive", trace=True, preemption_bound=2)
    assert_type(result, Exploration)
    assert_type(result.schedules, int)
    assert_type(result.complete, bool)
    assert_type(result.stopped_by, Literal["schedules", "preemption_bound", "time_limit"] | None)
    assert_type(result.preemption_bound, int | None)
    assert_type(result.time_limit, float | None)
    assert_type(explore(test, time_limit=2.5), Exploration)
    assert_type(result.coverage, str)
    assert_type(result.untraced, Mapping[str, int])
    result.stopped_by = None  # type: ignore[misc]
    assert_type(explore(lambda: 1, replay="1:0*3"), Exploration)
    assert fearless.testing.explore is explore
    try:
        explore(test)
    except ScheduleFailure as failure:
        assert_type(failure.schedule, str)
        assert_type(failure.steps, tuple[Step, ...])
        assert_type(failure.steps[0].source, str)
        assert_type(failure.schedules_run, int)
        assert_type(failure.found_at, int)
        assert_type(failure.found_after, float)
    assert issubclass(DeadlockFound, ScheduleFailure)
    assert issubclass(StepLimitExceeded, AssertionError)


def misuse_is_rejected() -> None:
    explore(test, strategy="dfs")  # type: ignore[arg-type]
    explore(test, schedules="many")  # type: ignore[arg-type]
    explore(test, "random")  # type: ignore[call-arg]
    explore(fn=test)  # type: ignore[call-arg]
    explore(test, replay=[0, 1])  # type: ignore[arg-type]
