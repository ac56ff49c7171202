"""The unbounded flavour (crossbeam's ``flavors/list``): a deque, no waiting to send.

Relies on :class:`~fearless._mpsc.flavors._Queued` (the deque and the waking).
"""

from __future__ import annotations

from . import _Queued


class _ListChan(_Queued):
    """Unbounded (Rust's ``channel()``)."""

    __slots__ = ("pop",)

    def __init__(self) -> None:
        super().__init__()
        self.pop = self.buf.popleft  # type: ignore[method-assign]

    def describe(self) -> str:
        return f"~{len(self.buf)} queued (snapshot), {self.counts()}"
