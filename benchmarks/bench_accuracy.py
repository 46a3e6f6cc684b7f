"""Accuracy of the call graph: the annotated corpus, and unresolved calls on real code.

    .venv/bin/python benchmarks/bench_accuracy.py [--corpora stdlib,django,rich,requests]
        [--sample 0] [--json out.json]

1. Scores the analysis against ``tests/accuracy`` (see its README.md): precision and recall per
   idiom and overall, as a Markdown table (the one docs/analysis.md shows).
2. Analyses each benchmark corpus (``benchmarks/corpora.py``) in this process and reports the
   share of call sites left unresolved (``AnalysisSummary.calls_unresolved / calls_total``).
3. With ``--sample N``, prints N unresolved call sites per corpus drawn at random (seeded), with
   the callee as the analysis recorded it (``extra.unresolved_calls``) and a rough class of the
   callee's shape, the raw material for finding the next idioms worth resolving.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import corpora
from tests.accuracy_corpus import score_corpus, table

from graphlive.analysis import Analyzer
from graphlive.graph import CodeGraph

#: Rough shapes of an unresolved callee's text, tried in order.
SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("result of a call: make(...).f", re.compile(r"\(\.\.\.\)")),
    ("subscript: x[k].f", re.compile(r"\[")),
    ("self attribute: self.x.f", re.compile(r"^self\.\w+\.")),
    ("method on self: self.f", re.compile(r"^self\.\w+$")),
    ("method on cls: cls.f", re.compile(r"^cls\.")),
    ("method on a name: obj.f", re.compile(r"^\w+\.\w+$")),
    ("attribute chain: a.b.f", re.compile(r"^\w+(\.\w+){2,}$")),
    ("bare name: f", re.compile(r"^\w+$")),
]


def shape(callee: str) -> str:
    for label, pattern in SHAPES:
        if pattern.search(callee):
            return label
    return "other"


def unresolved_sites(graph: CodeGraph) -> list[tuple[str, str, int, str]]:
    """``(caller, file, line, callee)`` of every unresolved call site."""
    out = []
    for node in graph.nodes():
        calls = dict(node.extra).get("unresolved_calls") if node.extra else None
        for line, callee in calls or ():
            out.append((node.id, node.file or "", int(line), str(callee)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default="stdlib,django,rich,requests")
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    scores = score_corpus()
    print("Accuracy corpus (tests/accuracy):\n")
    print(table(scores))
    for name, s in scores.items():
        if name != "overall":
            for edge in sorted(s.missed):
                print(f"  missed  {name}: {edge}")
            for edge in sorted(s.wrong):
                print(f"  wrong   {name}: {edge}")
    result: dict[str, object] = {
        "accuracy": {
            n: {
                "expected": len(s.expected),
                "found": len(s.found),
                "precision": s.precision,
                "recall": s.recall,
            }
            for n, s in scores.items()
        },
        "corpora": {},
    }

    rng = random.Random(20261206)
    print("\n| corpus | call sites | unresolved | share | analysis s |")
    print("|---|---:|---:|---:|---:|")
    samples: dict[str, list[tuple[str, str, int, str]]] = {}
    shapes: dict[str, collections.Counter[str]] = {}
    for name in [c for c in args.corpora.split(",") if c]:
        try:
            corpus = corpora.get(name)
        except corpora.CorpusUnavailable as exc:
            print(f"| {name} | unavailable: {exc} | | | |")
            continue
        graph = CodeGraph(name)
        started = time.perf_counter()
        summary = Analyzer(corpus.root, graph).run()
        seconds = time.perf_counter() - started
        share = summary.calls_unresolved / summary.calls_total if summary.calls_total else 0.0
        print(
            f"| {name} {corpus.version} | {summary.calls_total:,} | "
            f"{summary.calls_unresolved:,} | {share:.1%} | {seconds:.1f} |"
        )
        sites = unresolved_sites(graph)
        shapes[name] = collections.Counter(shape(callee) for *_, callee in sites)
        samples[name] = rng.sample(sites, min(args.sample, len(sites))) if args.sample else []
        result["corpora"][name] = {  # type: ignore[index]
            "version": corpus.version,
            "calls_total": summary.calls_total,
            "calls_unresolved": summary.calls_unresolved,
            "share": share,
            "shapes": dict(shapes[name]),
        }
    for name, counter in shapes.items():
        total = sum(counter.values()) or 1
        print(f"\nUnresolved call sites of {name} by the callee's shape:")
        for label, count in counter.most_common():
            print(f"  {count / total:6.1%}  {count:7,}  {label}")
        for caller, file, line, callee in samples[name]:
            print(f"    {file}:{line}  {caller}  {callee}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
