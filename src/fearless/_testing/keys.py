"""What a step touches: the keys the partial-order search compares (internal).

A *step* is what one simulated thread does from one scheduling point to the
next. While the exhaustive search tracks a run, the scheduler records, for
every step, the keys of what it touched: a lock's key (named by the thread
that made it and how many it had made before, so the same lock has the same
key in every run), a thread's, a primitive's (its seam lock's, see
:mod:`.declarations`), :data:`CLOCK`, or :data:`ANYTHING` for a traced line.
Steps with disjoint keys commute. This module relies on nothing.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["ANYTHING", "CLOCK", "Keyed", "dependent"]


class Keyed(Protocol):
    """Anything a step can touch: it names itself by a key, the same in every run."""

    @property
    def key(self) -> object: ...


class _Token:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def key(self) -> object:
        return self

    def __repr__(self) -> str:
        return self._name


#: What a step of user code touches when we cannot tell (a line, a store):
#: it conflicts with every other step.
ANYTHING: Final = _Token("ANYTHING")
#: The virtual clock, read by monotonic() and moved by timeouts.
CLOCK: Final = _Token("CLOCK")


def dependent(a: set[object], b: set[object]) -> bool:
    """Whether two steps that touched ``a`` and ``b`` may not commute."""
    return ANYTHING in a or ANYTHING in b or not a.isdisjoint(b)
