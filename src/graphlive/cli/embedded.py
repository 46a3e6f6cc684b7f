"""``graphlive redis start|stop|status``: the embedded Redis from the command line.

Exit codes: ``start`` and ``stop`` return 0 on success (stopping a server that is not running
succeeds) and 1 on error; ``status`` returns 0 when the server answers and 1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from graphlive.bus import embedded
from graphlive.bus.connection import URL_ENV, redact


def add_redis_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``redis`` with its ``start``, ``stop`` and ``status`` sub-commands to ``subparsers``.

    Each sub-command sets ``func``, a callable taking the parsed arguments and returning the
    exit code. Returns the ``redis`` parser.
    """
    parser = subparsers.add_parser(
        "redis",
        help="manage the embedded Redis server",
        description=(
            "Manage the embedded redis-server that graphlive starts on demand when "
            f"{URL_ENV} is not set. It listens on a private unix socket only and keeps its "
            "data in an append-only file."
        ),
    )
    actions = parser.add_subparsers(dest="redis_command", metavar="ACTION")
    actions.required = True

    start = actions.add_parser("start", help="start the embedded Redis unless it is running")
    start.add_argument("--json", action="store_true", help="print the status as JSON")
    start.add_argument(
        "--timeout", type=float, default=embedded.START_TIMEOUT, help="seconds to wait for it"
    )
    start.set_defaults(func=run_start)

    stop = actions.add_parser("stop", help="shut the embedded Redis down (its data is kept)")
    stop.add_argument(
        "--timeout", type=float, default=embedded.STOP_TIMEOUT, help="seconds before SIGTERM"
    )
    stop.set_defaults(func=run_stop)

    status = actions.add_parser("status", help="say where the embedded Redis is and if it answers")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    status.set_defaults(func=run_status)
    return parser


def run_start(args: argparse.Namespace) -> int:
    """``graphlive redis start``: start (or find) the server and print its status."""
    try:
        info = embedded.ensure_running(timeout=args.timeout)
    except (embedded.EmbeddedRedisUnavailable, embedded.EmbeddedRedisError) as exc:
        print(f"graphlive redis start: {exc}", file=sys.stderr)
        return 1
    _print_status(info, as_json=args.json)
    return 0


def run_stop(args: argparse.Namespace) -> int:
    """``graphlive redis stop``: shut the server down; succeeds if none was running."""
    try:
        stopped = embedded.stop(timeout=args.timeout)
    except embedded.EmbeddedRedisError as exc:
        print(f"graphlive redis stop: {exc}", file=sys.stderr)
        return 1
    print("embedded Redis stopped" if stopped else "embedded Redis was not running")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """``graphlive redis status``: print the status; exit code 0 if it answers, 1 if not."""
    info = embedded.status()
    _print_status(info, as_json=args.json)
    return 0 if info is not None else 1


def describe(info: embedded.EmbeddedRedis | None) -> dict[str, Any]:
    """The JSON status object: ``running``, ``url``, ``pid``, ``version``, ``data_dir``,
    ``socket``, ``log_file``, ``falkordb``, ``started_at`` (null when not running) and
    ``configured_url``: ``GRAPHLIVE_REDIS_URL`` with its password redacted, or null."""
    configured = os.environ.get(URL_ENV) or None
    fields: dict[str, Any] = {"running": info is not None}
    if info is None:
        empty = (
            "url",
            "pid",
            "version",
            "data_dir",
            "socket",
            "log_file",
            "falkordb",
            "started_at",
        )
        fields.update(dict.fromkeys(empty))
    else:
        fields.update(info.to_json())
        del fields["socket_dir"]  # an implementation detail of where the socket is
    fields["configured_url"] = None if configured is None else redact(configured)
    return fields


def _print_status(info: embedded.EmbeddedRedis | None, *, as_json: bool) -> None:
    fields = describe(info)
    if as_json:
        print(json.dumps(fields, indent=2))
        return
    if info is None:
        print("embedded Redis is not running (it starts on demand, or: graphlive redis start)")
    else:
        print(f"embedded Redis {info.version} is running (pid {info.pid})")
        print(f"  url:       {info.url}")
        print(f"  data dir:  {info.data_dir}")
        print(f"  log file:  {info.log_file}")
        print(f"  FalkorDB:  {'loaded' if info.falkordb else 'not loaded'}")
    if fields["configured_url"] is not None:
        print(f"note: {URL_ENV} is set ({fields['configured_url']}): graphlive uses that Redis")
