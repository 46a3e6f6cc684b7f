"""``graphlive events`` (and the ``redis`` command group from :mod:`graphlive.cli.embedded`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import redis

from graphlive.bus.connection import Client
from graphlive.bus.keys import validate_graph_name
from graphlive.bus.reader import Position, ResyncRequired, StreamReader, entry_seq
from graphlive.events import encode

#: Exit code when an explicit ``--since`` position is no longer in the stream (documented in
#: the command's help and docs/events.md).
EXIT_RESYNC = 3


def add_commands(sub: Any) -> None:
    """Add the bus commands to the top-level ``graphlive`` sub-parsers."""
    from graphlive.cli.embedded import add_redis_command

    add_redis_command(sub)
    p = sub.add_parser(
        "events",
        help="print a graph's events as JSON lines",
        description="Print the events of GRAPH as JSON lines: by default every event the "
        "stream keeps (when older ones were trimmed, stderr says which snapshot holds them); "
        f"with --since N, the events after seq N, exiting {EXIT_RESYNC} if some of those are "
        "no longer kept.",
    )
    p.add_argument("graph", type=validate_graph_name, metavar="GRAPH")
    p.add_argument(
        "--since",
        type=int,
        default=None,
        metavar="N",
        help=f"print events with seq > N (exit {EXIT_RESYNC} if they are no longer all kept)",
    )
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    p.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    p.set_defaults(func=run_events)


def run_events(args: argparse.Namespace) -> int:
    from graphlive.bus.connection import connect

    if args.since is not None and args.since < 0:
        print("graphlive events: --since must be >= 0", file=sys.stderr)
        return 2
    client = connect(args.redis_url)
    reader = StreamReader(client, args.graph)
    pos = Position(seq=args.since or 0)
    out = sys.stdout.buffer
    try:
        if not client.exists(reader.keys.meta):
            print(f"graphlive events: no graph named {args.graph!r}", file=sys.stderr)
            return 1
        if args.since is None:
            pos = _first_kept(client, reader)
        printed = False
        while True:
            try:
                events = reader.wait(pos, block_ms=1000) if args.follow else reader.read(pos)
            except ResyncRequired as exc:
                if args.since is not None or printed or exc.reason != "trimmed":
                    raise
                pos = _first_kept(client, reader)  # trimmed again since we looked: start later
                continue
            printed = printed or bool(events)
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


def _first_kept(client: Client, reader: StreamReader) -> Position:
    """Where "every kept event" starts: just before the stream's oldest entry.

    When the stream no longer starts at seq 1 (trimmed behind a snapshot), says on stderr where
    the earlier history is, so a reader knows the output is not the whole graph.
    """
    oldest: Any = client.xrange(reader.keys.events, "-", "+", count=1)
    head = reader.head()
    first = entry_seq(oldest[0][0]) if oldest else head.seq + 1
    if first > 1:
        snap: Any = client.hget(reader.keys.snapshot, "seq")
        where = f"the snapshot at seq {int(snap)}" if snap else "no snapshot (they are lost)"
        kept = f"from seq {first}" if oldest else "none"
        print(
            f"graphlive events: {reader.graph}: events 1..{first - 1} were trimmed, their state "
            f"is in {where}; printing the kept events ({kept}, head {head.seq})",
            file=sys.stderr,
        )
    return Position(seq=first - 1)
