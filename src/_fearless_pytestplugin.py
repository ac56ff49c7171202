"""fearless.testing's pytest plugin: ``@pytest.mark.explore`` (loaded by pytest's entry point).

A module of its own, outside the ``fearless`` package, as Hypothesis's
plugin is: pytest loads every installed plugin when it starts, and this
one imports fearless only once a marked test runs, so that a test run that
explores nothing (or measures coverage from its start) does not import it.

A test marked ``@pytest.mark.explore(...)`` runs under
:func:`fearless.testing.explore` with the marker's keyword arguments: its
body is the explored program, called once per schedule. Its fixtures are
made once, before the exploration, like anything else made outside the
test's body: what the threads share must be made in the body (see
"What is under the scheduler's control" in the testing guide).

Options:

- ``--fearless-replay=SCHEDULE`` runs every selected explored test under
  that one schedule (select the failing test with its node id), as
  ``explore(..., replay=SCHEDULE)`` would.
- ``--fearless-scale=K`` multiplies the number of schedules of every
  explored test by ``K`` (a float > 0): more in CI, fewer on a laptop.
- ``--fearless-seed=N`` gives every explored test without a seed of its
  own this seed, for a reproducible run of the random strategies.

A failing schedule fails the test as any assertion does (a
:class:`~fearless.testing.ScheduleFailure` is an ``AssertionError``), its
message the trace; the report adds a section with the command line that
replays it.
"""

from __future__ import annotations

import functools
import inspect
import math
import shlex
from typing import Any, Final

import pytest

__all__ = ["pytest_addoption", "pytest_configure", "pytest_pyfunc_call"]

_MARKER: Final = (
    "explore(strategy=..., schedules=..., trace=..., **options): run the test's body under"
    " fearless.testing.explore with these arguments, once per schedule"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fearless", "fearless.testing (@pytest.mark.explore)")
    group.addoption(
        "--fearless-replay",
        metavar="SCHEDULE",
        default=None,
        help="run the selected explored tests under this one schedule (a replay string)",
    )
    group.addoption(
        "--fearless-scale",
        metavar="K",
        type=float,
        default=1.0,
        help="multiply the schedules of every explored test by K (default 1)",
    )
    group.addoption(
        "--fearless-seed",
        metavar="N",
        type=int,
        default=None,
        help="the seed of every explored test that does not give its own",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    scale = config.getoption("--fearless-scale")
    if not (isinstance(scale, float) and math.isfinite(scale) and scale > 0):
        raise pytest.UsageError(f"--fearless-scale must be a number > 0, got {scale!r}")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    marker = pyfuncitem.get_closest_marker("explore")
    if marker is None:
        return None
    if marker.args:
        raise TypeError(
            f"{pyfuncitem.nodeid}: @pytest.mark.explore takes keyword arguments only"
            f" (those of fearless.testing.explore), got {marker.args!r}"
        )
    from fearless._testing.explore import explore  # noqa: PLC0415 - see the docstring
    from fearless.testing import ScheduleFailure  # noqa: PLC0415

    test = pyfuncitem.obj
    if inspect.iscoroutinefunction(test):
        raise TypeError(
            f"{pyfuncitem.nodeid}: @pytest.mark.explore runs threads, not coroutines:"
            " the test must be a plain function"
        )
    funcargs = pyfuncitem.funcargs
    arguments = {
        name: funcargs[name] for name in inspect.signature(test).parameters if name in funcargs
    }
    options = _options(pyfuncitem.config, dict(marker.kwargs))

    # A partial, not a wrapper function: no frame of the plugin's in the
    # trace, and the replay string's fingerprint is the test's own.
    try:
        explore(functools.partial(test, **arguments), **options)
    except ScheduleFailure as failure:
        if failure.schedule:
            command = (
                f"pytest {shlex.quote(pyfuncitem.nodeid)}"
                f" {shlex.quote('--fearless-replay=' + failure.schedule)}"
            )
            pyfuncitem.add_report_section("call", "fearless.testing", f"replay with: {command}\n")
        raise
    return True


def _options(config: pytest.Config, options: dict[str, Any]) -> dict[str, Any]:
    """The marker's arguments to explore, with the command line's options applied."""
    replay = config.getoption("--fearless-replay")
    if replay is not None:
        options["replay"] = replay
        return options
    scale = config.getoption("--fearless-scale")
    if scale != 1.0:
        from fearless._testing.explore import _DEFAULT_SCHEDULES  # noqa: PLC0415

        strategy = options.get("strategy", "hypothesis")
        base = options.get("schedules")
        if base is None:
            base = _DEFAULT_SCHEDULES.get(strategy) if isinstance(strategy, str) else None
        if isinstance(base, int) and not isinstance(base, bool):
            options["schedules"] = max(1, round(base * scale))
    seed = config.getoption("--fearless-seed")
    if seed is not None and options.get("seed") is None:
        options["seed"] = seed
    return options
