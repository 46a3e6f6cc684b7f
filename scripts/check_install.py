"""Check an installed graphlive from outside: run by scripts/check_clean_install.sh with the
Python of a fresh virtualenv holding only the wheel and its declared dependencies.

1. every module of ``graphlive`` and ``graphlive_server`` imports;
2. every third-party name they import belongs to a dependency declared in pyproject.toml (an
   import made only inside a function may belong to an extra instead, e.g. ``neo4j``);
3. ``graphlive analyze FIXTURE`` publishes a graph and ``graphlive events GRAPH`` prints it;
4. ``jupyter server extension list`` shows ``graphlive_server`` enabled and loading.

Exits 1 with one line per problem; prints what it checked otherwise.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata as md
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

PACKAGES = ("graphlive", "graphlive_server")
GRAPH = "clean-install"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> tuple[set[str], set[str]]:
    """(base requirements, requirements of extras) of the installed graphlive, canonical names."""
    base: set[str] = set()
    extras: set[str] = set()
    for req in md.requires("graphlive") or []:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
        assert match, req
        (extras if "extra ==" in req else base).add(canonical(match.group(0)))
    return base, extras


def import_all() -> tuple[list[str], list[str]]:
    """Import every module of both packages; returns (imported, problems)."""
    done: list[str] = []
    problems: list[str] = []
    for top in PACKAGES:
        package = importlib.import_module(top)
        names = [top] + [
            info.name
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{top}.")
            if not info.name.endswith(".__main__")  # running it is not importing it
        ]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as exc:
                problems.append(f"import {name}: {type(exc).__name__}: {exc}")
            else:
                done.append(name)
    return done, problems


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(top-level name, imported at module level?) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((a.name.split(".")[0], module_level) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], module_level))
            lazy = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            )
            visit(child, module_level and not lazy)

    visit(tree, True)
    return found


def check_declared() -> tuple[int, list[str]]:
    base, extras = declared()
    owners = md.packages_distributions()
    problems: list[str] = []
    files = 0
    for top in PACKAGES:
        root = Path(importlib.import_module(top).__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            files += 1
            for name, module_level in imports_of(path):
                if name in sys.stdlib_module_names or name in PACKAGES or name == "__future__":
                    continue
                dists = {canonical(d) for d in owners.get(name, [])}
                if dists & base:
                    continue
                if not module_level and (dists | {canonical(name)}) & extras:
                    continue  # an optional extra, imported only where it is used
                where = path.relative_to(root.parent)
                problems.append(
                    f"{where} imports {name!r} (distribution {', '.join(sorted(dists)) or '?'}),"
                    " which is not a declared dependency of graphlive"
                )
    return files, problems


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def check_commands(fixture: Path) -> list[str]:
    bindir = Path(sys.executable).parent
    problems: list[str] = []
    analyzed = run(str(bindir / "graphlive"), "analyze", str(fixture), "--graph", GRAPH, "--json")
    if analyzed.returncode != 0:
        return [f"graphlive analyze exited {analyzed.returncode}: {analyzed.stderr[-2000:]}"]
    summary = json.loads(analyzed.stdout)
    if summary["nodes"] < 1:
        problems.append(f"graphlive analyze found no nodes in {fixture}")
    events = run(str(bindir / "graphlive"), "events", GRAPH)
    if events.returncode != 0:
        problems.append(f"graphlive events exited {events.returncode}: {events.stderr[-2000:]}")
    else:
        seqs = [json.loads(line)["seq"] for line in events.stdout.splitlines()]
        if seqs != list(range(1, summary["last_seq"] + 1)):
            last = summary["last_seq"]
            problems.append(f"graphlive events printed {len(seqs)} events, not 1..{last}")
    listed = run(str(bindir / "jupyter"), "server", "extension", "list")
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colours
    line = next((ln for ln in text.splitlines() if "graphlive_server" in ln), "")
    if listed.returncode != 0 or "enabled" not in line:
        problems.append(f"jupyter server extension list does not enable graphlive_server:\n{text}")
    elif not re.search(r"^\s*graphlive_server\s+(\S+\s+)?OK\s*$", text, re.MULTILINE):
        problems.append(f"graphlive_server does not load in jupyter server:\n{text}")
    print(f"  graphlive analyze: {summary['nodes']} nodes, {summary['edges']} edges; "
          f"graphlive events: {summary['last_seq']} events; extension: {line.strip()}")  # fmt: skip
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", type=Path, required=True, help="a folder to analyse")
    args = parser.parse_args()
    if any(Path(p).resolve() == Path.cwd() / "src" for p in sys.path if p):
        print("check_install: run it outside the source tree", file=sys.stderr)
        return 2
    imported, problems = import_all()
    files, undeclared = check_declared()
    problems += undeclared
    print(f"  {len(imported)} modules import; {files} files' imports are declared dependencies")
    if not problems:
        problems += check_commands(args.fixture)
    for problem in problems:
        print(f"clean install: {problem}", file=sys.stderr)
    if problems:
        print(f"clean install: {len(problems)} problem(s) ({sys.prefix})", file=sys.stderr)
        return 1
    print(f"clean install: OK ({os.path.basename(sys.prefix)} with graphlive only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
