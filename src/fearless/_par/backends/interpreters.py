"""The ``"interpreters"`` backend: sub-interpreters in this process (PEP 734).

Each worker is an isolated interpreter with its own GIL, so Python code runs
in parallel even on a GIL build, at a lower cost than processes. It needs
:class:`concurrent.futures.InterpreterPoolExecutor`, new in Python 3.14;
elsewhere asking for it raises :class:`~fearless.BackendUnavailableError`.
Functions and items cross interpreters by pickling, as with processes.
Built on the executor backend (``.executor``).
"""

from __future__ import annotations

import concurrent.futures
import sys
from typing import Any

from ..._errors import BackendUnavailableError
from .executor import ExecutorBackend

_MSG_UNAVAILABLE = (
    "the 'interpreters' backend needs Python 3.14 or later "
    "(concurrent.futures.InterpreterPoolExecutor); this is Python {}: "
    "use backend='processes' or backend='threads'"
)


def available() -> bool:
    """Whether this interpreter offers ``InterpreterPoolExecutor``."""
    return hasattr(concurrent.futures, "InterpreterPoolExecutor")


class InterpretersBackend(ExecutorBackend):
    """``InterpreterPoolExecutor`` behind the backend interface (Python 3.14+)."""

    def __init__(self, workers: int | None = None) -> None:
        factory: Any = getattr(concurrent.futures, "InterpreterPoolExecutor", None)
        if factory is None:
            version = sys.version.split()[0]
            raise BackendUnavailableError(_MSG_UNAVAILABLE.format(version))
        super().__init__(factory(workers), workers)
        self.pickles = True
        self.window = 2 * self.workers
        self.name = "interpreters"

    def shutdown(self) -> None:
        """Wait for running tasks, then end the interpreters."""
        self._executor.shutdown(wait=True, cancel_futures=True)
