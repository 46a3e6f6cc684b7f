"""``graphlive analyze PATH``: full analysis published to Redis, with a progress bar."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from graphlive.bus.keys import validate_graph_name


class ProgressBar:
    """A one-line progress bar on a terminal; silent when ``stream`` is not a TTY."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._shown = False

    def __call__(self, report: Any) -> None:
        if not self.enabled or not report.total:
            return
        width = max(10, min(40, shutil.get_terminal_size().columns - 50))
        filled = int(width * report.done / report.total)
        bar = "#" * filled + "-" * (width - filled)
        name = (report.file or "")[-30:]
        line = f"\r{report.phase:<8} [{bar}] {report.done}/{report.total} {name}"
        self.stream.write(line.ljust(width + 50))
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse a code base and publish its graph",
        description="Analyse the Python code under PATH into a graph and publish every change "
        "as events on Redis (the embedded server unless GRAPHLIVE_REDIS_URL is set).",
    )
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--graph", type=validate_graph_name, default=None, help="graph name")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--workers", type=int, default=None, help="parser processes (default: CPUs)")
    p.add_argument("--no-publish", action="store_true", help="analyse in memory only")
    p.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    p.set_defaults(func=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    from graphlive.live import analyze

    if not args.path.exists():
        print(f"graphlive analyze: {args.path}: no such file or directory", file=sys.stderr)
        return 2
    bar = ProgressBar(sys.stderr)
    try:
        lg = analyze(
            args.path,
            graph=args.graph,
            publish=not args.no_publish,
            redis_url=args.redis_url,
            workers=args.workers,
            progress=bar,
        )
    finally:
        bar.close()
    summary = lg.summary()
    lg.close()
    if lg.publish_error is not None:
        print(f"graphlive analyze: could not publish: {lg.publish_error}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['graph']}: {summary['files']} files, {summary['nodes']} nodes, "
            f"{summary['edges']} edges in {summary['seconds']} s "
            f"({summary['calls_unresolved']} unresolved calls, "
            f"{summary['diagnostics']} diagnostics); last seq {summary['last_seq']}"
        )
    return 1 if lg.publish_error is not None else 0
