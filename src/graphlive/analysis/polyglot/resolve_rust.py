"""Resolving Rust facts across a tree into graph nodes and edges per file.

What resolves (``tests/analysis_fixtures/rust`` has a case of each, except supertraits and
tuple struct / enum variant constructors):

* **Modules**: a crate root is ``src/lib.rs``, ``src/main.rs`` (also under a folder:
  ``crates/x/src/lib.rs``) or a file given at the top of the tree; a file no root reaches is a
  crate root of its own. ``mod x;`` in a file maps to ``x.rs`` or ``x/mod.rs`` in the folder of
  a crate root or ``mod.rs``, else in the folder named after the declaring file (Rust 2018);
  inline ``mod x { … }`` blocks are modules too (and folders for their own ``mod y;``).
  ``#[path]`` attributes are not read.
* **Names**: ``use`` paths (``crate::``, ``self::``, ``super::``, or relative to the module:
  uniform paths), aliases, groups and globs; items of the module; items and ``use`` inside the
  enclosing functions; a few prelude names (``String``, ``Vec``, ``Box``, ``Option``, …). A
  path whose first segment is none of these (``std``, ``core``, another crate) is an external
  node ``rust:<path>`` (``rust:std::collections::HashMap::new``).
* **Calls**: free functions by name or path; ``Type::f()`` → the associated function in an
  ``impl`` of the type anywhere in the tree (inherent first, then trait impls, then the trait's
  default method); ``Self::f()`` the same for the impl's type; ``x.m()`` / ``self.m()`` by the
  receiver's type, known from extraction (:mod:`.rust`); a tuple struct's or enum variant's
  constructor → the type. A method called on a trait value (``&dyn Trait``, ``impl Trait``, a
  generic bounded by it, ``self`` in a default method) or as ``Trait::m(x)`` with ``x`` of no
  known type → the trait's method **and** every ``impl`` of that method in the tree, since any
  of them may run (dynamic dispatch); ``Trait::m(&x)`` with ``x`` of a known type → that
  type's impl. A method on a value of an external type → ``rust:<type path>::<method>``.
  Anything else (a call's result, a field, a closure) is unresolved and listed on its caller
  (``extra["unresolved_calls"]``), never guessed.
* **Types**: a trait is an ``interface`` node (``extra["trait"]``); structs, enums and unions
  are ``class`` nodes.
* **Implementation and inheritance**: ``impl Trait for Type`` gives an ``implements`` edge
  from the type to the trait (owned by the file of the impl); a supertrait, ``trait A: B``, an
  ``inherits`` edge from ``A`` to ``B``.
* **Containment**: module → items, inline module → its items, trait → its methods, type → the
  methods of its impls (the edge owned by the file of the impl block), module → the files of
  its ``mod x;`` declarations.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from graphlive.analysis.build import FileOutput
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
from graphlive.analysis.polyglot.rust import RustCall, RustDef, RustFacts, RustType
from graphlive.graph import EdgeKind, Node, NodeKind

__all__ = ["resolve_rust"]

RPath = tuple[str, ...]
_KINDS = {
    "mod": NodeKind.MODULE,
    "function": NodeKind.FUNCTION,
    "method": NodeKind.METHOD,
    "struct": NodeKind.CLASS,
    "enum": NodeKind.CLASS,
    "union": NodeKind.CLASS,
    "trait": NodeKind.INTERFACE,
}
_TYPES = frozenset({"struct", "enum", "union"})
#: Names every module sees without a ``use`` (the parts of the std prelude code calls).
_PRELUDE: dict[str, RPath] = {
    "String": ("std", "string", "String"),
    "ToString": ("std", "string", "ToString"),
    "Vec": ("std", "vec", "Vec"),
    "Box": ("std", "boxed", "Box"),
    "Option": ("std", "option", "Option"),
    "Some": ("std", "option", "Option", "Some"),
    "None": ("std", "option", "Option", "None"),
    "Result": ("std", "result", "Result"),
    "Ok": ("std", "result", "Result", "Ok"),
    "Err": ("std", "result", "Result", "Err"),
    "Default": ("std", "default", "Default"),
    "Clone": ("std", "clone", "Clone"),
    "Iterator": ("std", "iter", "Iterator"),
    "From": ("std", "convert", "From"),
    "Into": ("std", "convert", "Into"),
    "drop": ("std", "mem", "drop"),
}


@dataclass(eq=False, slots=True)
class _Mod:
    """A module of a crate: the file (and inline block, ``prefix``) holding it."""

    crate: str
    path: RPath
    file: str
    prefix: str
    parent: _Mod | None
    children: dict[str, _Mod] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return def_id(self.file, self.prefix) if self.prefix else self.file


#: A resolved path: a module, a definition's id, or an external path.
Target = _Mod | str | RPath


def resolve_rust(facts: Mapping[str, RustFacts]) -> LanguageAnalysis:
    """Resolve every file of ``facts`` against all of them."""
    return _Resolver(facts).run()


def _is_root(rel: str) -> bool:
    return (
        "/" not in rel
        or rel in ("src/lib.rs", "src/main.rs")
        or rel.endswith(("/src/lib.rs", "/src/main.rs"))
    )


class _Resolver:
    def __init__(self, facts: Mapping[str, RustFacts]) -> None:
        self.facts = facts
        self.defs: dict[str, RustDef] = {}
        self.owner: dict[str, str] = {}
        for rel, f in facts.items():
            for d in f.defs:
                self.defs[def_id(rel, d.qualname)] = d
                self.owner[def_id(rel, d.qualname)] = rel
        self.externals: dict[str, Node] = {}
        self.mods: dict[tuple[str, str], _Mod] = {}
        self.tree()
        # type id → method name → method ids: inherent, then from trait impls
        self.inherent: dict[str, dict[str, str]] = {}
        self.trait_impl: dict[tuple[str, str], dict[str, str]] = {}  # (type, trait) → name → id
        self.impls_of: dict[str, dict[str, list[str]]] = {}  # trait → name → impl method ids
        self.traits_of: dict[str, list[str]] = {}  # type → local traits it implements
        self.index()

    def run(self) -> LanguageAnalysis:
        outputs = [self.file_output(f) for f in self.facts.values()]
        return LanguageAnalysis(outputs=outputs, externals=self.externals)

    # ------------------------------------------------------------------ the module tree

    def tree(self) -> None:
        for rel in sorted(self.facts, key=lambda r: (not _is_root(r), r)):
            if (rel, "") not in self.mods:  # a root, or a file no root reached
                self.add_file(_Mod(rel, (), rel, "", None))

    def add_file(self, mod: _Mod) -> None:
        rel = mod.file
        self.mods[(rel, "")] = mod
        f = self.facts[rel]
        for d in sorted((d for d in f.defs if d.kind == "mod"), key=lambda d: d.qualname):
            parent = self.mods.get((rel, d.module))
            if parent is not None:
                child = _Mod(mod.crate, (*parent.path, d.name), rel, d.qualname, parent)
                parent.children[d.name] = child
                self.mods[(rel, d.qualname)] = child
        base = posixpath.dirname(rel)
        if not (mod.parent is None or posixpath.basename(rel) == "mod.rs"):
            base = posixpath.splitext(rel)[0]  # Rust 2018: a/b.rs declares a/b/c.rs
        for m in f.mods:
            parent = self.mods.get((rel, m.scope))
            if m.inline or parent is None:
                continue
            folder = posixpath.join(base, *m.scope.split(".")) if m.scope else base
            for candidate in (f"{folder}/{m.name}.rs", f"{folder}/{m.name}/mod.rs"):
                candidate = candidate.lstrip("/")
                if candidate in self.facts and (candidate, "") not in self.mods:
                    child = _Mod(mod.crate, (*parent.path, m.name), candidate, "", parent)
                    parent.children[m.name] = child
                    self.add_file(child)
                    break

    def module_of(self, rel: str, caller: str) -> tuple[_Mod, list[str]]:
        """The module a call in ``caller`` of ``rel`` is in, and its enclosing function
        scopes (innermost first), whose items and ``use`` come before the module's."""
        chain: list[str] = []
        current = caller
        while current:
            d = self.defs.get(def_id(rel, current))
            if d is None or d.kind == "mod":
                break
            if d.kind in ("function", "method"):
                chain.append(current)
            if d.kind == "method" or d.kind == "trait":
                return self.mods[(rel, d.module)], chain
            current = d.parent
        return self.mods.get((rel, current), self.mods[(rel, "")]), chain

    # ------------------------------------------------------------------ names

    def item(self, mod: _Mod, name: str, seen: frozenset[tuple[str, str, str]]) -> Target | None:
        """What ``name`` is in ``mod``: an item, a child module, a ``use``, a glob's name."""
        key = (mod.file, mod.prefix, name)
        if key in seen:
            return None
        seen = seen | {key}
        found = self.local(mod, mod.prefix, name, seen)
        if found is not None:
            return found
        if name in mod.children:
            return mod.children[name]
        for u in self.facts[mod.file].uses:
            if u.scope == mod.prefix and not u.alias:
                star = self.resolve(mod, [], u.path, seen)
                if isinstance(star, _Mod):
                    found = self.item(star, name, seen)
                    if found is not None:
                        return found
        return None

    def local(
        self, mod: _Mod, scope: str, name: str, seen: frozenset[tuple[str, str, str]]
    ) -> Target | None:
        """An item declared in ``scope`` of ``mod``'s file, or a name a ``use`` there binds."""
        ident = def_id(mod.file, _join(scope, name))
        d = self.defs.get(ident)
        if d is not None and d.kind != "method" and d.parent == scope:
            # an inline module is looked into as a module, not as a definition
            return self.mods.get((mod.file, d.qualname), ident) if d.kind == "mod" else ident
        for u in self.facts[mod.file].uses:
            if u.scope == scope and u.alias == name:
                return self.resolve(mod, [], u.path, seen)
        return None

    def resolve(
        self,
        mod: _Mod,
        chain: list[str],
        path: RPath,
        seen: frozenset[tuple[str, str, str]] = frozenset(),
    ) -> Target | None:
        """What ``path`` written in ``mod`` (inside the functions ``chain``) denotes."""
        if not path:
            return None
        head, rest = path[0], path[1:]
        target: Target | None
        if head == "crate":
            target = mod
            while target.parent is not None:
                target = target.parent
        elif head in ("self", "super"):
            target = mod
            while rest and head == "super" and target is not None:
                target = target.parent
                head, rest = rest[0], rest[1:]
            if head == "super" and target is not None:
                target = target.parent
            elif head not in ("self", "super"):
                rest = (head, *rest)
        else:
            target = None
            for scope in chain:
                target = self.local(mod, scope, head, seen)
                if target is not None:
                    break
            if target is None:
                target = self.item(mod, head, seen)
            if target is None and head in _PRELUDE:
                target = _PRELUDE[head]
            if target is None and rest:
                target = (head,)  # another crate (std, core, a dependency)
        for part in rest:
            if target is None:
                return None
            target = self.member(target, part, seen)
        return target

    def member(
        self, target: Target, name: str, seen: frozenset[tuple[str, str, str]] = frozenset()
    ) -> Target | None:
        """``name`` taken from what ``target`` is (``a::name``); ``seen``: the lookups under
        way (``use`` cycles through globs and re-exports end there)."""
        if isinstance(target, _Mod):
            return self.item(target, name, seen)
        if isinstance(target, tuple):
            return (*target, name)
        d = self.defs.get(target)
        if d is None:
            return None
        if d.kind in _TYPES:
            found = self.methods(target, name)
            if found:
                return found[0]
            return target if d.kind == "enum" else None  # a variant's constructor
        if d.kind == "trait":
            method = f"{target}.{name}"
            return method if method in self.defs else None
        return None

    # ------------------------------------------------------------------ impls

    def index(self) -> None:
        for rel, f in self.facts.items():
            for d in f.defs:
                if d.kind != "method" or not d.impl_type:
                    continue
                mod = self.mods[(rel, d.module)]
                ty = self.resolve(mod, [], d.impl_type)
                if not isinstance(ty, str) or self.defs[ty].kind not in _TYPES:
                    continue
                ident = def_id(rel, d.qualname)
                if not d.impl_trait:
                    self.inherent.setdefault(ty, {})[d.name] = ident
                    continue
                trait = self.resolve(mod, [], d.impl_trait)
                if isinstance(trait, str) and self.defs[trait].kind == "trait":
                    self.trait_impl.setdefault((ty, trait), {})[d.name] = ident
                    self.impls_of.setdefault(trait, {}).setdefault(d.name, []).append(ident)
            for impl in f.impls:
                mod = self.mods[(rel, impl.scope)]
                ty = self.resolve(mod, [], impl.type_path)
                trait = self.resolve(mod, [], impl.trait) if impl.trait else None
                if isinstance(ty, str) and isinstance(trait, str):
                    self.traits_of.setdefault(ty, []).append(trait)

    def methods(self, ty: str, name: str, trait: str | None = None) -> list[str]:
        """Method ``name`` of the type ``ty``: inherent, else from a trait impl (of ``trait``
        only, when given), else a trait's default method."""
        if trait is None and name in self.inherent.get(ty, {}):
            return [self.inherent[ty][name]]
        traits = [trait] if trait is not None else self.traits_of.get(ty, [])
        found = [m for t in traits if (m := self.trait_impl.get((ty, t), {}).get(name))]
        if found:
            return found
        defaults = [f"{t}.{name}" for t in traits if f"{t}.{name}" in self.defs]
        return [m for m in defaults if self.defs[m].default]

    def dispatch(self, trait: str, name: str) -> list[str]:
        """A trait method called on a value of the trait: it and every impl of it."""
        method = f"{trait}.{name}"
        if method not in self.defs:
            return []
        return [method, *self.impls_of.get(trait, {}).get(name, [])]

    # ------------------------------------------------------------------ calls

    def call_targets(self, rel: str, call: RustCall) -> list[str]:
        mod, chain = self.module_of(rel, call.caller)
        if call.method:
            return self.on_value(mod, chain, call.receiver, call.callee[-1])
        target = self.resolve(mod, chain, call.callee)
        if isinstance(target, tuple):
            return [self.external(target)]
        if not isinstance(target, str):
            return []
        d = self.defs[target]
        trait = def_id(self.owner[target], d.parent)
        if d.kind == "method" and trait in self.defs and self.defs[trait].kind == "trait":
            # Trait::m(x): x's impl when x's type is known, else any impl (dispatch)
            arg = self.value_type(mod, chain, call.arg)
            if isinstance(arg, str):
                return self.methods(arg, d.name, trait) or [target]
            return self.dispatch(trait, d.name)
        return [target] if d.kind != "mod" and d.kind != "trait" else []

    def value_type(self, mod: _Mod, chain: list[str], typed: RustType | None) -> Target | None:
        if typed is None or typed.kind != "type":
            return None
        return self.resolve(mod, chain, typed.paths[0])

    def on_value(
        self, mod: _Mod, chain: list[str], receiver: RustType | None, name: str
    ) -> list[str]:
        """``x.name()`` where ``x`` is ``receiver``."""
        if receiver is None:
            return []
        if receiver.kind == "type":
            ty = self.value_type(mod, chain, receiver)
            if isinstance(ty, tuple):
                return [self.external((*ty, name))]
            if isinstance(ty, str) and self.defs[ty].kind in _TYPES:
                return self.methods(ty, name)
            return []
        external: list[RPath] = []
        for path in receiver.paths:
            trait = self.resolve(mod, chain, path)
            if isinstance(trait, str) and self.defs[trait].kind == "trait":
                found = self.dispatch(trait, name)
                if found:
                    return found
            elif isinstance(trait, tuple):
                external.append(trait)
        return [self.external((*external[0], name))] if len(external) == 1 else []

    def external(self, path: RPath) -> str:
        ident = "rust:" + "::".join(path)
        return add_external(self.externals, ident, path[-1], "rust")

    # ------------------------------------------------------------------ outputs

    def file_output(self, f: RustFacts) -> FileOutput:
        rel = f.file
        mod = self.mods[(rel, "")]
        name = posixpath.splitext(posixpath.basename(rel))[0]
        if name == "mod":
            name = posixpath.basename(posixpath.dirname(rel)) or name
        out = module_output(f, (("rust_path", "::".join(("crate", *mod.path))),), name=name)

        add = functools.partial(add_edge, out)

        for d in f.defs:
            ident = def_id(rel, d.qualname)
            out.nodes[ident] = def_node(
                ident, rel, _KINDS[d.kind], d.name, (d.line, d.end_line), "rust", _extra(d)
            )
            add(EdgeKind.CONTAINS, self.container(rel, d), ident, 0)
            if d.kind == "trait":
                scope = self.mods[(rel, d.module)]
                for bound in d.bounds:
                    target = self.resolve(scope, [], bound)
                    if isinstance(target, (str, tuple)):
                        add(EdgeKind.INHERITS, ident, self.ident(target), d.line)
        for impl in f.impls:
            scope = self.mods[(rel, impl.scope)]
            ty = self.resolve(scope, [], impl.type_path)
            trait = self.resolve(scope, [], impl.trait) if impl.trait else None
            if isinstance(ty, str) and isinstance(trait, (str, tuple)):
                add(EdgeKind.IMPLEMENTS, ty, self.ident(trait), impl.line)
        for child in self.mods.values():
            parent = child.parent
            if parent is not None and parent.file == rel and child.file != rel:
                add(EdgeKind.CONTAINS, parent.node_id, child.file, 0)
        for u in f.uses:
            scope, chain = self.module_of(rel, u.scope)
            target = self.resolve(scope, chain, u.path)
            imported = self.imported(target)
            if imported is not None and imported != rel:
                add(EdgeKind.IMPORTS, rel, imported, u.line)
        unresolved: dict[str, list[tuple[int, str]]] = {}
        for call in f.calls:
            caller = def_id(rel, call.caller) if call.caller else rel
            add_call(out, unresolved, caller, self.call_targets(rel, call), call.line, call.text)
        note_unresolved(out, unresolved)
        return out

    def container(self, rel: str, d: RustDef) -> str:
        """What contains ``d``: the type of its impl (wherever it is), its trait, inline
        module or function, or the file's module."""
        if d.kind == "method" and d.impl_type:
            ty = self.resolve(self.mods[(rel, d.module)], [], d.impl_type)
            if isinstance(ty, str):
                return ty
            parent = def_id(rel, d.parent)
            return parent if parent in self.defs else self.mods[(rel, d.module)].node_id
        return def_id(rel, d.parent) if d.parent else rel

    def ident(self, target: str | RPath) -> str:
        return target if isinstance(target, str) else self.external(target)

    def imported(self, target: Target | None) -> str | None:
        """The module node a ``use`` of ``target`` imports from (an external path's node)."""
        if isinstance(target, _Mod):
            return target.file
        if isinstance(target, tuple):
            return self.external(target)
        if isinstance(target, str):
            return self.owner.get(target)
        return None


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _extra(d: RustDef) -> tuple[tuple[str, object], ...]:
    if d.kind in ("trait", "enum", "union"):
        return ((d.kind, True),)
    if d.kind == "method" and d.default:
        return (("default", True),)
    if d.kind == "method" and d.impl_trait:
        return (("impl_of", "::".join(d.impl_trait)),)
    return ()
