"""The type checker's view of the atomics is the code that runs.

``fearless._atomic`` generates some methods -- every operation of the
integer types (``_integer._integer_methods``) and every ``fetch_update``
(``_core._fetch_update_method``) -- and declares their signatures for mypy
under ``if TYPE_CHECKING:``, which never runs. This test reads those
declarations from the source and checks each one against the method that
runs: the same parameters, defaults and annotations.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest

import fearless.atomic
from fearless._atomic import _bool_float_ref, _integer


def _declarations(module: Any) -> list[tuple[str, ast.FunctionDef]]:
    """(class name, declaration) for every method declared under ``if TYPE_CHECKING:``."""
    tree = ast.parse(inspect.getsource(module))
    found = []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for stmt in cls.body:
            if (
                isinstance(stmt, ast.If)
                and isinstance(stmt.test, ast.Name)
                and stmt.test.id == "TYPE_CHECKING"
            ):
                found += [(cls.name, f) for f in stmt.body if isinstance(f, ast.FunctionDef)]
    return found


DECLARATIONS = _declarations(_integer) + _declarations(_bool_float_ref)


def test_every_generated_operation_is_declared() -> None:
    declared = {(cls, f.name) for cls, f in DECLARATIONS}
    assert ("_AtomicInteger", "fetch_add") in declared
    for name in ("AtomicBool", "AtomicFloat", "AtomicRef"):
        assert (name, "fetch_update") in declared
    for name, _ in inspect.getmembers(fearless.atomic.AtomicI64, inspect.isfunction):
        if not name.startswith("_"):
            assert ("_AtomicInteger", name) in declared, name


@pytest.mark.parametrize(
    ("cls_name", "declaration"), DECLARATIONS, ids=lambda x: getattr(x, "name", x)
)
def test_declarations_match_the_code_that_runs(cls_name: str, declaration: ast.FunctionDef) -> None:
    owner = getattr(_integer, cls_name, None) or getattr(_bool_float_ref, cls_name)
    runs = inspect.signature(vars(owner)[declaration.name])
    args = declaration.args
    names = [a.arg for a in args.args]
    assert names == list(runs.parameters), declaration.name
    defaults = [ast.unparse(d) for d in args.defaults]
    ran = [p for p in runs.parameters.values() if p.default is not inspect.Parameter.empty]
    assert [f"{p.default!r}".removeprefix("Ordering.") for p in ran] == [
        d.removeprefix("Ordering.") for d in defaults
    ]
    # The source's annotations are strings (``from __future__ import
    # annotations``); the generated functions carry the same strings.
    for arg in args.args[1:]:
        assert arg.annotation is not None, arg.arg
        assert runs.parameters[arg.arg].annotation == ast.unparse(arg.annotation), arg.arg
    assert declaration.returns is not None
    assert runs.return_annotation == ast.unparse(declaration.returns)


@pytest.mark.parametrize("cls_name", ["AtomicBool", "AtomicFloat", "AtomicRef"])
def test_each_generated_fetch_update_carries_its_own_documentation(cls_name: str) -> None:
    method = getattr(fearless.atomic, cls_name).fetch_update
    assert method.__doc__ is not None
    assert f"from fearless.atomic import {cls_name}" in method.__doc__
    assert method.__qualname__ == f"{cls_name}.fetch_update"
