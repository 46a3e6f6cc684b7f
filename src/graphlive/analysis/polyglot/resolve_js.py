"""Resolving JavaScript/TypeScript facts across a tree into graph nodes and edges per file.

What resolves (each case has a fixture in ``tests/analysis_fixtures/scripts``):

* **Modules**: a relative specifier names a file of the tree: as written, with one of the
  script extensions added (``./util`` → ``util.ts``), a TypeScript file for a ``.js`` specifier
  (``./util.js`` → ``util.ts``, the ESM convention), or a folder's ``index`` file. Any other
  specifier (``react``, ``node:fs``) is an external node ``npm:<specifier>``.
* **Exports**: named, default, ``export { a as b }``, re-exports (``export { x } from``,
  ``export * from``, ``export * as ns from``), CommonJS ``module.exports``/``exports.x``.
* **Names in scope**: nested functions, then the module's functions and classes, then its
  imports (methods are not lexical names in JavaScript).
* **Calls**: ``f()``; ``new C()`` → ``C``'s ``constructor`` if it has one (through ``extends``),
  else the class; ``this.m()`` and ``super.m()`` in a method, through ``extends``;
  ``x.m()`` where ``x`` holds ``new C()`` in the same or an enclosing scope; ``ns.f()`` for a
  namespace import or a ``require``d module; ``C.m()`` for a static method; names imported
  from a package → ``npm:<specifier>:<name>``. Anything else is unresolved and listed on its
  caller (``extra["unresolved_calls"]``), never guessed.
* **Types**: a TypeScript ``interface`` is an ``interface`` node, a class a ``class`` node.
* **Inheritance**: ``extends`` (a class's or an interface's) → ``inherits`` edges, a class's
  ``implements`` → ``implements`` edges, to the class or interface named.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Mapping

from graphlive.analysis.build import FileOutput
from graphlive.analysis.polyglot.facts import ScriptDef, ScriptFacts
from graphlive.analysis.polyglot.outputs import (
    LanguageAnalysis,
    add_call,
    add_edge,
    add_external,
    def_id,
    def_node,
    module_output,
    note_unresolved,
)
from graphlive.graph import EdgeKind, Node, NodeKind

__all__ = ["resolve_scripts"]

_EXTENSIONS = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_KINDS = {
    "class": NodeKind.CLASS,
    "interface": NodeKind.INTERFACE,
    "function": NodeKind.FUNCTION,
    "method": NodeKind.METHOD,
}
#: A resolved name: ("def", id), ("module", file), ("external", id).
Target = tuple[str, str]


def resolve_scripts(facts: Mapping[str, ScriptFacts]) -> LanguageAnalysis:
    """Resolve every file of ``facts`` against all of them."""
    return _Resolver(facts).run()


class _Resolver:
    def __init__(self, facts: Mapping[str, ScriptFacts]) -> None:
        self.facts = facts
        self.defs: dict[str, dict[str, ScriptDef]] = {
            rel: {d.qualname: d for d in f.defs} for rel, f in facts.items()
        }
        self.externals: dict[str, Node] = {}

    def run(self) -> LanguageAnalysis:
        outputs = [self.file_output(f) for f in self.facts.values()]
        return LanguageAnalysis(outputs=outputs, externals=self.externals)

    # ------------------------------------------------------------------ modules and exports

    def module(self, rel: str, spec: str) -> Target | None:
        """The file a specifier in ``rel`` names, an external module, or ``None`` (a relative
        specifier naming no file of the tree)."""
        if not spec.startswith((".", "/")):
            return ("external", self.external(f"npm:{spec}", spec, rel))
        base = posixpath.normpath(posixpath.join(posixpath.dirname(rel), spec)).lstrip("/")
        stem, ext = posixpath.splitext(base)
        candidates = [base, *(base + e for e in _EXTENSIONS)]
        if ext in (".js", ".jsx", ".mjs", ".cjs"):
            candidates += [stem + e for e in (".ts", ".tsx", ".mts", ".cts")]
        candidates += [f"{base}/index{e}" for e in _EXTENSIONS]
        for candidate in candidates:
            if candidate in self.facts:
                return ("module", candidate)
        return None

    def export(
        self, rel: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()
    ) -> Target | None:
        """What module ``rel`` exports as ``name`` (through re-exports and ``export *``)."""
        if (rel, name) in seen:
            return None
        seen = seen | {(rel, name)}
        stars = []
        for e in self.facts[rel].exports:
            if e.exported == "*":
                stars.append(e)
                continue
            if e.exported != name:
                continue
            if e.local is not None:
                found = self.top_level(rel, e.local, seen)
                if found is not None:
                    return found
            elif e.source is not None:
                target = self.module(rel, e.source)
                if target is None:
                    return None
                if target[0] == "external":
                    return (
                        target
                        if e.imported == "*"
                        else self.member(target, e.imported or name, rel)
                    )
                if e.imported == "*":
                    return target
                return self.export(target[1], e.imported or name, seen)
        if name == "default":
            return None  # export * never re-exports a default
        for e in stars:
            target = self.module(rel, e.source or "")
            if target is not None and target[0] == "module":
                found = self.export(target[1], name, seen)
                if found is not None:
                    return found
        return None

    def top_level(
        self, rel: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()
    ) -> Target | None:
        """A name at the top level of ``rel``: a function or class, or an import."""
        d = self.defs[rel].get(name)
        if d is not None and d.kind != "method":
            return ("def", def_id(rel, name))
        for imp in self.facts[rel].imports:
            if imp.local != name:
                continue
            target = self.module(rel, imp.source)
            if target is None:
                return None
            if imp.imported == "*" or (target[0] == "external" and imp.imported == "default"):
                # A package's default export stands for the package (React.createElement is
                # npm:react:createElement, a call of the default itself npm:react).
                return target
            if target[0] == "external":
                return self.member(target, imp.imported, rel)
            return self.export(target[1], imp.imported, seen)
        return None

    def member(self, target: Target, name: str, rel: str) -> Target | None:
        """``name`` taken from what ``target`` is."""
        kind, ident = target
        if kind == "module":
            return self.export(ident, name)
        if kind == "external":
            return ("external", self.external(f"{ident}:{name}", name, rel))
        owner, _, qualname = ident.partition(":")
        d = self.defs.get(owner, {}).get(qualname)
        if d is not None and d.kind in ("class", "interface"):
            found = self.method(owner, d, name)
            return ("def", found) if found else None
        return None

    def external(self, ident: str, name: str, rel: str) -> str:
        return add_external(self.externals, ident, name, self.facts[rel].language)

    # ------------------------------------------------------------------ names and classes

    def name(self, rel: str, scope: str, name: str) -> Target | None:
        """``name`` as seen from ``scope`` (a qualname) of ``rel``."""
        defs = self.defs[rel]
        current = scope
        while current:
            d = defs.get(f"{current}.{name}")
            if d is not None and d.kind != "method":
                return ("def", def_id(rel, d.qualname))
            current = current.rpartition(".")[0]
        return self.top_level(rel, name)

    def enclosing_class(self, rel: str, scope: str) -> ScriptDef | None:
        defs = self.defs[rel]
        current = scope
        while current:
            d = defs.get(current)
            if d is not None and d.kind in ("class", "interface"):
                return d
            current = current.rpartition(".")[0]
        return None

    def class_of(self, target: Target | None) -> tuple[str, ScriptDef] | None:
        if target is None or target[0] != "def":
            return None
        owner, _, qualname = target[1].partition(":")
        d = self.defs.get(owner, {}).get(qualname)
        return (owner, d) if d is not None and d.kind in ("class", "interface") else None

    def bases(self, rel: str, cls: ScriptDef) -> list[tuple[str, ScriptDef]]:
        out = []
        for base in cls.bases:
            found = self.class_of(self.path(rel, cls.parent, tuple(base.split("."))))
            if found is not None:
                out.append(found)
        return out

    def method(
        self, rel: str, cls: ScriptDef, name: str, seen: frozenset[str] = frozenset()
    ) -> str | None:
        """The id of method ``name`` of ``cls`` or of a class it extends."""
        key = def_id(rel, cls.qualname)
        if key in seen:
            return None
        d = self.defs[rel].get(f"{cls.qualname}.{name}")
        if d is not None:
            return def_id(rel, d.qualname)
        for base_rel, base in self.bases(rel, cls):
            found = self.method(base_rel, base, name, seen | {key})
            if found is not None:
                return found
        return None

    def path(self, rel: str, scope: str, path: tuple[str, ...]) -> Target | None:
        """What a name path (``a.b.c``) written in ``scope`` of ``rel`` denotes."""
        if not path:
            return None
        head, rest = path[0], path[1:]
        if head in ("this", "super"):
            cls = self.enclosing_class(rel, scope)
            if cls is None:
                return None
            if head == "super" and not rest:  # super(…) in a constructor
                for base_rel, base in self.bases(rel, cls):
                    found = self.method(base_rel, base, "constructor")
                    return ("def", found or def_id(base_rel, base.qualname))
                return None
            if not rest:
                return None
            if head == "super":
                for base_rel, base in self.bases(rel, cls):
                    found = self.method(base_rel, base, rest[0])
                    if found is not None:
                        return self.rest(("def", found), rest[1:], rel)
                return None
            found = self.method(rel, cls, rest[0])
            return self.rest(("def", found), rest[1:], rel) if found else None
        constructed = self.constructed(rel, scope, head)
        if constructed is not None and rest:
            made = self.class_of(self.path(rel, constructed[0], constructed[1]))
            if made is None:
                return None
            found = self.method(made[0], made[1], rest[0])
            return self.rest(("def", found), rest[1:], rel) if found else None
        target = self.name(rel, scope, head)
        return self.rest(target, rest, rel) if target is not None else None

    def rest(self, target: Target | None, rest: tuple[str, ...], rel: str) -> Target | None:
        for part in rest:
            if target is None:
                return None
            target = self.member(target, part, rel)
        return target

    def constructed(self, rel: str, scope: str, name: str) -> tuple[str, tuple[str, ...]] | None:
        """(scope, class path) of the ``new`` a variable ``name`` holds, as seen from
        ``scope`` (the nearest scope assigning it)."""
        table = self.facts[rel].constructed
        current = scope
        while True:
            path = table.get((current, name))
            if path is not None:
                return current, path
            if not current:
                return None
            current = current.rpartition(".")[0]

    # ------------------------------------------------------------------ outputs

    def file_output(self, f: ScriptFacts) -> FileOutput:
        rel = f.file
        out = module_output(f)

        add = functools.partial(add_edge, out)

        for d in f.defs:
            ident = def_id(rel, d.qualname)
            out.nodes[ident] = def_node(
                ident,
                rel,
                _KINDS[d.kind],
                d.name,
                (d.line, d.end_line),
                f.language,
            )
            add(EdgeKind.CONTAINS, def_id(rel, d.parent) if d.parent else rel, ident, 0)
            for kind, written in (
                *((EdgeKind.INHERITS, base) for base in d.bases),
                *((EdgeKind.IMPLEMENTS, base) for base in d.implements),
            ):
                target = self.path(rel, d.parent, tuple(written.split(".")))
                if target is not None and target[0] in ("def", "external"):
                    add(kind, ident, target[1], d.line)
        for imp in f.imports:
            target = self.module(rel, imp.source)
            if target is not None:
                add(EdgeKind.IMPORTS, rel, target[1], imp.line)
        for e in f.exports:
            if e.source is not None:
                target = self.module(rel, e.source)
                if target is not None:
                    add(EdgeKind.IMPORTS, rel, target[1], e.line)
        unresolved: dict[str, list[tuple[int, str]]] = {}
        for call in f.calls:
            caller = def_id(rel, call.caller) if call.caller else rel
            called = self.call_target(rel, call.caller, call.callee, call.new, call.on_new)
            targets = [called] if called is not None else None
            add_call(out, unresolved, caller, targets, call.line, call.text)
        note_unresolved(out, unresolved)
        return out

    def call_target(
        self, rel: str, scope: str, callee: tuple[str, ...], new: bool, on_new: tuple[str, ...]
    ) -> str | None:
        if on_new:
            cls = self.class_of(self.path(rel, scope, on_new))
            if cls is None or not callee:
                return None
            return self.method(cls[0], cls[1], callee[0])
        target = self.path(rel, scope, callee)
        if target is None or target[0] == "module":
            return None
        if target[0] == "external":
            return target[1]
        cls = self.class_of(target)
        if new and cls is not None:
            return self.method(cls[0], cls[1], "constructor") or target[1]
        return target[1]
