"""The pytest plugin: ``@pytest.mark.explore`` and the ``--fearless-*`` options.

Each test runs pytest on a small test file in a fresh interpreter, as a
user's suite would run, and reads its report.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")  # the default strategy

PLUGIN = "_fearless_pytestplugin"

TESTS = textwrap.dedent(
    """
    import threading

    import pytest

    from fearless import Mutex, scope

    RUNS = []


    @pytest.mark.explore(trace=True, strategy="random")
    def test_racy():
        counter = [0]

        def work():
            for _ in range(2):
                counter[0] += 1

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert counter[0] == 4, f"Counter: {counter[0]}"


    @pytest.mark.explore(strategy="exhaustive")
    def test_mutex(tmp_path):
        assert tmp_path.is_dir()  # fixtures are made once, and passed in
        total = Mutex(0)

        def work():
            with total.lock() as guard:
                guard.value += 1

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        assert total.into_inner() == 2


    @pytest.mark.explore(strategy="random", schedules=10)
    def test_counted():
        RUNS.append(1)


    def test_runs_of_test_counted(request):
        expected = int(request.config.getoption("--expected-runs", default="10"))
        assert len(RUNS) == expected, RUNS
    """
)

CONFTEST = textwrap.dedent(
    """
    def pytest_addoption(parser):
        parser.addoption("--expected-runs", default="10")
    """
)


def _plugin_by_entry_point() -> bool:
    return any(entry.value == PLUGIN for entry in importlib.metadata.entry_points(group="pytest11"))


def run_pytest(tmp_path: Path, *args: str, tests: str = TESTS) -> subprocess.CompletedProcess[str]:
    """pytest on ``tests`` in a fresh interpreter, with the plugin loaded as users get it."""
    (tmp_path / "test_user.py").write_text(tests)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    load = [] if _plugin_by_entry_point() else ["-p", PLUGIN]  # a source tree, not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *load, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_entry_point_names_the_plugin_module() -> None:
    # pyproject.toml's pytest11 entry point; installed, pytest loads it.
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\nfearless = "_fearless_pytestplugin"' in text


def test_a_marked_test_is_explored_and_its_failure_says_how_to_replay_it(tmp_path: Path) -> None:
    proc = run_pytest(tmp_path, "-k", "racy or mutex", "--fearless-seed=3")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"1 failed, 1 passed", out), out
    assert "AssertionError: Counter: " in out  # the test's own assertion, as pytest shows it
    assert "counter[0] += 1" in out  # and the trace of the failing schedule
    line = re.search(r"replay with: (pytest .*)", out)
    assert line is not None, out
    # A command a shell runs as printed: the schedule's '*' is quoted.
    command = shlex.split(line[1])
    assert command[:2] == ["pytest", "test_user.py::test_racy"], command
    assert re.fullmatch(r"--fearless-replay=2:[0-9a-f]{6}:[0-9*-]+", command[2]), command
    assert "fearless.testing" in out

    again = run_pytest(tmp_path, *command[1:])
    assert again.returncode == 1, again.stdout
    assert line[1] in again.stdout  # the same schedule, failing again


def test_a_seed_makes_the_exploration_reproducible(tmp_path: Path) -> None:
    schedules = set()
    for _ in range(2):
        proc = run_pytest(tmp_path, "-k", "racy", "--fearless-seed=11")
        found = re.search(r"--fearless-replay=(\S+)", proc.stdout)
        assert found is not None, proc.stdout
        schedules.add(found[1])
    assert len(schedules) == 1, schedules


@pytest.mark.parametrize(("scale", "runs"), [("1", 10), ("0.5", 5), ("3", 30)])
def test_the_scale_multiplies_every_explored_test_s_schedules(
    tmp_path: Path, scale: str, runs: int
) -> None:
    proc = run_pytest(
        tmp_path, "-k", "counted", f"--fearless-scale={scale}", f"--expected-runs={runs}"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "inf"])
def test_a_bad_scale_is_refused(tmp_path: Path, scale: str) -> None:
    proc = run_pytest(tmp_path, f"--fearless-scale={scale}")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "--fearless-scale must be a number > 0" in proc.stderr


def test_misused_markers_are_refused_with_what_to_do(tmp_path: Path) -> None:
    tests = textwrap.dedent(
        """
        import pytest

        @pytest.mark.explore("random")
        def test_positional():
            pass

        @pytest.mark.explore()
        async def test_coroutine():
            pass

        @pytest.mark.explore(strategy="dfs")
        def test_unknown_strategy():
            pass
        """
    )
    proc = run_pytest(tmp_path, tests=tests)
    out = proc.stdout + proc.stderr
    assert "takes keyword arguments only" in out, out
    for name in ("test_positional", "test_coroutine", "test_unknown_strategy"):
        assert f"FAILED test_user.py::{name}" in out or f"ERROR test_user.py::{name}" in out, out
    assert "runs threads, not coroutines" in out
    assert "strategy must be one of" in out or "dfs" in out
