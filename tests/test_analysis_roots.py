"""Import-name ids: source roots (src layout, project folders, declared package folders).

Every fixture puts code where an id derived from the path relative to the analysed root would
differ from the import name, so each assertion fails when source roots are not found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from graphlive.analysis import Analyzer, roots
from graphlive.bus import load_graph
from graphlive.graph import CodeGraph, EdgeKind, NodeKind
from graphlive.live import LiveGraph
from graphlive.watch import Watcher
from tests.analysis_fixtures import analyze, ids, write_tree

API = """
    from mypkg.models import Request
    from .models import helper


    def get(url):
        helper()
        return Request(url)
"""
MODELS = """
    class Request:
        def __init__(self, url):
            self.url = url


    def helper():
        pass
"""


def mypkg(folder: str) -> dict[str, str]:
    """The package ``mypkg`` in ``folder`` (relative to the project)."""
    return {
        f"{folder}/mypkg/__init__.py": "from mypkg.api import get\n",
        f"{folder}/mypkg/api.py": API,
        f"{folder}/mypkg/models.py": MODELS,
    }


def assert_mypkg(run_graph: CodeGraph, folder: str) -> None:
    """``mypkg`` in ``folder`` is named by its import names, with its calls and imports."""
    api = run_graph.node("mypkg.api")
    assert (api.kind, api.file) == (NodeKind.MODULE, f"{folder}/mypkg/api.py")
    assert run_graph.node("mypkg").file == f"{folder}/mypkg/__init__.py"
    calls = {e.target for e in run_graph.out_edges("mypkg.api.get", EdgeKind.CALLS)}
    assert calls == {"mypkg.models.Request.__init__", "mypkg.models.helper"}
    imports = {e.target for e in run_graph.out_edges("mypkg.api", EdgeKind.IMPORTS)}
    assert imports == {"mypkg.models"}
    assert not any(n.id.startswith(f"{folder.replace('/', '.')}.") for n in run_graph.nodes())


def test_src_layout_ids_are_import_names(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "mypkg"\nversion = "1"\n',
            **mypkg("src"),
            "src/loose.py": "import mypkg\n\ndef main():\n    mypkg.get('x')\n",
            "tests/test_api.py": """
                from mypkg.api import get
                import loose

                def test_get():
                    get("u")
                    loose.main()
            """,
            "setup.py": "",
        },
    )
    assert_mypkg(run.graph, "src")
    # The src folder is a sys.path entry, not a namespace package.
    assert "src" not in run.graph
    assert run.graph.node("loose").file == "src/loose.py"
    assert run.calls("loose.main") == {"mypkg.api.get"}
    # Files under no other source root are named relative to the analysed root.
    assert run.calls("tests.test_api.test_get") == {"mypkg.api.get", "loose.main"}
    assert run.graph.node("tests").kind is NodeKind.PACKAGE  # a namespace directory
    assert run.graph.node("setup").file == "setup.py"


def test_queries_take_import_names(tmp_path: Path, redis_url: str, graph_name: str) -> None:
    write_tree(tmp_path, {"pyproject.toml": "", **mypkg("src")})
    lg = LiveGraph(graph_name, root=tmp_path, redis_url=redis_url)
    try:
        lg.analyze(workers=1)
        assert set(lg.callers("mypkg.models.Request.__init__")["id"]) == {"mypkg.api.get"}
        assert set(lg.callees("mypkg.api.get")["id"]) == {
            "mypkg.models.Request.__init__",
            "mypkg.models.helper",
        }
        with pytest.raises(KeyError):
            lg.callers("src.mypkg.api.get")
    finally:
        lg.close()
    client = redis.Redis.from_url(redis_url)
    try:
        loaded, _ = load_graph(client, graph_name)
    finally:
        client.close()
    assert_mypkg(loaded, "src")


def test_several_source_roots_in_one_repository(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            # A project with a src layout below a plain folder.
            "python/pkg_a/pyproject.toml": '[project]\nname = "pkg-a"\n',
            "python/pkg_a/src/pkg_a/__init__.py": "",
            "python/pkg_a/src/pkg_a/core.py": "def go():\n    pass\n",
            "python/pkg_a/tests/test_core.py": "from pkg_a.core import go\n\ndef t():\n    go()\n",
            # A flat-layout project (setup.py only).
            "tools/pkg_b/setup.py": "",
            "tools/pkg_b/pkg_b/__init__.py": "",
            "tools/pkg_b/pkg_b/cli.py": """
                import pkg_a.core
                from shared.util import log

                def run():
                    pkg_a.core.go()
                    log()
            """,
            # A lib folder of packages.
            "lib/shared/__init__.py": "",
            "lib/shared/util.py": "def log():\n    pass\n",
            # Inside a package nothing is a source root: pkg_c/lib stays pkg_c.lib.
            "pkg_c/__init__.py": "",
            "pkg_c/lib/x.py": "def f():\n    pass\n",
            "setup.py": "",
        },
    )
    assert ids(run, "pkg_a") == {"pkg_a", "pkg_a.core", "pkg_a.core.go"}
    assert run.graph.node("pkg_a.core").file == "python/pkg_a/src/pkg_a/core.py"
    assert run.calls("pkg_b.cli.run") == {"pkg_a.core.go", "shared.util.log"}
    assert run.graph.node("pkg_b.cli").file == "tools/pkg_b/pkg_b/cli.py"
    # The project folder is a source root too: its tests are named from there.
    assert run.calls("tests.test_core.t") == {"pkg_a.core.go"}
    assert "pkg_c.lib.x.f" in run.graph
    assert not ids(run, "python.") and not ids(run, "tools.") and not ids(run, "lib.")
    # Two files named setup: the analysed root's comes first on sys.path.
    assert run.graph.node("setup").file == "setup.py"
    assert run.graph.node("tools/pkg_b/setup.py").file == "tools/pkg_b/setup.py"
    (diag,) = run.diagnostics("shadowed-module")
    assert diag["file"] == "tools/pkg_b/setup.py"


def test_a_root_that_is_a_package_keeps_its_name(tmp_path: Path) -> None:
    root = tmp_path / "mypkg"
    run = analyze(
        root,
        {
            "__init__.py": "",
            "pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "lib"}\n',
            "lib/x.py": "def f():\n    pass\n",
            "src/y.py": "def g():\n    pass\n",
        },
    )
    assert {"mypkg.lib.x.f", "mypkg.src.y.g"} <= ids(run)
    assert run.graph.node("mypkg.lib.x").file == "lib/x.py"


DECLARATIONS = {
    "setuptools package-dir": ("pyproject.toml", '[tool.setuptools]\npackage-dir = {"" = "py"}\n'),
    "setuptools find": ("pyproject.toml", '[tool.setuptools.packages.find]\nwhere = ["py"]\n'),
    "hatch packages": (
        "pyproject.toml",
        '[tool.hatch.build.targets.wheel]\npackages = ["py/mypkg"]\n',
    ),
    "hatch sources": ("pyproject.toml", '[tool.hatch.build]\nsources = ["py"]\n'),
    "poetry": (
        "pyproject.toml",
        '[tool.poetry]\nname = "mypkg"\npackages = [\n  { include = "mypkg", from = "py" },\n]\n',
    ),
    "pdm": ("pyproject.toml", '[tool.pdm.build]\npackage-dir = "py"\n'),
    "setup.cfg": ("setup.cfg", "[options]\npackage_dir =\n    =py\n"),
}


@pytest.mark.parametrize("form", sorted(DECLARATIONS))
def test_declared_package_folders(tmp_path: Path, form: str) -> None:
    name, text = DECLARATIONS[form]
    run = analyze(tmp_path, {name: text, **mypkg("py")})
    assert_mypkg(run.graph, "py")


def test_declared_folders_in_a_nested_project_and_renamed_packages(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "apps/web/pyproject.toml": """
                [tool.setuptools]
                package-dir = {"" = "code", "plugins" = "extras/plugin_impl"}
            """,
            **mypkg("apps/web/code"),
            "apps/web/extras/plugin_impl/__init__.py": "",
            "apps/web/extras/plugin_impl/csv.py": "from mypkg import get\ndef load(): get(1)\n",
            "apps/web/tests/test_web.py": "",
        },
    )
    assert_mypkg(run.graph, "apps/web/code")
    assert run.calls("plugins.csv.load") == {"mypkg.api.get"}
    assert run.graph.node("plugins").file == "apps/web/extras/plugin_impl/__init__.py"
    assert "tests.test_web" in run.graph


def test_flit_module_in_src_or_project_folder(tmp_path: Path) -> None:
    toml = '[project]\nname = "my-tool"\n[tool.flit.module]\nname = "mytool"\n'
    write_tree(tmp_path, {"pyproject.toml": toml, "src/mytool/__init__.py": ""})
    loads = roots.toml_loads
    assert loads is not None
    declared = roots.declared_roots(loads(toml), lambda p: (tmp_path / p).exists())
    assert declared == [("tool.flit.module", "src", "")]
    assert roots.declared_roots(loads(toml), lambda p: False) == [("tool.flit.module", ".", "")]


def test_declarations_leaving_the_project_are_ignored(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere_xyz"
    write_tree(outside, {"mypkg/__init__.py": ""})
    project = tmp_path / "project"
    run = analyze(
        project,
        {
            "pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "../elsewhere_xyz"}\n',
            "sub/pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "/abs_xyz"}\n',
            "sub/mod.py": "",
            **mypkg("py"),
        },
    )
    diags = run.diagnostics("source-root-ignored")
    assert {d["file"] for d in diags} == {"pyproject.toml", "sub/pyproject.toml"}
    assert not any("xyz" in str(d["message"]) for d in diags)
    assert not ids(run, "elsewhere_xyz") and "mypkg" not in run.graph
    assert "py.mypkg.api" in run.graph and "mod" in run.graph


def test_unreadable_pyproject_leaves_the_layout_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {**mypkg("src"), **mypkg("py")})
    (tmp_path / "pyproject.toml").write_text("[tool.setuptools\npackage-dir = 1\n")
    run = analyze(tmp_path)
    (diag,) = run.diagnostics("pyproject-invalid")
    assert diag["file"] == "pyproject.toml"
    assert "src.mypkg.api" not in run.graph and "mypkg.api" in run.graph
    # Python 3.10 without tomli: declarations are skipped, the src layout still counts.
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools]\npackage-dir = {"" = "py"}\n')
    monkeypatch.setattr(roots, "toml_loads", None)
    run = analyze(tmp_path)
    (diag,) = run.diagnostics("pyproject-not-read")
    assert diag["severity"] == "info"
    assert run.graph.node("mypkg.api").file == "src/mypkg/api.py"
    assert "py.mypkg.api" in run.graph


def fresh(root: Path) -> CodeGraph:
    graph = CodeGraph("fresh")
    Analyzer(root, graph, workers=1).run()
    return graph


def test_updates_name_files_like_a_full_analysis(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "", **mypkg("src"), **mypkg("py")})
    graph = CodeGraph("incremental")
    analyzer = Analyzer(tmp_path, graph, workers=1)
    analyzer.run()
    assert "py.mypkg.api.get" in graph and "mypkg.api.get" in graph
    # A new module directly in a source root: patched in place, named as imported.
    write_tree(tmp_path, {"src/extra.py": "from mypkg.api import get\n\ndef e():\n    get(1)\n"})
    summary = analyzer.update(["src/extra.py"])
    assert summary.incremental and summary.files_parsed == 1
    assert graph == fresh(tmp_path)
    assert {e.target for e in graph.out_edges("extra.e", EdgeKind.CALLS)} == {"mypkg.api.get"}
    # Declaring py/ a source root renames its files: src/ and py/ now both hold mypkg, at the
    # same depth, so the first in path order (py) keeps the ids.
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools.packages.find]\nwhere = ["py"]\n')
    summary = analyzer.update(["pyproject.toml"])
    assert summary.fallback == "structure"
    assert graph == fresh(tmp_path)
    assert graph.node("mypkg.api").file == "py/mypkg/api.py"
    assert graph.node("src/mypkg/api.py").file == "src/mypkg/api.py"
    # And back.
    (tmp_path / "pyproject.toml").write_text("")
    analyzer.update(["pyproject.toml"])
    assert graph == fresh(tmp_path)
    assert graph.node("mypkg.api").file == "src/mypkg/api.py"


def test_the_watcher_reports_project_files(tmp_path: Path) -> None:
    lg = LiveGraph("roots-watch", root=tmp_path, publish=False)
    try:
        watcher = Watcher(lg)
        for name in ("pyproject.toml", "setup.cfg", "sub/setup.py", "sub/pyproject.toml"):
            assert watcher.relevant(str(tmp_path / name)) == name
        assert watcher.relevant(str(tmp_path / "README.md")) is None
    finally:
        lg.close()


def test_removing_the_file_that_kept_a_contested_id(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "cli.py": "def a():\n    pass\n",
            "tools/pkg_b/pyproject.toml": "",
            "tools/pkg_b/cli.py": "def b():\n    pass\n",
            "user.py": "import cli\n\ndef u():\n    cli.b()\n",
        },
    )
    graph = CodeGraph("incremental")
    analyzer = Analyzer(tmp_path, graph, workers=1)
    analyzer.run()
    assert graph.node("cli.a").file == "cli.py"
    assert "tools/pkg_b/cli.py.b" in graph
    (tmp_path / "cli.py").unlink()
    analyzer.update(["cli.py"])
    assert graph == fresh(tmp_path)
    assert graph.node("cli.b").file == "tools/pkg_b/cli.py"
    assert {e.target for e in graph.out_edges("user.u", EdgeKind.CALLS)} == {"cli.b"}


def test_a_module_added_to_a_renamed_namespace_folder(tmp_path: Path) -> None:
    toml = '[tool.hatch.build]\nsources = {"nsdir" = "plug"}\n'
    write_tree(tmp_path, {"pyproject.toml": toml, "nsdir/a.py": "def f():\n    pass\n"})
    graph = CodeGraph("incremental")
    analyzer = Analyzer(tmp_path, graph, workers=1)
    analyzer.run()
    assert dict(graph.node("plug").extra) == {"namespace": True}
    # A script in a namespace folder imports its neighbours by their bare names.
    write_tree(tmp_path, {"nsdir/b.py": "import a\n\ndef g():\n    a.f()\n"})
    analyzer.update(["nsdir/b.py"])
    assert graph == fresh(tmp_path)
    assert {e.target for e in graph.out_edges("plug.b.g", EdgeKind.CALLS)} == {"plug.a.f"}
