"""JavaScript and TypeScript files → :class:`ScriptFacts`, from tree-sitter's syntax tree.

Contracts:

* Never raises for the file's content: tree-sitter recovers from syntax errors; the first
  errors become ``syntax-error`` diagnostics and what parsed is kept. Undecodable text cannot
  occur (tree-sitter reads bytes; names are decoded with replacement).
* Generated files are skipped with a diagnostic (``generated-file``): over ``max_bytes``, or
  minified (lines averaging over 300 characters); their module node is still written.
* What is recorded: ES ``import``/``export`` (named, default, namespace, re-exports, ``export *``),
  CommonJS ``require`` (whole module or destructured) and ``module.exports``/``exports.x``,
  function and class declarations, functions and classes assigned to a ``const``/``let``/``var``,
  methods (and arrow functions in class fields), TypeScript interfaces, ``extends`` and
  ``implements``, every call and ``new`` with the name path it calls, and which variables hold
  a ``new`` instance (``const c = new Cart()``). Calls inside a callback are the enclosing
  definition's.
"""

from __future__ import annotations

from tree_sitter import Node as TsNode

from graphlive.analysis.polyglot.facts import (
    ScriptCall,
    ScriptDef,
    ScriptExport,
    ScriptFacts,
    ScriptImport,
)
from graphlive.analysis.polyglot.languages import language_of
from graphlive.analysis.polyglot.screening import node_text, parse_screened

__all__ = ["extract_script"]


_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "function_signature"}
)
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration"})
_CLASS_VALUES = frozenset({"class"})


def extract_script(rel: str, data: bytes, *, max_bytes: int = 1_000_000) -> ScriptFacts:
    """The facts of the file ``rel`` (relative path, ``/`` separators) holding ``data``."""
    facts = ScriptFacts(file=rel, language=language_of(rel) or "javascript")
    root = parse_screened(facts, data, max_bytes)
    if root is None:
        return facts
    _Walker(facts, data).block(root, "")
    return facts


class _Walker:
    def __init__(self, facts: ScriptFacts, data: bytes) -> None:
        self.facts = facts
        self.data = data

    def text(self, node: TsNode | None) -> str:
        return node_text(self.data, node)

    # ------------------------------------------------------------------ statements

    def block(self, node: TsNode, scope: str) -> None:
        for child in node.named_children:
            self.statement(child, scope)

    def statement(self, node: TsNode, scope: str) -> None:
        kind = node.type
        if kind == "import_statement":
            self.import_statement(node)
        elif kind == "export_statement":
            self.export_statement(node, scope)
        elif kind in _FUNCTIONS:
            self.function(node, scope, self.text(node.child_by_field_name("name")))
        elif kind in _CLASSES:
            self.klass(node, scope, self.text(node.child_by_field_name("name")))
        elif kind == "interface_declaration":
            self.interface(node, scope)
        elif kind in ("lexical_declaration", "variable_declaration"):
            for decl in node.named_children:
                if decl.type == "variable_declarator":
                    self.declarator(decl, scope)
        elif kind == "expression_statement" and self.commonjs_export(node, scope):
            return
        else:
            self.expressions(node, scope)

    def import_statement(self, node: TsNode) -> None:
        source = self.string(node.child_by_field_name("source"))
        if source is None:
            return
        line = node.start_point[0] + 1
        imports = self.facts.imports
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None:  # import "./side-effect"
            imports.append(ScriptImport("", source, "*", line))
            return
        for part in clause.named_children:
            if part.type == "identifier":
                imports.append(ScriptImport(self.text(part), source, "default", line))
            elif part.type == "namespace_import":
                name = next((c for c in part.named_children if c.type == "identifier"), None)
                imports.append(ScriptImport(self.text(name), source, "*", line))
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type != "import_specifier":
                        continue
                    imported = self.text(spec.child_by_field_name("name"))
                    local = self.text(spec.child_by_field_name("alias")) or imported
                    imports.append(ScriptImport(local, source, imported, line))

    def export_statement(self, node: TsNode, scope: str) -> None:
        line = node.start_point[0] + 1
        exports = self.facts.exports
        source = self.string(node.child_by_field_name("source"))
        default = any(c.type == "default" for c in node.children)
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            names = self.declared_names(declaration)
            self.statement(declaration, scope)
            for name in names:
                exports.append(ScriptExport("default" if default else name, line, local=name))
            return
        value = node.child_by_field_name("value")
        if default and value is not None:
            if value.type == "identifier":
                exports.append(ScriptExport("default", line, local=self.text(value)))
            elif value.type in _FUNCTION_VALUES:
                self.function(value, scope, "default")
                exports.append(ScriptExport("default", line, local="default"))
            elif value.type in _CLASS_VALUES:
                self.klass(value, scope, "default")
                exports.append(ScriptExport("default", line, local="default"))
            else:
                self.expressions(value, scope)
            return
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is not None:
            for spec in clause.named_children:
                if spec.type != "export_specifier":
                    continue
                name = self.text(spec.child_by_field_name("name"))
                alias = self.text(spec.child_by_field_name("alias")) or name
                if source is None:
                    exports.append(ScriptExport(alias, line, local=name))
                else:
                    exports.append(ScriptExport(alias, line, source=source, imported=name))
            return
        spaced = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if source is not None and spaced is not None:  # export * as ns from "m"
            name = self.text(next((c for c in spaced.named_children), None))
            exports.append(ScriptExport(name, line, source=source, imported="*"))
        elif source is not None:  # export * from "m"
            exports.append(ScriptExport("*", line, source=source, imported="*"))

    def declared_names(self, node: TsNode) -> list[str]:
        if (
            node.type in _FUNCTIONS
            or node.type in _CLASSES
            or node.type
            in (
                "interface_declaration",
                "type_alias_declaration",
                "enum_declaration",
            )
        ):
            name = self.text(node.child_by_field_name("name"))
            return [name] if name else []
        if node.type in ("lexical_declaration", "variable_declaration"):
            return [
                self.text(d.child_by_field_name("name"))
                for d in node.named_children
                if d.type == "variable_declarator"
                and (n := d.child_by_field_name("name")) is not None
                and n.type == "identifier"
            ]
        return []

    def declarator(self, node: TsNode, scope: str) -> None:
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if value is None or name_node is None:
            return
        if name_node.type == "identifier":
            name = self.text(name_node)
            if value.type in _FUNCTION_VALUES:
                self.function(value, scope, name)
                return
            if value.type in _CLASS_VALUES:
                self.klass(value, scope, name)
                return
            required = self.required(value)
            if required is not None:
                self.facts.imports.append(
                    ScriptImport(name, required, "*", node.start_point[0] + 1)
                )
                return
            if value.type == "new_expression":
                path = self.path(value.child_by_field_name("constructor"))
                if path:
                    self.facts.constructed[(scope, name)] = path
        elif name_node.type == "object_pattern":
            required = self.required(value)
            if required is not None:
                self.destructured_require(name_node, required, node.start_point[0] + 1)
                return
        self.expressions(value, scope)

    def destructured_require(self, pattern: TsNode, source: str, line: int) -> None:
        for part in pattern.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                name = self.text(part)
                self.facts.imports.append(ScriptImport(name, source, name, line))
            elif part.type == "pair_pattern":
                key = self.text(part.child_by_field_name("key"))
                value = part.child_by_field_name("value")
                if value is not None and value.type == "identifier":
                    self.facts.imports.append(ScriptImport(self.text(value), source, key, line))

    def commonjs_export(self, node: TsNode, scope: str) -> bool:
        """``module.exports = …``, ``module.exports.x = …`` and ``exports.x = …`` at the top
        level; True when ``node`` was one (and is handled)."""
        expr = node.named_children[0] if node.named_children else None
        if scope or expr is None or expr.type != "assignment_expression":
            return False
        left = self.path(expr.child_by_field_name("left"))
        right = expr.child_by_field_name("right")
        if right is None:
            return False
        line = node.start_point[0] + 1
        if left == ("module", "exports"):
            name = "default"
        elif len(left) == 2 and left[0] == "exports":
            name = left[1]
        elif len(left) == 3 and left[:2] == ("module", "exports"):
            name = left[2]
        else:
            return False
        exports = self.facts.exports
        if right.type in _FUNCTION_VALUES:
            self.function(right, scope, name)
            exports.append(ScriptExport(name, line, local=name))
        elif right.type in _CLASS_VALUES:
            self.klass(right, scope, name)
            exports.append(ScriptExport(name, line, local=name))
        elif right.type == "identifier":
            exports.append(ScriptExport(name, line, local=self.text(right)))
        elif right.type == "object" and name == "default":
            for prop in right.named_children:
                if prop.type == "shorthand_property_identifier":
                    exports.append(ScriptExport(self.text(prop), line, local=self.text(prop)))
                elif prop.type == "pair":
                    key = self.text(prop.child_by_field_name("key"))
                    value = prop.child_by_field_name("value")
                    if value is not None and value.type == "identifier":
                        exports.append(ScriptExport(key, line, local=self.text(value)))
                    elif value is not None and value.type in _FUNCTION_VALUES:
                        self.function(value, scope, key)
                        exports.append(ScriptExport(key, line, local=key))
        else:
            self.expressions(right, scope)
        return True

    # ------------------------------------------------------------------ definitions

    def add_def(self, node: TsNode, scope: str, name: str, kind: str) -> str:
        qualname = f"{scope}.{name}" if scope else name
        self.facts.defs.append(
            ScriptDef(
                qualname=qualname,
                kind=kind,
                name=name,
                line=node.start_point[0] + 1,
                end_line=node.end_point[0] + 1,
                parent=scope,
            )
        )
        return qualname

    def function(self, node: TsNode, scope: str, name: str, kind: str = "function") -> None:
        if not name:
            self.expressions(node, scope)
            return
        qualname = self.add_def(node, scope, name, kind)
        body = node.child_by_field_name("body")
        if body is None:
            return
        if body.type == "statement_block":
            self.block(body, qualname)
        else:  # an arrow function's expression body
            self.expressions(body, qualname)

    def klass(self, node: TsNode, scope: str, name: str) -> None:
        if not name:
            return
        qualname = self.add_def(node, scope, name, "class")
        definition = self.facts.defs[-1]
        bases: list[str] = []
        implements: list[str] = []
        for child in node.named_children:
            if child.type != "class_heritage":
                continue
            for clause in child.named_children:
                if clause.type == "extends_clause":
                    value = clause.child_by_field_name("value")
                    bases.extend(self.type_names([value] if value else clause.named_children))
                elif clause.type == "implements_clause":
                    implements.extend(self.type_names(clause.named_children))
                else:  # JavaScript: class_heritage holds the expression itself
                    bases.extend(self.type_names([clause]))
        definition.bases = tuple(bases)
        definition.implements = tuple(implements)
        body = node.child_by_field_name("body")
        if body is None:
            return
        for member in body.named_children:
            if member.type in (
                "method_definition",
                "method_signature",
                "abstract_method_signature",
            ):
                name_node = member.child_by_field_name("name")
                if name_node is not None and name_node.type in (
                    "property_identifier",
                    "private_property_identifier",
                ):
                    self.function(member, qualname, self.text(name_node), "method")
            elif member.type in ("public_field_definition", "field_definition"):
                name_node = member.child_by_field_name("name") or member.child_by_field_name(
                    "property"
                )
                value = member.child_by_field_name("value")
                if value is not None and value.type in _FUNCTION_VALUES and name_node is not None:
                    self.function(value, qualname, self.text(name_node), "method")
                elif value is not None:
                    self.expressions(value, qualname)
            elif member.type == "class_static_block":
                self.expressions(member, qualname)

    def interface(self, node: TsNode, scope: str) -> None:
        name = self.text(node.child_by_field_name("name"))
        if not name:
            return
        qualname = self.add_def(node, scope, name, "interface")
        definition = self.facts.defs[-1]
        for child in node.named_children:
            if child.type == "extends_type_clause":
                definition.bases = tuple(self.type_names(child.named_children))
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            if member.type == "method_signature":
                name_node = member.child_by_field_name("name")
                if name_node is not None and name_node.type == "property_identifier":
                    self.add_def(member, qualname, self.text(name_node), "method")

    def type_names(self, nodes: list[TsNode]) -> list[str]:
        out = []
        for node in nodes:
            if node.type == "generic_type":
                node = node.child_by_field_name("name") or node
            path = self.path(node)
            if path:
                out.append(".".join(path))
        return out

    # ------------------------------------------------------------------ expressions

    def expressions(self, node: TsNode, scope: str) -> None:
        """Every call and ``new`` under ``node`` (definitions under it get their own scope)."""
        stack = [node]
        while stack:
            current = stack.pop()
            kind = current.type
            if kind in ("call_expression", "new_expression"):
                self.call(current, scope)
            elif kind in _FUNCTIONS or kind in _CLASSES:
                self.statement(current, scope)
                continue
            elif kind in _CLASS_VALUES:
                continue  # an anonymous class expression: not a definition of ours
            stack.extend(reversed(current.named_children))

    def call(self, node: TsNode, scope: str) -> None:
        new = node.type == "new_expression"
        target = node.child_by_field_name("constructor" if new else "function")
        if target is None:
            return
        if not new and target.type == "identifier" and self.text(target) == "require":
            return  # module loading, recorded as an import where it is bound
        if not new and target.type == "import":
            return  # import("./m"): dynamic loading
        callee = self.path(target)
        on_new: tuple[str, ...] = ()
        if not callee and target.type == "member_expression":
            # new C(…).m(): the method of the instance just made
            obj = target.child_by_field_name("object")
            prop = target.child_by_field_name("property")
            while obj is not None and obj.type == "parenthesized_expression":
                obj = obj.named_children[0] if obj.named_children else None
            if obj is not None and obj.type == "new_expression" and prop is not None:
                on_new = self.path(obj.child_by_field_name("constructor"))
                callee = (self.text(prop),) if on_new else ()
        self.facts.calls.append(
            ScriptCall(
                caller=scope,
                callee=callee,
                line=node.start_point[0] + 1,
                new=new,
                text=self.text(target)[:80],
                on_new=on_new,
            )
        )

    def path(self, node: TsNode | None) -> tuple[str, ...]:
        """``a.b.c`` as ``("a", "b", "c")``; ``this``/``super`` are names of the path; empty
        for anything else (a call's result, an index)."""
        parts: list[str] = []
        while node is not None:
            kind = node.type
            if kind in ("identifier", "type_identifier", "this", "super"):
                parts.append(self.text(node))
                return tuple(reversed(parts))
            if kind in ("member_expression", "nested_type_identifier", "nested_identifier"):
                prop = node.child_by_field_name("property") or node.child_by_field_name("name")
                if prop is None or prop.type not in (
                    "property_identifier",
                    "type_identifier",
                    "identifier",
                    "private_property_identifier",
                ):
                    return ()
                parts.append(self.text(prop))
                node = node.child_by_field_name("object") or node.child_by_field_name("module")
                continue
            if kind in ("parenthesized_expression", "non_null_expression"):
                node = node.named_children[0] if node.named_children else None
                continue
            return ()
        return ()

    def required(self, node: TsNode) -> str | None:
        """The module of ``require("m")``, else ``None``."""
        if node.type != "call_expression":
            return None
        function = node.child_by_field_name("function")
        if function is None or self.text(function) != "require":
            return None
        args = node.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        return self.string(first)

    def string(self, node: TsNode | None) -> str | None:
        if node is None or node.type != "string":
            return None
        return "".join(self.text(c) for c in node.named_children if c.type == "string_fragment")
