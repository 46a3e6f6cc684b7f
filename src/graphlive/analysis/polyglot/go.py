"""Go files → :class:`GoFacts`, from tree-sitter's syntax tree (the shape of :mod:`.javascript`).

Contracts:

* Never raises for the file's content: tree-sitter recovers from syntax errors; the first
  errors become ``syntax-error`` diagnostics and what parsed is kept. Names are decoded with
  replacement, so undecodable bytes cannot stop extraction.
* Generated files are skipped with a diagnostic (``generated-file``): over ``max_bytes``,
  minified (lines averaging over 300 characters), or marked with Go's own convention, a
  ``// Code generated … DO NOT EDIT.`` line before the package clause.
* What is recorded: the package clause; imports with their alias (``_`` and ``.`` included);
  functions with their declared result types; methods with their receiver type (pointer or
  not), qualified ``Type.Method``; struct types with their fields and embedded types; interface
  types with their methods (``Iface.Method`` definitions) and embedded interfaces; other named
  types (``type Celsius float64``, which may have methods); every call with the name path it
  calls (``f()``, ``pkg.F()``, ``x.M()``, ``x.f.M()``), including calls on a composite literal
  (``T{}.M()``, ``(&T{}).M()``) or on a call's result (``NewT().M()``); and the variables whose
  type is known: ``x := T{}``, ``x := &T{}``, ``x := new(T)``, ``x := y.(T)``, ``var x T``,
  ``x := NewT()`` / ``x, err := NewT()`` (the type is the function's declared result, found at
  resolution), parameters and the method receiver. Every other variable is recorded as a local
  of unknown type, so that it shadows package-level names and imports instead of being taken
  for them.
* Scopes are flat per function: a function literal's calls and variables are its enclosing
  function's (as in :mod:`.javascript`, calls in a callback are the enclosing definition's).
  Types declared inside a function body are not definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node as TsNode

from graphlive.analysis.facts import DiagFact, file_diag
from graphlive.analysis.polyglot.facts import SourceFacts
from graphlive.analysis.polyglot.screening import node_text, parse_screened

__all__ = ["GoBinding", "GoCall", "GoDef", "GoFacts", "GoImport", "GoType", "extract_go"]

#: A named type as written, pointer and type arguments stripped: ``("Store",)`` for ``*Store``,
#: ``("store", "Store")`` for ``store.Store``; empty for anything unnamed (slices, maps, funcs).
GoType = tuple[str, ...]

#: Go's convention for generated files: a "// Code generated … DO NOT EDIT." line before the
#: package clause.
_GENERATED = re.compile(rb"^// Code generated .* DO NOT EDIT\.$", re.MULTILINE)
_PACKAGE_LINE = re.compile(rb"^package\s", re.MULTILINE)


@dataclass(slots=True)
class GoImport:
    """``import alias "path"``: ``alias`` is ``""`` when none is written, or ``_``/``.``."""

    path: str
    alias: str
    line: int


@dataclass(slots=True)
class GoDef:
    """A function, method or named type. ``kind``: ``struct``, ``interface``, ``type`` (any
    other named type), ``function`` or ``method``. A method's ``parent`` is its receiver type's
    name (declared anywhere in the package) or, for a method of an interface, the interface.
    ``embeds``: embedded types (struct or interface embedding); ``fields``: a struct's named
    fields with their types; ``results``: a function's or method's declared result types."""

    qualname: str
    kind: str
    name: str
    line: int
    end_line: int
    parent: str = ""
    pointer: bool = False
    embeds: tuple[GoType, ...] = ()
    fields: dict[str, GoType] = field(default_factory=dict)
    results: tuple[GoType, ...] = ()


@dataclass(slots=True)
class GoCall:
    """A call in ``caller`` (a qualname, ``""``: a package-level initializer). ``callee`` is
    the called expression as a name path (``("pkg", "F")``, ``("x", "f", "M")``), empty when
    it is none. With ``on``, ``callee`` is the method path on a value of type ``on``
    (``T{}.M()``), or on the result of calling ``on`` when ``on_call`` (``NewT().M()``)."""

    caller: str
    callee: tuple[str, ...]
    line: int
    text: str = ""
    on: tuple[str, ...] = ()
    on_call: bool = False


@dataclass(frozen=True, slots=True)
class GoBinding:
    """What is known of a variable's type: ``path`` is its type, or with ``call`` the function
    whose ``index``-th declared result it holds."""

    path: tuple[str, ...]
    call: bool = False
    index: int = 0


@dataclass(slots=True)
class GoFacts(SourceFacts):
    """Everything extraction learnt about one Go file. ``typed`` maps ``(scope, variable)`` to
    what its type is (scope ``""``: a package-level variable); ``locals`` holds every variable
    declared in a function, known type or not."""

    language: str = "go"
    package: str = ""
    imports: list[GoImport] = field(default_factory=list)
    defs: list[GoDef] = field(default_factory=list)
    calls: list[GoCall] = field(default_factory=list)
    typed: dict[tuple[str, str], GoBinding] = field(default_factory=dict)
    locals: set[tuple[str, str]] = field(default_factory=set)


def extract_go(rel: str, data: bytes, *, max_bytes: int = 1_000_000) -> GoFacts:
    """The facts of the Go file ``rel`` (relative path, ``/`` separators) holding ``data``."""
    facts = GoFacts(file=rel)

    def marked(data: bytes) -> DiagFact | None:
        package = _PACKAGE_LINE.search(data)
        if _GENERATED.search(data, 0, package.start() if package else len(data)):
            return file_diag(rel, "generated-file", "marked 'Code generated … DO NOT EDIT.'")
        return None

    root = parse_screened(facts, data, max_bytes, marked)
    if root is None:
        return facts
    walker = _Walker(facts, data)
    for child in root.named_children:
        walker.top_level(child)
    return facts


class _Walker:
    def __init__(self, facts: GoFacts, data: bytes) -> None:
        self.facts = facts
        self.data = data

    def text(self, node: TsNode | None) -> str:
        return node_text(self.data, node)

    # ------------------------------------------------------------------ declarations

    def top_level(self, node: TsNode) -> None:
        kind = node.type
        if kind == "package_clause":
            name = next((c for c in node.named_children if c.type == "package_identifier"), None)
            self.facts.package = self.text(name)
        elif kind == "import_declaration":
            self.imports(node)
        elif kind == "function_declaration":
            self.function(node, None)
        elif kind == "method_declaration":
            receiver = node.child_by_field_name("receiver")
            self.function(node, receiver)
        elif kind == "type_declaration":
            for spec in node.named_children:
                if spec.type in ("type_spec", "type_alias"):
                    self.type_spec(spec)
        else:  # var, const, and whatever an error left: calls belong to the package
            self.body(node, "")

    def imports(self, node: TsNode) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type != "import_spec":
                stack.extend(reversed(current.named_children))
                continue
            path = current.child_by_field_name("path")
            content = next((c for c in path.named_children), None) if path else None
            if content is None:
                continue
            alias = current.child_by_field_name("name")
            self.facts.imports.append(
                GoImport(self.text(content), self.text(alias), current.start_point[0] + 1)
            )

    def add_def(self, node: TsNode, qualname: str, kind: str, name: str, parent: str) -> GoDef:
        definition = GoDef(
            qualname=qualname,
            kind=kind,
            name=name,
            line=node.start_point[0] + 1,
            end_line=node.end_point[0] + 1,
            parent=parent,
        )
        self.facts.defs.append(definition)
        return definition

    def function(self, node: TsNode, receiver: TsNode | None) -> None:
        name = self.text(node.child_by_field_name("name"))
        if not name:
            return
        if receiver is None:
            definition = self.add_def(node, name, "function", name, "")
        else:
            param = next(
                (c for c in receiver.named_children if c.type == "parameter_declaration"), None
            )
            type_node = param.child_by_field_name("type") if param is not None else None
            receiver_type = self.type_path(type_node)
            if len(receiver_type) != 1:
                return  # no receiver type to attach the method to (a syntax error)
            owner = receiver_type[0]
            definition = self.add_def(node, f"{owner}.{name}", "method", name, owner)
            definition.pointer = type_node is not None and type_node.type == "pointer_type"
            if param is not None:
                self.parameters(receiver, definition.qualname)
        self.parameters(node.child_by_field_name("parameters"), definition.qualname)
        definition.results = self.results(node)
        body = node.child_by_field_name("body")
        if body is not None:
            self.body(body, definition.qualname)

    def results(self, node: TsNode) -> tuple[GoType, ...]:
        """The declared result types of a function, method or interface method, one per
        result (``(a, b T)`` is two)."""
        result = node.child_by_field_name("result")
        if result is None:
            return ()
        if result.type != "parameter_list":
            return (self.type_path(result),)
        return tuple(
            self.type_path(p.child_by_field_name("type"))
            for p in result.named_children
            if p.type == "parameter_declaration"
            for _ in range(max(1, len(p.children_by_field_name("name"))))
        )

    def type_spec(self, node: TsNode) -> None:
        name = self.text(node.child_by_field_name("name"))
        value = node.child_by_field_name("type")
        if not name or value is None:
            return
        if value.type == "struct_type":
            definition = self.add_def(node, name, "struct", name, "")
            embeds: list[GoType] = []
            fields = value.named_children[0] if value.named_children else None
            for decl in fields.named_children if fields is not None else ():
                if decl.type != "field_declaration":
                    continue
                path = self.type_path(decl.child_by_field_name("type"))
                names = decl.children_by_field_name("name")
                if not names and path:
                    embeds.append(path)
                for field_name in names:
                    definition.fields[self.text(field_name)] = path
            definition.embeds = tuple(embeds)
        elif value.type == "interface_type":
            definition = self.add_def(node, name, "interface", name, "")
            embeds = []
            for member in value.named_children:
                if member.type == "method_elem":
                    method = self.text(member.child_by_field_name("name"))
                    if method:
                        signature = self.add_def(member, f"{name}.{method}", "method", method, name)
                        signature.results = self.results(member)
                elif member.type == "type_elem" and len(member.named_children) == 1:
                    path = self.type_path(member.named_children[0])
                    if path:  # a single named type; unions (int | string) constrain only
                        embeds.append(path)
            definition.embeds = tuple(embeds)
        else:
            self.add_def(node, name, "type", name, "")

    def parameters(self, node: TsNode | None, scope: str) -> None:
        for param in node.named_children if node is not None else ():
            if param.type not in ("parameter_declaration", "variadic_parameter_declaration"):
                continue
            type_node = param.child_by_field_name("type")
            path = self.type_path(type_node) if param.type == "parameter_declaration" else ()
            for name_node in param.children_by_field_name("name"):
                self.bind(scope, self.text(name_node), GoBinding(path) if path else None)

    def bind(self, scope: str, name: str, binding: GoBinding | None) -> None:
        if not name or name == "_":
            return
        if scope:
            self.facts.locals.add((scope, name))
        # The first declaration wins: a later `x = …` of another type is not followed.
        if binding is not None and (scope, name) not in self.facts.typed:
            self.facts.typed[(scope, name)] = binding

    def type_path(self, node: TsNode | None) -> GoType:
        while node is not None:
            kind = node.type
            if kind == "type_identifier":
                return (self.text(node),)
            if kind == "qualified_type":
                package = self.text(node.child_by_field_name("package"))
                return (package, self.text(node.child_by_field_name("name")))
            if kind in ("pointer_type", "parenthesized_type"):
                node = node.named_children[0] if node.named_children else None
            elif kind == "generic_type":
                node = node.child_by_field_name("type")
            else:
                return ()
        return ()

    # ------------------------------------------------------------------ bodies

    def body(self, node: TsNode, scope: str) -> None:
        """Every call and variable declaration under ``node``, in ``scope``."""
        stack = [node]
        while stack:
            current = stack.pop()
            kind = current.type
            if kind == "call_expression":
                self.call(current, scope)
            elif kind == "type_conversion_expression":
                # f[int](x) parses as a conversion to a generic type: it may be a call.
                target = current.child_by_field_name("type")
                if target is not None and target.type == "generic_type":
                    self.record_call(current, target.child_by_field_name("type"), scope)
            elif kind == "short_var_declaration":
                self.declare(current.child_by_field_name("left"), current, scope)
            elif kind == "var_spec":
                self.var_spec(current, scope)
            elif kind == "range_clause":
                self.declare(current.child_by_field_name("left"), None, scope)
            elif kind == "func_literal":
                self.parameters(current.child_by_field_name("parameters"), scope)
            stack.extend(reversed(current.named_children))

    def var_spec(self, node: TsNode, scope: str) -> None:
        names = node.children_by_field_name("name")
        declared = self.type_path(node.child_by_field_name("type"))
        values = self.values(node.child_by_field_name("value"))
        for i, name_node in enumerate(names):
            binding = GoBinding(declared) if declared else self.binding(values, i, len(names))
            self.bind(scope, self.text(name_node), binding)

    def declare(self, left: TsNode | None, statement: TsNode | None, scope: str) -> None:
        names = [n for n in left.named_children] if left is not None else []
        right = statement.child_by_field_name("right") if statement is not None else None
        values = self.values(right)
        for i, name_node in enumerate(names):
            if name_node.type != "identifier":
                continue
            self.bind(scope, self.text(name_node), self.binding(values, i, len(names)))

    def values(self, node: TsNode | None) -> list[TsNode]:
        if node is None:
            return []
        return list(node.named_children) if node.type == "expression_list" else [node]

    def binding(self, values: list[TsNode], index: int, count: int) -> GoBinding | None:
        """The type of the ``index``-th of ``count`` names assigned ``values``."""
        if len(values) == count:
            value, result = values[index], 0
        elif len(values) == 1:  # a, err := f(): the results of one call
            value, result = values[0], index
        else:
            return None
        while value.type == "parenthesized_expression" and value.named_children:
            value = value.named_children[0]
        if value.type == "unary_expression" and self.text(value).startswith("&"):
            value = value.child_by_field_name("operand") or value
        if value.type == "composite_literal" and result == 0:
            path = self.type_path(value.child_by_field_name("type"))
            return GoBinding(path) if path else None
        if value.type == "type_assertion_expression" and result == 0:
            path = self.type_path(value.child_by_field_name("type"))
            return GoBinding(path) if path else None
        if value.type == "call_expression":
            callee = self.path(value.child_by_field_name("function"))
            if callee == ("new",) and result == 0:
                args = value.child_by_field_name("arguments")
                first = args.named_children[0] if args and args.named_children else None
                path = self.type_path(first)
                return GoBinding(path) if path else None
            return GoBinding(callee, call=True, index=result) if callee else None
        return None

    def call(self, node: TsNode, scope: str) -> None:
        self.record_call(node, node.child_by_field_name("function"), scope)

    def record_call(self, node: TsNode, target: TsNode | None, scope: str) -> None:
        if target is None:
            return
        callee = self.path(target)
        on: tuple[str, ...] = ()
        on_call = False
        if not callee and target.type == "selector_expression":
            operand = target.child_by_field_name("operand")
            method = self.text(target.child_by_field_name("field"))
            while operand is not None and operand.type == "parenthesized_expression":
                operand = operand.named_children[0] if operand.named_children else None
            if operand is not None and operand.type == "unary_expression":
                operand = operand.child_by_field_name("operand")
            if operand is not None and operand.type == "composite_literal":
                on = self.type_path(operand.child_by_field_name("type"))
            elif operand is not None and operand.type == "call_expression":
                on = self.path(operand.child_by_field_name("function"))
                on_call = True
            callee = (method,) if on and method else ()
            on_call = on_call and bool(on)
        self.facts.calls.append(
            GoCall(
                caller=scope,
                callee=callee,
                line=node.start_point[0] + 1,
                text=self.text(target)[:80],
                on=on,
                on_call=on_call,
            )
        )

    def path(self, node: TsNode | None) -> tuple[str, ...]:
        """``a.b.c`` as ``("a", "b", "c")``; empty for anything else (a call's result, an
        index, a literal)."""
        parts: list[str] = []
        while node is not None:
            kind = node.type
            if kind in ("identifier", "type_identifier", "package_identifier"):
                parts.append(self.text(node))
                return tuple(reversed(parts))
            if kind == "selector_expression":
                parts.append(self.text(node.child_by_field_name("field")))
                node = node.child_by_field_name("operand")
            elif kind == "parenthesized_expression":
                node = node.named_children[0] if node.named_children else None
            elif kind == "generic_type":  # f[int]: the function instantiated
                node = node.child_by_field_name("type")
            elif kind == "index_expression":  # pkg.F[int]
                node = node.child_by_field_name("operand")
            else:
                return ()
        return ()
