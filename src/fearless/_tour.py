"""``python -m fearless tour``: the Rust chapter's examples, ported, run here."""

from __future__ import annotations

import importlib.util
import platform
import runpy
import sys
from collections.abc import Sequence

from . import __version__
from ._par import par_info
from ._runtime import free_threaded_build, gil_enabled

#: (module in ``fearless._examples``, the chapter section it ports), in chapter order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("atomic_counter", "True parallelism: Arc<AtomicI64> counter, Release/Acquire hand-off"),
    ("shared_vec", "Thread safety: Arc<Mutex<Vec>> shared by four threads"),
    ("safe_append", "Check-then-append without a race"),
    ("threads_counter", "Exercise: thread-safe counter, and mutex poisoning"),
    ("channels", "Channels: queue.Queue() <-> mpsc::channel(), disconnection, select"),
    ("rwlock_config", "RwLock: many readers or one writer"),
    ("once_config", "OnceLock / LazyLock: initialise once"),
    ("parallel", "Parallelism: Pool.map -> par_map, .iter() -> .par_iter()"),
    ("deadlock_detection", "Beyond Rust: self-deadlock detected, not hung"),
    ("finding_races", "Beyond the compiler: the chapter's races found by fearless.testing"),
)


def describe_interpreter() -> str:
    """One line: which Python this is and whether its GIL is on.

    Example:
        >>> "GIL" in describe_interpreter()
        True
    """
    build = "free-threaded build" if free_threaded_build() else "regular build"
    gil = "GIL enabled" if gil_enabled() else "GIL disabled: threads run in parallel"
    return f"{platform.python_implementation()} {platform.python_version()} ({build}), {gil}"


def run(names: Sequence[str] = ()) -> int:
    """Run the tour's sections (all, or those named) and return an exit code."""
    print(f"fearless {__version__} tour")
    print(describe_interpreter())
    print(f"par_map/par_iter: {par_info()}")
    wanted = set(names)
    unknown = wanted - {name for name, _ in SECTIONS}
    if unknown:
        print(f"unknown section(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for name, title in SECTIONS:
        if wanted and name not in wanted:
            continue
        module = f"fearless._examples.{name}"
        if importlib.util.find_spec(module) is None:
            continue
        print()
        print(f"== {title} ({name}) ==")
        sys.stdout.flush()
        runpy.run_module(module, run_name="__main__", alter_sys=False)
        sys.stdout.flush()
    return 0
