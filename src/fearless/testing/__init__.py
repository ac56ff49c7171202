"""Find races before your users do: a deterministic interleaving explorer (loom for Python).

Python happily runs a racy program and gives wrong answers silently — on a
free-threaded build more often than ever. :func:`explore` runs a test
function many times, each time under a different *schedule*: only one of
its threads runs at a time, and at every *switch point* (every fearless
operation, and with ``trace=True`` every line of your code and every store
inside a line) a strategy decides which thread goes next. A schedule that
breaks the test is reported with a readable trace and a short string that
replays exactly that schedule.

>>> from fearless import scope
>>> from fearless.testing import ScheduleFailure, explore
>>> def racy_counter():
...     counter = [0]
...     def work():
...         for _ in range(3):
...             counter[0] += 1
...     with scope() as s:
...         s.spawn(work)
...         s.spawn(work)
...     assert counter[0] == 6, counter[0]
>>> try:
...     explore(racy_counter, strategy="random", seed=1, trace=True)
... except ScheduleFailure as failure:
...     print(type(failure.__cause__).__name__, failure.__cause__)  # doctest: +ELLIPSIS
AssertionError ...

With a :class:`~fearless.Mutex` the same test passes every schedule:

>>> from fearless import Mutex
>>> def safe_counter():
...     counter = Mutex(0)
...     def work():
...         for _ in range(3):
...             with counter.lock() as guard:
...                 guard.value += 1
...     with scope() as s:
...         s.spawn(work)
...         s.spawn(work)
...     assert counter.into_inner() == 6
>>> explore(safe_counter, strategy="exhaustive").complete
True

See the tutorial, "Finding races with fearless.testing", for strategies,
deadlocks, replay and what is and is not under the scheduler's control.
"""

from __future__ import annotations

from .._testing.explore import Strategy as Strategy
from .._testing.explore import explore as explore
from .._testing.linearizability import History as History
from .._testing.linearizability import NotLinearizable as NotLinearizable
from .._testing.linearizability import Operation as Operation
from .._testing.linearizability import PendingCall as PendingCall
from .._testing.linearizability import assert_linearizable as assert_linearizable
from .._testing.report import DeadlockFound as DeadlockFound
from .._testing.report import Exploration as Exploration
from .._testing.report import ScheduleFailure as ScheduleFailure
from .._testing.report import Step as Step
from .._testing.report import StepLimitExceeded as StepLimitExceeded
from .._util import fixup_module_metadata as _fixup_module_metadata

__all__ = (
    "DeadlockFound",
    "Exploration",
    "History",
    "NotLinearizable",
    "Operation",
    "PendingCall",
    "ScheduleFailure",
    "Step",
    "StepLimitExceeded",
    "Strategy",
    "assert_linearizable",
    "explore",
)

_fixup_module_metadata(__name__, globals())
del _fixup_module_metadata
