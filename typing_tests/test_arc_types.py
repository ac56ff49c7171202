"""Type-checked, never run: Arc[T] and Weak[T] (compile-fail tests).

Each misuse line carries ``# type: ignore[<code>]``; with
``warn_unused_ignores`` a misuse that stops being rejected fails mypy.
"""

from __future__ import annotations

from typing import assert_type

from fearless import Arc, Mutex, MutexGuard, Weak


class Animal:
    pass


class Dog(Animal):
    pass


def arc_is_typed() -> None:
    a = Arc([1, 2])
    assert_type(a, Arc[list[int]])
    assert_type(a.value, list[int])
    assert_type(a.clone(), Arc[list[int]])
    assert_type(a.downgrade(), Weak[list[int]])
    assert_type(a.downgrade().upgrade(), Arc[list[int]] | None)
    assert_type(a.strong_count(), int)
    assert_type(a.weak_count(), int)
    assert_type(a.ptr_eq(a.clone()), bool)
    assert_type(a.try_unwrap(), list[int])
    assert_type(a.into_inner(), list[int] | None)
    assert_type(a.get_mut(), list[int] | None)
    assert_type(a.make_mut(), list[int])
    with Arc("x") as handle:
        assert_type(handle, Arc[str])
    assert_type(Weak[int](), Weak[int])


def arc_of_mutex_is_the_chapters_shared_state() -> None:
    shared = Arc(Mutex(0))
    with shared.value.lock() as guard:
        assert_type(guard, MutexGuard[int])
        guard.value += 1


def arc_is_covariant() -> None:
    # Rust's Arc<T> is covariant in T: an Arc[Dog] is an Arc[Animal].
    dogs: Arc[Dog] = Arc(Dog())
    animals: Arc[Animal] = dogs
    weak_animals: Weak[Animal] = dogs.downgrade()
    assert_type(animals.value, Animal)
    assert_type(weak_animals.upgrade(), Arc[Animal] | None)
    assert dogs.ptr_eq(animals)


def arc_value_is_read_only() -> None:
    a = Arc(1)
    a.value = 2  # type: ignore[misc]


def arc_rejects_wrong_types() -> None:
    animals: Arc[Dog] = Arc(Animal())  # type: ignore[arg-type]
    a = Arc(1)
    a.ptr_eq(1)  # type: ignore[arg-type]
    a.downgrade().ptr_eq(a)  # type: ignore[arg-type]


def new_cyclic_passes_a_weak_to_the_value() -> None:
    class Node:
        def __init__(self, me: Weak[Node]) -> None:
            self.me = me

    node = Arc.new_cyclic(Node)
    assert_type(node, Arc[Node])
    assert_type(node.value.me, Weak[Node])
