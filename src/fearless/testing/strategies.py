"""Hypothesis strategies for concurrent programs over your own API.

:func:`programs` draws a :class:`Program`: a few threads, each a short list
of calls to operations you name, with arguments from strategies you give.
:meth:`Program.run` runs one on your object, a thread per list, recording
every call in a :class:`~fearless.testing.History`; check it with
:func:`~fearless.testing.assert_linearizable`, under
:func:`~fearless.testing.explore` for every interleaving. Hypothesis
shrinks a failing program to fewer threads' calls and simpler arguments.

>>> from hypothesis import given, settings, strategies as st
>>> from fearless import Mutex
>>> from fearless.testing import History, assert_linearizable, explore
>>> from fearless.testing.strategies import programs
>>> class Counter:                             # the object under test
...     def __init__(self):
...         self.n = Mutex(0)
...     def add(self, k):
...         with self.n.lock() as guard:
...             guard.value += k
...             return guard.value
>>> def model(n, op):                          # what each call should return
...     return n + op.args[0], n + op.args[0]
>>> @settings(max_examples=20, database=None)
... @given(programs({"add": st.tuples(st.integers(0, 3))}, threads=2, max_calls=2))
... def test_counter(program):
...     def run():
...         history = History()
...         program.run(Counter(), history)
...         assert_linearizable(history, model, 0)
...     explore(run, strategy="random", schedules=5, seed=0)
>>> test_counter()

Requires Hypothesis (``pip install 'fearless[testing]'``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._testing.linearizability import History, call_text
from .._testing.strategies import check_hypothesis
from .._thread import scope

check_hypothesis()

from hypothesis import strategies as st  # noqa: E402 - after the check that says what to install

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ("Call", "Program", "calls", "programs")


@dataclass(frozen=True)
class Call:
    """One call a program's thread makes: ``target.<name>(*args)``.

    Attributes:
        name: The operation: a method of the object the program runs on.
        args: Its arguments.
    """

    name: str
    args: tuple[Any, ...]

    def __str__(self) -> str:
        return call_text(self.name, self.args)


@dataclass(frozen=True)
class Program:
    """Calls for a few threads to make at once, each thread's in order.

    Attributes:
        threads: Each thread's calls.
    """

    threads: tuple[tuple[Call, ...], ...]

    def run(self, target: object, history: History | None = None) -> None:
        """Run each thread's calls on ``target`` in a thread of its own; wait for them all.

        With a ``history``, every call is recorded in it, and an
        ``Exception`` a call raises is recorded and not raised (whether it
        should have been is the model's to say); the thread goes on with
        its next call. Without one, an exception ends its thread, and the
        scope raises it at the end, in an ``ExceptionGroup`` (as
        :func:`~fearless.scope` does). The threads are named ``"thread 1"``,
        ``"thread 2"``..., as ``str(program)`` shows them.

        Raises:
            AttributeError: ``target`` has no such operation.
        """
        for calls in self.threads:
            for call in calls:
                if not callable(getattr(target, call.name, None)):
                    raise AttributeError(
                        f"the program calls {call.name}(), which {type(target).__name__} "
                        "does not have (name the object's methods in programs())"
                    )
        with scope() as s:
            for number, calls in enumerate(self.threads, 1):
                s.spawn(self._run_thread, number, target, calls, history)

    @staticmethod
    def _run_thread(
        number: int, target: object, calls: tuple[Call, ...], history: History | None
    ) -> None:
        _name_this_thread(f"thread {number}")
        for call in calls:
            operation = getattr(target, call.name)
            if history is None:
                operation(*call.args)
                continue
            try:
                history.record(call.name, operation, *call.args)
            except Exception:  # recorded in the history: the model judges it
                continue

    def __str__(self) -> str:
        return "; ".join(
            f"thread {i}: {', '.join(map(str, calls)) or '(nothing)'}"
            for i, calls in enumerate(self.threads, 1)
        )


def _name_this_thread(name: str) -> None:
    """Name the thread as ``str(program)`` does, in the history and in a failure's trace.

    A function of its own: what ``Program._run_thread`` calls directly is
    traced as the test's call (``trace="all"``), and this is fearless's.
    """
    threading.current_thread().name = name


def _check_api(api: object) -> Mapping[str, SearchStrategy[tuple[Any, ...]]]:
    if not isinstance(api, Mapping) or not api:
        raise TypeError(
            "programs() takes a mapping of operation names to strategies of argument tuples, "
            f'such as {{"push": st.tuples(st.integers()), "pop": st.just(())}}, got {api!r}'
        )
    for name, arguments in api.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"an operation is named by a method name, got {name!r}")
        if not isinstance(arguments, st.SearchStrategy):
            raise TypeError(
                f"the arguments of {name}() come from a strategy of tuples "
                f"(st.tuples(...), or st.just(()) for none), got {arguments!r}"
            )
    return api


def _checked_args(name: str, args: object) -> tuple[Any, ...]:
    if not isinstance(args, tuple):
        raise TypeError(
            f"the strategy for {name}() drew {args!r}: it must draw a tuple of arguments "
            "(st.tuples(...), or st.just(()) for none)"
        )
    return args


def calls(api: Mapping[str, SearchStrategy[tuple[Any, ...]]]) -> SearchStrategy[Call]:
    """A strategy for one call of an operation of ``api``, with its arguments.

    Args:
        api: Each operation's name (a method of the object the program runs
            on) and a strategy for its argument tuples.

    Raises:
        TypeError: ``api`` is not such a mapping.
    """
    checked = _check_api(api)
    return st.one_of(*(_calls_of(name, arguments) for name, arguments in checked.items()))


def _calls_of(name: str, arguments: SearchStrategy[tuple[Any, ...]]) -> SearchStrategy[Call]:
    def call(args: object) -> Call:
        return Call(name, _checked_args(name, args))

    return arguments.map(call)


def programs(
    api: Mapping[str, SearchStrategy[tuple[Any, ...]]],
    *,
    threads: int = 2,
    min_calls: int = 1,
    max_calls: int = 3,
) -> SearchStrategy[Program]:
    """A strategy for programs of ``threads`` threads, each making calls of ``api``.

    Args:
        api: Each operation's name (a method of the object the program runs
            on) and a strategy for its argument tuples:
            ``{"push": st.tuples(st.integers()), "pop": st.just(())}``.
        threads: How many threads a program has.
        min_calls: The fewest calls each thread makes.
        max_calls: The most calls each thread makes. Small is best: the
            interleavings to explore grow exponentially with the calls.

    Raises:
        TypeError: ``api`` is not such a mapping, or a count is not an int.
        ValueError: ``threads`` < 1, ``min_calls`` < 0 or ``max_calls`` <
            ``min_calls``.
    """
    one = calls(api)
    counts: tuple[tuple[str, object], ...] = (
        ("threads", threads),
        ("min_calls", min_calls),
        ("max_calls", max_calls),
    )
    for label, value in counts:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{label} must be an int, got {value!r}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if min_calls < 0 or max_calls < min_calls:
        raise ValueError(
            f"need 0 <= min_calls <= max_calls, got min_calls={min_calls}, max_calls={max_calls}"
        )
    thread = st.lists(one, min_size=min_calls, max_size=max_calls).map(tuple)
    return st.tuples(*(thread for _ in range(threads))).map(Program)
