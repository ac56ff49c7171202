"""Build fearless's compiled core, ``fearless._native``, when a C compiler is there.

Everything else is in ``pyproject.toml``. The extension is optional: without
a compiler (or on an interpreter it does not build for) ``pip install``
still succeeds, setuptools says the build failed, and fearless runs its
pure-Python implementation (``fearless.native`` is then ``False``).
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup

extra_compile_args = [] if sys.platform == "win32" else ["-std=c11", "-O2"]

setup(
    ext_modules=[
        Extension(
            "fearless._native",
            sources=["src/fearless/_native.c"],
            extra_compile_args=extra_compile_args,
            optional=True,
        )
    ]
)
