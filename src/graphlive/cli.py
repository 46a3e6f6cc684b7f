"""The ``graphlive`` command line. Each sub-command lives in the module that owns its logic; this
file only wires argparse to them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from graphlive import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphlive", description="A live code graph inside Jupyter."
    )
    parser.add_argument("--version", action="version", version=f"graphlive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    from graphlive import analyze_cli, export_cli, lab
    from graphlive.bus import cli as bus_cli

    analyze_cli.add_commands(sub)
    lab.add_commands(sub)
    export_cli.add_commands(sub)
    bus_cli.add_commands(sub)
    from graphlive.sinks import cli as sinks_cli

    sinks_cli.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
