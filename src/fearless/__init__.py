"""fearless: Rust's concurrency model for Python.

Data lives *inside* its lock and is reached through guards; a failure while
holding a lock poisons it; self-deadlocks raise instead of hanging; threads
are spawned and joined like Rust's, and scoped threads join before the scope
ends. Everything works the same on regular CPython and on free-threaded
CPython (3.13t), where threads really run in parallel.

A tour, from the smallest program up:

>>> from fearless import Mutex, spawn
>>> counter = Mutex(0)
>>> def work() -> None:
...     for _ in range(1000):
...         with counter.lock() as guard:
...             guard.value += 1
>>> handles = [spawn(work) for _ in range(4)]
>>> for handle in handles:
...     handle.join(timeout=30)
>>> counter
Mutex(4000)

See ``python -m fearless tour`` for the Rust chapter's examples, ported.
"""

from ._errors import ConsumedError as ConsumedError
from ._errors import DeadlockError as DeadlockError
from ._errors import FearlessError as FearlessError
from ._errors import GuardReleasedError as GuardReleasedError
from ._errors import PoisonError as PoisonError
from ._errors import WouldBlockError as WouldBlockError
from ._errors import WrongThreadError as WrongThreadError
from ._mutex import Mutex as Mutex
from ._mutex import MutexGuard as MutexGuard
from ._mutex import MutexStatistics as MutexStatistics
from ._util import fixup_module_metadata as _fixup_module_metadata

__version__ = "0.1.0"

__all__ = (
    "ConsumedError",
    "DeadlockError",
    "FearlessError",
    "GuardReleasedError",
    "Mutex",
    "MutexGuard",
    "MutexStatistics",
    "PoisonError",
    "WouldBlockError",
    "WrongThreadError",
)

_fixup_module_metadata(__name__, globals())
del _fixup_module_metadata
