"""Command line: ``python -m fearless tour [SECTION ...]`` or ``--list``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import _tour


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m fearless`` and the ``fearless`` script."""
    parser = argparse.ArgumentParser(
        prog="python -m fearless",
        description="fearless: Rust's concurrency model for Python.",
    )
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="run the Rust chapter's examples, ported, on this Python")
    tour.add_argument("sections", nargs="*", help="run only these sections")
    sub.add_parser("list", help="list the tour's sections")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, title in _tour.SECTIONS:
            print(f"{name:20s} {title}")
        return 0
    return _tour.run(getattr(args, "sections", ()))


if __name__ == "__main__":
    sys.exit(main())
