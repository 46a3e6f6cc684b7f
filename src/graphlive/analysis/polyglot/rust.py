"""Rust files → :class:`RustFacts`, from tree-sitter's syntax tree (``tree-sitter-rust``).

Contracts (the same as :mod:`.javascript`):

* Never raises for the file's content: tree-sitter recovers from syntax errors; the first
  errors become ``syntax-error`` diagnostics and what parsed is kept. Names are decoded with
  replacement, so undecodable bytes cannot stop extraction.
* Generated files are skipped with a diagnostic (``generated-file``): over ``max_bytes``, or
  with lines averaging over 300 characters; their module node is still written.
* What is recorded: ``mod x;`` declarations and inline ``mod x { … }`` blocks; ``use``
  declarations (paths, ``as`` aliases, groups, globs, ``crate::``/``self::``/``super::``);
  functions, structs, enums, unions and traits (with their methods, and which have a default
  body); ``impl Type`` and ``impl Trait for Type`` blocks, whose methods are ``Type.method``
  (``Type.Trait.method`` when the type already has a method of that name in the file); every
  call with the path it calls (``f``, ``a::b::f``, ``Type::new``), ``Self`` replaced by the
  impl's type (or the trait, in a trait's default method), and for ``x.m()`` the type or
  traits of ``x`` when the function says them: ``self``, typed parameters (``&T``, ``&mut T``,
  ``Box<dyn Trait>``, ``impl Trait``, a generic bounded by traits), ``let x: T``,
  ``let x = T::new(…)`` (any ``T::f(…)`` with a capitalised ``T``), ``let x = T { … }``.
* Bindings are per function, in source order (a later ``let`` shadows), not per block.
  Calls in closures are the enclosing function's. Calls in macro arguments (``println!``,
  ``vec!``) are read from the token tree by shape (``a::f(``, ``x.m(``), since tree-sitter
  does not parse macro input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node as TsNode

from graphlive.analysis.polyglot.facts import SourceFacts
from graphlive.analysis.polyglot.screening import node_text, parse_screened

__all__ = ["RustCall", "RustDef", "RustFacts", "RustImpl", "RustMod", "RustType", "RustUse"]

Path = tuple[str, ...]
#: Smart pointers whose methods are (for our purpose) those of what they point to.
_POINTERS = frozenset({"Box", "Rc", "Arc", "RefCell", "Cell", "Mutex"})
_TYPE_ITEMS = {"struct_item": "struct", "enum_item": "enum", "union_item": "union"}
_PATH_NODES = frozenset({"identifier", "type_identifier", "self", "crate", "super"})


@dataclass(frozen=True, slots=True)
class RustType:
    """What a receiver is: a type (``paths`` holds one path as written) or a value of some
    trait(s) (``dyn``/``impl Trait``, a bounded generic: every bound)."""

    kind: str  # "type" | "trait"
    paths: tuple[Path, ...]


@dataclass(slots=True)
class RustDef:
    """A module block, function, type, trait or method. ``qualname`` is dotted within the file
    (``shop.Cart.total``); ``parent`` the qualname of its container (``""``: the file);
    ``module`` that of the inline module holding it (``""``: the file's module). Methods of an
    ``impl`` carry its type (``impl_type``) and trait (``impl_trait``) as written."""

    qualname: str
    kind: str  # "mod" | "function" | "struct" | "enum" | "union" | "trait" | "method"
    name: str
    line: int
    end_line: int
    parent: str = ""
    module: str = ""
    impl_type: Path = ()
    impl_trait: Path = ()
    default: bool = False  # a trait's method with a body
    bounds: tuple[Path, ...] = ()  # a trait's supertraits


@dataclass(slots=True)
class RustMod:
    """``mod name;`` (``inline`` False: its file is looked up) or ``mod name { … }``, declared
    in the inline module ``scope`` of the file."""

    name: str
    scope: str
    line: int
    inline: bool


@dataclass(slots=True)
class RustUse:
    """``use path as alias;`` in ``scope`` (an inline module's or a function's qualname).
    ``alias`` is the name bound (the last segment when not renamed; ``""`` for a glob
    ``path::*``, where ``path`` is the prefix)."""

    scope: str
    path: Path
    alias: str
    line: int


@dataclass(slots=True)
class RustImpl:
    """``impl trait for type_path`` (``trait`` empty: an inherent impl) in inline module
    ``scope``."""

    scope: str
    type_path: Path
    trait: Path
    line: int


@dataclass(slots=True)
class RustCall:
    """A call in ``caller`` (a qualname; ``""``: a ``const``/``static`` of the file).
    ``callee``: the path called (``("Cart", "new")``), or for a method call ``x.m()`` just
    ``("m",)`` with ``method`` set and ``receiver`` what ``x`` is (``None``: unknown).
    ``arg``: what the first argument is, for ``Trait::m(&x)``."""

    caller: str
    callee: Path
    line: int
    text: str = ""
    method: bool = False
    receiver: RustType | None = None
    arg: RustType | None = None


@dataclass(slots=True)
class RustFacts(SourceFacts):
    """Everything extraction learnt about one Rust file."""

    language: str = "rust"
    defs: list[RustDef] = field(default_factory=list)
    mods: list[RustMod] = field(default_factory=list)
    uses: list[RustUse] = field(default_factory=list)
    impls: list[RustImpl] = field(default_factory=list)
    calls: list[RustCall] = field(default_factory=list)


def extract_rust(rel: str, data: bytes, *, max_bytes: int = 1_000_000) -> RustFacts:
    """The facts of the Rust file ``rel`` (relative path, ``/`` separators) holding ``data``."""
    facts = RustFacts(file=rel)
    root = parse_screened(facts, data, max_bytes)
    if root is None:
        return facts
    _Walker(facts, data).items(root, "", "")
    return facts


def _q(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


@dataclass(slots=True)
class _Fn:
    """The function being walked: its qualname, variable types, generics' bounds, and what
    ``Self`` stands for (a type path, or a trait's path in a trait's default method)."""

    qualname: str
    self_type: RustType | None
    env: dict[str, RustType] = field(default_factory=dict)
    generics: dict[str, tuple[Path, ...]] = field(default_factory=dict)


class _Walker:
    def __init__(self, facts: RustFacts, data: bytes) -> None:
        self.facts = facts
        self.data = data

    def text(self, node: TsNode | None) -> str:
        return node_text(self.data, node)

    # ------------------------------------------------------------------ items

    def items(self, node: TsNode, scope: str, module: str) -> None:
        for child in node.named_children:
            self.item(child, scope, module)

    def item(self, node: TsNode, scope: str, module: str) -> bool:
        """Record the item ``node`` declared in ``scope`` (in inline module ``module``);
        False when it is no item."""
        kind = node.type
        name = self.text(node.child_by_field_name("name"))
        if kind == "mod_item" and name:
            body = node.child_by_field_name("body")
            self.facts.mods.append(RustMod(name, module, node.start_point[0] + 1, body is not None))
            if body is not None:
                qualname = self.add_def(node, scope, name, "mod", module)
                self.items(body, qualname, qualname)
        elif kind == "use_declaration":
            argument = node.child_by_field_name("argument")
            if argument is not None:
                self.use(argument, (), scope, node.start_point[0] + 1)
        elif kind in ("function_item", "function_signature_item") and name:
            qualname = self.add_def(node, scope, name, "function", module)
            self.function(node, qualname, module, None)
        elif kind in _TYPE_ITEMS and name:
            self.add_def(node, scope, name, _TYPE_ITEMS[kind], module)
        elif kind == "trait_item" and name:
            self.trait(node, scope, name, module)
        elif kind == "impl_item":
            self.impl(node, scope, module)
        elif kind in ("const_item", "static_item"):
            value = node.child_by_field_name("value")
            if value is not None:  # calls in an initializer are the container's
                self.expressions(value, _Fn(scope, None), module)
        else:
            return False
        return True

    def add_def(self, node: TsNode, scope: str, name: str, kind: str, module: str) -> str:
        qualname = _q(scope, name)
        self.facts.defs.append(
            RustDef(
                qualname=qualname,
                kind=kind,
                name=name,
                line=node.start_point[0] + 1,
                end_line=node.end_point[0] + 1,
                parent=scope,
                module=module,
            )
        )
        return qualname

    def use(self, node: TsNode, prefix: Path, scope: str, line: int) -> None:
        """Flatten a use tree into :class:`RustUse` records."""
        kind = node.type
        uses = self.facts.uses
        if kind == "use_as_clause":
            path = prefix + self.path(node.child_by_field_name("path"))
            alias = self.text(node.child_by_field_name("alias"))
            if path and alias:
                uses.append(RustUse(scope, path, alias, line))
        elif kind == "use_wildcard":
            inner = next(iter(node.named_children), None)
            uses.append(RustUse(scope, prefix + self.path(inner), "", line))
        elif kind in ("scoped_use_list", "use_list"):
            if kind == "scoped_use_list":
                prefix = prefix + self.path(node.child_by_field_name("path"))
                node = node.child_by_field_name("list") or node
            for part in node.named_children:
                if part.type == "self":  # use a::{self}: binds a itself
                    if prefix:
                        uses.append(RustUse(scope, prefix, prefix[-1], line))
                else:
                    self.use(part, prefix, scope, line)
        else:
            path = prefix + self.path(node)
            if path and path[-1] not in ("self", "crate", "super"):
                uses.append(RustUse(scope, path, path[-1], line))
            elif len(path) > 1 and path[-1] == "self":
                uses.append(RustUse(scope, path[:-1], path[-2], line))

    def trait(self, node: TsNode, scope: str, name: str, module: str) -> None:
        qualname = self.add_def(node, scope, name, "trait", module)
        bounds = node.child_by_field_name("bounds")
        if bounds is not None:
            self.facts.defs[-1].bounds = tuple(
                p for b in bounds.named_children if (p := self.type_path(b))
            )
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            method = self.text(member.child_by_field_name("name"))
            if member.type not in ("function_item", "function_signature_item") or not method:
                continue
            self.add_def(member, qualname, method, "method", module)
            self.facts.defs[-1].default = member.type == "function_item"
            # In a default method, self is "some implementor": a value of this trait.
            self.function(member, _q(qualname, method), module, RustType("trait", ((name,),)))

    def impl(self, node: TsNode, scope: str, module: str) -> None:
        type_path = self.type_path(node.child_by_field_name("type"))
        trait = self.type_path(node.child_by_field_name("trait"))
        if not type_path:
            return
        self.facts.impls.append(RustImpl(module, type_path, trait, node.start_point[0] + 1))
        owner = _q(scope, type_path[-1])
        taken = {d.qualname for d in self.facts.defs}
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            name = self.text(member.child_by_field_name("name"))
            if member.type != "function_item" or not name:
                continue
            container = owner
            if _q(owner, name) in taken and trait:  # inherent and trait method share a name
                container = f"{owner}.{trait[-1]}"
            qualname = self.add_def(member, container, name, "method", module)
            d = self.facts.defs[-1]
            d.parent, d.impl_type, d.impl_trait = owner, type_path, trait
            self.function(member, qualname, module, RustType("type", (type_path,)))

    # ------------------------------------------------------------------ functions

    def function(
        self, node: TsNode, qualname: str, module: str, self_type: RustType | None
    ) -> None:
        fn = _Fn(qualname, self_type)
        self.generics(node, fn)
        params = node.child_by_field_name("parameters")
        for param in params.named_children if params is not None else ():
            if param.type == "self_parameter" and self_type is not None:
                fn.env["self"] = self_type
            elif param.type == "parameter":
                pattern = param.child_by_field_name("pattern")
                typed = self.rust_type(param.child_by_field_name("type"), fn)
                if pattern is not None and pattern.type == "identifier" and typed is not None:
                    fn.env[self.text(pattern)] = typed
        body = node.child_by_field_name("body")
        if body is not None:
            self.expressions(body, fn, module)

    def generics(self, node: TsNode, fn: _Fn) -> None:
        """The trait bounds of the function's type parameters (``<T: A + B>``, ``where``)."""
        pairs: list[tuple[TsNode | None, TsNode | None]] = []
        params = node.child_by_field_name("type_parameters")
        for p in params.named_children if params is not None else ():
            if p.type == "type_parameter":
                pairs.append((p.child_by_field_name("name"), p.child_by_field_name("bounds")))
        for child in node.named_children:
            if child.type == "where_clause":
                for pred in child.named_children:
                    left = pred.child_by_field_name("left")
                    pairs.append((left, pred.child_by_field_name("bounds")))
        for name, bounds in pairs:
            if name is None:
                continue
            found = bounds.named_children if bounds is not None else []
            paths = tuple(path for b in found if (path := self.type_path(b)))
            key = self.text(name)
            fn.generics[key] = fn.generics.get(key, ()) + paths

    def rust_type(self, node: TsNode | None, fn: _Fn) -> RustType | None:
        """What a value of the written type ``node`` is, for method lookup."""
        while node is not None and node.type in ("reference_type", "pointer_type"):
            node = node.child_by_field_name("type")
        if node is None:
            return None
        if node.type in ("dynamic_type", "abstract_type"):
            inner = node.child_by_field_name("trait")
            path = self.type_path(inner)
            return RustType("trait", (path,)) if path else None
        if node.type == "bounded_type":
            traits = tuple(p for c in node.named_children if (p := self.type_path(c)))
            first = node.named_children[0] if node.named_children else None
            if first is not None and first.type == "dynamic_type":
                return self.rust_type(first, fn)
            return RustType("trait", traits) if traits else None
        if node.type == "generic_type":
            base = self.type_path(node)
            args = node.child_by_field_name("type_arguments")
            if base and base[-1] in _POINTERS and args is not None and args.named_children:
                return self.rust_type(args.named_children[0], fn)
        path = self.type_path(node)
        if not path:
            return None
        if len(path) == 1 and path[0] in fn.generics:
            bounds = fn.generics[path[0]]
            return RustType("trait", bounds) if bounds else None
        if path == ("Self",):
            return fn.self_type
        return RustType("type", (path,))

    def type_path(self, node: TsNode | None) -> Path:
        """The path of a named type (``a::B``, ``B<T>`` → ``("B",)``); empty otherwise."""
        if node is not None and node.type == "generic_type":
            node = node.child_by_field_name("type")
        if node is None or node.type not in (
            "type_identifier",
            "scoped_type_identifier",
            "identifier",
            "scoped_identifier",
        ):
            return ()
        return self.path(node)

    def path(self, node: TsNode | None) -> Path:
        """``a::b::c`` as ``("a", "b", "c")`` (turbofish arguments dropped); empty for anything
        that is no plain path (``<T as Trait>::f``)."""
        parts: list[str] = []
        while node is not None:
            kind = node.type
            if kind in _PATH_NODES:
                parts.append(self.text(node))
                return tuple(reversed(parts))
            if kind in ("generic_function", "generic_type"):
                node = node.child_by_field_name("function") or node.child_by_field_name("type")
                continue
            if kind in ("scoped_identifier", "scoped_type_identifier"):
                name = node.child_by_field_name("name")
                if name is None:
                    return ()
                parts.append(self.text(name))
                node = node.child_by_field_name("path")
                if node is None:  # ::std::x, a global path
                    return tuple(reversed(parts))
                continue
            return ()
        return ()

    # ------------------------------------------------------------------ expressions

    def expressions(self, node: TsNode, fn: _Fn, module: str) -> None:
        """Every call under ``node``, in source order; items declared in a body get their own
        scope (nested in the function's)."""
        stack = [node]
        while stack:
            current = stack.pop()
            kind = current.type
            if (current is not node and kind.endswith("_item")) or kind == "use_declaration":
                self.item(current, fn.qualname, module)
                continue
            if kind == "let_declaration":
                self.let(current, fn)
            elif kind == "call_expression":
                self.call(current, fn)
            elif kind == "macro_invocation":
                self.macro(current, fn)
                continue
            stack.extend(reversed(current.named_children))

    def let(self, node: TsNode, fn: _Fn) -> None:
        pattern = node.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "mut_pattern":
            pattern = next(iter(pattern.named_children), None)
        if pattern is None or pattern.type != "identifier":
            return
        name = self.text(pattern)
        typed = self.rust_type(node.child_by_field_name("type"), fn)
        if typed is None:
            typed = self.value_type(node.child_by_field_name("value"), fn)
        if typed is not None:
            fn.env[name] = typed
        else:  # a new binding of unknown type shadows what the name held
            fn.env.pop(name, None)

    def value_type(self, value: TsNode | None, fn: _Fn) -> RustType | None:
        """``T { … }`` and ``T::f(…)`` with a capitalised ``T`` (a constructor, by convention)
        make a ``T``; ``&value`` the same."""
        while value is not None and value.type in ("reference_expression", "try_expression"):
            value = value.child_by_field_name("value") or next(iter(value.named_children), None)
        if value is None:
            return None
        if value.type == "struct_expression":
            return self.rust_type(value.child_by_field_name("name"), fn)
        if value.type == "call_expression":
            path = self.path(value.child_by_field_name("function"))
            if len(path) >= 2 and path[-2][:1].isupper():
                if path[:-1] == ("Self",):
                    return fn.self_type
                if path[-2] not in _POINTERS:
                    return RustType("type", (path[:-1],))
        return None

    def receiver(self, node: TsNode | None, fn: _Fn) -> RustType | None:
        while node is not None and node.type in (
            "reference_expression",
            "parenthesized_expression",
        ):
            node = node.child_by_field_name("value") or next(iter(node.named_children), None)
        if node is None:
            return None
        if node.type in ("identifier", "self"):
            return fn.env.get(self.text(node))
        return None

    def call(self, node: TsNode, fn: _Fn) -> None:
        target = node.child_by_field_name("function")
        if target is None:
            return
        line = node.start_point[0] + 1
        text = self.text(target)[:80]
        if target.type == "field_expression":
            name = self.text(target.child_by_field_name("field"))
            recv = self.receiver(target.child_by_field_name("value"), fn)
            self.facts.calls.append(
                RustCall(fn.qualname, (name,), line, text, method=True, receiver=recv)
            )
            return
        path = self.path(target)
        args = node.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        self.path_call(fn, path, line, text, self.receiver(first, fn))

    def path_call(self, fn: _Fn, path: Path, line: int, text: str, arg: RustType | None) -> None:
        if path and path[0] == "Self" and fn.self_type is not None:
            # Self:: in an impl is its type; in a trait's default method, the trait.
            path = fn.self_type.paths[0] + path[1:]
            if fn.self_type.kind == "trait" and len(path) >= 2:
                self.facts.calls.append(
                    RustCall(fn.qualname, (path[-1],), line, text, True, fn.self_type, arg)
                )
                return
        self.facts.calls.append(RustCall(fn.qualname, path, line, text, arg=arg))

    def macro(self, node: TsNode, fn: _Fn) -> None:
        """Calls in a macro's token tree, recognised by shape: ``a::b(`` and ``x.m(``."""
        stack = [c for c in node.named_children if c.type == "token_tree"]
        while stack:
            tree = stack.pop()
            tokens = tree.children
            for i, tok in enumerate(tokens):
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if nxt is None or nxt.type != "token_tree" or self.text(nxt)[:1] != "(":
                    continue
                if tok.type not in ("identifier", "self"):
                    continue
                line = tok.start_point[0] + 1
                j = i
                parts = [self.text(tok)]
                while j >= 2 and tokens[j - 1].type == "::" and tokens[j - 2].type in _PATH_NODES:
                    j -= 2
                    parts.insert(0, self.text(tokens[j]))
                before = tokens[j - 1] if j >= 1 else None
                if before is not None and before.type == ".":
                    owner = tokens[j - 2] if j >= 2 else None
                    recv = self.receiver(owner, fn) if owner is not None else None
                    text = f"{self.text(owner)}.{parts[-1]}" if owner is not None else parts[-1]
                    self.facts.calls.append(
                        RustCall(fn.qualname, (parts[-1],), line, text, method=True, receiver=recv)
                    )
                else:
                    self.path_call(fn, tuple(parts), line, "::".join(parts), None)
            stack.extend(c for c in tokens if c.type == "token_tree")
