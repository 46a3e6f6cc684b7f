"""WebSocket fan-out of the graphlive server beside a bare Tornado broadcaster, in the same run.

    .venv/bin/python benchmarks/bench_fanout.py [--clients 1,10,100] [--history 20000]
        [--rate 1000,10000] [--duration 5] [--only catchup,live,memory,storm,fairness]
        [--memory-clients 1000] [--storm-clients 100] [--storm-behind 100000]
        [--snapshot-elements 250000] [--pullers 10] [--puller-mode stalled|reading]
        [--fairness-clients 10] [--fairness-rate 1000]
        [--client-procs 4] [--graphlive-option NAME=VALUE ...] [--profile-server out.pstats]
        [--json out.json]

Every part runs in its own process: a private ``redis-server`` (the bundled binary,
``tests/redis_servers.py``), the real Jupyter server with the ``graphlive_server`` extension
(``python -m jupyter_server``, token auth, the default ``GraphliveServer`` limits unless
``--graphlive-option`` says otherwise), the bare broadcaster (``benchmarks/fanout_bare.py``,
started as this file with ``--child bare``), and the clients (``benchmarks/fanout_clients.py``,
this file with ``--child clients``: one asyncio loop per process holding up to
``ceil(N / client-procs)`` Tornado WebSocket connections; 1 process up to 50 clients, then up to
``--client-procs``). The parent publishes with ``graphlive.bus.publisher.Publisher`` and
orchestrates over the children's stdin/stdout (``benchmarks/fanout_processes.py``; the
measurements: ``benchmarks/fanout_measures.py``; this file: options, orchestration, tables,
JSON). Both servers are started once and measured one after the other (never at the same time)
on the same Redis. Live runs share one graph; every catch-up and storm run gets a fresh graph of
the same content, because graphlive keeps recently read pages (shared by the subscriptions
replaying them): each run starts cold for its graph.

The bare broadcaster (``fanout_bare.py``, ``--child bare``) is the baseline: a Tornado app with
one WebSocket endpoint, ``/ws``, speaking the part of the protocol the clients use (``hello``,
``subscribe`` with ``since: {"epoch", "seq"}``, ``subscribed``, ``events`` frames with the same
header and the same batching: at most 1000 events per frame). Catch-up: ``XRANGE`` pages up to
the next multiple of 1000 from the client's position, each page read once and sent as one frame
spliced from the stored bytes (field ``e`` of each entry, one encoded event) without decoding,
shared by every client replaying it (concurrent reads of a page wait for one ``XRANGE``; full
pages are kept, 16 at most) — the least a fan-out server does; the next page is read while the
previous frame is being written, then the write is awaited (flow control). Live: one
``XREAD BLOCK`` reader per graph (running while the graph has subscribers) builds one frame per
batch and writes it to every live client, unawaited. Handover: a client goes live when a page
comes back short and the reader is not ahead of it (no ``await`` between check and flag); a live
batch overlapping what the replay sent is cut at the client's position. It does not handle
resets, trimming, filters, slow consumers, Redis outages or authentication: it is what fan-out
costs without them.

Measured (every number from this run; progress on stderr, tables on stdout):

1. catch-up (``catchup``): N clients (``--clients``) connect, get ``hello``, then all subscribe at
   once with ``since: {epoch, seq: 0}`` to a graph of ``--history`` events (published before in
   batches of 1000 node_added events, ~230 bytes each). Delivered events/s = N x history / (last
   client reaching the head - first subscribe sent). 1000 clients is ``--clients 1,10,100,1000``
   (20M events through each server: minutes on 2 cores).
2. live (``live``): N clients subscribe at the head, one warm-up event proves every one is live,
   then the parent publishes ``--rate`` events/s for ``--duration`` s (one ``publish_encoded`` call
   every ``--tick`` s, the events' ``time`` stamped just before the call). Latency = the client's
   receive time - the event's ``time`` (same machine clock), every event counted (histogram at 3
   significant digits); p50/p99 over all clients. Delivered = events received / (published x N)
   after waiting up to ``--drain`` s past the end; "delivered ev/s" = events received / duration.
3. memory (``memory``): server RSS (``/proc/PID/status`` VmRSS) before and after
   ``--memory-clients`` connections subscribe at the head and sit idle; per connection = the
   delta / N. Measured first, on fresh servers (one warm-up connection before), so memory freed
   by earlier measurements does not hide the growth. RSS after they close is shown too.
4. reconnect storm (``storm``, not in the default run: ~10M events through each server):
   ``--storm-clients`` clients subscribe at once ``--storm-behind`` events behind the head of a
   graph nobody publishes to meanwhile; time until every one has received the head (= would be
   live).
5. fairness (``fairness``, graphlive only — the bare broadcaster has no snapshots —; ~40 s on
   2 cores, a third of it building the big graph; ``benchmarks/fanout_fairness.py``):
   a graph of ``--snapshot-elements`` nodes + edges is published through a CodeGraph producer and
   its snapshot written at the head (build times printed). Then the live measurement with
   ``--fairness-clients`` clients at ``--fairness-rate`` events/s on another graph, three times:
   baseline; under load, where ``--pullers`` raw WebSocket connections (their own process)
   subscribe to the big graph with ``"since": null`` just before the window and never read
   (``--puller-mode stalled``; ``reading``: they read as fast as they can); baseline again.
   p99 ratio = under load / baseline; server RSS before, during (peak, end) and after.

Targets (issue): catch-up and live delivered events/s >= 0.7x bare at 100 clients; 100 clients
at 1k events/s p99 <= 50 ms (on a quiet machine); reconnect storm <= 10 s; other graphs' live
p99 within 2x of baseline while 10 clients pull big snapshots (fairness).

Not measured yet: the storm with a publisher running meanwhile (its head is still), live at
10k events/s with 1000 clients unless asked (``--clients``), filtered subscriptions
(``graphlive/ws/events/filtered``), snapshots outside ``fairness`` (catch-up is a replay from
seq 0; the graph has no snapshot), browsers' clients (the clients here only read frame
headers, count events and extract ``time`` values). The client processes share the 2 cores with
the server: on a small machine they cap both servers; read the ratios. CPU seconds of the
server process (``/proc``) and of the client processes are recorded for every run (catch-up
table: server microseconds of CPU per delivered event).
Results go to ``--json`` only when given (nothing is written into the repository by default).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0
TARGET_STORM_S = 10.0


# --------------------------------------------------------------------------- tables


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _n(v: float | None, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def print_tables(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nPython {m['python']}, {m['cpus']} CPUs, load {m['load_before'][0]:.2f} before, "
        f"{m['load_after'][0]:.2f} after; graphlive {m['graphlive']}"
    )
    if results["graphlive_options"]:
        print(f"GraphliveServer options changed: {' '.join(results['graphlive_options'])}")
    else:
        print("GraphliveServer options: defaults")
    rows = results.get("catchup")
    if rows:
        print(
            f"\nCatch-up: N clients replay {rows[0]['graphlive']['behind']:,} events from seq 0 "
            "at once; delivered events/s (first subscribe to last client at the head);"
            "\ncpu = server CPU microseconds per delivered event."
            f"\nTarget: graphlive >= {TARGET_RATIO}x bare at 100 clients."
        )
        print(f"{'clients':>7} {'graphlive ev/s':>15} {'(s)':>7} {'cpu':>5} {'bare ev/s':>12}"
              f" {'(s)':>7} {'cpu':>5} {'ratio':>7}  {'target':<8} check")  # fmt: skip
        for r in rows:
            g, b = r["graphlive"], r["bare"]
            ratio = _ratio(g["events_per_s"], b["events_per_s"])
            target = f">= {TARGET_RATIO}x" if r["clients"] == 100 else ""
            met = (
                ("met" if ratio is not None and ratio >= TARGET_RATIO else "NOT met")
                if target
                else ""
            )
            bad = [f"{k} incomplete" for k, x in (("graphlive", g), ("bare", b)) if not x["ok"]]
            print(
                f"{r['clients']:>7} {_n(g['events_per_s']):>15} {_n(g['seconds'], '.2f'):>7}"
                f" {_n(g['server_cpu_us_per_event'], '.1f'):>5}"
                f" {_n(b['events_per_s']):>12} {_n(b['seconds'], '.2f'):>7}"
                f" {_n(b['server_cpu_us_per_event'], '.1f'):>5}"
                f" {_n(ratio, '.2f') + 'x':>7}  {target:<8} {met} {'; '.join(bad)}"
            )
    rows = results.get("live")
    if rows:
        print(
            "\nLive: N clients at the head, events published at the rate for "
            f"{results['args']['duration']} s; latency = receive - publish time, ms; delivered ="
            "\nreceived / (published x N) after the drain; ratio = graphlive / bare delivered ev/s."
            f"\nTargets: 100 clients at 1k/s p99 <= {TARGET_P99_MS:.0f} ms; delivered ev/s >= "
            f"{TARGET_RATIO}x bare at 100 clients."
        )
        print(
            f"{'rate':>6} {'clients':>7} | {'gl p50':>7} {'gl p99':>7} {'gl deliv':>8}"
            f" {'gl ev/s':>9} | {'bare p50':>8} {'bare p99':>8} {'deliv':>6} {'ev/s':>9} |"
            f" {'ratio':>6}  targets"
        )
        for r in rows:
            g, b = r["graphlive"], r["bare"]
            ratio = _ratio(g["delivered_per_s"], b["delivered_per_s"])
            checks = []
            if r["clients"] == 100:
                met = ratio is not None and ratio >= TARGET_RATIO
                checks.append(f"ratio {'met' if met else 'NOT met'}")
                if r["rate"] == 1000:
                    met = (
                        g["p99_ms"] is not None
                        and g["p99_ms"] <= TARGET_P99_MS
                        and g["delivered"] == 1
                    )
                    checks.append(f"p99 {'met' if met else 'NOT met'}")
            for name, x in (("graphlive", g), ("bare", b)):
                if x["closes"]:
                    checks.append(f"{name} closes {collections.Counter(x['closes'])}")
                if x["gaps"] or x["errors"]:
                    checks.append(f"{name} gaps {x['gaps']} errors {len(x['errors'])}")
                if x["publish_rate"] < 0.95 * r["rate"]:
                    checks.append(f"{name} run published only {x['publish_rate']:,.0f}/s")
            print(
                f"{r['rate']:>6,.0f} {r['clients']:>7} | {_n(g['p50_ms'], '.1f'):>7}"
                f" {_n(g['p99_ms'], '.1f'):>7} {_n(100 * g['delivered'], '.1f') + '%':>8}"
                f" {_n(g['delivered_per_s']):>9} | {_n(b['p50_ms'], '.1f'):>8}"
                f" {_n(b['p99_ms'], '.1f'):>8} {_n(100 * b['delivered'], '.1f') + '%':>6}"
                f" {_n(b['delivered_per_s']):>9} | {_n(ratio, '.2f') + 'x':>6}  {'; '.join(checks)}"
            )
    mem = results.get("memory")
    if mem:
        g, b = mem["graphlive"], mem["bare"]
        print(
            f"\nMemory per idle connection: {g['clients']} connections subscribed at the head,"
            " server RSS delta / N (KiB)"
        )
        print(f"{'':>10} {'per conn':>9} {'RSS before':>11} {'with N':>9} {'after close':>12}")
        for name, x in (("graphlive", g), ("bare", b)):
            print(
                f"{name:>10} {x['per_connection_kib']:>9.1f} {x['rss_before_kib']:>11,}"
                f" {x['rss_after_kib']:>9,} {x['rss_after_close_kib']:>12,}"
                + (f"  closes {x['closes']}" if x["closes"] else "")
            )
        print(
            f"{'ratio':>10} {_n(_ratio(g['per_connection_kib'], b['per_connection_kib']), '.2f')}x"
        )
    storm = results.get("storm")
    if storm:
        g, b = storm["graphlive"], storm["bare"]
        print(
            f"\nReconnect storm: {g['clients']} clients each {g['behind']:,} events behind"
            " subscribe at once; seconds until all reach the head."
            f" Target <= {TARGET_STORM_S:.0f} s."
        )
        for name, x in (("graphlive", g), ("bare", b)):
            met = (
                "met" if x["seconds"] is not None and x["seconds"] <= TARGET_STORM_S else "NOT met"
            )
            print(
                f"{name:>10} {_n(x['seconds'], '.1f'):>7} s  {_n(x['events_per_s'])} ev/s"
                f"  {x['reached']}/{x['clients']} reached  {met}"
            )
        print(f"{'ratio':>10} {_n(_ratio(g['seconds'], b['seconds']), '.2f')}x (time)")
    if results.get("fairness"):
        from fanout_fairness import print_fairness

        print_fairness(results["fairness"], results["args"]["duration"])
    missing = results["not_run"]
    if missing:
        print(f"\nNot run in this invocation: {', '.join(missing)} (see --only).")
    print(
        "Not measured yet: the storm with a live publisher; filtered subscriptions; snapshots"
        " (but fairness);"
        "\nbrowser clients. Client processes share the CPUs with the servers (see the load)."
    )


# --------------------------------------------------------------------------- main


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO, check=False)
    return proc.stdout.strip()


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        sys.path[:0] = [str(HERE), str(REPO)]
        kind, options = argv[1], json.loads(argv[2])
        if kind == "bare":
            from fanout_bare import child_bare

            return child_bare(options)
        if kind == "pullers":
            from fanout_fairness import child_pullers

            return child_pullers(options)
        from fanout_clients import child_clients

        return child_clients(options)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--clients", default="1,10,100", help="client counts, catch-up and live (default 1,10,100)"
    )
    ap.add_argument(
        "--history", type=int, default=20000, help="events each catch-up client replays"
    )
    ap.add_argument("--rate", default="1000,10000", help="live publish rates, events/s")
    ap.add_argument(
        "--duration", type=float, default=5.0, help="seconds of publishing per live run"
    )
    ap.add_argument("--tick", type=float, default=0.01, help="seconds between two publish calls")
    ap.add_argument(
        "--drain", type=float, default=10.0, help="seconds a live run waits for stragglers"
    )
    ap.add_argument(
        "--only",
        default="catchup,live,memory,fairness",
        help="comma-separated: catchup, live, memory, storm, fairness (default: all but storm;"
        " fairness is graphlive only, ~40 s)",
    )
    ap.add_argument("--memory-clients", type=int, default=1000, help="idle connections (memory)")
    ap.add_argument("--storm-clients", type=int, default=100)
    ap.add_argument("--storm-behind", type=int, default=100000)
    ap.add_argument(
        "--snapshot-elements",
        type=int,
        default=250000,
        help="nodes + edges of the big graph (fairness; ~10 s to build 250,000)",
    )
    ap.add_argument("--pullers", type=int, default=10, help="snapshot pullers (fairness)")
    ap.add_argument(
        "--puller-mode",
        choices=("stalled", "reading"),
        default="stalled",
        help="the pullers never read during the window (default) or read everything",
    )
    ap.add_argument(
        "--fairness-clients", type=int, default=10, help="live clients of the other graph"
    )
    ap.add_argument(
        "--fairness-rate", type=float, default=1000.0, help="events/s on the other graph"
    )
    ap.add_argument("--client-procs", type=int, default=4, help="most client processes per run")
    ap.add_argument(
        "--timeout", type=float, default=300.0, help="seconds a catch-up/storm may take"
    )
    ap.add_argument(
        "--graphlive-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a GraphliveServer traitlet for the server (repeatable), e.g. max_queue_bytes=...",
    )
    ap.add_argument(
        "--profile-server",
        type=Path,
        default=None,
        help="cProfile the graphlive server into this file",
    )
    ap.add_argument("--json", type=Path, default=None, help="write every result here")
    args = ap.parse_args(argv)
    only = {x for x in args.only.split(",") if x}
    parts = ("catchup", "live", "memory", "storm", "fairness")
    unknown = only - set(parts)
    if unknown:
        ap.error(f"unknown --only parts: {', '.join(sorted(unknown))}")
    sys.path[:0] = [str(HERE), str(REPO)]
    from tests.redis_servers import running_redis

    from fanout_measures import (
        LIVE_GRAPH,
        Bus,
        measure_catchup,
        measure_live,
        measure_memory,
        measure_storm,
    )
    from fanout_processes import Server, start_bare, start_graphlive

    counts, rates = _ints(args.clients), [float(r) for r in args.rate.split(",") if r]
    dirty = _git("status", "--porcelain", "--", "src/graphlive", "jupyter_server_extension")
    commit = _git("rev-parse", "--short", "HEAD")
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)),
            "load_before": os.getloadavg(),
            "commit": commit,
            "graphlive": f"work tree at {commit}" + (" + uncommitted changes" if dirty else ""),
            "uncommitted": dirty.splitlines(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "graphlive_options": args.graphlive_option,
        "not_run": [p for p in parts if p not in only],
    }
    work = Path(tempfile.mkdtemp(prefix="gl-fanout-"))
    print(f"work folder (logs): {work}", file=sys.stderr)
    with running_redis() as url:
        bus = Bus(url)
        bus.fill(LIVE_GRAPH, 1)
        servers: list[Server] = []
        try:
            servers.append(start_graphlive(url, work, args))
            if only - {"fairness"}:
                servers.append(start_bare(url, work))
            print(
                "servers up: " + ", ".join(f"{s.name} pid {s.pid}" for s in servers),
                file=sys.stderr,
            )
            if "memory" in only:
                results["memory"] = {
                    s.name: measure_memory(s, args.memory_clients, bus, work, args) for s in servers
                }
            if "catchup" in only:
                results["catchup"] = [
                    {
                        "clients": n,
                        **{s.name: measure_catchup(s, n, bus, work, args) for s in servers},
                    }
                    for n in counts
                ]
            if "live" in only:
                results["live"] = [
                    {
                        "clients": n,
                        "rate": rate,
                        **{s.name: measure_live(s, n, rate, bus, work, args) for s in servers},
                    }
                    for rate in rates
                    for n in counts
                ]
            if "storm" in only:
                results["storm"] = {s.name: measure_storm(s, bus, work, args) for s in servers}
            if "fairness" in only:
                from fanout_fairness import measure_fairness

                results["fairness"] = measure_fairness(servers[0], url, bus, work, args)
        finally:
            for s in servers:
                s.child.stop(quit=False, timeout=30)
    results["machine"]["load_after"] = os.getloadavg()
    print_tables(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
