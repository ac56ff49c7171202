"""Real races in real libraries, and how fast ``explore`` finds each one.

    python -m benchmarks.race_corpus            # from the repository's root
    python -m benchmarks.race_corpus --quick    # one seed per strategy

Each entry is a race that was reported against a widely used pure-Python
library, or against one of CPython's own pure-Python modules, written as a
small ``explore`` test that drives the library's real, unmodified code at a
pinned version (``pip install 'fearless[corpus]'`` installs exactly those
versions). The program makes its own objects, starts plain
``threading.Thread`` threads, joins them and checks what the library
promised; ``trace=`` names the library, so that its lines and its stores to
shared state are switch points. Under some schedule the check fails on the
racy version, the way it fails in production under load.

Where a fix exists, the entry also carries the program as it reads with the
fix (the lock the library's documentation asks for, or the fixed module),
which must pass under every schedule the explorer tries: a corpus that only
ever failed would not show that the explorer tells the two apart.

``tests/test_race_corpus.py`` runs every entry with the default strategy and
a fixed seed (skipping an entry whose pinned library is not installed); this
module measures, for every strategy, the schedules and the seconds until the
first failing run (``ScheduleFailure.found_at`` and ``.found_after``: a
Hypothesis run then spends more schedules shrinking the failure, which is not
counted). Figures are medians over seeds.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.metadata
import inspect
import os
import statistics
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fearless.testing import ScheduleFailure, explore

from ._timing import interpreter

__all__ = ["CORPUS", "GAPS", "Race", "main"]


@dataclass(frozen=True)
class Race:
    """One reported race, as an ``explore`` test against the library's own code."""

    #: A short name, used as the test's id.
    key: str
    #: The distribution as pip names it, or ``"CPython"`` for the standard library.
    library: str
    #: The affected version this entry is pinned to (CPython: the versions it affects).
    version: str
    #: The racy code and what goes wrong, in a few words.
    what: str
    #: Where the race was reported.
    reported: str
    #: The modules to trace (``explore(..., trace=...)``).
    trace: tuple[str, ...]
    #: The test: it fails under some schedule wherever the race is present.
    program: Callable[[], None]
    #: A regular expression the failure's first line matches: the race's symptom.
    symptom: str
    #: The same program with the fix, which passes under every schedule; None if there is no fix.
    fixed: Callable[[], None] | None = None
    #: Whether the installed code still has the race (CPython's fixed releases do not).
    present: Callable[[], bool] = lambda: True

    def missing(self) -> str | None:
        """Why this entry cannot run here (its pinned library is not installed), or None."""
        if self.library == "CPython":
            return None
        try:
            installed = importlib.metadata.version(self.library)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != self.version:
            found = f"{installed} is installed" if installed else "it is not installed"
            return f"needs {self.library}=={self.version} ({found}): pip install 'fearless[corpus]'"
        return None


def _both(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run ``first`` and ``second`` in two threads at once and join both."""
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- cachetools: caches that a lock must guard ---------------------------------------------------
#
# cachetools' caches are documented as not thread-safe: "access to a shared
# cache from multiple threads must be properly synchronized", for instance
# with the `lock` argument of @cached. Users keep reporting the symptoms of
# unguarded access (tkem/cachetools#288 and the issues it links: KeyError
# from expire() and popitem(), sizes that drift). The fix is the lock.


def _cachetools_currsize(lock: Any = None) -> None:
    import cachetools  # noqa: PLC0415 - optional

    guard = lock if lock is not None else _NoLock()
    cache: Any = cachetools.Cache(maxsize=10)

    def put(key: str) -> Callable[[], None]:
        def body() -> None:
            with guard:
                cache[key] = key

        return body

    _both(put("a"), put("b"))
    assert cache.currsize == len(cache), f"currsize {cache.currsize}, {len(cache)} items"


def _cachetools_lfu(lock: Any = None) -> None:
    import cachetools  # noqa: PLC0415 - optional

    guard = lock if lock is not None else _NoLock()
    cache: Any = cachetools.LFUCache(maxsize=4)
    cache["k"] = 1
    cache["j"] = 2  # "k" and "j" share one use-count link
    seen: list[int] = []

    def read() -> None:
        with guard:
            seen.append(cache["k"])

    _both(read, read)
    assert seen == [1, 1]


def _cachetools_ttl(lock: Any = None) -> None:
    import cachetools  # noqa: PLC0415 - optional

    guard = lock if lock is not None else _NoLock()
    now = [0.0]
    cache: Any = cachetools.TTLCache(maxsize=4, ttl=1.0, timer=lambda: now[0])
    cache["a"] = 1
    now[0] = 5.0  # "a" has expired

    def expire() -> None:
        with guard:
            cache.expire()

    _both(expire, expire)
    assert len(cache) == 0


def _cachetools_lru_evict(lock: Any = None) -> None:
    import cachetools  # noqa: PLC0415 - optional

    guard = lock if lock is not None else _NoLock()
    cache: Any = cachetools.LRUCache(maxsize=1)
    cache["a"] = 0

    def put(key: str) -> Callable[[], None]:
        def body() -> None:
            with guard:
                cache[key] = 1  # evicts the least recently used item

        return body

    _both(put("b"), put("c"))
    assert len(cache) == 1, dict(cache)
    assert cache.currsize == 1, f"currsize {cache.currsize} for {dict(cache)}"


def _cachetools_info(lock: Any = None) -> None:
    import cachetools  # noqa: PLC0415 - optional

    @cachetools.cached(cachetools.LRUCache(maxsize=4), info=True, lock=lock)
    def square(x: int) -> int:
        return x * x

    square(3)  # a miss; every later call is a hit
    _both(lambda: square(3), lambda: square(3))
    assert square.cache_info().hits == 2, square.cache_info()


class _NoLock:
    """``with _NoLock():`` does nothing: the program as users wrote it, unguarded."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _locked(program: Callable[[Any], None]) -> Callable[[], None]:
    """``program`` with the fix: a lock made in the run, so that the explorer controls it."""

    def fixed() -> None:
        program(threading.Lock())

    fixed.__name__ = program.__name__ + "_locked"
    return fixed


# -- the rest of the corpus ----------------------------------------------------------------------


def _pybreaker_counter() -> None:
    import pybreaker  # noqa: PLC0415 - optional

    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    _both(storage.increment_counter, storage.increment_counter)
    assert storage.counter == 2, f"two failures counted as {storage.counter}"


def _urllib3_connections() -> None:
    import urllib3  # noqa: PLC0415 - optional

    # _new_conn only makes the connection object: nothing is opened.
    pool: Any = urllib3.HTTPConnectionPool("localhost", 9)
    _both(pool._new_conn, pool._new_conn)
    assert pool.num_connections == 2, f"two connections counted as {pool.num_connections}"


def _sqlalchemy_overflow() -> None:
    from sqlalchemy.pool import QueuePool  # noqa: PLC0415 - optional

    def connect() -> Any:  # a stand-in for a DB-API connection: none is made here
        return object()

    pool: Any = QueuePool(connect, pool_size=1, max_overflow=-1)  # unlimited overflow
    _both(pool._inc_overflow, pool._inc_overflow)
    assert pool.overflow() == 1, f"two overflow connections counted as {pool.overflow() + 1}"


#: PyDispatcher routes by id(sender): one sender for every run, so that no
#: run's sender can die and take a later run's routes with it.
_SENDER = object()


def _pydispatcher_connect() -> None:
    from pydispatch import dispatcher  # noqa: PLC0415 - optional

    # Module-global routing tables: every run starts from empty ones.
    for table in (dispatcher.connections, dispatcher.senders, dispatcher.sendersBack):
        table.clear()
    heard: list[str] = []

    def first() -> None:
        heard.append("first")

    def second() -> None:
        heard.append("second")

    _both(
        lambda: dispatcher.connect(first, signal="ping", sender=_SENDER, weak=False),
        lambda: dispatcher.connect(second, signal="ping", sender=_SENDER, weak=False),
    )
    dispatcher.send(signal="ping", sender=_SENDER)
    assert sorted(heard) == ["first", "second"], f"receivers that heard the signal: {heard}"


def _threadpoolctl_libc() -> None:
    import threadpoolctl  # noqa: PLC0415 - optional

    controller: Any = threadpoolctl.ThreadpoolController
    controller._system_libraries.pop("libc", None)  # as before the first call
    handles: list[object] = []
    _both(
        lambda: handles.append(controller._get_libc()),
        lambda: handles.append(controller._get_libc()),
    )
    assert handles[0] is handles[1], "libc was loaded twice: two handles for one library"


def _pykka_tell() -> None:
    import pykka  # noqa: PLC0415 - optional

    received: list[str] = []

    class Echo(pykka.ThreadingActor):
        def on_receive(self, message: str) -> None:
            received.append(message)

    actor = Echo.start()
    told: list[str] = []

    def tell() -> None:
        try:
            actor.tell("hello")
        except pykka.ActorDeadError:
            return  # refused: the caller knows the message went nowhere
        told.append("hello")

    _both(tell, actor.stop)
    assert received == told, "tell() returned, but the stopped actor never got the message"


_FILTERS = list(warnings.filters)


def _warnings_catch() -> None:
    warnings.filters = list(_FILTERS)  # every run starts from the same filters
    warnings._filters_mutated()  # type: ignore[attr-defined]
    before = list(warnings.filters)

    def quiet() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")

    _both(quiet, quiet)
    assert warnings.filters == before, "a thread's 'ignore' filter outlived its catch_warnings()"


_SOURCE = os.path.join(tempfile.gettempdir(), f"fearless-race-corpus-{os.getpid()}.py")


@atexit.register
def _remove_source() -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(_SOURCE)


def _linecache_checkcache() -> None:
    import linecache  # noqa: PLC0415

    with open(_SOURCE, "w") as file:
        file.write("x = 1\n")
    linecache.getlines(_SOURCE)  # cached
    with open(_SOURCE, "w") as file:
        file.write("x = 1\ny = 2\n")  # and out of date: checkcache() drops it
    _both(lambda: linecache.checkcache(_SOURCE), lambda: linecache.checkcache(_SOURCE))


def _linecache_is_racy() -> bool:
    import linecache  # noqa: PLC0415

    # The fix reads the entry under try/except KeyError.
    return "except KeyError" not in inspect.getsource(linecache.checkcache)


#: Every race in the corpus.
CORPUS: tuple[Race, ...] = (
    Race(
        "cachetools-currsize",
        "cachetools",
        "8.0.3",
        "Cache.__setitem__: `self.__currsize += diffsize` loses an update; currsize drifts",
        "https://github.com/tkem/cachetools/issues/288",
        ("cachetools",),
        _cachetools_currsize,
        r"AssertionError: currsize 1, 2 items",
        fixed=_locked(_cachetools_currsize),
    ),
    Race(
        "cachetools-lfu",
        "cachetools",
        "8.0.3",
        "LFUCache.__getitem__: two lookups move one key between use-count links; KeyError",
        "https://github.com/tkem/cachetools/issues/288",
        ("cachetools",),
        _cachetools_lfu,
        r"raised KeyError: 'k'",
        fixed=_locked(_cachetools_lfu),
    ),
    Race(
        "cachetools-ttl",
        "cachetools",
        "8.0.3",
        "TTLCache.expire: two expiries delete one expired item twice; KeyError",
        "https://github.com/tkem/cachetools/issues/288",
        ("cachetools",),
        _cachetools_ttl,
        r"raised KeyError: 'a'",
        fixed=_locked(_cachetools_ttl),
    ),
    Race(
        "cachetools-lru-evict",
        "cachetools",
        "8.0.3",
        "LRUCache.__setitem__ on a full cache: two evictions pick one victim; KeyError",
        "https://github.com/tkem/cachetools/issues/288",
        ("cachetools",),
        _cachetools_lru_evict,
        r"raised KeyError",
        fixed=_locked(_cachetools_lru_evict),
    ),
    Race(
        "cachetools-info",
        "cachetools",
        "8.0.3",
        "@cached(info=True) without lock: `self.__hits += 1` loses a hit",
        "https://github.com/tkem/cachetools/issues/288",
        ("cachetools",),
        _cachetools_info,
        r"AssertionError: CacheInfo\(hits=1,",
        fixed=_locked(_cachetools_info),
    ),
    Race(
        "pybreaker-counter",
        "pybreaker",
        "1.4.1",
        "CircuitMemoryStorage.increment_counter: `_fail_counter += 1` loses a failure",
        "https://github.com/lucaswiman/frontrun/blob/main/docs/CASE_STUDIES.rst",
        ("pybreaker",),
        _pybreaker_counter,
        r"AssertionError: two failures counted as 1",
    ),
    Race(
        "urllib3-connections",
        "urllib3",
        "2.8.0",
        "HTTPConnectionPool._new_conn: `num_connections += 1` loses a connection",
        "https://github.com/lucaswiman/frontrun/blob/main/docs/CASE_STUDIES.rst",
        ("urllib3",),
        _urllib3_connections,
        r"AssertionError: two connections counted as 1",
    ),
    Race(
        "sqlalchemy-overflow",
        "SQLAlchemy",
        "2.1.9",
        "QueuePool._inc_overflow with max_overflow=-1: `_overflow += 1` unlocked"
        " (a diagnostic count, by design)",
        "https://github.com/lucaswiman/frontrun/blob/main/docs/CASE_STUDIES.rst",
        ("sqlalchemy",),
        _sqlalchemy_overflow,
        r"AssertionError: two overflow connections counted as 1",
    ),
    Race(
        "pydispatcher-connect",
        "PyDispatcher",
        "2.0.7",
        "dispatcher.connect: check-then-set on the routing table loses a receiver",
        "https://github.com/lucaswiman/frontrun/blob/main/docs/CASE_STUDIES.rst",
        ("pydispatch",),
        _pydispatcher_connect,
        r"AssertionError: receivers that heard the signal: \['(first|second)'\]",
    ),
    Race(
        "threadpoolctl-libc",
        "threadpoolctl",
        "3.8.0",
        "ThreadpoolController._get_libc: check-then-create loads libc twice",
        "https://github.com/lucaswiman/frontrun/blob/main/docs/CASE_STUDIES.rst",
        ("threadpoolctl",),
        _threadpoolctl_libc,
        r"AssertionError: libc was loaded twice",
    ),
    Race(
        "cpython-catch-warnings",
        "CPython",
        "3.11-3.13 (3.14 without -X context_aware_warnings)",
        "warnings.catch_warnings: save/restore of the global filters interleaves; a filter leaks",
        "https://github.com/python/cpython/issues/128384",
        ("warnings",),
        _warnings_catch,
        r"AssertionError: a thread's 'ignore' filter outlived",
        present=lambda: not getattr(sys.flags, "context_aware_warnings", False),
    ),
    Race(
        "cpython-linecache",
        "CPython",
        "3.11-3.13.3 (fixed in 3.13.4 and 3.14)",
        "linecache.checkcache: `filename in cache` then `cache[filename]`; KeyError",
        "https://github.com/python/cpython/issues/133253",
        ("linecache",),
        _linecache_checkcache,
        r"raised KeyError: '.*fearless-race-corpus",
        present=_linecache_is_racy,
    ),
)


#: Races the default strategy does not find within its default budget yet;
#: measured here beside the corpus, and found by the other strategies.
GAPS: tuple[Race, ...] = (
    Race(
        "pykka-tell",
        "pykka",
        "4.5.0",
        "ActorRef.tell: is_alive() then put(); a stop() in between loses the message",
        "https://github.com/lucaswiman/frontrun/blob/main/docs/CASE_STUDIES.rst",
        ("pykka",),
        _pykka_tell,
        r"AssertionError: tell\(\) returned, but the stopped actor never got the message",
    ),
)


# -- the measurement -----------------------------------------------------------------------------

STRATEGIES = ("hypothesis", "random", "pct", "exhaustive")


#: Seconds a strategy gets per race: a race not found by then counts as
#: missed. It also cuts Hypothesis's shrinking short, which this does not
#: measure (a time limit that passes while it shrinks still reports the
#: failure, with the schedules and seconds it took to find it).
LIMIT = 10.0


def find(race: Race, strategy: str, seed: int) -> tuple[int, float] | None:
    """Schedules and seconds until ``strategy`` first failed ``race``; None if it did not."""
    try:
        explore(
            race.program,
            strategy=strategy,  # type: ignore[arg-type]
            seed=seed,
            trace=list(race.trace),
            time_limit=LIMIT,
        )
    except ScheduleFailure as failure:
        return failure.found_at, failure.found_after
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed per strategy")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per strategy (default 5)")
    args = parser.parse_args(argv)
    seeds = range(1 if args.quick else args.seeds)
    print(f"race corpus on {interpreter()}: median schedules / seconds until the first failing run")
    print(
        f"over {len(seeds)} seed(s), at most {LIMIT:g} s each; '-' not found by any seed;"
        " the default strategy is hypothesis\n"
    )
    header = f"| {'race':<24} | {'library':<14} | {'version':<7} | " + " | ".join(
        f"{s:>17}" for s in STRATEGIES
    )
    print(header + " |")
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:]) + "-|")
    missed = 0
    for race in CORPUS + GAPS:
        if race.missing() or not race.present():
            print(f"| {race.key:<24} | skipped: {race.missing() or 'the race is fixed here'}")
            continue
        cells = []
        for strategy in STRATEGIES:
            found = [find(race, strategy, seed) for seed in seeds]
            hits = [f for f in found if f is not None]
            if len(hits) < len(found):
                missed += 1
            if not hits:
                cells.append(f"{'-':>17}")
                continue
            runs = statistics.median(h[0] for h in hits)
            secs = statistics.median(h[1] for h in hits)
            cells.append(f"{runs:>6g} / {secs:>6.3f} s")
        version = race.version if race.library != "CPython" else sys.version.split()[0]
        print(f"| {race.key:<24} | {race.library:<14} | {version:<7} | " + " | ".join(cells) + " |")
    print(f"\n{missed} strategy/race pair(s) missed with at least one seed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
