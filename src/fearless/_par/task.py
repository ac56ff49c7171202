"""The worker protocol: what a chunk carries to a worker, what it brings back.

A :class:`Task` is one chunk of the input plus the fused :class:`Pipeline`
to apply to it (a tuple of :class:`Stage` steps and one :class:`Terminal`);
calling it on a worker returns one of three outcomes, :class:`Done`,
:class:`Failed` or :class:`Cancelled`, and never raises for a failing item,
so the caller learns *which* item failed. :class:`Token` is the caller's
cancellation flag. :data:`worker` is the one per-process record of what
this process is to fearless (a worker process of the processes backend, or
not); the processes backend's initialiser fills it in each worker.

Tasks cross process boundaries (processes, interpreters, Dask), so
everything here pickles small and by reference: worker processes unpickle
``fearless._par.task.Task`` and friends by module path. This module relies
on nothing of fearless's: it must stay cheap to import.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from enum import IntEnum
from functools import partial
from itertools import chain, islice
from operator import is_not, length_hint
from typing import Any, Final, NamedTuple

__all__ = [
    "Cancelled",
    "Done",
    "Failed",
    "Pipeline",
    "Stage",
    "Task",
    "Terminal",
    "Token",
    "WorkerState",
    "worker",
]


class Stage(IntEnum):
    """An adapter of a pipeline: ``(Stage, f, g)`` in :attr:`Pipeline.stages`."""

    MAP = 0
    FILTER = 1
    FLAT_MAP = 2
    FOLD = 3  # f is identity(), g is op(acc, x)
    FILTER_MAP = 4  # map, then drop the Nones (rayon's filter_map over Option)


class Terminal(IntEnum):
    """What each chunk hands back, reduced from the values its stages produce."""

    COLLECT = 0  # the list of values
    FOR_EACH = 1  # None (the values were consumed by a function)
    REDUCE = 2  # op-reduced value, starting from identity()
    SUM = 3
    MIN = 4  # (value,) or () when the chunk had no value
    MAX = 5
    COUNT = 6
    ANY = 7  # bool; short-circuits
    ALL = 8


class Done(NamedTuple):
    """A chunk ran to its end."""

    partial: Any  #: What the terminal made of the chunk.
    consumed: int  #: Items read (all of them, unless ANY/ALL stopped early).
    seconds: float  #: How long the chunk took on the worker.


class Failed(NamedTuple):
    """An item of the chunk raised."""

    item: int  #: The input index of the item.
    error: BaseException
    #: The formatted traceback, when the error crossed a process boundary.
    traceback: str | None


class Cancelled(NamedTuple):
    """The chunk saw its token cancelled and stopped."""


Outcome = Done | Failed | Cancelled


class WorkerState:
    """What this process is to fearless; one instance per process, :data:`worker`.

    Outside a worker process of the processes backend every attribute keeps
    its default. That backend's initialiser calls :meth:`enter_process` in
    each worker it starts.

    Attributes:
        in_process: Whether this is a worker process of the processes
            backend (nested parallel calls there run inline).
        slots: The pool's shared array of ``(pid, item index)`` slots, or
            ``None``. A task running here writes the index of each item it
            starts into ``slots[slot_pos]``, so that the parent can name the
            item a worker that died was running.
        slot_pos: This worker's item-index entry in ``slots``.
    """

    __slots__ = ("in_process", "slot_pos", "slots")

    def __init__(self) -> None:
        self.in_process = False
        self.slots: Any = None
        self.slot_pos = 0

    def enter_process(self, slots: Any, slot_pos: int) -> None:
        """Mark this process a worker process writing its item index to ``slots[slot_pos]``."""
        self.slots = slots
        self.slot_pos = slot_pos
        self.in_process = True


#: This process's worker state.
worker: Final = WorkerState()


class Token:
    """A cancellation flag shared by the caller and its chunks (threads only).

    The caller sets ``cancelled``; a chunk running in this process checks it
    between rounds of items (about every millisecond, see :func:`_rounds`)
    and stops. A chunk sent to another process carries a copy, which never
    changes: those are stopped by the backend instead.
    """

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def __reduce__(self) -> tuple[type[Token], tuple[()]]:
        return (Token, ())


class _Cancelled(Exception):
    pass


class Pipeline:
    """The fused chain of adapters and the terminal step, applied to one chunk."""

    __slots__ = ("stages", "terminal", "terminal_args")

    def __init__(
        self,
        stages: tuple[tuple[Stage, Any, Any], ...],
        terminal: Terminal,
        terminal_args: tuple[Any, ...] = (),
    ) -> None:
        self.stages = stages
        self.terminal = terminal
        self.terminal_args = terminal_args

    def __reduce__(self) -> tuple[type[Pipeline], tuple[Any, ...]]:
        return (Pipeline, (self.stages, self.terminal, self.terminal_args))

    def apply(self, values: Iterator[Any]) -> Any:
        """Run the stages lazily over ``values`` and reduce them as the terminal says."""
        it: Iterator[Any] = values
        for kind, f, g in self.stages:
            if kind == Stage.MAP:
                it = map(f, it)
            elif kind == Stage.FILTER:
                it = filter(f, it)
            elif kind == Stage.FLAT_MAP:
                it = chain.from_iterable(map(f, it))
            elif kind == Stage.FILTER_MAP:
                it = filter(_is_not_none, map(f, it))
            else:
                it = _fold(it, f, g)
        return _TERMINALS[self.terminal](it, *self.terminal_args)


#: ``filter_map``'s test, in C: ``_is_not_none(x)`` is ``None is not x``.
_is_not_none = partial(is_not, None)


def _fold(values: Iterator[Any], identity: Callable[[], Any], op: Callable[[Any, Any], Any]) -> Any:
    acc = identity()
    for value in values:
        acc = op(acc, value)
    yield acc


def _for_each(it: Iterator[Any], f: Callable[[Any], object]) -> None:
    for value in it:
        f(value)


def _reduce(it: Iterator[Any], identity: Callable[[], Any], op: Callable[[Any, Any], Any]) -> Any:
    acc = identity()
    for value in it:
        acc = op(acc, value)
    return acc


def _found(pick: Callable[..., Any], it: Iterator[Any]) -> tuple[Any, ...]:
    empty = object()
    found = pick(it, default=empty)
    return () if found is empty else (found,)


def _count(it: Iterator[Any]) -> int:
    n = 0
    for _ in it:
        n += 1
    return n


def _any(it: Iterator[Any], predicate: Callable[[Any], object] | None) -> bool:
    return any(map(predicate, it)) if predicate is not None else any(it)


def _all(it: Iterator[Any], predicate: Callable[[Any], object] | None) -> bool:
    return all(map(predicate, it)) if predicate is not None else all(it)


#: Each terminal, called as ``_TERMINALS[terminal](values, *terminal_args)``.
_TERMINALS: Final[dict[Terminal, Callable[..., Any]]] = {
    Terminal.COLLECT: list,
    Terminal.FOR_EACH: _for_each,
    Terminal.REDUCE: _reduce,
    Terminal.SUM: sum,
    Terminal.MIN: partial(_found, min),
    Terminal.MAX: partial(_found, max),
    Terminal.COUNT: _count,
    Terminal.ANY: _any,
    Terminal.ALL: _all,
}


def _source(items: Iterator[Any], index: int) -> Iterator[Any]:
    """The items one by one, each index written to this worker process's slot first."""
    shared = worker.slots
    pos = worker.slot_pos
    for item in items:
        shared[pos] = index
        yield item
        index += 1


#: A chunk run in this process is fed to its pipeline in rounds (see
#: :func:`_rounds`); a round grows, doubling, while it takes less than this.
_ROUND_SECONDS: Final = 0.001
_MAX_ROUND: Final = 4096


def _rounds(it: Iterator[Any], count: int, token: Token) -> Iterator[Iterator[Any]]:
    """``count`` items of the list iterator ``it``, as slices of growing size.

    Chained, the slices feed the pipeline at C speed: nothing in Python runs
    per item but the user's functions. (A generator per item, which checked
    the token and recorded the index, held two threads of free-threaded
    3.13 to 0.84-1.13x sequential on 200,000 items of 1 us; this runs them
    at 1.43-1.75x.) The cancellation token is checked between rounds, and a
    round doubles only while it takes less than ``_ROUND_SECONDS``, so a
    cancelled chunk stops within about a millisecond or one item, whichever
    is longer.
    """
    step = 1
    clock = time.perf_counter
    while count > 0:
        if token.cancelled:
            raise _Cancelled
        began = clock()
        yield islice(it, step)
        count -= step
        if step < _MAX_ROUND and clock() - began < _ROUND_SECONDS:
            step *= 2


class Task:
    """One chunk of the input and what to do with it; called on a worker.

    Returns a :class:`Done`, :class:`Failed` or :class:`Cancelled` outcome;
    it never raises for a failing item, so the caller learns *which* item
    failed.
    """

    __slots__ = ("items", "pipeline", "start", "token")

    def __init__(self, pipeline: Pipeline, start: int, items: list[Any], token: Token) -> None:
        self.pipeline = pipeline
        self.start = start
        self.items = items
        self.token = token

    def __reduce__(self) -> tuple[type[Task], tuple[Any, ...]]:
        return (Task, (self.pipeline, self.start, self.items, self.token))

    def __call__(self) -> Outcome:
        items = self.items
        start = self.start
        began = time.perf_counter()
        it = iter(items)
        if worker.slots is None:
            # Items consumed so far: len(items) - length_hint(it), exact for
            # a list iterator; the item at work is the last one consumed.
            source: Iterator[Any] = chain.from_iterable(_rounds(it, len(items), self.token))
        else:
            # A worker process reports every item it starts in its slot.
            source = _source(it, start)
        try:
            partial = self.pipeline.apply(source)
        except _Cancelled:
            return Cancelled()
        except BaseException as exc:
            tb = exc.__traceback__
            if tb is not None and tb.tb_next is not None:
                exc.__traceback__ = tb.tb_next  # start at the user's code, not here
            index = start + max(0, len(items) - length_hint(it) - 1)
            if worker.in_process:
                return Failed(index, exc, "".join(traceback.format_exception(exc)))
            return Failed(index, exc, None)
        finally:
            self.items = []  # drop the inputs as soon as they are used
        consumed = len(items) - length_hint(it)
        return Done(partial, consumed, time.perf_counter() - began)
