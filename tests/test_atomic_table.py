"""The layout of ``fearless._atomic``: one cell for every type, no call on a hot path.

Every atomic type derives from ``_core._Atomic`` (slots, copy refusal,
``repr``, no truth value) and adds no slot of its own; the fixed-width
types are rows of one table (``bits``, ``signed``); and an operation whose
checks pass runs without calling any Python function -- the shared slow
paths (``_slow_operand``, ``_slow_operands``, ``_check_ordering``) run only
when a check fails.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

import fearless.atomic
from _helpers import reference
from fearless._atomic._core import _Atomic
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

ATOMIC_TYPES = [
    cls
    for name, cls in vars(fearless.atomic).items()
    if name.startswith("Atomic") and isinstance(cls, type)
]


def test_every_type_is_found() -> None:
    assert len(ATOMIC_TYPES) == 14


@pytest.mark.parametrize("cls", ATOMIC_TYPES, ids=lambda c: c.__name__)
def test_every_atomic_type_is_an_atomic_cell_with_no_slot_of_its_own(cls: type) -> None:
    assert issubclass(cls, _Atomic)
    for klass in cls.__mro__[: cls.__mro__.index(_Atomic)]:
        assert vars(klass).get("__slots__") == (), klass
    instance = cls(None) if cls is AtomicRef else cls()
    assert not hasattr(instance, "__dict__")


@pytest.mark.parametrize(
    ("cls", "bits", "signed"),
    [(AtomicI8, 8, True), (AtomicU8, 8, False), (AtomicI64, 64, True), (AtomicU64, 64, False)],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_a_width_is_its_bits_and_signedness(cls: Any, bits: int, signed: bool) -> None:
    expected = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    assert (bits, *expected) == (cls.BITS, cls.MIN, cls.MAX)


def _python_calls(op: Callable[[], object]) -> list[str]:
    """The names of the Python functions ``op()`` calls, ``op`` itself excluded.

    The garbage collector is off meanwhile: a collection may start in any
    allocation and run callbacks (Hypothesis installs one) or finalisers,
    which are not calls of ``op``'s.
    """
    called: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            called.append(frame.f_code.co_name)

    collecting = gc.isenabled()
    gc.disable()
    sys.setprofile(profile)
    try:
        op()
    finally:
        sys.setprofile(None)
        if collecting:
            gc.enable()
    return called[1:]


SeqCst, Relaxed = Ordering.SeqCst, Ordering.Relaxed
# The reference's hot paths (the compiled core's call no Python at all:
# tests/test_native.py).
i64, u8, big, flag, real, ref = (
    reference(AtomicI64, 1),
    reference(AtomicU8, 255),
    reference(AtomicInt, 1),
    reference(AtomicBool),
    reference(AtomicFloat),
    reference(AtomicRef, None),
)

HOT_PATHS: list[tuple[str, Callable[[], object]]] = [
    ("load", lambda: i64.load()),  # noqa: PLW0108 - the lambda is the frame skipped
    ("store", lambda: i64.store(2, Relaxed)),
    ("fetch_add", lambda: i64.fetch_add(1, SeqCst)),
    ("fetch_add", lambda: u8.fetch_add(1)),  # wraps
    ("fetch_sub", lambda: big.fetch_sub(2**70)),
    ("compare_exchange", lambda: i64.compare_exchange(1, 2)),
    ("swap", lambda: flag.swap(True)),
    ("fetch_or", lambda: flag.fetch_or(True, Relaxed)),
    ("compare_exchange", lambda: flag.compare_exchange(False, True)),
    ("store", lambda: real.store(1.5)),
    ("fetch_add", lambda: real.fetch_add(0.5)),
    ("swap", lambda: ref.swap(())),
]


@pytest.mark.parametrize(("name", "op"), HOT_PATHS, ids=[name for name, _ in HOT_PATHS])
def test_an_operation_whose_checks_pass_calls_no_other_python_function(
    name: str, op: Callable[[], object]
) -> None:
    assert _python_calls(op) == [name]


def test_a_failed_check_takes_the_shared_slow_path() -> None:
    assert "_slow_operand" in _python_calls(lambda: i64.fetch_add(True))
    assert "_slow_operands" in _python_calls(lambda: real.compare_exchange(0, 1))
