"""Property: after any sequence of edits, the incremental graph equals a fresh full analysis.

Hypothesis builds small programs of several modules (packages, a namespace directory, a
top-level script, a src layout) with imports across files, classes with methods and base classes
in other files, calls of functions, methods, constructors and ``super()``, nested functions,
decorators and ``self`` attributes. It then applies random edit sequences —
add/remove/modify/rename files, add/remove functions and methods, change signatures, base
classes, imports (star imports included) and ``__all__``, and bursts of several edits reported
at once, like a ``git checkout`` — writing the files to disk and calling ``Analyzer.update``
with the touched paths, as the watcher does. After every update the graph must equal (``==``,
every node and edge with all attributes) the graph of a fresh full analysis of the same tree,
and the summary counts must agree.

Inheritance is kept acyclic (cyclic inheritance is an error in Python and has no meaningful
MRO): classes inherit from earlier classes of their own module or from ``pkg/base.py``, which
imports no classes and is never renamed.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphlive.analysis import Analyzer
from graphlive.graph import CodeGraph

T = TypeVar("T")

BASE = "pkg/base.py"
#: Module slots: path → dotted id. ``tools`` has no ``__init__.py`` (a namespace directory);
#: ``src`` is a source root (ids are import names: ``src/app/e.py`` → ``app.e``).
POOL = {
    BASE: "pkg.base",
    "pkg/a.py": "pkg.a",
    "pkg/b.py": "pkg.b",
    "pkg/sub/c.py": "pkg.sub.c",
    "top.py": "top",
    "tools/d.py": "tools.d",
    "src/app/e.py": "app.e",
    "src/solo.py": "solo",
}
#: ``len`` shadows the builtin: defining or removing it changes other lookups' meaning.
FUNCS = ("f", "g", "len")
CLASSES = ("C", "D")
METHODS = ("__init__", "run", "go")


class Chooser:
    """Random choices drawn through hypothesis (so that failures shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def pick(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(list(options)))

    def coin(self, p_true: float = 0.5) -> bool:
        return self.data.draw(st.integers(0, 99)) < p_true * 100

    def count(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


@dataclass
class Func:
    params: tuple[str, ...] = ("x",)
    body: list[str] = field(default_factory=list)
    decorator: str | None = None


@dataclass
class Cls:
    base: str | None = None
    methods: dict[str, Func] = field(default_factory=dict)


@dataclass
class Module:
    """One module's content: import lines, classes, functions, a module-level statement."""

    rel: str
    imports: list[str] = field(default_factory=list)
    classes: dict[str, Cls] = field(default_factory=dict)
    funcs: dict[str, Func] = field(default_factory=dict)
    tail: str | None = None
    #: A literal ``__all__`` (what ``from module import *`` takes), or none.
    exports: list[str] | None = None

    def imported_names(self) -> list[str]:
        names = []
        for line in self.imports:
            if line.startswith("from "):
                names.append(line.rsplit(" ", 1)[1])
        return names

    def module_aliases(self) -> list[str]:
        return [line.split()[1] for line in self.imports if line.startswith("import ")]

    def render(self) -> str:
        lines = [*self.imports, ""]
        if self.exports is not None:
            lines += [f"__all__ = {self.exports!r}", ""]
        for name in CLASSES:
            cls = self.classes.get(name)
            if cls is None:
                continue
            lines.append(f"class {name}({cls.base}):" if cls.base else f"class {name}:")
            if not cls.methods:
                lines.append("    pass")
            for method in METHODS:
                func = cls.methods.get(method)
                if func is not None:
                    params = ", ".join(("self", *func.params))
                    lines.append(f"    def {method}({params}):")
                    for stmt in func.body or ["pass"]:
                        lines.extend(f"        {line}" for line in stmt.split("\n"))
            lines.append("")
        for name in FUNCS:
            func = self.funcs.get(name)
            if func is None:
                continue
            if func.decorator:
                lines.append(f"@{func.decorator}")
            lines.append(f"def {name}({', '.join(func.params)}):")
            for stmt in func.body or ["pass"]:
                lines.extend(f"    {line}" for line in stmt.split("\n"))
            lines.append("")
        if self.tail:
            lines.append(self.tail)
        return "\n".join(lines) + "\n"


class World:
    """The modules on disk and how to change them."""

    def __init__(self, root: Path, choose: Chooser) -> None:
        self.root = root
        self.choose = choose
        self.modules: dict[str, Module] = {}

    # ------------------------------------------------------------------ content

    def statement(self, module: Module, in_method: bool, params: tuple[str, ...]) -> str:
        c = self.choose
        imported = module.imported_names()
        if "*" in imported:
            imported += [*FUNCS, *CLASSES]  # maybe brought in by the star import
        classes = sorted({*(n for n in imported if n in CLASSES), *module.classes})
        # ``len`` is the builtin unless the module defines or imports one.
        callables = sorted({*(n for n in imported if n in FUNCS), *module.funcs})
        callables.append("len")
        kind = c.pick(
            [
                "call",
                "new",
                "qualified",
                "method",
                "alias",
                "param",
                "nested",
                "attr",
                "hof",
                "raise",
            ]
        )
        if kind == "call":
            return f"{c.pick(callables)}({c.pick(params) if params else ''})"
        if kind == "new" and classes:
            return f"{c.pick(classes)}().{c.pick(METHODS[1:])}()"
        if kind == "qualified" and module.module_aliases():
            alias = c.pick(module.module_aliases())
            return f"{alias}.{c.pick(FUNCS + CLASSES)}()"
        if kind == "method" and in_method:
            return c.pick(["self.run()", "self.go()", "super().run()", "return self"])
        if kind == "attr" and in_method and params:
            return f"self.{c.pick(['run', 'data'])} = {params[0]}"
        if kind == "alias":
            return f"handler = {c.pick(callables)}\nhandler()"
        if kind == "param" and params:
            return f"return {c.pick(params)}()"
        if kind == "hof":  # a function passed to a higher-order builtin is called
            name = c.pick(callables)
            return c.pick([f"list(map({name}, [1]))", f"sorted([1], key={name})"])
        if kind == "raise" and classes:  # raising a class instantiates it
            return f"raise {c.pick(classes)}"
        if kind == "nested" and not in_method:
            return f"def inner():\n    return {c.pick(callables)}()\ninner()"
        return "pass"

    def func(self, module: Module, in_method: bool) -> Func:
        params = self.choose.pick([("x",), ("x", "y"), ("y", "x"), ()])
        body = [self.statement(module, in_method, params) for _ in range(self.choose.count(1, 3))]
        decorator = None
        if not in_method and module.funcs and self.choose.coin(0.2):
            decorator = self.choose.pick(list(module.funcs))
        return Func(params, body, decorator)

    def import_line(self, module: Module) -> str:
        c = self.choose
        others = [rel for rel in POOL if rel != module.rel]
        target = POOL[c.pick(others)]
        if c.coin(0.3):
            return f"import {target}"
        if c.coin(0.15) and target != "pkg.base":
            return f"from {target} import *"
        # Classes only come from pkg/base.py, which keeps inheritance acyclic.
        if target == "pkg.base" and module.rel != BASE:
            return f"from {target} import {c.pick(FUNCS + CLASSES)}"
        return f"from {target} import {c.pick(FUNCS)}"

    def base_for(self, module: Module, name: str) -> str | None:
        options = [n for n in module.imported_names() if n in CLASSES and n != name]
        if name == "D" and "C" in module.classes:
            options.append("C")
        if not options or self.choose.coin(0.3):
            return None
        return self.choose.pick(options)

    def new_module(self, rel: str) -> Module:
        c = self.choose
        module = Module(rel)
        for _ in range(c.count(0, 3)):
            line = self.import_line(module)
            if line not in module.imports:
                module.imports.append(line)
        for name in FUNCS[: c.count(0, 3)]:
            module.funcs[name] = Func()
        for name in CLASSES[: c.count(0, 2)]:
            cls = Cls(base=self.base_for(module, name))
            for method in METHODS[: c.count(0, 3)]:
                cls.methods[method] = self.func(module, in_method=True)
            module.classes[name] = cls
        for name in list(module.funcs):
            module.funcs[name] = self.func(module, in_method=False)
        if c.coin(0.3):
            module.tail = self.statement(module, False, ()).split("\n")[0]
        return module

    def write(self, rel: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.modules[rel].render(), encoding="utf-8")

    # ------------------------------------------------------------------ edits

    def edit(self) -> list[str]:
        """Apply one random edit; returns the touched paths."""
        c = self.choose
        present = sorted(self.modules)
        free = [rel for rel in POOL if rel not in self.modules]
        op = c.pick(
            [
                "body",
                "add-function",
                "remove-function",
                "add-method",
                "remove-method",
                "signature",
                "base",
                "import",
                "exports",
                "add-file",
                "delete-file",
                "rename-file",
            ]
        )
        if op == "add-file" and free:
            rel = c.pick(free)
            self.modules[rel] = self.new_module(rel)
            self.write(rel)
            return [rel]
        if op == "delete-file" and len(present) > 1:
            rel = c.pick(present)
            del self.modules[rel]
            (self.root / rel).unlink()
            return [rel]
        movable = [rel for rel in present if rel != BASE]
        targets = [rel for rel in free if rel != BASE]
        if op == "rename-file" and movable and targets:
            src, dst = c.pick(movable), c.pick(targets)
            module = self.modules.pop(src)
            module.rel = dst
            self.modules[dst] = module
            (self.root / dst).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.root / src, self.root / dst)
            return [src, dst]
        rel = c.pick(present)
        module = self.modules[rel]
        if op == "add-function":
            missing = [n for n in FUNCS if n not in module.funcs]
            if missing:
                module.funcs[c.pick(missing)] = self.func(module, in_method=False)
        elif op == "remove-function" and module.funcs:
            del module.funcs[c.pick(sorted(module.funcs))]
        elif op == "add-method" and module.classes:
            cls = module.classes[c.pick(sorted(module.classes))]
            missing = [m for m in METHODS if m not in cls.methods]
            if missing:
                cls.methods[c.pick(missing)] = self.func(module, in_method=True)
        elif op == "remove-method" and module.classes:
            cls = module.classes[c.pick(sorted(module.classes))]
            if cls.methods:
                del cls.methods[c.pick(sorted(cls.methods))]
        elif op == "signature":
            funcs = list(module.funcs.values()) + [
                f for cls in module.classes.values() for f in cls.methods.values()
            ]
            if funcs:
                func = c.pick(funcs)
                func.params = c.pick([p for p in [("x",), ("x", "y"), ("y",), ()] if p])
        elif op == "base" and module.classes:
            name = c.pick(sorted(module.classes))
            module.classes[name].base = self.base_for(module, name)
        elif op == "exports":
            names = sorted(module.funcs) + sorted(module.classes)
            module.exports = None if module.exports is not None else names[: c.count(0, 2)]
        elif op == "import":
            if module.imports and c.coin():
                module.imports.remove(c.pick(module.imports))
            line = self.import_line(module)
            if line not in module.imports:
                module.imports.append(line)
            for name, cls in module.classes.items():
                # A base no longer imported: pick another (or none).
                if cls.base and cls.base not in [*module.imported_names(), "C"]:
                    cls.base = self.base_for(module, name)
        else:  # "body", or an edit that did not apply
            funcs = list(module.funcs.values())
            methods = [f for cls in module.classes.values() for f in cls.methods.values()]
            if funcs or methods:
                in_method = not funcs or (bool(methods) and c.coin())
                func = c.pick(methods if in_method else funcs)
                stmt = self.statement(module, in_method, func.params)
                if func.body and c.coin():
                    func.body[c.count(0, len(func.body) - 1)] = stmt
                else:
                    func.body.append(stmt)
        self.write(rel)
        return [rel]


def fresh(root: Path) -> tuple[CodeGraph, tuple[int, ...]]:
    graph = CodeGraph("fresh")
    s = Analyzer(root, graph, workers=1).run()
    return graph, (s.files, s.nodes, s.edges, s.calls_total, s.calls_resolved)


def diff(got: CodeGraph, want: CodeGraph) -> str:
    """The differences between two graphs, one per line."""
    lines = []
    for what, mine, theirs in (
        ("node", {n.id: n for n in got.nodes()}, {n.id: n for n in want.nodes()}),
        ("edge", {e.id: e for e in got.edges()}, {e.id: e for e in want.edges()}),
    ):
        for key in mine.keys() ^ theirs.keys():
            lines.append(f"{what} only {'incremental' if key in mine else 'fresh'}: {key}")
        for key in mine.keys() & theirs.keys():
            if mine[key] != theirs[key]:
                lines.append(f"{what} differs: {mine[key]} != {theirs[key]}")
    return "\n".join(sorted(lines))


def _restored(analyzer: Analyzer, root: Path, graph: CodeGraph) -> Analyzer:
    """``analyzer`` saved and restored as a new process continues it: its program and files
    come back in parts, loaded as the next update reaches them (graphlive.analysis.shards), and
    it writes into a working copy seeded from its saved memory, whose events are applied to
    ``graph`` (the stored graph)."""
    state = pickle.loads(pickle.dumps(analyzer.export_state()))
    working = CodeGraph(graph.name)
    working.listen(lambda batch: graph.apply_all([e for e in batch if e.type.is_mutation]))
    restored = Analyzer.restore(root, working, state, in_sync=True, workers=1)
    restored.writer.use_graph(working, partial=True)

    def whole() -> CodeGraph:
        return graph

    restored.writer.require_full = whole
    return restored


#: Both properties: long examples, big data.
_EDITS = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _edit_and_compare(data: st.DataObject, *, restore: bool) -> None:
    choose = Chooser(data)
    with tempfile.TemporaryDirectory(prefix="glprop-") as tmp:
        root = Path(tmp)
        for package in ("pkg", "pkg/sub", "src/app"):
            (root / package).mkdir(parents=True, exist_ok=True)
            (root / package / "__init__.py").write_text("")
        world = World(root, choose)
        for rel in [BASE, *(r for r in POOL if r != BASE and choose.coin(0.7))]:
            world.modules[rel] = world.new_module(rel)
            world.write(rel)
        graph = CodeGraph("incremental")
        analyzer = Analyzer(root, graph, workers=1)
        analyzer.run()
        for step in range(choose.count(1, 6)):
            # A burst (several edits reported at once) or a single edit.
            touched: list[str] = []
            for _ in range(choose.count(1, 3) if choose.coin(0.25) else 1):
                touched += world.edit()
            if restore:
                analyzer = _restored(analyzer, root, graph)
            summary = analyzer.update(touched)
            want, counts = fresh(root)
            sources = "\n".join(f"--- {r}\n{m.render()}" for r, m in sorted(world.modules.items()))
            assert graph == want, f"step {step}, {touched}:\n{diff(graph, want)}\n{sources}"
            got = (summary.files, summary.nodes, summary.edges, summary.calls_total,
                   summary.calls_resolved)  # fmt: skip
            assert got == counts, f"step {step}, {touched}: summary {got} != {counts}"


@settings(_EDITS, max_examples=60)
@given(st.data())
def test_incremental_equals_full_analysis_after_any_edits(data: st.DataObject) -> None:
    _edit_and_compare(data, restore=False)


@settings(_EDITS, max_examples=40)
@given(st.data())
def test_a_restored_analysis_continues_exactly_after_any_edits(data: st.DataObject) -> None:
    """Each update runs on an analyzer restored from the previous one's saved state (a new
    process each time), with its parts loaded on demand and a working copy of the graph."""
    _edit_and_compare(data, restore=True)
