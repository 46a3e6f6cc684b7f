"""Bolt target: Neo4j and Memgraph through the official ``neo4j`` Python driver.

The statements are those of :mod:`graphlive.sinks.cypher`, with two differences chosen by the
server's flavour:

* Neo4j reads committed data without locking, so a batch first takes the cursor node's write
  lock (``SET c._lock = true``, removed again in the same statement) and only then checks it.
  Memgraph's snapshot isolation aborts one of two conflicting transactions instead, and the
  driver's managed transaction retries it — the retry then fails the cursor check harmlessly.
* Index and constraint DDL (``IF NOT EXISTS`` on Neo4j; Memgraph's ``CREATE INDEX ON :L(p)``,
  run outside explicit transactions as Memgraph requires).

Every batch runs in one managed write transaction (``session.execute_write``), so the changes and
the cursor update commit together. The driver is imported lazily: ``pip install neo4j`` (or the
``graphlive[bolt]`` extra) is only needed for Bolt targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from graphlive.sinks.cypher import MEMGRAPH, NEO4J, Flavor, Statement
from graphlive.sinks.target import SinkError, Target

if TYPE_CHECKING:
    # The driver is optional (graphlive[bolt]); type-check with or without it.
    import neo4j  # type: ignore[import-not-found,unused-ignore]

__all__ = ["BOLT_SCHEMES", "BoltTarget", "parse_bolt_url"]

#: URL schemes of Bolt targets. ``memgraph://`` is ``bolt://`` with the Memgraph flavour.
BOLT_SCHEMES = (
    "bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc",
    "memgraph", "memgraph+s", "memgraph+ssc",
)  # fmt: skip


def parse_bolt_url(url: str) -> tuple[str, tuple[str, str] | None, str | None, str | None]:
    """Split a Bolt target URL into ``(driver URI, auth or None, database or None, flavour or
    None)``. The driver URI has no credentials, path or query; ``memgraph://`` becomes
    ``bolt://`` with flavour ``memgraph``; ``?flavor=neo4j|memgraph`` forces a flavour.
    Raises ``ValueError`` for other schemes or flavours.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BOLT_SCHEMES:
        raise ValueError(f"not a Bolt URL: {scheme}://")
    flavor: str | None = None
    if scheme.startswith("memgraph"):
        flavor = "memgraph"
        scheme = "bolt" + scheme[len("memgraph") :]
    query = parse_qs(parts.query)
    if "flavor" in query:
        flavor = query["flavor"][-1].lower()
        if flavor not in ("neo4j", "memgraph"):
            raise ValueError(f"unknown Bolt flavor {flavor!r}: use neo4j or memgraph")
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    host = parts.hostname or "localhost"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    database = parts.path.strip("/") or None
    return urlunsplit((scheme, netloc, "", "", "")), auth, database, flavor


def flavor_of_agent(agent: str) -> Flavor:
    """The flavour of a server from its Bolt agent string (Memgraph names itself there)."""
    return MEMGRAPH if "memgraph" in agent.lower() else NEO4J


class BoltTarget(Target):
    """A Neo4j or Memgraph database as a sink target."""

    def __init__(
        self,
        driver: neo4j.Driver,
        *,
        database: str | None = None,
        flavor: Flavor | None = None,
        where: str = "",
    ) -> None:
        import neo4j.exceptions  # type: ignore[import-not-found,unused-ignore]

        self.driver = driver
        self.database = database
        self._where = where
        self.transient = (
            neo4j.exceptions.ServiceUnavailable,
            neo4j.exceptions.SessionExpired,
            neo4j.exceptions.TransientError,
        )
        if flavor is None:
            agent: str = driver.get_server_info().agent
            flavor = flavor_of_agent(agent)
        self.flavor = flavor

    @classmethod
    def from_url(cls, url: str, *, retry_seconds: float = 15.0) -> BoltTarget:
        """Connect to the server of a Bolt URL (see :func:`parse_bolt_url`).

        ``retry_seconds`` bounds the driver's own retries of a transaction (transient errors,
        leader changes); past it the error reaches the sink, which retries on its own terms.
        """
        try:
            import neo4j  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise SinkError(
                "Bolt targets need the neo4j driver: pip install neo4j (or graphlive[bolt])"
            ) from exc
        uri, auth, database, flavor_name = parse_bolt_url(url)
        driver = neo4j.GraphDatabase.driver(
            uri, auth=auth, max_transaction_retry_time=retry_seconds
        )
        flavor = {"neo4j": NEO4J, "memgraph": MEMGRAPH}.get(flavor_name or "")
        where = uri + (f"/{database}" if database else "")
        return cls(driver, database=database, flavor=flavor, where=where)

    def describe(self) -> str:
        return f"{self.flavor.name}:{self._where}"

    def write(self, statement: Statement) -> list[list[Any]]:
        with self.driver.session(database=self.database) as session:
            rows: list[list[Any]] = session.execute_write(_run, statement)
        return rows

    def read(self, statement: Statement) -> list[list[Any]]:
        with self.driver.session(database=self.database) as session:
            rows: list[list[Any]] = session.execute_read(_run, statement)
        return rows

    def run_schema(self, text: str) -> None:
        import neo4j.exceptions  # type: ignore[import-not-found,unused-ignore]

        with self.driver.session(database=self.database) as session:
            try:
                # Auto-commit: Memgraph refuses DDL inside explicit transactions.
                session.run(text).consume()
            except neo4j.exceptions.ClientError as exc:
                if "already exists" not in str(exc).lower():
                    raise

    def close(self) -> None:
        self.driver.close()


def _run(tx: neo4j.ManagedTransaction, statement: Statement) -> list[list[Any]]:
    result = tx.run(statement.text, statement.params)
    return [list(record.values()) for record in result]
