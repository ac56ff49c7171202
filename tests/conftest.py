"""Shared pytest configuration: a hang fails fast with every thread's stack."""

from __future__ import annotations

import faulthandler
import gc
import os
import signal
import sys
import sysconfig

import pytest


def pytest_report_header(config: pytest.Config) -> str:
    check = getattr(sys, "_is_gil_enabled", None)
    gil = True if check is None else check()
    return f"fearless: Python {sys.version.split()[0]}, GIL {'enabled' if gil else 'DISABLED'}"


@pytest.fixture(autouse=True)
def _dump_stacks_on_hang() -> object:
    # pytest's faulthandler_timeout covers the whole test; this is a second
    # net for hangs inside teardown of threads.
    faulthandler.dump_traceback_later(600, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _collect_process_pools_left_behind(request: pytest.FixtureRequest) -> object:
    # A closed or broken process pool leaves multiprocessing queues in
    # reference cycles, and their semaphores unregister from the resource
    # tracker when the cycles are collected. Collected at a random later
    # point -- inside another test's own call into the tracker -- Python
    # 3.12 reports "Reentrant call into the multiprocessing resource
    # tracker" as an unraisable exception in that test (seen once, in a Dask
    # test's setup). The parallelism tests collect their garbage themselves.
    yield
    if request.module.__name__.startswith("test_par"):
        gc.collect()


def pytest_configure(config: pytest.Config) -> None:
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        # Free-threaded CPython 3.13 now and then destroys an io.BytesIO that
        # still counts a buffer export and reports "BufferError: Existing
        # exports of data" as unraisable: a CPython bug in that area (see
        # gh-132551, gh-111331), not fearless's (which has no BytesIO). It
        # showed up in about one run in eight of test_par + test_par_dask
        # (Dask's comms), during a later test; only that report is ignored.
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Exception ignored in. <_io.BytesIO object"
            ":pytest.PytestUnraisableExceptionWarning",
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    # Many tests collect garbage on purpose, some once per injection point
    # of a sweep (hundreds of times). A full collection walks every object
    # the session holds -- some 150,000 once the suite is collected
    # (pytest's items, Hypothesis, the imported modules), about 100 ms each
    # time -- and that made up most of the suite's run time. Those objects
    # live to the end of the session anyway: frozen, a collection walks
    # only what the tests themselves create. Nothing a test creates is
    # frozen, so every finaliser and weak reference a test checks runs as
    # before.
    gc.collect()
    gc.freeze()


def pytest_sessionstart(session: pytest.Session) -> None:
    # The Ctrl-C tests need Python's usual SIGINT handling, here and in the
    # programs they start. A shell that runs a job in the background without
    # job control (``cmd &`` in a script) starts it with SIGINT ignored,
    # and Python then installs no handler: ``interrupt_main()`` does
    # nothing and a child sent SIGINT never sees ``KeyboardInterrupt``.
    # Installing the default handler also lets children start with SIGINT
    # at its default again (an ignored signal stays ignored across exec).
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("FEARLESS_EXPECT_FREE_THREADED") == "1":
        check = getattr(sys, "_is_gil_enabled", None)
        assert check is not None and not check(), "expected a free-threaded build with the GIL off"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # An extension module imported during the run may have switched the GIL
    # back on; then the run did not test what it claims to.
    if os.environ.get("FEARLESS_EXPECT_FREE_THREADED") == "1":
        check = getattr(sys, "_is_gil_enabled", None)
        assert check is not None and not check(), "the GIL was re-enabled during the test run"
