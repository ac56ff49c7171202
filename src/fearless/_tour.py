"""``python -m fearless tour``: the Rust chapter, ported, run on this interpreter.

Each section is one program of ``examples/`` (installed as
``fearless._examples``), run in its own interpreter: ``python -m
fearless._examples.<name>``, or ``python examples/<name>.py`` from a source
checkout. A fresh process per section keeps the sections from timing each
other's leftovers, and it runs every example exactly as a user would: as
``__main__``, so that the worker processes of ``par_map`` can import the
functions it sends them (a module run in place with ``runpy`` cannot be
re-imported by a worker, and ``backend="auto"`` would quietly fall back to
threads).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import __version__, _compiled
from ._par import par_info
from ._runtime import free_threaded_build, gil_enabled


@dataclass(frozen=True)
class Section:
    """One section of the tour: a program of ``examples/`` and what it shows."""

    #: The program's module name in ``fearless._examples`` (``examples/<name>.py``).
    name: str
    #: The heading of the chapter section it ports (or "Beyond the chapter: ...").
    title: str
    #: One line on what it shows.
    shows: str


#: The sections, in the chapter's order.
SECTIONS: tuple[Section, ...] = (
    Section(
        "gil_problem",
        "Python's GIL Problem",
        "counter += 1 on 4 real threads, with a Lock; speed-ups and the timeline, measured here",
    ),
    Section(
        "true_parallelism",
        "Rust — True Parallelism",
        "Arc<AtomicI64> with Relaxed fetch_add on 4 threads: always 4,000,000",
    ),
    Section(
        "thread_safety",
        "Thread Safety: Type System Guarantees",
        "the list lives inside its Mutex: no way to forget the lock; check-then-append",
    ),
    Section(
        "send_sync",
        "Send and Sync Traits",
        "what rustc rejects at compile time, rejected by mypy or at run time",
    ),
    Section(
        "primitives",
        "Concurrency Primitives Comparison",
        "one port per row of the table, RLock included",
    ),
    Section(
        "channels",
        "Concurrency Primitives Comparison: queue.Queue() -> mpsc::channel()",
        "the loop ends when the last Sender is gone; rendezvous; select",
    ),
    Section(
        "rwlock_config",
        "Concurrency Primitives Comparison: RwLock<T>",
        "many readers or one writer; downgrade; upgradable reads",
    ),
    Section(
        "once_config",
        "Beyond the chapter: OnceLock / LazyLock",
        "initialise once, whoever asks first; a failed init is retried",
    ),
    Section(
        "mutex_poisoning",
        "Mutex Poisoning",
        "a holder that fails poisons the Mutex; into_inner() recovers the data",
    ),
    Section(
        "atomic_ordering",
        "Atomic Ordering",
        "Relaxed counter, Release/Acquire hand-off, SeqCst store-buffering flags",
    ),
    Section(
        "async_await",
        "async/await Comparison",
        "asyncio.gather, and tokio::spawn as fearless threads feeding `async for`",
    ),
    Section(
        "rayon",
        "Simple Parallelism with Rayon",
        "Pool.map -> par_map, .iter() -> par_iter(), filter_map, join",
    ),
    Section(
        "case_study",
        "Case Study: Parallel Image Processing Pipeline",
        "real PNGs: multiprocessing.Pool against par_iter().filter_map(), time and memory",
    ),
    Section(
        "exercise_counter",
        "Exercise: Thread-Safe Counter",
        "Arc<Mutex<u64>>: 10 threads x 1,000 increments",
    ),
    Section(
        "deadlock_detection",
        "Beyond the chapter: self-deadlock detected, not hung",
        "re-locking a held Mutex raises DeadlockError instead of hanging",
    ),
    Section(
        "finding_races",
        "Beyond the chapter: the chapter's races found by fearless.testing",
        "the explorer finds counter += 1 and check-then-append, and replays them",
    ),
)

#: The section that draws the timeline, and so takes ``--plot``.
PLOT_SECTION = "gil_problem"

#: Said when the examples can be found neither installed nor in a checkout.
NO_EXAMPLES = (
    "The tour's examples are not installed with this copy of fearless: "
    "run `scripts/tour` from a source checkout, or `pip install .` there first."
)


def describe_interpreter() -> str:
    """One line: which Python this is, whether its GIL is on, which fearless runs.

    Example:
        >>> "GIL" in describe_interpreter()
        True
    """
    build = "free-threaded build" if free_threaded_build() else "regular build"
    gil = "GIL enabled" if gil_enabled() else "GIL disabled: threads run in parallel"
    core = "compiled core" if _compiled.native else "pure-Python implementation"
    return (
        f"{platform.python_implementation()} {platform.python_version()} ({build}), {gil}; "
        f"fearless: {core}"
    )


def _checkout_examples() -> Path | None:
    """``examples/`` of the source checkout this fearless was imported from, if any."""
    package = Path(__file__).resolve().parent  # <checkout>/src/fearless
    examples = package.parent.parent / "examples"
    if package.parent.name == "src" and (examples / "__init__.py").is_file():
        return examples
    return None


def commands(section: Section) -> tuple[list[str], dict[str, str]] | None:
    """The command line and environment that run ``section``, or None if it is missing.

    Installed: ``python -m fearless._examples.<name>``. From a source
    checkout (``PYTHONPATH=src``), where ``fearless._examples`` does not
    exist: ``python examples/<name>.py``, with this ``src`` on the child's
    path so that it imports the same fearless.
    """
    env = dict(os.environ)
    if _installed(f"fearless._examples.{section.name}"):
        return [sys.executable, "-m", f"fearless._examples.{section.name}"], env
    examples = _checkout_examples()
    if examples is None or not (examples / f"{section.name}.py").is_file():
        return None
    src = str(examples.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return [sys.executable, str(examples / f"{section.name}.py")], env


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported (its parent package is imported to find out)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # the parent package itself is missing
        return False


def _examples_available() -> bool:
    return _installed("fearless._examples") or _checkout_examples() is not None


def run(names: Sequence[str] = (), *, plot: str | None = None) -> int:
    """Run the tour's sections (all, or those named) and return an exit code.

    ``plot`` is a PNG path: the GIL section also draws its timeline there
    with matplotlib. A section that fails is reported and the tour goes on;
    the exit code is 1 if any failed, 2 for bad arguments.
    """
    wanted = set(names)
    unknown = wanted - {section.name for section in SECTIONS}
    if unknown:
        known = ", ".join(section.name for section in SECTIONS)
        print(f"unknown section(s): {', '.join(sorted(unknown))}; known: {known}", file=sys.stderr)
        return 2
    if plot is not None and wanted and PLOT_SECTION not in wanted:
        print(f"--plot draws the timeline of the {PLOT_SECTION} section: add it", file=sys.stderr)
        return 2
    if not _examples_available():
        print(NO_EXAMPLES, file=sys.stderr)
        return 2
    print(f"fearless {__version__} tour")
    print(describe_interpreter())
    print(f"par_map/par_iter: {par_info()}")
    failed: list[str] = []
    for section in SECTIONS:
        if wanted and section.name not in wanted:
            continue
        found = commands(section)
        if found is None:
            failed.append(section.name)
            print(f"!! {section.name}: its program is missing from the examples", file=sys.stderr)
            continue
        argv, env = found
        if plot is not None and section.name == PLOT_SECTION:
            argv += ["--plot", os.path.abspath(plot)]
        print()
        print(f"== {section.title} ({section.name}) ==")
        print(f"   {section.shows}")
        sys.stdout.flush()
        code = subprocess.call(argv, env=env)
        sys.stdout.flush()
        if code != 0:
            failed.append(section.name)
            print(f"!! {section.name} failed (exit code {code})", file=sys.stderr)
    if failed:
        print(f"\n{len(failed)} section(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
