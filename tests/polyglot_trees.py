"""What the tests of the other languages share: a small tree holding all six languages, the
calls it must resolve, and a saved analysis as a new process would load it."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from graphlive.analysis.engine import Analyzer
from graphlive.analysis.polyglot.outputs import LanguageAnalysis
from graphlive.graph import CodeGraph

MIXED = {
    "pkg/__init__.py": "",
    "pkg/mod.py": "def f():\n    return g()\n\n\ndef g():\n    return 1\n",
    "web/esm/math.mjs": "export function double(x) {\n  return x * 2;\n}\n",
    "web/esm/main.js": (
        'import { double } from "./math.mjs";\n\nexport function run() {\n  return double(2);\n}\n'
    ),
    "web/shop.ts": "export class Cart {\n  total(): number {\n    return 1;\n  }\n}\n",
    "web/main.ts": (
        'import { Cart } from "./shop";\n\n'
        "export function checkout(): number {\n  return new Cart().total();\n}\n"
    ),
    "go.mod": "module example.com/mix\n\ngo 1.22\n",
    "svc/svc.go": 'package svc\n\nfunc Hello() string {\n\treturn "hi"\n}\n',
    "main.go": 'package main\n\nimport "example.com/mix/svc"\n\nfunc main() {\n\tsvc.Hello()\n}\n',
    "java/Cart.java": (
        "class Cart {\n    int add(int x) {\n        return twice(x);\n    }\n\n"
        "    int twice(int x) {\n        return x * 2;\n    }\n}\n"
    ),
    "src/lib.rs": "mod util;\n\npub fn run() {\n    util::helper();\n}\n",
    "src/util.rs": "pub fn helper() {}\n",
}

#: The calls the issue names, one per language (caller, callee, line), and Python's.
ACCEPTANCE_CALLS = {
    ("web/esm/main.js:run", "web/esm/math.mjs:double", 4),  # JavaScript across ES modules
    ("web/main.ts:checkout", "web/shop.ts:Cart.total", 4),  # TypeScript through `new`
    ("main.go:main", "svc/svc.go:Hello", 6),  # Go, across packages of the module
    ("java/Cart.java:Cart.add/1", "java/Cart.java:Cart.twice/1", 3),  # Java, within a class
    ("src/lib.rs:run", "src/util.rs:helper", 4),  # Rust, through a `mod` path
    ("pkg.mod.f", "pkg.mod.g", 2),
}

LANGUAGE_OF_FILE = {
    "pkg/__init__.py": "python",
    "pkg/mod.py": "python",
    "web/esm/math.mjs": "javascript",
    "web/esm/main.js": "javascript",
    "web/shop.ts": "typescript",
    "web/main.ts": "typescript",
    "svc/svc.go": "go",
    "main.go": "go",
    "java/Cart.java": "java",
    "src/lib.rs": "rust",
    "src/util.rs": "rust",
}


def write_tree(root: Path, files: dict[str, str] = MIXED) -> Path:
    """``files`` (path → text) written under ``root``; returns ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def analysed(root: Path) -> tuple[CodeGraph, Analyzer, dict[str, Any]]:
    """A full analysis of ``root``: its graph, the analyzer, and its state as a new process
    would load it (the analyzer then counts what it writes from that state on)."""
    graph = CodeGraph("g")
    analyzer = Analyzer(root, graph, workers=1)
    analyzer.run()
    state: dict[str, Any] = pickle.loads(pickle.dumps(analyzer.export_state()))
    analyzer.unsaved = set()
    return graph, analyzer, state


def node_ids(analysis: LanguageAnalysis) -> set[str]:
    """The ids of every node an analysis gives its files."""
    return {node_id for out in analysis.outputs for node_id in out.nodes}
