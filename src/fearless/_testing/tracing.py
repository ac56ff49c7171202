"""Line tracing: with ``trace=True``, user code's lines and stores are switch points (internal).

:class:`Tracer` is the ``sys.settrace`` function of every simulated thread
of a traced run. It reads each code object once (:func:`_analyse`): code of
fearless, the standard library and installed packages is not traced; user
code switches at every new line and, through opcode events, before every
store to shared state inside a line (``STORE_GLOBAL``, ``STORE_DEREF``,
``STORE_ATTR``, ``STORE_SUBSCR`` and the matching deletes), so a
``counter += 1`` can lose an update between its read and its write. Such a
step touches :data:`.keys.ANYTHING`. Relies on the scheduler's ``switch``,
``touch`` and ``quiet``.
"""

from __future__ import annotations

import dis
import os
import sysconfig
import threading
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Final

from .keys import ANYTHING
from .report import EXAMPLES_DIR, is_fearless

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["Tracer"]
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

#: Per code object: None when it is not user code, else the offsets of its
#: stores to shared state.
_analysed: dict[CodeType, frozenset[int] | None] = {}


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(threading.__file__) + os.sep}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            dirs.add(os.path.abspath(paths[key]) + os.sep)
    return tuple(sorted(dirs))


_LIBRARY_DIRS: Final = _library_dirs()


def _analyse(code: CodeType) -> frozenset[int] | None:
    if code.co_filename.startswith("<frozen "):  # the import system, abc, codecs...
        return None
    filename = os.path.abspath(code.co_filename)
    if is_fearless(filename):
        return None
    if filename.startswith(_LIBRARY_DIRS) and not filename.startswith(EXAMPLES_DIR):
        return None
    return frozenset(i.offset for i in dis.get_instructions(code) if i.opcode in _STORES)


class Tracer:
    """``sys.settrace`` functions that make user code's lines and stores switch points."""

    __slots__ = ("_sched",)

    def __init__(self, sched: Scheduler) -> None:
        self._sched = sched

    def global_trace(self, frame: FrameType, event: str, arg: object) -> Any:
        sched = self._sched
        if sched.quiet:
            return None
        code = frame.f_code
        try:
            stores = _analysed[code]
        except KeyError:
            stores = _analysed[code] = _analyse(code)
        if stores is None:
            return None
        if stores:

            def local_trace(frame: FrameType, event: str, arg: object) -> Any:
                if event == "line":
                    sched.switch("line", frame)
                    sched.touch(ANYTHING)
                elif event == "opcode" and frame.f_lasti in stores:
                    sched.switch("write", frame)
                    sched.touch(ANYTHING)
                return local_trace

            # Opcode events make the stores inside a line switch points too.
            # f_trace first: Python 3.13 turns opcode events on for a frame
            # only when f_trace_opcodes is set while f_trace already is.
            frame.f_trace = local_trace
            frame.f_trace_opcodes = True
            return local_trace

        def lines_only(frame: FrameType, event: str, arg: object) -> Any:
            if event == "line":
                sched.switch("line", frame)
                sched.touch(ANYTHING)
            return lines_only

        return lines_only
