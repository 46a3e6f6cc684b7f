"""Bad input never crashes the analysis and never loses unrelated nodes (docs/architecture.md,
"Security and bad input")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphlive.analysis import Progress
from graphlive.analysis.engine import Analyzer
from graphlive.events import ChangeEvent
from graphlive.graph import CodeGraph, EdgeKind, NodeKind
from tests.analysis_fixtures import analyze, write_tree

GOOD: dict[str, str | bytes] = {
    "good.py": "def ok():\n    return helper()\n\ndef helper():\n    pass\n",
}


def _good_is_intact(run: object) -> None:
    graph = run.graph  # type: ignore[attr-defined]
    assert graph.node("good.ok").kind is NodeKind.FUNCTION
    assert ("good.ok", "good.helper") in {
        (e.source, e.target) for e in graph.edges() if e.kind is EdgeKind.CALLS
    }


def test_syntax_error_keeps_module_node_and_other_files(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            **GOOD,
            "broken.py": "def fine():\n    pass\n\ndef bad(:\n    pass\n",
            "user.py": "import broken\nbroken.fine()\n",
        },
    )
    (diag,) = run.diagnostics("syntax-error")
    assert (diag["file"], diag["line"], diag["severity"]) == ("broken.py", 4, "error")
    assert diag["message"]
    module = run.graph.node("broken")
    assert (module.kind, module.file, dict(module.extra)) == (
        NodeKind.MODULE,
        "broken.py",
        {"error": "syntax-error"},
    )
    assert module.end_line == 5
    assert "broken.fine" not in run.graph  # nothing of a file that does not parse
    assert run.summary.files_failed == 1
    assert run.summary.calls_unresolved == 1  # broken.fine() cannot be resolved
    _good_is_intact(run)


def test_encoding_declarations_are_honoured(tmp_path: Path) -> None:
    latin = '# -*- coding: latin-1 -*-\ndef caf\xe9():\n    """Caf\xe9 cr\xe8me."""\n'
    run = analyze(
        tmp_path,
        {
            **GOOD,
            "declared.py": latin.encode("latin-1"),
            "undeclared.py": b"x = 1\ny = '\xe9'\n",
            "bom.py": b"\xef\xbb\xbfdef with_bom():\n    pass\n",
            "unknown.py": b"# coding: no-such-codec\nx = 1\n",
        },
    )
    assert run.graph.node("declared.café").doc == "Café crème."
    assert run.graph.node("bom.with_bom").line == 1
    by_file = {d["file"]: d for d in run.diagnostics("decode-error")}
    assert set(by_file) == {"undeclared.py", "unknown.py"}
    assert by_file["undeclared.py"]["line"] == 2
    assert by_file["unknown.py"]["line"] == 1
    for name in ("undeclared", "unknown"):
        assert dict(run.graph.node(name).extra) == {"error": "decode-error"}
    _good_is_intact(run)


def test_binary_file_named_py(tmp_path: Path) -> None:
    run = analyze(tmp_path, {**GOOD, "blob.py": b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50})
    (diag,) = run.diagnostics("binary-file")
    assert diag["file"] == "blob.py"
    assert dict(run.graph.node("blob").extra) == {"error": "binary-file"}
    _good_is_intact(run)


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {**GOOD, "huge.py": "x = 1\n" * 500},
        max_file_bytes=1000,
    )
    (diag,) = run.diagnostics("file-too-large")
    assert diag["file"] == "huge.py"
    assert "3000 bytes" in str(diag["message"])
    assert dict(run.graph.node("huge").extra) == {"error": "file-too-large"}
    _good_is_intact(run)


def test_symlink_loops(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "pkg/__init__.py": "", "pkg/mod.py": "def f(): pass\n"})
    (tmp_path / "pkg" / "again").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")
    (tmp_path / "outside").symlink_to("/", target_is_directory=True)
    run = analyze(tmp_path)
    codes = {(d["file"], d["code"]) for d in run.diagnostics()}
    assert ("pkg/again", "symlink-loop") in codes
    assert ("self.py", "symlink-loop") in codes
    assert ("outside", "symlink-outside-root") in codes
    # Every module once, under its real place; nothing from outside the root.
    assert {n.id for n in run.graph.nodes() if n.file is not None and "." not in n.id} == {
        "good",
        "pkg",
    }
    assert run.graph.node("pkg.mod.f").file == "pkg/mod.py"
    _good_is_intact(run)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "secret.py": "x = 1\n", "locked/inner.py": "y = 2\n"})
    (tmp_path / "secret.py").chmod(0)
    (tmp_path / "locked").chmod(0)
    try:
        run = analyze(tmp_path)
    finally:
        (tmp_path / "secret.py").chmod(0o644)
        (tmp_path / "locked").chmod(0o755)
    codes = {(d["file"], d["code"]) for d in run.diagnostics()}
    assert {("secret.py", "unreadable"), ("locked", "unreadable")} <= codes
    _good_is_intact(run)


def test_permission_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests may run as root, which reads anything: make the OS calls fail the way they do
    # for an ordinary user (EACCES), for one file and one directory.
    write_tree(tmp_path, {**GOOD, "secret.py": "x = 1\n", "locked/inner.py": "y = 2\n"})
    real_open, real_scandir = os.open, os.scandir
    secret, locked = str(tmp_path / "secret.py"), str(tmp_path / "locked")

    def fake_open(path: str, *args: object, **kwargs: object) -> int:
        if str(path) == secret:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def fake_scandir(path: str) -> object:
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "scandir", fake_scandir)
    run = analyze(tmp_path)
    by_file = {d["file"]: d for d in run.diagnostics("unreadable")}
    assert set(by_file) == {"secret.py", "locked"}
    assert "Permission denied" in str(by_file["secret.py"]["message"])
    assert dict(run.graph.node("secret").extra) == {"error": "unreadable"}
    assert "locked.inner" not in run.graph
    _good_is_intact(run)


def test_file_vanishing_mid_analysis(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "gone.py": "def soon(): pass\n", "stay.py": "import gone\n"})

    def delete_after_discovery(report: Progress) -> None:
        if report.phase == "discover":
            (tmp_path / "gone.py").unlink()

    graph = CodeGraph()
    summary = Analyzer(tmp_path, graph, workers=1).run(delete_after_discovery)
    assert graph.nodes_in_file("gone.py") == set()
    assert "gone.soon" not in graph
    # The import of the vanished module now names something outside the tree.
    assert graph.node("gone").kind is NodeKind.EXTERNAL
    assert summary.files == 3
    assert summary.files_failed == 1
    assert graph.node("stay").kind is NodeKind.MODULE
    assert graph.node("good.ok").kind is NodeKind.FUNCTION


def test_vanished_file_diagnostic(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "gone.py": "x = 1\n"})
    events: list[ChangeEvent] = []
    graph = CodeGraph()
    graph.listen(events.extend)

    def delete(report: Progress) -> None:
        if report.phase == "discover":
            (tmp_path / "gone.py").unlink()

    Analyzer(tmp_path, graph, workers=1).run(delete)
    diags = [e.data for e in events if e.type.value == "diagnostic"]
    assert [(d["file"], d["code"], d["severity"]) for d in diags] == [
        ("gone.py", "vanished", "warning")
    ]


def test_fifo_named_py_does_not_block(tmp_path: Path) -> None:
    write_tree(tmp_path, GOOD)
    os.mkfifo(tmp_path / "pipe.py")
    run = analyze(tmp_path)
    assert [d["file"] for d in run.diagnostics("not-a-regular-file")] == ["pipe.py"]
    _good_is_intact(run)


def test_pathological_nesting_and_null_bytes(tmp_path: Path) -> None:
    deep = "x = " + "(" * 300 + "1" + ")" * 300 + "\n"
    chain = "y = " + " + ".join(["f()"] * 3000) + "\n"
    run = analyze(
        tmp_path,
        {**GOOD, "deep.py": deep, "chain.py": chain, "nul.py": b"x = 1\x00\n"},
    )
    errors = {d["file"]: d["code"] for d in run.diagnostics() if d["severity"] == "error"}
    assert errors.get("nul.py") == "binary-file"
    # Too-deep code is either parsed or reported; either way it keeps its module node.
    assert "deep" in run.graph
    assert "chain" in run.graph
    assert errors.get("deep.py") in (None, "syntax-error", "parse-error", "too-deep")
    _good_is_intact(run)
