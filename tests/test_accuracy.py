"""The analysis finds exactly the annotated call edges of the accuracy corpus (tests/accuracy).

One test per idiom module, so a regression names the idiom; the failure lists the edges missed
and the edges found that no annotation asks for.
"""

from __future__ import annotations

import pytest

from graphlive.graph import Edge, EdgeKind
from tests.accuracy_corpus import CORPUS, Score, analyse, expected_edges, score_corpus


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    return score_corpus()


IDIOMS = sorted(p.stem for p in (CORPUS / "acc").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("idiom", IDIOMS)
def test_every_annotated_call_and_nothing_else(scores: dict[str, Score], idiom: str) -> None:
    score = scores[idiom]
    assert score.expected, "an idiom module without annotations scores nothing"
    assert (sorted(score.missed), sorted(score.wrong)) == ([], [])
    assert (score.precision, score.recall) == (1.0, 1.0)


def test_the_scorer_counts_misses_and_inventions() -> None:
    graph = analyse()
    before = score_corpus(graph=graph)["overall"]
    file, line, target = sorted(before.found & expected_edges()["acc/hof.py"])[0]
    # An invented edge lowers precision; a lost one lowers recall.
    graph.add_edge(Edge(EdgeKind.CALLS, "acc.hof.use", "acc.hof.keep", 1, file))
    for edge in list(graph.edges()):
        if (edge.file, edge.line, edge.target) == (file, line, target):
            graph.remove_edge(edge.key)
    after = score_corpus(graph=graph)["overall"]
    assert (file, 1, "acc.hof.keep") in after.wrong and (file, line, target) in after.missed
    assert after.precision < 1.0
    assert after.recall < before.recall
