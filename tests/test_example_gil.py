"""The chapter's GIL section and its Rust answer: ``gil_problem.py`` and ``true_parallelism.py``.

Every line of their output is checked: exactly where it is deterministic
(counts that must be exact, headings, the sentence for this build), by
pattern where it is measured (times, speed-ups, lost updates, the
timeline's marks). No timing relation is asserted: the figures depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import os
import platform
import re
import sysconfig
from pathlib import Path

from _helpers import GIL_ENABLED, run_example

THREADS = 4
INCREMENTS = 50_000  # per thread, under FEARLESS_EXAMPLE_QUICK
TOTAL = f"{THREADS * INCREMENTS:,}"
COLUMNS = 64
SECONDS = r"\d+\.\d\ds"
SPEED_UP = rf"{TOTAL} on 1 thread: {SECONDS}; speed-up over 1 thread: \d+\.\d\dx"
FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def cores() -> int:
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return int(count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def plural_cores() -> str:
    return f"{cores()} core{'s' if cores() != 1 else ''}"


def interpreter_line() -> str:
    build = "free-threaded build, " if FREE_THREADED_BUILD else ""
    if not GIL_ENABLED:
        state = "GIL off"
    elif build:
        state = "GIL on (re-enabled)"  # PYTHON_GIL=1, or a module that needs the GIL
    else:
        state = "GIL on"
    return (
        f"Python {platform.python_version()} (CPython, {build}{state}); "
        f"{cores()} CPU core{'s' if cores() != 1 else ''}"
    )


def fullmatch(pattern: str, line: str) -> re.Match[str]:
    found = re.fullmatch(pattern, line)
    assert found is not None, f"{line!r} does not match {pattern!r}"
    return found


def check_gil_problem(lines: list[str]) -> list[str]:
    """Check the output of ``gil_problem.py`` line by line; return what follows it."""
    assert lines[0] == interpreter_line()

    # counter += 1, no lock: the count is whatever survived; the lost count adds up.
    assert lines[1] == f"counter += 1 on a global, no lock: {THREADS} threads x {INCREMENTS:,}"
    count = int(fullmatch(rf"  Counter: ([\d,]+)   Time: {SECONDS}", lines[2])[1].replace(",", ""))
    assert 0 < count <= THREADS * INCREMENTS
    lost = THREADS * INCREMENTS - count
    if lost:
        assert (
            lines[3] == f"  lost {lost:,} updates (a thread wrote between another's read and write)"
        )
    elif GIL_ENABLED:
        assert lines[3] == (
            "  no update lost this run: the GIL made it look safe; nothing guarantees it"
        )
    else:
        assert lines[3] == "  no update lost this run, by luck of timing; nothing guarantees it"
    fullmatch(f"  {SPEED_UP}", lines[4])

    # with threading.Lock(): always exact.
    assert lines[5] == f"with threading.Lock(): {THREADS} threads x {INCREMENTS:,}"
    fullmatch(rf"  Counter: {TOTAL}   Time: {SECONDS}", lines[6])
    assert lines[7] == "  always exact: under the lock, read-add-write is one step"
    fullmatch(f"  {SPEED_UP}", lines[8])

    # The timeline: a time axis, four rows of marks, how many ran at once, a legend.
    assert lines[9] == (
        "the timeline: CPU-bound work (a pure-Python loop, no shared state) on 4 threads"
    )
    axis = fullmatch(
        r" {14}0 *(\d+) ms", lines[10]
    )  # 0 and the end, over the first and last column
    assert len(lines[10]) == 2 + 10 + 2 + COLUMNS
    assert int(axis[1]) >= 0
    rows = [
        fullmatch(rf"    thread {i} │([█░ ]{{{COLUMNS}}})│", lines[10 + i])[1] for i in (1, 2, 3, 4)
    ]
    for row in rows:
        # Released together at 0: each row is marked from the first column to
        # its end, with no gap; the thread that ended last reaches the right edge.
        fullmatch(r"[█░]+ *", row)
    assert max(len(row.rstrip()) for row in rows) == COLUMNS
    fullmatch(rf"     running │[0-4]{{{COLUMNS}}}│", lines[15])
    assert lines[16] == (
        "              █ ran  ░ waiting for the GIL or a core  running: threads on a CPU"
    )
    assert all(len(line) <= 80 for line in lines[10:17])
    summary = fullmatch(
        r"  wall (\d+\.\d\d)s, CPU (\d+\.\d\d)s in all; parallelism: CPU time / wall = (\d+\.\d)x",
        lines[17],
    )
    float(summary[3])  # printed on every build; its value is the machine's
    fullmatch(
        rf"  the same work on 1 thread: {SECONDS}; speed-up over 1 thread: \d+\.\d\dx", lines[18]
    )
    if GIL_ENABLED:
        assert lines[19] == (
            "  GIL on: the rows take turns, one thread holds the GIL at a time: serialised"
        )
    else:
        assert lines[19] == (
            f"  GIL off: the rows overlap, up to {min(THREADS, cores())} at once "
            f"(this machine has {plural_cores()})"
        )

    # The chapter's way out: multiprocessing.Pool(4).map(cpu_work, data).
    assert lines[20] == (
        "multiprocessing.Pool(4).map(cpu_work, data): the same work in 4 processes"
    )
    fullmatch(rf"  Time: {SECONDS}, starting and stopping the processes included", lines[21])
    fullmatch(rf"  map alone: {SECONDS}; speed-up over 1 thread: \d+\.\d\dx", lines[22])
    return lines[23:]


def test_gil_problem() -> None:
    rest = check_gil_problem(run_example("gil_problem.py").splitlines())
    assert rest == []


def test_gil_problem_plot(tmp_path: Path) -> None:
    from PIL import Image

    target = tmp_path / "timeline.png"
    rest = check_gil_problem(run_example("gil_problem.py", "--plot", str(target)).splitlines())
    assert rest == [f"timeline written to {target}"]
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.size == (800, 300)


def test_gil_problem_plot_without_matplotlib(tmp_path: Path) -> None:
    # A matplotlib that cannot be imported, first on the path: the example
    # says how to install it, still shows the rest, and succeeds.
    fake = tmp_path / "site" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('matplotlib is not installed here')\n")
    path = os.pathsep.join(p for p in (str(fake.parent), os.environ.get("PYTHONPATH")) if p)
    target = tmp_path / "timeline.png"
    out = run_example("gil_problem.py", "--plot", str(target), PYTHONPATH=path)
    rest = check_gil_problem(out.splitlines())
    assert rest == ["--plot needs matplotlib: pip install 'fearless[examples]'"]
    assert not target.exists()


def test_true_parallelism() -> None:
    lines = run_example("true_parallelism.py").splitlines()
    assert lines[0] == interpreter_line()
    assert lines[1] == (
        f"Arc<AtomicI64>, fetch_add(1, Ordering.Relaxed): {THREADS} threads x {INCREMENTS:,}"
    )
    fullmatch(rf"  Counter: {TOTAL}   Time: {SECONDS}", lines[2])
    fullmatch(f"  {SPEED_UP}", lines[3])
    assert lines[4] == "  always exact, GIL or not: each fetch_add is one indivisible step"
    if GIL_ENABLED:
        assert lines[5] == (
            "  GIL on: one thread runs Python at a time, so 4 threads are no faster than 1"
        )
    else:
        assert lines[5] == "  GIL off: the threads run at once but take turns at the one atomic"
    assert lines[6] == (
        f"each thread counts {INCREMENTS:,} alone, then fetch_add(count, Ordering.Relaxed)"
    )
    fullmatch(rf"  Counter: {TOTAL}   Time: {SECONDS}", lines[7])
    fullmatch(f"  {SPEED_UP}", lines[8])
    if GIL_ENABLED:
        assert lines[9] == "  GIL on: the loops still run one at a time"
    else:
        assert lines[9] == (
            f"  GIL off: the loops run in parallel, {min(THREADS, cores())} at a time "
            f"(this machine has {plural_cores()})"
        )
    assert len(lines) == 10
