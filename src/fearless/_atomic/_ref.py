"""AtomicRef: a reference to any object, replaced atomically (Rust's ``AtomicPtr``).

Compares by identity and never calls the objects' methods inside its lock;
relies on :mod:`._core` for the orderings, results, lock and the shared
``fetch_update`` loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, NoReturn, final

from .._util import NotCopyable
from ._core import (
    _ANY,
    _COPY_ADVICE,
    _LOAD,
    _STORE,
    CompareExchangeResult,
    Ordering,
    SeqCst,
    T,
    _allocate_lock,
    _check_ordering,
    _check_orderings,
    _fetch_update_method,
    _new_result,
    _no_truth_value,
    _Result,
    _twin,
)


@final
class AtomicRef(NotCopyable, Generic[T]):
    """A reference to any object, replaced atomically (Rust's ``AtomicPtr<T>``).

    ``load`` returns the object itself (no copy); ``compare_exchange``
    compares by identity (``is``), never with ``==``, so the objects'
    ``__eq__`` is never called and the comparison cannot block or raise --
    as Rust compares pointers. Immutable values (tuples, frozen
    dataclasses) make the best contents: publish a new object instead of
    mutating a shared one.

    Args:
        value: The initial object.

    Example:
        >>> from fearless.atomic import AtomicRef
        >>> config = AtomicRef({"workers": 4})
        >>> old = config.load()
        >>> new = {**old, "workers": 8}
        >>> config.compare_exchange(old, new).ok
        True
        >>> config.load()["workers"]
        8
        >>> config.compare_exchange({"workers": 8}, {}).ok   # equal, but not the same object
        False
    """

    __slots__ = ("__weakref__", "_lock", "_value")

    _copy_advice = _COPY_ADVICE

    _value: T

    def __init__(self, value: T) -> None:
        self._lock = _allocate_lock()
        self._value = value

    def __repr__(self) -> str:
        return f"AtomicRef({self._value!r})"

    def __bool__(self) -> NoReturn:
        raise _no_truth_value(self)

    def load(self, order: Ordering = SeqCst) -> T:
        """Read the reference.

        Args:
            order: ``Relaxed``, ``Acquire`` or ``SeqCst`` (the default).

        Returns:
            The object currently referenced.

        Example:
            >>> from fearless.atomic import AtomicRef, Ordering
            >>> AtomicRef("hello").load(Ordering.Acquire)
            'hello'
        """
        if order not in _LOAD:
            _check_ordering(order, "load", "order")
        with self._lock:
            return self._value

    def store(self, val: T, order: Ordering = SeqCst) -> None:
        """Replace the reference.

        Args:
            val: The new object.
            order: ``Relaxed``, ``Release`` or ``SeqCst`` (the default).

        Example:
            >>> from fearless.atomic import AtomicRef, Ordering
            >>> latest = AtomicRef((0, "init"))
            >>> latest.store((1, "ready"), Ordering.Release)
            >>> latest
            AtomicRef((1, 'ready'))
        """
        if order not in _STORE:
            _check_ordering(order, "store", "order")
        with self._lock:
            old = self._value  # dropped after the lock is released
            self._value = val
        del old

    def swap(self, val: T, order: Ordering = SeqCst) -> T:
        """Replace the reference and return the previous one.

        Example:
            >>> from fearless.atomic import AtomicRef
            >>> inbox = AtomicRef([1, 2])
            >>> inbox.swap([])          # take everything, leave an empty list
            [1, 2]
        """
        if order not in _ANY:
            _check_ordering(order, "any", "order")
        with self._lock:
            old = self._value
            self._value = val
        return old

    def compare_exchange(
        self,
        current: T,
        new: T,
        success: Ordering = SeqCst,
        failure: Ordering = SeqCst,
    ) -> CompareExchangeResult[T]:
        """Store ``new`` if the reference is ``current`` (compared with ``is``).

        Args:
            current: The object expected (identity, not equality).
            new: The object to store if the expectation holds.
            success: The read-modify-write's ordering when it stores.
            failure: The load's ordering when it does not: ``Relaxed``,
                ``Acquire`` or ``SeqCst``.

        Returns:
            ``(ok, value)``: whether ``new`` was stored, and the object found.

        Example:
            >>> from fearless.atomic import AtomicRef
            >>> a, b = ["a"], ["b"]
            >>> r = AtomicRef(a)
            >>> r.compare_exchange(a, b)
            CompareExchangeResult(ok=True, value=['a'])
            >>> r.compare_exchange(["b"], a).ok     # an equal list is not the list
            False
        """
        if success not in _ANY or failure not in _LOAD:
            _check_orderings((success, "any", "success"), (failure, "failure", "failure"))
        with self._lock:
            old = self._value
            ok = old is current
            if ok:
                self._value = new
        return _new_result(_Result, (ok, old))

    compare_exchange_weak = _twin(
        compare_exchange,
        "compare_exchange_weak",
        """:meth:`compare_exchange`, which Rust allows to fail spuriously.

        fearless's never fails spuriously: it is exactly
        :meth:`compare_exchange`, kept so ported retry loops read the same.

        Example:
            >>> from fearless.atomic import AtomicRef
            >>> head = AtomicRef(None)
            >>> node = ("item", None)
            >>> head.compare_exchange_weak(None, node)
            CompareExchangeResult(ok=True, value=None)
        """,
    )

    if TYPE_CHECKING:

        def fetch_update(
            self,
            f: Callable[[T], T | None],
            set_order: Ordering = SeqCst,
            fetch_order: Ordering = SeqCst,
        ) -> CompareExchangeResult[T]: ...
    else:
        fetch_update = _fetch_update_method(
            object,
            None,
            None,
            None,
            by_value=False,
            doc="""Store ``f(obj)`` unless ``f`` returns None; a compare-exchange loop.

            ``f`` runs without any lock held and may run more than once under
            contention; the store happens only if the reference is still the
            object ``f`` was given (identity). Since None means "give up", this
            cannot store None: use :meth:`store` or :meth:`compare_exchange`.

            Returns:
                ``(True, previous)`` when an object was stored, ``(False,
                current)`` when ``f`` returned None.

            Example:
                >>> from fearless.atomic import AtomicRef
                >>> items = AtomicRef(())
                >>> items.fetch_update(lambda t: (*t, "x"))
                CompareExchangeResult(ok=True, value=())
                >>> items.load()
                ('x',)
            """,
        )
