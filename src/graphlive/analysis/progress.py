"""Progress of an analysis: :class:`Progress` reports for callers (the command line's progress
bar) and ``analysis_progress`` events for everyone else, both throttled to a few per phase."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphlive.events import EventType
from graphlive.graph import CodeGraph

__all__ = ["PROGRESS_STEPS", "Progress", "ProgressCallback", "Throttle"]

#: Progress is reported about this many times per phase (plus the final count).
PROGRESS_STEPS = 50


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report: ``phase`` is ``discover``, ``parse``, ``resolve`` or ``write``."""

    phase: str
    done: int
    total: int
    file: str | None = None


ProgressCallback = Callable[[Progress], None]


class Throttle:
    """Reports roughly every ``total / PROGRESS_STEPS`` items, and always the last one: as an
    ``analysis_progress`` event of ``graph`` and to ``callback``."""

    def __init__(
        self,
        phase: str,
        total: int,
        graph: CodeGraph,
        source: str,
        callback: ProgressCallback | None,
    ) -> None:
        self.phase = phase
        self.total = total
        self.step = max(1, total // PROGRESS_STEPS)
        self.next = self.step
        self.graph = graph
        self.source = source
        self.callback = callback
        self.reported = -1

    def finish(self) -> None:
        """Report the phase complete, unless its last report already did."""
        if self.reported != self.total:
            self(self.total, None)

    def __call__(self, done: int, file: str | None) -> None:
        if done < self.next and done != self.total:
            return
        self.next = done + self.step
        self.reported = done
        report = Progress(self.phase, done, self.total, file)
        self.graph.emit(
            EventType.ANALYSIS_PROGRESS,
            {"phase": self.phase, "done": done, "total": self.total, "file": file},
            source=self.source,
        )
        if self.callback is not None:
            self.callback(report)
