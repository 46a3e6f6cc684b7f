"""``graphlive events`` (and the ``redis`` command group from :mod:`embedded_cli`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import redis

from graphlive.bus.keys import validate_graph_name
from graphlive.bus.reader import Position, ResyncRequired, StreamReader
from graphlive.events import encode

#: Exit code when the requested position is no longer in the stream.
EXIT_RESYNC = 3


def add_commands(sub: Any) -> None:
    """Add the bus commands to the top-level ``graphlive`` sub-parsers."""
    from graphlive.bus.embedded_cli import add_redis_command

    add_redis_command(sub)
    p = sub.add_parser(
        "events",
        help="print a graph's events as JSON lines",
        description="Print the events of GRAPH after seq N (default: all kept) as JSON lines.",
    )
    p.add_argument("graph", type=validate_graph_name, metavar="GRAPH")
    p.add_argument("--since", type=int, default=0, metavar="N", help="print events with seq > N")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    p.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    p.set_defaults(func=run_events)


def run_events(args: argparse.Namespace) -> int:
    from graphlive.bus.connection import connect

    if args.since < 0:
        print("graphlive events: --since must be >= 0", file=sys.stderr)
        return 2
    client = connect(args.redis_url)
    reader = StreamReader(client, args.graph)
    pos = Position(seq=args.since)
    out = sys.stdout.buffer
    try:
        if not client.exists(reader.keys.meta):
            print(f"graphlive events: no graph named {args.graph!r}", file=sys.stderr)
            return 1
        while True:
            events = reader.wait(pos, block_ms=1000) if args.follow else reader.read(pos)
            for event in events:
                out.write(encode(event) + b"\n")
            if events:
                out.flush()
                pos = Position(events[-1].epoch, events[-1].seq)
            elif not args.follow:
                return 0
    except ResyncRequired as exc:
        print(
            f"graphlive events: {exc}. The stream no longer holds every event after "
            f"{pos.seq}; read the snapshot or start again with a later --since.",
            file=sys.stderr,
        )
        return EXIT_RESYNC
    except redis.ConnectionError as exc:
        print(f"graphlive events: cannot reach Redis: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    finally:
        client.close()
