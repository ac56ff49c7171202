"""What a run reports: its steps, its replay string, and the public results (internal).

:class:`Step` is one switch point of a recorded run, named by the fearless
call the user made (found by walking the stack out of fearless's frames:
:func:`api_call`) and the user's line. :func:`render` turns a run's steps
into the trace a :class:`ScheduleFailure` shows; :func:`encode_schedule`
and :func:`decode_schedule` turn a run's decisions into the ``replay=``
string and back. :class:`Exploration` and the failures are what
:func:`fearless.testing.explore` returns and raises. This module relies on
nothing of the scheduler's but its types, and on :mod:`.declarations`.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import linecache
import math
import os
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Final, Literal, NamedTuple

from .declarations import THREAD_BODIES

if TYPE_CHECKING:
    from .scheduler import SimThread

__all__ = [
    "EXAMPLES_DIR",
    "NONDETERMINISTIC",
    "DeadlockFound",
    "Exploration",
    "Mismatch",
    "ScheduleFailure",
    "Step",
    "StepLimitExceeded",
    "api_call",
    "callable_name",
    "creator",
    "decode_replay",
    "decode_schedule",
    "encode_schedule",
    "fingerprint",
    "is_explorer",
    "is_fearless",
    "make_step",
    "render",
    "user_stack",
]

_TESTING_DIR: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep
_FEARLESS_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: The tour's examples are installed inside the package, but they are user code.
EXAMPLES_DIR: Final = _FEARLESS_DIR + "_examples" + os.sep
_REPLAY_VERSION: Final = "1"
#: A replay string that also records the test's fingerprint (see :func:`fingerprint`).
_FINGERPRINTED: Final = "2"
_FINGERPRINT_DIGITS: Final = 6
_THREAD_BODIES: Final = frozenset(qualname for _, qualname in THREAD_BODIES)


def is_fearless(filename: str) -> bool:
    """Whether ``filename`` is fearless's own code (not traced, not shown as user code)."""
    return filename.startswith(_FEARLESS_DIR) and not filename.startswith(EXAMPLES_DIR)


def is_explorer(filename: str) -> bool:
    """Whether ``filename`` is the explorer's own code (this package): never the API called."""
    return filename.startswith(_TESTING_DIR)


# -- steps ----------------------------------------------------------------------------


class Step(NamedTuple):
    """One switch point of a recorded run: who was about to do what, and where."""

    thread: int
    thread_name: str
    operation: str
    location: str
    source: str

    def __str__(self) -> str:
        where = f"{self.location}  {self.source}" if self.source else self.location
        return f"T{self.thread} {self.thread_name[:10]:<10} {self.operation:<20} {where}"


def _is_library_frame(frame: FrameType) -> bool:
    filename = frame.f_code.co_filename
    return is_fearless(filename) or filename == threading.__file__


def make_step(me: SimThread, operation: str, frame: FrameType | None) -> Step:
    """The record of a switch point: ``frame`` is the user's (a traced line), else found."""
    if frame is None:  # a fearless operation: name it by the API the user called
        api, user = api_call(sys._getframe(2))
        if api is not None:
            operation = api
    else:
        user = frame
    if user is None:
        return Step(me.index, me.name, operation, "", "")
    filename = user.f_code.co_filename
    lineno = user.f_lineno or 0
    source = linecache.getline(filename, lineno).strip()
    return Step(me.index, me.name, operation, f"{os.path.basename(filename)}:{lineno}", source)


def api_call(frame: FrameType | None) -> tuple[str | None, FrameType | None]:
    """The library call the user made (``"Mutex.lock"``) and the user's frame.

    The call is the outermost library frame under the user's frame; with no
    user frame at all (a thread starting or ending), it is named for that.
    """
    api: FrameType | None = None
    bootstrap = False
    while frame is not None and _is_library_frame(frame):
        code = frame.f_code
        if not is_explorer(code.co_filename):
            if code.co_qualname in _THREAD_BODIES:
                bootstrap = True  # spawn's thread body: not an API call
            else:
                api = frame
        frame = frame.f_back
    if api is None:
        return ("thread ends" if bootstrap else None), frame
    code = api.f_code
    owner = api.f_locals.get("self") if "self" in code.co_varnames else None
    if owner is not None:
        return f"{type(owner).__name__}.{code.co_name}", frame
    return code.co_qualname, frame


def user_stack(frame: FrameType) -> list[str]:
    """The user code frames of ``frame``'s stack, innermost last."""
    entries = traceback.extract_stack(frame)
    kept = [e for e in entries if not is_fearless(e.filename) and e.filename != threading.__file__]
    return [line.rstrip() for line in traceback.format_list(kept)]


def creator(frame: FrameType | None) -> str | None:
    """The fearless class whose ``__init__`` (or helper) is allocating a lock."""
    depth = 0
    while frame is not None and depth < 6:
        filename = frame.f_code.co_filename
        if is_fearless(filename) and not is_explorer(filename):
            self = frame.f_locals.get("self")
            if self is not None and type(self).__module__.startswith("fearless"):
                return type(self).__name__.lstrip("_")
        depth += 1
        frame = frame.f_back
    return None


def callable_name(target: Callable[[], object]) -> str | None:
    """The name a spawned thread gets from its function, when it has one."""
    name = getattr(target, "__name__", None)  # fearless.spawn's packet copies the function's
    return name if isinstance(name, str) else None


def render(steps: tuple[Step, ...] | list[Step], *, around: int = 2) -> str:
    """The steps of a run as text, one line per step, long stretches of one thread shortened."""
    if not steps:
        return "(no steps recorded)"
    switches = sum(1 for a, b in itertools.pairwise(steps) if a.thread != b.thread)
    lines = [f"schedule: {len(steps)} steps, {switches} context switches"]
    for _, group in itertools.groupby(steps, key=lambda s: s.thread):
        run = list(group)
        if len(run) > 2 * around + 1:
            lines.extend(f"  {s}" for s in run[:around])
            lines.append(f"       ... {len(run) - 2 * around} more steps of T{run[0].thread}")
            lines.extend(f"  {s}" for s in run[-around:])
        else:
            lines.extend(f"  {s}" for s in run)
    return "\n".join(lines)


# -- replay strings -----------------------------------------------------------------------


def encode_schedule(decisions: list[int], fingerprint: str | None = None) -> str:
    """``[0, 0, 0, 1, 1, 0]`` -> ``"1:0*3-1*2-0"``; with a fingerprint: ``"2:<it>:0*3-1*2-0"``."""
    parts = []
    for index, group in itertools.groupby(decisions):
        n = sum(1 for _ in group)
        parts.append(str(index) if n == 1 else f"{index}*{n}")
    body = "-".join(parts)
    if fingerprint is None:
        return f"{_REPLAY_VERSION}:{body}"
    return f"{_FINGERPRINTED}:{fingerprint}:{body}"


def decode_schedule(text: str) -> list[int]:
    """The decisions of a replay string (see :func:`encode_schedule`)."""
    return decode_replay(text)[1]


def decode_replay(text: str) -> tuple[str | None, list[int]]:
    """The test's fingerprint (None in a version-1 string) and the decisions of a replay string."""
    if not isinstance(text, str):
        raise TypeError(f"replay must be a schedule string, got {type(text).__name__}")
    version, sep, body = text.strip().partition(":")
    fingerprint: str | None = None
    if sep and version == _FINGERPRINTED:
        fingerprint, sep, body = body.partition(":")
        if not _is_fingerprint(fingerprint):
            sep = ""
    if not sep or version not in {_REPLAY_VERSION, _FINGERPRINTED}:
        raise ValueError(
            f"{text!r} is not a fearless.testing schedule: copy the replay='...' string "
            "printed by a failing explore()"
        )
    decisions: list[int] = []
    for part in body.split("-") if body else ():
        index, star, count = part.partition("*")
        try:
            n = int(count) if star else 1
            thread = int(index)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a fearless.testing schedule: bad part {part!r}"
            ) from None
        if n < 1 or thread < 0:
            raise ValueError(f"{text!r} is not a fearless.testing schedule: bad part {part!r}")
        decisions.extend([thread] * n)
    return fingerprint, decisions


def _is_fingerprint(text: str) -> bool:
    return len(text) == _FINGERPRINT_DIGITS and all(c in "0123456789abcdef" for c in text)


def fingerprint(fn: Callable[..., object]) -> str | None:
    """A short hash of the test's source, which a replay string records; None without source.

    The source rather than the bytecode, so that it does not change with the
    Python version; blank lines and indentation do not count. Only the test
    function itself (with the functions defined in it): a change to the
    code under test -- the fix -- leaves a replay valid, so that the failing
    schedule can show that the fix holds.
    """
    target: object = fn
    while isinstance(target, functools.partial):
        target = target.func
    code = getattr(target, "__code__", None)
    if code is None:
        code = getattr(inspect.getattr_static(type(target), "__call__", None), "__code__", None)
    if not isinstance(code, CodeType):
        return None
    known = _fingerprints.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    try:
        lines, _ = inspect.getsourcelines(code)
    except (OSError, TypeError):
        found = None
    else:
        text = "\n".join(line.strip() for line in lines if line.strip())
        digest = hashlib.blake2b(text.encode(), digest_size=_FINGERPRINT_DIGITS // 2)
        found = digest.hexdigest()
    if len(_fingerprints) >= _FINGERPRINTS_KEPT:
        _fingerprints.clear()
    _fingerprints[id(code)] = (code, found)
    return found


#: id(code) -> (code, fingerprint): a property test calls ``explore`` once
#: per test case, and finding the source of code that no file holds (a
#: doctest's) scans every module each time. The code object is kept, so its
#: id is not reused while it is here.
_fingerprints: dict[int, tuple[CodeType, str | None]] = {}
_FINGERPRINTS_KEPT: Final = 256


# -- results and failures ----------------------------------------------------------------


@dataclass(frozen=True)
class Exploration:
    """What a passing :func:`explore` covered.

    ``str()`` of it is a one-line summary that says how far the search
    went: ``the whole space`` only when :attr:`complete` is true, ``every
    schedule with ≤ N preemptions`` when a preemption bound cut it,
    ``stopped at the limit of N schedules`` when ``schedules`` (for the
    exhaustive strategy, by default 100,000) did, and ``stopped at the time
    limit of S s`` when ``time_limit`` did.

    Attributes:
        strategy: The strategy that chose the schedules (``"replay"`` for a replay).
        schedules: How many runs of the test executed, each under one schedule.
        distinct: How many of them took different decisions (the
            exhaustive search repeats none, except that with ``trace=True``
            and no ``preemption_bound`` each deeper bound runs the
            schedules of the shallower ones again).
        complete: ``"exhaustive"`` only: True when nothing cut the search
            (no ``preemption_bound`` left a schedule out, and the limit of
            ``schedules`` was not reached), so every schedule of the test
            ran and passed. False for every other strategy.
        longest: The most switch points one run went through.
        seconds: Wall-clock time the exploration took.
        stopped_by: What cut the search short: ``"schedules"`` when the
            limit on the number of runs was reached (for ``"exhaustive"``:
            before the search was complete; the other strategies always
            run to their limit unless Hypothesis runs out of new schedules
            first), ``"preemption_bound"`` when the exhaustive search ran
            every schedule within the bound but the bound left others out,
            ``"time_limit"`` when the ``time_limit`` passed before the
            search ended (for any strategy), None when nothing did.
        preemption_bound: ``"exhaustive"`` only, when it is not complete:
            every schedule with at most this many preemptions ran (the
            ``preemption_bound`` given, or with ``trace=True`` and no bound,
            the deepest bound searched to its end before the limit); None
            when no such bound was covered.
        time_limit: The ``time_limit`` given, when it stopped the search
            (``stopped_by == "time_limit"``); None otherwise.
        untraced: With ``trace=``: for each standard module or installed
            package whose code the test's traced code called without it
            being traced, how many such calls the runs made in all. Each
            call ran as one step: a race inside it could not be seen, and
            ``str()`` names the ``trace=`` value that would look inside.
            Empty without ``trace=`` (nothing is watched then) and when
            every call was traced. ``threading`` and ``queue`` are not
            listed: what they synchronise with is under control anyway.
    """

    strategy: str
    schedules: int
    distinct: int
    complete: bool
    longest: int
    seconds: float
    stopped_by: Literal["schedules", "preemption_bound", "time_limit"] | None = None
    preemption_bound: int | None = None
    time_limit: float | None = None
    untraced: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def coverage(self) -> str:
        """How far the search went, in words (as ``str()`` says it after the counts)."""
        covered = ""
        if self.preemption_bound is not None:
            n = self.preemption_bound
            covered = f"every schedule with ≤ {n} preemption{'' if n == 1 else 's'}"
        if self.complete:
            return "the whole space"
        if self.stopped_by == "schedules" and self.strategy == "exhaustive":
            cap = (
                f"stopped at the limit of {self.schedules:,} schedules, "
                "before the search was complete"
            )
            return f"{covered}; {cap}" if covered else cap
        if self.stopped_by == "time_limit":
            cap = f"stopped at the time limit of {self.time_limit:g} s"
            if self.strategy == "exhaustive":
                cap += ", before the search was complete"
            return f"{covered}; {cap}" if covered else cap
        return covered

    def __str__(self) -> str:
        rate = self.schedules / self.seconds if self.seconds > 0 else math.inf
        coverage = self.coverage
        done = f", {coverage}" if coverage else ""
        return (
            f"{self.schedules} schedules ({self.distinct} distinct{done}) by {self.strategy} "
            f"in {self.seconds:.2f} s ({rate:,.0f}/s), longest run {self.longest} steps"
            f"{self._unseen()}"
        )

    def _unseen(self) -> str:
        """What ran untraced, and the ``trace=`` that would look inside; "" if nothing."""
        if not self.untraced:
            return ""
        most = sorted(self.untraced, key=lambda name: (-self.untraced[name], name))
        runs = max(self.schedules, 1)
        shown = ", ".join(f"{name} ({self.untraced[name] / runs:,.3g} a run)" for name in most[:3])
        more = f" and {len(most) - 3} more" if len(most) > 3 else ""
        return (
            f"; calls into untraced code, one step each: {shown}{more};"
            f" trace={most[:3]!r} looks inside"
        )


class ScheduleFailure(AssertionError):
    """A schedule under which the test failed, with the trace that reproduces it.

    The test's own exception, if it raised one, is ``__cause__``.

    Attributes:
        schedule: The failing schedule as a short string; pass it back as
            ``explore(fn, replay=schedule)`` to run exactly that schedule.
        steps: Every switch point of the failing run, in order: which
            thread was about to do what, and at which line.
        schedules_run: How many schedules ran until this one failed
            (counting this one, and the runs spent shrinking it).
        found_after: Seconds from the start of the exploration to the end
            of the first run that failed (Hypothesis then spends more runs
            shrinking it).
        found_at: How many schedules had run when the first failure was
            seen, counting the failing one: the schedules a strategy needed
            to find the bug, before any shrinking.
    """

    def __init__(
        self,
        message: str,
        schedule: str,
        steps: tuple[Step, ...],
        schedules_run: int,
        *,
        found_after: float = 0.0,
        found_at: int = 0,
    ) -> None:
        super().__init__(message)
        self.schedule = schedule
        self.steps = steps
        self.schedules_run = schedules_run
        self.found_after = found_after
        self.found_at = found_at

    def __reduce__(self) -> tuple[object, ...]:
        # By its fields: the constructor needs more than the message, which
        # is all BaseException's own pickling would pass it.
        fields = (self.schedule, self.steps, self.schedules_run, self.found_after, self.found_at)
        return (_restore, (type(self), str(self), fields), self.__dict__)


def _restore(
    cls: type[ScheduleFailure], message: str, fields: tuple[str, tuple[Step, ...], int, float, int]
) -> ScheduleFailure:
    """A :class:`ScheduleFailure` from its pickle (see ``__reduce__``)."""
    schedule, steps, schedules_run, found_after, found_at = fields
    return cls(message, schedule, steps, schedules_run, found_after=found_after, found_at=found_at)


class DeadlockFound(ScheduleFailure):
    """Every thread was blocked: the message shows what each waits for, and its stack."""


class StepLimitExceeded(ScheduleFailure):
    """A run went through more than ``max_steps`` switch points: a livelock, or a test too long."""


class Mismatch(AssertionError):
    """A schedule asked for a thread that could not run at that point."""


NONDETERMINISTIC = (
    "the test is not deterministic: the same schedule prefix led to different runnable "
    "threads ({} before, {} now); does it depend on time, randomness, I/O or objects made "
    "outside the test?"
)
