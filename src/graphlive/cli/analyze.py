"""``graphlive analyze PATH`` (full analysis published to Redis, with a progress bar) and
``graphlive watch PATH`` (analyse, then follow every file change)."""

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
        name = report.file or ""
        if len(name) > 30:
            name = "..." + name[-27:]  # the end names the file; say that the start is cut
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
        description="Analyse the code under PATH (Python, JavaScript, TypeScript, Go, Java, "
        "Rust) into a graph and publish every change as events on Redis (the embedded server "
        "unless GRAPHLIVE_REDIS_URL is set).",
    )
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--graph", type=validate_graph_name, default=None, help="graph name")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--workers", type=int, default=None, help="parser processes (default: CPUs)")
    p.add_argument("--no-publish", action="store_true", help="analyse in memory only")
    _languages_option(p)
    p.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    p.add_argument(
        "--reset",
        action="store_true",
        help="start a new epoch of the graph instead of continuing the stored one",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another process writing the graph (default: while it lives)",
    )
    p.set_defaults(func=run_analyze)

    w = sub.add_parser(
        "watch",
        help="analyse a code base, then publish every change as files change",
        description="Analyse PATH, then watch it: each burst of file changes is re-analysed "
        "incrementally and published. Honours .gitignore; skips virtualenvs and caches. "
        "Stop with Ctrl-C.",
    )
    w.add_argument("path", type=Path, metavar="PATH")
    w.add_argument("--graph", type=validate_graph_name, default=None, help="graph name")
    w.add_argument("--debounce-ms", type=int, default=50, help="change grouping window")
    w.add_argument("--workers", type=int, default=None, help="parser processes (default: CPUs)")
    w.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    w.add_argument("--json", action="store_true", help="one JSON line per update on stdout")
    _languages_option(w)
    w.set_defaults(func=run_watch)


def _languages(text: str) -> frozenset[str] | None:
    from graphlive.analysis.polyglot.languages import selection

    try:
        return selection(text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _languages_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--languages",
        type=_languages,
        default=None,
        metavar="LIST",
        help="analyse only these, comma-separated: python, javascript, typescript, go, java, "
        "rust (default: all)",
    )


def run_analyze(args: argparse.Namespace) -> int:
    from graphlive.bus.publisher import NotWriter
    from graphlive.bus.writer_lease import WriterBusy
    from graphlive.live import LiveGraph, graph_name_for

    if not args.path.exists():
        print(f"graphlive analyze: {args.path}: no such file or directory", file=sys.stderr)
        return 2
    root = args.path.resolve()
    bar = ProgressBar(sys.stderr)
    lg = LiveGraph(
        args.graph or graph_name_for(root),
        root=root,
        publish=not args.no_publish,
        redis_url=args.redis_url,
        languages=args.languages,
    )
    lg.wait_note = lambda text: print(f"graphlive analyze: {text}", file=sys.stderr, flush=True)
    try:
        lg.analyze(root, workers=args.workers, progress=bar, reset=args.reset, wait=args.wait)
    except (WriterBusy, NotWriter) as exc:
        print(f"graphlive analyze: {exc}", file=sys.stderr)
        lg.close()
        return 3
    finally:
        bar.close()
    summary = lg.summary()
    if lg.epoch_note is not None:
        print(f"graphlive analyze: new epoch: {lg.epoch_note}", file=sys.stderr)
    elif lg.resumed is not None and lg.publishing:  # (in memory there is no stored graph)
        print(f"graphlive analyze: continued the stored graph ({lg.resumed})", file=sys.stderr)
    lg.close()
    if lg.publish_error is not None:
        print(f"graphlive analyze: could not publish: {lg.publish_error}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        languages = summary["languages"]
        mix = ""
        if len(languages) > 1:  # "(python 94, typescript 51)" when there is more than one
            mix = " (" + ", ".join(f"{k} {v}" for k, v in languages.items()) + ")"
        print(
            f"{summary['graph']}: {summary['files']} file{'' if summary['files'] == 1 else 's'}"
            f"{mix}, {summary['nodes']} nodes, "
            f"{summary['edges']} edges in {summary['seconds']} s "
            f"({summary['calls_unresolved']} unresolved calls, "
            f"{summary['diagnostics']} diagnostics); last seq {summary['last_seq']}"
        )
    args.exit_now = True  # nothing left to do: skip freeing the graph at shutdown (cli.main)
    return 1 if lg.publish_error is not None else 0


def run_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from graphlive.live import LiveGraph, graph_name_for
    from graphlive.watch import Update

    root = args.path.resolve()
    if not root.is_dir():
        print(f"graphlive watch: {args.path}: not a folder", file=sys.stderr)
        return 2
    live = LiveGraph(
        args.graph or graph_name_for(root),
        root=root,
        redis_url=args.redis_url,
        languages=args.languages,
    )
    bar = ProgressBar(sys.stderr)
    try:
        live.analyze(workers=args.workers, progress=bar)
    finally:
        bar.close()
    summary = live.summary()

    def report(update: Update) -> None:
        line: dict[str, Any] = {
            "files": list(update.files),
            "ms": round(update.seconds * 1000, 1),
            "last_seq": live.position.seq,
            "error": update.error,
            "publish_error": str(live.publish_error) if live.publish_error else None,
        }
        if args.json:
            print(json.dumps(line), flush=True)
        else:
            status = update.error or (
                "not published: Redis unavailable" if live.publish_error else "ok"
            )
            text = f"{len(update.files)} file(s) in {line['ms']} ms -> seq {line['last_seq']}"
            print(f"{text} ({status})", file=sys.stderr, flush=True)

    live.watch(debounce_ms=args.debounce_ms, on_update=report)
    # Printed once the OS watch is in place: from here on no change is missed.
    print(
        f"watching {root} as graph {live.name!r}: {summary['nodes']} nodes, "
        f"{summary['edges']} edges (last seq {summary['last_seq']}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    # SIGTERM (service managers, test harnesses) ends the watch as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        live.close()
    return 0
