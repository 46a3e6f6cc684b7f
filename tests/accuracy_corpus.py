"""Score the analysis against the accuracy corpus (tests/accuracy, see its README.md).

Every line of a corpus module may end in ``# calls: target, target``: the call edges the
analysis must find on that line. Found call edges are those of the analysed graph whose
``file`` is the module; targets of builtins are not scored. Per module (one idiom each):

* precision = found edges that are annotated / found edges;
* recall = annotated edges that are found / annotated edges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from graphlive.analysis import Analyzer
from graphlive.analysis.resolve import BUILTIN_PREFIX
from graphlive.graph import CodeGraph, EdgeKind

__all__ = ["CORPUS", "Score", "expected_edges", "found_edges", "score_corpus"]

#: The corpus root (analysed as a tree; its package is ``acc``).
CORPUS = Path(__file__).parent / "accuracy"
_ANNOTATION = re.compile(r"#\s*calls:\s*(?P<targets>[^#]*)$")

Edge = tuple[str, int, str]  # (file, line, target)


@dataclass
class Score:
    """One module's (or the corpus's) edges: expected, found, and the differences."""

    expected: set[Edge] = field(default_factory=set)
    found: set[Edge] = field(default_factory=set)

    @property
    def missed(self) -> set[Edge]:
        return self.expected - self.found

    @property
    def wrong(self) -> set[Edge]:
        return self.found - self.expected

    @property
    def precision(self) -> float:
        return len(self.found & self.expected) / len(self.found) if self.found else 1.0

    @property
    def recall(self) -> float:
        return len(self.found & self.expected) / len(self.expected) if self.expected else 1.0


def expected_edges(root: Path = CORPUS) -> dict[str, set[Edge]]:
    """The annotated edges of every module under ``root``, by file (relative, ``/``)."""
    out: dict[str, set[Edge]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        edges = out.setdefault(rel, set())
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = _ANNOTATION.search(line)
            if match:
                for target in match["targets"].split(","):
                    if target.strip():
                        edges.add((rel, line_no, target.strip()))
    return out


def found_edges(graph: CodeGraph) -> dict[str, set[Edge]]:
    """The call edges of ``graph`` by file, builtins left out."""
    out: dict[str, set[Edge]] = {}
    for edge in graph.edges():
        if edge.kind is EdgeKind.CALLS and not edge.target.startswith(BUILTIN_PREFIX):
            out.setdefault(edge.file, set()).add((edge.file, edge.line, edge.target))
    return out


def analyse(root: Path = CORPUS) -> CodeGraph:
    graph = CodeGraph("accuracy")
    Analyzer(root, graph, workers=1).run()
    return graph


def score_corpus(root: Path = CORPUS, graph: CodeGraph | None = None) -> dict[str, Score]:
    """Per module (by its file name without ``.py``), and ``"overall"``."""
    graph = graph if graph is not None else analyse(root)
    expected = expected_edges(root)
    found = found_edges(graph)
    scores: dict[str, Score] = {}
    overall = Score()
    for rel in sorted(expected):
        score = Score(expected[rel], found.get(rel, set()))
        if rel.endswith("__init__.py") and not score.expected and not score.found:
            continue
        scores[Path(rel).stem] = score
        overall.expected |= score.expected
        overall.found |= score.found
    scores["overall"] = overall
    return scores


def table(scores: dict[str, Score]) -> str:
    """A Markdown table: idiom, edges expected, found, precision, recall."""
    rows = ["| idiom | expected | found | precision | recall |", "|---|---:|---:|---:|---:|"]
    for name, s in scores.items():
        label = f"**{name}**" if name == "overall" else f"`{name}`"
        rows.append(
            f"| {label} | {len(s.expected)} | {len(s.found)} | {s.precision:.0%} | {s.recall:.0%} |"
        )
    return "\n".join(rows)
