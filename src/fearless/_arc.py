"""``Arc[T]`` and ``Weak[T]``: shared ownership with exact counts.

Python already shares objects by reference counting, so what Rust's ``Arc``
adds here is not memory safety but *ownership you can see*: each handle is
one counted owner, the counts are exact under concurrency, the value is let
go the moment the last strong handle is dropped (a :class:`Weak` can no
longer reach it), and a dropped handle raises instead of silently working.

Every handle of one allocation shares an ``_ArcInner``: the value, the
strong and weak counts, and a reentrant raw lock from the seam. The lock is
reentrant because a handle may be garbage-collected — its ``__del__`` drops
it — at any point in the same thread, including inside another operation
on the same allocation; a non-reentrant lock would deadlock there.
Critical sections hold no call and no allocation between reading a count
and writing it (nothing there can start the garbage collector, run a
finaliser or let a ``KeyboardInterrupt`` in), so such a nested drop can only
happen between two whole steps, and an interrupt or a ``RecursionError``
never leaves a count half-updated. User code (``copy.copy``, the value's own
finaliser) never runs under the lock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, final

from . import _seam
from ._errors import ConsumedError, NotUniqueError
from ._handle import DropOnce
from ._util import Twinned

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_MSG_DROPPED_ARC = "this Arc handle was dropped; use a live clone of it instead"
_MSG_DROPPED_WEAK = "this Weak handle was dropped; use a live clone of it instead"
#: The end of the TypeError pickling raises (see ``_util.NotCopyable``).
_ADVICE_PICKLE = (
    "its handles count owners in this process only; "
    "pickle the value (arc.value) and wrap what you unpickle in a new Arc"
)

# ``_ArcInner.value`` once the last strong handle is gone (and before
# ``Arc.new_cyclic`` has a value): a Weak cannot reach anything.
_EMPTY: Any = object()

_new: Any = object.__new__


class _ArcInner:
    """The shared allocation: the value and its counts, behind one lock."""

    __slots__ = ("lock", "strong", "value", "weak")

    value: Any

    def __init__(self, value: object, strong: int, weak: int) -> None:
        self.lock = _seam.allocate_rlock()
        self.value = value
        self.strong = strong
        self.weak = weak


class _Handle(DropOnce[_ArcInner], metaclass=Twinned):
    """What :class:`Arc` and :class:`Weak` handles share: their allocation, dropped once.

    ``with``, dropping once and refusing to be pickled come from
    :class:`~fearless._handle.DropOnce`; ``copy.copy`` is each class's clone.
    With the compiled core in use, each class has a twin
    (:mod:`fearless._arc_twins`) whose counts are C11 atomics.
    """

    __slots__ = ()
    #: Whether a handle of this kind is a strong one (an :class:`Arc`).
    _strong: ClassVar[bool]
    _copy_advice = _ADVICE_PICKLE
    #: The compiled twin (``fearless._util.Twinned``), when the core is in use.
    _native_twin: ClassVar[type | None] = None

    def _drop(self) -> bool:
        """Drop this handle now; False if it was dropped already (``__del__`` inlines this)."""
        inner = self._shared
        freed = _EMPTY
        if inner is not None:
            # Loads and stores only under the lock: see the module docstring.
            with inner.lock:
                if self._shared is inner:
                    self._shared = None
                    if self._strong:
                        strong = inner.strong - 1
                        inner.strong = strong
                        if not strong:
                            freed = inner.value  # noqa: F841 (goes after the lock is released)
                            inner.value = _EMPTY
                    else:
                        inner.weak -= 1
                    inner = None
            # ``freed`` goes when this frame ends, after the lock is
            # released: the value's finaliser may use this allocation.
            if inner is None:
                return True
        return False

    def _new_weak(self) -> Weak[Any]:
        """A new weak handle to this handle's allocation (``downgrade``, ``Weak.clone``)."""
        new: Weak[Any] = _new(Weak)
        inner = self._live()
        with inner.lock:
            if self._shared is None:
                raise ConsumedError(self._dropped)
            inner.weak += 1
            new._shared = inner
        return new

    def __del__(self, _EMPTY: Any = _EMPTY) -> None:
        # Inlined copy of _Handle._drop: keep in step (tests/test_drop_once.py).
        # A handle garbage-collected while alive drops itself. The reentrant
        # lock makes this safe even when it runs inside another operation
        # on the same allocation in this thread. Inline, with no call before
        # the count is updated (a call is a point where an interrupt or a
        # RecursionError could stop it), and with nothing looked up in the
        # module's globals (at interpreter shutdown they may be gone).
        try:
            inner = self._shared
        except AttributeError:  # never finished construction
            return
        if inner is not None:
            freed = _EMPTY
            with inner.lock:
                if self._shared is inner:
                    self._shared = None
                    if self._strong:
                        strong = inner.strong - 1
                        inner.strong = strong
                        if not strong:
                            freed = inner.value
                            inner.value = _EMPTY
                    else:
                        inner.weak -= 1
            del freed  # the value's own finaliser runs here, after the lock


@final
class Arc(_Handle, Generic[T_co]):
    """A counted, shareable owner of a value (Rust's ``std::sync::Arc<T>``).

    ``Arc(value)`` makes the first strong handle; :meth:`clone` makes
    another, sharing the same value. Each handle is one owner: dropping it
    (:meth:`drop`, the end of its ``with`` block, or garbage collection)
    counts one owner fewer, and when the last strong handle goes the value
    is released — :meth:`Weak.upgrade` then returns ``None`` and nothing of
    fearless's keeps the value alive.

    ``value`` is read-only, as Rust's ``Arc`` hands out only shared
    references: put a :class:`~fearless.Mutex` inside to mutate
    (``Arc(Mutex([]))``, the chapter's ``Arc<Mutex<Vec<_>>>``), or use
    :meth:`make_mut` for copy-on-write.

    Counts:
        :meth:`strong_count` and :meth:`weak_count` are exact: every
        clone, downgrade, upgrade and drop, from any thread, is counted
        once. Like Rust's, they are snapshots that other threads may change
        at once.

    Dropping:
        A dropped handle raises :class:`~fearless.ConsumedError` on any use
        (Rust rejects use after a move at compile time). ``drop()`` on a
        dropped handle raises too; the end of a ``with`` block drops the
        handle only if it is still alive. Rust's associated functions
        (``Arc::strong_count(&a)``) are methods here, and work both ways:
        ``a.strong_count()`` or ``Arc.strong_count(a)``.

    Equality:
        ``==`` is identity of the handle, as for any Python object; compare
        allocations with :meth:`ptr_eq` and values with ``a.value == b.value``.

    Example:
        >>> from fearless import Arc, Mutex, spawn
        >>> shared = Arc(Mutex([]))
        >>> def push(arc: Arc[Mutex[list[int]]], i: int) -> None:
        ...     with arc:                        # dropped when the thread is done
        ...         with arc.value.lock() as guard:
        ...             guard.value.append(i)
        >>> handles = [spawn(push, shared.clone(), i) for i in range(4)]
        >>> for h in handles:
        ...     h.join()
        >>> shared.strong_count()                # every clone was dropped
        1
        >>> sorted(shared.value.into_inner())
        [0, 1, 2, 3]
    """

    __slots__ = ("__weakref__",)

    _dropped = _MSG_DROPPED_ARC
    _strong = True

    def __init__(self, value: T_co) -> None:
        self._shared = _ArcInner(value, 1, 0)

    @classmethod
    def new_cyclic(cls, fn: Callable[[Weak[T]], T]) -> Arc[T]:
        """Build a value that holds a :class:`Weak` to its own allocation.

        Rust's ``Arc::new_cyclic``: ``fn`` receives a ``Weak`` to the
        allocation being built and returns the value. While ``fn`` runs the
        ``Weak`` cannot be upgraded (there is no strong handle yet); once
        ``new_cyclic`` returns, it can. If ``fn`` raises, the allocation
        never gets a value, the ``Weak`` never upgrades, and the exception
        propagates.

        Args:
            fn: Called once with the ``Weak``; returns the value.

        Returns:
            The first strong handle to the new allocation.

        Example:
            >>> from dataclasses import dataclass
            >>> from fearless import Arc, Weak
            >>> @dataclass
            ... class Node:
            ...     me: Weak["Node"]
            ...     upgraded_during_init: bool
            >>> node = Arc.new_cyclic(lambda me: Node(me, me.upgrade() is not None))
            >>> node.value.upgraded_during_init
            False
            >>> this = node.value.me.upgrade()
            >>> this is not None and this.ptr_eq(node)
            True
        """
        twin = cls._twin_in_force()
        if twin is not None:
            made: Arc[T] = twin._new_cyclic(fn)
            return made
        inner = _ArcInner(_EMPTY, 0, 1)
        weak: Weak[T] = _new(Weak)
        weak._shared = inner
        value = fn(weak)
        arc: Arc[T] = _new(Arc)
        with inner.lock:
            inner.value = value
            inner.strong = 1
            arc._shared = inner
        return arc

    # -- the value --------------------------------------------------------

    @property
    def value(self) -> T_co:
        """The shared value (read-only; mutate it through a lock inside it).

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> Arc("shared").value
            'shared'
        """
        inner = self._shared
        if inner is None:
            raise ConsumedError(_MSG_DROPPED_ARC)
        value: T_co = inner.value
        return value

    # -- owners -----------------------------------------------------------

    def clone(self) -> Arc[T_co]:
        """Another strong handle to the same value; the strong count goes up by one.

        Rust's ``Arc::clone(&a)``: the value is shared, not copied.

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc([1, 2])
            >>> b = a.clone()
            >>> b.value is a.value, a.strong_count()
            (True, 2)
        """
        inner = self._shared
        if inner is None:
            raise ConsumedError(_MSG_DROPPED_ARC)
        # Built before taking the lock (no allocation under it); until its
        # slot is set, its __del__ does nothing.
        new: Arc[T_co] = _new(Arc)
        with inner.lock:
            if self._shared is None:
                raise ConsumedError(_MSG_DROPPED_ARC)
            inner.strong += 1
            new._shared = inner
        return new

    def drop(self) -> None:
        """Give up this handle's ownership; the strong count goes down by one.

        Rust's ``drop(a)``. When this was the last strong handle the value
        is released: weak handles can no longer upgrade, and the value is
        freed unless something else refers to it.

        Raises:
            ConsumedError: This handle was already dropped.

        Example:
            >>> from fearless import Arc, ConsumedError
            >>> a = Arc("x")
            >>> b = a.clone()
            >>> b.drop()
            >>> a.strong_count()
            1
            >>> try:
            ...     b.drop()
            ... except ConsumedError as e:
            ...     print(e)
            this Arc handle was dropped; use a live clone of it instead
        """
        if not self._drop():
            raise ConsumedError(self._dropped)

    def downgrade(self) -> Weak[T_co]:
        """A :class:`Weak` handle to the same allocation; the weak count goes up by one.

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(42)
            >>> w = a.downgrade()
            >>> a.weak_count(), w.upgrade().value
            (1, 42)
        """
        return self._new_weak()

    def strong_count(self) -> int:
        """How many strong handles the allocation has, this one included (a snapshot).

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(None)
            >>> b = a.clone()
            >>> a.strong_count(), Arc.strong_count(b)
            (2, 2)
        """
        return self._live().strong

    def weak_count(self) -> int:
        """How many live :class:`Weak` handles the allocation has (a snapshot).

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(None)
            >>> w = a.downgrade()
            >>> a.weak_count()
            1
            >>> w.drop()
            >>> a.weak_count()
            0
        """
        return self._live().weak

    def ptr_eq(self, other: Arc[object]) -> bool:
        """Whether two handles share one allocation (Rust's ``Arc::ptr_eq``).

        Raises:
            ConsumedError: Either handle was dropped.
            TypeError: ``other`` is not an ``Arc``.

        Example:
            >>> from fearless import Arc
            >>> a = Arc([1])
            >>> a.ptr_eq(a.clone()), a.ptr_eq(Arc([1]))
            (True, False)
        """
        if not isinstance(other, Arc):
            raise TypeError(
                f"ptr_eq() compares two Arc handles, not an Arc and {type(other).__name__}"
            )
        return self._live() is other._live()

    # -- taking the value out ----------------------------------------------

    def try_unwrap(self) -> T_co:
        """Take the value out if this is the only strong handle; this handle is dropped.

        Rust's ``Arc::try_unwrap``. Weak handles do not count: they can no
        longer upgrade afterwards.

        Returns:
            The value.

        Raises:
            NotUniqueError: Other strong handles exist; this handle stays
                alive and unchanged (Rust's ``Err(this)``).
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc, NotUniqueError
            >>> a = Arc([1, 2])
            >>> b = a.clone()
            >>> try:
            ...     a.try_unwrap()
            ... except NotUniqueError as e:
            ...     print(e)
            2 strong handles share this Arc; drop the others first, or use into_inner()
            >>> b.drop()
            >>> a.try_unwrap()
            [1, 2]
        """
        inner = self._live()
        with inner.lock:
            if self._shared is None:
                raise ConsumedError(_MSG_DROPPED_ARC)
            strong = inner.strong
            if strong != 1:
                raise NotUniqueError(
                    f"{strong} strong handles share this Arc; "
                    "drop the others first, or use into_inner()"
                )
            self._shared = None
            inner.strong = 0
            value: T_co = inner.value
            inner.value = _EMPTY
        return value

    def into_inner(self) -> T_co | None:
        """Drop this handle; return the value if it was the last strong one, else ``None``.

        Rust's ``Arc::into_inner``: of several threads calling it on their
        handles, exactly one gets the value. A value that is itself
        ``None`` cannot be told from "not the last"; use :meth:`try_unwrap`
        there.

        Raises:
            ConsumedError: This handle was already dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc("payload")
            >>> b = a.clone()
            >>> print(a.into_inner())
            None
            >>> b.into_inner()
            'payload'
        """
        inner = self._live()
        with inner.lock:
            if self._shared is None:
                raise ConsumedError(_MSG_DROPPED_ARC)
            self._shared = None
            value: T_co | None = None
            strong = inner.strong - 1
            inner.strong = strong
            if not strong:
                value = inner.value
                inner.value = _EMPTY
        return value

    def get_mut(self) -> T_co | None:
        """The value if this handle is its only owner (no other strong or weak handle).

        Rust's ``Arc::get_mut``: only then is mutating the value unseen by
        anyone else. ``None`` otherwise; :meth:`make_mut` copies instead.

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc([1])
            >>> a.get_mut()
            [1]
            >>> b = a.clone()
            >>> print(a.get_mut())
            None
        """
        inner = self._live()
        with inner.lock:
            unique = inner.strong == 1 and inner.weak == 0
        value: T_co | None = inner.value if unique else None
        return value

    def make_mut(self) -> T_co:
        """Copy-on-write: make this handle the value's only owner and return the value.

        Rust's ``Arc::make_mut``. If other strong handles exist, the value
        is copied with :func:`copy.copy` into a new allocation that this
        handle moves to (the others keep the original). If only weak handles
        exist, the value moves to a new allocation without a copy and the
        weak handles are disassociated: they can no longer upgrade. Either
        way, mutating the returned object in place is seen by no other
        handle. (For an immutable value, build a new ``Arc`` instead.)

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc([1, 2])
            >>> b = a.clone()
            >>> a.make_mut().append(3)      # a now owns a copy
            >>> a.value, b.value, a.ptr_eq(b)
            ([1, 2, 3], [1, 2], False)
        """
        inner = self._live()
        # Built before the lock is taken: no allocation (or call) under it.
        moved = _ArcInner(_EMPTY, 1, 0)
        with inner.lock:
            if self._shared is None:
                raise ConsumedError(_MSG_DROPPED_ARC)
            value: T_co = inner.value
            if inner.strong == 1:
                if inner.weak:
                    # Only weak handles besides us: move the value, no copy.
                    moved.value = value
                    self._shared = moved
                    inner.value = _EMPTY
                    inner.strong = 0
                return value
        # Other owners: copy outside the lock (copy.copy runs user code).
        value = copy.copy(value)
        moved.value = value
        freed = _EMPTY
        with inner.lock:
            if self._shared is not inner:
                raise ConsumedError(_MSG_DROPPED_ARC)
            self._shared = moved
            strong = inner.strong - 1
            inner.strong = strong
            if not strong:
                freed = inner.value
                inner.value = _EMPTY
        del freed  # after the lock is released
        return value

    # -- Python protocols ---------------------------------------------------

    def __copy__(self) -> Arc[T_co]:  # type: ignore[override]
        """``copy.copy(a)`` is :meth:`clone`: another counted owner of the same value."""
        return self.clone()

    def __deepcopy__(self, memo: dict[int, Any]) -> Arc[T_co]:  # type: ignore[override]
        """``copy.deepcopy(a)`` is a new allocation holding a deep copy of the value."""
        return Arc(copy.deepcopy(self.value, memo))

    def __repr__(self) -> str:
        inner = self._shared
        if inner is None:
            return "Arc(<dropped>)"
        return f"Arc({inner.value!r})"


@final
class Weak(_Handle, Generic[T_co]):
    """A non-owning handle to an :class:`Arc`'s allocation (Rust's ``std::sync::Weak<T>``).

    Made by :meth:`Arc.downgrade` (or ``Weak()``, which never upgrades,
    Rust's ``Weak::new``). A ``Weak`` does not keep the value alive:
    :meth:`upgrade` returns a new strong handle while at least one exists,
    and ``None`` for ever once the last one was dropped. Weak handles are
    counted (:meth:`Arc.weak_count`) and dropped like strong ones: by
    :meth:`drop`, the end of a ``with`` block, or garbage collection; a
    dropped handle raises :class:`~fearless.ConsumedError` on use.

    Example:
        >>> from fearless import Arc
        >>> a = Arc("data")
        >>> w = a.downgrade()
        >>> strong = w.upgrade()
        >>> strong.value if strong else None
        'data'
        >>> strong.drop(); a.drop()
        >>> print(w.upgrade())
        None
    """

    __slots__ = ("__weakref__",)

    _dropped = _MSG_DROPPED_WEAK
    _strong = False

    def __init__(self) -> None:
        # Rust's Weak::new(): an allocation that never had a value.
        self._shared = _ArcInner(_EMPTY, 0, 1)

    def upgrade(self) -> Arc[T_co] | None:
        """A new strong handle if the value is still owned, else ``None``.

        Never revives a value: once the strong count reached zero, every
        later ``upgrade()`` returns ``None``.

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(1)
            >>> w = a.downgrade()
            >>> b = w.upgrade()
            >>> a.strong_count()
            2
        """
        new: Arc[T_co] = _new(Arc)
        inner = self._live()
        with inner.lock:
            if self._shared is None:
                raise ConsumedError(_MSG_DROPPED_WEAK)
            if not inner.strong:
                return None
            inner.strong += 1
            new._shared = inner
        return new

    def clone(self) -> Weak[T_co]:
        """Another weak handle to the same allocation; the weak count goes up by one.

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(1)
            >>> w1 = a.downgrade()
            >>> w2 = w1.clone()
            >>> a.weak_count()
            2
            >>> del w1                   # garbage collection drops a handle too
            >>> a.weak_count()
            1
        """
        return self._new_weak()

    def drop(self) -> None:
        """Give up this weak handle; the weak count goes down by one.

        Raises:
            ConsumedError: This handle was already dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(1)
            >>> w = a.downgrade()
            >>> w.drop()
            >>> a.weak_count()
            0
        """
        if not self._drop():
            raise ConsumedError(self._dropped)

    def strong_count(self) -> int:
        """How many strong handles the allocation has; 0 once the value is gone (a snapshot).

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(1)
            >>> w = a.downgrade()
            >>> w.strong_count()
            1
            >>> a.drop()
            >>> w.strong_count()
            0
        """
        return self._live().strong

    def weak_count(self) -> int:
        """How many weak handles the allocation has; 0 once no strong handle is left.

        Rust's ``Weak::weak_count``: with no strong handle left the
        allocation is as good as gone, so the count is 0.

        Raises:
            ConsumedError: This handle was dropped.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(1)
            >>> w = a.downgrade()
            >>> w.weak_count()
            1
            >>> a.drop()
            >>> w.weak_count()
            0
        """
        inner = self._live()
        with inner.lock:
            return inner.weak if inner.strong else 0

    def ptr_eq(self, other: Weak[object]) -> bool:
        """Whether two weak handles point to one allocation (Rust's ``Weak::ptr_eq``).

        Raises:
            ConsumedError: Either handle was dropped.
            TypeError: ``other`` is not a ``Weak``.

        Example:
            >>> from fearless import Arc
            >>> a = Arc(1)
            >>> a.downgrade().ptr_eq(a.downgrade())
            True
        """
        if not isinstance(other, Weak):
            raise TypeError(
                f"ptr_eq() compares two Weak handles, not a Weak and {type(other).__name__}"
            )
        return self._live() is other._live()

    def __copy__(self) -> Weak[T_co]:  # type: ignore[override]
        """``copy.copy(w)`` is :meth:`clone`."""
        return self.clone()

    def __deepcopy__(self, memo: dict[int, Any]) -> Weak[T_co]:  # type: ignore[override]
        """``copy.deepcopy(w)`` is :meth:`clone` too: a weak handle refers, it does not own."""
        return self.clone()

    def __repr__(self) -> str:
        inner = self._shared
        if inner is None:
            return "Weak(<dropped>)"
        return "Weak(<alive>)" if inner.strong else "Weak(<gone>)"
