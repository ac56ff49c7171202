"""The compiled twins of ``Arc`` and ``Weak`` (issue 15).

With the compiled core in use (:mod:`fearless._compiled`), ``Arc(value)``
and ``Weak()`` made while the real threads backend is in force are objects
of twins: subclasses of ``fearless._native.ArcCore`` and ``WeakCore``,
whose shared allocation (``ArcInner``) keeps the value and the strong and
weak counts as C11 atomics, with Rust's protocol (``src/native/arc.c``
says which ordering each step uses and why). Every operation but three is
in C, with the reference's messages; ``ptr_eq``, ``__copy__`` and
``__deepcopy__`` are the reference's own functions, which work on the
twin's ``_live()``, ``clone()`` and ``value``.
"""

from __future__ import annotations

import copy
from types import ModuleType

from . import _arc
from ._arc import Arc, Weak
from ._compiled import twin_class
from ._errors import ConsumedError, NotUniqueError

#: What each twin takes from its reference besides its names (see above).
_BOUND = ("ptr_eq", "__copy__", "__deepcopy__")


def twin_of(public: type, base: type) -> type:
    """The compiled twin of :class:`~fearless.Arc` or :class:`~fearless.Weak` on ``base``."""
    namespace = {name: vars(public)[name] for name in _BOUND}
    namespace.update(_dropped=public._dropped, _strong=public._strong)  # type: ignore[attr-defined]
    return twin_class(public, base, namespace)


def install(core: ModuleType) -> None:
    """Give ``Arc`` and ``Weak`` their twins and hand the core its errors and messages."""
    arc, weak = twin_of(Arc, core.ArcCore), twin_of(Weak, core.WeakCore)
    core._setup_arc(
        arc,
        weak,
        (ConsumedError, NotUniqueError),
        (_arc._MSG_DROPPED_ARC, _arc._MSG_DROPPED_WEAK),
        copy.copy,
    )
    Arc._native_twin = arc
    Weak._native_twin = weak
