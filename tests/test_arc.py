"""Arc[T] and Weak[T]: DESIGN.md "Arc[T] and Weak[T]" and issue 3, sentence by sentence."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from _helpers import STRESS, TIMEOUT, reference, run_concurrently
from fearless import Arc, ConsumedError, Mutex, NotUniqueError, Weak, scope, spawn
from fearless.atomic import AtomicInt
from fearless.testing import ScheduleFailure, explore

DROPPED_ARC = r"^this Arc handle was dropped; use a live clone of it instead$"
DROPPED_WEAK = r"^this Weak handle was dropped; use a live clone of it instead$"


class Payload:
    """A value that can be weakly referenced, to watch it being released."""

    def __init__(self, name: str = "payload") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Payload({self.name!r})"


# -- construction, value, clone, drop -----------------------------------------


def test_new_arc_has_one_strong_and_no_weak_handle() -> None:
    a = Arc([1, 2, 3])
    assert a.value == [1, 2, 3]
    assert (a.strong_count(), a.weak_count()) == (1, 0)


def test_clone_shares_the_value_and_counts_it() -> None:
    a = Arc(Payload())
    b = a.clone()
    assert b.value is a.value
    assert a.ptr_eq(b)
    assert a.strong_count() == b.strong_count() == 2


def test_associated_function_spelling_works() -> None:
    # Rust: Arc::clone(&a), Arc::strong_count(&a), Arc::ptr_eq(&a, &b).
    a = Arc(1)
    b = Arc.clone(a)
    assert Arc.strong_count(a) == 2
    assert Arc.ptr_eq(a, b)


def test_value_is_read_only() -> None:
    a = Arc(1)
    with pytest.raises(AttributeError):
        a.value = 2  # type: ignore[misc]


def test_drop_counts_one_owner_fewer() -> None:
    a = Arc("x")
    b = a.clone()
    b.drop()
    assert a.strong_count() == 1


def test_drop_twice_raises() -> None:
    a = Arc("x")
    a.drop()
    with pytest.raises(ConsumedError, match=DROPPED_ARC):
        a.drop()


USES: dict[str, Callable[[Arc[Any]], object]] = {
    "value": lambda a: a.value,
    "clone": lambda a: a.clone(),
    "drop": lambda a: a.drop(),
    "downgrade": lambda a: a.downgrade(),
    "strong_count": lambda a: a.strong_count(),
    "weak_count": lambda a: a.weak_count(),
    "ptr_eq": lambda a: a.ptr_eq(Arc(0)),
    "ptr_eq reversed": lambda a: Arc(0).ptr_eq(a),
    "try_unwrap": lambda a: a.try_unwrap(),
    "into_inner": lambda a: a.into_inner(),
    "get_mut": lambda a: a.get_mut(),
    "make_mut": lambda a: a.make_mut(),
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
}


@pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
def test_every_use_of_a_dropped_handle_raises(use: Callable[[Arc[Any]], object]) -> None:
    a = Arc([1])
    keep = a.clone()
    a.drop()
    with pytest.raises(ConsumedError, match=DROPPED_ARC):
        use(a)
    assert keep.strong_count() == 1  # the failed use changed no count


def test_with_block_drops_the_handle() -> None:
    a = Arc("x")
    with a.clone() as b:
        assert a.strong_count() == 2
        assert b.value == "x"
    assert a.strong_count() == 1
    with pytest.raises(ConsumedError):
        b.value  # noqa: B018


def test_with_block_drops_even_when_it_raises() -> None:
    a = Arc("x")
    with pytest.raises(KeyError), a.clone():
        raise KeyError
    assert a.strong_count() == 1


def test_with_block_after_an_explicit_drop_does_not_raise() -> None:
    a = Arc("x")
    with a.clone() as b:
        b.drop()
    assert a.strong_count() == 1


def test_garbage_collected_handle_drops_itself() -> None:
    a = Arc("x")
    b = a.clone()
    assert a.strong_count() == 2
    del b
    assert a.strong_count() == 1


def test_handle_in_a_reference_cycle_drops_when_collected() -> None:
    a = Arc("x")
    cycle: list[object] = [a.clone()]
    cycle.append(cycle)
    assert a.strong_count() == 2
    del cycle
    gc.collect()
    assert a.strong_count() == 1


def test_arc_of_mutex_is_the_chapters_shared_state() -> None:
    shared = Arc(Mutex[list[int]]([]))

    def push(arc: Arc[Mutex[list[int]]], i: int) -> None:
        with arc, arc.value.lock() as guard:
            guard.value.append(i)

    handles = [spawn(push, shared.clone(), i) for i in range(4)]
    for handle in handles:
        handle.join(timeout=TIMEOUT)
    # spawn drops its arguments when the thread ends: every clone is gone.
    assert shared.strong_count() == 1
    assert sorted(shared.value.into_inner()) == [0, 1, 2, 3]


def test_a_clone_moved_into_a_thread_is_gone_when_the_thread_is() -> None:
    a = Arc("x")
    clone = a.clone()
    handle = spawn(lambda arc: arc.value, clone)
    del clone
    assert handle.join(timeout=TIMEOUT) == "x"
    assert a.strong_count() == 1


# -- the value is released with the last strong handle ---------------------------


def test_value_is_released_when_the_last_strong_handle_drops() -> None:
    a = Arc(Payload())
    watch = weakref.ref(a.value)
    b = a.clone()
    a.drop()
    assert watch() is not None
    b.drop()
    assert watch() is None


def test_weak_does_not_keep_the_value_alive() -> None:
    a = Arc(Payload())
    watch = weakref.ref(a.value)
    w = a.downgrade()
    del a
    assert watch() is None
    assert w.upgrade() is None
    assert (w.strong_count(), w.weak_count()) == (0, 0)


def test_value_is_released_when_the_last_handle_is_garbage_collected() -> None:
    a = Arc(Payload())
    watch = weakref.ref(a.value)
    del a
    assert watch() is None


def test_values_finaliser_may_use_the_allocations_weak_handles() -> None:
    # The value's __del__ runs after the lock is released: upgrading a Weak
    # of its own allocation from there neither deadlocks nor revives it.
    seen: list[object] = []

    class Node:
        def __init__(self, me: Weak[Node]) -> None:
            self.me = me

        def __del__(self) -> None:
            seen.append(self.me.upgrade())

    node = Arc.new_cyclic(Node)
    node.drop()
    assert seen == [None]


def test_finaliser_of_a_handle_inside_an_operation_does_not_deadlock() -> None:
    # A handle may be garbage-collected while this thread is inside another
    # operation on the same allocation; hold the allocation's lock the way
    # such an operation would and drop a handle "from a finaliser". (The
    # reference's lock: the compiled core's counts are atomics, with no lock.)
    a = reference(Arc, "x")
    b = a.clone()
    lock = a._shared.lock
    done = threading.Event()

    def finalise_inside() -> None:
        nonlocal b
        with lock:
            del b  # runs Arc.__del__, which takes the same lock
            done.set()

    worker = threading.Thread(target=finalise_inside, daemon=True)
    worker.start()
    worker.join(TIMEOUT)
    assert done.is_set(), "a finaliser inside an operation deadlocked"
    assert a.strong_count() == 1


# -- Weak ---------------------------------------------------------------------


def test_downgrade_and_upgrade() -> None:
    a = Arc(42)
    w = a.downgrade()
    assert (a.weak_count(), w.weak_count(), w.strong_count()) == (1, 1, 1)
    b = w.upgrade()
    assert b is not None
    assert b.value == 42
    assert b.ptr_eq(a)
    assert a.strong_count() == 2


def test_upgrade_never_revives_a_released_value() -> None:
    a = Arc(1)
    w = a.downgrade()
    a.drop()
    assert w.upgrade() is None
    assert w.upgrade() is None
    assert w.strong_count() == 0


def test_weak_counts_clones_and_drops() -> None:
    a = Arc(1)
    w1 = a.downgrade()
    w2 = w1.clone()
    w3 = copy.copy(w2)
    w4 = copy.deepcopy(w3)
    assert a.weak_count() == 4
    assert w1.ptr_eq(w4)
    w1.drop()
    with w2:
        pass
    del w3
    assert a.weak_count() == 1
    assert w4.weak_count() == 1


def test_weak_new_never_upgrades() -> None:
    w = Weak[int]()
    assert w.upgrade() is None
    assert (w.strong_count(), w.weak_count()) == (0, 0)
    assert not w.ptr_eq(Weak())
    assert repr(w) == "Weak(<gone>)"


WEAK_USES: dict[str, Callable[[Weak[Any]], object]] = {
    "upgrade": lambda w: w.upgrade(),
    "clone": lambda w: w.clone(),
    "drop": lambda w: w.drop(),
    "strong_count": lambda w: w.strong_count(),
    "weak_count": lambda w: w.weak_count(),
    "ptr_eq": lambda w: w.ptr_eq(Weak()),
    "copy": copy.copy,
}


@pytest.mark.parametrize("use", WEAK_USES.values(), ids=WEAK_USES.keys())
def test_every_use_of_a_dropped_weak_raises(use: Callable[[Weak[Any]], object]) -> None:
    a = Arc(1)
    w = a.downgrade()
    w.drop()
    with pytest.raises(ConsumedError, match=DROPPED_WEAK):
        use(w)
    assert a.weak_count() == 0


def test_weak_repr_shows_its_state_only() -> None:
    a = Arc("secret")
    w = a.downgrade()
    assert repr(w) == "Weak(<alive>)"
    a.drop()
    assert repr(w) == "Weak(<gone>)"
    w.drop()
    assert repr(w) == "Weak(<dropped>)"


def test_ptr_eq_rejects_other_types() -> None:
    with pytest.raises(
        TypeError, match=r"^ptr_eq\(\) compares two Arc handles, not an Arc and int$"
    ):
        Arc(1).ptr_eq(1)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"^ptr_eq\(\) compares two Weak handles, not a Weak and Arc$"
    ):
        Weak[int]().ptr_eq(Arc(1))  # type: ignore[arg-type]


# -- taking the value out --------------------------------------------------------


def test_try_unwrap_gives_the_value_of_the_only_strong_handle() -> None:
    a = Arc(Payload())
    value = a.value
    w = a.downgrade()
    assert a.try_unwrap() is value
    assert w.upgrade() is None
    with pytest.raises(ConsumedError):
        a.value  # noqa: B018


def test_try_unwrap_with_other_owners_raises_and_changes_nothing() -> None:
    a = Arc([1])
    b = a.clone()
    with pytest.raises(
        NotUniqueError,
        match=r"^2 strong handles share this Arc; drop the others first, or use into_inner\(\)$",
    ):
        a.try_unwrap()
    assert a.value == [1]
    assert a.strong_count() == 2
    b.drop()
    assert a.try_unwrap() == [1]


def test_into_inner_returns_the_value_to_the_last_handle_only() -> None:
    a = Arc("payload")
    b = a.clone()
    assert a.into_inner() is None
    assert b.strong_count() == 1
    assert b.into_inner() == "payload"
    for handle in (a, b):
        with pytest.raises(ConsumedError):
            handle.into_inner()


def test_get_mut_only_for_the_sole_owner() -> None:
    a = Arc([1])
    assert a.get_mut() is a.value
    b = a.clone()
    assert a.get_mut() is None
    b.drop()
    w = a.downgrade()
    assert a.get_mut() is None
    w.drop()
    assert a.get_mut() == [1]


@dataclass
class Counted:
    items: list[int]
    copies: list[int] = field(default_factory=list)

    def __copy__(self) -> Counted:
        self.copies.append(1)
        return Counted(list(self.items), self.copies)


def test_make_mut_of_the_sole_owner_neither_copies_nor_moves() -> None:
    a = Arc(Counted([1]))
    value = a.value
    inner = a._live()
    assert a.make_mut() is value
    assert value.copies == []
    assert a._live() is inner


def test_make_mut_with_other_strong_handles_copies() -> None:
    a = Arc(Counted([1, 2]))
    b = a.clone()
    w = b.downgrade()
    a.make_mut().items.append(3)
    assert a.value.items == [1, 2, 3]
    assert b.value.items == [1, 2]
    assert len(a.value.copies) == 1
    assert not a.ptr_eq(b)
    assert (a.strong_count(), a.weak_count()) == (1, 0)
    assert (b.strong_count(), b.weak_count()) == (1, 1)
    upgraded = w.upgrade()
    assert upgraded is not None and upgraded.ptr_eq(b)  # weak handles stay with b


def test_make_mut_with_only_weak_handles_moves_and_disassociates_them() -> None:
    a = Arc(Counted([1]))
    value = a.value
    w = a.downgrade()
    assert a.make_mut() is value
    assert value.copies == []  # moved, not copied
    assert w.upgrade() is None
    assert (a.strong_count(), a.weak_count()) == (1, 0)


def test_make_mut_is_copy_on_write_for_later_writers_too() -> None:
    a = Arc([0])
    b = a.clone()
    c = b.clone()
    b.make_mut().append(1)
    c.make_mut().append(2)
    assert (a.value, b.value, c.value) == ([0], [0, 1], [0, 2])
    assert a.strong_count() == 1


# -- new_cyclic ----------------------------------------------------------------


def test_new_cyclic_weak_upgrades_only_after_construction() -> None:
    @dataclass
    class Node:
        me: Weak[Node]
        upgraded_during_init: bool

    node = Arc.new_cyclic(lambda me: Node(me, me.upgrade() is not None))
    assert node.value.upgraded_during_init is False
    this = node.value.me.upgrade()
    assert this is not None and this.ptr_eq(node)
    assert node.weak_count() == 1


def test_new_cyclic_failure_propagates_and_the_weak_never_upgrades() -> None:
    kept: list[Weak[object]] = []

    def build(me: Weak[object]) -> object:
        kept.append(me)
        raise ValueError("cannot build")

    with pytest.raises(ValueError, match=r"^cannot build$"):
        Arc.new_cyclic(build)
    assert kept[0].upgrade() is None
    assert kept[0].strong_count() == 0


# -- Python protocols -------------------------------------------------------------


def test_copy_is_clone_and_deepcopy_is_a_new_allocation() -> None:
    a = Arc([[1]])
    b = copy.copy(a)
    assert b.ptr_eq(a) and a.strong_count() == 2
    c = copy.deepcopy(a)
    assert not c.ptr_eq(a)
    assert c.value == [[1]] and c.value[0] is not a.value[0]
    assert a.strong_count() == 2


@pytest.mark.parametrize("make", [lambda: Arc(1), lambda: Arc(1).downgrade(), Weak])
def test_handles_refuse_to_be_pickled(make: Callable[[], object]) -> None:
    handle = make()
    name = type(handle).__name__
    with pytest.raises(
        TypeError,
        match=rf"^cannot pickle a fearless\.{name}: its handles count owners in this process "
        r"only; pickle the value \(arc\.value\) and wrap what you unpickle in a new Arc$",
    ):
        pickle.dumps(handle)


def test_repr_shows_the_value() -> None:
    a = Arc([1, 2])
    assert repr(a) == "Arc([1, 2])"
    a.drop()
    assert repr(a) == "Arc(<dropped>)"


def test_handles_compare_by_identity() -> None:
    a = Arc(1)
    b = a.clone()
    assert a != b
    assert a == a  # noqa: PLR0124
    assert len({a, b}) == 2


def test_handles_are_true_whatever_the_value() -> None:
    # Handles are ordinary objects: a falsy value does not make them false.
    assert bool(Arc(0)) is True
    assert bool(Arc(None)) is True


# -- concurrency: counts are exact --------------------------------------------------


@pytest.mark.stress
def test_clone_and_drop_churn_keeps_counts_exact() -> None:
    rounds = 2_000 * STRESS
    a = Arc(Payload())

    def churn(index: int) -> None:
        for _ in range(rounds):
            b = a.clone()
            w = b.downgrade()
            c = w.upgrade()
            assert c is not None
            w.drop()
            if index % 2:
                del b  # by garbage collection
            else:
                b.drop()
            with c:
                pass

    run_concurrently(churn, 4)
    assert (a.strong_count(), a.weak_count()) == (1, 0)


@pytest.mark.stress
def test_counts_seen_while_racing_never_go_below_the_owners_held() -> None:
    rounds = 2_000 * STRESS
    a = Arc(0)
    nthreads = 4

    def churn(_: int) -> int:
        low = 1_000_000
        for _ in range(rounds):
            with a.clone() as b:
                low = min(low, b.strong_count())
        return low

    lows = run_concurrently(churn, nthreads)
    # Each thread holds its own clone plus `a` exists: never fewer than 2.
    assert min(lows) >= 2
    assert a.strong_count() == 1


@pytest.mark.stress
def test_exactly_one_concurrent_into_inner_gets_the_value() -> None:
    def unwrap(index: int, handles: list[Arc[Payload]]) -> object:
        return handles[index].into_inner()

    for _ in range(50 * STRESS):
        nthreads = 4
        first = Arc(Payload())
        handles = [first.clone() for _ in range(nthreads - 1)] + [first]
        del first
        results = run_concurrently(unwrap, nthreads, handles)
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert isinstance(winners[0], Payload)


@pytest.mark.stress
def test_upgrade_racing_the_last_drop_never_revives_the_value() -> None:
    def upgrader(weak: Weak[Payload], start: threading.Barrier, got: list[object]) -> None:
        start.wait()
        for _ in range(20):
            handle = weak.upgrade()
            got.append(handle)
            if handle is None:
                return
            handle.drop()

    for _ in range(100 * STRESS):
        a = Arc(Payload())
        watch = weakref.ref(a.value)
        weak = a.downgrade()
        start = threading.Barrier(2, timeout=TIMEOUT)
        got: list[object] = []
        with scope() as s:
            s.spawn(upgrader, weak, start, got)
            start.wait()
            a.drop()
        # After the first None, no upgrade ever succeeded again.
        assert got[-1] is None or len(got) == 20
        assert weak.upgrade() is None
        assert weak.strong_count() == 0
        assert watch() is None


@pytest.mark.stress
def test_make_mut_racing_readers_never_shows_a_partial_copy() -> None:
    rounds = 300 * STRESS
    base = Arc(list(range(10)))

    def writer(index: int) -> list[int]:
        mine = base.clone()
        for _ in range(rounds):
            mine.make_mut().append(index)
        return mine.into_inner() or []

    results = run_concurrently(writer, 3)
    for index, values in enumerate(results):
        assert values == list(range(10)) + [index] * rounds
    assert base.value == list(range(10))
    assert base.strong_count() == 1


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound). Cloning, downgrading, upgrading and dropping take the allocation's lock,
# so each is a switch point; the counts are asserted at the points where they are known.
# (The explorer turns the cyclic GC off during a run, so "released" below is by refcount.)


def test_explored_counts_are_exact_after_clone_and_drop_churn() -> None:
    def program() -> None:
        arc = Arc(Payload())
        watch = weakref.ref(arc.value)
        weak = arc.downgrade()

        def churn(mine: Arc[Payload]) -> None:
            extra = mine.clone()
            assert extra.strong_count() >= 3  # main's, mine, extra
            peek = extra.downgrade()
            assert peek.weak_count() >= 2  # main's weak, peek
            peek.drop()
            extra.drop()
            mine.drop()

        with scope() as s:
            s.spawn(churn, arc.clone())
            s.spawn(churn, arc.clone())
        assert (arc.strong_count(), arc.weak_count()) == (1, 1)
        arc.drop()
        assert watch() is None, "the last strong drop did not release the value"
        assert weak.upgrade() is None
        assert (weak.strong_count(), weak.weak_count()) == (0, 0)

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 100


def test_explored_exactly_one_into_inner_gets_the_value() -> None:
    takers: set[str] = set()

    def program() -> None:
        arc = Arc(Payload())
        watch = weakref.ref(arc.value)
        got: dict[str, Payload | None] = {}

        def take(name: str, mine: Arc[Payload]) -> None:
            got[name] = mine.into_inner()

        with scope() as s:
            s.spawn(take, "first", arc.clone())
            s.spawn(take, "second", arc.clone())
            got["main"] = arc.into_inner()
        winners = [name for name, value in got.items() if value is not None]
        assert len(winners) == 1, f"into_inner() gave the value to {winners}"
        assert got[winners[0]] is watch()
        takers.add(winners[0])
        got.clear()
        assert watch() is None

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert takers == {"main", "first", "second"}


def test_explored_upgrade_racing_the_last_drop_never_revives_the_value() -> None:
    outcomes: set[tuple[bool, bool]] = set()

    def program() -> None:
        arc = Arc(Payload())
        watch = weakref.ref(arc.value)
        weak = arc.downgrade()

        def upgrader(weak: Weak[Payload]) -> None:
            first = weak.upgrade()
            if first is not None:
                assert first.value is watch(), "upgraded to something else"
                first.drop()
            second = weak.upgrade()
            if first is None:
                assert second is None, "upgrade() revived a released value"
            if second is not None:
                second.drop()
            outcomes.add((first is not None, second is not None))
            weak.drop()

        with scope() as s:
            s.spawn(upgrader, weak.clone())
            arc.drop()
        assert watch() is None
        assert (weak.strong_count(), weak.weak_count()) == (0, 0)
        assert weak.upgrade() is None

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {(False, False), (True, False), (True, True)}


def test_explored_negative_control_drop_then_check_the_count_frees_twice() -> None:
    # "Whoever sees the count reach zero frees it", read after one's own drop: both
    # threads can see zero. Arc.into_inner() (above) is the atomic way.
    def program() -> None:
        arc = Arc(Payload())
        weak = arc.downgrade()
        frees = AtomicInt(0)

        def release(mine: Arc[Payload]) -> None:
            mine.drop()
            if weak.strong_count() == 0:
                frees.fetch_add(1)

        first, second = arc.clone(), arc.clone()
        arc.drop()
        with scope() as s:
            s.spawn(release, first)
            s.spawn(release, second)
        assert frees.load() == 1, f"freed {frees.load()} times"

    # strong_count() reads without taking the lock, so it is no switch point of its own;
    # line tracing adds one before every line, where a real thread can be preempted too.
    with pytest.raises(ScheduleFailure, match="freed 2 times"):
        explore(program, strategy="exhaustive", preemption_bound=2, trace=True)
