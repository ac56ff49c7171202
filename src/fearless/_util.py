"""Small helpers shared by the primitives (trio's ``_util``)."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Self

from . import _compiled


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


class Twinned(type):
    """Metaclass of a type with a compiled twin: it makes the twin's objects, its instances.

    With the compiled core in use (:mod:`fearless._compiled`), a class's
    ``_native_twin`` is a *twin* class, made from a C type, with the same
    name, module, ``repr`` and messages as the pure-Python class it stands
    for (the twin's ``_native_public``). Calling the class then makes an
    object of the twin -- unless another seam backend than the real threads
    is in force, the explorer's above all, which gets the pure-Python
    reference it controls. ``isinstance`` and ``issubclass`` hold for twins
    as for the reference's objects, and a method taken from the class works
    on both (Rust's associated-function spelling, ``Arc.clone(a)``): where
    the twin has a method of its own, the class hands out a function that
    calls the one of the object's implementation.

    Example:
        >>> class Public(metaclass=Twinned):
        ...     _native_twin = None
        ...     def name(self) -> str:
        ...         return "reference"
        >>> Twin = type("Public", (), {"_native_public": Public, "name": lambda self: "twin"})
        >>> Public._native_twin = Twin
        >>> type(Public()) is Twin, isinstance(Twin(), Public), issubclass(Twin, Public)
        (True, True, True)
        >>> Public.name(Public()), Public.name(object.__new__(Public))
        ('twin', 'reference')
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        twin = cls._twin_in_force()
        if twin is not None:
            return twin(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def _twin_in_force(cls) -> Any:
        """The twin that new objects of this class are made of now, or None for the reference."""
        twin = type.__getattribute__(cls, "_native_twin")
        return twin if twin is not None and _compiled.real_threads() else None

    if not TYPE_CHECKING:  # type checkers see the class's own attributes, typed

        def __getattribute__(cls, name: str) -> Any:
            attr = type.__getattribute__(cls, name)
            if type(attr) is types.FunctionType:
                twin = type.__getattribute__(cls, "_native_twin")
                if twin is not None:
                    return _associated(twin, name, attr)
            return attr

    def __instancecheck__(cls, obj: object) -> bool:
        return type.__instancecheck__(cls, obj) or cls.__subclasscheck__(type(obj))

    def __subclasscheck__(cls, sub: type) -> bool:
        if type.__subclasscheck__(cls, sub):
            return True
        public = getattr(sub, "_native_public", None)
        return public is not None and type.__subclasscheck__(cls, public)


@functools.cache
def _associated(twin: type, name: str, reference: Callable[..., Any]) -> Callable[..., Any]:
    """``reference`` as the class hands it out: the twin's own method for a twin's object."""
    own = getattr(twin, name, reference)
    if own is reference:
        return reference  # the twin binds the reference's function itself

    @functools.wraps(reference)
    def method(self: object, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self, twin):
            return own(self, *args, **kwargs)
        return reference(self, *args, **kwargs)

    return method


class TwinnedNoPublicConstructor(Twinned, NoPublicConstructor):
    """:class:`Twinned` and :class:`NoPublicConstructor` (``MutexGuard``'s metaclass).

    Calling the class raises either way (a compiled twin refuses too, with
    the same message); ``_create`` makes the pure-Python class's object.
    """


class Flag(metaclass=NoPublicConstructor):
    """A value holding one bool, which only fearless builds (``Flag._of(True)``).

    The base of :class:`~fearless.BarrierWaitResult` and
    :class:`~fearless.OnceState`: each subclass names the flag in
    ``_flag_name`` and gives it a documented property; the ``repr`` shows it
    as ``Name(flag=value)``.

    Example:
        >>> class Answer(Flag):
        ...     _flag_name = "yes"
        >>> Answer._of(True)
        Answer(yes=True)
    """

    __slots__ = ("_flag",)

    _flag: bool
    _flag_name: ClassVar[str]

    @classmethod
    def _of(cls, flag: bool) -> Self:
        value: Self = cls._create()
        value._flag = flag
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._flag_name}={self._flag})"


def fixup_module_metadata(module_name: str, namespace: Mapping[str, object]) -> None:
    """Make the public names of ``namespace`` claim to live in ``module_name``.

    Tracebacks and reprs then say ``fearless.Mutex`` rather than
    ``fearless._mutex.Mutex`` (trio's trick of the same name). A class's
    compiled twin (its ``_native_twin``, see :class:`Twinned`) gets the same
    names.
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
            twin = obj.__dict__.get("_native_twin")
            if twin is not None:
                fix_one(qualname, name, twin)

    for objname, obj in namespace.items():
        if not objname.startswith("_"):
            fix_one(objname, objname, obj)


class NotCopyable:
    """Mixin: ``copy.copy``, ``copy.deepcopy`` and pickling raise :class:`TypeError`.

    A lock-like primitive is one shared object: a copy would either share
    its raw lock with the original (two objects, one lock, and each other's
    guards) or hold a fresh lock over data the original still guards.
    Neither is what the copier meant, so fearless refuses, and the message
    says what to do instead. A class may set ``_copy_advice`` to a sentence
    of its own.

    Example:
        >>> import copy
        >>> class Thing(NotCopyable):
        ...     pass
        >>> copy.copy(Thing())
        Traceback (most recent call last):
        ...
        TypeError: cannot copy a fearless._util.Thing: share the same object ...
    """

    __slots__ = ()

    #: What to do instead of copying; the end of the error message.
    _copy_advice = (
        "share the same object between threads (or wrap it in an Arc), "
        "or take the value out and copy that"
    )

    def _refuse_copy(self, verb: str) -> NoReturn:
        cls = type(self)
        raise TypeError(f"cannot {verb} a {cls.__module__}.{cls.__qualname__}: {self._copy_advice}")

    def __copy__(self) -> NoReturn:
        self._refuse_copy("copy")

    def __deepcopy__(self, memo: dict[int, Any]) -> NoReturn:
        self._refuse_copy("copy")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        self._refuse_copy("pickle")
