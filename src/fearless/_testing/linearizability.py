"""Linearizability: a concurrent history against a sequential model (internal).

:class:`History` records operations as threads call them -- when each
began and ended, in one order shared by every thread, and what it returned
or raised. :func:`assert_linearizable` then looks for one sequential order
of those operations that (1) keeps every operation that ended before
another began ahead of it, and (2) makes a sequential model of the object
return what each operation returned. Herlihy and Wing's definition; the
search is Wing and Gong's, with Lowe's memo of (operations placed, model
state) pairs already tried, as in Porcupine and Knossos.

An operation that began and never ended (its thread was stopped, or is
still running) may have taken effect or not: it is placed anywhere after
it began, with whatever result the model gives, or left out.

The recorder's lock is a real one from ``_thread``, never the explorer's:
recording is not a switch point, so a recorded program takes the same
steps as the bare one. Relies on nothing else of fearless's.
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Generic, TypeVar

__all__ = [
    "History",
    "NotLinearizable",
    "Operation",
    "PendingCall",
    "assert_linearizable",
    "call_text",
]

S = TypeVar("S")
R = TypeVar("R")

#: Where an operation that never ended ends, for the order between operations.
_NEVER: Final = float("inf")


def call_text(name: str, args: tuple[Any, ...]) -> str:
    """A call as it reads in a report: ``push(1)``."""
    return f"{name}({', '.join(map(repr, args))})"


@dataclass(frozen=True)
class Operation:
    """One recorded call: who made it, what it was, when it began and ended, what came of it.

    Attributes:
        name: The operation, as the model knows it (``"push"``).
        args: Its arguments.
        thread: The name of the thread that called it (``#2``, ``#3``...
            added when threads alive at the same time share a name).
        begin: Its place in the history's order of events, when it was called.
        end: Its place when it returned or raised; ``None`` if it never did.
        result: What it returned (``None`` if it raised or never ended).
        raised: The exception it raised, if it did.
    """

    name: str
    args: tuple[Any, ...]
    thread: str
    begin: int
    end: int | None
    result: Any = None
    raised: BaseException | None = None

    @property
    def ended(self) -> bool:
        """Whether the call returned or raised (else it may or may not have taken effect)."""
        return self.end is not None

    def __str__(self) -> str:
        call = call_text(self.name, self.args)
        if self.end is None:
            outcome = "(never ended)"
        elif self.raised is not None:
            outcome = f"raised {self.raised!r}"
        else:
            outcome = f"-> {self.result!r}"
        end = "..." if self.end is None else str(self.end)
        return f"[{self.begin}-{end}] {self.thread}: {call} {outcome}"


class PendingCall:
    """An operation that :meth:`History.invoke` began: say how it ended, once."""

    __slots__ = ("_history",)

    def __init__(self, history: History) -> None:
        # What the call was is the history's record of it, keyed by this handle.
        self._history = history

    def returned(self, result: object = None) -> None:
        """The call returned ``result``.

        Raises:
            RuntimeError: Its end was recorded already.
        """
        self._history._end(self, result, None)

    def raised(self, error: BaseException) -> None:
        """The call raised ``error``.

        Raises:
            RuntimeError: Its end was recorded already.
            TypeError: ``error`` is not an exception.
        """
        if not isinstance(error, BaseException):
            raise TypeError(f"raised() takes the exception the call raised, got {error!r}")
        self._history._end(self, None, error)


class History:
    """Operations on one shared object, as concurrent threads called them.

    Record each call with :meth:`record` (call and record in one), or with
    :meth:`invoke` before the call and the returned handle's ``returned()``
    or ``raised()`` after it. Then check the history with
    :func:`assert_linearizable`. Safe to use from any number of threads;
    under :func:`~fearless.testing.explore` recording is not a switch point.

    Example:
        >>> from fearless import Mutex, scope
        >>> from fearless.testing import History, assert_linearizable
        >>> counter, history = Mutex(0), History()
        >>> def increment() -> int:             # returns the value it saw
        ...     with counter.lock() as guard:
        ...         guard.value += 1
        ...         return guard.value - 1
        >>> with scope() as s:
        ...     for _ in range(3):
        ...         _ = s.spawn(history.record, "increment", increment)
        >>> def model(n: int, op):              # the counter, one call at a time
        ...     return n, n + 1
        >>> order = assert_linearizable(history, model, 0)
        >>> sorted(op.result for op in order)
        [0, 1, 2]
    """

    __slots__ = ("_calls", "_clock", "_lock", "_names")

    def __init__(self) -> None:
        # A real lock: a switch point here would change the program's steps.
        self._lock = _thread.allocate_lock()
        self._clock = 0
        self._calls: dict[PendingCall, Operation] = {}
        # Each thread's name in this history, by identity and own name (an
        # identity is reused once its thread ended): its own, made unique.
        self._names: dict[tuple[int, str], str] = {}

    def _thread_name(self) -> str:
        """This thread's name, with ``#2``, ``#3``... if another thread of the history had it."""
        base = threading.current_thread().name
        key = (threading.get_ident(), base)
        try:
            return self._names[key]
        except KeyError:
            pass
        name = base
        taken = set(self._names.values())
        count = 1
        while name in taken:
            count += 1
            name = f"{base}#{count}"
        self._names[key] = name
        return name

    def invoke(self, name: str, *args: object) -> PendingCall:
        """Record that this thread calls ``name(*args)`` now; record its end on the handle.

        Raises:
            TypeError: ``name`` is not a string.
        """
        if not isinstance(name, str):
            raise TypeError(f"an operation is named by a string, got {name!r}")
        with self._lock:
            thread = self._thread_name()
            begin = self._clock
            self._clock += 1
            call = PendingCall(self)
            self._calls[call] = Operation(name, args, thread, begin, None)
        return call

    def record(self, name: str, fn: Callable[..., R], /, *args: object) -> R:
        """Call ``fn(*args)``, recorded as operation ``name`` with ``args``.

        Returns what ``fn`` returned; an exception it raised is recorded and
        propagates. Takes positional arguments only, so that it can be
        handed to ``spawn`` with its own: ``s.spawn(history.record, "pop",
        stack.pop)``.
        """
        call = self.invoke(name, *args)
        try:
            result = fn(*args)
        except BaseException as error:
            call.raised(error)
            raise
        call.returned(result)
        return result

    def _end(self, call: PendingCall, result: object, error: BaseException | None) -> None:
        with self._lock:
            started = self._calls[call]
            if started.end is not None:
                raise RuntimeError(f"the end of {started.name}() was recorded already")
            self._calls[call] = replace(started, end=self._clock, result=result, raised=error)
            self._clock += 1

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every recorded operation, in the order they began (a snapshot)."""
        with self._lock:
            return tuple(sorted(self._calls.values(), key=lambda op: op.begin))

    def __len__(self) -> int:
        return len(self._calls)

    def __repr__(self) -> str:
        return f"<History of {len(self)} operations>"


class NotLinearizable(AssertionError):
    """No sequential order of the history's operations explains what they returned.

    Raised by :func:`assert_linearizable`; an ``AssertionError``, so inside
    :func:`~fearless.testing.explore` it fails the schedule like any
    assertion.

    Attributes:
        operations: The history, in the order the operations began.
        longest: The longest order found that the model agrees with, as far
            as it goes.
        stuck: The operations that could have come next after ``longest``
            and did not return what the model says they would.
    """

    def __init__(
        self,
        operations: Sequence[Operation],
        longest: Sequence[Operation],
        stuck: Sequence[Operation],
    ) -> None:
        self.operations = tuple(operations)
        self.longest = tuple(longest)
        self.stuck = tuple(stuck)
        lines = ["not linearizable: no order of the operations explains what they returned"]
        lines.append("history (begin-end in one order of events):")
        lines.extend(f"  {op}" for op in self.operations)
        if self.longest:
            lines.append("the longest order the model agrees with:")
            lines.extend(f"  {op}" for op in self.longest)
        lines.append("after it, none of these returns what the model says:")
        lines.extend(f"  {op}" for op in self.stuck)
        super().__init__("\n".join(lines))


def _agrees(expected: object, op: Operation) -> bool:
    """Whether the model's ``expected`` outcome is what ``op`` did."""
    if not op.ended:
        return True  # never ended: any outcome
    if op.raised is not None:
        if isinstance(expected, type) and issubclass(expected, BaseException):
            return isinstance(op.raised, expected)
        return (
            isinstance(expected, BaseException)
            and type(expected) is type(op.raised)
            and expected.args == op.raised.args
        )
    if isinstance(expected, BaseException) or (
        isinstance(expected, type) and issubclass(expected, BaseException)
    ):
        return False
    return bool(expected == op.result)


def assert_linearizable(
    history: History | Sequence[Operation],
    model: Callable[[S, Operation], tuple[object, S]],
    initial: S,
) -> tuple[Operation, ...]:
    """Check that some sequential order of the history explains every result.

    The order must keep each operation that ended before another began
    ahead of it (real time), and the model, run in that order from
    ``initial``, must give each operation the outcome it had.

    Args:
        history: A :class:`History`, or its operations.
        model: The object's sequential specification: given the state
            before an operation and the operation (its ``name`` and
            ``args``), the outcome it should have -- the value it returns,
            or an exception (an instance, compared by type and ``args``, or
            a class) if it should raise -- and the state after it. It must
            not change the state it is given. Hashable states let the
            search skip what it has tried.
        initial: The model's state before the first operation.

    Returns:
        One such order: every operation that ended, and those that never
        ended and had to take effect.

    Raises:
        NotLinearizable: There is no such order; the error shows the history,
            the longest order the model agrees with, and the operations that
            could not come after it.

    Example:
        A register whose ``write`` is lost: ``read`` returned 0 after a
        ``write(1)`` had ended.

        >>> from fearless.testing import NotLinearizable, Operation
        >>> history = [
        ...     Operation("write", (1,), "A", begin=0, end=1),
        ...     Operation("read", (), "B", begin=2, end=3, result=0),
        ... ]
        >>> def register(value: int, op: Operation):
        ...     return (None, op.args[0]) if op.name == "write" else (value, value)
        >>> try:
        ...     assert_linearizable(history, register, 0)
        ... except NotLinearizable as error:
        ...     print(*error.stuck, sep="\\n")
        [2-3] B: read() -> 0
    """
    operations = history.operations if isinstance(history, History) else tuple(history)
    for op in operations:
        if not isinstance(op, Operation):
            raise TypeError(f"a history holds Operation objects, got {op!r}")
    return _Search(operations, model).run(initial)


class _Search(Generic[S]):
    """Wing and Gong's search with Lowe's memo, over one history."""

    def __init__(
        self, operations: Sequence[Operation], model: Callable[[S, Operation], tuple[object, S]]
    ) -> None:
        self.ops = sorted(operations, key=lambda op: op.begin)
        self.model = model
        self.ends = [_NEVER if op.end is None else op.end for op in self.ops]
        self.must = sum(1 << i for i, op in enumerate(self.ops) if op.ended)
        self.tried: set[tuple[int, Hashable]] = set()
        self.longest: list[Operation] = []
        self.stuck: list[Operation] = []

    def run(self, initial: S) -> tuple[Operation, ...]:
        order: list[Operation] = []
        if self._place(0, initial, order):
            return tuple(order)
        raise NotLinearizable(self.ops, self.longest, self.stuck)

    def _candidates(self, placed: int) -> list[int]:
        """The operations that may go next: none left unplaced ended before they began."""
        left = [i for i in range(len(self.ops)) if not placed >> i & 1]
        if not left:
            return []
        first_end = min(self.ends[i] for i in left)
        return [i for i in left if self.ops[i].begin < first_end]

    def _place(self, placed: int, state: S, order: list[Operation]) -> bool:
        if placed & self.must == self.must:
            return True
        try:
            key: tuple[int, Hashable] | None = (placed, state)
            if key in self.tried:
                return False
        except TypeError:  # an unhashable state: no memo
            key = None
        failed: list[Operation] = []
        for i in self._candidates(placed):
            op = self.ops[i]
            expected, after = self.model(state, op)
            if not _agrees(expected, op):
                failed.append(op)
                continue
            order.append(op)
            if self._place(placed | 1 << i, after, order):
                return True
            order.pop()
        if key is not None:
            self.tried.add(key)
        if len(order) >= len(self.longest) and failed:
            self.longest, self.stuck = list(order), failed
        return False
