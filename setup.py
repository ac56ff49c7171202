"""Build fearless's compiled core, ``fearless._native``, when a C compiler is there.

Everything else is in ``pyproject.toml``. The extension is optional: without
a compiler (or on an interpreter it does not build for) ``pip install``
still succeeds, says once that the compiled core is missing, and fearless
runs its pure-Python implementation (``fearless.native`` is then ``False``).
"""

from __future__ import annotations

import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

extra_compile_args = [] if sys.platform == "win32" else ["-std=c11", "-O2"]


class OptionalBuildExt(build_ext):
    """``build_ext`` that always compiles, and turns a failed build into one clear warning."""

    def finalize_options(self) -> None:
        super().finalize_options()
        # Always compile. setuptools keeps its objects in ``build/``, named
        # by platform and interpreter tag only, and skips a compile whose
        # output is newer than the sources: two interpreters with one tag
        # (a free-threaded build and the same version built with
        # ThreadSanitizer, say) would share an extension built with the
        # other's flags.
        self.force = True

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # no compiler, missing headers, an unknown platform
            sys.stderr.write(
                f"WARNING: fearless: the compiled core ({ext.name}) could not be built "
                f"({type(exc).__name__}: {exc}); fearless will run its pure-Python "
                "implementation, which behaves the same, more slowly.\n"
            )


setup(
    ext_modules=[
        Extension(
            "fearless._native",
            # One translation unit: module.c includes the other parts.
            sources=["src/native/module.c"],
            depends=[
                "src/native/core.h",
                "src/native/integers.c",
                "src/native/bools.c",
                "src/native/floats.c",
                "src/native/objects.c",
                "src/native/rawlock.c",
                "src/native/mutex.c",
                "src/native/arc.c",
                "src/native/rwlock.c",
            ],
            extra_compile_args=extra_compile_args,
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
