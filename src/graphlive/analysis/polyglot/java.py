"""Java files → :class:`JavaFacts`, from tree-sitter's syntax tree (``tree-sitter-java``).

Contracts (the same as :mod:`.javascript`'s):

* Never raises for the file's content: tree-sitter recovers from syntax errors; the first
  errors become ``syntax-error`` diagnostics and what parsed is kept. Names are decoded with
  replacement, so undecodable bytes cannot stop extraction.
* Generated files are skipped with a diagnostic (``generated-file``): over ``max_bytes``, or
  with lines averaging over 300 characters; their module node is still written.
* What is recorded: the ``package``; imports (single-type, on-demand ``.*``, ``static`` of
  either form); classes, interfaces, enums, records and annotation types, nested (qualname
  ``Outer.Inner``) and local to a method (``Outer.run/0.Local``); methods and constructors with
  their arity in the qualname so overloads stay apart (``Cart.add/1``, ``Cart.add/2``,
  ``Cart.<init>/0``; overloads sharing an arity also get their erased parameter types,
  ``Cart.add/2(Item,int)``; a varargs method counts its last parameter and is flagged);
  ``extends`` and ``implements`` as written; fields, enum constants, record components,
  parameters and local variables with their declared type (``var c = new Cart()`` takes the
  created type; other ``var``, primitives and arrays are untyped);
  every method invocation with its receiver and argument count, ``this(…)``/``super(…)``, and
  every ``new C(…)``. Calls in lambdas are the enclosing member's. Calls in the body of an
  anonymous class are the enclosing member's too, but with their receiver made unknown when
  it is implicit or ``this`` (that ``this`` is the anonymous object, not a type of ours).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node as TsNode

from graphlive.analysis.polyglot.facts import SourceFacts
from graphlive.analysis.polyglot.screening import node_text, parse_screened

__all__ = ["JavaCall", "JavaDef", "JavaFacts", "JavaImport", "JavaVar", "extract_java"]


_TYPES = {
    "class_declaration": "class",
    "interface_declaration": "interface",
    "enum_declaration": "enum",
    "record_declaration": "record",
    "annotation_type_declaration": "annotation",
}
#: Kinds of :class:`JavaDef` that are types (the rest are ``method`` and ``constructor``).
TYPE_KINDS = frozenset(_TYPES.values())
_BODIES = frozenset(
    {"class_body", "interface_body", "enum_body", "enum_body_declarations", "annotation_type_body"}
)


@dataclass(slots=True)
class JavaDef:
    """A type, method or constructor. ``qualname`` is dotted within the file; a method's ends
    in ``/<arity>`` (``Cart.add/2``), a constructor is named ``<init>``. ``parent``: the
    qualname of the enclosing definition (``""``: the file). ``bases``/``implements``: the
    types after ``extends``/``implements`` as written, generics dropped (``Base``,
    ``java.io.Serializable``); an interface's ``extends`` are its ``bases``."""

    qualname: str
    kind: str  # "class" | "interface" | "enum" | "record" | "annotation" | "method" | "constructor"
    name: str
    line: int
    end_line: int
    parent: str = ""
    arity: int = 0
    varargs: bool = False
    static: bool = False
    bases: tuple[str, ...] = ()
    implements: tuple[str, ...] = ()
    #: Generic type parameters declared here (``T``): names that are no type of the tree.
    type_params: tuple[str, ...] = ()


@dataclass(slots=True)
class JavaImport:
    """``import [static] name[.*];``: ``name`` is the dotted name as written."""

    name: str
    line: int
    static: bool = False
    on_demand: bool = False


@dataclass(slots=True)
class JavaVar:
    """A field or enum constant (``field=True``, ``scope``: its type's qualname), or a
    parameter or local variable (``scope``: the member declaring it). ``type`` is the declared
    type without generics (``List``, ``java.util.List``), ``""`` when unknown (``var x = f()``,
    primitives and arrays, whose methods are none of ours)."""

    scope: str
    name: str
    type: str
    line: int
    field: bool = False


@dataclass(slots=True)
class JavaCall:
    """A call in ``caller`` (the qualname of a member, or of a type for initialisers).

    ``receiver_kind`` says what ``receiver`` is: ``""`` none (``foo()``); ``"path"`` a dotted
    path of names, possibly starting with ``this``/``super`` (``("x",)``, ``("this", "items")``,
    ``("Util",)``, ``("Outer", "this")``); ``"new"`` the type created just before
    (``new Cart().add(1)``); ``"expr"`` anything else (a call's result, a literal). A ``new``
    has ``new=True``, ``receiver`` the created type's path and ``name`` ``<init>``; so do
    ``this(…)``/``super(…)`` but with ``new=False`` and a ``this``/``super`` receiver."""

    caller: str
    name: str
    arity: int
    line: int
    receiver: tuple[str, ...] = ()
    receiver_kind: str = ""
    new: bool = False
    text: str = ""


@dataclass(slots=True)
class JavaFacts(SourceFacts):
    """Everything extraction learnt about one Java file."""

    language: str = "java"
    package: str = ""
    imports: list[JavaImport] = field(default_factory=list)
    defs: list[JavaDef] = field(default_factory=list)
    vars: list[JavaVar] = field(default_factory=list)
    calls: list[JavaCall] = field(default_factory=list)


def extract_java(rel: str, data: bytes, *, max_bytes: int = 1_000_000) -> JavaFacts:
    """The facts of the Java file ``rel`` (relative path, ``/`` separators) holding ``data``."""
    facts = JavaFacts(file=rel)
    root = parse_screened(facts, data, max_bytes)
    if root is None:
        return facts
    _Walker(facts, data).program(root)
    return facts


class _Walker:
    def __init__(self, facts: JavaFacts, data: bytes) -> None:
        self.facts = facts
        self.data = data
        #: (type, name, arity) of overloads sharing an arity: their qualnames get the types.
        self.clashing: set[tuple[str, str, int]] = set()

    def text(self, node: TsNode | None) -> str:
        return node_text(self.data, node)

    def program(self, root: TsNode) -> None:
        for child in root.named_children:
            if child.type == "package_declaration":
                name = next((c for c in child.named_children if c.type != "annotation"), None)
                self.facts.package = self.text(name)
            elif child.type == "import_declaration":
                self.import_declaration(child)
            elif child.type in _TYPES:
                self.type_declaration(child, "")
            elif child.type == "ERROR":
                # What tree-sitter could not place may still hold whole declarations.
                for part in child.named_children:
                    if part.type in _TYPES:
                        self.type_declaration(part, "")

    def import_declaration(self, node: TsNode) -> None:
        name = next(
            (c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None
        )
        if name is None:
            return
        self.facts.imports.append(
            JavaImport(
                name=self.text(name),
                line=node.start_point[0] + 1,
                static=any(c.type == "static" for c in node.children),
                on_demand=any(c.type == "asterisk" for c in node.children),
            )
        )

    # ------------------------------------------------------------------ declarations

    def type_declaration(self, node: TsNode, scope: str) -> None:
        name = self.text(node.child_by_field_name("name"))
        if not name:
            return
        qualname = f"{scope}.{name}" if scope else name
        definition = JavaDef(
            qualname=qualname,
            kind=_TYPES[node.type],
            name=name,
            line=self.name_line(node),
            end_line=node.end_point[0] + 1,
            parent=scope,
            static=self.has_modifier(node, "static"),
            type_params=self.type_params(node),
        )
        self.facts.defs.append(definition)
        superclass = node.child_by_field_name("superclass")
        bases = [self.type_name(c) for c in superclass.named_children] if superclass else []
        implements: list[str] = []
        for child in node.named_children:
            if child.type == "super_interfaces":
                implements.extend(self.type_list(child))
            elif child.type == "extends_interfaces":
                bases.extend(self.type_list(child))
        definition.bases = tuple(b for b in bases if b)
        definition.implements = tuple(i for i in implements if i)
        if node.type == "record_declaration":
            # A record's components are its fields (and its accessors' results).
            params = node.child_by_field_name("parameters")
            for param in params.named_children if params is not None else ():
                self.variable(param, qualname, is_field=True)
        body = node.child_by_field_name("body")
        if body is not None:
            self.type_body(body, qualname)

    def type_body(self, body: TsNode, owner: str) -> None:
        self.overloads(body, owner)
        for member in body.named_children:
            kind = member.type
            if kind in _TYPES:
                self.type_declaration(member, owner)
            elif kind in ("method_declaration", "constructor_declaration"):
                self.method(member, owner)
            elif kind == "compact_constructor_declaration":
                self.method(member, owner, compact=True)
            elif kind in ("field_declaration", "constant_declaration"):
                self.field(member, owner)
            elif kind == "enum_constant":
                line = member.start_point[0] + 1
                name = self.text(member.child_by_field_name("name"))
                self.facts.vars.append(JavaVar(owner, name, owner.rpartition(".")[2], line, True))
                self.expressions(member, owner)
            elif kind in _BODIES:
                self.type_body(member, owner)
            elif kind in ("static_initializer", "block"):
                self.expressions(member, owner)

    def method(self, node: TsNode, owner: str, *, compact: bool = False) -> None:
        constructor = node.type != "method_declaration"
        name = "<init>" if constructor else self.text(node.child_by_field_name("name"))
        if not name:
            return
        params = node.child_by_field_name("parameters")
        plist = [
            p
            for p in (params.named_children if params is not None else ())
            if p.type in ("formal_parameter", "spread_parameter")
        ]
        arity = len(plist)
        record = node.parent.parent if node.parent is not None else None
        if compact and record is not None:
            # record R(int a) { R { … } }: the canonical constructor, the record's components
            components = record.child_by_field_name("parameters")
            arity = components.named_child_count if components is not None else 0
        qualname = f"{owner}.{name}/{arity}"
        if (owner, name, arity) in self.clashing:
            # Overloads of one arity: their parameter types (erased) tell them apart.
            qualname += "(" + ",".join(self.param_type(p) for p in plist) + ")"
        self.facts.defs.append(
            JavaDef(
                qualname=qualname,
                kind="constructor" if constructor else "method",
                name=name,
                line=self.name_line(node),
                end_line=node.end_point[0] + 1,
                parent=owner,
                arity=arity,
                varargs=bool(plist) and plist[-1].type == "spread_parameter",
                static=self.has_modifier(node, "static"),
                type_params=self.type_params(node),
            )
        )
        for param in plist:
            self.variable(param, qualname)
        body = node.child_by_field_name("body")
        if body is not None:
            self.expressions(body, qualname)

    def overloads(self, body: TsNode, owner: str) -> None:
        """Note the (name, arity) pairs declared more than once in a type body."""
        seen: set[tuple[str, int]] = set()
        members = list(body.named_children)
        for member in members:
            if member.type == "enum_body_declarations":
                members.extend(member.named_children)
                continue
            if member.type not in ("method_declaration", "constructor_declaration"):
                continue
            name = member.type == "method_declaration" and self.text(
                member.child_by_field_name("name")
            )
            params = member.child_by_field_name("parameters")
            arity = sum(
                1
                for p in (params.named_children if params is not None else ())
                if p.type in ("formal_parameter", "spread_parameter")
            )
            key = (name or "<init>", arity)
            if key in seen:
                self.clashing.add((owner, *key))
            seen.add(key)

    def param_type(self, param: TsNode) -> str:
        """A parameter's type as written, without spaces and type arguments."""
        node = param.child_by_field_name("type")
        if node is None:  # spread_parameter
            node = next((c for c in param.named_children if c.type != "modifiers"), None)
        out: list[str] = []
        depth = 0
        for ch in self.text(node):
            depth += ch == "<"
            if depth == 0 and not ch.isspace():
                out.append(ch)
            depth -= ch == ">"
        return "".join(out) + ("..." if param.type == "spread_parameter" else "")

    def field(self, node: TsNode, owner: str) -> None:
        type_name = self.type_name(node.child_by_field_name("type"))
        for declarator in node.children_by_field_name("declarator"):
            name = self.text(declarator.child_by_field_name("name"))
            line = declarator.start_point[0] + 1
            typed = self.var_type(type_name, declarator)
            self.facts.vars.append(JavaVar(owner, name, typed, line, field=True))
            value = declarator.child_by_field_name("value")
            if value is not None:
                self.expressions(value, owner)

    def variable(self, node: TsNode, scope: str, *, is_field: bool = False) -> None:
        """A parameter, a resource, a catch or for-each variable: one type, one name."""
        type_node = node.child_by_field_name(
            "right" if node.type == "instanceof_expression" else "type"
        )
        if type_node is None:  # spread_parameter: type and declarator are unnamed children
            type_node = next((c for c in node.named_children if c.type != "modifiers"), None)
        name_node = node.child_by_field_name("name")
        if name_node is None:
            declarator = next(
                (c for c in node.named_children if c.type == "variable_declarator"), None
            )
            name_node = declarator.child_by_field_name("name") if declarator else None
        if name_node is None:
            return
        line = node.start_point[0] + 1
        typed = "" if node.type == "spread_parameter" else self.type_name(type_node)
        self.facts.vars.append(JavaVar(scope, self.text(name_node), typed, line, is_field))

    def var_type(self, declared: str, declarator: TsNode) -> str:
        """The type a declarator gives its variable: ``var`` takes a ``new``'s type; an array
        dimension on the name (``Cart c[]``) makes it an array, of no type of ours."""
        if any(c.type == "dimensions" for c in declarator.children):
            return ""
        if declared != "var":
            return declared
        value = declarator.child_by_field_name("value")
        if value is not None and value.type == "object_creation_expression":
            return self.type_name(value.child_by_field_name("type"))
        return ""

    def name_line(self, node: TsNode) -> int:
        """A declaration's line is its name's, as for Python's ``def``: annotations and
        modifiers on the lines above are not where it is declared."""
        name = node.child_by_field_name("name")
        return (name or node).start_point[0] + 1

    def has_modifier(self, node: TsNode, word: str) -> bool:
        mods = next((c for c in node.children if c.type == "modifiers"), None)
        return mods is not None and any(c.type == word for c in mods.children)

    def type_params(self, node: TsNode) -> tuple[str, ...]:
        params = node.child_by_field_name("type_parameters")
        if params is None:
            return ()
        out = []
        for param in params.named_children:
            name = next((c for c in param.named_children if c.type == "type_identifier"), None)
            if name is not None:
                out.append(self.text(name))
        return tuple(out)

    def type_list(self, node: TsNode) -> list[str]:
        out: list[str] = []
        for child in node.named_children:
            if child.type == "type_list":
                out.extend(self.type_name(t) for t in child.named_children)
        return out

    def type_name(self, node: TsNode | None) -> str:
        """``Cart``, ``java.util.List`` for ``java.util.List<T>``; ``""`` for primitives and
        arrays (nothing of ours to call on them)."""
        if node is None:
            return ""
        if node.type == "generic_type":
            node = next(
                (
                    c
                    for c in node.named_children
                    if c.type in ("type_identifier", "scoped_type_identifier")
                ),
                None,
            )
            return self.type_name(node)
        if node.type == "scoped_type_identifier":
            # Each segment may carry type arguments (Outer<T>.Inner): keep the names only.
            parts = [self.type_name(c) for c in node.named_children if c.type != "annotation"]
            return ".".join(p for p in parts if p)
        if node.type == "type_identifier":
            return self.text(node)
        if node.type == "catch_type" and node.named_child_count == 1:  # not a union A | B
            return self.type_name(node.named_children[0])
        return ""

    # ------------------------------------------------------------------ expressions

    def expressions(self, node: TsNode, scope: str, *, anonymous: bool = False) -> None:
        """Calls, ``new`` and local variables under ``node``. Type declarations under it (local
        classes) get their own scope; an anonymous class body stays in ``scope`` but with
        ``anonymous`` set, which makes implicit and ``this`` receivers unknown."""
        stack: list[tuple[TsNode, bool]] = [(node, anonymous)]
        while stack:
            current, anon = stack.pop()
            kind = current.type
            if kind in _TYPES:
                self.type_declaration(current, scope)
                continue
            if kind == "method_invocation":
                self.invocation(current, scope, anon)
            elif kind == "explicit_constructor_invocation":
                self.constructor_call(current, scope)
            elif kind == "object_creation_expression":
                self.creation(current, scope)
                body = next((c for c in current.named_children if c.type == "class_body"), None)
                if body is not None:
                    # Its members' locals and calls, but no definitions of ours.
                    kids = [c for c in current.named_children if c.type != "class_body"]
                    stack.extend((c, anon) for c in reversed(kids))
                    stack.append((body, True))
                    continue
            elif kind == "local_variable_declaration":
                type_name = self.type_name(current.child_by_field_name("type"))
                for declarator in current.children_by_field_name("declarator"):
                    name = self.text(declarator.child_by_field_name("name"))
                    line = declarator.start_point[0] + 1
                    typed = self.var_type(type_name, declarator)
                    self.facts.vars.append(JavaVar(scope, name, typed, line))
            elif kind in (
                "enhanced_for_statement",
                "catch_formal_parameter",
                "resource",
                "formal_parameter",
                "instanceof_expression",
            ) and (current.child_by_field_name("name") is not None):
                self.variable(current, scope)
            stack.extend((c, anon) for c in reversed(current.named_children))

    def invocation(self, node: TsNode, scope: str, anon: bool) -> None:
        obj = node.child_by_field_name("object")
        receiver: tuple[str, ...] = ()
        receiver_kind = ""
        if obj is not None:
            receiver = self.path(obj)
            receiver_kind = "path" if receiver else "expr"
            if obj.type == "object_creation_expression" and not any(
                c.type == "class_body" for c in obj.named_children
            ):
                receiver = tuple(self.type_name(obj.child_by_field_name("type")).split("."))
                receiver_kind = "new" if receiver != ("",) else "expr"
        name = self.text(node.child_by_field_name("name"))
        if anon and (receiver_kind == "" or receiver[:1] == ("this",)):
            receiver_kind, receiver = "expr", ()
        self.facts.calls.append(
            JavaCall(
                caller=scope,
                name=name,
                arity=self.arity(node),
                line=node.start_point[0] + 1,
                receiver=receiver,
                receiver_kind=receiver_kind,
                text=(f"{self.text(obj)[:60]}.{name}" if obj is not None else name),
            )
        )

    def constructor_call(self, node: TsNode, scope: str) -> None:
        """``this(…)``/``super(…)`` in a constructor."""
        target = node.child_by_field_name("constructor")
        if target is None or target.type not in ("this", "super"):
            return
        self.facts.calls.append(
            JavaCall(
                caller=scope,
                name="<init>",
                arity=self.arity(node),
                line=node.start_point[0] + 1,
                receiver=(target.type,),
                receiver_kind="path",
                new=False,
                text=target.type,
            )
        )

    def creation(self, node: TsNode, scope: str) -> None:
        type_name = self.type_name(node.child_by_field_name("type"))
        self.facts.calls.append(
            JavaCall(
                caller=scope,
                name="<init>",
                arity=self.arity(node),
                line=node.start_point[0] + 1,
                receiver=tuple(type_name.split(".")) if type_name else (),
                receiver_kind="path" if type_name else "expr",
                new=True,
                text="new " + self.text(node.child_by_field_name("type"))[:60],
            )
        )

    def arity(self, node: TsNode) -> int:
        args = node.child_by_field_name("arguments")
        return args.named_child_count if args is not None else 0

    def path(self, node: TsNode) -> tuple[str, ...]:
        """``a.b.c`` as ``("a", "b", "c")``, ``this``/``super`` included; empty for anything
        else (a call's result, an array element, a literal)."""
        parts: list[str] = []
        current: TsNode | None = node
        while current is not None:
            kind = current.type
            if kind in ("identifier", "this", "super"):
                parts.append(self.text(current))
                return tuple(reversed(parts))
            if kind == "field_access":
                name = current.child_by_field_name("field")
                if name is None or name.type not in ("identifier", "this"):
                    return ()
                parts.append(self.text(name))
                current = current.child_by_field_name("object")
                continue
            if kind == "parenthesized_expression":
                current = current.named_children[0] if current.named_children else None
                continue
            return ()
        return ()
