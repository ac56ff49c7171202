"""fearless.testing's linearizability checker: History, Operation, assert_linearizable."""

from __future__ import annotations

import threading
import time

import pytest

from _helpers import TIMEOUT, run_concurrently
from fearless import Mutex, scope
from fearless.atomic import AtomicInt
from fearless.testing import (
    History,
    NotLinearizable,
    Operation,
    ScheduleFailure,
    assert_linearizable,
    explore,
)


def register(value: int, op: Operation) -> tuple[object, int]:
    """A register: write(v) -> None, read() -> the value."""
    if op.name == "write":
        return None, op.args[0]
    return value, value


def counter(value: int, op: Operation) -> tuple[object, int]:
    """A counter whose increment returns the value before it."""
    return value, value + 1


#: An empty stack, typed for the model.
EMPTY: tuple[int, ...] = ()


def stack(items: tuple[int, ...], op: Operation) -> tuple[object, tuple[int, ...]]:
    """A stack: push(x) -> None; pop() -> the top, or IndexError when empty."""
    if op.name == "push":
        return None, (*items, op.args[0])
    if not items:
        return IndexError, items
    return items[-1], items[:-1]


def op(
    name: str, *args: object, thread: str = "A", span: tuple[int, int | None], **outcome: object
) -> Operation:
    begin, end = span
    return Operation(name, args, thread, begin, end, outcome.get("result"), outcome.get("raised"))  # type: ignore[arg-type]


# -- the checker ------------------------------------------------------------------------------


def test_overlapping_operations_may_take_effect_in_either_order() -> None:
    # B's read overlaps A's write: it may see the old value or the new one.
    for seen in (0, 1):
        history = [
            op("write", 1, span=(0, 3)),
            op("read", thread="B", span=(1, 2), result=seen),
        ]
        order = assert_linearizable(history, register, 0)
        assert [o.name for o in order] == (["read", "write"] if seen == 0 else ["write", "read"])


def test_an_operation_that_ended_before_another_began_comes_first() -> None:
    # Sequentially consistent (read first, then write) but not linearizable:
    # the write had ended before the read began.
    history = [op("write", 1, span=(0, 1)), op("read", thread="B", span=(2, 3), result=0)]
    with pytest.raises(NotLinearizable) as info:
        assert_linearizable(history, register, 0)
    error = info.value
    assert [o.name for o in error.longest] == ["write"]
    assert [o.name for o in error.stuck] == ["read"]
    assert error.operations == tuple(history)
    assert str(error).splitlines() == [
        "not linearizable: no order of the operations explains what they returned",
        "history (begin-end in one order of events):",
        "  [0-1] A: write(1) -> None",
        "  [2-3] B: read() -> 0",
        "the longest order the model agrees with:",
        "  [0-1] A: write(1) -> None",
        "after it, none of these returns what the model says:",
        "  [2-3] B: read() -> 0",
    ]


def test_a_result_no_order_gives_is_refused() -> None:
    history = [
        op("increment", span=(0, 3), result=0),
        op("increment", thread="B", span=(1, 2), result=0),  # both saw 0: a lost update
    ]
    with pytest.raises(NotLinearizable, match="not linearizable"):
        assert_linearizable(history, counter, 0)


def test_an_operation_that_never_ended_may_have_taken_effect_or_not() -> None:
    # A's push never ended (its thread stopped): B's pop may or may not see it.
    pending = op("push", 7, span=(0, None))
    for popped in (7, None):
        outcome = {"result": 7} if popped == 7 else {"raised": IndexError("pop from empty")}
        history = [pending, op("pop", thread="B", span=(1, 2), **outcome)]
        order = assert_linearizable(history, stack, EMPTY)
        assert [o.name for o in order] == (["push", "pop"] if popped == 7 else ["pop"])
    assert str(pending) == "[0-...] A: push(7) (never ended)"


def test_a_pending_operation_cannot_take_effect_before_it_began() -> None:
    history = [
        op("pop", span=(0, 1), result=7),
        op("push", 7, thread="B", span=(2, None)),
    ]
    with pytest.raises(NotLinearizable):
        assert_linearizable(history, stack, EMPTY)


def test_exceptions_match_by_class_or_by_type_and_args() -> None:
    raised = op("pop", span=(0, 1), raised=IndexError("empty"))
    assert assert_linearizable([raised], stack, EMPTY) == (raised,)

    def by_instance(items: tuple[int, ...], o: Operation) -> tuple[object, tuple[int, ...]]:
        return IndexError("empty"), items

    assert assert_linearizable([raised], by_instance, EMPTY) == (raised,)

    def other_args(items: tuple[int, ...], o: Operation) -> tuple[object, tuple[int, ...]]:
        return IndexError("no items"), items

    with pytest.raises(NotLinearizable):
        assert_linearizable([raised], other_args, EMPTY)
    # The model says it raises; it returned.
    returned = op("pop", span=(0, 1), result=None)
    with pytest.raises(NotLinearizable):
        assert_linearizable([returned], stack, EMPTY)
    # The model says it returns; it raised.
    one: tuple[int, ...] = (1,)
    with pytest.raises(NotLinearizable):
        assert_linearizable([raised], stack, one)


def test_an_unhashable_state_is_searched_without_the_memo() -> None:
    def list_stack(items: list[int], o: Operation) -> tuple[object, list[int]]:
        if o.name == "push":
            return None, [*items, o.args[0]]
        return (items[-1], items[:-1]) if items else (IndexError, items)

    history = [
        op("push", 1, span=(0, 3)),
        op("push", 2, thread="B", span=(1, 4)),
        op("pop", thread="C", span=(2, 5), result=1),
    ]
    nothing: list[int] = []
    order = assert_linearizable(history, list_stack, nothing)
    # The first order found, trying operations in the order they began.
    assert [(o.name, o.args) for o in order] == [("push", (1,)), ("pop", ()), ("push", (2,))]


def test_the_memo_keeps_a_wide_history_fast() -> None:
    # 16 increments all overlapping: 16! orders, but only 2**16 sets of placed
    # operations. A wrong result at the end makes the search try them all.
    history = [op("increment", thread=f"T{i}", span=(i, 100 + i), result=i) for i in range(16)]
    history.append(op("increment", thread="Z", span=(200, 201), result=99))
    start = time.monotonic()
    with pytest.raises(NotLinearizable):
        assert_linearizable(history, counter, 0)
    assert time.monotonic() - start < TIMEOUT


def test_bad_input_is_refused() -> None:
    with pytest.raises(TypeError, match="Operation objects"):
        assert_linearizable([("write", 1)], register, 0)  # type: ignore[list-item]
    history = History()
    with pytest.raises(TypeError, match="named by a string"):
        history.invoke(3)  # type: ignore[arg-type]
    call = history.invoke("read")
    with pytest.raises(TypeError, match="the exception the call raised"):
        call.raised("boom")  # type: ignore[arg-type]
    call.returned(0)
    with pytest.raises(RuntimeError, match=r"the end of read\(\) was recorded already"):
        call.returned(0)
    with pytest.raises(RuntimeError, match="recorded already"):
        call.raised(ValueError())


# -- the recorder ---------------------------------------------------------------------------


def test_record_calls_and_records_the_return_or_the_exception() -> None:
    history = History()
    assert history.record("add", lambda a, b: a + b, 2, 3) == 5

    def fail() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        history.record("fail", fail)
    pending = history.invoke("slow", 1)
    add, failed, slow = history.operations
    me = threading.current_thread().name
    assert add == Operation("add", (2, 3), me, 0, 1, 5, None)
    assert (failed.name, failed.begin, failed.end, failed.result) == ("fail", 2, 3, None)
    assert isinstance(failed.raised, KeyError)
    assert (slow.name, slow.args, slow.end, slow.ended) == ("slow", (1,), None, False)
    assert len(history) == 3 and repr(history) == "<History of 3 operations>"
    pending.raised(TimeoutError())
    assert isinstance(history.operations[2].raised, TimeoutError)


def test_threads_record_concurrently_without_losing_an_event() -> None:
    history = History()
    shared = AtomicInt(0)

    def work(_: int) -> None:
        for _ in range(200):
            history.record("increment", shared.fetch_add, 1)

    run_concurrently(work, 4)
    operations = history.operations
    assert len(operations) == 800
    events = sorted(
        [o.begin for o in operations] + [o.end for o in operations if o.end is not None]
    )
    assert events == list(range(1600))  # one order of events, none lost or repeated
    assert all(o.begin < o.end for o in operations if o.end is not None)

    def fetch_add(value: int, o: Operation) -> tuple[object, int]:
        return value, value + o.args[0]

    assert len(assert_linearizable(history, fetch_add, 0)) == 800


# -- under the explorer ---------------------------------------------------------------------


def mutex_increment(m: Mutex[int]) -> int:
    with m.lock() as guard:
        guard.value += 1
        return guard.value - 1


def test_recording_is_not_a_switch_point() -> None:
    def bare() -> None:
        m = Mutex(0)
        with scope() as s:
            s.spawn(mutex_increment, m)
            s.spawn(mutex_increment, m)

    def recorded() -> None:
        m, history = Mutex(0), History()
        with scope() as s:
            s.spawn(history.record, "increment", mutex_increment, m)
            s.spawn(history.record, "increment", mutex_increment, m)
        assert_linearizable(history, counter, 0)

    plain = explore(bare, strategy="exhaustive")
    checked = explore(recorded, strategy="exhaustive")
    assert plain.complete and checked.complete
    assert (checked.schedules, checked.longest) == (plain.schedules, plain.longest)


def test_explore_finds_a_history_that_is_not_linearizable() -> None:
    # An increment made of a load and a store: some schedule loses an update.
    def broken_increment(a: AtomicInt) -> int:
        seen = a.load()
        a.store(seen + 1)
        return seen

    def fetch_add(a: AtomicInt) -> int:
        return a.fetch_add(1)

    def program() -> None:
        a, history = AtomicInt(0), History()
        with scope() as s:
            s.spawn(history.record, "increment", broken_increment, a)
            s.spawn(history.record, "increment", fetch_add, a)
        assert_linearizable(history, counter, 0)

    with pytest.raises(ScheduleFailure, match="not linearizable") as info:
        explore(program, strategy="exhaustive")
    assert isinstance(info.value.__cause__, NotLinearizable)


def test_threads_that_share_a_name_are_told_apart() -> None:
    history = History()
    both = threading.Barrier(2)

    def work() -> None:
        both.wait(TIMEOUT)  # both alive at once: two identities
        history.record("noop", lambda: None)
        both.wait(TIMEOUT)

    threads = [threading.Thread(target=work, name="worker") for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive()
    assert sorted(o.thread for o in history.operations) == ["worker", "worker#2"]
