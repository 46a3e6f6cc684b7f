"""In-process handlers of events, registered by glob patterns over event types.

    registry = HandlerRegistry()

    @registry.on("node_*")
    def redraw(event: ChangeEvent) -> None: ...

Patterns are ``fnmatch`` globs matched against the event type's value (``"node_added"``);
``"*"`` matches everything. Handlers run in registration order. A handler that raises is logged
and does not stop the others or the caller: one broken consumer must not break delivery.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable

from graphlive.events import ChangeEvent, EventType

__all__ = ["Handler", "HandlerRegistry"]

log = logging.getLogger(__name__)

Handler = Callable[[ChangeEvent], None]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []
        # Which handlers match each event type, computed once per type (patterns are static).
        self._by_type: dict[EventType, list[Handler]] = {}

    def on(self, pattern: str = "*") -> Callable[[Handler], Handler]:
        """Decorator registering a handler for event types matching ``pattern``.

        Raises ``ValueError`` if the pattern can match no event type (a typo would otherwise
        silently never fire).
        """
        if not any(fnmatch.fnmatchcase(t.value, pattern) for t in EventType):
            known = ", ".join(t.value for t in EventType)
            raise ValueError(f"pattern {pattern!r} matches no event type (known: {known})")

        def register(handler: Handler) -> Handler:
            self._handlers.append((pattern, handler))
            self._by_type.clear()
            return handler

        return register

    def remove(self, handler: Handler) -> None:
        self._handlers = [(p, h) for p, h in self._handlers if h is not handler]
        self._by_type.clear()

    def handlers_for(self, etype: EventType) -> list[Handler]:
        found = self._by_type.get(etype)
        if found is None:
            found = [h for p, h in self._handlers if fnmatch.fnmatchcase(etype.value, p)]
            self._by_type[etype] = found
        return found

    def dispatch(self, events: Iterable[ChangeEvent]) -> int:
        """Call the matching handlers for each event; returns the number of handler calls."""
        calls = 0
        for event in events:
            for handler in self.handlers_for(event.type):
                calls += 1
                try:
                    handler(event)
                except Exception:
                    log.exception("graphlive handler %r failed on %s", handler, event.type.value)
        return calls
