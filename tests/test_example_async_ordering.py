"""The chapter's "Atomic Ordering" and "async/await Comparison" examples, every line checked.

Exactly where the output is deterministic, with a regex where it counts
the rounds of a real race.
"""

from __future__ import annotations

import re

from _helpers import GIL_ENABLED, run_example

ATOMIC_HEAD = [
    "Relaxed: Counter: 40,000 (4 threads x 10,000: always exact)",
    "Release/Acquire: 1,000 hand-offs, the consumer saw the complete data 1,000 times out of 1,000",
    "SeqCst: store buffering (Dekker's flags) on real threads, 2,000 rounds:",
]
ATOMIC_TAIL = [
    "forbidden outcome (both False): 0 times",
    "  (the GIL runs one thread's store and load back to back: (True, True) is rare)"
    if GIL_ENABLED
    else "  (no GIL: in the (True, True) rounds both stores came before either load)",
    "  the same race with Relaxed: both False 0 times in 500 rounds "
    "(Rust/C11 allow it; fearless runs it SeqCst)",
    "  the same race with Release/Acquire: both False 0 times in 500 rounds "
    "(Rust/C11 allow it; fearless runs it SeqCst)",
    "explore(strategy='exhaustive'): all 24 schedules pass (the whole space; complete: True)",
    "  outcomes over those schedules: (r1, r2) = (False, True), (r1, r2) = (True, False), "
    "(r1, r2) = (True, True)",
    "fearless: every atomic operation is at least as strong as asked; "
    "in practice SeqCst, on every build",
]


def test_atomic_ordering() -> None:
    lines = run_example("atomic_ordering.py").splitlines()
    assert lines[:3] == ATOMIC_HEAD
    counts = []
    for line, outcome in zip(lines[3:6], ["True, True", "True, False", "False, True"], strict=True):
        m = re.fullmatch(rf"  \(r1, r2\) = \({outcome}\): (\d{{1,3}}(?:,\d{{3}})*) rounds", line)
        assert m, line
        counts.append(int(m[1].replace(",", "")))
    assert sum(counts) == 2_000  # every round had an allowed outcome: none was both False
    assert lines[6:] == ATOMIC_TAIL


def test_async_await() -> None:
    assert run_example("async_await.py").splitlines() == [
        "serving on http://127.0.0.1:<a free port> (URLs below are shown without it)",
        "asyncio: gather() of coroutines on one event loop",
        "http://127.0.0.1/: 190 bytes",
        "http://127.0.0.1/get: 93 bytes",
        "  every fetch ran on one thread, the event loop's: True",
        "fearless: blocking fetches on spawned threads, a coroutine reads their channel",
        "http://127.0.0.1/: 190 bytes",
        "http://127.0.0.1/get: 93 bytes",
        "http://127.0.0.1/missing: error HTTP Error 404: Not Found",
        "http://127.0.0.1/slow: 960 bytes",
        "http://127.0.0.1/get?q=a b: task failed InvalidURL: URL can't contain control "
        "characters. '/get?q=a b' (found at least ' ')",
        "  /slow's thread stayed blocked in urlopen until the event loop, still running, "
        "heard from the server (recv_async) and released it",
    ]
