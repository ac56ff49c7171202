"""Type-checked, never run: fearless.atomic.

Each misuse line carries ``# type: ignore[<code>]``; with
``warn_unused_ignores`` a misuse that stops being rejected fails mypy.
"""

from __future__ import annotations

from typing import assert_type

from fearless.atomic import (
    AtomicBool,
    AtomicFloat,
    AtomicI8,
    AtomicI64,
    AtomicInt,
    AtomicRef,
    AtomicU8,
    AtomicUsize,
    CompareExchangeResult,
    Ordering,
    fence,
)


def integers_hold_ints() -> None:
    x = AtomicI64(0)
    assert_type(x.load(), int)
    assert_type(x.load(Ordering.Acquire), int)
    assert_type(x.load(order=Ordering.Relaxed), int)
    assert_type(x.fetch_add(1, Ordering.Relaxed), int)
    assert_type(x.fetch_sub(1), int)
    assert_type(x.fetch_nand(1, order=Ordering.AcqRel), int)
    assert_type(x.fetch_max(1), int)
    assert_type(x.swap(2), int)
    assert_type(x.store(3, Ordering.Release), None)
    assert_type(AtomicI64.MAX, int)
    assert_type(AtomicU8.BITS, int)
    assert_type(AtomicUsize.MIN, int)
    assert_type(AtomicInt(2**100).fetch_add(1), int)
    assert_type(AtomicI8(True).load(), int)  # a bool is an int


def compare_exchange_results() -> None:
    x = AtomicI64(0)
    result = x.compare_exchange(1, 2, Ordering.AcqRel, Ordering.Acquire)
    assert_type(result, CompareExchangeResult[int])
    assert_type(result.ok, bool)
    assert_type(result.value, int)
    ok, value = x.compare_exchange_weak(current=1, new=2, success=Ordering.SeqCst)
    assert_type(ok, bool)
    assert_type(value, int)
    assert_type(x.fetch_update(lambda v: v + 1 if v < 10 else None), CompareExchangeResult[int])
    assert_type(
        x.fetch_update(lambda v: v * 2, set_order=Ordering.Release, fetch_order=Ordering.Relaxed),
        CompareExchangeResult[int],
    )
    result.ok = False  # type: ignore[misc]


def integer_misuse() -> None:
    x = AtomicI64()
    AtomicI64(1.0)  # type: ignore[arg-type]
    x.store(1.5)  # type: ignore[arg-type]
    x.fetch_add("1")  # type: ignore[arg-type]
    x.compare_exchange(1, None)  # type: ignore[arg-type]
    x.load("SeqCst")  # type: ignore[arg-type]
    x.load(Ordering.Relaxed, 1)  # type: ignore[call-arg]
    x.fetch_update(str)  # type: ignore[arg-type]
    x.fetch_not()  # type: ignore[attr-defined]
    AtomicInt.MAX  # type: ignore[attr-defined]  # noqa: B018
    if x:
        print("use x.load()")  # type: ignore[unreachable]


def bools_hold_bools() -> None:
    flag = AtomicBool()
    assert_type(flag.load(), bool)
    assert_type(flag.load(Ordering.Acquire), bool)
    assert_type(flag.swap(True), bool)
    assert_type(flag.fetch_or(True, Ordering.Release), bool)
    assert_type(flag.fetch_not(), bool)
    assert_type(flag.compare_exchange(False, True), CompareExchangeResult[bool])
    assert_type(flag.fetch_update(lambda v: not v), CompareExchangeResult[bool])
    flag.store(1)  # type: ignore[arg-type]
    AtomicBool("yes")  # type: ignore[arg-type]
    flag.fetch_add(True)  # type: ignore[attr-defined]
    while flag:
        pass  # type: ignore[unreachable]


def floats_hold_floats() -> None:
    total = AtomicFloat()
    assert_type(total.load(), float)
    assert_type(total.fetch_add(1), float)  # an int is accepted as a float
    assert_type(total.fetch_max(2.5, Ordering.Relaxed), float)
    assert_type(total.compare_exchange(0.0, 1.0), CompareExchangeResult[float])
    total.store("1.0")  # type: ignore[arg-type]
    total.fetch_and(1.0)  # type: ignore[attr-defined]


def refs_are_generic() -> None:
    name = AtomicRef("a")
    assert_type(name, AtomicRef[str])
    assert_type(name.load(), str)
    assert_type(name.swap("b", Ordering.AcqRel), str)
    assert_type(name.compare_exchange("a", "b"), CompareExchangeResult[str])
    assert_type(name.fetch_update(lambda s: s + "!"), CompareExchangeResult[str])
    name.store(1)  # type: ignore[arg-type]
    name.compare_exchange("a", 2)  # type: ignore[arg-type]
    name.fetch_add("x")  # type: ignore[attr-defined]
    maybe: AtomicRef[str | None] = AtomicRef(None)
    assert_type(maybe.load(), str | None)
    explicit = AtomicRef[int](3)
    assert_type(explicit, AtomicRef[int])
    AtomicRef[int]("x")  # type: ignore[arg-type]


def refs_are_invariant() -> None:
    strings: AtomicRef[str] = AtomicRef("a")
    objects: AtomicRef[object] = strings  # type: ignore[assignment]


def orderings_and_fences(order: Ordering) -> None:
    assert_type(order.value, str)
    assert_type(order.name, str)
    assert_type(list(Ordering), list[Ordering])
    fence()
    fence(Ordering.Acquire)
    fence(order=Ordering.SeqCst)
    fence("SeqCst")  # type: ignore[arg-type]
