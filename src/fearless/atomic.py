"""Atomics: values shared between threads without a lock around your code.

Rust's ``std::sync::atomic`` for Python: integers, booleans, floats and
references that many threads read and update at once, each operation
indivisible, each taking a memory :class:`Ordering` as in Rust.

A counter, from the chapter (Rust's ``AtomicI64`` and ``fetch_add``):

>>> import threading
>>> from fearless.atomic import AtomicI64, Ordering
>>> counter = AtomicI64(0)
>>> def work() -> None:
...     for _ in range(10_000):
...         counter.fetch_add(1, Ordering.Relaxed)
>>> threads = [threading.Thread(target=work) for _ in range(4)]
>>> for t in threads:
...     t.start()
>>> for t in threads:
...     t.join()
>>> counter.load(Ordering.Relaxed)       # always 40000, with or without the GIL
40000

**Types.** :class:`AtomicBool`; :class:`AtomicInt` (a Python ``int``, no
overflow); the fixed-width :class:`AtomicI8`, :class:`AtomicI16`,
:class:`AtomicI32`, :class:`AtomicI64`, :class:`AtomicU8`,
:class:`AtomicU16`, :class:`AtomicU32`, :class:`AtomicU64`,
:class:`AtomicIsize` and :class:`AtomicUsize`, which wrap around on
overflow exactly as Rust's do; :class:`AtomicRef` (any object, compared by
identity -- Rust's ``AtomicPtr``); :class:`AtomicFloat` (the
``atomic_float`` crate's ``AtomicF64``).

>>> from fearless.atomic import AtomicU8
>>> byte = AtomicU8(255)
>>> byte.fetch_add(1)                    # returns the previous value...
255
>>> byte                                 # ...and wraps, like Rust's wrapping_add
AtomicU8(0)

**Orderings.** Every operation takes an :class:`Ordering` -- ``Relaxed``,
``Release``, ``Acquire``, ``AcqRel``, ``SeqCst`` -- positionally or by
keyword, and defaults to ``SeqCst`` ("when in doubt, SeqCst"). They are
checked where Rust panics: a ``Release`` load, for one, is a
:class:`ValueError` that says what to use instead. Publishing data is a
``Release`` store of a flag after the data is written, read with an
``Acquire`` load before the data is used:

>>> from fearless.atomic import AtomicBool
>>> results = []
>>> done = AtomicBool(False)
>>> def producer() -> None:
...     results.append("computed")
...     done.store(True, Ordering.Release)
>>> t = threading.Thread(target=producer)
>>> t.start()
>>> while not done.load(Ordering.Acquire):
...     pass
>>> results
['computed']
>>> t.join()

fearless makes every operation sequentially consistent, whatever ordering
is passed (stronger than asked, as Rust allows); ``docs/atomics.md``
explains what each ordering means and why.

**Read-modify-write.** ``swap`` and every ``fetch_*`` return the previous
value. ``compare_exchange(current, new)`` stores ``new`` only if the value
is ``current`` and returns ``(ok, value)``: whether it stored, and the value
it found (Rust's ``Ok(previous)``/``Err(actual)``). ``fetch_update(f)`` runs
the usual compare-exchange loop for you, calling ``f`` outside any lock:

>>> from fearless.atomic import AtomicI32
>>> slots = AtomicI32(2)
>>> def take_one(free: int) -> int | None:
...     return free - 1 if free > 0 else None
>>> [slots.fetch_update(take_one).ok for _ in range(3)]
[True, True, False]
>>> slots.compare_exchange(0, 5)
CompareExchangeResult(ok=True, value=0)

**Mistakes caught.** An atomic has no truth value, so ``if flag:`` raises
instead of always being true -- write ``if flag.load():``. Out-of-range
values raise :class:`OverflowError`, non-numbers :class:`TypeError`:

>>> if done:
...     pass
Traceback (most recent call last):
...
TypeError: AtomicBool has no truth value; call .load() to read its value
>>> AtomicU8(256)
Traceback (most recent call last):
...
OverflowError: AtomicU8 holds integers from 0 to 255; got 256

**References and floats.**

>>> from fearless.atomic import AtomicFloat, AtomicRef
>>> snapshot = AtomicRef(("v1", 1))
>>> old = snapshot.swap(("v2", 2))
>>> old, snapshot.load()
(('v1', 1), ('v2', 2))
>>> total = AtomicFloat(0.0)
>>> total.fetch_add(1.5)
0.0
>>> total.load()
1.5
"""

from . import _compiled
from ._atomic import AtomicBool as AtomicBool
from ._atomic import AtomicFloat as AtomicFloat
from ._atomic import AtomicI8 as AtomicI8
from ._atomic import AtomicI16 as AtomicI16
from ._atomic import AtomicI32 as AtomicI32
from ._atomic import AtomicI64 as AtomicI64
from ._atomic import AtomicInt as AtomicInt
from ._atomic import AtomicIsize as AtomicIsize
from ._atomic import AtomicRef as AtomicRef
from ._atomic import AtomicU8 as AtomicU8
from ._atomic import AtomicU16 as AtomicU16
from ._atomic import AtomicU32 as AtomicU32
from ._atomic import AtomicU64 as AtomicU64
from ._atomic import AtomicUsize as AtomicUsize
from ._atomic import CompareExchangeResult as CompareExchangeResult
from ._atomic import Ordering as Ordering
from ._atomic import fence as fence
from ._util import fixup_module_metadata as _fixup_module_metadata

_compiled.install_twins("fearless._atomic._twins")  # before the names are fixed: twins too

__all__ = (
    "Ordering",
    "fence",
    "CompareExchangeResult",
    "AtomicBool",
    "AtomicInt",
    "AtomicI8",
    "AtomicI16",
    "AtomicI32",
    "AtomicI64",
    "AtomicIsize",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicUsize",
    "AtomicRef",
    "AtomicFloat",
)

_fixup_module_metadata(__name__, globals())
del _fixup_module_metadata
