"""``graphlive sink GRAPH --to URL``: run a graph-database sink from the command line.

Wired into ``graphlive`` by :func:`add_commands`; ``python -m graphlive.sinks`` runs the same
command on its own. Exit codes: 0 done (``--until-caught-up``) or stopped by SIGINT/SIGTERM,
1 for a runtime failure (message on stderr), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

import redis

from graphlive.bus.keys import validate_graph_name

__all__ = ["add_commands", "build_parser", "main", "run_sink"]

EXIT_FAILURE = 1


def _configure(p: argparse.ArgumentParser) -> None:
    from graphlive.sinks.runner import (
        DEFAULT_BATCH_EVENTS,
        DEFAULT_LEASE_MS,
        DEFAULT_SNAPSHOT_CHUNK,
        DEFAULT_TXN_WAIT_MS,
    )

    p.add_argument("graph", type=validate_graph_name, metavar="GRAPH")
    p.add_argument(
        "--to",
        default=None,
        metavar="URL",
        help="target: falkordb:// (graphlive's Redis), falkordb://host:port/NAME, "
        "falkordb:///path/redis.sock/NAME, bolt://user:pass@host:7687[/db], memgraph://host:7687",
    )
    p.add_argument(
        "--until-caught-up",
        action="store_true",
        help="exit 0 once the target holds every event up to the stream head",
    )
    p.add_argument("--group", default=None, help="consumer group (default: derived from --to)")
    p.add_argument("--consumer", default=None, help="consumer name (default: host-pid)")
    p.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    p.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH_EVENTS,
        metavar="N",
        help=f"events per applied batch (default {DEFAULT_BATCH_EVENTS})",
    )
    p.add_argument(
        "--lease-ms",
        type=int,
        default=DEFAULT_LEASE_MS,
        metavar="MS",
        help="how long a dead process blocks its group's takeover",
    )
    p.add_argument(
        "--txn-wait-ms",
        type=int,
        default=DEFAULT_TXN_WAIT_MS,
        metavar="MS",
        help="longest wait for the rest of an incomplete transaction",
    )
    p.add_argument(
        "--snapshot-chunk",
        type=int,
        default=DEFAULT_SNAPSHOT_CHUNK,
        metavar="N",
        help=f"nodes or edges per snapshot-loading statement (default {DEFAULT_SNAPSHOT_CHUNK})",
    )
    p.add_argument(
        "--status",
        action="store_true",
        help="print the graph's sinks and their lag as JSON and exit",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    p.set_defaults(func=run_sink)


def add_commands(sub: Any) -> None:
    """Add ``sink`` to the top-level ``graphlive`` sub-parsers."""
    p = sub.add_parser(
        "sink",
        help="replay a graph's events into FalkorDB, Neo4j or Memgraph",
        description="Apply GRAPH's change events to a graph database, exactly once, following "
        "the stream through a Redis consumer group. See docs/sinks.md.",
    )
    _configure(p)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m graphlive.sinks``."""
    p = argparse.ArgumentParser(prog="python -m graphlive.sinks", description=__doc__)
    _configure(p)
    return p


def run_sink(args: argparse.Namespace) -> int:
    """Run the sink described by ``args``; returns the exit code."""
    from graphlive.bus.connection import connect, redact
    from graphlive.sinks.lag import sink_status
    from graphlive.sinks.runner import Sink
    from graphlive.sinks.target import SinkError

    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.status:
        client = connect(args.redis_url)
        try:
            print(json.dumps(sink_status(client, args.graph), indent=2))
        finally:
            client.close()
        return 0
    if not args.to:
        print("graphlive sink: --to URL is required", file=sys.stderr)
        return 2
    try:
        sink = Sink(
            args.graph,
            args.to,
            redis_url=args.redis_url,
            group=args.group,
            consumer=args.consumer,
            batch_events=args.batch,
            max_txn_events=max(args.batch, 50_000),
            lease_ms=args.lease_ms,
            txn_wait_ms=args.txn_wait_ms,
            snapshot_chunk=args.snapshot_chunk,
        )
    except (ValueError, SinkError) as exc:
        print(f"graphlive sink: {exc}", file=sys.stderr)
        return 2
    restore = _stop_on_signals(sink.stop)
    try:
        stats = sink.run(until_caught_up=args.until_caught_up)
    except (SinkError, ValueError, redis.RedisError) as exc:
        print(f"graphlive sink: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        restore()
        sink.close()
    if args.verbose:
        print(
            f"graphlive sink: applied {stats.events} events in {stats.batches} batches, "
            f"{stats.rebuilds} rebuilds; at seq {stats.position.seq}",
            file=sys.stderr,
        )
    return 0


def _stop_on_signals(stop: Any) -> Any:
    """SIGINT/SIGTERM end the run after the current batch (the lease is released for a standby).
    Returns a function that restores the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)

    return restore


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m graphlive.sinks``."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
