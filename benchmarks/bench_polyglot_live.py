"""Other languages as a user meets them (issue 21): ``graphlive.analyze`` publishing to Redis,
then one edit published, against tree-sitter's parse of the same files in the same run.

    .venv/bin/python benchmarks/bench_polyglot_live.py [--rounds 3] [--json out.json]
        [--corpus NAME:PATH ...] [--only-given]

For each corpus the analysable files (Python and the other languages, as discovery lists them)
are copied into a temporary folder (times kept), and a private ``redis-server`` (the bundled
binary) and analysis cache are used. Per round, in this process:

1. the floor: read and parse every file (``ast.parse`` for Python, the tree-sitter grammar for
   the others), what any analysis must spend;
2. ``graphlive.analyze(copy, graph=G, redis_url=URL, reset=True, workers=1)``: discovery,
   every language's analysis, and publishing every event to the stream (a new epoch);
3. once the forked child saving the analysis for the next process has ended (how long it ran
   on after ``analyze()`` returned is reported: an update started meanwhile waits for it),
   an edit: a function added at the end of the median-sized file of the other language with
   the most files (one that calls nothing), then ``lg.update([file])``: that file extracted
   again, its language's files resolved again, the difference published. Its mutation events
   are counted in the stream and their files checked (they must all be the edited file's).

Ratios are per round (e2e / floor, edit / floor) and the medians reported. The default corpora
are what this checkout holds: graphlive itself (``src`` Python and the widget's TypeScript,
``js/src``), the npm package ``happy-dom`` (``js/node_modules``: TypeScript sources and
compiled JavaScript) and ``java.util`` from the JDK's ``src.zip`` (``bench_polyglot.py`` unpacks
it). Go and Rust checkouts are passed with ``--corpus name:/path`` (BENCHMARKS.md names them).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

EDITS = {
    "python": "\n\ndef bench_added():\n    return 1\n",
    "javascript": "\nfunction benchAdded() {\n  return 1;\n}\n",
    "typescript": "\nfunction benchAdded(): number {\n  return 1;\n}\n",
    "go": "\nfunc benchAdded() int {\n\treturn 1\n}\n",
    "rust": "\nfn bench_added() -> i32 {\n    1\n}\n",
}
# Java has no top-level functions: the edit opens a class of its own after the file's types.
EDITS["java"] = "\nclass BenchAdded {\n    int added() {\n        return 1;\n    }\n}\n"


def default_corpora() -> list[tuple[str, Path]]:
    sys.path.insert(0, str(HERE))
    from bench_polyglot import _jdk_util

    modules = REPO / "js" / "node_modules"
    out = [("graphlive", REPO / "src"), ("happy-dom", modules / "happy-dom")]
    jdk = _jdk_util()
    if jdk is not None:
        out.append(("jdk-util", jdk))
    return [(n, p) for n, p in out if p.is_dir()]


def copy_corpus(name: str, src: Path, dest: Path) -> dict[str, str]:
    """Copy what discovery lists under ``src`` (graphlive itself: ``src`` and ``js/src``) into
    ``dest``; returns path → language of every analysed file."""
    from graphlive.analysis.discover import discover
    from graphlive.ignore import IgnoreRules

    sources = [(src, dest)]
    if name == "graphlive":
        sources = [(REPO / "src", dest / "src"), (REPO / "js" / "src", dest / "js" / "src")]
    for origin, target in sources:
        disc = discover(origin, IgnoreRules(origin))
        rels = [sf.rel for sf in disc.files] + list(disc.others)
        for rel in rels:
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin / rel, path)
    disc = discover(dest)
    files = {sf.rel: "python" for sf in disc.files}
    files.update(disc.others)
    return files


def floor(root: Path, files: dict[str, str]) -> float:
    from graphlive.analysis.polyglot.languages import language_of, parser_for

    t0 = time.perf_counter()
    for rel, language in files.items():
        data = (root / rel).read_bytes()
        if language == "python":
            with contextlib.suppress(SyntaxError, ValueError):  # the analysis reports them
                ast.parse(data)
        elif language_of(rel) is not None:
            parser_for(rel).parse(data)
    return time.perf_counter() - t0


def pick_edit(root: Path, files: dict[str, str]) -> tuple[str, str]:
    """The median-sized file of the other language with the most files (Python only when
    there is no other; ties: by path)."""
    from graphlive.analysis.polyglot.languages import language_of

    counts = Counter(lang for rel, lang in files.items() if language_of(rel))
    if not counts:
        counts = Counter(files.values())
    language = max(sorted(counts), key=lambda lang: counts[lang])
    rels = sorted(
        (rel for rel, lang in files.items() if lang == language and not rel.endswith("go.mod")),
        key=lambda rel: ((root / rel).stat().st_size, rel),
    )
    return rels[len(rels) // 2], language


def bench(name: str, src: Path, rounds: int) -> dict[str, Any]:
    import redis
    from tests.redis_servers import running_redis

    import graphlive
    from graphlive.bus.keys import GraphKeys
    from graphlive.events import decode
    from graphlive.forked import wait_children

    work = Path(tempfile.mkdtemp(prefix=f"gl-poly-{name}-"))
    try:
        copy = work / name
        files = copy_corpus(name, src, copy)
        os.environ["GRAPHLIVE_DATA_DIR"] = str(work / "data")
        edit_rel, edit_lang = pick_edit(copy, files)
        edit_path = copy / edit_rel
        original = edit_path.read_bytes()
        by_language = Counter(files.values())
        print(f"[{name}] {dict(by_language)}; edit {edit_rel}", file=sys.stderr)
        floor(copy, dict(list(files.items())[:30]))  # grammars loaded, page cache warm
        rows: list[dict[str, Any]] = []
        with running_redis() as url:
            client = redis.Redis.from_url(url)
            for i in range(rounds):
                f = floor(copy, files)
                t0 = time.perf_counter()
                lg = graphlive.analyze(copy, graph=name, redis_url=url, reset=True, workers=1)
                e2e = time.perf_counter() - t0
                summary = lg.last_summary
                assert summary is not None
                before = lg.position.seq
                # The analysis state is saved by a forked child after analyze() returns; an
                # update right away would wait for it to save its own header. Measured apart.
                t0 = time.perf_counter()
                wait_children()
                save_s = time.perf_counter() - t0
                edit_path.write_bytes(original + EDITS[edit_lang].encode())
                t0 = time.perf_counter()
                lg.update([edit_path])
                edit_s = time.perf_counter() - t0
                entries: Any = client.xrange(GraphKeys(name).events, f"{before + 1}-0", "+")
                events = [decode(fields[b"e"]) for _, fields in entries]
                mutations = [e for e in events if e.type.is_mutation]
                touched = {
                    (e.data.get("node") or e.data.get("edge") or e.data).get("file")
                    for e in mutations
                }
                lg.close()
                edit_path.write_bytes(original)
                rows.append(
                    {
                        "floor_s": f,
                        "e2e_s": e2e,
                        "edit_s": edit_s,
                        "save_after_s": save_s,
                        "nodes": summary.nodes,
                        "edges": summary.edges,
                        "events": before,
                        "edit_mutations": len(mutations),
                        "edit_files": sorted(str(t) for t in touched),
                        "timings": summary.timings,
                    }
                )
                print(
                    f"[{name}] round {i + 1}: floor {f:.2f} s, analyze+publish {e2e:.2f} s, "
                    f"save ran on {save_s:.2f} s, edit {edit_s:.3f} s "
                    f"({len(mutations)} mutations in {sorted(touched)})",
                    file=sys.stderr,
                )
        return {
            "name": name,
            "files": dict(by_language),
            "bytes": sum((copy / rel).stat().st_size for rel in files),
            "edit": edit_rel,
            "floor_s": statistics.median(r["floor_s"] for r in rows),
            "e2e_s": statistics.median(r["e2e_s"] for r in rows),
            "edit_s": statistics.median(r["edit_s"] for r in rows),
            "ratio": statistics.median(r["e2e_s"] / r["floor_s"] for r in rows),
            "edit_ratio": statistics.median(r["edit_s"] / r["floor_s"] for r in rows),
            "save_after_s": statistics.median(r["save_after_s"] for r in rows),
            "rounds": rows,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", action="append", default=[], help="name:path (repeatable)")
    ap.add_argument("--only-given", action="store_true", help="skip the default corpora")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    corpora = [] if args.only_given else default_corpora()
    for spec in args.corpus:
        name, path = spec.split(":", 1)
        corpora.append((name, Path(path)))
    results = [bench(name, path, args.rounds) for name, path in corpora]
    print(
        f"{'corpus':<12}{'files':>7}{'kB':>7}{'parse s':>9}{'e2e s':>8}{'ratio':>7}"
        f"{'edit s':>8}{'edit/parse':>11}{'mutations':>10}{'bg save':>9}  languages"
    )
    for r in results:
        langs = ", ".join(f"{k} {v}" for k, v in sorted(r["files"].items()))
        mut = statistics.median(x["edit_mutations"] for x in r["rounds"])
        print(
            f"{r['name']:<12}{sum(r['files'].values()):>7}{r['bytes'] // 1024:>7}"
            f"{r['floor_s']:>9.2f}{r['e2e_s']:>8.2f}{r['ratio']:>7.2f}{r['edit_s']:>8.3f}"
            f"{r['edit_ratio']:>11.3f}{mut:>10.0f}{r['save_after_s']:>9.2f}  {langs}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
