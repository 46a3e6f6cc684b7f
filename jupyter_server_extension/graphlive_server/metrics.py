"""Counters, rates and the publish→send latency histogram of the server extension.

Everything here is plain Python updated on the event loop (no locks). The numbers reach users
two ways: the JSON status (``/graphlive/api/status`` and ``/graphlive/ws/status``) and
jupyter_server's Prometheus endpoint ``/metrics`` through :class:`GraphliveCollector`, which is
registered once per process and reads whichever extension instance is current.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import REGISTRY, Collector

__all__ = [
    "GraphliveCollector",
    "LatencyHistogram",
    "Metrics",
    "RateMeter",
    "install_collector",
]


class RateMeter:
    """Events per second over a sliding window of whole seconds."""

    def __init__(self, window: int = 10, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [second, count]
        self._start = clock()

    def add(self, n: int = 1) -> None:
        second = int(self._clock())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += n
        else:
            self._buckets.append([second, n])
            self._trim(second)

    def _trim(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] <= second - self.window:
            self._buckets.popleft()

    def rate(self) -> float:
        now = self._clock()
        self._trim(int(now))
        span = min(float(self.window), max(now - self._start, 1.0))
        return sum(count for _, count in self._buckets) / span


#: Upper bounds (seconds) of the latency buckets: 0.1 ms … ~100 s, about 12% apart.
LATENCY_BOUNDS: tuple[float, ...] = tuple(1e-4 * 1.12**i for i in range(123))


class LatencyHistogram:
    """Weighted histogram of latencies; quantiles over the last one to two ``window`` seconds.

    Cumulative totals (since start) are kept for Prometheus.
    """

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        n = len(LATENCY_BOUNDS) + 1
        self._current = [0.0] * n
        self._previous = [0.0] * n
        self._rotated = clock()
        self.total = [0.0] * n
        self.total_sum = 0.0

    def observe(self, seconds: float, weight: float = 1.0) -> None:
        self._maybe_rotate()
        self._add(seconds, weight)

    def observe_since(self, now: float, samples: list[tuple[float, float]]) -> None:
        """Observe ``now - t`` with weight ``w`` for each ``(t, w)`` (one rotation check)."""
        self._maybe_rotate()
        for t, weight in samples:
            self._add(now - t, weight)

    def _add(self, seconds: float, weight: float) -> None:
        seconds = max(seconds, 0.0)
        i = bisect.bisect_left(LATENCY_BOUNDS, seconds)
        self._current[i] += weight
        self.total[i] += weight
        self.total_sum += seconds * weight

    def _maybe_rotate(self) -> None:
        now = self._clock()
        if now - self._rotated >= self.window:
            stale = now - self._rotated >= 2 * self.window
            self._previous = [0.0] * len(self._current) if stale else self._current
            self._current = [0.0] * len(self._previous)
            self._rotated = now

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in seconds (bucket upper bound), or None without samples."""
        self._maybe_rotate()
        counts = [a + b for a, b in zip(self._current, self._previous, strict=True)]
        total = sum(counts)
        if total <= 0:
            return None
        target = q * total
        running = 0.0
        for i, c in enumerate(counts):
            running += c
            if running >= target and c > 0:
                return LATENCY_BOUNDS[i] if i < len(LATENCY_BOUNDS) else float("inf")
        return LATENCY_BOUNDS[-1]


class Metrics:
    """The extension's counters. Sessions and the broadcaster update them directly."""

    def __init__(self) -> None:
        self.started = time.time()
        self.events_in_total = 0
        self.events_out_total = 0
        self.frames_out_total = 0
        self.bytes_out_total = 0
        self.recovered_events_total = 0
        self.resyncs_total = 0
        self.slow_client_closes_total = 0
        self.ping_timeout_closes_total = 0
        self.rate_limited_total = 0
        self.bad_messages_total = 0
        self.reader_reconnects_total = 0
        self.events_in = RateMeter()
        self.events_out = RateMeter()
        self.latency = LatencyHistogram()

    def received(self, n: int, *, recovered: bool) -> None:
        self.events_in_total += n
        self.events_in.add(n)
        if recovered:
            self.recovered_events_total += n

    def sent(self, size: int, events: int, samples: list[tuple[float, float]]) -> None:
        self.frames_out_total += 1
        self.bytes_out_total += size
        if events:
            self.events_out_total += events
            self.events_out.add(events)
            self.latency.observe_since(time.time(), samples)


class GraphliveCollector(Collector):
    """Prometheus view of the current extension instance (``source`` returns its status)."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[str, Any]] | None = None
        self.metrics: Metrics | None = None

    def collect(self) -> Iterator[Metric]:
        source, metrics = self.source, self.metrics
        if source is None or metrics is None:
            return
        status = source()
        conns = GaugeMetricFamily(
            "graphlive_connections", "Open graphlive WebSocket connections", labels=["endpoint"]
        )
        for endpoint, n in status["connections"].items():
            if endpoint != "total":
                conns.add_metric([endpoint], n)
        yield conns
        yield GaugeMetricFamily(
            "graphlive_subscriptions", "Graph subscriptions", value=status["subscriptions"]
        )
        yield GaugeMetricFamily(
            "graphlive_followed_graphs",
            "Graphs the broadcaster follows",
            value=len(status["graphs"]),
        )
        counters = {
            "events_received": (metrics.events_in_total, "Events read from Redis"),
            "events_sent": (metrics.events_out_total, "Events sent to clients (per client)"),
            "frames_sent": (metrics.frames_out_total, "WebSocket frames sent"),
            "bytes_sent": (metrics.bytes_out_total, "Bytes of WebSocket frames sent"),
            "recovered_events": (
                metrics.recovered_events_total,
                "Events fetched from the Stream because Pub/Sub missed them",
            ),
            "resyncs": (metrics.resyncs_total, "Subscriptions told to resync"),
            "slow_client_closes": (
                metrics.slow_client_closes_total,
                "Connections closed with 4001 (slow consumer)",
            ),
            "ping_timeout_closes": (
                metrics.ping_timeout_closes_total,
                "Connections closed with 4002 (ping timeout)",
            ),
            "rate_limited_messages": (metrics.rate_limited_total, "Client messages rate-limited"),
            "bad_messages": (metrics.bad_messages_total, "Malformed or refused client messages"),
            "reader_reconnects": (
                metrics.reader_reconnects_total,
                "Reconnections of the Redis reader",
            ),
        }
        for name, (value, doc) in counters.items():
            yield CounterMetricFamily(f"graphlive_{name}", doc, value=value)
        queues = status["queues"]
        yield GaugeMetricFamily(
            "graphlive_queue_bytes", "Bytes queued for all clients", value=queues["bytes_total"]
        )
        yield GaugeMetricFamily(
            "graphlive_queue_bytes_max",
            "Bytes queued for the most backlogged client",
            value=queues["bytes_max"],
        )
        yield GaugeMetricFamily(
            "graphlive_reader_lag_events",
            "Events in Redis not yet delivered by the broadcaster (largest over graphs)",
            value=status["reader"]["lag_events"],
        )
        yield GaugeMetricFamily(
            "graphlive_redis_available",
            "1 when the broadcaster's Redis connection is up",
            value=1 if status["reader"]["available"] else 0,
        )
        hist = metrics.latency
        buckets: list[tuple[str, float]] = []
        running = 0.0
        # Every 6th bound (about x2 apart) keeps the exported series few.
        for i, (bound, count) in enumerate(zip(LATENCY_BOUNDS, hist.total, strict=False)):
            running += count
            if i % 6 == 0:
                buckets.append((f"{bound:.6g}", running))
        running += hist.total[-1]
        buckets.append(("+Inf", running))
        yield HistogramMetricFamily(
            "graphlive_delivery_latency_seconds",
            "Publish (event time) to send latency, sampled per frame",
            buckets=buckets,
            sum_value=hist.total_sum,
        )


_COLLECTOR: GraphliveCollector | None = None


def install_collector(source: Callable[[], dict[str, Any]], metrics: Metrics) -> GraphliveCollector:
    """Point the process-wide collector at this instance (registering it on first use)."""
    global _COLLECTOR
    if _COLLECTOR is None:
        _COLLECTOR = GraphliveCollector()
        REGISTRY.register(_COLLECTOR)
    _COLLECTOR.source = source
    _COLLECTOR.metrics = metrics
    return _COLLECTOR


def uninstall_collector(metrics: Metrics) -> None:
    """Detach the collector from ``metrics`` if it is still the current instance."""
    if _COLLECTOR is not None and _COLLECTOR.metrics is metrics:
        _COLLECTOR.source = None
        _COLLECTOR.metrics = None
