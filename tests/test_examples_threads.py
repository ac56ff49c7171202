"""examples/threads_counter.py runs and prints exactly what the chapter says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_threads_counter_and_mutex_poisoning() -> None:
    assert run("threads_counter.py") == (
        "Final count: 10000\nLock was poisoned! Recovering...\nRecovered: [1, 2, 3, 4]\n"
    )
