"""The ``graphlive`` command line: every command lives in this package, one module per command
(group), over the library modules that hold the logic; this module only wires argparse to them.

``graphlive analyze`` / ``watch`` (:mod:`.analyze`), ``lab`` (:mod:`.lab`), ``export``
(:mod:`.export`), ``events`` and the ``redis`` group (:mod:`.events`, :mod:`.embedded`), ``sink``
(:mod:`.sinks`).
"""

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
    from graphlive.cli import analyze, events, export, lab, sinks

    analyze.add_commands(sub)
    lab.add_commands(sub)
    export.add_commands(sub)
    events.add_commands(sub)
    sinks.add_commands(sub)
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
