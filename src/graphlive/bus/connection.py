"""Where graphlive's Redis is, and clients connected to it.

The location is, in order: the URL passed in, the ``GRAPHLIVE_REDIS_URL`` environment variable,
or the embedded server of :mod:`graphlive.bus.embedded` (started on demand). URLs may carry
credentials: pass them through :func:`redact` before logging them or sending them anywhere.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
import redis.asyncio

#: Environment variable naming the Redis to use instead of the embedded one.
URL_ENV = "GRAPHLIVE_REDIS_URL"
ACCEPTED_SCHEMES = ("redis", "rediss", "unix")

#: Client options of :func:`connect` and :func:`connect_async`; keyword arguments override them.
CLIENT_DEFAULTS: dict[str, Any] = {
    # Event payloads are bytes decoded by graphlive's codec, not by redis-py.
    "decode_responses": False,
    "socket_connect_timeout": 5.0,
    # Bounds how long a command waits for a stuck server. Blocking reads (XREAD BLOCK) must block
    # for less than this, or pass their own socket_timeout.
    "socket_timeout": 30.0,
    # PING a connection idle for this many seconds before reusing it, so a restarted server or a
    # dropped link is noticed before a command is lost on it.
    "health_check_interval": 30,
}

_REDACTED = "***"


def resolve_url(url: str | None = None) -> str:
    """Return the URL of the Redis graphlive should use.

    ``url`` if given, else ``GRAPHLIVE_REDIS_URL`` if set and non-empty, else the URL of the
    embedded server, which is started if none is running. A given or configured URL is checked
    by :func:`validate_url` (ValueError if its scheme is not accepted); the embedded server may
    raise :class:`graphlive.bus.embedded.EmbeddedRedisUnavailable` or ``EmbeddedRedisError``.
    """
    if url is None:
        url = os.environ.get(URL_ENV) or None
    if url is not None:
        return validate_url(url)
    # Imported here: it needs fcntl (POSIX only) and is not needed when a URL is configured.
    from graphlive.bus import embedded

    return embedded.ensure_running().url


def uses_embedded(url: str | None = None) -> bool:
    """Whether :func:`resolve_url` of ``url`` leads to the embedded server (nothing configured)."""
    return url is None and not os.environ.get(URL_ENV)


def validate_url(url: str) -> str:
    """Return ``url`` unchanged if it is a ``redis://``, ``rediss://`` or ``unix://`` URL.

    Raises ValueError (naming the accepted schemes, with any password redacted) otherwise, or for
    a ``unix://`` URL without a socket path.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"not a Redis URL: {redact(url)!r} ({exc})") from None
    if parts.scheme.lower() not in ACCEPTED_SCHEMES:
        accepted = ", ".join(f"{scheme}://" for scheme in ACCEPTED_SCHEMES)
        raise ValueError(f"unsupported Redis URL {redact(url)!r}: use one of {accepted}")
    if parts.scheme.lower() == "unix" and not parts.path:
        raise ValueError(f"unix:// Redis URL without a socket path: {redact(url)!r}")
    return url


def connect(url: str | None = None, **kwargs: Any) -> redis.Redis:
    """Return a client of the Redis chosen by :func:`resolve_url`.

    Options are :data:`CLIENT_DEFAULTS` updated with ``kwargs`` (options in the URL's query win,
    as in :meth:`redis.Redis.from_url`). The client connects lazily, on its first command.
    """
    return redis.Redis.from_url(resolve_url(url), **{**CLIENT_DEFAULTS, **kwargs})


def connect_async(
    url: str | None = None, *, max_connections: int | None = None, **kwargs: Any
) -> redis.asyncio.Redis:
    """Asyncio twin of :func:`connect`.

    ``max_connections``: a pool of at most that many connections where a command waits for a
    free one (redis-py's default pool holds 100 and fails the 101st concurrent command with
    ``MaxConnectionsError``, a ``ConnectionError`` that looks like Redis being down).

    Resolving the URL may start the embedded server, which blocks for a moment the first time;
    call it from a thread (``asyncio.to_thread``) where that matters.
    """
    options = {**CLIENT_DEFAULTS, **kwargs}
    if max_connections is None:
        return redis.asyncio.Redis.from_url(resolve_url(url), **options)
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        resolve_url(url), max_connections=max_connections, timeout=None, **options
    )
    return redis.asyncio.Redis(connection_pool=pool)


def redact(url: str) -> str:
    """Return ``url`` with its password replaced by ``***``, safe to log or show to a user.

    Both places redis-py reads a password from are covered: the user info
    (``redis://user:secret@host``) and the ``password`` query parameter
    (``unix:///s.sock?password=secret``). A string that cannot be parsed is replaced whole.
    """
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return "<unparseable URL>"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query_has_password = any(key.lower() == "password" for key, _ in pairs)
    if not (has_password or query_has_password):
        return url
    netloc = parts.netloc
    if has_password:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{_REDACTED}@{hostinfo}"
    query = parts.query
    if query_has_password:
        hidden = [(k, _REDACTED if k.lower() == "password" else v) for k, v in pairs]
        query = urlencode(hidden, safe="*")
    # Assembled by hand: urlunsplit would drop the empty authority of unix:///path URLs.
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        shown += f"?{query}"
    if parts.fragment:
        shown += f"#{parts.fragment}"
    return shown
