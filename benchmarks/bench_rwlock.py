"""RwLock against a ``threading.Lock`` used exclusively, on a read-heavy load.

    python -m benchmarks.bench_rwlock      # from the repository's root

Four threads do 50,000 operations each; every 20th operation (5%) is a
write that bumps one entry of a shared 20-entry dict, every other one a
read that sums all 20 values. The baseline takes a plain ``threading.Lock``
for both. Target: the RwLock run takes at most 1.5x the baseline's time
(medians of interleaved repeats, measured in the same run); with the
compiled core on the free-threaded build, at most 1.0x (issue 15), since
its readers run in parallel there.

The pure-Python peer ``readerwriterlock`` (its fair, reader-preferring and
writer-preferring locks) runs the same load when it is installed; it is not
a dependency, and is skipped with a note otherwise.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import fearless
from benchmarks._timing import GIL, compare, interpreter, report, run_threads
from fearless import RwLock

THREADS = 4
OPS = 50_000
WRITE_EVERY = 20  # 5% writes
KEYS = tuple(f"key{i}" for i in range(20))


class Exclusive:
    """The baseline: one ``threading.Lock`` for reads and writes alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def gen_rlock(self) -> threading.Lock:
        return self._lock

    def gen_wlock(self) -> threading.Lock:
        return self._lock


def with_rwlock() -> None:
    rw = RwLock(dict.fromkeys(KEYS, 1))

    def work() -> None:
        for i in range(OPS):
            if i % WRITE_EVERY == 0:
                with rw.write() as writer:
                    writer.value["key0"] += 1
            else:
                with rw.read() as reader:
                    data = reader.value
                    total = 0
                    for key in KEYS:
                        total += data[key]

    run_threads(THREADS, work)
    assert rw.into_inner()["key0"] == 1 + THREADS * ((OPS + WRITE_EVERY - 1) // WRITE_EVERY)


def plain(factory: Callable[[], Any]) -> Callable[[], None]:
    """The load on a lock that does not own the data.

    ``factory()`` returns an object with ``readerwriterlock``'s interface:
    ``gen_rlock()`` and ``gen_wlock()`` give the context managers to read
    and to write under.
    """

    def run() -> None:
        rw = factory()
        data = dict.fromkeys(KEYS, 1)

        def work() -> None:
            read, write = rw.gen_rlock(), rw.gen_wlock()
            for i in range(OPS):
                if i % WRITE_EVERY == 0:
                    with write:
                        data["key0"] += 1
                else:
                    with read:
                        total = 0
                        for key in KEYS:
                            total += data[key]

        run_threads(THREADS, work)
        assert data["key0"] == 1 + THREADS * ((OPS + WRITE_EVERY - 1) // WRITE_EVERY)

    return run


def peers() -> dict[str, Callable[[], None]]:
    """The installed peers, by label."""
    try:
        rwlock: Any = importlib.import_module("readerwriterlock.rwlock")
    except ImportError:
        print("  (skipped readerwriterlock: not installed)")
        return {}
    return {
        f"readerwriterlock {kind}": plain(getattr(rwlock, cls))
        for kind, cls in (
            ("fair", "RWLockFair"),
            ("reader-pref.", "RWLockRead"),
            ("writer-pref.", "RWLockWrite"),
        )
    }


def main() -> None:
    native = fearless.native
    print(f"RwLock benchmark on {interpreter()}, {'compiled core' if native else 'pure Python'}")
    report(
        f"{THREADS} threads x {OPS:,} ops, {100 // WRITE_EVERY}% writes, "
        f"a read sums {len(KEYS)} dict values",
        compare(
            {
                "threading.Lock (exclusive)": plain(Exclusive),
                "fearless.RwLock": with_rwlock,
                **peers(),
            },
            5,
        ),
        "threading.Lock (exclusive)",
        1.5 if GIL or not native else 1.0,
    )


if __name__ == "__main__":
    main()
