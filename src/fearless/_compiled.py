"""Which implementation runs: the compiled core or the pure-Python reference.

The compiled core is the extension module ``fearless._native``, built by
``pip install`` when a C compiler is there (see ``setup.py``). The
pure-Python implementation is the reference and the fallback: it runs when
the core was not built, when ``FEARLESS_PURE_PYTHON`` is set to anything but
``""`` or ``"0"`` (read once, at import), and for every primitive made while
another seam backend than the real threads is in force -- the explorer's
above all, which controls only the reference.

Example:
    >>> from fearless import _compiled
    >>> _compiled.native == (_compiled.core is not None)
    True
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Collection
from types import ModuleType
from typing import Any

from . import _seam
from ._util import NotCopyable

#: Whether ``FEARLESS_PURE_PYTHON`` asked for the pure-Python implementation.
pure_requested: bool = os.environ.get("FEARLESS_PURE_PYTHON", "") not in ("", "0")


def _load() -> ModuleType | None:
    if pure_requested:
        return None
    try:
        from . import _native  # noqa: PLC0415 - optional: built only where a compiler was
    except ImportError:
        return None
    module: ModuleType = _native
    return module


#: The compiled core, or None when the pure-Python implementation runs.
core: ModuleType | None = _load()

#: True when the compiled core is in use (``fearless.native``).
native: bool = core is not None


def install_twins(module: str) -> None:
    """Give the public types of a primitive their compiled twins, if the core is in use.

    ``module`` (``"fearless._mutex_twins"``) is imported only then, and its
    ``install(core)`` called. The public modules call this after they fixed
    their names' ``__module__``, which the twins copy.
    """
    if core is not None:
        importlib.import_module(module).install(core)


def twin_class(public: type, base: type, namespace: dict[str, Any] | None = None) -> type:
    """The compiled twin of ``public``: a class on the C type ``base`` and ``NotCopyable``.

    It takes from ``public`` what every twin takes (names, docs, copy
    advice); ``namespace`` is what the twin module adds (the C type's
    configuration, bound reference functions) and may override those.
    """
    own: dict[str, Any] = {
        "__slots__": (),
        "__module__": public.__module__,
        "__qualname__": public.__qualname__,
        "__doc__": public.__doc__,
        "_native_public": public,
        "_copy_advice": getattr(public, "_copy_advice"),  # noqa: B009 - NotCopyable's
    }
    own.update(namespace or {})
    return type(public.__name__, (base, NotCopyable), own)


def reference_functions(*classes: type, skip: Collection[str]) -> dict[str, Any]:
    """The functions of ``classes`` (later ones win) that a twin binds, but those in ``skip``.

    A twin runs the reference's own code for everything its C type does not
    do; this is that code, by name, for a twin module to put in its namespace.
    """
    return {
        name: attr
        for cls in classes
        for name, attr in vars(cls).items()
        if callable(attr) and name not in skip
    }


def real_threads() -> bool:
    """Whether the seam's backend in force is the real one (no explorer, no test double).

    The compiled core is used only then: any other backend must see every
    lock and every operation, which only the reference shows it.
    """
    return type(_seam.backend) is _seam.ThreadBackend
