"""Facts about the running interpreter."""

from __future__ import annotations

import sys
import sysconfig


def gil_enabled() -> bool:
    """Whether the GIL is enabled in this interpreter right now.

    Always ``True`` before Python 3.13; on a free-threaded build (3.13t) it is
    ``False`` unless the GIL was re-enabled (``PYTHON_GIL=1`` or an extension
    module that needs it).

    Example:
        >>> import sys
        >>> from fearless._runtime import gil_enabled
        >>> gil_enabled() == getattr(sys, "_is_gil_enabled", lambda: True)()
        True
    """
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def free_threaded_build() -> bool:
    """Whether this interpreter was built with ``--disable-gil``."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
