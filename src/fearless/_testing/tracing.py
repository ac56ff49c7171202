"""Line tracing: with ``trace=``, code's lines and stores are switch points (internal).

:class:`Reach` says which code a run traces (what ``explore``'s ``trace=``
asked for: the test's own code, and the packages it names) and reads each
code object once (:meth:`Reach.analyse`).
:class:`Tracer` is the ``sys.settrace`` function of every simulated thread
of a traced run: traced code switches at every new line and, through
opcode events, before every store to shared state inside a line
(``STORE_GLOBAL``, ``STORE_DEREF``, ``STORE_ATTR``, ``STORE_SUBSCR`` and the
matching deletes), so a ``counter += 1`` can lose an update between its
read and its write. Such a step touches :data:`.keys.ANYTHING`. fearless's
own code is never traced. Relies on the scheduler's ``switch``, ``touch``
and ``quiet``.
"""

from __future__ import annotations

import collections
import dis
import importlib.util
import os
import sys
import sysconfig
import threading
from collections.abc import Sequence
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Final

from .declarations import THREAD_BODIES
from .keys import ANYTHING
from .report import EXAMPLES_DIR, is_fearless

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["ALL", "Reach", "Tracer", "reach"]

#: ``trace=ALL``: every library's code too, wherever the test reaches it.
ALL: Final = "all"
_STORES: Final = frozenset(
    dis.opmap[name]
    for name in (
        "STORE_GLOBAL",
        "STORE_DEREF",
        "STORE_ATTR",
        "STORE_SUBSCR",
        "DELETE_GLOBAL",
        "DELETE_DEREF",
        "DELETE_ATTR",
        "DELETE_SUBSCR",
    )
    if name in dis.opmap
)


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(threading.__file__) + os.sep}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            dirs.add(os.path.abspath(paths[key]) + os.sep)
    return tuple(sorted(dirs))


_LIBRARY_DIRS: Final = _library_dirs()
#: The same, longest first: an installed package's directory (site-packages)
#: lies inside the standard library's.
_LIBRARY_DIRS_DEEPEST_FIRST: Final = tuple(sorted(_LIBRARY_DIRS, key=len, reverse=True))
#: The code that calls a thread's function (fearless's spawn, threading's
#: Thread.run): a library function run as a thread's body is called from the
#: test as much as one its traced code calls.
_THREAD_BODIES: Final = frozenset({qualname for _, qualname in THREAD_BODIES} | {"Thread.run"})
#: fearless's functions that call the test's callables for it: what they
#: call directly is the test's (``History.record(name, fn)`` calls ``fn``).
_CALLS_FOR_THE_TEST: Final = frozenset({"History.record", "Program._run_thread"})
#: Standard modules whose untraced code is not worth a mention: the explorer
#: controls what they synchronise with (their locks, conditions and threads).
_CONTROLLED: Final = frozenset({"threading", "queue", "_weakrefset"})


def _package_of(filename: str) -> str | None:
    """The top-level module of the standard library or installed package ``filename`` is in."""
    if filename.startswith("<"):
        return None
    filename = os.path.abspath(filename)
    if is_fearless(filename):
        return None
    for directory in _LIBRARY_DIRS_DEEPEST_FIRST:
        if filename.startswith(directory):
            first = filename[len(directory) :].split(os.sep, 1)[0]
            name = first.removesuffix(".py")
            if not name.isidentifier() or name in _CONTROLLED:
                return None
            return name
    return None


#: What :meth:`Reach.analyse` says of traced code: the test's own, or a
#: package named in ``trace=``.
OWN: Final = 0
NAMED: Final = 1


class Reach:
    """Which code a traced run traces: what ``explore(trace=...)`` resolved to.

    The test's own code (anything outside fearless, the standard library and
    installed packages), and ``paths``: the files and directories (ending in
    a separator) of the packages named -- or, with ``everything``, the whole
    standard library and every installed package -- traced the same way
    wherever the test's code reaches them, but not where fearless calls
    them (its primitives and the explorer use the standard library, and
    may use the package). fearless's own code is never traced, and neither
    is the import system (``<frozen ...>`` code).
    """

    __slots__ = ("_analysed", "_packages", "everything", "paths", "untraced")

    def __init__(self, paths: tuple[str, ...] = (), *, everything: bool = False) -> None:
        self.paths = paths
        self.everything = everything
        # Per code object: None when it is not traced, else whose it is and
        # the offsets of its stores to shared state.
        self._analysed: dict[CodeType, tuple[int, frozenset[int]] | None] = {}
        # Per untraced code object: the library it belongs to, if any.
        self._packages: dict[CodeType, str | None] = {}
        #: Calls from traced code into each library's untraced code, over
        #: every run: what the explorer could not see inside (one step each).
        self.untraced: dict[str, int] = {}

    def called_untraced(self, code: CodeType) -> None:
        """Traced code called ``code``, which is not traced: count its library's calls."""
        try:
            package = self._packages[code]
        except KeyError:
            package = self._packages[code] = _package_of(code.co_filename)
        if package is not None:
            self.untraced[package] = self.untraced.get(package, 0) + 1

    def analyse(self, code: CodeType, frame: FrameType) -> tuple[int, frozenset[int]] | None:
        """None if ``code`` (run by ``frame``) is not traced; else whose it is and its stores."""
        try:
            return self._analysed[code]
        except KeyError:
            pass
        filename = code.co_filename
        if filename.startswith("<") and not filename.startswith("<frozen "):
            # Code made at run time (exec, eval): see _made_in.
            filename = _made_in(frame.f_globals.get("__name__"), filename)
        whose = self._whose(filename)
        found = None
        if whose is not None:
            stores = frozenset(i.offset for i in dis.get_instructions(code) if i.opcode in _STORES)
            found = (whose, stores)
        self._analysed[code] = found
        return found

    def _whose(self, filename: str) -> int | None:
        if filename.startswith("<frozen "):  # the import system, abc, codecs...
            return None
        filename = os.path.abspath(filename)
        if is_fearless(filename):
            return None
        if filename.startswith(self.paths) or filename in self.paths:
            return NAMED
        if filename.startswith(_LIBRARY_DIRS) and not filename.startswith(EXAMPLES_DIR):
            return NAMED if self.everything else None
        return OWN


def _made_in(module: object, filename: str) -> str:
    """The file that stands for code made at run time in ``module`` (else ``filename``).

    Code compiled from a string without a name of its own (``"<string>"``)
    belongs to the module it runs in: ``collections.namedtuple``'s methods
    (in a namespace named ``namedtuple_<type>``) and a dataclass's (in the
    module that defines the class) are the standard library's or a
    package's, traced only where that module is. Code of the test's own
    made so (``python -c``, an ``exec`` in ``__main__``) and a doctest's
    functions (``"<doctest ...>"``) stay the test's own.
    """
    if filename != "<string>" or not isinstance(module, str) or module == "__main__":
        return filename
    if module.startswith("namedtuple_"):
        return collections.__file__
    source = getattr(sys.modules.get(module), "__file__", None)
    return source if isinstance(source, str) else filename


def reach(trace: object) -> Reach | None:
    """``explore``'s ``trace=`` argument, checked and resolved; None for False.

    Raises:
        TypeError: Not a bool, a string or a list or tuple of strings.
        ValueError: A module that cannot be found, has no Python source,
            or is fearless's own.
    """
    if trace is False:
        return None
    if trace is True:
        return Reach()
    if trace == ALL:
        return Reach(everything=True)
    names: Sequence[object]
    if isinstance(trace, str):
        names = (trace,)
    elif isinstance(trace, (list, tuple)) and trace:
        names = trace
    else:
        raise TypeError(
            f"trace must be True, False, {ALL!r}, a module name or a list of module names, "
            f"got {trace!r}"
        )
    paths: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"trace takes module names as strings, got {name!r}")
        paths.extend(_module_paths(name))
    return Reach(tuple(paths))


def _module_paths(name: str) -> list[str]:
    """The source directories of package ``name``, or its source file."""
    root = name.partition(".")[0]
    if root == "fearless":
        raise ValueError(
            f"trace={name!r}: fearless's own code is never traced (its operations "
            "are switch points already)"
        )
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ValueError(
            f"trace={name!r}: no module of that name can be imported here "
            "(is it installed, and spelt as you import it?)"
        )
    if spec.submodule_search_locations:  # a package: everything below it
        return [os.path.abspath(d) + os.sep for d in spec.submodule_search_locations]
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        raise ValueError(
            f"trace={name!r}: the module has no Python source to trace "
            f"({origin or 'built in'}); name the Python package that uses it"
        )
    return [os.path.abspath(origin)]


def _importing(frame: FrameType) -> bool:
    """Whether ``frame`` runs as part of an import: a module's body, or code it calls.

    An import runs once per process, in whichever run gets there first, and
    under the import system's lock: its lines are no switch points. Traced,
    the first run would differ from every later one (SQLAlchemy's lazy
    imports alone take over 100,000 lines), and a switch inside an import
    would leave another thread to block on that lock, outside the
    scheduler's control. The walk stops at the first traced caller, which
    was not importing, or it would not be traced.
    """
    caller: FrameType | None = frame
    while caller is not None:
        if caller.f_trace is not None and caller is not frame:
            return False
        code = caller.f_code
        if code.co_name == "<module>":
            parent = caller.f_back
            if parent is not None and parent.f_code.co_filename.startswith("<frozen importlib"):
                return True
        caller = caller.f_back
    return False


def _reached_from_fearless(frame: FrameType) -> bool:
    """Whether fearless's code, not the test's, called the library code ``frame`` runs.

    Walks the callers up to the first that decides: a traced frame (the
    test's code, or library code it reached) means the test's, and so does
    a thread's body calling the thread's function (a library function run
    as a thread: fearless's ``spawn`` or ``Thread.run`` calls it for the
    test), and so does a fearless function that calls the test's callable
    for it (``History.record``); any other frame of fearless's own (a
    primitive, the explorer's machinery) means fearless's. Between them lie
    untraced library frames: a library that fearless called calling
    another.
    """
    callee, caller = frame, frame.f_back
    while caller is not None:
        if caller.f_trace is not None:
            return False
        code = caller.f_code
        if code.co_qualname in _THREAD_BODIES and _target_code(caller) is callee.f_code:
            return False
        if callee is frame and code.co_qualname in _CALLS_FOR_THE_TEST:
            return False
        if is_fearless(code.co_filename):
            return True
        callee, caller = caller, caller.f_back
    return False


def _target_code(body: FrameType) -> CodeType | None:
    """The code of the function a thread's body (``_Packet.__call__``, ``Thread.run``) runs."""
    owner = body.f_locals.get("self")
    target = getattr(owner, "fn", None) or getattr(owner, "_target", None)
    function = getattr(target, "__func__", target)  # a bound method's function
    code = getattr(function, "__code__", None)
    return code if isinstance(code, CodeType) else None


def _no_more_opcode_events(frame: FrameType | None) -> None:
    """Turn opcode events off for ``frame`` and its callers: the tracer is about to raise.

    A run that ends early (aborted, or ended by Hypothesis) raises out of a
    switch point, here out of the trace function, and CPython then removes
    the thread's trace function. Python 3.12.0 and 3.12.1 still deliver the
    opcode events of a frame whose ``f_trace_opcodes`` is set -- while the
    exception unwinds through a ``with`` block, say -- and call the removed
    function: a null pointer, a segmentation fault. Frames that ask for no
    opcode events get none.
    """
    while frame is not None:
        if frame.f_trace_opcodes:
            frame.f_trace_opcodes = False
        frame = frame.f_back


class Tracer:
    """``sys.settrace`` functions that make traced code's lines and stores switch points."""

    __slots__ = ("_reach", "_sched")

    def __init__(self, sched: Scheduler, reach: Reach) -> None:
        self._sched = sched
        self._reach = reach

    def global_trace(self, frame: FrameType, event: str, arg: object) -> Any:
        sched = self._sched
        if sched.quiet:
            return None
        found = self._reach.analyse(frame.f_code, frame)
        if found is None:
            caller = frame.f_back
            if caller is not None and (
                caller.f_trace is not None or caller.f_code.co_qualname in _THREAD_BODIES
            ):
                self._reach.called_untraced(frame.f_code)
            return None
        whose, stores = found
        if whose == NAMED and _reached_from_fearless(frame):
            return None  # a primitive or the explorer at work, not the test
        if _importing(frame):
            return None
        if stores:

            def local_trace(frame: FrameType, event: str, arg: object) -> Any:
                try:
                    if event == "line":
                        sched.switch("line", frame)
                        sched.touch(ANYTHING)
                    elif event == "opcode" and frame.f_lasti in stores:
                        sched.switch("write", frame)
                        sched.touch(ANYTHING)
                except BaseException:
                    _no_more_opcode_events(frame)
                    raise
                return local_trace

            # Opcode events make the stores inside a line switch points too.
            # f_trace first: Python 3.13 turns opcode events on for a frame
            # only when f_trace_opcodes is set while f_trace already is.
            frame.f_trace = local_trace
            frame.f_trace_opcodes = True
            return local_trace

        def lines_only(frame: FrameType, event: str, arg: object) -> Any:
            if event == "line":
                try:
                    sched.switch("line", frame)
                    sched.touch(ANYTHING)
                except BaseException:
                    _no_more_opcode_events(frame)  # its callers may have them
                    raise
            return lines_only

        return lines_only
