"""The public surface: complete ``__all__``, fixed module names, documented names."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
from pathlib import Path

import pytest

import fearless

DESIGN_NAMES = {
    # DESIGN.md, "Public surface", for the families this release ships.
    "Mutex",
    "MutexGuard",
    "RwLock",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "Condvar",
    "Barrier",
    "BarrierWaitResult",
    "Once",
    "OnceLock",
    "LazyLock",
    "Arc",
    "Weak",
    "spawn",
    "JoinHandle",
    "scope",
    "Scope",
    "ThreadLocal",
    "par_map",
    "par_iter",
    "join",
    "PoisonError",
    "WouldBlockError",
    "DeadlockError",
    "GuardReleasedError",
}


def public_objects() -> list[tuple[str, object]]:
    return [(name, getattr(fearless, name)) for name in fearless.__all__]


def test_all_is_complete_and_sorted_free_of_duplicates() -> None:
    exported = set(fearless.__all__)
    assert len(exported) == len(fearless.__all__)
    defined = {
        name
        for name, obj in vars(fearless).items()
        if not name.startswith("_") and not isinstance(obj, types.ModuleType)
    }
    assert defined == exported
    assert exported >= DESIGN_NAMES


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_public_names_live_in_fearless(name: str, obj: object) -> None:
    assert getattr(obj, "__module__", "fearless") == "fearless"
    if isinstance(obj, type):
        assert obj.__name__ == name
        assert obj.__qualname__ == name


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_public_names_are_documented_with_an_example(name: str, obj: object) -> None:
    if isinstance(obj, bool):  # a constant (fearless.native): the package documents it
        assert f">>> fearless.{name}" in (fearless.__doc__ or ""), name
        return
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    if not (isinstance(obj, type) and issubclass(obj, tuple)):  # NamedTuple snapshots
        assert ">>>" in doc, f"{name}'s docstring has no doctested example"


@pytest.mark.parametrize(
    ("name", "obj"), [(n, o) for n, o in public_objects() if isinstance(o, type)]
)
def test_public_methods_are_documented(name: str, obj: type) -> None:
    for attr, value in vars(obj).items():
        if attr.startswith("_") or (not callable(value) and not isinstance(value, property)):
            continue
        assert inspect.getdoc(getattr(obj, attr)), f"{name}.{attr} has no docstring"


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("fearless").joinpath("py.typed").is_file()


def test_package_is_installed_not_imported_from_src() -> None:
    # The suite must test the installed package (scripts/test installs it).
    # An editable install maps to src/; a real one to site-packages.
    assert fearless.__file__ is not None


def test_version_is_a_string() -> None:
    assert isinstance(fearless.__version__, str)


def test_submodules_are_attributes_imported_on_first_use() -> None:
    code = (
        "import sys, fearless\n"
        "assert 'fearless.mpsc' not in sys.modules and 'fearless.atomic' not in sys.modules\n"
        "assert fearless.atomic is sys.modules['fearless.atomic']\n"
        "assert fearless.mpsc.channel is sys.modules['fearless.mpsc'].channel\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out == "ok\n"


def test_unknown_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match=r"^module 'fearless' has no attribute 'Mutx'$"):
        fearless.Mutx  # type: ignore[attr-defined]  # noqa: B018


def test_every_subpackage_is_installed() -> None:
    # setuptools installs only the packages pyproject.toml lists; one left
    # out works from a checkout (PYTHONPATH=src) and breaks every install.
    import tomllib

    root = Path(__file__).resolve().parent.parent
    listed = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    src = root / "src"
    found = {
        ".".join(i.parent.relative_to(src).parts) for i in (src / "fearless").rglob("__init__.py")
    }
    assert set(listed) == found | {"fearless._examples"}
