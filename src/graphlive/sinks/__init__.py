"""Graph-database sinks: replay a graph's change events into FalkorDB, Neo4j or Memgraph.

    from graphlive.sinks import Sink
    Sink("demo", "falkordb://").run(until_caught_up=True)

See :mod:`graphlive.sinks.runner` for the guarantees and docs/sinks.md for the data model.
"""

from graphlive.sinks.lag import sink_lag, sink_status
from graphlive.sinks.runner import Sink, SinkStats
from graphlive.sinks.target import Cursor, SinkError, Target, open_target

__all__ = [
    "Cursor",
    "Sink",
    "SinkError",
    "SinkStats",
    "Target",
    "open_target",
    "sink_lag",
    "sink_status",
]
