"""Complexity: a one-file edit in a big generated tree costs what the edit affects.

The tree has 800 modules in 16 packages; module ``k`` (``k > 0``) imports ``f<d>`` and ``C<d>``
from module ``d = k // 7``, calls ``f<d>`` and subclasses ``C<d>``. So the files that depend on
module ``e`` are exactly the modules ``7e .. 7e+6``. Each scenario counts the files parsed, the
files whose constraints were re-evaluated, the transactions written and what the events touch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlive.analysis import AnalysisSummary, Analyzer
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, EdgeKind

MODULES = 800
PER_PACKAGE = 50
EDITED = 100  # dependents: modules 700..706


def rel_of(k: int) -> str:
    return f"p{k // PER_PACKAGE}/m{k}.py"


def source(k: int, *, extra: str = "", params: str = "") -> str:
    if k == 0:
        return (
            f"class C0:\n    def run(self):\n        return 0\n\n\n"
            f"def f0({params}):\n    return 0\n"
        )
    d = k // 7
    return (
        f"from p{d // PER_PACKAGE}.m{d} import f{d}, C{d}\n\n\n"
        f"class C{k}(C{d}):\n"
        f"    def run(self):\n"
        f"        return f{k}()\n\n\n"
        f"def f{k}({params}):\n"
        f"    return f{d}()\n\n\n"
        f"def g{k}():\n"
        f"    return C{k}().run()\n"
        f"{extra}"
    )


def dependents(k: int) -> set[str]:
    return {rel_of(j) for j in range(7 * k, min(7 * k + 7, MODULES)) if j != k}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Analyzer, CodeGraph]:
    root = tmp_path_factory.mktemp("scale")
    for p in range(MODULES // PER_PACKAGE):
        (root / f"p{p}").mkdir()
        (root / f"p{p}" / "__init__.py").write_text("")
    for k in range(MODULES):
        (root / rel_of(k)).write_text(source(k))
    graph = CodeGraph("scale")
    analyzer = Analyzer(root, graph, workers=1)
    analyzer.run()
    return root, analyzer, graph


def update(
    tree: tuple[Path, Analyzer, CodeGraph], text: str
) -> tuple[AnalysisSummary, list[list[ChangeEvent]]]:
    root, analyzer, graph = tree
    (root / rel_of(EDITED)).write_text(text)
    batches: list[list[ChangeEvent]] = []
    stop = graph.listen(lambda batch: batches.append(list(batch)))
    try:
        summary = analyzer.update([rel_of(EDITED)])
    finally:
        stop()
    transactions = [b for b in batches if any(e.type.is_mutation for e in b)]
    return summary, transactions


def owners(transactions: list[list[ChangeEvent]]) -> list[set[str]]:
    """The files each transaction's added/removed nodes and edges belong to."""
    out = []
    for batch in transactions:
        files = set()
        for e in batch:
            if e.type is EventType.NODE_UPDATED:
                continue
            item = e.data.get("node") or e.data.get("edge")
            if item is not None and item.get("file"):
                files.add(item["file"])
        out.append(files)
    return out


def test_body_edit_touches_only_its_file(tree: tuple[Path, Analyzer, CodeGraph]) -> None:
    extra = "\n\ndef h100():\n    return g100()\n"
    summary, transactions = update(tree, source(EDITED, extra=extra))
    assert summary.incremental
    assert summary.files_parsed == 1
    assert summary.files_solved == 1  # nothing else reads what the new function does
    assert summary.files_written == 1 and len(transactions) == 1
    assert owners(transactions) == [{rel_of(EDITED)}]
    # Back to the original: removing the function only takes back what it derived.
    summary, transactions = update(tree, source(EDITED))
    assert (summary.files_parsed, summary.files_solved, summary.files_written) == (1, 0, 1)


def test_signature_edit_resolves_the_callers_again(
    tree: tuple[Path, Analyzer, CodeGraph],
) -> None:
    summary, transactions = update(tree, source(EDITED, params="x=None"))
    # The callers' argument bindings were recomputed: the edited module, the 7 callers, and
    # m14, whose f14 and C14.run the edited module's code calls.
    assert summary.files_parsed == 1
    assert summary.files_solved <= 1 + len(dependents(EDITED)) + 1
    # Nothing visible changed: the calls still reach the same functions.
    assert summary.files_written == 0 and transactions == []
    update(tree, source(EDITED))


def test_removed_function_touches_its_dependents_only(
    tree: tuple[Path, Analyzer, CodeGraph],
) -> None:
    root, _analyzer, graph = tree
    text = source(EDITED).replace(f"def f{EDITED}():\n    return f14()\n\n\n", "")
    summary, transactions = update(tree, text)
    callers = dependents(EDITED)
    # One transaction per caller (its call edge goes) and one for the edited file.
    assert summary.files_written == len(callers) + 1
    assert sorted(o.pop() for o in owners(transactions) if len(o) == 1) == sorted(
        {*callers, rel_of(EDITED)}
    )
    removed = {
        e.data["node"]["id"] for b in transactions for e in b if e.type is EventType.NODE_REMOVED
    }
    assert removed == {f"p2.m{EDITED}.f{EDITED}"}
    assert summary.files_solved <= len(callers) + 2
    fresh = CodeGraph("fresh")
    Analyzer(root, fresh, workers=1).run()
    assert graph == fresh
    update(tree, source(EDITED))


def test_lines_moved_by_an_edit_keep_what_their_calls_derived(
    tree: tuple[Path, Analyzer, CodeGraph],
) -> None:
    """A line added at the top moves every call and base class of the module: they keep their
    solver state (nothing is re-solved, in this file or in the dependents that read what the
    calls return), and only their edges move to the new lines."""
    root, _analyzer, graph = tree
    module = f"p2.m{EDITED}."

    def lines() -> list[int]:
        kinds = (EdgeKind.CALLS, EdgeKind.INHERITS)
        return sorted(
            e.line for e in graph.edges() if e.kind in kinds and e.source.startswith(module)
        )

    before = lines()
    summary, transactions = update(tree, "# a comment moves every line\n" + source(EDITED))
    assert summary.incremental and summary.fallback is None
    assert summary.files_parsed == 1
    assert summary.files_solved == 0
    assert summary.files_written == 1 and owners(transactions) == [{rel_of(EDITED)}]
    assert before and lines() == [line + 1 for line in before]  # the edges moved down
    fresh = CodeGraph("fresh")
    Analyzer(root, fresh, workers=1).run()
    assert graph == fresh
    summary, _ = update(tree, source(EDITED))
    assert summary.files_solved == 0
