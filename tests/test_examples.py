"""Every program in examples/ runs, and prints exactly what it should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


#: Examples that keep the chapter's big counts shrink them under this
#: variable, so the suite stays quick; the tour itself runs them in full.
QUICK = {**os.environ, "FEARLESS_EXAMPLE_QUICK": "1"}


def run(name: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=QUICK,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_atomic_counter() -> None:
    assert run("atomic_counter.py") == (
        "Counter: 40,000 (4 threads x 10,000: always exact)\n"
        "consumer saw the published data: sum = 6\n"
    )


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


def test_parallel() -> None:
    assert run("parallel.py") == (
        "par_map: 200 results, same as map(): True\n"
        "par_iter().map().sum(): True\n"
        "Processed 96 images (4 skipped as unreadable)\n"
        "labels: 44 cloud, 52 land\n"
        "join: halves add up: True\n"
    )


def test_shared_vec() -> None:
    assert run("shared_vec.py") == (
        "[0, 1, 2, 3] (sorted: the threads push in any order)\nstrong count after the joins: 1\n"
    )


def test_safe_append() -> None:
    assert run("safe_append.py") == (
        "125 unique items, duplicates: 0\nfirst [0, 1, 2, 3, 4] last [120, 121, 122, 123, 124]\n"
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


def test_threads_counter_and_mutex_poisoning() -> None:
    assert run("threads_counter.py") == (
        "Final count: 10000\nLock was poisoned! Recovering...\nRecovered: [1, 2, 3, 4]\n"
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


def test_rwlock_config_runs_in_the_tour() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fearless", "tour", "rwlock_config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "== RwLock: many readers or one writer (rwlock_config) ==" in proc.stdout
    assert proc.stdout.endswith(RWLOCK_EXPECTED)


def test_every_example_is_in_the_tour() -> None:
    from fearless._tour import SECTIONS

    programs = {p.stem for p in EXAMPLES.glob("*.py") if p.stem != "__init__"}
    assert programs == {name for name, _ in SECTIONS}


def test_tour_runs_every_section() -> None:
    from fearless._tour import SECTIONS

    proc = subprocess.run(
        [sys.executable, "-m", "fearless", "tour"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=QUICK,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("fearless ")
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    assert ("GIL enabled" if gil else "GIL disabled") in out.splitlines()[1]
    assert out.splitlines()[2].startswith(
        f"par_map/par_iter: auto -> {'processes' if gil else 'threads'} ("
    )
    for name, title in SECTIONS:
        assert f"== {title} ({name}) ==" in out
    assert "Final count: 10000" in out
