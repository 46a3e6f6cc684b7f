"""Resolving Go facts across a tree into graph nodes and edges per file (as :mod:`.resolve_js`).

What resolves (each case has a fixture in ``tests/analysis_fixtures/go``):

* **Packages**: a package is a directory; the files of a directory with the same package
  clause share one namespace (``f()`` in ``a.go`` is ``f`` of ``b.go`` beside it). An import
  path under a module path resolves to the directory it names: module paths come from the
  ``go.mod`` files inside the tree (never above the root: an analysis reads only the folder it
  was given). Any other path (``fmt``, third-party modules) is an external node
  ``go:<import path>``, a name from it ``go:<import path>:<Name>`` and a method on one of its
  types ``go:<import path>:<Type>.<Method>``. An external package is known in a file by its
  alias, else by its path's last element (``gopkg.in/yaml.v3`` → ``yaml``, ``…/v2`` → the
  element before, a ``go-`` prefix dropped); other package names need an alias to resolve.
* **Calls**: ``f()`` in the package or a dot-imported one; ``pkg.F()``; ``T.M`` method
  expressions; ``x.M()`` where ``x``'s type is known (a composite literal, ``new(T)``, a type
  assertion, ``var x T``, a parameter, the receiver, or the declared result of the function it
  was assigned from, ``x, err := NewT()``), also through struct fields (``s.db.Save()``) and
  package-level variables (``pkg.Default.M()``); ``T{}.M()`` and ``NewT().M()``. A method is
  looked up on the type, then promoted through embedded types. A call on a value whose type
  is an interface gives an edge to the interface's method *and* to the method of that name of
  every type of the tree implementing the interface. Builtin functions (``len``, ``panic``)
  → ``go:builtin:<name>``; ``err.Error()`` → ``go:builtin:error.Error``. Conversions
  (``T(x)``, ``string(b)``) are not calls and not counted. Anything else (a call through a
  variable of unknown type, a function value, an index) is unresolved and listed on its caller
  (``extra["unresolved_calls"]``), never guessed.
* **Implements** is name-based: a non-interface type of the tree implements an interface of
  the tree when its method set (own and promoted methods, pointer receivers included) has
  every method name of the interface (own and embedded). Signatures are not compared; an
  empty interface, or one embedding an interface from outside the tree (whose methods are
  unknown), has no implementations.
* **Types**: an interface type is an ``interface`` node; structs and other named types are
  ``class`` nodes.
* **Inheritance**: struct and interface embedding → ``inherits`` edges to the embedded type;
  a type implementing an interface (as above: Go declares no implementation) → an
  ``implements`` edge to the interface.
* **Containment**: module → its functions and types; interface → its methods; a type → its
  methods, the edge owned by the method's file (the type may be in another file of the
  package; when it is in none, the module contains the method).
* **Imports**: module → every file of an imported package of the tree, or ``go:<path>``.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from graphlive.analysis.build import FileOutput
from graphlive.analysis.polyglot.go import GoBinding, GoDef, GoFacts, GoType
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

__all__ = ["listed_modules", "read_modules", "resolve_go"]

_KINDS = {
    "struct": NodeKind.CLASS,
    "interface": NodeKind.INTERFACE,
    "type": NodeKind.CLASS,
    "function": NodeKind.FUNCTION,
    "method": NodeKind.METHOD,
}
_TYPES = frozenset({"struct", "interface", "type"})
_BUILTIN_FUNCTIONS = frozenset(
    {"append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len", "make",
     "max", "min", "new", "panic", "print", "println", "real", "recover"}
)  # fmt: skip
#: Predeclared types: calling one is a conversion.
_BUILTIN_TYPES = frozenset(
    {"any", "bool", "byte", "comparable", "complex64", "complex128", "error", "float32",
     "float64", "int", "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8",
     "uint16", "uint32", "uint64", "uintptr"}
)  # fmt: skip
_MODULE_LINE = re.compile(r'^\s*module\s+"?([^\s"/]+[^\s"]*)"?', re.MULTILINE)
_MAJOR = re.compile(r"v[0-9]+")
#: A resolved name: ("def", id), ("package", key of _Resolver.packages), ("external", id).
Target = tuple[str, str]


class _Def(NamedTuple):
    """A function or type of the tree, and its file."""

    rel: str
    d: GoDef


class _Var(NamedTuple):
    """A package-level variable of known type, and its file."""

    rel: str
    binding: GoBinding


class _Ext(NamedTuple):
    """A name from a package outside the tree."""

    ident: str


class _Pkg(NamedTuple):
    """A package, as an imported name."""

    target: Target


_Found = _Def | _Var | _Ext | _Pkg


def read_modules(root: Path, rels: Sequence[str]) -> dict[str, str]:
    """Module path → the directory (relative to ``root``, ``""`` for the root) it stands for:
    the ``go.mod`` of ``root`` and those in the folders holding ``rels`` or above them inside
    the tree (never above the root). Unreadable ``go.mod`` files are left out."""
    modules: dict[str, str] = {}
    # Only inside the root: an analysis started from a server reads nothing outside the
    # folder it was given.
    module = _module_path(root / "go.mod")
    if module is not None:
        modules[module] = ""
    folders = {posixpath.dirname(rel) for rel in rels}
    for folder in sorted({f for rel in folders for f in _ancestors(rel)}):
        module = _module_path(root / folder / "go.mod")
        if module is not None:
            modules[module] = folder
    return modules


def listed_modules(root: Path, go_mods: Sequence[str]) -> dict[str, str]:
    """:func:`read_modules` from the ``go.mod`` files discovery listed (``rels`` relative to
    ``root``): what ``.gitignore`` hides, or a link leading out of the tree, is not read."""
    modules: dict[str, str] = {}
    for rel in sorted(go_mods):
        module = _module_path(root / rel)
        if module is not None:
            modules[module] = posixpath.dirname(rel)
    return modules


def _ancestors(folder: str) -> list[str]:
    out = []
    while folder:
        out.append(folder)
        folder = posixpath.dirname(folder)
    return out


def _module_path(path: Path) -> str | None:
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return None
    found = _MODULE_LINE.search(text)
    return found.group(1) if found else None


def resolve_go(
    facts: Mapping[str, GoFacts], modules: Mapping[str, str] | None = None
) -> LanguageAnalysis:
    """Resolve every file of ``facts`` against all of them; ``modules`` maps module paths to
    directories of the tree (:func:`read_modules`)."""
    return _Resolver(facts, modules or {}).run()


def _package_name(path: str) -> str:
    """The name a package is known by when imported without an alias (by convention)."""
    parts = path.split("/")
    last = parts[-1]
    if _MAJOR.fullmatch(last) and len(parts) > 1:
        last = parts[-2]
    last = re.sub(r"\.v[0-9]+$", "", last)
    return last.removeprefix("go-")


class _Resolver:
    def __init__(self, facts: Mapping[str, GoFacts], modules: Mapping[str, str]) -> None:
        self.facts = facts
        self.modules = modules
        self.externals: dict[str, Node] = {}
        #: Package key ("<dir>|<name>") of each file, the files of each, the packages of a dir.
        self.package_of: dict[str, str] = {}
        self.packages: dict[str, list[str]] = {}
        self.by_dir: dict[str, list[str]] = {}
        #: Per package: top-level functions and types by name, methods by (type, name), the
        #: package-level variables of known type.
        self.names: dict[str, dict[str, tuple[str, GoDef]]] = {}
        self.methods: dict[str, dict[tuple[str, str], tuple[str, GoDef]]] = {}
        self.variables: dict[str, dict[str, tuple[str, GoBinding]]] = {}
        #: Per package: the names of each type's own methods.
        self.own_methods: dict[str, dict[str, set[str]]] = {}
        for rel, f in facts.items():
            key = f"{posixpath.dirname(rel)}|{f.package}"
            self.package_of[rel] = key
            self.packages.setdefault(key, []).append(rel)
            if key not in self.by_dir.setdefault(posixpath.dirname(rel), []):
                self.by_dir[posixpath.dirname(rel)].append(key)
            names = self.names.setdefault(key, {})
            methods = self.methods.setdefault(key, {})
            own = self.own_methods.setdefault(key, {})
            for d in f.defs:
                if d.kind == "method":
                    methods.setdefault((d.parent, d.name), (rel, d))
                    own.setdefault(d.parent, set()).add(d.name)
                else:
                    names.setdefault(d.name, (rel, d))
            variables = self.variables.setdefault(key, {})
            for (scope, name), binding in f.typed.items():
                if not scope:
                    variables.setdefault(name, (rel, binding))
        self.implementers_cache: dict[str, list[Target]] = {}
        self.names_cache: dict[str, set[str] | None] = {}
        #: Type id → the interfaces it implements (worked out on first use).
        self.implemented: dict[str, list[str]] | None = None
        self.by_id = {def_id(rel, d.qualname): (rel, d) for rel, f in facts.items() for d in f.defs}
        #: The calls whose result type is being worked out (a guard against cycles).
        self.resolving: set[tuple[str, str, tuple[str, ...]]] = set()

    def run(self) -> LanguageAnalysis:
        outputs = [self.file_output(f) for f in self.facts.values()]
        return LanguageAnalysis(outputs=outputs, externals=self.externals)

    # ------------------------------------------------------------------ packages and names

    def import_target(self, rel: str, path: str) -> Target | None:
        """The package an import path names: of the tree, external, or ``None`` (under a
        module path, but no analysed file is in that directory)."""
        best = max((m for m in self.modules if path == m or path.startswith(m + "/")), key=len,
                   default=None)  # fmt: skip
        if best is None:
            return ("external", self.external(f"go:{path}", path))
        folder = posixpath.normpath(posixpath.join(self.modules[best], path[len(best) + 1 :]))
        keys = [k for k in self.by_dir.get("" if folder == "." else folder, [])
                if not k.endswith("_test")]  # fmt: skip
        return ("package", keys[0]) if keys else None

    def imported(self, rel: str, name: str) -> Target | None:
        """The package a file knows as ``name``."""
        for imp in self.facts[rel].imports:
            if imp.alias in ("_", "."):
                continue
            if imp.alias and imp.alias != name:
                continue
            target = self.import_target(rel, imp.path)
            if target is None:
                continue
            if imp.alias or self.package_name(target, imp.path) == name:
                return target
        return None

    def package_name(self, target: Target, path: str) -> str:
        if target[0] == "package":
            return target[1].rpartition("|")[2]
        return _package_name(path)

    def external(self, ident: str, name: str) -> str:
        return add_external(self.externals, ident, name, "go")

    def member(self, package: Target, name: str) -> _Found | None:
        """``name`` in a package (of the tree or external)."""
        if package[0] == "external":
            return _Ext(self.external(f"{package[1]}:{name}", name))
        found = self.names[package[1]].get(name)
        if found is not None:
            return _Def(*found)
        variable = self.variables[package[1]].get(name)
        return _Var(*variable) if variable is not None else None

    def lookup(self, rel: str, name: str) -> _Found | None:
        """A name at package level as seen from ``rel``: the package's own, an imported
        package, or a name of a dot-imported package."""
        found = self.member(("package", self.package_of[rel]), name)
        if found is not None:
            return found
        package = self.imported(rel, name)
        if package is not None:
            return _Pkg(package)
        for imp in self.facts[rel].imports:
            if imp.alias == ".":
                target = self.import_target(rel, imp.path)
                if target is not None and target[0] == "package":
                    found = self.member(target, name)
                    if found is not None:
                        return found
        return None

    def type_of(self, rel: str, path: GoType) -> Target | None:
        """The type a type path written in ``rel`` names."""
        found: _Found | None = None
        if len(path) == 1:
            found = self.lookup(rel, path[0])
            if found is None and path[0] == "error":
                return ("external", self.external("go:builtin:error", "error"))
        elif len(path) == 2:
            package = self.imported(rel, path[0])
            found = self.member(package, path[1]) if package is not None else None
        if isinstance(found, _Ext):
            return ("external", found.ident)
        if isinstance(found, _Def) and found.d.kind in _TYPES:
            return ("def", def_id(found.rel, found.d.qualname))
        return None

    def binding_type(self, rel: str, scope: str, binding: GoBinding) -> Target | None:
        if not binding.call:
            return self.type_of(rel, binding.path)
        return self.result_type(rel, scope, binding.path, binding.index)

    def result_type(
        self, rel: str, scope: str, callee: tuple[str, ...], index: int
    ) -> Target | None:
        """The ``index``-th declared result type of what the call ``callee()`` in ``scope``
        runs (a function, or a method: ``x, err := s.Open()``), when they all agree."""
        key = (rel, scope, callee)
        if key in self.resolving:  # x := x.Next(): the type depends on itself
            return None
        self.resolving.add(key)
        try:
            called = self.call_targets(rel, scope, callee, (), False) or []
        finally:
            self.resolving.discard(key)
        types = set()
        for ident in called:
            found = self.by_id.get(ident)
            if found is None or index >= len(found[1].results):
                return None
            types.add(self.type_of(found[0], found[1].results[index]))
        return types.pop() if len(types) == 1 else None

    def definition(self, target: Target) -> tuple[str, GoDef] | None:
        if target[0] != "def":
            return None
        owner, _, qualname = target[1].rpartition(":")
        found = self.names.get(self.package_of.get(owner, ""), {}).get(qualname)
        return found if found is not None and found[1].qualname == qualname else None

    # ------------------------------------------------------------------ methods and fields

    def methods_of(
        self, target: Target, name: str, seen: frozenset[str] = frozenset()
    ) -> list[str]:
        """The methods a call ``.name()`` on a value of type ``target`` may run."""
        if target[0] == "external":
            return [self.external(f"{target[1]}.{name}", name)]
        found = self.definition(target)
        if found is None or target[1] in seen:
            return []
        rel, d = found
        seen = seen | {target[1]}
        if d.kind == "interface":
            declared = self.interface_method(target, name, seen)
            if declared is None:
                return []
            out = [declared]
            for impl in self.implementers(target):
                out.extend(m for m in self.methods_of(impl, name) if m not in out)
            return out
        own = self.methods[self.package_of[rel]].get((d.name, name))
        if own is not None:
            return [def_id(own[0], own[1].qualname)]
        for embed in d.embeds:  # promoted from an embedded type (the shallowest one wins)
            inner = self.type_of(rel, embed)
            if inner is not None:
                promoted = self.methods_of(inner, name, seen)
                if promoted:
                    return promoted
        return []

    def interface_method(self, target: Target, name: str, seen: frozenset[str]) -> str | None:
        found = self.definition(target)
        if found is None:
            return None
        rel, d = found
        own = self.methods[self.package_of[rel]].get((d.name, name))
        if own is not None:
            return def_id(own[0], own[1].qualname)
        for embed in d.embeds:
            inner = self.type_of(rel, embed)
            if inner is not None and inner[0] == "external":
                return self.external(f"{inner[1]}.{name}", name)
            if inner is not None and inner[1] not in seen:
                found_inner = self.interface_method(inner, name, seen | {inner[1]})
                if found_inner is not None:
                    return found_inner
        return None

    def method_names(self, target: Target, seen: frozenset[str] = frozenset()) -> set[str] | None:
        """Every method name of a type of the tree, own and promoted; ``None`` when unknown
        (an interface embedding one from outside the tree)."""
        if not seen and target[1] in self.names_cache:
            return self.names_cache[target[1]]
        found = self.definition(target)
        if found is None or target[1] in seen:
            return None
        rel, d = found
        names: set[str] | None = set(self.own_methods[self.package_of[rel]].get(d.name, ()))
        for embed in d.embeds:
            inner = self.type_of(rel, embed)
            inner_names = self.method_names(inner, seen | {target[1]}) if inner else None
            if inner_names is None and d.kind == "interface":
                names = None
                break
            names = (names or set()) | (inner_names or set())
        if not seen:
            self.names_cache[target[1]] = names
        return names

    def implementers(self, interface: Target) -> list[Target]:
        """The non-interface types of the tree implementing ``interface`` (by method name)."""
        cached = self.implementers_cache.get(interface[1])
        if cached is not None:
            return cached
        wanted = self.method_names(interface)
        out: list[Target] = []
        if wanted:
            for rel, f in self.facts.items():
                for d in f.defs:
                    if d.kind in ("struct", "type"):
                        candidate = ("def", def_id(rel, d.qualname))
                        if wanted <= (self.method_names(candidate) or set()):
                            out.append(candidate)
        self.implementers_cache[interface[1]] = out
        return out

    def field_type(
        self, target: Target, name: str, seen: frozenset[str] = frozenset()
    ) -> Target | None:
        """The type of field ``name`` of a struct (promoted fields and embedded types too)."""
        found = self.definition(target)
        if found is None or target[1] in seen:
            return None
        rel, d = found
        if name in d.fields:
            return self.type_of(rel, d.fields[name])
        for embed in d.embeds:
            inner = self.type_of(rel, embed)
            if inner is None:
                continue
            if embed[-1] == name:
                return inner
            promoted = self.field_type(inner, name, seen | {target[1]})
            if promoted is not None:
                return promoted
        return None

    # ------------------------------------------------------------------ calls

    def call_targets(self, rel: str, scope: str, callee: tuple[str, ...], on: tuple[str, ...],
                     on_call: bool) -> list[str] | None:  # fmt: skip
        """The ids a call may run; ``[]`` for a conversion (no call); ``None``: unresolved."""
        if on:
            value = self.result_type(rel, scope, on, 0) if on_call else self.type_of(rel, on)
            return self.on_value(value, callee)
        if not callee:
            return None
        head, rest = callee[0], callee[1:]
        binding = self.facts[rel].typed.get((scope, head)) if scope else None
        if binding is not None:
            return self.on_value(self.binding_type(rel, scope, binding), rest)
        if (scope, head) in self.facts[rel].locals:
            return None  # a local of unknown type shadows whatever the package calls so
        found = self.lookup(rel, head)
        if isinstance(found, _Pkg) and rest:
            found = self.member(found.target, rest[0])
            head, rest = rest[0], rest[1:]
        if found is None:
            if not rest and head in _BUILTIN_FUNCTIONS:
                return [self.external(f"go:builtin:{head}", head)]
            return [] if not rest and head in _BUILTIN_TYPES else None
        if isinstance(found, _Ext):
            if not rest:
                return [found.ident]
            return [self.external(f"{found.ident}.{'.'.join(rest)}", rest[-1])]
        if isinstance(found, _Var):
            return self.on_value(self.binding_type(found.rel, "", found.binding), rest)
        if not isinstance(found, _Def):
            return None  # a package called as a function
        if found.d.kind == "function":
            return None if rest else [def_id(found.rel, found.d.qualname)]
        if not rest:
            return []  # T(x): a conversion
        # T.M(x): a method expression
        return self.on_value(("def", def_id(found.rel, found.d.qualname)), rest)

    def on_value(self, value: Target | None, path: tuple[str, ...]) -> list[str] | None:
        """A method path (``f.M``: fields, then the method) on a value of type ``value``."""
        if value is None or not path:
            return None
        for name in path[:-1]:
            if value[0] == "external":
                value = ("external", self.external(f"{value[1]}.{name}", name))
                continue
            value = self.field_type(value, name)
            if value is None:
                return None
        return self.methods_of(value, path[-1]) or None

    # ------------------------------------------------------------------ outputs

    def file_output(self, f: GoFacts) -> FileOutput:
        rel = f.file
        out = module_output(f, (("package", f.package),) if f.package else ())

        add = functools.partial(add_edge, out)

        key = self.package_of[rel]
        for d in f.defs:
            ident = def_id(rel, d.qualname)
            extra: tuple[tuple[str, object], ...] = ()
            if d.kind == "method" and d.pointer:
                extra = (("pointer_receiver", True),)
            out.nodes[ident] = def_node(
                ident, rel, _KINDS[d.kind], d.name, (d.line, d.end_line), "go", extra
            )
            parent = self.names[key].get(d.parent) if d.parent else None
            add(EdgeKind.CONTAINS, def_id(*_qual(parent)) if parent else rel, ident, 0)
            if d.kind not in _TYPES:
                continue
            for embed in d.embeds:
                base = self.type_of(rel, embed)
                if base is not None:
                    add(EdgeKind.INHERITS, ident, base[1], d.line)
            if d.kind != "interface":
                for interface in self.implemented_by(ident):
                    add(EdgeKind.IMPLEMENTS, ident, interface, d.line)
        for imp in f.imports:
            target = self.import_target(rel, imp.path)
            if target is None:
                continue
            for file in self.packages[target[1]] if target[0] == "package" else [target[1]]:
                add(EdgeKind.IMPORTS, rel, file, imp.line)
        unresolved: dict[str, list[tuple[int, str]]] = {}
        for call in f.calls:
            caller = def_id(rel, call.caller) if call.caller else rel
            called = self.call_targets(rel, call.caller, call.callee, call.on, call.on_call)
            if called == []:
                continue  # a conversion
            add_call(out, unresolved, caller, called, call.line, call.text)
        note_unresolved(out, unresolved)
        return out

    def implemented_by(self, type_id: str) -> list[str]:
        """The interfaces of the tree the type ``type_id`` implements."""
        if self.implemented is None:
            self.implemented = {}
            for rel, f in self.facts.items():
                for d in f.defs:
                    if d.kind == "interface":
                        interface = ("def", def_id(rel, d.qualname))
                        for impl in self.implementers(interface):
                            self.implemented.setdefault(impl[1], []).append(interface[1])
        return self.implemented.get(type_id, [])


def _qual(found: tuple[str, GoDef]) -> tuple[str, str]:
    return found[0], found[1].qualname
