"""graphlive's wire protocol (docs/protocol.md) as pure code: no sockets, no Redis, no threads.

* :mod:`~graphlive.wire.codes` — protocol version, error and close codes, resync reasons;
* :mod:`~graphlive.wire.limits` — per-connection limits (announced in ``hello``);
* :mod:`~graphlive.wire.ratelimit` — the token bucket and abuse counts those limits drive;
* :mod:`~graphlive.wire.filters` — the event filters of the filtered endpoint;
* :mod:`~graphlive.wire.messages` — client messages and their strict parsing;
* :mod:`~graphlive.wire.frames` — one builder per server frame;
* :mod:`~graphlive.wire.planner` — what a ``subscribe`` is answered with.

Two adapters put it on a transport: the Jupyter server extension (``graphlive_server``: a
Tornado WebSocket per browser page, fanned out from one Redis reader) and the kernel comm
transport (:mod:`graphlive.comm_transport`: one widget's comm, read by a thread in the
kernel). The TypeScript client mirrors the codes and frames (``js/src/client/protocol.ts``);
``tests/fixtures/wire/`` holds the frames both test suites check.
"""

from __future__ import annotations

from graphlive.wire.codes import (
    MAX_REF_CHARS,
    PROTOCOL_VERSION,
    CloseCode,
    ErrorCode,
    ResyncReason,
    resync_reason,
)
from graphlive.wire.filters import MAX_FILTER_ENTRIES, MAX_FILTER_ENTRY_CHARS, EventFilter
from graphlive.wire.frames import (
    Frame,
    available_frame,
    encode_frame,
    error_frame,
    events_frame,
    events_frame_bytes,
    filtered_frame,
    hello_frame,
    pong_frame,
    resync_frame,
    snapshot_frame,
    snapshot_frame_bytes,
    snapshot_head,
    status_frame,
    subscribed_frame,
    unsubscribed_frame,
)
from graphlive.wire.limits import ABUSE_WINDOW, BAD_MESSAGE_LIMIT, SNAPSHOT_PART_BYTES, Limits
from graphlive.wire.messages import (
    ClientMessage,
    MessageHandler,
    Ping,
    ProtocolError,
    SetFilter,
    Subscribe,
    Unsubscribe,
    dispatch,
    parse_client_message,
    parse_client_object,
)
from graphlive.wire.planner import Mode, Plan, needs_snapshot_position, plan_subscribe
from graphlive.wire.ratelimit import MessageGate, TokenBucket, Verdict

__all__ = [
    "ABUSE_WINDOW",
    "BAD_MESSAGE_LIMIT",
    "MAX_FILTER_ENTRIES",
    "MAX_FILTER_ENTRY_CHARS",
    "MAX_REF_CHARS",
    "PROTOCOL_VERSION",
    "SNAPSHOT_PART_BYTES",
    "ClientMessage",
    "CloseCode",
    "ErrorCode",
    "EventFilter",
    "Frame",
    "Limits",
    "MessageGate",
    "MessageHandler",
    "Mode",
    "Ping",
    "Plan",
    "ProtocolError",
    "ResyncReason",
    "SetFilter",
    "Subscribe",
    "TokenBucket",
    "Unsubscribe",
    "Verdict",
    "available_frame",
    "dispatch",
    "encode_frame",
    "error_frame",
    "events_frame",
    "events_frame_bytes",
    "filtered_frame",
    "hello_frame",
    "needs_snapshot_position",
    "parse_client_message",
    "parse_client_object",
    "plan_subscribe",
    "pong_frame",
    "resync_frame",
    "resync_reason",
    "snapshot_frame",
    "snapshot_frame_bytes",
    "snapshot_head",
    "status_frame",
    "subscribed_frame",
    "unsubscribed_frame",
]
