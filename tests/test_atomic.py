"""Contract tests for fearless.atomic (DESIGN.md, "Atomics")."""

from __future__ import annotations

import _thread
import copy
import decimal
import fractions
import inspect
import itertools
import math
import os
import pickle
import random
import re
import struct
import subprocess
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fearless.atomic
from _helpers import (
    STRESS,
    TIMEOUT,
    WithStatement,
    Worker,
    reference,
    run_concurrently,
    run_python,
)
from fearless import _seam, scope
from fearless._atomic import _AtomicInteger, _describe
from fearless._runtime import free_threaded_build
from fearless.atomic import (
    AtomicBool,
    AtomicFloat,
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicInt,
    AtomicIsize,
    AtomicRef,
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
    CompareExchangeResult,
    Ordering,
    fence,
)
from fearless.testing import History, Operation, ScheduleFailure, assert_linearizable, explore

Relaxed, Release, Acquire, AcqRel, SeqCst = (
    Ordering.Relaxed,
    Ordering.Release,
    Ordering.Acquire,
    Ordering.AcqRel,
    Ordering.SeqCst,
)
ALL_ORDERINGS = [Relaxed, Release, Acquire, AcqRel, SeqCst]
LOAD_ORDERINGS = [Relaxed, Acquire, SeqCst]
STORE_ORDERINGS = [Relaxed, Release, SeqCst]

SIGNED: list[type[Any]] = [AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize]
UNSIGNED: list[type[Any]] = [AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize]
FIXED = SIGNED + UNSIGNED
INTEGERS: list[type[Any]] = [AtomicInt, *FIXED]
POINTER_BITS = struct.calcsize("P") * 8

INT_OPS = [
    "fetch_add",
    "fetch_sub",
    "fetch_and",
    "fetch_or",
    "fetch_xor",
    "fetch_nand",
    "fetch_max",
    "fetch_min",
]


def exact(message: str) -> str:
    """A ``match=`` pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


USE_LOAD = "use Ordering.Acquire, Ordering.Relaxed or Ordering.SeqCst"
USE_STORE = "use Ordering.Release, Ordering.Relaxed or Ordering.SeqCst"
MSG_RELEASE_LOAD = exact(f"there is no such thing as a release load; {USE_LOAD}")
MSG_ACQREL_LOAD = exact(f"there is no such thing as an acquire-release load; {USE_LOAD}")
MSG_ACQUIRE_STORE = exact(f"there is no such thing as an acquire store; {USE_STORE}")
MSG_ACQREL_STORE = exact(f"there is no such thing as an acquire-release store; {USE_STORE}")
MSG_FAILURE = {
    Release: exact(f"there is no such thing as a release failure ordering; {USE_LOAD}"),
    AcqRel: exact(f"there is no such thing as an acquire-release failure ordering; {USE_LOAD}"),
}
MSG_FETCH_ORDER = {
    Release: exact(
        "there is no such thing as a release failure ordering "
        f"(fetch_order is fetch_update's failure ordering); {USE_LOAD}"
    ),
    AcqRel: exact(
        "there is no such thing as an acquire-release failure ordering "
        f"(fetch_order is fetch_update's failure ordering); {USE_LOAD}"
    ),
}
MSG_RELAXED_FENCE = exact(
    "there is no such thing as a relaxed fence; "
    "use Ordering.Acquire, Ordering.Release, Ordering.AcqRel or Ordering.SeqCst"
)


def msg_not_an_ordering(param: str, got: str, hint: str = "") -> str:
    return exact(f"{param} must be an Ordering such as Ordering.SeqCst, got {got}{hint}")


def msg_range(cls: type[Any], value: int) -> str:
    return exact(f"{cls.__name__} holds integers from {cls.MIN} to {cls.MAX}; got {value}")


def rust_wrap(value: int, bits: int, signed: bool) -> int:
    """Rust's ``as`` conversion of an integer to a ``bits``-wide type.

    Independent of the implementation: truncate to the low bytes, then read
    them back as two's complement.
    """
    raw = (value & ((1 << bits) - 1)).to_bytes(bits // 8, "little")
    return int.from_bytes(raw, "little", signed=signed)


# -- one sample per atomic type, for the tests that cover all of them ----------


class Sample:
    """How to build one atomic type and two distinct valid values for it."""

    def __init__(self, cls: type[Any], a: Any, b: Any, rmw: list[str]) -> None:
        self.cls, self.a, self.b, self.rmw = cls, a, b, rmw

    def __repr__(self) -> str:
        return self.cls.__name__

    def make(self) -> Any:
        return self.cls(self.a)


REF_A, REF_B = ("a",), ("b",)
SAMPLES = [
    *[Sample(cls, 1, 2, INT_OPS) for cls in INTEGERS],
    Sample(AtomicBool, False, True, ["fetch_and", "fetch_or", "fetch_xor", "fetch_nand"]),
    Sample(AtomicRef, REF_A, REF_B, []),
    Sample(AtomicFloat, 1.0, 2.0, ["fetch_add", "fetch_sub", "fetch_max", "fetch_min"]),
]
RMW_CASES = [(s, op) for s in SAMPLES for op in s.rmw]


def calling(x: Any, op: str, *args: Any) -> Callable[[], object]:
    """``lambda: getattr(x, op)(*args)``, bound now (not in a loop's closure)."""
    return lambda: getattr(x, op)(*args)


def rmw_id(case: tuple[Sample, str]) -> str:
    return f"{case[0]!r}.{case[1]}"


# -- the public module --------------------------------------------------------


def public_objects() -> list[tuple[str, object]]:
    return [(name, getattr(fearless.atomic, name)) for name in fearless.atomic.__all__]


def test_all_is_complete_and_free_of_duplicates() -> None:
    exported = fearless.atomic.__all__
    assert isinstance(exported, tuple)
    assert len(set(exported)) == len(exported)
    defined = {
        name
        for name, obj in vars(fearless.atomic).items()
        if not name.startswith("_") and not isinstance(obj, types.ModuleType)
    }
    assert defined == set(exported)
    design = {"Ordering", "AtomicBool", "AtomicInt", "AtomicRef", "AtomicFloat", "fence"}
    design |= {f"AtomicI{n}" for n in (8, 16, 32, 64)} | {f"AtomicU{n}" for n in (8, 16, 32, 64)}
    design |= {"AtomicIsize", "AtomicUsize"}
    assert set(exported) >= design


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_public_names_live_in_fearless_atomic(name: str, obj: object) -> None:
    assert getattr(obj, "__module__", None) == "fearless.atomic"
    assert getattr(obj, "__qualname__", None) == name
    if isinstance(obj, type):
        assert obj.__name__ == name
        for attr, value in vars(obj).items():
            if isinstance(value, types.FunctionType) and value.__module__.startswith("fearless"):
                assert value.__module__ == "fearless.atomic", attr
                assert value.__qualname__ == f"{name}.{attr}"


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_public_names_are_documented_with_an_example(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert ">>>" in doc, f"{name}'s docstring has no doctested example"
    assert "Example:" in doc or name == "Ordering", f"{name} has no Example: section"


@pytest.mark.parametrize(
    ("name", "cls"), [(n, o) for n, o in public_objects() if isinstance(o, type)]
)
def test_public_methods_are_documented_with_an_example(name: str, cls: type) -> None:
    for attr in dir(cls):
        if attr.startswith("_") or attr in ("count", "index", "name", "value", "ok"):
            continue  # tuple/enum machinery
        value = getattr(cls, attr)
        if not callable(value) or isinstance(value, (type, Ordering)):
            continue
        doc = inspect.getdoc(value)
        assert doc, f"{name}.{attr} has no docstring"
        assert ">>>" in doc, f"{name}.{attr}'s docstring has no example"


@pytest.mark.parametrize("cls", INTEGERS, ids=lambda c: c.__name__)
def test_integer_methods_match_their_documented_signatures(cls: type[Any]) -> None:
    # Each integer type gets its own compiled methods; they must agree with
    # the documented, type-checked declarations of _AtomicInteger.
    for name, declared in vars(_AtomicInteger).items():
        if name.startswith("_") or not callable(declared):
            continue
        impl = vars(cls)[name]
        assert impl is not declared
        want = list(inspect.signature(declared).parameters.values())[1:]
        got = list(inspect.signature(impl).parameters.values())[1:]
        assert got == want, name
        assert inspect.signature(impl).return_annotation == (
            inspect.signature(declared).return_annotation
        )
        assert inspect.getdoc(getattr(cls, name)) == inspect.getdoc(declared)


def test_importing_fearless_keeps_the_gil_off_on_free_threaded_builds() -> None:
    if not free_threaded_build():
        pytest.skip("the GIL is always on in this build; nothing can re-enable it")
    code = "import sys, fearless, fearless.atomic; print(sys._is_gil_enabled())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}  # no forcing either way
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "False", out.stderr


# -- Ordering ----------------------------------------------------------------


def test_ordering_has_rusts_five_members_with_their_cxx_names() -> None:
    assert [(o.name, o.value) for o in Ordering] == [
        ("Relaxed", "memory_order_relaxed"),
        ("Release", "memory_order_release"),
        ("Acquire", "memory_order_acquire"),
        ("AcqRel", "memory_order_acq_rel"),
        ("SeqCst", "memory_order_seq_cst"),
    ]
    assert Ordering["SeqCst"] is SeqCst
    assert Ordering("memory_order_acquire") is Acquire


def test_ordering_repr_hash_and_pickle() -> None:
    assert repr(Ordering.AcqRel) == "Ordering.AcqRel"
    assert str(Ordering.AcqRel) == "Ordering.AcqRel"
    assert len({*Ordering, *Ordering}) == 5
    assert hash(SeqCst) == object.__hash__(SeqCst)
    for order in Ordering:
        assert pickle.loads(pickle.dumps(order)) is order


# -- ordering validation, for every type -------------------------------------


LOAD_REJECTS = [(Release, MSG_RELEASE_LOAD), (AcqRel, MSG_ACQREL_LOAD)]
STORE_REJECTS = [(Acquire, MSG_ACQUIRE_STORE), (AcqRel, MSG_ACQREL_STORE)]


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_load_orderings(sample: Sample) -> None:
    x = sample.make()
    for order, pattern in LOAD_REJECTS:
        with pytest.raises(ValueError, match=pattern):
            x.load(order)
        with pytest.raises(ValueError, match=pattern):
            x.load(order=order)
    for order in LOAD_ORDERINGS:
        assert x.load(order) == sample.a
        assert x.load(order=order) == sample.a
    assert x.load() == sample.a


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_store_orderings(sample: Sample) -> None:
    x = sample.make()
    for order, pattern in STORE_REJECTS:
        with pytest.raises(ValueError, match=pattern):
            x.store(sample.b, order)
        with pytest.raises(ValueError, match=pattern):
            x.store(sample.b, order=order)
        assert x.load() == sample.a  # nothing was stored
    for order in STORE_ORDERINGS:
        x.store(sample.b, order)
        assert x.load() == sample.b
        x.store(sample.a, order=order)
        assert x.load() == sample.a
    x.store(sample.b)
    assert x.load() == sample.b


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_swap_accepts_every_ordering(sample: Sample) -> None:
    x = sample.make()
    for order in ALL_ORDERINGS:
        assert x.swap(sample.b, order) == sample.a
        assert x.swap(sample.a, order=order) == sample.b
    assert x.swap(sample.b) == sample.a
    assert x.load() == sample.b


@pytest.mark.parametrize("case", RMW_CASES, ids=rmw_id)
def test_read_modify_writes_accept_every_ordering(case: tuple[Sample, str]) -> None:
    sample, op = case
    for order in ALL_ORDERINGS:
        x = sample.make()
        assert getattr(x, op)(sample.b, order) == sample.a
        getattr(x, op)(sample.b, order=order)
        getattr(x, op)(sample.b)


def test_fetch_not_accepts_every_ordering() -> None:
    x = AtomicBool(False)
    for order in ALL_ORDERINGS:
        assert x.fetch_not(order) is False
        assert x.fetch_not(order=order) is True
    assert x.fetch_not() is False
    assert x.load() is True


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
@pytest.mark.parametrize("method", ["compare_exchange", "compare_exchange_weak"])
def test_compare_exchange_orderings(sample: Sample, method: str) -> None:
    # Any success ordering; a failure ordering that is a valid load ordering.
    for success in ALL_ORDERINGS:
        for failure in ALL_ORDERINGS:
            x = sample.make()
            cas = getattr(x, method)
            if failure in (Release, AcqRel):
                with pytest.raises(ValueError, match=MSG_FAILURE[failure]):
                    cas(sample.a, sample.b, success, failure)
                with pytest.raises(ValueError, match=MSG_FAILURE[failure]):
                    cas(sample.a, sample.b, success=success, failure=failure)
                assert x.load() == sample.a  # nothing was stored
                continue
            assert cas(sample.a, sample.b, success, failure) == (True, sample.a)
            assert cas(sample.a, sample.b, success=success, failure=failure) == (False, sample.b)
            assert cas(current=sample.b, new=sample.a) == (True, sample.b)


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_fetch_update_orderings(sample: Sample) -> None:
    for set_order, fetch_order in itertools.product(ALL_ORDERINGS, ALL_ORDERINGS):
        x = sample.make()
        calls: list[object] = []

        def f(value: object, calls: list[object] = calls) -> object:
            calls.append(value)
            return sample.b

        if fetch_order in (Release, AcqRel):
            with pytest.raises(ValueError, match=MSG_FETCH_ORDER[fetch_order]):
                x.fetch_update(f, set_order, fetch_order)
            with pytest.raises(ValueError, match=MSG_FETCH_ORDER[fetch_order]):
                x.fetch_update(f, set_order=set_order, fetch_order=fetch_order)
            assert calls == []  # rejected before f ran, as Rust's load panics first
            assert x.load() == sample.a
            continue
        assert x.fetch_update(f, set_order, fetch_order) == (True, sample.a)
        assert x.fetch_update(f, set_order=set_order, fetch_order=fetch_order) == (True, sample.b)
        assert calls == [sample.a, sample.b]


def test_fence_accepts_all_but_relaxed() -> None:
    for order in (Release, Acquire, AcqRel, SeqCst):
        fence(order)
        fence(order=order)
    fence()


def test_fence_rejects_relaxed() -> None:
    with pytest.raises(ValueError, match=MSG_RELAXED_FENCE):
        fence(Relaxed)


NOT_ORDERINGS = [
    ("SeqCst", "str 'SeqCst'", "; use Ordering.SeqCst"),
    ("memory_order_relaxed", "str 'memory_order_relaxed'", ""),
    (4, "int 4", ""),
    (None, "NoneType None", ""),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_a_non_ordering_is_a_type_error(sample: Sample) -> None:
    for bad, got, hint in NOT_ORDERINGS:
        check_not_an_ordering(sample, bad, got, hint)


def check_not_an_ordering(sample: Sample, bad: Any, got: str, hint: str) -> None:
    x = sample.make()
    a, b = sample.a, sample.b
    calls: list[tuple[str, Callable[[], object]]] = [
        ("order", lambda: x.load(bad)),
        ("order", lambda: x.store(b, bad)),
        ("order", lambda: x.swap(b, bad)),
        ("success", lambda: x.compare_exchange(a, b, bad)),
        ("failure", lambda: x.compare_exchange(a, b, SeqCst, bad)),
        ("success", lambda: x.compare_exchange_weak(a, b, success=bad)),
        ("failure", lambda: x.compare_exchange_weak(a, b, failure=bad)),
        ("set_order", lambda: x.fetch_update(lambda v: b, bad)),
        ("fetch_order", lambda: x.fetch_update(lambda v: b, SeqCst, bad)),
    ]
    calls += [("order", calling(x, op, b, bad)) for op in sample.rmw]
    for param, call in calls:
        with pytest.raises(TypeError, match=msg_not_an_ordering(param, got, hint)):
            call()
    assert x.load() == a  # nothing was stored


def test_fence_and_fetch_not_reject_non_orderings() -> None:
    with pytest.raises(
        TypeError, match=msg_not_an_ordering("order", "str 'SeqCst'", "; use Ordering.SeqCst")
    ):
        fence("SeqCst")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=msg_not_an_ordering("order", "int 0")):
        AtomicBool().fetch_not(0)  # type: ignore[arg-type]


_ORDER_PARAMS = ("order", "success", "failure", "set_order", "fetch_order")


def _every_atomic_type() -> list[type[Any]]:
    return [
        getattr(fearless.atomic, name)
        for name in fearless.atomic.__all__
        if name.startswith("Atomic") and isinstance(getattr(fearless.atomic, name), type)
    ]


def _sample(cls: type[Any]) -> Any:
    return {"AtomicBool": True, "AtomicFloat": 1.0, "AtomicRef": "x"}.get(cls.__name__, 1)


def _ordering_calls() -> list[tuple[type[Any], str, str]]:
    calls = []
    for cls in _every_atomic_type():
        for name in dir(cls):
            if name.startswith("_"):
                continue
            try:
                params = inspect.signature(getattr(cls, name)).parameters
            except (TypeError, ValueError):
                continue
            calls += [(cls, name, p) for p in params if p in _ORDER_PARAMS]
    return calls


@pytest.mark.parametrize("bad", [[], {}], ids=["list", "dict"])
@pytest.mark.parametrize(
    ("cls", "method", "param"),
    _ordering_calls(),
    ids=lambda x: getattr(x, "__name__", x),
)
def test_an_unhashable_ordering_names_the_parameter_everywhere(
    cls: type[Any], method: str, param: str, bad: object
) -> None:
    # The hot path's one set lookup hashes the ordering; an unhashable one
    # fails there, and the slow path turns that into the usual clear error.
    atomic = cls(_sample(cls))
    args: dict[str, Any] = {}
    for name in inspect.signature(getattr(cls, method)).parameters:
        if name in ("val", "current", "new"):
            args[name] = _sample(cls)
        elif name == "f":
            args[name] = lambda v: v
    args[param] = bad
    with pytest.raises(TypeError, match=msg_not_an_ordering(param, _describe(bad))) as info:
        getattr(atomic, method)(**args)
    assert info.value.__suppress_context__
    assert atomic.load() == _sample(cls)  # untouched


def test_an_unhashable_ordering_in_fence_names_the_parameter() -> None:
    with pytest.raises(TypeError, match=msg_not_an_ordering("order", "list []")):
        fence([])  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", _every_atomic_type(), ids=lambda c: c.__name__)
def test_atomics_refuse_copy_deepcopy_and_pickle_saying_what_to_do(cls: type[Any]) -> None:
    atomic = cls(_sample(cls))
    for verb, copier in (("copy", copy.copy), ("copy", copy.deepcopy), ("pickle", pickle.dumps)):
        with pytest.raises(
            TypeError,
            match=rf"^cannot {verb} a fearless\.atomic\.{cls.__name__}: .*"
            r"share the atomic itself, or make a new one from \.load\(\)$",
        ):
            copier(atomic)
    assert atomic.load() == _sample(cls)


# -- integers: values, ranges and wrapping --------------------------------------


@pytest.mark.parametrize("cls", FIXED, ids=lambda c: c.__name__)
def test_fixed_width_ranges(cls: type[Any]) -> None:
    bits = POINTER_BITS if cls in (AtomicIsize, AtomicUsize) else int(cls.__name__[7:])
    assert bits == cls.BITS
    if cls in SIGNED:
        assert (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) == (cls.MIN, cls.MAX)
    else:
        assert (0, 2**bits - 1) == (cls.MIN, cls.MAX)
    assert cls().load() == 0
    assert cls(cls.MIN).load() == cls.MIN
    assert cls(cls.MAX).load() == cls.MAX


@pytest.mark.parametrize("cls", FIXED, ids=lambda c: c.__name__)
@pytest.mark.parametrize("edge", ["below", "above"])
def test_out_of_range_values_are_overflow_errors(cls: type[Any], edge: str) -> None:
    bad = cls.MIN - 1 if edge == "below" else cls.MAX + 1
    good = cls.MAX if edge == "below" else cls.MIN
    pattern = msg_range(cls, bad)
    with pytest.raises(OverflowError, match=pattern):
        cls(bad)
    x = cls(good)
    calls: list[Callable[[], object]] = [
        lambda: x.store(bad),
        lambda: x.swap(bad),
        lambda: x.compare_exchange(bad, good),
        lambda: x.compare_exchange(good, bad),
        lambda: x.compare_exchange_weak(good, bad),
        lambda: x.fetch_update(lambda v: bad),
    ]
    calls += [calling(x, op, bad) for op in INT_OPS]
    for call in calls:
        with pytest.raises(OverflowError, match=pattern):
            call()
        assert x.load() == good  # nothing was stored


def test_overflow_message_for_a_huge_integer() -> None:
    with pytest.raises(
        OverflowError,
        match=exact("AtomicU8 holds integers from 0 to 255; got an integer of 16610 bits"),
    ):
        AtomicU8(10**5000)  # more digits than int -> str converts


@pytest.mark.parametrize("cls", INTEGERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("bad", "got"),
    [
        (1.0, "float 1.0"),
        ("1", "str '1'"),
        (None, "NoneType None"),
        (decimal.Decimal(1), "Decimal Decimal('1')"),
    ],
)
def test_non_integers_are_type_errors(cls: type[Any], bad: object, got: str) -> None:
    pattern = exact(f"{cls.__name__} holds integers; got {got}")
    with pytest.raises(TypeError, match=pattern):
        cls(bad)
    x = cls(3)
    calls: list[Callable[[], object]] = [
        lambda: x.store(bad),
        lambda: x.swap(bad),
        lambda: x.compare_exchange(bad, 1),
        lambda: x.compare_exchange(3, bad),
    ]
    if bad is not None:  # from fetch_update's f, None means "give up"
        calls.append(lambda: x.fetch_update(lambda v: bad))
    calls += [calling(x, op, bad) for op in INT_OPS]
    for call in calls:
        with pytest.raises(TypeError, match=pattern):
            call()
        assert x.load() == 3


class Index:
    """An ``__index__`` type (like NumPy's integers)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


@pytest.mark.parametrize("cls", INTEGERS, ids=lambda c: c.__name__)
def test_bool_and_index_types_are_converted_to_int(cls: type[Any]) -> None:
    x = cls(True)
    assert type(x.load()) is int and x.load() == 1
    assert x.fetch_add(Index(2)) == 1
    x.store(Index(7))
    assert type(x.load()) is int and x.load() == 7
    assert x.compare_exchange(Index(7), True) == (True, 7)
    assert type(x.load()) is int


def test_operand_conversion_runs_outside_the_lock() -> None:
    # __index__ is user code: it may use the very atomic it is an operand of.
    x = AtomicI64(5)

    class Twice:
        def __index__(self) -> int:
            return x.load() * 2

    def work() -> int:
        return x.fetch_add(Twice())  # type: ignore[arg-type]

    assert Worker(work).join() == 5
    assert x.load() == 15


@pytest.mark.parametrize("cls", FIXED, ids=lambda c: c.__name__)
def test_wrapping_at_the_boundaries(cls: type[Any]) -> None:
    lo, hi = cls.MIN, cls.MAX
    x = cls(hi)
    assert x.fetch_add(1) == hi
    assert x.load() == lo  # MAX + 1 wraps to MIN
    assert x.fetch_sub(1) == lo
    assert x.load() == hi  # MIN - 1 wraps to MAX
    x.fetch_add(hi)
    assert x.load() == rust_wrap(2 * hi, cls.BITS, cls in SIGNED)
    assert x.load() == (-2 if cls in SIGNED else hi - 1)
    x.store(lo)
    x.fetch_add(lo)
    assert x.load() == 0  # MIN + MIN wraps to 0 (trivially so when unsigned)
    x.store(0)
    x.fetch_sub(hi)
    assert x.load() == (-hi if cls in SIGNED else 1)
    x.store(0)
    x.fetch_sub(lo)  # 0 - MIN: overflows for signed types
    assert x.load() == lo
    x.store(hi)
    x.fetch_nand(hi)  # ~MAX
    assert x.load() == (lo if cls in SIGNED else 0)
    x.store(0)
    x.fetch_nand(0)  # ~0 is -1, all ones
    assert x.load() == (-1 if cls in SIGNED else hi)


def test_wrapping_examples_at_eight_bits() -> None:
    i8 = AtomicI8(100)
    assert i8.fetch_add(100) == 100
    assert i8.load() == -56
    assert i8.fetch_sub(-128) == -56
    assert i8.load() == 72
    u8 = AtomicU8(5)
    assert u8.fetch_sub(10) == 5
    assert u8.load() == 251
    assert u8.fetch_nand(0b1111_0000) == 251
    assert u8.load() == 0b0000_1111


def test_atomic_int_is_unbounded() -> None:
    x = AtomicInt(-(2**200))
    assert x.fetch_sub(2**200) == -(2**200)
    assert x.load() == -(2**201)
    x.store(0)
    assert x.fetch_nand(0) == 0
    assert x.load() == -1
    x.store(10**5000)  # beyond int->str's digit limit: repr must not fail
    assert repr(x) == f"AtomicInt(an integer of {(10**5000).bit_length()} bits)"


def test_bitwise_max_and_min() -> None:
    x = AtomicI32(0b1100)
    assert x.fetch_and(0b1010) == 0b1100 and x.load() == 0b1000
    assert x.fetch_or(0b0011) == 0b1000 and x.load() == 0b1011
    assert x.fetch_xor(0b1111) == 0b1011 and x.load() == 0b0100
    assert x.fetch_nand(0b0110) == 0b0100 and x.load() == ~0b0100
    x.store(-5)
    assert x.fetch_and(-2) == -5 and x.load() == -6
    assert x.fetch_max(3) == -6 and x.load() == 3
    assert x.fetch_max(-100) == 3 and x.load() == 3
    assert x.fetch_min(-100) == 3 and x.load() == -100
    assert x.fetch_min(0) == -100 and x.load() == -100


OPS = ["add", "sub", "and", "or", "xor", "nand", "max", "min", "swap", "store", "cas"]


def reference_step(op: str, old: int, operand: int, bits: int, signed: bool) -> int:
    """What Rust's AtomicIN/AtomicUN leaves behind after one operation.

    For "swap", "store" and "cas" the operand is the value left behind.
    """
    raw = {
        "add": lambda: old + operand,
        "sub": lambda: old - operand,
        "and": lambda: old & operand,
        "or": lambda: old | operand,
        "xor": lambda: old ^ operand,
        "nand": lambda: ~(old & operand),
        "max": lambda: max(old, operand),
        "min": lambda: min(old, operand),
    }.get(op, lambda: operand)()
    return rust_wrap(raw, bits, signed)


@pytest.mark.parametrize("cls", FIXED, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_fixed_width_types_match_rusts_wrapping_arithmetic(
    cls: type[Any], data: st.DataObject
) -> None:
    values = st.one_of(
        st.integers(cls.MIN, cls.MAX),
        st.sampled_from([cls.MIN, cls.MAX, 0, 1, cls.MAX - 1, cls.MIN + 1]),
    )
    model = data.draw(values, label="initial")
    program = data.draw(
        st.lists(
            st.tuples(st.sampled_from(OPS), values, st.sampled_from(ALL_ORDERINGS)),
            max_size=25,
        ),
        label="program",
    )
    signed = cls in SIGNED
    x = cls(model)
    for op, operand, order in program:
        if op == "store":
            x.store(operand, order if order in STORE_ORDERINGS else SeqCst)
        elif op == "cas":
            current = model if data.draw(st.booleans(), label="expect the value") else operand
            failure = order if order in LOAD_ORDERINGS else Relaxed
            new = data.draw(values, label="new")
            assert x.compare_exchange(current, new, order, failure) == (model == current, model)
            operand = new if model == current else model  # noqa: PLW2901 -- what it left
        elif op == "swap":
            assert x.swap(operand, order) == model
        else:
            assert getattr(x, f"fetch_{op}")(operand, order) == model
        model = reference_step(op, model, operand, cls.BITS, signed)
        assert x.load() == model
        assert type(model) is int and cls.MIN <= model <= cls.MAX


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.integers(),
    st.lists(st.tuples(st.sampled_from(OPS[:8]), st.integers()), max_size=25),
)
def test_atomic_int_matches_python_ints(initial: int, program: list[tuple[str, int]]) -> None:
    x = AtomicInt(initial)
    model = initial
    python: dict[str, Callable[[int, int], int]] = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "and": lambda a, b: a & b,
        "or": lambda a, b: a | b,
        "xor": lambda a, b: a ^ b,
        "nand": lambda a, b: ~(a & b),
        "max": max,
        "min": min,
    }
    for op, operand in program:
        assert getattr(x, f"fetch_{op}")(operand) == model
        model = python[op](model, operand)
        assert x.load() == model


# -- read-modify-write semantics -----------------------------------------------


def test_compare_exchange_returns_a_named_tuple() -> None:
    x = AtomicI64(5)
    result = x.compare_exchange(5, 6)
    assert isinstance(result, CompareExchangeResult)
    assert issubclass(CompareExchangeResult, tuple)
    assert (result.ok, result.value) == (True, 5)
    assert repr(result) == "CompareExchangeResult(ok=True, value=5)"
    ok, value = x.compare_exchange(5, 7)
    assert (ok, value) == (False, 6)
    assert x.load() == 6


def test_compare_exchange_result_has_no_truth_value() -> None:
    result = AtomicI64().compare_exchange(1, 2)
    with pytest.raises(
        TypeError,
        match=exact(
            "a CompareExchangeResult has no truth value; "
            "test its .ok to see whether the new value was stored"
        ),
    ):
        bool(result)


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_compare_exchange_weak_never_fails_spuriously(sample: Sample) -> None:
    x = sample.make()
    values = [sample.a, sample.b]
    for i in range(1000):
        assert x.compare_exchange_weak(values[i % 2], values[(i + 1) % 2]).ok


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_fetch_update_gives_up_when_f_returns_none(sample: Sample) -> None:
    x = sample.make()
    calls: list[object] = []

    def f(value: object) -> None:
        calls.append(value)

    assert x.fetch_update(f) == (False, sample.a)
    assert calls == [sample.a]
    assert x.load() == sample.a


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_fetch_update_propagates_what_f_raises(sample: Sample) -> None:
    x = sample.make()

    def f(value: object) -> object:
        raise LookupError("f failed")

    with pytest.raises(LookupError, match=r"^f failed$"):
        x.fetch_update(f)
    assert x.load() == sample.a
    x.store(sample.b)  # the atomic still works: no lock was left held


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_fetch_update_calls_f_again_when_the_value_changed(sample: Sample) -> None:
    # Contention, deterministically: the first call of f changes the value,
    # so the store fails and f runs again on what it found.
    x = sample.make()
    calls: list[object] = []

    def f(value: object) -> object:
        calls.append(value)
        if len(calls) == 1:
            x.store(sample.b)  # f may use the atomic itself: no lock is held
            return sample.a
        return sample.a

    assert x.fetch_update(f) == (True, sample.b)
    assert calls == [sample.a, sample.b]
    assert x.load() == sample.a


def test_fetch_update_f_may_use_atomics_without_deadlocking() -> None:
    x, attempts = AtomicI64(1), AtomicI64(0)

    def f(value: int) -> int:
        attempts.fetch_add(1)
        return x.load() + value  # reads the atomic being updated

    result = Worker(lambda: x.fetch_update(f)).join()
    assert result == (True, 1)
    assert x.load() == 2
    assert attempts.load() == 1


def test_fetch_update_checks_what_f_returns() -> None:
    x = AtomicU8(3)
    with pytest.raises(OverflowError, match=msg_range(AtomicU8, 256)):
        x.fetch_update(lambda v: 256)
    with pytest.raises(TypeError, match=exact("AtomicU8 holds integers; got str 'x'")):
        x.fetch_update(lambda v: "x")  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=exact("AtomicBool holds True or False; got int 1")):
        AtomicBool().fetch_update(lambda v: 1)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=exact("AtomicFloat holds floats; got str 'x'")):
        AtomicFloat().fetch_update(lambda v: "x")  # type: ignore[arg-type,return-value]
    assert x.load() == 3


# -- AtomicBool -------------------------------------------------------------------

BOOL_PAIRS = [(a, b) for a in (False, True) for b in (False, True)]


@pytest.mark.parametrize(("a", "b"), BOOL_PAIRS)
def test_bool_logic(a: bool, b: bool) -> None:
    for op, want in [
        ("fetch_and", a and b),
        ("fetch_or", a or b),
        ("fetch_xor", a != b),
        ("fetch_nand", not (a and b)),
    ]:
        x = AtomicBool(a)
        previous = getattr(x, op)(b)
        assert previous is a, op
        assert x.load() is want, op
    x = AtomicBool(a)
    assert x.fetch_not() is a
    assert x.load() is (not a)
    x = AtomicBool(a)
    assert x.compare_exchange(b, not b) == (a is b, a)
    assert x.load() is (not b if a is b else a)


@pytest.mark.parametrize(
    ("bad", "got"), [(1, "int 1"), (None, "NoneType None"), ("True", "str 'True'")]
)
def test_bool_accepts_only_bools(bad: Any, got: str) -> None:
    pattern = exact(f"AtomicBool holds True or False; got {got}")
    with pytest.raises(TypeError, match=pattern):
        AtomicBool(bad)
    x = AtomicBool(False)
    calls: list[Callable[[], object]] = [
        lambda: x.store(bad),
        lambda: x.swap(bad),
        lambda: x.compare_exchange(bad, True),
        lambda: x.compare_exchange(False, bad),
        lambda: x.fetch_and(bad),
        lambda: x.fetch_or(bad),
        lambda: x.fetch_xor(bad),
        lambda: x.fetch_nand(bad),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=pattern):
            call()
    assert x.load() is False


# -- AtomicRef ------------------------------------------------------------------


class NoEquality:
    """Raises if anything compares it with ==."""

    def __eq__(self, other: object) -> bool:
        raise AssertionError("compared with ==")

    __hash__ = object.__hash__


def test_ref_compare_exchange_compares_identity_never_equality() -> None:
    a, b = NoEquality(), NoEquality()
    r = AtomicRef(a)
    assert r.compare_exchange(b, b) == (False, a)
    result = r.compare_exchange(a, b)
    assert result.ok and result.value is a
    assert r.load() is b
    equal_but_distinct = [1, 2]
    lists = AtomicRef([1, 2])
    assert not lists.compare_exchange(equal_but_distinct, []).ok
    assert lists.compare_exchange(lists.load(), []).ok


def test_ref_holds_any_object_including_none() -> None:
    r: AtomicRef[object] = AtomicRef(None)
    assert r.load() is None
    sentinel = object()
    assert r.swap(sentinel) is None
    assert r.load() is sentinel
    r.store(None)
    assert r.compare_exchange(None, 5) == (True, None)
    assert AtomicRef[int](3).load() == 3


def test_ref_fetch_update_stores_only_over_the_object_f_saw() -> None:
    r: AtomicRef[tuple[int, ...]] = AtomicRef((1,))
    assert r.fetch_update(lambda t: (*t, 2)) == (True, (1,))
    assert r.load() == (1, 2)


def test_ref_releases_the_previous_object_outside_the_lock() -> None:
    # The replaced object may be freed by the store; its finaliser runs user
    # code, which may use the same atomic.
    r: AtomicRef[object] = AtomicRef(None)
    seen: list[object] = []

    class UsesTheAtomic:
        def __del__(self) -> None:
            seen.append(r.load())

    def work() -> None:
        r.store(UsesTheAtomic())
        r.store("next")
        r.swap("after")
        r.store(UsesTheAtomic())
        assert r.compare_exchange(r.load(), "last").ok

    Worker(work).join()
    assert seen == ["next", "last"]


@pytest.mark.parametrize(
    ("name", "first", "then", "printed"),
    [
        ("AtomicI64", "5", "6", "[5] 6"),
        ("AtomicInt", "5", "10**30", f"[5] {10**30}"),
        ("AtomicBool", "False", "True", "[False] True"),
        ("AtomicFloat", "0.5", "1.5", "[0.5] 1.5"),
        ("AtomicRef", "'a'", "'b'", "['a'] b"),
    ],
)
def test_a_finaliser_run_as_a_section_ends_may_use_the_same_atomic(
    name: str, first: str, then: str, printed: str
) -> None:
    # On 3.11 a collection runs at once where an allocation triggers it: also
    # as a ``with`` block on the reference's lock ends, before the release
    # (tests/test_rwlock_faults.py pins where collections run). The ``with``
    # block below stands for an operation's section, with a finaliser young
    # enough to be collected inside it; the finaliser uses the same atomic.
    proc = run_python(
        f"""
        import gc
        from fearless.atomic import {name}
        x = object.__new__({name})  # the reference, whatever fearless.native says
        x.__init__({first})
        seen = []
        class Finaliser:
            def __init__(self):
                self.cycle = self
            def __del__(self):
                seen.append(x.swap({then}))
        gc.collect()
        gc.set_threshold(1)
        gc.disable()  # keeps the finaliser young until the body
        f = Finaliser()
        with x._lock:
            gc.enable()
            del f
            a = {{0}}; b = {{0}}; c = {{0}}
        gc.set_threshold(700)
        gc.collect()
        print(seen, x.load())
        """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == printed + "\n", proc.stdout + proc.stderr


def test_repr_calls_user_code_without_the_lock() -> None:
    r: AtomicRef[object] = AtomicRef(None)

    class Shows:
        def __repr__(self) -> str:
            return f"Shows({r.load() is self})"

    r.store(Shows())
    assert Worker(lambda: repr(r)).join() == "AtomicRef(Shows(True))"


# -- AtomicFloat ----------------------------------------------------------------


def nan_with_payload(payload: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0000 | payload))[0]
    return value


def test_float_compare_exchange_compares_bit_patterns() -> None:
    nan = math.nan
    x = AtomicFloat(nan)
    result = x.compare_exchange(nan, 1.0)
    assert result.ok and math.isnan(result.value)
    assert x.load() == 1.0
    other_nan = nan_with_payload(1)
    x.store(nan_with_payload(2))
    assert not x.compare_exchange(other_nan, 1.0).ok  # NaN, but other bits
    assert x.compare_exchange(nan_with_payload(2), 1.0).ok
    zero = AtomicFloat(0.0)
    assert zero.compare_exchange(-0.0, 5.0) == (False, 0.0)
    assert zero.compare_exchange(0.0, -0.0) == (True, 0.0)
    assert math.copysign(1.0, zero.load()) == -1.0
    assert zero.compare_exchange(0.0, 5.0).ok is False
    assert zero.compare_exchange(-0.0, 5.0).ok
    assert AtomicFloat(2.5).compare_exchange_weak(2.5, 3.0) == (True, 2.5)
    assert AtomicFloat(2.5).compare_exchange(2, 3.0) == (False, 2.5)


def test_float_arithmetic() -> None:
    x = AtomicFloat(1.0)
    assert x.fetch_add(0.5) == 1.0
    assert x.fetch_sub(2) == 1.5
    assert x.load() == -0.5
    x.store(math.inf)
    x.fetch_add(1.0)
    assert x.load() == math.inf
    x.fetch_sub(math.inf)
    assert math.isnan(x.load())


def test_float_max_and_min_ignore_nan() -> None:
    x = AtomicFloat(1.0)
    assert x.fetch_max(math.nan) == 1.0 and x.load() == 1.0
    assert x.fetch_min(math.nan) == 1.0 and x.load() == 1.0
    x.store(math.nan)
    assert math.isnan(x.fetch_max(-5.0)) and x.load() == -5.0
    x.store(math.nan)
    assert math.isnan(x.fetch_min(7.0)) and x.load() == 7.0
    x.store(math.nan)
    x.fetch_max(math.nan)
    assert math.isnan(x.load())
    x.store(2.0)
    assert x.fetch_max(3.0) == 2.0 and x.load() == 3.0
    assert x.fetch_min(-1.0) == 3.0 and x.load() == -1.0
    # 0.0 and -0.0: the current value is kept.
    x.store(-0.0)
    x.fetch_max(0.0)
    assert math.copysign(1.0, x.load()) == -1.0
    x.store(0.0)
    x.fetch_min(-0.0)
    assert math.copysign(1.0, x.load()) == 1.0


def test_float_converts_real_numbers() -> None:
    x = AtomicFloat(1)
    assert type(x.load()) is float and x.load() == 1.0
    # Any real number, as float() takes it (typed float, which catches mistakes).
    x.store(fractions.Fraction(1, 4))  # type: ignore[arg-type]
    assert x.load() == 0.25
    x.store(decimal.Decimal("0.5"))  # type: ignore[arg-type]
    assert x.load() == 0.5
    assert x.swap(True) == 0.5
    assert type(x.load()) is float


@pytest.mark.parametrize(
    ("bad", "got"),
    [("1.5", "str '1.5'"), (None, "NoneType None"), (1j, "complex 1j"), (b"1", "bytes b'1'")],
)
def test_float_rejects_non_numbers(bad: Any, got: str) -> None:
    pattern = exact(f"AtomicFloat holds floats; got {got}")
    with pytest.raises(TypeError, match=pattern):
        AtomicFloat(bad)
    x = AtomicFloat(1.0)
    calls: list[Callable[[], object]] = [
        lambda: x.store(bad),
        lambda: x.swap(bad),
        lambda: x.compare_exchange(bad, 1.0),
        lambda: x.compare_exchange(1.0, bad),
        lambda: x.fetch_add(bad),
        lambda: x.fetch_sub(bad),
        lambda: x.fetch_max(bad),
        lambda: x.fetch_min(bad),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=pattern):
            call()
    assert x.load() == 1.0


def test_float_rejects_ints_too_large_for_a_float() -> None:
    with pytest.raises(
        OverflowError, match=r"^AtomicFloat holds floats; int 1000.* is too large for a float$"
    ):
        AtomicFloat(10**400)


def test_float_operand_conversion_runs_outside_the_lock() -> None:
    x = AtomicFloat(1.0)

    class Half:
        def __float__(self) -> float:
            return x.load() / 2

    assert Worker(lambda: x.fetch_add(Half())).join() == 1.0  # type: ignore[arg-type]
    assert x.load() == 1.5


# -- repr, truth, identity -------------------------------------------------------


@pytest.mark.parametrize(
    ("atomic", "text"),
    [
        (AtomicI64(5), "AtomicI64(5)"),
        (AtomicU8(255), "AtomicU8(255)"),
        (AtomicInt(-(2**70)), f"AtomicInt({-(2**70)})"),
        (AtomicBool(True), "AtomicBool(True)"),
        (AtomicFloat(-0.0), "AtomicFloat(-0.0)"),
        (AtomicRef("x"), "AtomicRef('x')"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else "",
)
def test_repr_shows_the_value(atomic: Any, text: str) -> None:
    assert repr(atomic) == text


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_repr_never_blocks(sample: Sample) -> None:
    # The reference's repr reads the value without its lock; the compiled
    # core's takes no lock at all (tests/test_native.py).
    x = reference(sample.cls, sample.a)
    x._lock.acquire()  # as if another thread were inside an operation
    try:
        assert repr(x) == f"{sample.cls.__name__}({sample.a!r})"
    finally:
        x._lock.release()


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_atomics_have_no_truth_value(sample: Sample) -> None:
    x = sample.make()
    with pytest.raises(
        TypeError,
        match=exact(f"{sample.cls.__name__} has no truth value; call .load() to read its value"),
    ):
        bool(x)
    with pytest.raises(TypeError):
        if x:
            pass


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_atomics_hash_and_compare_by_identity(sample: Sample) -> None:
    x, y = sample.make(), sample.make()
    assert x != y and x == x  # noqa: PLR0124
    assert hash(x) == object.__hash__(x)
    assert {x: 1, y: 2}[x] == 1
    assert weakref.ref(x)() is x


# -- the seam -------------------------------------------------------------------


class CountingLock(WithStatement):
    """A raw lock that counts acquisitions (``with`` included, via the mixin)."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self.acquired = 0

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        self.acquired += 1
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


class CountingBackend(_seam.ThreadBackend):
    def __init__(self) -> None:
        self.locks: list[CountingLock] = []

    def allocate_lock(self) -> _seam.RawLock:  # type: ignore[override]
        lock = CountingLock()
        self.locks.append(lock)
        return lock


def every_operation(sample: Sample) -> Iterator[tuple[str, Callable[[Any], object]]]:
    a, b = sample.a, sample.b
    yield "load", lambda x: x.load()
    yield "store", lambda x: x.store(b)
    yield "swap", lambda x: x.swap(a)
    yield "compare_exchange", lambda x: x.compare_exchange(a, b)
    yield "compare_exchange_weak", lambda x: x.compare_exchange_weak(b, a)
    yield "fetch_update", lambda x: x.fetch_update(lambda v: b)
    for op in sample.rmw:
        yield op, lambda x, op=op: getattr(x, op)(b)  # type: ignore[misc]
    if sample.cls is AtomicBool:
        yield "fetch_not", lambda x: x.fetch_not()


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_every_operation_goes_through_the_seams_lock(sample: Sample) -> None:
    backend = CountingBackend()
    with _seam.install(backend):
        x = sample.make()
    (lock,) = backend.locks  # one raw lock per atomic, from the backend in force
    for name, op in every_operation(sample):
        before = lock.acquired
        op(x)
        assert lock.acquired > before, name
        assert not lock.locked(), name


def test_fence_takes_a_lock_from_the_backend_in_force() -> None:
    backend = CountingBackend()
    with _seam.install(backend):
        fence(Acquire)
        fence(SeqCst)
    assert len(backend.locks) == 1
    assert backend.locks[0].acquired == 2
    fence()  # back on the thread backend
    assert backend.locks[0].acquired == 2


# -- concurrency ----------------------------------------------------------------

THREADS = 4


@pytest.mark.stress
def test_fetch_add_counter_is_exact() -> None:
    # The chapter's example: 4 threads, Relaxed increments, an exact total.
    n = 2000 * STRESS
    counter = AtomicI64(0)

    def work(_: int) -> None:
        for _ in range(n):
            counter.fetch_add(1, Ordering.Relaxed)

    run_concurrently(work, THREADS)
    assert counter.load(Ordering.Relaxed) == THREADS * n


@pytest.mark.stress
def test_fetch_sub_and_add_wrap_exactly_under_contention() -> None:
    n = 1000 * STRESS
    u8, i16 = AtomicU8(0), AtomicI16(0)

    def work(_: int) -> None:
        for _ in range(n):
            u8.fetch_add(3)
            i16.fetch_sub(1000)

    run_concurrently(work, THREADS)
    assert u8.load() == rust_wrap(3 * THREADS * n, 8, False)
    assert i16.load() == rust_wrap(-1000 * THREADS * n, 16, True)


@pytest.mark.stress
def test_compare_exchange_loop_increments_are_exact() -> None:
    n = 1000 * STRESS
    counter = AtomicI64(0)
    retries = AtomicInt(0)

    def work(_: int) -> None:
        for _ in range(n):
            current = counter.load(Relaxed)
            while True:
                ok, current = counter.compare_exchange_weak(current, current + 1, AcqRel, Relaxed)
                if ok:
                    break
                retries.fetch_add(1, Relaxed)

    run_concurrently(work, THREADS)
    assert counter.load() == THREADS * n
    assert retries.load() >= 0


@pytest.mark.stress
def test_fetch_update_with_a_closure_is_exact() -> None:
    n = 1000 * STRESS
    counter = AtomicU32(0)
    calls = AtomicInt(0)

    def work(index: int) -> int:
        step = index + 1

        def add(value: int) -> int:
            calls.fetch_add(1, Relaxed)  # f may use atomics itself
            return value + step

        for _ in range(n):
            assert counter.fetch_update(add, AcqRel, Acquire).ok
        return step * n

    added = run_concurrently(work, THREADS)
    assert counter.load() == sum(added)
    assert calls.load() >= THREADS * n  # f may run more than once per update


@pytest.mark.stress
def test_swap_conserves_tokens() -> None:
    # Every swap hands one token in and takes one out: none is lost or
    # duplicated, whatever the interleaving.
    n = 2000 * STRESS
    cell = AtomicI64(THREADS)  # token THREADS sits in the cell

    def work(index: int) -> tuple[int, int]:
        mine = index
        moved = 0
        for _ in range(n):
            taken = cell.swap(mine, AcqRel)
            moved += taken != mine
            mine = taken
        return mine, moved

    results = run_concurrently(work, THREADS)
    tokens = sorted([mine for mine, _ in results] + [cell.load()])
    assert tokens == list(range(THREADS + 1))


@pytest.mark.stress
def test_exactly_one_compare_exchange_wins_each_race() -> None:
    rounds = 100 * STRESS
    cells = [AtomicI64(-1) for _ in range(rounds)]
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)

    def work(index: int) -> list[CompareExchangeResult[int]]:
        results = []
        for cell in cells:
            barrier.wait()
            results.append(cell.compare_exchange(-1, index, AcqRel, Acquire))
        return results

    per_thread = run_concurrently(work, THREADS)
    for r, cell in enumerate(cells):
        outcomes = [results[r] for results in per_thread]
        winners = [i for i, (ok, _) in enumerate(outcomes) if ok]
        assert len(winners) == 1, outcomes
        (winner,) = winners
        assert cell.load() == winner
        assert outcomes[winner].value == -1
        assert all(value == winner for ok, value in outcomes if not ok)


@pytest.mark.stress
def test_fetch_max_is_linearizable() -> None:
    n = 1000 * STRESS
    high = AtomicI64(AtomicI64.MIN)

    def work(index: int) -> int:
        rng = random.Random(index)
        seen = AtomicI64.MIN
        best = AtomicI64.MIN
        for _ in range(n):
            value = rng.randrange(-(10**9), 10**9)
            previous = high.fetch_max(value)
            assert previous >= seen  # the maximum never goes down
            seen = max(previous, value)
            best = max(best, value)
        return best

    bests = run_concurrently(work, THREADS)
    assert high.load() == max(bests)


@pytest.mark.stress
def test_bool_toggles_and_float_sums_are_exact() -> None:
    n = 1000 * STRESS
    flag, total = AtomicBool(False), AtomicFloat(0.0)

    def work(_: int) -> None:
        for _ in range(n):
            flag.fetch_not(AcqRel)
            total.fetch_add(1.0, Relaxed)

    run_concurrently(work, 3)
    assert flag.load() is (3 * n % 2 == 1)
    assert total.load() == 3.0 * n


Node: TypeAlias = "tuple[int, Node | None]"


@pytest.mark.stress
def test_treiber_stack_on_atomic_ref() -> None:
    # Push and pop with compare_exchange_weak loops; each thread pops only
    # after pushing, so a pop never finds the stack empty.
    n = 500 * STRESS
    head: AtomicRef[Node | None] = AtomicRef(None)

    def push(item: int) -> None:
        top = head.load(Relaxed)
        while True:
            ok, top = head.compare_exchange_weak(top, (item, top), Release, Relaxed)
            if ok:
                return

    def pop() -> int:
        top = head.load(Acquire)
        while True:
            assert top is not None, "a pop found the stack empty"
            ok, found = head.compare_exchange_weak(top, top[1], Acquire, Acquire)
            if ok:
                return top[0]
            top = found

    def work(index: int) -> list[int]:
        popped = []
        for i in range(n):
            push(index * n + i)
            popped.append(pop())
        return popped

    popped = [item for items in run_concurrently(work, THREADS) for item in items]
    assert sorted(popped) == list(range(THREADS * n))
    assert head.load() is None


@pytest.mark.stress
def test_release_store_publishes_writes_to_an_acquire_load() -> None:
    # The chapter's producer/consumer: write the data, then a Release store
    # of the flag; an Acquire load that sees the flag sees the data.
    rounds = 50 * STRESS
    slots: list[tuple[int, int] | None] = [None] * rounds
    flags = [AtomicBool(False) for _ in range(rounds)]
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def work(index: int) -> None:
        for r in range(rounds):
            barrier.wait()
            if index == 0:
                slots[r] = (r, r * r)
                flags[r].store(True, Release)
            else:
                deadline = time.monotonic() + TIMEOUT
                while not flags[r].load(Acquire):
                    assert time.monotonic() < deadline, "the flag was never seen"
                assert slots[r] == (r, r * r)

    run_concurrently(work, 2)


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound). Every atomic operation is a switch point, so the threads' operations
# interleave in every order the bound allows; the assertions check that whatever order
# happened, the results are those of *some* sequential order (linearizability).


def atomic_int(value: int, op: Operation) -> tuple[object, int]:
    """The sequential model of the AtomicInt operations these programs record."""
    if op.name == "fetch_add":
        return value, value + op.args[0]
    if op.name == "swap":
        return value, op.args[0]
    if op.name == "fetch_xor":
        return value, value ^ op.args[0]
    if op.name == "triple":  # fetch_update(lambda v: v * 3), as a tuple
        return (True, value), value * 3
    if op.name == "load":
        return value, value
    raise AssertionError(f"no model for {op}")


def test_explored_mixed_read_modify_writes_are_linearizable() -> None:
    finals: set[int] = set()

    def program() -> None:
        a, history = AtomicInt(1), History()

        def one() -> None:
            history.record("fetch_add", a.fetch_add, 1)
            history.record("triple", lambda: tuple(a.fetch_update(lambda v: v * 3)))

        def two() -> None:
            history.record("swap", a.swap, 5)
            history.record("fetch_xor", a.fetch_xor, 6)

        with scope() as s:
            s.spawn(one)
            s.spawn(two)
        history.record("load", a.load)
        assert_linearizable(history, atomic_int, 1)
        finals.add(a.load())

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert len(finals) > 3  # the operations did run in several orders


def test_explored_negative_control_load_then_store_is_not_linearizable() -> None:
    # An "increment" made of a load and a store loses the other thread's update in some
    # schedule, and no sequential order explains what the threads saw.
    def program() -> None:
        a, history = AtomicInt(0), History()

        def broken_increment() -> int:
            seen = a.load()
            a.store(seen + 1)
            return seen

        with scope() as s:
            s.spawn(history.record, "fetch_add", lambda _: broken_increment(), 1)
            s.spawn(history.record, "fetch_add", a.fetch_add, 1)
        history.record("load", a.load)
        assert_linearizable(history, atomic_int, 0)

    with pytest.raises(ScheduleFailure, match="not linearizable"):
        explore(program, strategy="exhaustive", preemption_bound=2)


@pytest.mark.parametrize(
    ("cls", "start", "expected"),
    [(AtomicInt, 0, [0, 1, 2]), (AtomicU8, 254, [254, 255, 0])],
    ids=["AtomicInt", "AtomicU8-wrapping"],
)
def test_explored_fetch_add_hands_out_every_previous_value_once(
    cls: type[AtomicInt], start: int, expected: list[int]
) -> None:
    def program() -> None:
        a = cls(start)
        with scope() as s:
            handles = [s.spawn(a.fetch_add, 1) for _ in range(3)]
        assert sorted(h.join() for h in handles) == sorted(expected)
        assert a.load() == (start + 3) % 256

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 10


def test_explored_compare_exchange_loops_lose_no_increment() -> None:
    retried: set[bool] = set()

    def program() -> None:
        a = AtomicInt(0)

        def increment() -> list[int]:
            taken = []
            for _ in range(2):
                current = a.load()
                while True:
                    ok, current = a.compare_exchange(current, current + 1)
                    if ok:
                        break
                    retried.add(True)
                taken.append(current)
            return taken

        with scope() as s:
            first = s.spawn(increment)
            second = s.spawn(increment)
        taken = first.join() + second.join()
        assert sorted(taken) == [0, 1, 2, 3], taken  # each value was claimed once
        assert a.load() == 4

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert retried == {True}  # some schedule made a compare_exchange fail and retry


def test_explored_compare_exchange_flag_admits_one_thread_at_a_time() -> None:
    def program() -> None:
        busy = AtomicBool(False)
        inside = AtomicInt(0)
        entered = AtomicInt(0)

        def work() -> None:
            if busy.compare_exchange(False, True, Acquire, Relaxed).ok:
                assert inside.fetch_add(1) == 0, "two threads took the flag"
                entered.fetch_add(1)
                inside.fetch_sub(1)
                busy.store(False, Release)

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        assert entered.load() >= 1

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 10


def test_explored_swap_passes_every_reference_on_exactly_once() -> None:
    def program() -> None:
        tokens = ["initial", "first", "second"]
        slot = AtomicRef(tokens[0])
        with scope() as s:
            first = s.spawn(slot.swap, tokens[1])
            second = s.spawn(slot.swap, tokens[2])
        held = [first.join(), second.join(), slot.load()]
        assert sorted(map(id, held)) == sorted(map(id, tokens)), held

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 1
