"""Is there a parser faster than ``ast.parse`` to build the analysis on? Measured in one run.

    .venv/bin/python benchmarks/bench_parsers.py [--corpora stdlib,django] [--rounds 3]

For every corpus (``benchmarks/corpora.py``; the file list is graphlive's discovery, as in
``bench_analysis.py``), one process of a private venv holding tree-sitter
(``corpora.parsers_python``) reads every file into memory, then times, best of ``--rounds``,
each pass over all files, alternating within a round:

* ``ast.parse``: the baseline of the analysis benchmark (GC as Python ships it);
* ``compile``: to bytecode, no Python-level tree (what the interpreter does on import);
* ``tree-sitter``: tree-sitter-python builds its tree in C; nothing touches it from Python;
* ``tree-sitter + walk``: the same, then a ``TreeCursor`` visits every node from Python and
  reads its kind, the least an extractor written in Python would do;
* ``ast.parse + walk``: ``ast.parse``, then every node visited (``ast.iter_child_nodes``).

Ratios are to ``ast.parse``. Files ``ast.parse`` rejects are left out of every pass.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARKER = "@@parsers-result@@ "


def _child(list_file: str, rounds: int) -> dict[str, Any]:
    import ast
    import warnings

    import tree_sitter
    import tree_sitter_python

    from bench_analysis import visit_all  # stdlib-only at module level: fine in this venv

    warnings.simplefilter("ignore")  # invalid escapes and the like
    sources: list[bytes] = []
    for path in Path(list_file).read_text(encoding="utf-8").splitlines():
        data = Path(path).read_bytes()
        try:
            ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        sources.append(data)
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))

    def parse_ast() -> None:
        for data in sources:
            ast.parse(data)

    def compile_code() -> None:
        for data in sources:
            # The symbol table's checks (``return`` outside a function...) may still reject.
            with contextlib.suppress(SyntaxError):
                compile(data, "<bench>", "exec", dont_inherit=True)

    def parse_ts() -> None:
        for data in sources:
            parser.parse(data)

    def walk_ts() -> None:
        for data in sources:
            cursor = parser.parse(data).walk()
            while True:
                cursor.node.kind_id  # noqa: B018 - an extractor must at least know each kind
                if cursor.goto_first_child() or cursor.goto_next_sibling():
                    continue
                while cursor.goto_parent():
                    if cursor.goto_next_sibling():
                        break
                else:
                    break

    def walk_ast() -> None:
        for data in sources:
            visit_all(ast.parse(data))

    passes = {
        "ast.parse": parse_ast,
        "compile": compile_code,
        "tree-sitter": parse_ts,
        "tree-sitter + walk": walk_ts,
        "ast.parse + walk": walk_ast,
    }
    best = dict.fromkeys(passes, float("inf"))
    for _ in range(rounds):
        for name, run in passes.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {"files": len(sources), "bytes": sum(map(len, sources)), "seconds": best}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        result = _child(argv[1], int(argv[2]))
        sys.stdout.write(MARKER + json.dumps(result) + "\n")
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpora", default="stdlib,django", help="comma-separated corpus names")
    ap.add_argument("--rounds", type=int, default=3, help="passes per parser (best is kept)")
    ap.add_argument("--cache", type=Path, default=HERE / ".cache", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import corpora
    from bench_analysis import corpus_files

    python = corpora.parsers_python(args.cache)
    lists = args.cache / "lists"
    lists.mkdir(parents=True, exist_ok=True)
    print(f"parsers: {', '.join(f'{k} {v}' for k, v in corpora.PARSERS.items())}")
    for name in filter(None, args.corpora.split(",")):
        corpus = corpora.get(name, args.cache)
        list_file = lists / f"{name}.txt"
        list_file.write_text("\n".join(corpus_files(corpus.root)) + "\n", encoding="utf-8")
        proc = subprocess.run(
            [str(python), __file__, "--child", str(list_file), str(args.rounds)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"\n[{name}] failed: {proc.stderr.strip()[-800:]}")
            continue
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER))
        result = json.loads(line[len(MARKER) :])
        seconds = result["seconds"]
        base = seconds["ast.parse"]
        print(f"\n[{name}] {result['files']} files, {result['bytes'] / 1e6:.1f} MB")
        for label, value in seconds.items():
            print(f"  {label:<20}{value:>8.2f} s{value / base:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
