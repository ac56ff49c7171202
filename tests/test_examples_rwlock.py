"""examples/rwlock_config.py runs and prints exactly what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "rwlock_config.py"

EXPECTED = """\
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
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == EXPECTED


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
    assert proc.stdout.endswith(EXPECTED)
