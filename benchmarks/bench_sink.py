"""Graph-database sink throughput and lag, FalkorDB on the embedded Redis, beside a raw baseline.

    .venv/bin/python benchmarks/bench_sink.py [--modules 1000] [--funcs 20] [--batch 2000]
        [--tree PATH] [--json out.json]

Measures (one sink process; Redis + FalkorDB on the other core of a 2-core machine):

1. Apply throughput, events/s: ``Sink.run(until_caught_up=True)`` replaying a generated
   add-only workload (per-module transactions of function nodes, ``contains``/``calls``/
   ``imports`` edges) from the stream into a fresh FalkorDB graph — parameterised batches,
   MERGE upserts, cursor compare-and-set, XREADGROUP/XACK — against the baseline of raw
   ``UNWIND ... CREATE`` of the same nodes and edges in batches of the same size, with the same
   index and no cursor bookkeeping.
2. Churn throughput, events/s: re-analysis-like updates (every function moves, its calls are
   replaced: node_updated + edge_removed + edge_added).
3. Snapshot load, entities/s: a fresh target rebuilt from the bus snapshot (CREATE chunks).
4. Lag under a full analysis: ``graphlive.analysis`` analyses ``--tree`` (default: this Python's
   standard library) into a LiveGraph while ``python -m graphlive.sinks`` follows it; lag =
   stream head seq - applied seq, sampled every 50 ms. Reports the peak, the lag when the analysis
   finished and how long the sink needed after that to reach lag 0.

Machines here are shared and noisy: read the ratios, not only the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from graphlive.bus import Publisher, write_snapshot
from graphlive.events import ChangeEvent
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.sinks import Sink, sink_lag
from graphlive.sinks.cypher import Statement, node_props, schema_statements
from graphlive.sinks.falkordb import FalkorDBTarget


def generate(graph: str, modules: int, funcs: int, seed: int = 1) -> CodeGraph:
    """An add-only code graph built like an analysis: one transaction per module."""
    rng = random.Random(seed)
    g = CodeGraph(graph)
    return _grow(g, rng, modules, funcs)


def _grow(g: CodeGraph, rng: random.Random, modules: int, funcs: int) -> CodeGraph:
    for m in range(modules):
        mod = f"pkg.m{m}"
        with g.transaction():
            g.add_node(Node.make(mod, NodeKind.MODULE, file=f"pkg/m{m}.py", line=1, loc=funcs * 9))
            for f in range(funcs):
                fid = f"{mod}.f{f}"
                g.add_node(
                    Node.make(
                        fid,
                        NodeKind.FUNCTION,
                        file=f"pkg/m{m}.py",
                        line=f * 9 + 2,
                        end_line=f * 9 + 10,
                        col=0,
                        end_col=12,
                        complexity=f % 5 + 1,
                        loc=9,
                        doc=f"Do thing {f} of module {m}.",
                    )
                )
                g.add_edge(Edge(EdgeKind.CONTAINS, mod, fid))
                for k in range(2):
                    target = (
                        f"pkg.m{rng.randrange(m + 1)}.f{rng.randrange(f + 1 if m == 0 else funcs)}"
                    )
                    if target in g:
                        g.add_edge(Edge(EdgeKind.CALLS, fid, target, f * 9 + 3 + k, f"pkg/m{m}.py"))
            if m:
                g.add_edge(
                    Edge(EdgeKind.IMPORTS, mod, f"pkg.m{rng.randrange(m)}", 1, f"pkg/m{m}.py")
                )
    return g


def churn(g: CodeGraph, rng: random.Random, modules: int, funcs: int) -> None:
    """Re-analysis of every module: functions move down a line, calls are re-targeted."""
    for m in range(modules):
        mod = f"pkg.m{m}"
        with g.transaction():
            for f in range(funcs):
                fid = f"{mod}.f{f}"
                node = g.node(fid)
                g.add_node(
                    Node.make(
                        fid,
                        NodeKind.FUNCTION,
                        file=node.file,
                        line=(node.line or 0) + 1,
                        end_line=node.end_line,
                        complexity=node.complexity,
                        loc=node.loc,
                        doc=node.doc,
                    )
                )
                for e in g.out_edges(fid, EdgeKind.CALLS):
                    g.remove_edge(e.key)
                target = f"pkg.m{rng.randrange(modules)}.f{rng.randrange(funcs)}"
                g.add_edge(Edge(EdgeKind.CALLS, fid, target, (node.line or 0) + 2, node.file))


def publish_all(client: redis.Redis, g: CodeGraph, events: list[ChangeEvent]) -> Publisher:
    pub = Publisher(client, g.name, retention=len(events) + 10)
    pub.reset()
    pub.publish(events)
    return pub


def run_sink(url: str, graph: str, fgraph: str, batch: int) -> tuple[float, int]:
    """Seconds for a fresh sink to apply the whole stream; events applied."""
    target = FalkorDBTarget.from_url(f"falkordb:///{fgraph}", default_graph=graph, redis_url=url)
    target.delete_graph()
    t0 = time.perf_counter()
    with Sink(graph, target, redis_url=url, batch_events=batch, group=f"bench-{fgraph}") as sink:
        stats = sink.run(until_caught_up=True)
    seconds = time.perf_counter() - t0
    target.close()
    return seconds, stats.events


def raw_create(url: str, fgraph: str, g: CodeGraph, batch: int) -> float:
    """Seconds for plain UNWIND ... CREATE of ``g``'s nodes and edges (no cursor, no MERGE)."""
    client = redis.Redis.from_url(url)
    target = FalkorDBTarget(client, fgraph)
    target.delete_graph()
    for text in schema_statements(target.flavor):
        target.run_schema(text)
    content = g.to_dict()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for n in content["nodes"]:
        by_kind.setdefault(n["kind"], []).append(node_props(g.name, n))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in content["edges"]:
        props = {"id": e["id"], "kind": e["kind"], "line": e["line"]}
        if e.get("file"):
            props["file"] = e["file"]
        by_type.setdefault(e["kind"].upper(), []).append(
            {"source": e["source"], "target": e["target"], "p": props}
        )
    t0 = time.perf_counter()
    for kind, rows in by_kind.items():
        label = kind.capitalize()
        for i in range(0, len(rows), batch):
            target.write(
                Statement(
                    f"UNWIND $rows AS r CREATE (n:CodeNode:{label}) SET n = r",
                    {"rows": rows[i : i + batch]},
                )
            )
    for rtype, rows in by_type.items():
        for i in range(0, len(rows), batch):
            target.write(
                Statement(
                    "UNWIND $rows AS r MATCH (a:CodeNode {id: r.source}) "
                    "MATCH (b:CodeNode {id: r.target}) "
                    f"CREATE (a)-[e:{rtype}]->(b) SET e = r.p",
                    {"rows": rows[i : i + batch]},
                )
            )
    seconds = time.perf_counter() - t0
    target.delete_graph()
    client.close()
    return seconds


def lag_under_analysis(url: str, tree: Path, batch: int) -> dict[str, Any]:
    from graphlive.live import LiveGraph

    graph = "bench-analysis"
    client = redis.Redis.from_url(url)
    target = FalkorDBTarget.from_url(f"falkordb:///{graph}", default_graph=graph, redis_url=url)
    target.delete_graph()
    lg = LiveGraph(graph, redis_url=url)
    lg.flush()  # the session's reset, so the sink starts on this epoch
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graphlive.sinks",
            graph,
            "--to",
            f"falkordb:///{graph}",
            "--redis-url",
            url,
            "--group",
            "bench",
            "--batch",
            str(batch),
        ],
    )
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter() - t0, sink_lag(client, graph, "bench")))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    summary = lg.analyze(tree)
    t_analysis = time.perf_counter() - t0
    lag_at_end = sink_lag(client, graph, "bench")
    deadline = time.monotonic() + 600
    while sink_lag(client, graph, "bench") > 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the sink process to drain, with a deadline
    t_caught = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    counts = target.counts(graph)
    ok = counts == (lg.graph.node_count, lg.graph.edge_count)
    out = {
        "tree": str(tree),
        "files": summary.files,
        "events": lg.position.seq,
        "nodes": lg.graph.node_count,
        "edges": lg.graph.edge_count,
        "analysis_s": t_analysis,
        "caught_up_s": t_caught,
        "drain_after_analysis_s": t_caught - t_analysis,
        "peak_lag": max((lag for _, lag in samples), default=0),
        "lag_at_analysis_end": lag_at_end,
        "database_matches": ok,
    }
    lg.close()
    target.delete_graph()
    target.close()
    client.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--modules", type=int, default=1000)
    ap.add_argument("--funcs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--tree", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--no-analysis", action="store_true", help="skip the lag measurement")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from graphlive.bus import embedded

    # A private runtime/data dir: the benchmark must not touch the user's embedded Redis.
    tmp = tempfile.mkdtemp(prefix="glbench-")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
    os.environ["GRAPHLIVE_DATA_DIR"] = os.path.join(tmp, "data")
    server = embedded.ensure_running()
    results: dict[str, Any] = {"redis": server.version, "batch": args.batch}
    try:
        url = server.url
        client = redis.Redis.from_url(url)
        graph = "bench-sink"
        g = CodeGraph(graph)
        events: list[ChangeEvent] = []
        g.listen(events.extend)
        _grow(g, random.Random(1), args.modules, args.funcs)
        pub = publish_all(client, g, events)
        n_add = len(events)
        raw_s = raw_create(url, "bench-raw", g, args.batch)
        sink_s, applied = run_sink(url, graph, "bench-db", args.batch)
        assert applied == n_add, (applied, n_add)
        results["add"] = {
            "events": n_add,
            "raw_create_per_s": n_add / raw_s,
            "sink_per_s": n_add / sink_s,
            "ratio": raw_s / sink_s,
        }
        # Churn, applied incrementally by a sink that is caught up with the adds.
        events.clear()
        churn(g, random.Random(2), args.modules, args.funcs)
        pub.publish(events)
        t0 = time.perf_counter()
        with Sink(
            graph,
            "falkordb:///bench-db",
            redis_url=url,
            batch_events=args.batch,
            group="bench-bench-db",
        ) as sink:
            stats = sink.run(until_caught_up=True)
            churn_s = time.perf_counter() - t0
            assert stats.events == len(events), (stats.events, len(events))
            assert sink.target.counts(graph) == (g.node_count, g.edge_count)
        results["churn"] = {"events": len(events), "sink_per_s": len(events) / churn_s}
        # Snapshot load into a fresh target.
        epoch, head = pub.head()
        from graphlive.bus import Position

        write_snapshot(client, g, Position(epoch, head))
        snap_s, _ = run_sink(url, graph, "bench-snap", args.batch)
        entities = g.node_count + g.edge_count
        results["snapshot"] = {"entities": entities, "per_s": entities / snap_s}
        client.close()
        if not args.no_analysis:
            results["analysis"] = lag_under_analysis(url, args.tree, args.batch)
    finally:
        embedded.stop()
    a, c, s = results["add"], results["churn"], results["snapshot"]
    print(f"redis-server {server.version} + FalkorDB; batches of {args.batch}")
    print(f"{'measure':<44}{'baseline':>12}{'sink':>12}{'ratio':>8}")
    print(
        f"{'add-only replay, events/s (raw CREATE)':<44}{a['raw_create_per_s']:>12,.0f}"
        f"{a['sink_per_s']:>12,.0f}{a['ratio']:>8.2f}"
    )
    print(
        f"{'churn replay, events/s':<44}{'':>12}{c['sink_per_s']:>12,.0f}"
        f"{c['sink_per_s'] / a['raw_create_per_s']:>8.2f}"
    )
    print(
        f"{'snapshot load, nodes+edges/s':<44}{'':>12}{s['per_s']:>12,.0f}"
        f"{s['per_s'] / a['raw_create_per_s']:>8.2f}"
    )
    if "analysis" in results:
        an = results["analysis"]
        print(
            f"analysis of {an['tree']}: {an['files']} files, {an['events']} events "
            f"({an['nodes']} nodes, {an['edges']} edges) in {an['analysis_s']:.1f} s; "
            f"sink peak lag {an['peak_lag']} events, {an['lag_at_analysis_end']} at the end, "
            f"lag 0 {an['drain_after_analysis_s']:.2f} s after the analysis "
            f"(database matches: {an['database_matches']})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
