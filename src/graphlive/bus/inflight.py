"""One publish call running in a thread while its caller prepares the next batch.

A bulk analysis publishes tens of thousands of events; Redis spends about as long appending
them (the publish script runs once per event) as Python spends producing and encoding them. Sent
synchronously, the two add up; with one batch in flight they overlap on two cores: the thread
waits on the socket (the interpreter lock released) while the caller goes on.

The caller keeps the order and the bookkeeping: at most one send is in flight, and it is settled
(:meth:`InFlightSend.result`) before anything else is published or read from the position.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from graphlive.bus.publisher import Publisher, PublishResult
from graphlive.events import ChangeEvent

__all__ = ["InFlightSend"]


class InFlightSend:
    """``publisher.publish_encoded(bodies)`` started in a thread; ``events`` are what the bodies
    encode (kept by the caller to publish again should the send fail)."""

    def __init__(
        self,
        publisher: Publisher,
        bodies: Sequence[bytes],
        events: list[ChangeEvent],
        known_epoch: str,
    ) -> None:
        self.events = events
        #: The epoch the caller had published in before this send (lost history shows as
        #: another epoch in the result).
        self.known_epoch = known_epoch
        self._result: PublishResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(publisher, bodies), name="graphlive-publish", daemon=True
        )
        self._thread.start()

    def _run(self, publisher: Publisher, bodies: Sequence[bytes]) -> None:
        try:
            self._result = publisher.publish_encoded(bodies)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self) -> None:
        """Wait for the send to end, without taking its result (:meth:`result` does)."""
        self._thread.join()

    def result(self) -> PublishResult:
        """Wait for the send; its result, or the exception it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
