"""The examples the chapter has no section for, and the tour that runs them all.

The chapter's own sections are checked beside their topics:
``test_example_gil.py``, ``test_example_safety.py``,
``test_example_async_ordering.py`` and ``test_example_parallel.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import fearless
from _helpers import EXAMPLES, GIL_ENABLED, run_example
from fearless import _tour

SRC = EXAMPLES.parent / "src"


def run(name: str) -> str:
    return run_example(name)


def test_channels() -> None:
    assert run("channels.py") == (
        "queue.Queue: 9 messages, needed 3 sentinels to know when to stop\n"
        "channel:     9 messages, the loop ended when the last Sender was gone\n"
        "worker 0 sent [0, 1, 2] in order\n"
        "worker 1 sent [0, 1, 2] in order\n"
        "worker 2 sent [0, 1, 2] in order\n"
        "sync_channel(0): 'ping' handed over; the sender waited for the receiver\n"
        "SendError: the receiver is gone, so the message can never be delivered; "
        "it is returned in .value (value='late')\n"
        "select: 'result' arrived before the 5 s timeout\n"
        "timed out: select() received nothing within 0.01 seconds from its 1 channel\n"
    )


def test_finding_races() -> None:
    assert run("finding_races.py") == (
        "counter += 1 (2 threads x 3): RACE found -- Counter: 3\n"
        "  replaying its schedule fails the same way: True\n"
        "Mutex counter: passed all 126 schedules (the whole space; complete: True)\n"
        "AtomicInt counter: passed all 126 schedules (the whole space; complete: True)\n"
        "check-then-append: RACE found -- shared_list: [1, 2, 3, 2]\n"
        "  replaying its schedule fails the same way: True\n"
        "check-then-append under a Mutex: passed all 2233 schedules "
        "(every schedule with ≤ 2 preemptions; complete: False)\n"
        "two mutexes, opposite orders: DEADLOCK found\n"
        "  T1 'one' is blocked in Mutex.lock on Mutex#2, held by T2 'two'\n"
        "  T2 'two' is blocked in Mutex.lock on Mutex#1, held by T1 'one'\n"
        "Release/Acquire: data, then flag: passed all 269 schedules "
        "(every schedule with ≤ 2 preemptions; complete: False)\n"
        "Release/Acquire: flag, then data: RACE found -- saw the flag, but data = None\n"
        "  replaying its schedule fails the same way: True\n"
    )


def test_deadlock_detection() -> None:
    assert run("deadlock_detection.py") == (
        "DeadlockError: mutex is already locked by this thread; locking it again would deadlock\n"
        "WouldBlockError: mutex is locked; try again later or call lock() to wait for it\n"
        "after the block: Mutex({'retries': 4})\n"
    )


ONCE_EXPECTED = "".join(
    f"request {i} via connection to db://primary (retries=3)\n" for i in range(8)
) + (
    "load_config ran 1 time(s) for 8 threads\n"
    "connect ran 2 time(s): one failure, one success\n"
    "CONFIG = LazyLock(Config(url='db://primary', retries=3))\n"
)


def test_once_config() -> None:
    assert run("once_config.py") == ONCE_EXPECTED


RWLOCK_EXPECTED = """\
3 readers held the read lock at the same time, all reading db://primary/v1
reader 0: 1000 of 1000 reads consistent
reader 1: 1000 of 1000 reads consistent
reader 2: 1000 of 1000 reads consistent
reader 3: 1000 of 1000 reads consistent
writer published 5 versions; no reader saw a half-written config
downgrade: read back db://primary/v7 right after writing it
upgradable read: replicas 1 -> 3
try_write while reading: rwlock is locked; try again later or call write() to wait for it
write while reading: rwlock is read-locked by this thread; writing would deadlock \
(release the read guards first, or use upgradable_read() and upgrade())
final: RwLock(Config(version=7, url='db://primary/v7', replicas=3))
"""


def test_rwlock_config() -> None:
    assert run("rwlock_config.py") == RWLOCK_EXPECTED


# -- the tour ------------------------------------------------------------------


def tour(
    *args: str, quick: bool = True, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m fearless tour ARGS`` with this interpreter (the installed fearless)."""
    variables = {**os.environ, **env}
    if quick:
        variables["FEARLESS_EXAMPLE_QUICK"] = "1"
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", "-m", "fearless", "tour", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=variables,
        cwd=cwd,
    )


def section_output(out: str, name: str) -> str:
    """What one section printed in the tour, after its title and its one-line summary."""
    section = next(s for s in _tour.SECTIONS if s.name == name)
    start = out.index(f"== {section.title} ({name}) ==\n   {section.shows}\n")
    body = out[start:].split("\n", 2)[2]
    following = body.find("\n\n== ")  # the tour leaves a blank line before a title
    return body if following == -1 else body[: following + 1]


def test_every_example_is_in_the_tour() -> None:
    programs = {
        p.stem for p in EXAMPLES.glob("*.py") if p.stem != "__init__" and "misuse" not in p.stem
    }
    assert programs == {section.name for section in _tour.SECTIONS}


def test_sections_follow_the_chapter() -> None:
    chapter = [s.title for s in _tour.SECTIONS if not s.title.startswith("Beyond the chapter")]
    headings = [
        "Python's GIL Problem",
        "Rust — True Parallelism",
        "Thread Safety: Type System Guarantees",
        "Send and Sync Traits",
        "Concurrency Primitives Comparison",
        "Mutex Poisoning",
        "Atomic Ordering",
        "async/await Comparison",
        "Simple Parallelism with Rayon",
        "Case Study: Parallel Image Processing Pipeline",
        "Exercise: Thread-Safe Counter",
    ]
    # Every heading, in the chapter's order; a heading may have more sections.
    assert [h for h in headings if any(t.startswith(h) for t in chapter)] == headings
    firsts = [next(t for t in chapter if t.startswith(h)) for h in headings]
    assert sorted(firsts, key=chapter.index) == firsts
    assert all(s.shows and "\n" not in s.shows for s in _tour.SECTIONS)


def test_tour_lists_sections() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fearless", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.splitlines() == [f"{s.name:20s} {s.title}" for s in _tour.SECTIONS]


def test_tour_runs_every_section() -> None:
    proc = tour()
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    lines = out.splitlines()
    assert lines[0].startswith("fearless ") and lines[0].endswith(" tour")
    assert ("GIL enabled" if GIL_ENABLED else "GIL disabled") in lines[1]
    core = "compiled core" if fearless.native else "pure-Python implementation"
    assert lines[1].endswith(f"; fearless: {core}"), lines[1]
    assert lines[2].startswith(
        f"par_map/par_iter: auto -> {'processes' if GIL_ENABLED else 'threads'} ("
    )
    titles = [line for line in lines if line.startswith("== ")]
    assert titles == [f"== {s.title} ({s.name}) ==" for s in _tour.SECTIONS]
    # Each section prints what its program prints on its own.
    assert section_output(out, "rwlock_config") == RWLOCK_EXPECTED
    assert section_output(out, "once_config") == ONCE_EXPECTED
    assert "Final count: 10000" in section_output(out, "exercise_counter")
    # The parallel sections run where the header says "auto" runs: on worker
    # processes under the GIL (the examples tell from the workers' pids).
    where = "worker processes" if GIL_ENABLED else "threads of this process"
    rayon = section_output(out, "rayon").splitlines()
    assert rayon.count(f"  ran on {where}") == 2, rayon
    case_study = section_output(out, "case_study")
    assert f"backend 'auto' ran on {'worker processes' if GIL_ENABLED else 'threads'}" in case_study


def test_tour_runs_chosen_sections_in_chapter_order() -> None:
    proc = tour("deadlock_detection", "rwlock_config")
    assert proc.returncode == 0, proc.stderr
    titles = [line for line in proc.stdout.splitlines() if line.startswith("== ")]
    assert titles == [
        "== Concurrency Primitives Comparison: RwLock<T> (rwlock_config) ==",
        "== Beyond the chapter: self-deadlock detected, not hung (deadlock_detection) ==",
    ]
    assert section_output(proc.stdout, "rwlock_config") == RWLOCK_EXPECTED


def test_tour_runs_each_section_as_its_own_main_program() -> None:
    # As `python -m fearless._examples.<name>`: the functions that par_map
    # sends to worker processes live in a module the workers can import.
    # (Run in place with runpy, they could not be pickled, and "auto" fell
    # back to threads on a GIL build while the tour said "processes".)
    # From a checkout (PYTHONPATH=src) the program is examples/<name>.py.
    installed = _tour._installed("fearless._examples")
    for section in _tour.SECTIONS:
        found = _tour.commands(section)
        assert found is not None
        argv, _ = found
        if installed:
            assert argv == [sys.executable, "-m", f"fearless._examples.{section.name}"]
        else:
            assert argv == [sys.executable, str(EXAMPLES / f"{section.name}.py")]


def test_tour_rejects_unknown_sections() -> None:
    proc = tour("no_such_section")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("unknown section(s): no_such_section; known: gil_problem, ")


def test_tour_plot_needs_the_gil_section(tmp_path: Path) -> None:
    proc = tour("rwlock_config", "--plot", str(tmp_path / "t.png"))
    assert proc.returncode == 2
    assert proc.stderr == "--plot draws the timeline of the gil_problem section: add it\n"
    assert not (tmp_path / "t.png").exists()


def test_tour_plot_writes_the_timeline(tmp_path: Path) -> None:
    from PIL import Image

    proc = tour("gil_problem", "--plot", "timeline.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "timeline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        width, height = image.size
    assert width >= 400 and height >= 200


def test_tour_from_a_source_checkout(tmp_path: Path) -> None:
    # PYTHONPATH=src imports fearless from the checkout, which has no
    # fearless._examples (setuptools maps examples/ to it at install time):
    # the tour runs the checkout's examples/ instead, on the same fearless.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import fearless, fearless._tour as t\n"
            "print(fearless.__file__)\n"
            "print(t.commands(t.SECTIONS[-3])[0])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        cwd=tmp_path,
    ).stdout.splitlines()
    assert probe == [
        str(SRC / "fearless" / "__init__.py"),
        str([sys.executable, str(EXAMPLES / "exercise_counter.py")]),
    ]
    proc = tour("exercise_counter", PYTHONPATH=str(SRC), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Final count: 10000\n" in section_output(proc.stdout, "exercise_counter")


def test_tour_without_its_examples_says_what_to_do(tmp_path: Path) -> None:
    # A copy of the package alone, neither installed nor in a checkout.
    shutil.copytree(SRC / "fearless", tmp_path / "lib" / "fearless")
    proc = tour(PYTHONPATH=str(tmp_path / "lib"), cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == _tour.NO_EXAMPLES + "\n"
    assert "ModuleNotFoundError" not in proc.stderr
