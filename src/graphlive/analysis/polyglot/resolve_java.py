"""Resolving Java facts across a tree into graph nodes and edges per file.

What resolves (each case has a fixture in ``tests/analysis_fixtures/java``):

* **Types**: a type's fully qualified name is its file's ``package`` plus its nested names
  (``shop.Cart.Line``). A simple name written in a scope is looked up, in Java's order, among
  the enclosing types and their member types (and classes local to the enclosing method), the
  file's own types, its single-type imports, the types of the same package (any file of the
  tree declaring that package), then the on-demand imports (``import p.*``) of packages of the
  tree; ``java.lang``'s common types are implicit. A fully qualified name resolves as written.
  A type of the tree is its definition node; a type from elsewhere (a single-type import of a
  package not in the tree, ``java.lang``) is an external node ``java:<qualified name>``, and
  its methods ``java:<qualified name>.<method>``. Generic type parameters, and names only an
  on-demand import of a package outside the tree could supply, are unknown: never guessed.
* **Methods by arity**: a method's id carries its parameter count (``Cart.add/1``), and a call
  matches the methods of the same name and argument count (a varargs method any count from
  its fixed parameters up). When several of one class match by arity (``add(int)`` and
  ``add(String)``), the call gets an edge to **each**: types of arguments are not inferred.
  A class with no match inherits the first match up its ``extends`` then ``implements``.
* **Calls**: ``foo()`` → a method of the innermost enclosing class having one (through its
  supertypes), then a ``static`` import; ``this.foo()``, ``super.foo()``; ``x.foo()`` through
  the declared type of a local variable, parameter or field (the nearest declaration before the
  call, then fields up the enclosing and super classes; ``var x = new C()`` is a ``C``), also
  along field paths (``this.cart.items.add()``); ``Type.foo()`` and ``pkg.Type.foo()``
  (static); ``Enum.CONSTANT.foo()``; ``new C().foo()``; ``new C(…)`` → the constructor of that
  arity, else the class; ``this(…)``/``super(…)`` likewise. A call through an interface type
  goes to the interface's method **and** to the methods of that name and arity of every class
  of the tree implementing it (directly or through other types). Everything else — a call on
  a call's result, on a variable of unknown type, on an external type's field, in an anonymous
  class on its own ``this`` — is unresolved and listed on its caller
  (``extra["unresolved_calls"]``), never guessed.
* **Types**: interfaces and annotation types (``@interface``, ``extra["annotation"]``) are
  ``interface`` nodes; classes, enums (``extra["enum"]``) and records (``extra["record"]``)
  ``class`` nodes.
* **Inheritance**: ``extends`` (a class's, or an interface's of other interfaces) →
  ``inherits`` edges, ``implements`` (a class's, enum's or record's) → ``implements`` edges;
  imports → ``imports`` edges to the type imported (or to every file of a package of the tree
  imported on demand).
* **Not yet**: argument types (overloads of one arity all get an edge), the result type of a
  call (``a.b().c()``), method references (``Cart::add``), member types inherited from a
  supertype, and the implicit supertypes (``Object``, ``Enum``) of classes with no ``extends``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence

from graphlive.analysis.build import FileOutput
from graphlive.analysis.polyglot.java import (
    TYPE_KINDS,
    JavaCall,
    JavaDef,
    JavaFacts,
    JavaVar,
)
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

__all__ = ["resolve_java"]

#: A type: ``(file, qualname)`` of the tree, or ``("", qualified name)`` from elsewhere.
_Type = tuple[str, str]

#: Kinds of type that are ``interface`` nodes (an annotation type is an interface in Java).
_INTERFACES = frozenset({"interface", "annotation"})

#: Types every Java file sees without an import (the commonly used part of java.lang).
# fmt: off
_JAVA_LANG = frozenset({
    "Object", "String", "StringBuilder", "Math", "StrictMath", "System", "Integer", "Long",
    "Short", "Byte", "Double", "Float", "Boolean", "Character", "Number", "Void", "Class", "Enum",
    "Record", "Iterable", "Comparable", "CharSequence", "Runnable", "Thread", "ThreadLocal",
    "Runtime", "AutoCloseable", "Cloneable", "Throwable", "Exception", "Error", "RuntimeException",
    "IllegalArgumentException", "IllegalStateException", "NullPointerException",
    "ArithmeticException", "UnsupportedOperationException", "IndexOutOfBoundsException",
    "ClassCastException", "InterruptedException", "Override", "Deprecated", "FunctionalInterface",
    "SuppressWarnings"
})
# fmt: on


def resolve_java(facts: Mapping[str, JavaFacts]) -> LanguageAnalysis:
    """Resolve every file of ``facts`` against all of them."""
    return _Resolver(facts).run()


def _matches(d: JavaDef, arity: int) -> bool:
    return d.arity == arity or (d.varargs and arity >= d.arity - 1)


class _Resolver:
    def __init__(self, facts: Mapping[str, JavaFacts]) -> None:
        self.facts = facts
        self.defs = {rel: {d.qualname: d for d in f.defs} for rel, f in facts.items()}
        #: (file, type qualname) → its methods and constructors.
        self.members: dict[_Type, list[JavaDef]] = {}
        #: Fully qualified name → a type of the tree (local classes have none).
        self.fqn: dict[str, _Type] = {}
        self.packages: dict[str, list[str]] = {}
        for rel, f in facts.items():
            self.packages.setdefault(f.package, []).append(rel)
            for d in f.defs:
                if d.kind not in TYPE_KINDS:
                    self.members.setdefault((rel, d.parent), []).append(d)
                elif self.is_member_type(rel, d):
                    self.fqn[f"{f.package}.{d.qualname}" if f.package else d.qualname] = (
                        rel,
                        d.qualname,
                    )
        self.externals: dict[str, Node] = {}
        self.ancestors_cache: dict[_Type, frozenset[_Type]] = {}
        self.implementers_index: dict[_Type, list[_Type]] | None = None
        #: Per file: (scope, name) → its variables of that name there (:meth:`vars_named`).
        self.var_index: dict[str, dict[tuple[str, str], list[JavaVar]]] = {}

    def run(self) -> LanguageAnalysis:
        outputs = [self.file_output(f) for f in self.facts.values()]
        return LanguageAnalysis(outputs=outputs, externals=self.externals)

    def is_member_type(self, rel: str, d: JavaDef) -> bool:
        """A top-level or member type (not local to a method): one with a qualified name."""
        defs = self.defs[rel]
        while d.parent:
            parent = defs.get(d.parent)
            if parent is None or parent.kind not in TYPE_KINDS:
                return False
            d = parent
        return True

    def external(self, ident: str) -> str:
        return add_external(self.externals, ident, ident.rpartition(".")[2] or ident, "java")

    # ------------------------------------------------------------------ types

    def type_def(self, t: _Type) -> JavaDef | None:
        return self.defs[t[0]].get(t[1]) if t[0] else None

    def type_id(self, t: _Type) -> str:
        return def_id(t[0], t[1]) if t[0] else self.external(f"java:{t[1]}")

    def chain(self, rel: str, scope: str) -> Iterator[JavaDef]:
        """The definitions enclosing ``scope`` (itself first), out to the file."""
        defs = self.defs[rel]
        current = scope
        while current:
            d = defs.get(current)
            if d is None:
                return
            yield d
            current = d.parent

    def by_fqn(self, name: str) -> _Type:
        return self.fqn.get(name) or ("", name)

    def simple_type(self, rel: str, scope: str, name: str) -> _Type | None:
        defs = self.defs[rel]
        for d in self.chain(rel, scope):
            if name in d.type_params:
                return None  # a type variable: any type at all
            if d.kind in TYPE_KINDS and d.name == name:
                return (rel, d.qualname)
            member = defs.get(f"{d.qualname}.{name}")
            if member is not None and member.kind in TYPE_KINDS:
                return (rel, member.qualname)
        top = defs.get(name)
        if top is not None and top.kind in TYPE_KINDS:
            return (rel, name)
        f = self.facts[rel]
        for imp in f.imports:
            if not imp.static and not imp.on_demand and imp.name.rpartition(".")[2] == name:
                return self.by_fqn(imp.name)
        found = self.fqn.get(f"{f.package}.{name}" if f.package else name)
        if found is not None:
            return found
        for imp in f.imports:
            if imp.on_demand and f"{imp.name}.{name}" in self.fqn:
                return self.fqn[f"{imp.name}.{name}"]
        return ("", f"java.lang.{name}") if name in _JAVA_LANG else None

    def type_path(self, rel: str, scope: str, parts: Sequence[str]) -> _Type | None:
        """The type a dotted name written in ``scope`` denotes: a simple name then member
        types, or a fully qualified name (``java.util.List``, ``shop.Cart.Line``)."""
        if not parts or not parts[0]:
            return None
        t = self.simple_type(rel, scope, parts[0])
        rest = list(parts[1:])
        if t is None:
            for i in range(len(parts), 1, -1):
                found = self.fqn.get(".".join(parts[:i]))
                if found is not None:
                    t, rest = found, list(parts[i:])
                    break
            else:
                # A package-qualified name of no type of ours: lower-case packages, then the
                # type (Java's naming convention is the only way to tell where they split).
                upper = next((i for i, p in enumerate(parts) if p[:1].isupper()), None)
                if upper is None or upper == 0:
                    return None
                t, rest = ("", ".".join(parts[: upper + 1])), list(parts[upper + 1 :])
        for part in rest:
            t = self.member_type(t, part)
            if t is None:
                return None
        return t

    def member_type(self, t: _Type, name: str) -> _Type | None:
        if not t[0]:  # outside the tree, only the naming convention tells a nested type
            return ("", f"{t[1]}.{name}") if name[:1].isupper() else None
        d = self.defs[t[0]].get(f"{t[1]}.{name}")
        return (t[0], d.qualname) if d is not None and d.kind in TYPE_KINDS else None

    def supertypes(self, t: _Type) -> list[_Type]:
        d = self.type_def(t)
        if d is None:
            return []
        out = []
        for written in (*d.bases, *d.implements):
            found = self.type_path(t[0], d.parent, written.split("."))
            if found is not None and found != t:
                out.append(found)
        return out

    def ancestors(self, t: _Type) -> frozenset[_Type]:
        """Every supertype of ``t``, transitively (cycles, which javac rejects, end here)."""
        cached = self.ancestors_cache.get(t)
        if cached is not None:
            return cached
        self.ancestors_cache[t] = frozenset()
        seen: set[_Type] = set()
        todo = self.supertypes(t)
        while todo:
            s = todo.pop()
            if s not in seen and s != t:
                seen.add(s)
                todo.extend(self.supertypes(s))
        self.ancestors_cache[t] = frozenset(seen)
        return self.ancestors_cache[t]

    # ------------------------------------------------------------------ members

    def methods(
        self, t: _Type, name: str, arity: int, seen: frozenset[_Type] = frozenset()
    ) -> list[str]:
        """Ids of the methods ``name`` of ``t`` taking ``arity`` arguments: its own, else the
        first supertype's having any (an external supertype has them all)."""
        if not t[0]:
            return [self.external(f"java:{t[1]}.{name}")]
        own = [
            def_id(t[0], m.qualname)
            for m in self.members.get(t, ())
            if m.kind == "method" and m.name == name and _matches(m, arity)
        ]
        if own or t in seen:
            return own
        for s in self.supertypes(t):
            found = self.methods(s, name, arity, seen | {t})
            if found:
                return found
        return []

    def dispatch(self, t: _Type, name: str, arity: int) -> list[str]:
        """:meth:`methods`, plus for an interface the implementing methods of the tree's
        classes: which one runs is decided by the object, unknown here."""
        found = self.methods(t, name, arity)
        d = self.type_def(t)
        if d is None or d.kind != "interface":
            return found
        extra: list[str] = []
        for c in self.implementers(t):
            extra.extend(
                def_id(c[0], m.qualname)
                for m in self.members.get(c, ())
                if m.kind == "method" and m.name == name and _matches(m, arity)
            )
        return found + [e for e in extra if e not in found]

    def implementers(self, t: _Type) -> list[_Type]:
        """The classes, enums and records of the tree having ``t`` among their supertypes, in
        the order of the files and their definitions (an index built at the first call: a scan
        per call made java.util's analysis 14x its parse)."""
        if self.implementers_index is None:
            index: dict[_Type, list[_Type]] = {}
            for rel, defs in self.defs.items():
                for c in defs.values():
                    if c.kind in ("class", "enum", "record"):
                        ct = (rel, c.qualname)
                        for a in self.ancestors(ct):
                            index.setdefault(a, []).append(ct)
            self.implementers_index = index
        return self.implementers_index.get(t, [])

    def constructor(self, t: _Type, arity: int) -> list[str]:
        """The constructors of ``t`` taking ``arity`` arguments, else the type itself."""
        found = [
            def_id(t[0], m.qualname)
            for m in self.members.get(t, ())
            if m.kind == "constructor" and _matches(m, arity)
        ]
        return found or [self.type_id(t)]

    def vars_named(self, rel: str, scope: str, name: str) -> list[JavaVar]:
        """The variables ``name`` declared in ``scope`` of ``rel`` (fields of a type, or a
        member's parameters and locals), in file order: an index built per file at first use
        (a scan of the file's variables per lookup made java.util's analysis crawl)."""
        index = self.var_index.get(rel)
        if index is None:
            index = self.var_index[rel] = {}
            for v in self.facts[rel].vars:
                index.setdefault((v.scope, v.name), []).append(v)
        return index.get((scope, name), [])

    def field_type(self, t: _Type, name: str, seen: frozenset[_Type] = frozenset()) -> _Type | None:
        """The declared type of field ``name`` of ``t`` (or inherited), ``None``: unknown."""
        if not t[0] or t in seen:
            return None
        for v in self.vars_named(t[0], t[1], name):
            if v.field:
                return self.type_path(t[0], t[1], v.type.split(".")) if v.type else None
        for s in self.supertypes(t):
            found = self.field_type(s, name, seen | {t})
            if found is not None:
                return found
        return None

    def has_field(self, t: _Type, name: str, seen: frozenset[_Type] = frozenset()) -> bool:
        if not t[0] or t in seen:
            return False
        if any(v.field for v in self.vars_named(t[0], t[1], name)):
            return True
        return any(self.has_field(s, name, seen | {t}) for s in self.supertypes(t))

    def variable(self, rel: str, scope: str, name: str, line: int) -> tuple[bool, _Type | None]:
        """(whether ``name`` is a variable seen from ``scope`` at ``line``, its type). Locals
        and parameters first (the nearest declaration before the line), then the fields of
        each enclosing type: Java's shadowing order."""
        for d in self.chain(rel, scope):
            if d.kind in TYPE_KINDS:
                t = (rel, d.qualname)
                if self.has_field(t, name):
                    return True, self.field_type(t, name)
                continue
            best = None
            for v in self.vars_named(rel, d.qualname, name):
                if not v.field and v.line <= line and (best is None or v.line >= best.line):
                    best = v
            if best is not None:
                return True, self.type_path(rel, scope, best.type.split(".")) if best.type else None
        return False, None

    # ------------------------------------------------------------------ calls

    def enclosing_type(self, rel: str, scope: str) -> _Type | None:
        d = next((d for d in self.chain(rel, scope) if d.kind in TYPE_KINDS), None)
        return (rel, d.qualname) if d is not None else None

    def superclass(self, t: _Type) -> _Type | None:
        d = self.type_def(t)
        if d is None or not d.bases or d.kind == "interface":
            return None
        return self.type_path(t[0], d.parent, d.bases[0].split("."))

    def receiver_type(self, rel: str, call: JavaCall) -> tuple[_Type | None, bool]:
        """(the type a path receiver has, whether the receiver names the type itself: a
        static call, with no dispatch to implementations)."""
        parts = call.receiver
        head, rest = parts[0], list(parts[1:])
        t: _Type | None
        if head == "this":
            t = self.enclosing_type(rel, call.caller)
        elif head == "super":
            here = self.enclosing_type(rel, call.caller)
            t = self.superclass(here) if here is not None else None
        elif parts[-1] == "this":  # Outer.this
            return self.type_path(rel, call.caller, parts[:-1]), False
        else:
            known, t = self.variable(rel, call.caller, head, call.line)
            if not known:
                for i in range(len(parts), 0, -1):
                    t = self.type_path(rel, call.caller, parts[:i])
                    if t is not None:
                        rest = list(parts[i:])
                        break
                if not rest:
                    return t, True
        for part in rest:
            if t is None:
                return None, False
            t = self.field_type(t, part)
        return t, False

    def call_targets(self, rel: str, call: JavaCall) -> list[str]:
        caller, name, arity = call.caller, call.name, call.arity
        if call.receiver_kind == "expr":
            return []
        if call.new:
            t = self.type_path(rel, caller, call.receiver)
            return self.constructor(t, arity) if t is not None else []
        if name == "<init>":  # this(…) / super(…)
            here = self.enclosing_type(rel, caller)
            if here is None:
                return []
            t = here if call.receiver == ("this",) else self.superclass(here)
            return self.constructor(t, arity) if t is not None else []
        if call.receiver_kind == "new":
            t = self.type_path(rel, caller, call.receiver)
            return self.methods(t, name, arity) if t is not None else []
        if call.receiver_kind == "path":
            t, static = self.receiver_type(rel, call)
            if t is None:
                return []
            if call.receiver == ("super",):
                return self.methods(t, name, arity)
            return self.methods(t, name, arity) if static else self.dispatch(t, name, arity)
        for d in self.chain(rel, caller):
            if d.kind in TYPE_KINDS:
                found = self.dispatch((rel, d.qualname), name, arity)
                if found:
                    return found
        return self.static_import(rel, name, arity)

    def static_import(self, rel: str, name: str, arity: int) -> list[str]:
        imports = self.facts[rel].imports
        for imp in imports:
            owner, _, member = imp.name.rpartition(".")
            if imp.static and not imp.on_demand and member == name:
                return self.methods(self.by_fqn(owner), name, arity)
        for imp in imports:
            t = self.fqn.get(imp.name) if imp.static and imp.on_demand else None
            found = self.methods(t, name, arity) if t is not None else []
            if found:
                return found
        return []

    # ------------------------------------------------------------------ outputs

    def file_output(self, f: JavaFacts) -> FileOutput:
        rel = f.file
        out = module_output(f, (("package", f.package),) if f.package else ())

        add = functools.partial(add_edge, out)

        for d in f.defs:
            ident = def_id(rel, d.qualname)
            kind = NodeKind.METHOD
            if d.kind in TYPE_KINDS:
                kind = NodeKind.INTERFACE if d.kind in _INTERFACES else NodeKind.CLASS
            extra: dict[str, object] = {}
            if d.kind in ("annotation", "enum", "record"):
                extra[d.kind] = True
            if kind is NodeKind.METHOD:
                extra["arity"] = d.arity
            if d.kind == "constructor":
                extra["constructor"] = True
            if d.varargs:
                extra["varargs"] = True
            out.nodes[ident] = def_node(
                ident,
                rel,
                kind,
                d.name,
                (d.line, d.end_line),
                "java",
                tuple(sorted(extra.items())),
            )
            add(EdgeKind.CONTAINS, def_id(rel, d.parent) if d.parent else rel, ident, 0)
            for edge, written in (
                *((EdgeKind.INHERITS, base) for base in d.bases),
                *((EdgeKind.IMPLEMENTS, base) for base in d.implements),
            ):
                base = self.type_path(rel, d.parent, written.split("."))
                if base is not None:
                    add(edge, ident, self.type_id(base), d.line)
        for imp in f.imports:
            if imp.on_demand and not imp.static and imp.name in self.packages:
                for other in self.packages[imp.name]:
                    add(EdgeKind.IMPORTS, rel, other, imp.line)
                continue
            owner = imp.name.rpartition(".")[0] if imp.static and not imp.on_demand else imp.name
            t = self.fqn.get(owner)
            imported = self.type_id(t) if t is not None else self.external(f"java:{owner}")
            add(EdgeKind.IMPORTS, rel, imported, imp.line)
        unresolved: dict[str, list[tuple[int, str]]] = {}
        for call in f.calls:
            caller = def_id(rel, call.caller) if call.caller else rel
            add_call(out, unresolved, caller, self.call_targets(rel, call), call.line, call.text)
        note_unresolved(out, unresolved)
        return out
