"""What the explorer takes over in each primitive: its switch points and its key (internal).

One table, :data:`PRIMITIVES`, declares for every class fearless exports
(by its public name) how an exploration treats it:

- ``switch_points``: the operations that are steps of their own. While an
  exploration runs, each is wrapped (:mod:`.takeover`) so that calling it
  from a simulated thread is a switch point, and the step touches the
  object's key. Many are lock-free -- a channel's ``send``,
  ``OnceLock.get``, ``Arc.strong_count`` -- and read or write shared state
  between the seam's lock operations, so they must be steps of their own.
- ``not_switch_points``: the public operations that are deliberately not:
  a guard's release only releases a lock, and releasing is never a switch
  point (the releasing thread does only invisible work until its next
  switch point).
- ``key``: the attribute path from an object to the seam lock whose key
  names it in every run (for the partial-order search: steps on different
  objects commute); ``None``, or a path that does not end at a simulated
  lock (an ``Arc`` already dropped), names it by its type.

:data:`THREAD_BODIES` names the code that runs a spawned thread's function,
so that a step there is reported as the thread starting or ending.

``tests/test_testing.py`` checks that every public operation of every
exported class is declared one way or the other, and that every key path
ends at a simulated lock during a run, so that a new method or a renamed
attribute cannot silently escape the explorer. To add a primitive: add its
row here. Relies on nothing; names are resolved in the public modules when
an exploration starts.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["NOT_PRIMITIVES", "PRIMITIVES", "PROTOCOL_METHODS", "THREAD_BODIES", "Primitive"]


class Primitive(NamedTuple):
    """How an exploration treats one exported class."""

    switch_points: frozenset[str] = frozenset()
    not_switch_points: frozenset[str] = frozenset()
    key: tuple[str, ...] | None = None


#: Besides its public methods, a class's operations include these.
PROTOCOL_METHODS: Final = frozenset({"__enter__", "__exit__", "__iter__", "__next__"})

#: A guard's release only releases a lock: not a step of its own.
_GUARD_RELEASES: Final = frozenset({"unlock", "__enter__", "__exit__"})
_POISON: Final = frozenset({"clear_poison", "into_inner", "is_poisoned", "statistics"})
_HANDLE: Final = frozenset({"__enter__", "__exit__", "clone", "drop", "ptr_eq"})
_COUNTS: Final = frozenset({"strong_count", "weak_count"})
_ATOMIC: Final = frozenset(
    {"compare_exchange", "compare_exchange_weak", "fetch_update", "load", "store", "swap"}
)
_ATOMIC_INT: Final = _ATOMIC | {
    "fetch_add",
    "fetch_and",
    "fetch_max",
    "fetch_min",
    "fetch_nand",
    "fetch_or",
    "fetch_sub",
    "fetch_xor",
}
_CHANNEL_END: Final = frozenset({"__enter__", "__exit__", "close"})
_LOCK: Final = ("_lock",)
#: A handle's shared block (an Arc's allocation, a channel) and its lock.
_SHARED: Final = ("_shared", "lock")


def _ops(*names: str | frozenset[str]) -> frozenset[str]:
    found: set[str] = set()
    for name in names:
        found.update((name,) if isinstance(name, str) else name)
    return frozenset(found)


#: Every exported class that is shared state, by public name ("mpsc.Sender").
PRIMITIVES: Final[dict[str, Primitive]] = {
    # fearless
    "Arc": Primitive(
        _ops(_HANDLE, _COUNTS, "downgrade", "get_mut", "into_inner", "make_mut", "try_unwrap"),
        key=_SHARED,
    ),
    "Barrier": Primitive(_ops("statistics", "wait"), key=_LOCK),
    "BarrierWaitResult": Primitive(),  # a value: no operations
    "Condvar": Primitive(
        _ops("notify_all", "notify_one", "statistics", "wait", "wait_while"), key=_LOCK
    ),
    "JoinHandle": Primitive(_ops("is_finished", "join")),
    "LazyLock": Primitive(_ops("force", "statistics"), key=_LOCK),
    "Mutex": Primitive(_ops(_POISON, "lock", "try_lock"), key=_LOCK),
    "MutexGuard": Primitive(not_switch_points=_GUARD_RELEASES),
    "Once": Primitive(_ops("call_once", "call_once_force", "statistics"), key=_LOCK),
    "OnceLock": Primitive(_ops("get", "get_or_init", "set", "statistics"), key=_LOCK),
    "OnceState": Primitive(),  # a value: no operations
    "RwLock": Primitive(
        _ops(_POISON, "read", "try_read", "try_write", "upgradable_read", "write"), key=_LOCK
    ),
    "RwLockReadGuard": Primitive(not_switch_points=_GUARD_RELEASES),
    "RwLockUpgradableReadGuard": Primitive(_ops("upgrade"), _GUARD_RELEASES),
    "RwLockWriteGuard": Primitive(_ops("downgrade"), _GUARD_RELEASES),
    "Scope": Primitive(_ops("__enter__", "__exit__", "spawn"), key=_LOCK),
    "ThreadLocal": Primitive(_ops("get", "replace", "set", "take")),
    "Weak": Primitive(_ops(_HANDLE, _COUNTS, "upgrade"), key=_SHARED),
    # fearless.atomic
    "atomic.AtomicBool": Primitive(
        _ops(_ATOMIC, "fetch_and", "fetch_nand", "fetch_not", "fetch_or", "fetch_xor"), key=_LOCK
    ),
    "atomic.AtomicFloat": Primitive(
        _ops(_ATOMIC, "fetch_add", "fetch_max", "fetch_min", "fetch_sub"), key=_LOCK
    ),
    "atomic.AtomicRef": Primitive(_ATOMIC, key=_LOCK),
    **{
        f"atomic.Atomic{width}": Primitive(_ATOMIC_INT, key=_LOCK)
        for width in ("I8", "I16", "I32", "I64", "Int", "Isize", "U8", "U16", "U32", "U64", "Usize")
    },
    # fearless.mpsc
    "mpsc.Receiver": Primitive(
        _ops(_CHANNEL_END, "__iter__", "recv", "try_iter", "try_recv"), key=_SHARED
    ),
    "mpsc.Sender": Primitive(_ops(_CHANNEL_END, "clone", "send"), key=_SHARED),
    "mpsc.SyncSender": Primitive(_ops(_CHANNEL_END, "clone", "send", "try_send"), key=_SHARED),
}

#: Exported classes that are not shared-state primitives (parallel maps run
#: their own threads or processes; explorations do not control them).
NOT_PRIMITIVES: Final = frozenset({"ParIter", "ThreadPool", "ProcessPool", "ParInfo"})

#: The code that runs a spawned thread's function, as (module, qualified
#: name): a step whose outermost fearless frame is one of these is the thread
#: starting or ending, not an API call (see ``report.api_call``).
THREAD_BODIES: Final = frozenset({("fearless._thread", "_Packet.__call__")})
