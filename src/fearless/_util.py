"""Small helpers shared by the primitives (trio's ``_util``)."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, NoReturn


class NoPublicConstructor(type):
    """Metaclass for classes only fearless itself may instantiate.

    Calling the class raises :class:`TypeError`; fearless builds instances
    with ``cls._create(...)`` or ``object.__new__(cls)``.

    Example:
        >>> class Handle(metaclass=NoPublicConstructor):
        ...     pass
        >>> Handle()
        Traceback (most recent call last):
        ...
        TypeError: fearless._util.Handle has no public constructor
        >>> type(Handle._create())
        <class 'fearless._util.Handle'>
    """

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} has no public constructor")

    def _create(cls, *args: Any, **kwargs: Any) -> Any:
        return super().__call__(*args, **kwargs)


def fixup_module_metadata(module_name: str, namespace: Mapping[str, object]) -> None:
    """Make the public names of ``namespace`` claim to live in ``module_name``.

    Tracebacks and reprs then say ``fearless.Mutex`` rather than
    ``fearless._mutex.Mutex`` (trio's trick of the same name).
    """
    seen: set[int] = set()

    def fix_one(qualname: str, name: str, obj: object) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        mod = getattr(obj, "__module__", None)
        if mod is None or not mod.startswith("fearless."):
            return
        obj.__module__ = module_name
        if isinstance(obj, type):
            obj.__name__ = name
            obj.__qualname__ = qualname
            for attr_name, attr_value in obj.__dict__.items():
                inner: object = attr_value
                if isinstance(inner, property):
                    inner = inner.fget
                elif isinstance(inner, (classmethod, staticmethod)):
                    inner = inner.__func__
                if isinstance(inner, types.FunctionType) and inner.__module__.startswith(
                    "fearless."
                ):
                    inner.__module__ = module_name
                    inner.__qualname__ = f"{qualname}.{attr_name}"

    for objname, obj in namespace.items():
        if not objname.startswith("_"):
            fix_one(objname, objname, obj)
