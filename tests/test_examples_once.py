"""examples/once_config.py runs and prints exactly what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = "".join(
    f"request {i} via connection to db://primary (retries=3)\n" for i in range(8)
) + (
    "load_config ran 1 time(s) for 8 threads\n"
    "connect ran 2 time(s): one failure, one success\n"
    "CONFIG = LazyLock(Config(url='db://primary', retries=3))\n"
)


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


def test_once_config() -> None:
    assert run("once_config.py") == EXPECTED
