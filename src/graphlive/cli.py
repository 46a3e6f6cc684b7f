"""The ``graphlive`` command line. Each sub-command lives in the module that owns its logic; this
file only wires argparse to them."""

from __future__ import annotations

import argparse
import os
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
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    if _console_run and getattr(args, "exit_now", False):
        # The command is done and has published everything. Freeing millions of graph objects
        # one by one at interpreter shutdown would take seconds more on a large tree (about
        # 13 s after analysing the stdlib), so a console run ends the process here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


#: Set by :func:`console_main`: only a console-script run may end the process early.
_console_run = False


def console_main() -> int:
    """Entry point of the ``graphlive`` console script."""
    global _console_run
    _console_run = True
    return main()


if __name__ == "__main__":
    sys.exit(console_main())
