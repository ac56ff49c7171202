"""The chapter's "Atomic Ordering (brief note)", one program per row of its table.

The chapter's table:

    | Ordering        | When to use                                                  |
    |-----------------|--------------------------------------------------------------|
    | Relaxed         | Simple counters where ordering doesn't matter                |
    | Acquire/Release | Producer-consumer: writer uses Release, reader uses Acquire  |
    | SeqCst          | When in doubt — strictest ordering, most intuitive           |

and its note: "Python's threading module hides these details behind the
GIL. In Rust, you choose explicitly — use SeqCst until profiling shows you
need something weaker." Each row in Rust:

    counter.fetch_add(1, Ordering::Relaxed);            // Relaxed: a counter

    DATA = 42; READY.store(true, Ordering::Release);    // Release: publish...
    while !READY.load(Ordering::Acquire) { thread::yield_now(); }
    assert_eq!(DATA, 42);                               // ...Acquire: see it

    X.store(true, Ordering::SeqCst);                    // SeqCst: thread A
    let r1 = Y.load(Ordering::SeqCst);
    Y.store(true, Ordering::SeqCst);                    // SeqCst: thread B
    let r2 = X.load(Ordering::SeqCst);
    assert!(r1 || r2);                                  // never both false

What the port shows, row by row:

- **Relaxed**: four fearless threads ``fetch_add(1, Ordering.Relaxed)`` into
  one ``AtomicI64``; the total is exact on every build.
- **Release/Acquire**: a producer writes plain Python data into a slot, then
  stores the slot's flag with ``Release``; a consumer spins on ``Acquire``
  loads — bounded by a deadline, yielding with ``time.sleep(0)`` as Rust's
  ``thread::yield_now()`` — and then reads the data, which is always
  complete. Many hand-offs in a row, not one.
- **SeqCst**: the store-buffering (Dekker) litmus test. Each of two threads
  stores its own flag, then loads the other's. Under ``SeqCst`` one total
  order holds every operation, so whichever store comes first in it is seen
  by the other thread's load: ``r1 == r2 == False`` is forbidden. The two
  threads race for many rounds (a spinning handshake starts each round,
  so they really run together), and the program prints how often each
  outcome happened: ``(True, True)`` means both stores came before either
  load, which needs the threads to overlap — seen without the GIL, rare
  with it, since the GIL lets one thread run its store and load back to
  back. Then ``fearless.testing.explore(strategy="exhaustive")`` runs
  the test under every schedule of its steps and each one passes.

What fearless guarantees (docs/atomics.md): every operation is *at least as
strong as asked* — Rust's rule — and in practice ``SeqCst`` whatever
ordering you pass, on every build, because each atomic is a short critical
section on its own lock. Rust and C11 *allow* ``r1 == r2 == False`` with
``Relaxed`` or with ``Release``/``Acquire`` (each store may still sit in
its core's store buffer while the other core loads), and real hardware
shows it; runs of fearless on CPython here will not, so the same race with
the weaker orderings is printed too — still never both False. The
explorer runs every schedule sequentially consistently as well, so it
checks the ``SeqCst`` contract; it does not model the weaker outcomes C11
allows. Choosing the ordering still matters: it documents what the
algorithm relies on, it is validated like Rust's, and code ported to Rust
stays correct.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

from fearless import Arc, scope, spawn
from fearless.atomic import AtomicBool, AtomicI64, Ordering
from fearless.testing import explore

QUICK = bool(os.environ.get("FEARLESS_EXAMPLE_QUICK"))
THREADS = 4
INCREMENTS = 10_000 if QUICK else 1_000_000
HANDOFFS = 1_000 if QUICK else 20_000
ROUNDS = 2_000 if QUICK else 50_000
WEAK_ROUNDS = 500 if QUICK else 10_000
TIMEOUT = 60.0  # every wait is bounded: a hang fails instead of blocking

# -- Relaxed: a counter ------------------------------------------------------------------


def count(counter: Arc[AtomicI64]) -> None:
    relaxed = Ordering.Relaxed  # bound once, as Rust writes `use Ordering::Relaxed;`
    for _ in range(INCREMENTS):
        counter.value.fetch_add(1, relaxed)


def relaxed_counter() -> None:
    counter = Arc(AtomicI64(0))
    handles = [spawn(count, counter.clone()) for _ in range(THREADS)]
    for h in handles:
        h.join(timeout=TIMEOUT)
    total = counter.value.load(Ordering.Relaxed)  # the joins ordered every increment before this
    print(f"Relaxed: Counter: {total:,} ({THREADS} threads x {INCREMENTS:,}: always exact)")


# -- Release/Acquire: a producer hands data to a consumer ------------------------------------


class Slot:
    """Plain data, and the flag that says it is there."""

    __slots__ = ("data", "ready")

    def __init__(self) -> None:
        self.data: list[int] | None = None
        self.ready = AtomicBool(False)


def payload(i: int) -> list[int]:
    return [i, i + 1, i + 2]


def produce(slots: list[Slot]) -> None:
    for i, slot in enumerate(slots):
        slot.data = payload(i)  # 1. plain writes...
        slot.ready.store(True, Ordering.Release)  # 2. ...published by the Release store


def consume(slots: list[Slot]) -> int:
    """Read every slot once it is published; return how many were complete."""
    complete = 0
    deadline = time.monotonic() + TIMEOUT
    for i, slot in enumerate(slots):
        while not slot.ready.load(Ordering.Acquire):  # 3. Acquire pairs with the Release
            if time.monotonic() > deadline:
                raise TimeoutError(f"slot {i} was never published")
            time.sleep(0)  # Rust's thread::yield_now()
        if slot.data == payload(i):  # 4. sees every write made before the store
            complete += 1
    return complete


def release_acquire() -> None:
    slots = [Slot() for _ in range(HANDOFFS)]
    consumer = spawn(consume, slots)  # starts first, and waits for each slot
    producer = spawn(produce, slots)
    producer.join(timeout=TIMEOUT)
    complete = consumer.join(timeout=TIMEOUT)
    print(
        f"Release/Acquire: {HANDOFFS:,} hand-offs, the consumer saw the complete data "
        f"{complete:,} times out of {HANDOFFS:,}"
    )


# -- SeqCst: store buffering (Dekker's flags) ----------------------------------------------


def meet(arrived: AtomicI64, parties: int, deadline: float) -> None:
    """Arrive, then spin until every party has: they leave within a few loads of each other.

    A blocking ``Barrier`` would do as a handshake, but the thread it wakes
    is microseconds behind the one that arrived last, long enough for that
    one to finish its round alone. Spinning lines them up. It backs off like
    crossbeam's ``Backoff``: a few loads, then ``time.sleep(0)`` (Rust's
    ``thread::yield_now()``), which also lets the other thread take the GIL.
    """
    target = arrived.fetch_add(1, Ordering.AcqRel) // parties * parties + parties
    spins = 0
    while arrived.load(Ordering.Acquire) < target:
        spins += 1
        if spins % 64 == 0:
            time.sleep(0)
            if time.monotonic() > deadline:
                raise TimeoutError("the other thread never arrived")


def flag_thread(
    mine: list[AtomicBool],
    theirs: list[AtomicBool],
    arrived: AtomicI64,
    store: Ordering,
    load: Ordering,
) -> list[bool]:
    """Each round: meet the other thread, raise my flag, then look at theirs."""
    deadline = time.monotonic() + TIMEOUT
    saw = []
    for mine_now, theirs_now in zip(mine, theirs, strict=True):
        meet(arrived, 2, deadline)  # both threads leave together: a real race
        mine_now.store(True, store)
        saw.append(theirs_now.load(load))
    return saw


def race(rounds: int, store: Ordering, load: Ordering) -> Counter[tuple[bool, bool]]:
    """Run the store-buffering race ``rounds`` times; count each (r1, r2) outcome."""
    x = [AtomicBool(False) for _ in range(rounds)]  # fresh flags every round
    y = [AtomicBool(False) for _ in range(rounds)]
    arrived = AtomicI64(0)
    a = spawn(flag_thread, x, y, arrived, store, load)  # A: X = true; r1 = Y
    b = spawn(flag_thread, y, x, arrived, store, load)  # B: Y = true; r2 = X
    r1, r2 = a.join(timeout=TIMEOUT), b.join(timeout=TIMEOUT)
    return Counter(zip(r1, r2, strict=True))


def show(outcome: tuple[bool, bool]) -> str:
    return f"(r1, r2) = ({outcome[0]}, {outcome[1]})"


def seqcst_race() -> None:
    outcomes = race(ROUNDS, Ordering.SeqCst, Ordering.SeqCst)
    print(f"SeqCst: store buffering (Dekker's flags) on real threads, {ROUNDS:,} rounds:")
    for outcome in [(True, True), (True, False), (False, True)]:
        print(f"  {show(outcome)}: {outcomes[outcome]:,} rounds")
    print(f"forbidden outcome (both False): {outcomes[(False, False)]:,} times")
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        print("  (the GIL runs one thread's store and load back to back: (True, True) is rare)")
    else:
        print("  (no GIL: in the (True, True) rounds both stores came before either load)")


def weaker_orderings() -> None:
    for name, store, load in [
        ("Relaxed", Ordering.Relaxed, Ordering.Relaxed),
        ("Release/Acquire", Ordering.Release, Ordering.Acquire),
    ]:
        both_false = race(WEAK_ROUNDS, store, load)[(False, False)]
        print(
            f"  the same race with {name}: both False {both_false:,} times in "
            f"{WEAK_ROUNDS:,} rounds (Rust/C11 allow it; fearless runs it SeqCst)"
        )


explored: set[tuple[bool, bool]] = set()


def store_buffering() -> None:
    """The litmus test for the explorer: it must hold under every schedule."""
    x, y = AtomicBool(False), AtomicBool(False)
    seen: list[bool] = [False, False]

    def a() -> None:
        x.store(True, Ordering.SeqCst)
        seen[0] = y.load(Ordering.SeqCst)

    def b() -> None:
        y.store(True, Ordering.SeqCst)
        seen[1] = x.load(Ordering.SeqCst)

    with scope() as s:
        s.spawn(a)
        s.spawn(b)
    r1, r2 = seen
    explored.add((r1, r2))
    assert r1 or r2, "both threads missed the other's flag"


def seqcst_explored() -> None:
    result = explore(store_buffering, strategy="exhaustive")
    print(
        f"explore(strategy='exhaustive'): all {result.schedules} schedules pass "
        f"({result.coverage}; complete: {result.complete})"
    )
    print(f"  outcomes over those schedules: {', '.join(show(o) for o in sorted(explored))}")


def main() -> None:
    relaxed_counter()
    release_acquire()
    seqcst_race()
    weaker_orderings()
    seqcst_explored()
    print(
        "fearless: every atomic operation is at least as strong as asked; "
        "in practice SeqCst, on every build"
    )


if __name__ == "__main__":
    main()
