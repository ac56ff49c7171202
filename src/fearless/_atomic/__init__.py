"""Atomics: ``Ordering``, the ``Atomic*`` types and ``fence`` (Rust's ``std::sync::atomic``).

``fearless.atomic`` re-exports the public names from here. What lives where:

- :mod:`._core` -- :class:`Ordering` and the ordering checks, operand
  conversion and the slow paths that raise or convert,
  :class:`CompareExchangeResult`, ``_Atomic`` (the cell every type derives
  from: value, lock, copy refusal, ``repr``, no truth value), the
  ``fetch_update`` loop every type shares, and :func:`fence`.
- :mod:`._integer` -- :class:`AtomicInt` and the fixed-width types: every
  operation written once, in ``_integer_methods``, and compiled per width.
- :mod:`._bool_float_ref` -- :class:`AtomicBool`, :class:`AtomicFloat`,
  :class:`AtomicRef`.

How they work. Every atomic owns one raw lock from :mod:`fearless._seam` and
every operation is a critical section on it (``with self._lock:``). That
makes each operation linearizable on every build, and *sequentially
consistent whatever ordering was asked for*: the C lock's acquire and
release are full synchronisation operations, and all the critical sections
of one atomic are totally ordered. Rust allows an implementation to be
stronger than asked, never weaker; the orderings are still validated exactly
where Rust panics, so code ported either way stays correct.

Rules every operation follows (and the reasons):

- Nothing inside a critical section calls a function, allocates a container
  or drops the last reference to a user object. On 3.11 a container
  allocation may start the cyclic GC and a call may run a signal handler;
  either can run arbitrary Python code -- finalisers included -- which could
  touch the same atomic and deadlock on its lock. So results are built
  after the lock is released, ``AtomicRef`` keeps the previous value alive in
  a local until then, and ``fetch_update`` calls ``f`` outside the lock.
- The hot path validates with one ``in`` test per ordering (against a tuple
  of the orderings allowed: it never raises, see ``_core._ANY``) and an
  exact type check per operand (``type(v) is int``); anything unusual -- a
  wrong ordering, an operand that needs converting, an out-of-range value --
  goes to a slow path that converts or raises a precise error.
- No operation adds a Python call to the hot path: shared code is shared by
  generating functions (closures, ``_twin``), not by calling helpers.

To add an operation to the integer types, write it once in
``_integer._integer_methods`` (with its docstring) and declare its
signature under ``TYPE_CHECKING`` in ``_AtomicInteger``; to add a width, add
one ``class AtomicXn(_FixedWidth, bits=n, signed=...)``.
"""

from ._bool_float_ref import AtomicBool as AtomicBool
from ._bool_float_ref import AtomicFloat as AtomicFloat
from ._bool_float_ref import AtomicRef as AtomicRef
from ._core import CompareExchangeResult as CompareExchangeResult
from ._core import Ordering as Ordering
from ._core import _describe as _describe
from ._core import fence as fence
from ._integer import AtomicI8 as AtomicI8
from ._integer import AtomicI16 as AtomicI16
from ._integer import AtomicI32 as AtomicI32
from ._integer import AtomicI64 as AtomicI64
from ._integer import AtomicInt as AtomicInt
from ._integer import AtomicIsize as AtomicIsize
from ._integer import AtomicU8 as AtomicU8
from ._integer import AtomicU16 as AtomicU16
from ._integer import AtomicU32 as AtomicU32
from ._integer import AtomicU64 as AtomicU64
from ._integer import AtomicUsize as AtomicUsize
from ._integer import _AtomicInteger as _AtomicInteger
