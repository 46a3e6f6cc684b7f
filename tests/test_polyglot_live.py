"""Every language in one live graph: a mixed tree analysed and published as one graph, updated
by edits, continued by a new process and followed by the watcher (issue 21).

Against a real Redis (the bundled server) wherever publishing is what is claimed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

import graphlive
from graphlive.analysis.discover import discover, refresh
from graphlive.analysis.engine import Analyzer
from graphlive.analysis.manifest import structure_key
from graphlive.analysis.polyglot.analyses import OtherLanguages
from graphlive.bus.keys import GraphKeys
from graphlive.bus.snapshot import load_graph
from graphlive.events import ChangeEvent, EventType, decode
from graphlive.graph import CodeGraph, EdgeKind, NodeKind
from graphlive.ignore import IgnoreRules
from graphlive.live import LiveGraph
from graphlive.watch import Update
from tests.polyglot_trees import ACCEPTANCE_CALLS, LANGUAGE_OF_FILE, analysed, write_tree


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "mix")


@pytest.fixture
def graph(request: pytest.FixtureRequest) -> str:
    return f"mixed-{request.node.name[:60]}"


def _calls(graph: CodeGraph) -> set[tuple[str, str, int | None]]:
    return {(e.source, e.target, e.line) for e in graph.edges() if e.kind is EdgeKind.CALLS}


def _events(client: redis.Redis, graph: str, after: int = 0) -> list[ChangeEvent]:
    entries: Any = client.xrange(GraphKeys(graph).events, f"{after + 1}-0", "+")
    return [decode(fields[b"e"]) for _, fields in entries]


def _mutations(client: redis.Redis, graph: str, after: int) -> list[ChangeEvent]:
    return [e for e in _events(client, graph, after) if e.type.is_mutation]


def _files_of(events: list[ChangeEvent]) -> set[str | None]:
    return {(e.data.get("node") or e.data.get("edge") or e.data).get("file") for e in events}


def _fresh(root: Path) -> CodeGraph:
    return graphlive.analyze(root, publish=False, workers=1).graph


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# --------------------------------------------------------------------------- one analysis


def test_a_mixed_tree_is_one_published_graph_with_every_language_resolved(
    mixed: Path, graph: str, redis_url: str, redis_client: redis.Redis
) -> None:
    lg = graphlive.analyze(mixed, graph=graph, redis_url=redis_url, workers=1)
    try:
        summary = lg.last_summary
        assert summary is not None
        assert summary.files == len(LANGUAGE_OF_FILE)
        assert summary.languages == dict(sorted(Counter(LANGUAGE_OF_FILE.values()).items()))
        assert summary.files_failed == 0 and summary.calls_unresolved == 0
        stored, _ = load_graph(redis_client, graph)  # what every viewer gets from Redis
        assert _calls(stored) >= ACCEPTANCE_CALLS
        for rel, language in LANGUAGE_OF_FILE.items():
            in_file = [stored.get(n) for n in stored.nodes_in_file(rel)]
            assert in_file, rel
            assert {n.language for n in in_file if n is not None} == {language}, rel
        module = stored.get("web/main.ts")
        assert module is not None and module.kind is NodeKind.MODULE
        assert stored == _fresh(mixed)
        # Analysing the unchanged tree again publishes no mutation.
        before = lg.position.seq
        lg.analyze()
        assert _mutations(redis_client, graph, before) == []
    finally:
        lg.close()


def test_externals_of_other_languages_keep_their_language_and_go_when_unused(
    mixed: Path, graph: str, redis_url: str, redis_client: redis.Redis
) -> None:
    main = mixed / "web" / "main.ts"
    main.write_text(
        'import { useState } from "react";\n\nexport function hook() {\n  useState();\n}\n'
    )
    lg = graphlive.analyze(mixed, graph=graph, redis_url=redis_url, workers=1)
    try:
        external = lg.graph.get("npm:react:useState")
        assert external is not None
        assert (external.kind, external.language) == (NodeKind.EXTERNAL, "typescript")
        main.write_text("export function hook() {\n  return 1;\n}\n")
        lg.update([main])
        assert "npm:react:useState" not in lg.graph
        assert "npm:react:useState" not in load_graph(redis_client, graph)[0]
    finally:
        lg.close()


# --------------------------------------------------------------------------- updates


def test_an_edit_of_one_file_publishes_only_that_files_diff(
    mixed: Path, graph: str, redis_url: str, redis_client: redis.Redis
) -> None:
    lg = graphlive.analyze(mixed, graph=graph, redis_url=redis_url, workers=1)
    try:
        edits = [
            ("web/shop.ts", "return 1;", "return this.tax();\n  }\n  tax(): number {\n  return 2;"),
            ("svc/svc.go", 'return "hi"', "return greet()\n}\n\nfunc greet() string {"),
            ("java/Cart.java", "return x * 2;", "return half(x);\n    }\n\n    int half(int x) {"),
            ("src/util.rs", "pub fn helper() {}", "pub fn helper() { inner(); }\nfn inner() {}"),
        ]
        expected = {
            "web/shop.ts": ("web/shop.ts:Cart.total", "web/shop.ts:Cart.tax"),
            "svc/svc.go": ("svc/svc.go:Hello", "svc/svc.go:greet"),
            "java/Cart.java": ("java/Cart.java:Cart.twice/1", "java/Cart.java:Cart.half/1"),
            "src/util.rs": ("src/util.rs:helper", "src/util.rs:inner"),
        }
        for rel, old, new in edits:
            before = lg.position.seq
            _edit(mixed / rel, old, new)
            summary = lg.update([mixed / rel])
            assert summary.incremental and summary.fallback is None, rel
            assert summary.files_written == 1, rel
            assert summary.files_parsed == 1, rel  # the rest of its language: kept facts
            assert summary.files_solved == 0, rel  # no Python was resolved again
            changes = _mutations(redis_client, graph, before)
            assert changes and _files_of(changes) == {rel}, rel
            assert EventType.GRAPH_RESET not in {e.type for e in changes}
            caller, callee = expected[rel]
            assert callee in {e.target for e in lg.graph.out_edges(caller, EdgeKind.CALLS)}, rel
        assert lg.graph == _fresh(mixed)
        assert load_graph(redis_client, graph)[0] == lg.graph
    finally:
        lg.close()


def test_an_edit_that_changes_another_files_edges_writes_both(mixed: Path) -> None:
    """Resolution crosses files: renaming an export changes its importer's call edge."""
    lg = graphlive.analyze(mixed, publish=False, workers=1)
    _edit(mixed / "web/esm/math.mjs", "function double", "function twice")
    summary = lg.update([mixed / "web/esm/math.mjs"])
    assert summary.files_written == 2
    targets = {e.target for e in lg.graph.out_edges("web/esm/main.js:run", EdgeKind.CALLS)}
    assert "web/esm/math.mjs:double" not in targets
    assert lg.graph == _fresh(mixed)


def test_files_added_and_removed_in_other_languages(mixed: Path) -> None:
    lg = graphlive.analyze(mixed, publish=False, workers=1)
    added = mixed / "svc" / "extra.go"
    added.write_text("package svc\n\nfunc Extra() string {\n\treturn Hello()\n}\n")
    summary = lg.update([added])
    assert summary.fallback is None
    assert "svc/svc.go:Hello" in {e.target for e in lg.graph.out_edges("svc/extra.go:Extra")}
    shutil.rmtree(mixed / "java")
    lg.update([mixed / "java"])  # a folder gone: the update walks the tree again
    assert not [n for n in lg.graph.nodes() if n.language == "java"]
    (mixed / "src" / "lib.rs").unlink()
    (mixed / "src" / "util.rs").unlink()
    lg.update([mixed / "src" / "lib.rs", mixed / "src" / "util.rs"])
    assert not [n for n in lg.graph.nodes() if n.language == "rust"]
    assert lg.graph == _fresh(mixed)


def test_a_go_mod_change_resolves_go_imports_again(mixed: Path) -> None:
    lg = graphlive.analyze(mixed, publish=False, workers=1)
    _edit(mixed / "go.mod", "example.com/mix", "example.com/renamed")
    lg.update([mixed / "go.mod"])
    targets = {e.target for e in lg.graph.out_edges("main.go:main", EdgeKind.CALLS)}
    assert "svc/svc.go:Hello" not in targets  # the import now names a package from outside
    assert lg.graph == _fresh(mixed)


def test_a_new_file_of_another_language_does_not_change_pythons_structure(mixed: Path) -> None:
    disc = discover(mixed, IgnoreRules(mixed))
    key = structure_key(disc)
    assert disc.others["web/main.ts"] == "typescript" and disc.others["go.mod"] == "go"
    (mixed / "web" / "extra.tsx").write_text("export const x = 1;\n")
    (mixed / "web" / "types.d.ts").write_text("declare const y: number;\n")  # no code: skipped
    assert refresh(disc, ["web/extra.tsx"]) == {"web/extra.tsx"}  # patched, no walk
    assert disc.others["web/extra.tsx"] == "typescript"
    assert structure_key(disc) == key
    assert "web/types.d.ts" not in discover(mixed, IgnoreRules(mixed)).others
    (mixed / "web" / "extra.tsx").unlink()
    assert refresh(disc, ["web/extra.tsx"]) == {"web/extra.tsx"}
    assert "web/extra.tsx" not in disc.others
    # Folders discovery skips stay skipped for every language.
    (mixed / "node_modules" / "lib").mkdir(parents=True)
    (mixed / "node_modules" / "lib" / "index.js").write_text("module.exports = 1;\n")
    assert refresh(disc, ["node_modules/lib/index.js"]) == set()
    assert "node_modules/lib/index.js" not in discover(mixed, IgnoreRules(mixed)).others


# --------------------------------------------------------------------------- bad input


def test_bad_files_of_other_languages_are_diagnosed_and_lose_nothing(mixed: Path) -> None:
    (mixed / "web" / "broken.ts").write_text(
        "export function ok(): number {\n  return 1;\n}\n\nexport function bad( {\n"
    )
    (mixed / "web" / "bundle.min.js").write_text("var a=1;" * 2_000 + "\n")
    (mixed / "svc" / "binary.go").write_bytes(b"package svc\n\nfunc Bin() {}\n\xff\xfe\x00\x01")
    os.mkfifo(mixed / "web" / "pipe.ts")
    events: list[ChangeEvent] = []
    lg = LiveGraph("bad", root=mixed, publish=False)
    lg.graph.listen(events.extend)
    summary = lg.analyze(workers=1)
    codes = {(e.data["file"], e.data["code"]) for e in events if e.type is EventType.DIAGNOSTIC}
    assert ("web/broken.ts", "syntax-error") in codes
    assert ("web/bundle.min.js", "generated-file") in codes
    assert ("web/pipe.ts", "not-a-regular-file") in codes
    assert "web/broken.ts:ok" in lg.graph  # what parsed is kept
    assert "web/bundle.min.js" in lg.graph  # skipped, but its module node is there
    assert "svc/binary.go:Bin" in lg.graph
    assert _calls(lg.graph) >= ACCEPTANCE_CALLS  # the rest of the tree is untouched
    assert summary.files_failed == 0


def test_an_edit_re_emits_only_the_edited_files_diagnostics(mixed: Path) -> None:
    """The edit's language is analysed whole, but the diagnostics of its other files (same
    output as before) are not published again."""
    (mixed / "web" / "broken.ts").write_text("export function bad( {\n")
    lg = LiveGraph("diags", root=mixed, publish=False)
    lg.analyze(workers=1)
    events: list[ChangeEvent] = []
    lg.graph.listen(events.extend)
    _edit(mixed / "web" / "shop.ts", "return 1;", "return 5;")
    lg.update([mixed / "web" / "shop.ts"])
    assert not [e for e in events if e.type is EventType.DIAGNOSTIC]
    _edit(mixed / "web" / "broken.ts", "bad(", "worse(")
    lg.update([mixed / "web" / "broken.ts"])
    diagnosed = {e.data["file"] for e in events if e.type is EventType.DIAGNOSTIC}
    assert diagnosed == {"web/broken.ts"}


def test_a_file_that_vanishes_before_it_is_read_is_gone_for_the_graph(tmp_path: Path) -> None:
    (tmp_path / "a.ts").write_text("export function a() {}\n")
    others = OtherLanguages()
    stamps: dict[str, tuple[int, int, str]] = {}
    listed = {"a.ts": "typescript", "gone.ts": "typescript"}
    outputs = others.analyse(tmp_path, listed, None, stamps, max_bytes=1_000_000)
    assert outputs["gone.ts"].nodes == {} and "a.ts" in outputs["a.ts"].nodes
    assert set(stamps) == {"a.ts"}
    assert others.files["scripts"] == {"a.ts"} and others.failed_files() == set()


# --------------------------------------------------------------------------- new processes

_CHILD = textwrap.dedent(
    """
    import json, sys
    from graphlive.live import LiveGraph
    root, graph, url = sys.argv[1], sys.argv[2], sys.argv[3]
    lg = LiveGraph(graph, root=root, redis_url=url)
    s = lg.analyze(root, workers=1)
    print(json.dumps({"resumed": lg.resumed, "epoch": lg.position.epoch,
                      "seq": lg.position.seq, "parsed": s.files_parsed}))
    lg.close()
    """
)


def _run(root: Path, graph: str, url: str, data: Path) -> dict[str, Any]:
    env = dict(os.environ, GRAPHLIVE_DATA_DIR=str(data))
    env.pop("GRAPHLIVE_REDIS_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), graph, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_new_process_continues_a_mixed_graph(
    mixed: Path, graph: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = _run(mixed, graph, redis_url, data)
    assert first["resumed"] == "new-epoch"
    second = _run(mixed, graph, redis_url, data)
    assert second["resumed"] == "unchanged" and second["parsed"] == 0
    assert _mutations(redis_client, graph, first["seq"]) == []
    _edit(mixed / "src" / "util.rs", "pub fn helper() {}", "pub fn helper() {}\n\npub fn more() {}")
    third = _run(mixed, graph, redis_url, data)
    assert third["resumed"] == "continued" and third["epoch"] == first["epoch"]
    assert third["parsed"] == 1  # the edited Rust file; no Python
    changes = _mutations(redis_client, graph, second["seq"])
    assert changes and _files_of(changes) == {"src/util.rs"}
    assert load_graph(redis_client, graph)[0] == _fresh(mixed)


# --------------------------------------------------------------------------- watching


def test_the_watcher_follows_edits_in_other_languages(mixed: Path) -> None:
    live = LiveGraph("watched-mixed", root=mixed, publish=False)
    live.analyze(workers=1)
    seen: list[Update] = []
    changed = threading.Condition()

    def record(update: Update) -> None:
        with changed:
            seen.append(update)
            changed.notify_all()

    def wait_for(predicate: Callable[[], bool]) -> None:
        def holds() -> bool:
            with live.lock:
                return predicate()

        with changed:
            assert changed.wait_for(holds, timeout=20), [u.files for u in seen]

    live.watch(on_update=record)
    try:
        _edit(mixed / "web" / "main.ts", "return new Cart().total();", "return late();")
        with (mixed / "web" / "main.ts").open("a") as fh:
            fh.write("\nfunction late(): number {\n  return 3;\n}\n")
        wait_for(lambda: "web/main.ts:late" in live.graph)
        _edit(mixed / "go.mod", "example.com/mix", "example.com/renamed")
        wait_for(
            lambda: (
                "svc/svc.go:Hello"
                not in {e.target for e in live.graph.out_edges("main.go:main", EdgeKind.CALLS)}
            )
        )
        assert {"web/main.ts", "go.mod"} <= {f for u in seen for f in u.files}
        assert live.graph == _fresh(mixed)
    finally:
        live.close()


def test_an_analyzer_restored_without_the_writers_memory_rewrites_other_languages(
    mixed: Path,
) -> None:
    """A saved analysis continued against a graph another writer changed (not in sync): the
    other languages' files are analysed again and compared with the graph."""
    graph, _, state = analysed(mixed)
    graph.remove_node("web/shop.ts:Cart.total")  # someone else's change
    restored = Analyzer.restore(mixed, graph, state, in_sync=False, workers=1)
    restored.rescan()
    assert graph == _fresh(mixed)


# --------------------------------------------------------------------------- choosing languages


def test_an_analysis_limited_to_some_languages_reads_only_those(mixed: Path) -> None:
    lg = graphlive.analyze(mixed, publish=False, workers=1, languages=["python", "go"])
    assert {n.language for n in lg.graph.nodes()} == {"python", "go"}
    summary = lg.last_summary
    assert summary is not None and summary.languages == {"go": 2, "python": 2}
    _edit(mixed / "web" / "shop.ts", "return 1;", "return 2;")  # left out: no update
    assert lg.update([mixed / "web" / "shop.ts"]).files_parsed == 0
    only_ts = graphlive.analyze(mixed, publish=False, workers=1, languages=["typescript"])
    assert {n.language for n in only_ts.graph.nodes()} == {"typescript"}
    with pytest.raises(ValueError, match="unknown language 'cobol': choose among python"):
        graphlive.analyze(mixed, publish=False, languages=["python", "cobol"])


def test_a_new_process_with_more_languages_adds_them_in_the_same_epoch(
    mixed: Path, graph: str, redis_url: str, redis_client: redis.Redis
) -> None:
    first = graphlive.analyze(mixed, graph=graph, redis_url=redis_url, languages=["python"])
    epoch, seq = first.position.epoch, first.position.seq
    first.close()
    second = graphlive.analyze(mixed, graph=graph, redis_url=redis_url)
    try:
        assert second.position.epoch == epoch and second.resumed != "new-epoch"
        added = _files_of(_mutations(redis_client, graph, seq))
        assert added == set(LANGUAGE_OF_FILE) - {"pkg/__init__.py", "pkg/mod.py"}
        assert load_graph(redis_client, graph)[0] == _fresh(mixed)
    finally:
        second.close()


def test_unresolved_calls_of_other_languages_are_listed_where_they_are(mixed: Path) -> None:
    _edit(mixed / "web" / "main.ts", "return new Cart().total();", "return mystery.total();")
    lg = graphlive.analyze(mixed, publish=False, workers=1)
    rows = lg.unresolved_calls().to_dict("records")
    assert {"caller": "web/main.ts:checkout", "file": "web/main.ts", "line": 4,
            "callee": "mystery.total"} in rows  # fmt: skip
    summary = lg.last_summary
    assert summary is not None and summary.calls_unresolved == 1


def test_files_written_after_the_saved_state_are_rebuilt_from_disk(mixed: Path) -> None:
    """A saved state plus the files written since (its header's list) stands for the graph: a
    new process rebuilds those files from what is on disk now, even when their content went
    back to what the state saw (so no stamp tells them apart)."""
    graph, first, state = analysed(mixed)
    math = mixed / "web" / "esm" / "math.mjs"
    original = math.read_text()
    _edit(math, "function double", "function twice")
    first.update([math])
    assert first.unsaved == {"web/esm/math.mjs", "web/esm/main.js"}
    math.write_text(original)  # back as the state saw it; nobody reported it
    restored = Analyzer.restore(mixed, graph, state, in_sync=True, rewrite=first.unsaved)
    restored.rescan()
    assert graph == _fresh(mixed)


@pytest.mark.parametrize("changed", ["pkg/mod.py", "web/esm/math.mjs"])
def test_files_written_after_the_saved_state_are_rebuilt_by_a_structure_change_too(
    mixed: Path, changed: str
) -> None:
    """As above, when the new process's first update is a full resolution (a new package
    changes the tree's structure): every file written after the state is compared with the
    graph, Python's and the other languages'."""
    graph, first, state = analysed(mixed)
    path = mixed / changed
    original = path.read_text()
    path.write_text(original.replace("g()", "h()").replace("function double", "function twice"))
    first.update([path])
    assert changed in first.unsaved
    path.write_text(original)
    (mixed / "newpkg").mkdir()
    (mixed / "newpkg" / "__init__.py").write_text("")
    restored = Analyzer.restore(mixed, graph, state, in_sync=True, rewrite=first.unsaved)
    summary = restored.rescan()
    assert summary.fallback == "structure"
    assert graph == _fresh(mixed)
