"""Progress of a parallel call: a callback, a tqdm bar, or a plain bar on stderr.

What ``progress=`` of :func:`~fearless.par_map` and :func:`~fearless.par_imap`
does. The engine calls :meth:`Progress.update` after each chunk, with Ctrl-C
let through (a callback is the caller's code). Relies on nothing of
fearless's; tqdm is imported on first use when installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class Progress:
    """Reports ``(done, total)`` to a callback, a tqdm bar, or a plain stderr bar."""

    def __init__(self, spec: object, total: int | None) -> None:
        self.done = 0
        self.total = total
        self._callback: Callable[[int, int | None], object] | None = None
        self._bar: Any = None
        self._plain = False
        if callable(spec):
            self._callback = spec
        elif spec is True:
            try:
                import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415
            except ImportError:
                self._plain = True
                self._draw()
            else:
                self._bar = tqdm.tqdm(total=total, unit="item")
        elif spec is not False and spec is not None:
            raise TypeError(
                f"progress must be a bool or a callable taking (done, total), got {spec!r}"
            )

    def update(self, n: int) -> None:
        self.done += n
        if self._callback is not None:
            self._callback(self.done, self.total)
        elif self._bar is not None:
            self._bar.update(n)
        elif self._plain:
            self._draw()

    def _draw(self) -> None:
        total = self.total
        if total:
            width = 30
            filled = width * self.done // total
            line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{total}"
        else:
            line = f"\r{self.done} items"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._plain:
            sys.stderr.write("\n")
            sys.stderr.flush()
