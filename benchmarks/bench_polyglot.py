"""The analyses of other languages (issue 21) against tree-sitter's parse of the same files.

    .venv/bin/python benchmarks/bench_polyglot.py [--rounds 3] [--corpus NAME:LANGUAGE:PATH ...]
        [--json out.json]

For each corpus, in one process and per round: the floor (read and tree-sitter-parse every
file, what any analysis on these grammars must spend), then graphlive's analysis of the same
files (extraction and resolution across them, ``graphlive.analysis.polyglot``); the ratio of
the two is taken per round (these machines are shared and noisy) and the median reported, with
the call sites found, the share resolved and the files skipped as generated.

Default corpora are what this checkout already holds, named by what shipped them:

* ``happy-dom-js`` / ``happy-dom-ts``: the npm package ``happy-dom`` in ``js/node_modules``
  (its compiled JavaScript under ``lib/`` and its TypeScript sources under ``src/``);
* ``sigma-js``: the npm package ``sigma`` (ES modules);
* ``widget-ts``: graphlive's own widget, ``js/src``;
* ``jdk-util-java``: ``java.util`` from the Temurin 25 JDK's ``src.zip`` (unpacked once into
  ``benchmarks/.cache/corpora``).

Go and Rust sources are not shipped by anything installed here: pass a checkout with
``--corpus name:go:/path`` (``name:rust:/path``); BENCHMARKS.md says which was used.

``--code2flow DIR`` (repeatable) also runs code2flow 2.5.1 (JavaScript mode, ES modules, parse
errors skipped; from the benchmarks' tools venv, with acorn 8 from npm installed once into
``benchmarks/.cache/acorn``) on the JavaScript of ``DIR`` and prints its nodes, edges and time
beside graphlive's call edges on the same files (the precision of both is checked by hand on a
sample: BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache" / "corpora"
#: The Temurin 25 JDK here ships its sources (Debian's OpenJDK 17 links to a missing file).
JDK_SRC = Path("/usr/lib/jvm/temurin-25-jdk-amd64/lib/src.zip")


def _jdk_util() -> Path | None:
    dest = CACHE / "jdk25-java-util"
    if dest.is_dir():
        return dest
    if not JDK_SRC.is_file():
        return None
    with zipfile.ZipFile(JDK_SRC) as zf:
        for name in zf.namelist():
            if name.startswith("java.base/java/util/") and name.endswith(".java"):
                zf.extract(name, dest)
    return dest


def default_corpora() -> list[tuple[str, str, Path]]:
    modules = REPO / "js" / "node_modules"
    out = [
        ("happy-dom-js", "javascript", modules / "happy-dom" / "lib"),
        ("happy-dom-ts", "typescript", modules / "happy-dom" / "src"),
        ("sigma-js", "javascript", modules / "sigma"),
        ("widget-ts", "typescript", REPO / "js" / "src"),
    ]
    jdk = _jdk_util()
    if jdk is not None:
        out.append(("jdk-util-java", "java", jdk))
    return [c for c in out if c[2].is_dir()]


def files_of(root: Path, language: str) -> list[str]:
    from graphlive.analysis.polyglot import language_of

    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and language_of(p.name) == language
    )


def analyzer(language: str) -> Callable[[Path, Sequence[str]], Any]:
    from graphlive.analysis.polyglot.analyses import GROUPS, analyze_group

    return functools.partial(analyze_group, GROUPS[language])


def floor(root: Path, rels: Sequence[str]) -> float:
    """Seconds to read and parse every file with its tree-sitter grammar."""
    from graphlive.analysis.polyglot.languages import parser_for

    t0 = time.perf_counter()
    for rel in rels:
        parser_for(rel).parse((root / rel).read_bytes())
    return time.perf_counter() - t0


def bench(name: str, language: str, root: Path, rounds: int) -> dict[str, Any]:
    rels = files_of(root, language)
    size = sum((root / r).stat().st_size for r in rels)
    analyze = analyzer(language)
    floor(root, rels[:20])  # load the grammar, warm the page cache
    ratios, floors, seconds = [], [], []
    result: Any = None
    for _ in range(rounds):
        f = floor(root, rels)
        t0 = time.perf_counter()
        result = analyze(root, rels)
        s = time.perf_counter() - t0
        floors.append(f)
        seconds.append(s)
        ratios.append(s / f)
    outputs = result.outputs
    calls = sum(o.calls_total for o in outputs)
    resolved = sum(o.calls_resolved for o in outputs)
    skipped = sum(1 for o in outputs for d in o.diagnostics if d.code == "generated-file")
    edges = sum(len(o.edges) for o in outputs)
    return {
        "name": name,
        "language": language,
        "files": len(rels),
        "bytes": size,
        "floor_s": statistics.median(floors),
        "analysis_s": statistics.median(seconds),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "nodes": sum(len(o.nodes) for o in outputs),
        "edges": edges,
        "calls": calls,
        "resolved": resolved / calls if calls else 1.0,
        "skipped_generated": skipped,
    }


def code2flow(directory: Path) -> dict[str, Any]:
    """code2flow's graph of the JavaScript under ``directory`` (or the error it ended with)."""
    import os
    import subprocess
    import tempfile

    sys.path.insert(0, str(HERE))
    import corpora

    acorn = HERE / ".cache" / "acorn"
    if not (acorn / "node_modules" / "acorn").is_dir():
        acorn.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "acorn@8"],
            cwd=acorn, check=True,
        )  # fmt: skip
    tool = corpora.tools_python().parent / "code2flow"
    env = dict(
        os.environ,
        NODE_PATH=str(acorn / "node_modules"),
        PATH=f"{acorn / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "graph.json"
        args = [str(tool), str(directory), "--language", "js", "--source-type", "module"]
        args += ["--skip-parse-errors", "-q", "-o", str(out)]
        t0 = time.perf_counter()
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0 or not out.is_file():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": last[:200], "seconds": seconds}
        graph = json.loads(out.read_text(encoding="utf-8"))["graph"]
    return {"nodes": len(graph["nodes"]), "edges": len(graph["edges"]), "seconds": seconds}


def compare_code2flow(directory: Path) -> dict[str, Any]:
    from graphlive.analysis.polyglot.analyses import analyze_group
    from graphlive.graph import EdgeKind

    rels = files_of(directory, "javascript")
    t0 = time.perf_counter()
    analysis = analyze_group("scripts", directory, rels)
    seconds = time.perf_counter() - t0
    calls = [e for o in analysis.outputs for e in o.edges.values() if e.kind is EdgeKind.CALLS]
    return {
        "directory": str(directory),
        "files": len(rels),
        "graphlive": {
            "calls": len(calls),
            "within": sum(1 for e in calls if not e.target.startswith("npm:")),
            "seconds": seconds,
        },
        "code2flow": code2flow(directory),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", action="append", default=[], help="name:language:path (repeatable)")
    ap.add_argument("--only-given", action="store_true", help="skip the default corpora")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--code2flow", action="append", default=[], type=Path, help="a JavaScript package folder"
    )
    args = ap.parse_args(argv)
    corpora = [] if args.only_given else default_corpora()
    for spec in args.corpus:
        name, language, path = spec.split(":", 2)
        corpora.append((name, language, Path(path)))
    rows = []
    for name, language, root in corpora:
        print(f"[{name}] {root}", file=sys.stderr)
        rows.append(bench(name, language, root, args.rounds))
    print(
        f"{'corpus':<16}{'files':>7}{'kB':>8}{'parse s':>9}{'analysis s':>12}{'ratio':>7}"
        f"{'calls':>8}{'resolved':>10}{'generated':>11}"
    )
    for r in rows:
        print(
            f"{r['name']:<16}{r['files']:>7}{r['bytes'] // 1024:>8}{r['floor_s']:>9.2f}"
            f"{r['analysis_s']:>12.2f}{r['ratio']:>7.2f}{r['calls']:>8,}"
            f"{r['resolved']:>10.1%}{r['skipped_generated']:>11}"
        )
    compared = [compare_code2flow(d) for d in args.code2flow]
    if compared:
        print(f"\n{'folder':<44}{'files':>6}{'graphlive calls':>16}{'(within)':>9}{'s':>6}"
              f"{'code2flow edges':>16}{'s':>6}")  # fmt: skip
        for c in compared:
            g, t = c["graphlive"], c["code2flow"]
            theirs = f"{t['edges']:>16,}" if "edges" in t else f"{'failed':>16}"
            print(
                f"{c['directory'][-44:]:<44}{c['files']:>6}{g['calls']:>16,}{g['within']:>9,}"
                f"{g['seconds']:>6.1f}{theirs}{t['seconds']:>6.1f}"
            )
            if "error" in t:
                print(f"  code2flow: {t['error']}")
    if args.json:
        payload = {"corpora": rows, "code2flow": compared}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
