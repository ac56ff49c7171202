"""The compiled ``Arc`` and ``Weak`` (``src/native/arc.c``) against the reference.

The same public types, messages and reprs; a differential property test
that drives random sequences of every operation through both
implementations over a pool of handles and compares every outcome; exact
counts when threads clone, upgrade and drop at once -- one handle object
shared by threads too, which Rust's borrow checker forbids and Python
allows; a garbage collector that breaks cycles through a handle; flat
memory over a million cycles; and the explorer getting the reference.
"""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _helpers import STRESS, reference, run_concurrently
from _native_helpers import assert_memory_flat, made_under_explore, needs_core
from fearless import Arc, ConsumedError, Weak

pytestmark = needs_core


def test_compiled_handles_pass_for_the_public_types() -> None:
    a: Any = Arc([1])
    ref = reference(Arc, [1])
    assert type(a) is not Arc and type(ref) is Arc
    assert isinstance(a, Arc) and issubclass(type(a), Arc)
    names = (type(a).__name__, type(a).__module__, type(a).__qualname__)
    assert names == ("Arc", "fearless", "Arc")
    w: Any = a.downgrade()
    assert type(w) is not Weak and type(w).__name__ == "Weak"
    assert isinstance(w, Weak)
    assert repr(a) == repr(ref) == "Arc([1])"
    assert repr(w) == repr(ref.downgrade()) == "Weak(<alive>)"
    assert repr(Weak()) == "Weak(<gone>)"
    typed: Arc[int] = Arc[int](3)
    assert typed.value == 3
    for attempt in (pickle.dumps,):
        for obj, twin in ((a, ref), (w, ref.downgrade())):
            with pytest.raises(TypeError) as native_error:
                attempt(obj)
            with pytest.raises(TypeError) as reference_error:
                attempt(twin)
            assert str(native_error.value) == str(reference_error.value)
    assert weakref.ref(a)() is a and weakref.ref(w)() is w
    # Rust's associated-function spelling works on both implementations.
    assert Arc.strong_count(a) == 1 and Arc.strong_count(ref) == 1
    b = Arc.clone(a)
    assert type(b) is type(a) and Arc.strong_count(a) == 2
    assert Weak.upgrade(w) is not None and Weak.upgrade(ref.downgrade()) is not None
    assert copy.copy(a).ptr_eq(a) and copy.deepcopy(a).value == [1]
    assert not a.ptr_eq(ref) and not a.ptr_eq(Arc([1]))


def test_wrong_arguments_say_what_to_pass() -> None:
    with pytest.raises(TypeError, match="Arc"):
        Arc()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Weak"):
        Weak(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="compares two Arc handles"):
        Arc(1).ptr_eq(Weak())  # type: ignore[arg-type]
    assert Arc(value=5).value == 5


# -- the differential property test ------------------------------------------------

#: The operations on the handle at one index (an Arc or a Weak) and, for
#: ptr_eq, a second one.
_OPS = [
    "clone",
    "downgrade",
    "upgrade",
    "drop",
    "exit",
    "strong_count",
    "weak_count",
    "value",
    "try_unwrap",
    "into_inner",
    "get_mut",
    "make_mut",
    "repr",
    "ptr_eq",
    "new_weak",
    "collect",
]


class Box:
    """A value whose copies are counted and told apart (make_mut copies)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __copy__(self) -> Box:
        return Box(self.n + 100)

    def __repr__(self) -> str:
        return f"Box({self.n})"


def _exit(h: Any) -> str:
    with h:
        pass
    return "exited"


def _call(h: Any, op: str, other: Any) -> Callable[[], Any] | None:
    """The call that ``op`` makes on handle ``h``; None where it does not apply."""
    if op == "exit":
        return lambda: _exit(h)
    if op == "ptr_eq":
        return (lambda: h.ptr_eq(other)) if isinstance(h, Arc) == isinstance(other, Arc) else None
    if op == "value":
        return (lambda: h.value) if isinstance(h, Arc) else h.upgrade
    return getattr(h, op, None)


#: How an implementation makes its Arc (from a value) and its Weak().
Makers = tuple[Callable[..., Any], Callable[[], Any]]


def _step(make: Makers, pool: list[Any], op: tuple[str, int, int]) -> str:
    """One operation on ``pool``; what came of it: a result, or an error and its message."""
    arc, weak = make
    name, i, j = op
    if name == "new_weak":
        pool.append(weak())
        return "new"
    if name == "collect":
        if pool:
            # The last reference goes: both implementations drop the handle
            # at once, by reference counting, without a collection (which
            # would hide a reference cycle one of them made).
            del pool[i % len(pool)]
        return "collected"
    if not pool:
        pool.append(arc(Box(len(pool))))
        return "made"
    call = _call(pool[i % len(pool)], name, pool[j % len(pool)])
    if call is None:
        return "not applicable"
    try:
        result = call()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if isinstance(result, (Arc, Weak)):
        pool.append(result)
    return repr(result)


def _state(pool: list[Any]) -> list[str]:
    return [repr(h) for h in pool]


@settings(max_examples=300 * min(STRESS, 3), deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(_OPS), st.integers(0, 9), st.integers(0, 9)), max_size=40
    ),
    n=st.integers(0, 5),
)
def test_both_implementations_agree_on_every_operation(
    ops: list[tuple[str, int, int]], n: int
) -> None:
    native: list[Any] = [Arc(Box(n))]
    expected: list[Any] = [reference(Arc, Box(n))]
    assert type(native[0]) is not type(expected[0])

    compiled = (Arc, Weak)
    pure = (partial(reference, Arc), partial(reference, Weak))
    for op in ops:
        assert _step(compiled, native, op) == _step(pure, expected, op), op
        assert _state(native) == _state(expected)
    counts = [
        (h.strong_count(), h.weak_count()) if repr(h).find("dropped") < 0 else None for h in native
    ]
    assert counts == [
        (h.strong_count(), h.weak_count()) if repr(h).find("dropped") < 0 else None
        for h in expected
    ]


# -- the value's life ---------------------------------------------------------------


class Tracked:
    """Logs its number when finalised."""

    def __init__(self, log: list[int], n: int = 0) -> None:
        self.log, self.n = log, n

    def __del__(self) -> None:
        self.log.append(self.n)


def test_the_last_drop_lets_the_value_go_once() -> None:
    log: list[int] = []
    a = Arc(Tracked(log))
    w = a.downgrade()
    b = a.clone()
    a.drop()
    assert log == [] and w.upgrade() is not None
    b.drop()
    assert log == [0]
    assert w.upgrade() is None and w.strong_count() == 0 and w.weak_count() == 0
    assert repr(w) == "Weak(<gone>)"


def test_the_garbage_collector_breaks_a_cycle_through_a_handle() -> None:
    # The value owns a strong handle to its own allocation: only the
    # collector can free it, by dropping that handle (as the reference's
    # __del__ does).
    log: list[int] = []

    class Node(Tracked):
        me: Any = None

    a = Arc(Node(log, 1))
    a.value.me = a.clone()
    probe = weakref.ref(a.value)
    del a
    gc.collect()
    assert probe() is None and log == [1]


def test_new_cyclic_hands_out_a_weak_that_upgrades_afterwards() -> None:
    seen: list[Any] = []

    def build(me: Weak[list[Any]]) -> list[Any]:
        seen.append(me.upgrade())
        return [me]

    node = Arc.new_cyclic(build)
    made: type = type(node)
    assert made is type(Arc(0)) and seen == [None]
    again = node.value[0].upgrade()
    assert again is not None and again.ptr_eq(node)

    def fail(me: Weak[int]) -> int:
        seen.append(me)
        raise ValueError("no value")

    with pytest.raises(ValueError, match="no value"):
        Arc.new_cyclic(fail)
    assert seen[-1].upgrade() is None


# -- threads --------------------------------------------------------------------------


@pytest.mark.stress
def test_counts_are_exact_when_threads_clone_upgrade_and_drop() -> None:
    threads, rounds = 4, 20_000 * STRESS
    log: list[int] = []
    root = Arc(Tracked(log))
    weak = root.downgrade()

    def work(index: int) -> None:
        for _ in range(rounds):
            a = root.clone()
            w = a.downgrade()
            b = w.upgrade()
            assert b is not None
            with b:
                pass
            w.clone().drop()
            w.drop()
            a.drop()

    run_concurrently(work, threads)
    assert (root.strong_count(), root.weak_count()) == (1, 1)
    assert log == []
    root.drop()
    assert log == [0] and weak.upgrade() is None


def _race_upgrades_with_the_last_drop() -> None:
    log: list[int] = []
    a = Arc(Tracked(log))
    w = a.downgrade()
    go = threading.Barrier(3, timeout=30)

    def upgrade(index: int) -> None:
        go.wait()
        for _ in range(200):
            b = w.upgrade()
            if b is not None:
                # A strong handle keeps the value: it cannot have gone.
                assert log == [], "upgrade() revived a released value"
                b.drop()

    def drop() -> None:
        go.wait()
        a.drop()

    dropper = threading.Thread(target=drop)
    dropper.start()
    run_concurrently(upgrade, 2)
    dropper.join(30)
    assert not dropper.is_alive()
    assert log == [0], "the value was let go exactly once"
    assert w.upgrade() is None and w.strong_count() == 0


@pytest.mark.stress
def test_upgrades_racing_the_last_drop_never_revive_the_value() -> None:
    for _ in range(20 * STRESS):
        _race_upgrades_with_the_last_drop()


def _race_clones_with_a_drop_of_one_handle() -> None:
    log: list[int] = []
    keeper = Arc(Tracked(log))
    shared = keeper.clone()
    go = threading.Barrier(3, timeout=30)
    made: list[Any] = []

    def clone_it(index: int) -> None:
        go.wait()
        for _ in range(20):
            try:
                made.append(shared.clone())
            except ConsumedError:
                break

    def drop_it() -> None:
        go.wait()
        shared.drop()

    dropper = threading.Thread(target=drop_it)
    dropper.start()
    run_concurrently(clone_it, 2)
    dropper.join(30)
    assert not dropper.is_alive()
    assert keeper.strong_count() == 1 + len(made)
    for m in made:
        m.drop()
    assert keeper.strong_count() == 1 and log == []
    keeper.drop()
    assert log == [0]


@pytest.mark.stress
def test_one_handle_shared_by_threads_is_memory_safe() -> None:
    # Rust forbids it; Python allows it: threads clone one handle while one
    # of them drops it. Each clone either counts a new owner or raises
    # ConsumedError; the counts stay exact and nothing is freed twice.
    for _ in range(500 * STRESS):
        _race_clones_with_a_drop_of_one_handle()


# -- memory and the explorer ------------------------------------------------------------


def test_a_million_clone_and_drop_cycles_leave_memory_flat() -> None:
    a = Arc([1])

    def cycle() -> None:
        a.clone().drop()
        w = a.downgrade()
        b = w.upgrade()
        del b, w
        Arc(None)

    assert_memory_flat(cycle)
    assert (a.strong_count(), a.weak_count()) == (1, 0)


def test_the_explorer_gets_the_reference_arc() -> None:
    def use(a: Any) -> None:
        a.clone().drop()

    made = made_under_explore(lambda: Arc(0), use)
    assert all(type(a) is Arc and a.strong_count() == 1 for a in made)
