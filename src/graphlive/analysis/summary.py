"""What an analysis run reports: :class:`AnalysisSummary` (the payload of
``analysis_completed``, :attr:`graphlive.LiveGraph.last_summary`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["AnalysisSummary"]


@dataclass(slots=True)
class AnalysisSummary:
    """What a run produced. ``files`` counts the Python files and the other languages' source
    files; ``nodes``/``edges`` count the nodes and edges of the result (definitions, modules,
    namespaces, externals); ``calls_*`` count call expressions (decorator
    applications and protocol calls such as ``__iter__`` are edges but not counted);
    ``diagnostics`` counts diagnostic events; ``timings`` holds seconds per phase."""

    #: The analysed folder's name (events carry no absolute path).
    root: str
    files: int
    nodes: int
    edges: int
    calls_total: int
    calls_resolved: int
    calls_unresolved: int
    diagnostics: int
    seconds: float
    files_failed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    #: Files per language (``python``, ``typescript``, ...), summing to :attr:`files`.
    languages: dict[str, int] = field(default_factory=dict)
    #: Whether this was an incremental update (only the affected part re-solved).
    incremental: bool = False
    #: Files parsed, files whose constraints were (re-)evaluated, transactions written.
    files_parsed: int = 0
    files_solved: int = 0
    files_written: int = 0
    #: For an update that resolved the whole program, why: ``"structure"`` (folders,
    #: ``__init__.py``, ``.gitignore``, namespaces changed), ``"star-import"``, ``"id-clash"``,
    #: ``"module-id"`` (see :mod:`graphlive.analysis.incremental`), ``"not-incremental"``
    #: (``Analyzer(incremental=False)``), or ``"resync"`` (a saved analysis continued against a
    #: graph another writer changed since: every file is compared with the graph).
    fallback: str | None = None
    #: Whether an incremental update cleared or filled a variable at the resolver's value cap:
    #: which values such a variable keeps depends on evaluation order, so the result may differ
    #: there from a fresh full analysis (docs/analysis.md).
    saturated: bool = False

    @property
    def resolved_ratio(self) -> float:
        """Share of call expressions with at least one target (1.0 when there are none)."""
        return self.calls_resolved / self.calls_total if self.calls_total else 1.0

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every value, twice per analysis.
        data = {name: getattr(self, name) for name in _SUMMARY_FIELDS}
        data["timings"] = dict(self.timings)
        data["languages"] = dict(self.languages)
        data["resolved_ratio"] = round(self.resolved_ratio, 4)
        return data


_SUMMARY_FIELDS = tuple(f.name for f in fields(AnalysisSummary))
