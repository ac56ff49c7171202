"""The compiled core (``fearless._native``) against the pure-Python reference.

What must hold whichever implementation runs: ``fearless.native`` tells the
truth, ``FEARLESS_PURE_PYTHON=1`` forces the reference, the explorer gets
the reference, and the compiled objects are indistinguishable from the
reference's to users -- types for ``isinstance``, reprs, messages, copy
refusal, weak references. The differential property test drives random
operation sequences through both implementations of each fixed-width atomic
and compares every result, every error and the final state.

Tests that need the core skip when it is not in use (a machine without a
compiler, or ``FEARLESS_PURE_PYTHON=1``); the test command sets
``FEARLESS_EXPECT_NATIVE=1``, which turns the first kind of skip into a
failure.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fearless
from _helpers import STRESS, TIMEOUT, reference, run_concurrently, run_python
from _native_helpers import (
    EXPECT_NATIVE,
    assert_copies_refused_alike,
    assert_memory_flat,
    made_under_explore,
    needs_core,
)
from fearless import (
    Condvar,
    ConsumedError,
    DeadlockError,
    GuardReleasedError,
    Mutex,
    MutexGuard,
    PoisonError,
    WouldBlockError,
    _compiled,
)
from fearless._atomic._integer import FIXED_WIDTH
from fearless.atomic import (
    AtomicBool,
    AtomicFloat,
    AtomicI8,
    AtomicI64,
    AtomicInt,
    AtomicRef,
    AtomicU8,
    AtomicU64,
    Ordering,
)

FIXED = list(FIXED_WIDTH)
#: Every atomic type with a compiled twin.
COMPILED_ATOMICS = [*FIXED, AtomicBool, AtomicFloat, AtomicInt, AtomicRef]


def test_native_tells_which_implementation_runs() -> None:
    assert fearless.native is _compiled.native
    assert fearless.native == (_compiled.core is not None)
    if EXPECT_NATIVE:
        assert fearless.native, "CI builds the compiled core: it should be in use"
    if _compiled.pure_requested:
        assert not fearless.native


def test_pure_python_is_forced_by_the_environment() -> None:
    proc = run_python(
        "import fearless\n"
        "from fearless.atomic import AtomicI64\n"
        "x = AtomicI64(1)\n"
        "print(fearless.native, type(x) is AtomicI64, hasattr(x, '_lock'))\n",
        FEARLESS_PURE_PYTHON="1",
    )
    assert proc.stdout.split() == ["False", "True", "True"], proc.stderr


# -- the compiled objects look like the reference's ---------------------------


@needs_core
@pytest.mark.parametrize("cls", COMPILED_ATOMICS, ids=lambda c: c.__name__)
def test_a_compiled_atomic_passes_for_its_public_type(cls: Any) -> None:
    one = {AtomicBool: True, AtomicFloat: 1.0}.get(cls, 1)
    x, ref = cls(one), reference(cls, one)
    assert type(x) is not cls and type(ref) is cls  # the compiled twin, and the reference
    assert isinstance(x, cls) and isinstance(ref, cls)
    assert issubclass(type(x), cls)
    assert not isinstance(x, AtomicI8 if cls is not AtomicI8 else AtomicU8)
    assert (type(x).__name__, type(x).__qualname__, type(x).__module__) == (
        cls.__name__,
        cls.__qualname__,
        "fearless.atomic",
    )
    if cls in FIXED:
        assert (type(x).BITS, type(x).MIN, type(x).MAX) == (cls.BITS, cls.MIN, cls.MAX)
    assert repr(x) == repr(ref) == f"{cls.__name__}({one!r})"
    public_ops = {name for name in dir(cls) if not name.startswith("_")}
    assert {name for name in dir(type(x)) if not name.startswith("_")} == public_ops
    assert weakref.ref(x)() is x
    assert_copies_refused_alike((x, ref))
    with pytest.raises(TypeError, match="has no truth value"):
        bool(x)


@needs_core
def test_compiled_hot_paths_call_no_python_function() -> None:
    x = AtomicI64(0)
    big, ref = AtomicInt(2**70), AtomicRef[object](None)
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: object) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    gc.disable()
    sys.setprofile(profile)
    try:
        x.fetch_add(1, Ordering.Relaxed)
        x.load()
        x.store(3)
        x.compare_exchange(3, 4)
        x.fetch_max(10)
        big.fetch_sub(2**70, Ordering.Relaxed)
        big.compare_exchange(0, 5)
        ref.swap(())
        ref.compare_exchange((), None, Ordering.AcqRel, Ordering.Acquire)
    finally:
        sys.setprofile(None)
        gc.enable()
    assert calls == []
    assert x.load() == 10 and big.load() == 5 and ref.load() is None


@needs_core
def test_the_explorer_gets_the_reference() -> None:
    made = made_under_explore(AtomicI64, lambda counter: counter.fetch_add(1))
    assert all(type(x) is AtomicI64 and x.load() == 2 for x in made)
    assert type(AtomicI64(0)) is not AtomicI64  # outside it, the core again


# -- the differential test -----------------------------------------------------

ORDERINGS = list(Ordering)


#: What AtomicRef's operations draw from: few, so that identities match often.
_REFS: list[object] = [None, (), "a", [1], {"k": 1}, object(), 0, 0.5]


def _values(cls: Any) -> st.SearchStrategy[Any]:
    """Mostly valid values, sometimes out of range, sometimes of no valid type at all."""
    if cls is AtomicBool:
        return st.one_of(st.booleans(), st.booleans(), st.sampled_from([0, 1, None, "True"]))
    if cls is AtomicRef:
        return st.sampled_from(_REFS)
    if cls is AtomicInt:
        odd = st.sampled_from([True, 1.5, "3", None, Fraction(2, 1), 10**400, -(2**70)])
        return st.one_of(st.integers(), st.integers(-3, 3), odd)
    if cls is AtomicFloat:
        special = st.sampled_from([0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 1e308])
        odd = st.sampled_from([1, -(2**70), 10**400, True, "1.5", None, Fraction(1, 3)])
        return st.one_of(st.floats(), st.floats(allow_nan=False), special, odd)
    in_range = st.integers(cls.MIN, cls.MAX)
    edges = st.sampled_from([cls.MIN, cls.MAX, 0, 1, -1, cls.MIN - 1, cls.MAX + 1])
    odd = st.sampled_from([True, 1.5, "3", None, 2**70])
    return st.one_of(in_range, in_range, edges, odd)


#: The one-operand operations of each kind of atomic.
_ONE_OPERAND = {
    "int": [
        *("fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor", "fetch_nand"),
        *("fetch_max", "fetch_min", "swap", "store"),
    ],
    "bool": ["fetch_and", "fetch_or", "fetch_xor", "fetch_nand", "swap", "store"],
    "float": ["fetch_add", "fetch_sub", "fetch_max", "fetch_min", "swap", "store"],
    "ref": ["swap", "store"],
}


def _ops(cls: Any) -> st.SearchStrategy[tuple[str, tuple[Any, ...]]]:
    value, order = _values(cls), st.sampled_from([*ORDERINGS, "SeqCst"])
    kind = {AtomicBool: "bool", AtomicFloat: "float", AtomicRef: "ref"}.get(cls, "int")
    ops = [
        st.tuples(st.just("load"), st.tuples(order)),
        st.tuples(st.sampled_from(_ONE_OPERAND[kind]), st.tuples(value, order)),
        st.tuples(
            st.sampled_from(["compare_exchange", "compare_exchange_weak"]),
            st.tuples(value, value, order, order),
        ),
        st.tuples(st.just("fetch_update"), st.tuples(value, order, order)),
    ]
    if kind == "bool":
        ops.append(st.tuples(st.just("fetch_not"), st.tuples(order)))
    return st.one_of(ops)


def _run(x: Any, name: str, args: tuple[Any, ...]) -> tuple[str, str]:
    """One operation's outcome: ("ok", repr(result)) or (exception type name, message).

    Reprs, so that a NaN compares equal to itself and -0.0 differs from 0.0.
    """
    if name == "fetch_update":
        target, set_order, fetch_order = args
        call: Callable[[], Any] = lambda: x.fetch_update(  # noqa: E731
            lambda v: None if repr(v) == repr(target) else target, set_order, fetch_order
        )
    else:
        call = lambda: getattr(x, name)(*args)  # noqa: E731
    try:
        result = call()
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", repr(result)


@needs_core
@pytest.mark.parametrize("cls", COMPILED_ATOMICS, ids=lambda c: c.__name__)
@settings(max_examples=100 * min(STRESS, 3), deadline=None)
@given(data=st.data())
def test_both_implementations_agree_on_every_operation(cls: Any, data: st.DataObject) -> None:
    start = data.draw(_values(cls), label="start")
    try:
        expected: Any = reference(cls, start)
    except Exception as exc:  # a bad value: the same error from both
        message = str(exc)
        with pytest.raises(type(exc)) as error:
            cls(start)
        assert str(error.value) == message
        return
    native = cls(start)
    assert type(native) is not cls
    assert repr(native) == repr(expected)
    for name, args in data.draw(st.lists(_ops(cls), max_size=20), label="ops"):
        assert _run(native, name, args) == _run(expected, name, args), (name, args)
        assert repr(native) == repr(expected)
    assert repr(native.load()) == repr(expected.load())


# -- wrapping, ranges and the widths the hardware gives -----------------------


@needs_core
@pytest.mark.parametrize("cls", FIXED, ids=lambda c: c.__name__)
def test_every_edge_wraps_as_the_reference(cls: Any) -> None:
    edges = [cls.MIN, cls.MIN + 1, -1 if cls.MIN < 0 else 1, 0, cls.MAX - 1, cls.MAX]
    for start in edges:
        for val in edges:
            for op in ("fetch_add", "fetch_sub", "fetch_nand", "fetch_max", "fetch_min"):
                x, ref = cls(start), reference(cls, start)
                assert getattr(x, op)(val) == getattr(ref, op)(val)
                assert x.load() == ref.load(), (op, start, val)


# -- concurrency and memory ----------------------------------------------------


@needs_core
@pytest.mark.stress
def test_compiled_fetch_add_counts_every_increment() -> None:
    threads, per_thread = 4, 20_000 * STRESS
    counter = AtomicI64(0)
    narrow = AtomicU8(0)

    def work(index: int) -> None:
        for _ in range(per_thread):
            counter.fetch_add(1, Ordering.Relaxed)
            narrow.fetch_add(1, Ordering.Relaxed)

    run_concurrently(work, threads)
    assert counter.load() == threads * per_thread
    assert narrow.load() == threads * per_thread % 256


@needs_core
@pytest.mark.stress
def test_compiled_compare_exchange_loops_lose_no_update() -> None:
    threads, per_thread = 4, 5_000 * STRESS
    total = AtomicU64(0)

    def work(index: int) -> None:
        for _ in range(per_thread):
            while True:
                current = total.load(Ordering.Relaxed)
                if total.compare_exchange_weak(
                    current, current + 3, Ordering.AcqRel, Ordering.Relaxed
                ).ok:
                    break

    run_concurrently(work, threads)
    assert total.load() == 3 * threads * per_thread


@needs_core
def test_a_million_compiled_operations_leave_memory_flat() -> None:
    x = AtomicI64(0)

    def cycle() -> None:
        x.fetch_add(1, Ordering.Relaxed)
        x.compare_exchange(0, 1)
        AtomicI64(5)

    assert_memory_flat(cycle)
    assert x.load() == 1_010_000


@needs_core
def test_a_million_object_atomic_operations_leave_memory_flat() -> None:
    big = AtomicInt(2**80)
    ref = AtomicRef[object](None)

    def cycle() -> None:
        big.fetch_add(1)
        big.compare_exchange(0, 1)
        old = ref.swap([])  # a new list each time: the old one must be let go
        ref.compare_exchange(old, ())
        AtomicRef(old)

    assert_memory_flat(cycle)
    assert big.load() == 2**80 + 1_010_000


@needs_core
@pytest.mark.stress
def test_compiled_atomic_int_counts_every_increment_past_any_width() -> None:
    threads, per_thread = 4, 10_000 * STRESS
    counter = AtomicInt(2**64)  # past every hardware word from the start

    def work(index: int) -> None:
        for _ in range(per_thread):
            counter.fetch_add(1, Ordering.Relaxed)
            counter.fetch_max(2**64, Ordering.AcqRel)

    run_concurrently(work, threads)
    assert counter.load() == 2**64 + threads * per_thread


@needs_core
@pytest.mark.stress
def test_compiled_atomic_ref_pushes_lose_no_node() -> None:
    # A Treiber stack: every push is a compare-exchange loop on the head,
    # by identity; the objects the losers read must stay alive and valid.
    threads, per_thread = 4, 5_000 * STRESS
    head = AtomicRef[Any](None)

    def work(index: int) -> None:
        for i in range(per_thread):
            node = (index, i, head.load(Ordering.Acquire))
            while not (result := head.compare_exchange_weak(node[2], node, Ordering.Release)).ok:
                node = (index, i, result.value)

    run_concurrently(work, threads)
    seen: dict[int, list[int]] = {t: [] for t in range(threads)}
    node = head.load()
    while node is not None:
        seen[node[0]].append(node[1])
        node = node[2]
    assert all(seen[t] == list(range(per_thread - 1, -1, -1)) for t in range(threads))


# -- Mutex -------------------------------------------------------------------------


@needs_core
def test_a_compiled_mutex_and_guard_pass_for_the_public_types() -> None:
    m: Any = Mutex([1])
    ref = reference(Mutex, [1])
    assert type(m) is not Mutex and type(ref) is Mutex
    assert isinstance(m, Mutex) and issubclass(type(m), Mutex)
    assert (type(m).__name__, type(m).__module__) == ("Mutex", "fearless")
    assert repr(m) == repr(ref) == "Mutex([1])"
    typed: Mutex[int] = Mutex[int](0)
    assert isinstance(typed, Mutex)
    with typed.lock() as typed_guard:
        assert typed_guard.value == 0
    guard: Any = m.lock()
    assert isinstance(guard, MutexGuard) and type(guard).__name__ == "MutexGuard"
    assert repr(guard) == "<MutexGuard value=[1]>"
    with pytest.raises(TypeError, match="no public constructor"):
        type(guard)()
    reference_guard = ref.lock()
    assert_copies_refused_alike((m, ref), (guard, reference_guard))
    reference_guard.unlock()
    guard.unlock()
    assert repr(guard) == "<MutexGuard (released)>"
    assert weakref.ref(m)() is m


def _mutex_ops() -> st.SearchStrategy[list[tuple[str, Any]]]:
    op = st.sampled_from(
        [
            "lock",
            "lock_timeout",
            "try_lock",
            "unlock",
            "exit_ok",
            "exit_failing",
            "get",
            "set",
            "enter",
            "into_inner",
            "clear_poison",
            "is_poisoned",
            "recover",
            "statistics",
            "repr",
            "drop_guard",
        ]
    )
    return st.lists(st.tuples(op, st.integers(0, 9)), max_size=25)


def _take(m: Any, guards: list[Any], op: str) -> Any:
    if op == "try_lock":
        g = m.try_lock()
    elif op == "lock_timeout":
        g = m.lock(timeout=0)
    elif op == "recover":
        try:
            m.lock(timeout=0)
        except PoisonError as error:
            g = error.into_inner()
        else:
            return "not poisoned"
    else:
        g = m.lock()
    guards.append(g)
    return repr(g)


def _set(g: Any, n: int) -> str:
    g.value = n
    return repr(g)


def _drop(guards: list[Any], g: Any) -> str:
    guards.remove(g)
    return "dropped"


#: The steps on a mutex, and on one of its guards (None: no guard taken yet).
_ON_MUTEX: dict[str, Callable[[Any], Any]] = {
    "into_inner": lambda m: m.into_inner(),
    "clear_poison": lambda m: m.clear_poison(),
    "is_poisoned": lambda m: m.is_poisoned(),
    "statistics": lambda m: tuple(m.statistics())[:1] + tuple(m.statistics())[2:],
    "repr": repr,
}
_ON_GUARD: dict[str, Callable[[Any, int], Any]] = {
    "unlock": lambda g, n: g.unlock(),
    "exit_ok": lambda g, n: g.__exit__(None, None, None),
    "exit_failing": lambda g, n: g.__exit__(RuntimeError, RuntimeError("x"), None),
    "get": lambda g, n: g.value,
    "set": _set,
    "enter": lambda g, n: repr(g.__enter__()),
}


def _mutex_step(m: Any, guards: list[Any], op: str, n: int) -> tuple[str, Any]:
    """One step on ``m`` and its live guards; its outcome, comparable across implementations."""
    errors = (ConsumedError, DeadlockError, GuardReleasedError, PoisonError, WouldBlockError)
    try:
        if op in ("lock", "lock_timeout", "try_lock", "recover"):
            return "ok", _take(m, guards, op)
        if op in _ON_MUTEX:
            return "ok", _ON_MUTEX[op](m)
        if not guards:
            return "no guard", None
        g = guards[n % len(guards)]
        if op == "drop_guard":
            return "ok", _drop(guards, g)
        return "ok", _ON_GUARD[op](g, n)
    except (*errors, TimeoutError) as exc:
        return type(exc).__name__, str(exc)


@needs_core
@settings(max_examples=200 * min(STRESS, 3), deadline=None)
@given(ops=_mutex_ops(), poison=st.booleans())
def test_both_mutexes_agree_on_every_operation(ops: list[tuple[str, int]], poison: bool) -> None:
    native: Any = Mutex(0, poison=poison)
    expected = reference(Mutex, 0, poison=poison)
    assert type(native) is not Mutex
    native_guards: list[Any] = []
    expected_guards: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # dropped guards warn, both alike
        for op, n in ops:
            got = _mutex_step(native, native_guards, op, n)
            want = _mutex_step(expected, expected_guards, op, n)
            assert got == want, (op, n)
            assert repr(native) == repr(expected)
        for g in native_guards + expected_guards:
            try:
                g.unlock()
            except GuardReleasedError:
                pass


@needs_core
def test_a_compiled_mutex_works_with_condvar() -> None:
    m: Any = Mutex(0)
    cv = Condvar()
    assert type(m) is not Mutex
    ready = threading.Event()

    def produce() -> None:
        assert ready.wait(TIMEOUT)
        with m.lock() as g:
            g.value = 1
            cv.notify_all()

    t = threading.Thread(target=produce)
    t.start()
    with m.lock() as g:
        ready.set()
        assert cv.wait_while(g, lambda v: v == 0, timeout=TIMEOUT) is False
        assert g.value == 1
    t.join(TIMEOUT)
    assert m.statistics().locked is False


@needs_core
@pytest.mark.stress
def test_a_compiled_mutex_loses_no_update_under_contention() -> None:
    threads, per_thread = 4, 10_000 * STRESS
    m = Mutex(0)

    def work(index: int) -> None:
        for i in range(per_thread):
            with m.lock(**({"timeout": TIMEOUT} if i % 7 == 0 else {})) as g:
                g.value += 1

    run_concurrently(work, threads)
    assert m.into_inner() == threads * per_thread


@needs_core
@pytest.mark.stress
def test_a_guard_used_from_another_thread_is_memory_safe() -> None:
    # A guard is this thread's (Rust's are not Send), but Python lets another
    # thread reach it: reading and replacing its value there must never free
    # a value under a reader (free-threaded build: the core reads and writes
    # the value inside the mutex object's critical section).
    m = Mutex([0])
    guard = m.lock()
    rounds = 20_000 * STRESS

    def work(index: int) -> int:
        seen = 0
        for i in range(rounds):
            if index == 0:
                guard.value = [i]
            else:
                seen += len(guard.value)
        return seen

    results = run_concurrently(work, 2)
    assert results[1] == rounds  # every read saw a whole list
    guard.unlock()
    assert m.into_inner() == [rounds - 1]


@needs_core
def test_a_million_compiled_lock_cycles_leave_memory_flat() -> None:
    m = Mutex(0)

    def cycle() -> None:
        with m.lock() as g:
            g.value += 1

    assert_memory_flat(cycle)
    m.try_lock().unlock()
    assert m.into_inner() == 1_010_000


@needs_core
def test_the_explorer_gets_the_reference_mutex() -> None:
    def use(m: Any) -> None:
        with m.lock() as g:
            g.value += 1

    made = made_under_explore(lambda: Mutex(0), use)
    assert all(type(m) is Mutex and m.into_inner() == 2 for m in made)
