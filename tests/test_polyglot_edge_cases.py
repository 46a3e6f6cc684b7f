"""The other languages at the edges: restored analyses, files gone at awkward moments, shared
externals, single-file roots, git-ignored ``go.mod`` files (issue 21; each case was found by
a review of the wiring and fails without its fix).

Every test ends with the contract of the analysis: the graph equals what a fresh analysis of
the tree on disk gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import graphlive
import graphlive.analysis.polyglot.analyses as analyses
from graphlive.analysis.discover import discover
from graphlive.analysis.engine import Analyzer
from graphlive.analysis.manifest import changed_files
from graphlive.graph import CodeGraph
from graphlive.ignore import IgnoreRules
from tests.polyglot_trees import analysed, write_tree


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "mix")


def _fresh(root: Path, **options: Any) -> CodeGraph:
    return graphlive.analyze(root, publish=False, workers=1, **options).graph


def test_a_restored_analysis_keeps_to_the_languages_chosen_now(mixed: Path) -> None:
    graph, _, state = analysed(mixed)
    chosen = frozenset({"python", "typescript"})
    restored = Analyzer.restore(mixed, graph, state, in_sync=True, languages=chosen)
    (mixed / "extra.go").write_text("package main\n\nfunc Extra() {}\n")
    summary = restored.update([mixed / "extra.go"])
    assert "extra.go" not in graph and summary.languages == {"python": 2, "typescript": 2}
    restored.rescan()  # the files of the languages left out leave the graph
    assert graph == _fresh(mixed, languages=chosen)


def test_a_file_added_after_the_saved_state_then_deleted_is_removed(mixed: Path) -> None:
    graph, first, state = analysed(mixed)
    new = mixed / "web" / "new.ts"
    new.write_text("export function n() {}\n")
    first.update([new])
    new.unlink()  # nobody reported it
    restored = Analyzer.restore(mixed, graph, state, in_sync=True, rewrite=first.unsaved or ())
    restored.rescan()
    assert "web/new.ts" not in graph
    assert graph == _fresh(mixed)


def test_an_external_shared_by_two_languages_follows_the_analysis(tmp_path: Path) -> None:
    """``npm:react`` takes the language of the first file importing it: after an edit, the
    other file's."""
    uses = 'import { useState } from "react";\n\nexport function hook() {\n  useState();\n}\n'
    (tmp_path / "a.js").write_text(uses)
    (tmp_path / "b.ts").write_text(uses)
    lg = graphlive.analyze(tmp_path, publish=False, workers=1)
    external = lg.graph.get("npm:react:useState")
    assert external is not None and external.language == "javascript"
    (tmp_path / "a.js").write_text("export function hook() {}\n")
    lg.update([tmp_path / "a.js"])
    external = lg.graph.get("npm:react:useState")
    assert external is not None and external.language == "typescript"
    assert lg.graph == _fresh(tmp_path)


def test_a_file_gone_between_its_stat_and_its_read_is_gone_for_the_graph(
    mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stat_files = analyses.stat_files

    def stat_then_delete(files: Any) -> dict[str, tuple[int, int]]:
        stats = stat_files(files)
        (mixed / "web" / "shop.ts").unlink(missing_ok=True)
        return stats

    monkeypatch.setattr(analyses, "stat_files", stat_then_delete)
    lg = graphlive.analyze(mixed, publish=False, workers=1)
    monkeypatch.undo()
    summary = lg.last_summary
    assert summary is not None
    assert "web/shop.ts" not in lg.graph and summary.files_failed == 0
    assert summary.languages["typescript"] == 1  # counted as what is there
    assert lg.graph == _fresh(mixed)


def test_a_single_file_of_another_language_is_a_root(tmp_path: Path) -> None:
    (tmp_path / "a.ts").write_text("export function f() {\n  return g();\n}\nfunction g() {}\n")
    lg = graphlive.analyze(tmp_path / "a.ts", publish=False, workers=1)
    assert {"a.ts", "a.ts:f", "a.ts:g"} <= {n.id for n in lg.graph.nodes()}
    assert "a.ts:g" in {e.target for e in lg.graph.out_edges("a.ts:f")}


def test_a_git_ignored_go_mod_is_not_read(mixed: Path) -> None:
    (mixed / ".gitignore").write_text("go.mod\n")
    lg = graphlive.analyze(mixed, publish=False, workers=1)
    targets = {e.target for e in lg.graph.out_edges("main.go:main")}
    assert "svc/svc.go:Hello" not in targets  # no module path: the import is from outside
    assert lg.graph == _fresh(mixed)


def test_a_python_tree_with_only_a_go_mod_is_unchanged_when_nothing_changed(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text("def f():\n    return 1\n")
    (tmp_path / "go.mod").write_text("module example.com/app\n")
    analyzer = Analyzer(tmp_path, CodeGraph("g"), workers=1)
    analyzer.run()
    assert "go.mod" in analyzer.stamps
    walked = discover(tmp_path, IgnoreRules(tmp_path))
    assert changed_files(analyzer.stamps, walked, analyzer.stamped_ns) == set()


def test_python_files_written_after_the_saved_state_are_parsed_again_by_an_update(
    mixed: Path,
) -> None:
    """A restored analysis whose first update names another file (the watcher after an
    "unchanged" resume) must not rebuild the files written since the state from the state's
    facts."""
    graph, first, state = analysed(mixed)
    mod = mixed / "pkg" / "mod.py"
    mod.write_text("def f():\n    return 2\n\n\ndef g():\n    return 1\n")
    first.update([mod])
    restored = Analyzer.restore(mixed, graph, state, in_sync=True, rewrite=first.unsaved or ())
    (mixed / "web" / "shop.ts").write_text("export class Cart {}\n")
    restored.update([mixed / "web" / "shop.ts"])
    assert "pkg.mod.g" not in {e.target for e in graph.out_edges("pkg.mod.f")}
    assert graph == _fresh(mixed)


def test_the_analysis_cache_key_follows_the_grammars_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Facts saved by one version of a grammar are not reused by another."""
    from graphlive import analysis_cache

    installed = analysis_cache.grammar_versions()
    names = {entry.partition("-")[0] for entry in installed}
    assert names == set(analysis_cache._GRAMMARS)
    assert all(entry.endswith(".dist-info") for entry in installed)
    folder = Path(analysis_cache.__file__).parent / "analysis"
    before = analysis_cache.analysis_digest(folder)
    upgraded = [*installed[:-1], "tree_sitter_typescript-9.9.9.dist-info"]
    monkeypatch.setattr(analysis_cache, "grammar_versions", lambda: upgraded)
    assert analysis_cache.analysis_digest(folder) != before
