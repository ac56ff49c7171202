"""Command line: ``python -m fearless tour [SECTION ...] [--plot FILE.png]`` or ``list``."""

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
    tour = sub.add_parser(
        "tour",
        help="run the Rust chapter's examples, ported, on this Python",
        description="Run the Rust chapter's concurrency examples, ported, on this interpreter.",
    )
    tour.add_argument("sections", nargs="*", help="run only these sections (see `list`)")
    tour.add_argument(
        "--plot",
        metavar="FILE.png",
        help=f"also draw the {_tour.PLOT_SECTION} section's timeline to FILE.png (matplotlib)",
    )
    sub.add_parser("list", help="list the tour's sections")
    args = parser.parse_args(argv)
    if args.command == "list":
        for section in _tour.SECTIONS:
            print(f"{section.name:20s} {section.title}")
        return 0
    if args.command is None:  # plain `python -m fearless`: the tour
        return _tour.run()
    return _tour.run(args.sections, plot=args.plot)


if __name__ == "__main__":
    sys.exit(main())
