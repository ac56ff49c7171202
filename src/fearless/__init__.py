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

Shared ownership, atomics, channels and parallel maps follow Rust too:

>>> from fearless import Arc, par_map
>>> from fearless.atomic import AtomicI64, Ordering
>>> from fearless.mpsc import channel
>>> hits = Arc(AtomicI64(0))
>>> tx, rx = channel[int]()
>>> def worker(hits: Arc[AtomicI64], n: int) -> None:
...     hits.value.fetch_add(1, Ordering.Relaxed)
...     tx.send(n * n)
>>> for h in [spawn(worker, hits.clone(), n) for n in range(3)]:
...     h.join(timeout=30)
>>> tx.close()                      # the receiver's iteration ends with the senders
>>> sorted(rx), hits.value.load(), hits.strong_count()
([0, 1, 4], 3, 1)
>>> par_map(abs, [-1, -2, 3], backend="threads")
[1, 2, 3]

And where Rust has loom, fearless has :mod:`fearless.testing`: it runs a
test under every interleaving of its threads (or a random or
Hypothesis-chosen sample) and shows the one that breaks it.

See ``python -m fearless tour`` for the Rust chapter's examples, ported.

``fearless.native`` says which implementation runs: ``True`` when the
compiled core (built by ``pip install`` where a C compiler is) is in use,
``False`` when the pure-Python reference runs -- where the core could not be
built, or with ``FEARLESS_PURE_PYTHON=1`` in the environment. Both behave
the same: same types for ``isinstance``, same reprs, same messages.

>>> import fearless
>>> fearless.native in (True, False)
True
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from . import _compiled
from ._arc import Arc as Arc
from ._arc import Weak as Weak
from ._barrier import Barrier as Barrier
from ._barrier import BarrierStatistics as BarrierStatistics
from ._barrier import BarrierWaitResult as BarrierWaitResult
from ._compiled import native as native
from ._condvar import Condvar as Condvar
from ._condvar import CondvarStatistics as CondvarStatistics
from ._errors import BackendUnavailableError as BackendUnavailableError
from ._errors import ConsumedError as ConsumedError
from ._errors import DeadlockError as DeadlockError
from ._errors import FearlessError as FearlessError
from ._errors import GuardReleasedError as GuardReleasedError
from ._errors import NotUniqueError as NotUniqueError
from ._errors import PoisonError as PoisonError
from ._errors import PoolClosedError as PoolClosedError
from ._errors import ScopeClosedError as ScopeClosedError
from ._errors import WorkerDiedError as WorkerDiedError
from ._errors import WouldBlockError as WouldBlockError
from ._errors import WrongThreadError as WrongThreadError
from ._mutex import Mutex as Mutex
from ._mutex import MutexGuard as MutexGuard
from ._mutex import MutexStatistics as MutexStatistics
from ._once import LazyLock as LazyLock
from ._once import Once as Once
from ._once import OnceLock as OnceLock
from ._once import OnceState as OnceState
from ._once import OnceStatistics as OnceStatistics
from ._par import ParInfo as ParInfo
from ._par import ParIter as ParIter
from ._par import ProcessPool as ProcessPool
from ._par import ThreadPool as ThreadPool
from ._par import join as join
from ._par import par_imap as par_imap
from ._par import par_info as par_info
from ._par import par_iter as par_iter
from ._par import par_map as par_map
from ._rwlock import RwLock as RwLock
from ._rwlock import RwLockReadGuard as RwLockReadGuard
from ._rwlock import RwLockStatistics as RwLockStatistics
from ._rwlock import RwLockUpgradableReadGuard as RwLockUpgradableReadGuard
from ._rwlock import RwLockWriteGuard as RwLockWriteGuard
from ._thread import JoinHandle as JoinHandle
from ._thread import Scope as Scope
from ._thread import ThreadLocal as ThreadLocal
from ._thread import scope as scope
from ._thread import spawn as spawn
from ._util import fixup_module_metadata as _fixup_module_metadata

_compiled.install_twins("fearless._mutex_twins")  # before the names are fixed: twins too
_compiled.install_twins("fearless._arc_twins")
_compiled.install_twins("fearless._rwlock_twins")

__version__ = "0.1.0"

__all__ = (
    "ConsumedError",
    "DeadlockError",
    "FearlessError",
    "GuardReleasedError",
    "Mutex",
    "MutexGuard",
    "MutexStatistics",
    "RwLock",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "RwLockUpgradableReadGuard",
    "RwLockStatistics",
    "Condvar",
    "CondvarStatistics",
    "Barrier",
    "BarrierStatistics",
    "BarrierWaitResult",
    "Once",
    "OnceState",
    "OnceStatistics",
    "OnceLock",
    "LazyLock",
    "Arc",
    "Weak",
    "spawn",
    "JoinHandle",
    "scope",
    "Scope",
    "ThreadLocal",
    "par_map",
    "par_imap",
    "par_iter",
    "ParIter",
    "join",
    "ThreadPool",
    "ProcessPool",
    "par_info",
    "ParInfo",
    "NotUniqueError",
    "WorkerDiedError",
    "PoolClosedError",
    "BackendUnavailableError",
    "PoisonError",
    "ScopeClosedError",
    "WouldBlockError",
    "WrongThreadError",
    "native",
)

_fixup_module_metadata(__name__, globals())
del _fixup_module_metadata

#: Submodules reachable as attributes of ``fearless`` (``fearless.atomic``),
#: imported on first use so that ``import fearless`` stays light.
_SUBMODULES = frozenset({"atomic", "mpsc", "testing"})

if TYPE_CHECKING:
    from . import atomic as atomic
    from . import mpsc as mpsc
    from . import testing as testing
else:

    def __getattr__(name: str) -> object:
        if name in _SUBMODULES:
            return _importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


del TYPE_CHECKING
