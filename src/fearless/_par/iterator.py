"""The parallel iterator: ``par_iter(items)`` and its adapters and terminals (rayon's).

A :class:`ParIter` is an immutable description: the items, the adapters
(:class:`~fearless._par.task.Stage` steps) and the settings. A terminal
turns it into a :class:`~fearless._par.task.Pipeline` and runs it through
the engine (``.engine.start``), which applies the whole chain to each chunk
on the workers and hands back one partial result per chunk; the terminal
combines them in input order. Relies on the engine and the worker protocol.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeAlias, TypeVar, final

from .engine import all_callable, check_count, concat, finish, start, validate
from .task import Pipeline, Stage, Terminal

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from distributed import Client

    from .pools import ProcessPool, ThreadPool

R = TypeVar("R")
T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


class _Addable(Protocol):
    def __add__(self, other: Any, /) -> Any: ...

    def __radd__(self, other: Any, /) -> Any: ...


C = TypeVar("C", bound=_Comparable)
N = TypeVar("N", bound=_Addable)

#: What ``backend=`` accepts.
BackendSpec: TypeAlias = (
    'Literal["auto", "threads", "processes", "interpreters"] | ThreadPool | ProcessPool | Executor'
    " | Client"
)


@final
class ParIter(Generic[T]):
    """A parallel iterator (rayon's ``ParallelIterator``); made by :func:`par_iter`.

    Adapters (``map``, ``filter``, ``filter_map``, ``flat_map``, ``fold``) return a new
    ``ParIter`` and run nothing; a terminal operation (``collect``,
    ``for_each``, ``reduce``, ``sum``, ``min``, ``max``, ``count``,
    ``any``, ``all``) runs the whole chain as one pass over each chunk, on
    the workers, and combines the chunks' results in input order. Settings
    (``with_workers``, ``with_backend``, ``with_chunksize``) return a new
    ``ParIter`` too. The items are read once: run one terminal per
    ``par_iter()`` of a one-shot iterator.

    Differences from rayon:
        ``min()``/``max()`` return ``None`` for no items (rayon's
        ``Option``); ``sum()`` of no items is ``0``. ``fold`` makes one
        value per chunk, so its results depend on the chunking, as in rayon.

    Example:
        >>> from fearless import par_iter
        >>> words = ["apple", "bob", "kayak", "python"]
        >>> (par_iter(words)
        ...     .filter(lambda w: w == w[::-1])
        ...     .map(str.upper)
        ...     .collect())
        ['BOB', 'KAYAK']
    """

    __slots__ = ("_backend", "_chunksize", "_items", "_stages", "_workers")

    def __init__(
        self,
        items: Iterable[Any],
        stages: tuple[tuple[Stage, Any, Any], ...],
        workers: int | None,
        backend: object,
        chunksize: int | None,
    ) -> None:
        self._items = items
        self._stages = stages
        self._workers = workers
        self._backend = backend
        self._chunksize = chunksize

    def _then(self, kind: Stage, f: Any, g: Any = None) -> ParIter[Any]:
        if not callable(f) or (kind == Stage.FOLD and not callable(g)):
            raise TypeError("par_iter adapters take callables")
        return ParIter(
            self._items,
            (*self._stages, (kind, f, g)),
            self._workers,
            self._backend,
            self._chunksize,
        )

    def _run(
        self,
        terminal: Terminal,
        combine: Callable[[Iterator[Any]], R],
        *args: Any,
        ordered: bool = True,
    ) -> R:
        """Run the chain with ``terminal``; ``combine`` the chunks' partial results."""
        chunks = start(
            self._backend,
            self._workers,
            Pipeline(self._stages, terminal, args),
            self._items,
            chunksize=self._chunksize,
            ordered=ordered,
            progress=False,
        )
        return finish(chunks, combine)

    # settings

    def with_workers(self, workers: int | None) -> ParIter[T]:
        """Run on at most ``workers`` workers (``None``: one per CPU).

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(5)).with_workers(2).count()
            5
        """
        workers = check_count("workers", workers)
        return ParIter(self._items, self._stages, workers, self._backend, self._chunksize)

    def with_backend(self, backend: BackendSpec) -> ParIter[T]:
        """Run on ``backend`` (as for :func:`par_map`).

        Example:
            >>> from fearless import par_iter
            >>> par_iter([1, 2]).map(lambda x: x * 10).with_backend("threads").collect()
            [10, 20]
        """
        validate(len, None, None, backend)
        return ParIter(self._items, self._stages, self._workers, backend, self._chunksize)

    def with_chunksize(self, chunksize: int | None) -> ParIter[T]:
        """Process ``chunksize`` items per task (rayon's ``with_min_len``; ``None``: automatic).

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(4)).with_chunksize(1).fold(int, lambda a, x: a + 1).collect()
            [1, 1, 1, 1]
        """
        chunksize = check_count("chunksize", chunksize)
        return ParIter(self._items, self._stages, self._workers, self._backend, chunksize)

    # adapters

    def map(self, f: Callable[[T], U]) -> ParIter[U]:
        """Apply ``f`` to every item.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["a", "b"]).map(str.upper).collect()
            ['A', 'B']
        """
        return self._then(Stage.MAP, f)

    def filter(self, predicate: Callable[[T], object]) -> ParIter[T]:
        """Keep the items for which ``predicate`` is true.

        Example:
            >>> from fearless import par_iter
            >>> par_iter([0, 1, 2, 3]).filter(bool).collect()
            [1, 2, 3]
        """
        return self._then(Stage.FILTER, predicate)

    def flat_map(self, f: Callable[[T], Iterable[U]]) -> ParIter[U]:
        """Replace every item by the items of ``f(item)``.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["ab", "c"]).flat_map(list).collect()
            ['a', 'b', 'c']
        """
        return self._then(Stage.FLAT_MAP, f)

    def filter_map(self, f: Callable[[T], U | None]) -> ParIter[U]:
        """Apply ``f`` to every item and keep the results that are not ``None``.

        Rust's ``filter_map`` keeps the ``Some`` values of an ``Option``;
        here ``None`` plays ``None`` and any other value plays ``Some``. So
        the case study's ``filter_map(|p| process_image(p).ok())`` is
        ``filter_map(process_image_or_none)``, where the function returns
        ``None`` for an item it skips. A result that is a falsy value other
        than ``None`` (``0``, ``""``, ``[]``) is kept, unlike with
        ``map(f).filter(bool)``.

        Example:
            >>> from fearless import par_iter
            >>> def parse(text: str) -> int | None:
            ...     return int(text) if text.isdigit() else None
            >>> par_iter(["1", "x", "0", "22"]).filter_map(parse).collect()
            [1, 0, 22]
        """
        return self._then(Stage.FILTER_MAP, f)

    def fold(self, identity: Callable[[], A], op: Callable[[A, T], A]) -> ParIter[A]:
        """Fold each chunk into one value: ``op(...op(identity(), x0)..., xn)`` (rayon's ``fold``).

        Yields one accumulator per chunk; combine them with :meth:`reduce`
        (rayon's ``fold(...).reduce(...)`` idiom).

        Example:
            >>> from fearless import par_iter
            >>> (par_iter(["a", "bb", "ccc"])
            ...     .fold(int, lambda n, word: n + len(word))
            ...     .reduce(int, lambda a, b: a + b))
            6
        """
        return self._then(Stage.FOLD, identity, op)

    # terminals

    def collect(self) -> list[T]:
        """A list of the items, in input order.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(3)).map(str).collect()
            ['0', '1', '2']
        """
        out: list[T] = self._run(Terminal.COLLECT, concat)
        return out

    def for_each(self, f: Callable[[T], object]) -> None:
        """Call ``f`` on every item, on the workers, in no particular order.

        Example:
            >>> from fearless import Mutex, par_iter
            >>> seen = Mutex(set())
            >>> def record(x: int) -> None:
            ...     with seen.lock() as g:
            ...         g.value.add(x)
            >>> par_iter(range(4)).with_backend("threads").for_each(record)
            >>> sorted(seen.into_inner())
            [0, 1, 2, 3]
        """
        if not callable(f):
            raise TypeError("for_each() takes a callable")
        self._run(Terminal.FOR_EACH, _drain, f, ordered=False)

    def reduce(self, identity: Callable[[], T], op: Callable[[T, T], T]) -> T:
        """Combine the items with ``op``, starting from ``identity()`` (rayon's ``reduce``).

        ``op`` must be associative and ``identity()`` its neutral element:
        each chunk starts from ``identity()``, and the chunks' results are
        combined in input order.

        Example:
            >>> import operator
            >>> from fearless import par_iter
            >>> par_iter(range(1, 6)).reduce(lambda: 1, operator.mul)
            120
        """
        if not all_callable(identity, op):
            raise TypeError("reduce() takes two callables: identity() and op(a, b)")
        acc = identity()
        result: T = self._run(Terminal.REDUCE, partial(_combine, op, acc), identity, op)
        return result

    def sum(self: ParIter[N]) -> N:
        """The sum of the items (``0`` for none).

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(101)).sum()
            5050
        """
        result: N = self._run(Terminal.SUM, partial(_combine, operator.add, 0))
        return result

    def min(self: ParIter[C]) -> C | None:
        """The smallest item (the first of equals), or ``None`` when there are none.

        Example:
            >>> from fearless import par_iter
            >>> par_iter([3, 1, 2]).min()
            1
            >>> par_iter([]).min() is None
            True
        """
        found: list[C] = self._run(Terminal.MIN, concat)
        return min(found) if found else None

    def max(self: ParIter[C]) -> C | None:
        """The largest item (the first of equals), or ``None`` when there are none.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["b", "c", "a"]).max()
            'c'
        """
        found: list[C] = self._run(Terminal.MAX, concat)
        return max(found) if found else None

    def count(self) -> int:
        """The number of items.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(10)).filter(lambda x: x % 3 == 0).count()
            4
        """
        return self._run(Terminal.COUNT, sum)

    def any(self, predicate: Callable[[T], object] | None = None) -> bool:
        """Whether ``predicate`` (or the item itself) is true for some item.

        Stops early: once a chunk finds one, the rest is cancelled.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(range(10)).any(lambda x: x > 8)
            True
        """
        return self._run(Terminal.ANY, any, predicate, ordered=False)

    def all(self, predicate: Callable[[T], object] | None = None) -> bool:
        """Whether ``predicate`` (or the item itself) is true for every item.

        Stops early: once a chunk finds a counterexample, the rest is cancelled.

        Example:
            >>> from fearless import par_iter
            >>> par_iter(["a", "b"]).all(str.islower)
            True
        """
        return self._run(Terminal.ALL, all, predicate, ordered=False)

    def __repr__(self) -> str:
        chain = "".join(f".{kind.name.lower()}(...)" for kind, _, _ in self._stages)
        return f"<ParIter par_iter(...){chain} backend={self._backend!r}>"


def par_iter(items: Iterable[T]) -> ParIter[T]:
    """A parallel iterator over ``items`` (rayon's ``.par_iter()``).

    Args:
        items: Any iterable; read lazily, chunk by chunk, by the terminal
            operation.

    Returns:
        A :class:`ParIter` to chain adapters on.

    Example:
        >>> from fearless import par_iter
        >>> par_iter(range(1000)).map(abs).filter(lambda x: x % 7 == 0).count()
        143
    """
    return ParIter(items, (), None, "auto", None)


def _combine(op: Callable[[Any, Any], Any], acc: Any, parts: Iterator[Any]) -> Any:
    """``op(...op(op(acc, p0), p1)..., pn)`` over the chunks' partial results, in order."""
    for part in parts:
        acc = op(acc, part)
    return acc


def _drain(parts: Iterator[Any]) -> None:
    """Run the chunks to their end (``for_each``: their results are all ``None``)."""
    for _ in parts:
        pass
