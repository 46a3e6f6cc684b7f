"""An analyzer's facts as its saved state holds them (:mod:`graphlive.analysis_cache`):
most are the program index's, saved once with the program's parts."""

from __future__ import annotations

from typing import Any

from graphlive.analysis.facts import FileFacts
from graphlive.analysis.incremental import Program
from graphlive.analysis.lazy_maps import LazyMap

__all__ = ["SavedFacts"]


class SavedFacts:
    """An analyzer's facts as saved beside its program: by file name only for the files whose
    facts are the program index's (they come with the program's parts), whole for the others
    (files that vanished keep facts of their own there)."""

    __slots__ = ("facts", "own", "program", "shared")

    def __init__(self, facts: dict[str, FileFacts], program: Program | None) -> None:
        self.facts = facts
        self.program = program
        self.shared: dict[str, int] = {}
        self.own: dict[str, FileFacts] = {}

    def __getstate__(self) -> dict[str, Any]:
        program = self.program
        if program is None:
            return {"shared": {}, "own": dict(self.facts)}
        program.load_all()
        index = program.index
        shared: dict[str, int] = {}
        own: dict[str, FileFacts] = {}
        for rel, facts in self.facts.items():
            number = index.file_numbers.get(rel)
            # (Facts of a vanished file stay whole: namespace ownership reads them unloaded.)
            if number is not None and index.files[number] is facts and not facts.missing:
                shared[rel] = number
            else:
                own[rel] = facts
        return {"shared": shared, "own": own}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.facts = {}
        self.program = None
        self.shared = state["shared"]
        self.own = state["own"]

    def restored(self, program: Program | None) -> dict[str, FileFacts]:
        if program is None or not self.shared:
            return dict(self.own)
        index = program.index
        facts: LazyMap[str, FileFacts] = LazyMap(
            dict(self.shared), lambda _rel, number: index.facts_of(number)
        )
        for rel, own in self.own.items():
            facts[rel] = own
        return facts
