"""What the tests of the compiled core share (``test_native*.py``)."""

from __future__ import annotations

import copy
import gc
import os
import pickle
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import fearless
from fearless import _compiled
from fearless.testing import explore

#: Whether the compiled core must be in use: CI builds it, and only
#: FEARLESS_PURE_PYTHON=1 may turn it off there.
EXPECT_NATIVE = os.environ.get("FEARLESS_EXPECT_NATIVE") == "1" and not _compiled.pure_requested

needs_core = pytest.mark.skipif(
    not fearless.native and not EXPECT_NATIVE,
    reason="the compiled core is not in use here (FEARLESS_PURE_PYTHON=1, or no compiler)",
)


def compiled(obj: object) -> bool:
    """Whether ``obj`` was made by the compiled core: an object of a twin class."""
    return getattr(type(obj), "_native_public", None) is not None


def assert_copies_refused_alike(*pairs: tuple[object, object]) -> None:
    """``copy``, ``deepcopy`` and ``pickle`` refuse each compiled object of ``pairs``
    with the very message they give its reference twin (``(compiled, reference)``)."""
    for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
        for obj, twin in pairs:
            with pytest.raises(TypeError) as native_error:
                attempt(obj)
            with pytest.raises(TypeError) as reference_error:
                attempt(twin)
            assert str(native_error.value) == str(reference_error.value)


def _resident_bytes() -> int | None:
    """This process's resident set size now, where the platform says (Linux's /proc)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def assert_memory_flat(cycle: Callable[[], object], times: int = 1_000_000) -> None:
    """``times`` calls of ``cycle`` (warmed up, then collected) leave memory flat.

    Flat by ``tracemalloc`` (under 64 KiB still allocated: a leak of one
    object per call would be tens of megabytes) and by the resident set
    size (under 8 MiB, which allocator caches stay well within; the same
    leak would grow it by tens of megabytes).
    """
    for _ in range(10_000):  # warm up: caches, free lists
        cycle()
    gc.collect()
    rss_before = _resident_bytes()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(times):
            cycle()
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert traced < 64 * 1024, f"{traced} bytes still allocated after {times} cycles"
    rss_after = _resident_bytes()
    if rss_before is not None and rss_after is not None:
        grown = rss_after - rss_before
        assert grown < 8 * 1024 * 1024, f"resident set grew by {grown} bytes over {times} cycles"


def made_under_explore(make: Callable[[], Any], use: Callable[[Any], object]) -> list[Any]:
    """What ``make()`` made in an explored test where two threads ``use`` it."""
    made: list[Any] = []

    def test() -> None:
        obj = make()
        made.append(obj)
        threads = [threading.Thread(target=use, args=(obj,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    explore(test, schedules=5)
    assert made
    return made
