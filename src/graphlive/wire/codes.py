"""Protocol version, error codes, close codes and resync reasons of docs/protocol.md.

The TypeScript client mirrors these (``js/src/client/protocol.ts``); both test suites check
their copy against ``tests/fixtures/wire/frames.json``, so a change on one side alone fails.
"""

from __future__ import annotations

from enum import Enum, IntEnum

__all__ = [
    "MAX_REF_CHARS",
    "PROTOCOL_VERSION",
    "CloseCode",
    "ErrorCode",
    "ResyncReason",
    "resync_reason",
]

#: Version announced in the ``hello`` frame; bumped on incompatible changes only.
PROTOCOL_VERSION = 1
#: Longest accepted ``ref`` (echoed back verbatim, so it is bounded).
MAX_REF_CHARS = 64


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (4xxx are graphlive's own)."""

    NORMAL = 1000
    #: Server shutting down: reconnect with backoff and resume.
    GOING_AWAY = 1001
    #: The client's queue went over ``max_queue_bytes``: reconnect now and resume.
    SLOW_CONSUMER = 4001
    #: No pong/message within ``ping_timeout``: reconnect with backoff and resume.
    PING_TIMEOUT = 4002
    #: Repeated malformed or oversize messages: do not retry automatically.
    PROTOCOL_ABUSE = 4400
    #: Kept sending over the rate limit: back off at least 5 s, then resume.
    RATE_LIMITED = 4429


class ErrorCode(str, Enum):
    """``code`` of an ``error`` frame."""

    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    UNKNOWN_GRAPH = "unknown_graph"
    INVALID_FILTER = "invalid_filter"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class ResyncReason(str, Enum):
    """``reason`` of a ``resync`` frame: why the client's position cannot be continued."""

    #: The events after the client's position were trimmed from the stream.
    TRIMMED = "trimmed"
    #: The graph was reset (new epoch) since the client's position.
    EPOCH = "epoch"
    #: The position is ahead of the stream or otherwise unknown.
    UNKNOWN_POSITION = "unknown_position"
    #: Replaying would be longer than the server's retention while a newer snapshot exists.
    RETENTION = "retention"


def resync_reason(reader_reason: str) -> ResyncReason:
    """The protocol's reason for a :class:`graphlive.bus.reader.ResyncRequired` reason
    (``"trimmed"``, ``"epoch"``, ``"ahead"``; anything else is an unknown position)."""
    if reader_reason == "trimmed":
        return ResyncReason.TRIMMED
    if reader_reason == "epoch":
        return ResyncReason.EPOCH
    return ResyncReason.UNKNOWN_POSITION
