"""Name and call resolution: one test per rule, each with a negative case where no edge may be
invented (a same-named function elsewhere, a rebinding that does not reach, an unknown object)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from graphlive.analysis.resolve import MAX_VALUES
from graphlive.graph import EdgeKind, NodeKind
from tests.analysis_fixtures import Run, analyze

#: Analyses one module, ``m.py``, with the given source (dedented).
AnalyzeModule = Callable[[str], Run]


@pytest.fixture
def analyze_module(tmp_path: Path) -> AnalyzeModule:
    return lambda source: analyze(tmp_path, {"m.py": source})


def test_absolute_and_relative_imports(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/util.py": """
                def helper(): pass
                def other(): pass
            """,
            "pkg/sub/__init__.py": "",
            "pkg/sub/a.py": """
                from .. import util
                from ..util import helper
                from . import b
                import pkg.util
                def f():
                    helper()
                    util.other()
                    b.g()
                    pkg.util.helper()
            """,
            "pkg/sub/b.py": """
                def g(): pass
                def helper(): pass
            """,
        },
    )
    assert run.calls("pkg.sub.a.f") == {"pkg.util.helper", "pkg.util.other", "pkg.sub.b.g"}
    # Negative: the same-named pkg.sub.b.helper is never called.
    assert not run.graph.in_edges("pkg.sub.b.helper", EdgeKind.CALLS)
    assert run.edges(EdgeKind.IMPORTS, "pkg.sub.a") == {
        ("pkg.sub.a", "pkg.util"),
        ("pkg.sub.a", "pkg.sub.b"),
    }


def test_import_as_alias(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/b.py": "def run(): pass\ndef stop(): pass\n",
            "main.py": """
                import a.b as c
                import os.path as osp
                c.run()
                osp.join("x", "y")
                c.missing()
            """,
        },
    )
    assert run.calls("main") == {"a.b.run", "os.path.join"}
    assert run.graph.node("os.path.join").kind is NodeKind.EXTERNAL
    assert not run.graph.in_edges("a.b.stop", EdgeKind.CALLS)
    # c.missing() names nothing that exists: unresolved, not an edge to something similar.
    assert run.summary.calls_unresolved == 1


def test_star_import_respects_all(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "lib.py": """
                __all__ = ["public"]
                def public(): pass
                def hidden(): pass
                def _private(): pass
            """,
            "nolist.py": """
                def visible(): pass
                def _private(): pass
            """,
            "main.py": """
                from lib import *
                from nolist import *
                public()
                visible()
                hidden()
                _private()
            """,
        },
    )
    assert run.calls("main") == {"lib.public", "nolist.visible"}
    assert not run.graph.in_edges("lib.hidden", EdgeKind.CALLS)
    assert not run.graph.in_edges("nolist._private", EdgeKind.CALLS)
    assert run.summary.calls_unresolved == 2


def test_reexport_through_init(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "pkg/__init__.py": """
                from .impl import work as run_work
                from .impl import Engine
            """,
            "pkg/impl.py": """
                def work(): pass
                class Engine:
                    def __init__(self): pass
            """,
            "pkg/other.py": "def work(): pass\n",
            "app.py": """
                import pkg
                from pkg import run_work
                run_work()
                pkg.Engine()
                pkg.run_work()
            """,
        },
    )
    assert run.calls("app") == {"pkg.impl.work", "pkg.impl.Engine.__init__"}
    assert not run.graph.in_edges("pkg.other.work", EdgeKind.CALLS)


def test_aliases_and_reassignment(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        def a(): pass
        def b(): pass
        def c(): pass

        handler = a
        handler()
        handler = b
        handler()

        def later():
            handler()

        def local():
            f = c
            g = f
            g()
    """)
    lines = run.call_lines("m")
    # Each call sees only the assignment that reaches it.
    assert lines == {("m.a", 6), ("m.b", 8)}
    # A function called later may see any value the module-level name held.
    assert run.calls("m.later") == {"m.a", "m.b"}
    assert run.calls("m.local") == {"m.c"}


def test_self_and_cls_calls_through_the_mro(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Base:
            def helper(self): pass
            def hook(self): pass
            @classmethod
            def make(cls): pass
            def unrelated(self): pass

        class Mixin:
            def mix(self): pass

        class Child(Base, Mixin):
            def hook(self): pass
            def run(self):
                self.helper()
                self.hook()
                self.mix()
            @classmethod
            def build(cls):
                cls.make()
                return cls()
    """)
    assert run.calls("m.Child.run") == {"m.Base.helper", "m.Child.hook", "m.Mixin.mix"}
    assert run.calls("m.Child.build") == {"m.Base.make", "m.Child"}
    assert "m.Base.hook" not in run.calls("m.Child.run")
    assert not run.graph.in_edges("m.Base.unrelated", EdgeKind.CALLS)
    assert run.edges(EdgeKind.INHERITS) == {("m.Child", "m.Base"), ("m.Child", "m.Mixin")}


def test_self_dispatches_to_overrides_of_the_receiver(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Base:
            def run(self):
                return self.step()
            def step(self): pass

        class Child(Base):
            def step(self): pass

        class Unused(Base):
            def step(self): pass

        Child().run()
    """)
    # Base.run runs on a Child instance, so self.step() reaches Child.step too; no Unused
    # instance exists, so Unused.step is not invented.
    assert run.calls("m.Base.run") == {"m.Base.step", "m.Child.step"}


def test_super_calls(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class A:
            def __init__(self): pass
            def save(self): pass
        class B(A):
            def save(self):
                super().save()
        class C(B):
            def __init__(self):
                super().__init__()
            def save(self):
                super(C, self).save()
        class D:
            def __init__(self):
                super().__init__()
    """)
    assert run.calls("m.B.save") == {"<builtin>.super", "m.A.save"}
    assert run.calls("m.C.__init__") == {"<builtin>.super", "m.A.__init__"}
    assert run.calls("m.C.save") == {"<builtin>.super", "m.B.save"}
    # No analysed base: object.__init__, a builtin.
    assert run.calls("m.D.__init__") == {"<builtin>.super", "<builtin>.object.__init__"}
    assert "m.C.save" not in run.calls("m.C.save")


def test_instantiation_calls_init_through_the_mro(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Base:
            def __init__(self, x): pass
        class Child(Base):
            pass
        class Plain:
            pass
        class Err(Exception):
            pass
        def make():
            Base(1)
            Child(2)
            Plain()
            Err("boom")
    """)
    # Child has no __init__ of its own: Base.__init__ via the MRO. Classes whose constructor
    # comes from object or a builtin base: the edge goes to the class node.
    assert run.calls("m.make") == {"m.Base.__init__", "m.Plain", "m.Err"}
    assert "m.Child" not in run.calls("m.make")


def test_local_type_flow(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Foo:
            def bar(self): pass
        class Other:
            def bar(self): pass

        def make():
            return Foo()

        def annotated() -> "Other":
            return build()

        def build(): ...

        def use(param: Foo | None, unknown):
            x = Foo()
            x.bar()
            make().bar()
            annotated().bar()
            param.bar()
            unknown.bar()
    """)
    assert run.call_lines("m.use") >= {
        ("m.Foo.bar", 16),
        ("m.Foo.bar", 17),
        ("m.Other.bar", 18),
        ("m.Foo.bar", 19),
    }
    # unknown.bar(): nothing is known about `unknown`, so no edge to any bar.
    assert not any(line == 20 for _, line in run.call_lines("m.use"))
    assert ("m.Other.bar", 16) not in run.call_lines("m.use")


def test_decorators(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        import functools

        def trace(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs)
            return wrapper

        def tagged(name):
            def deco(fn):
                return fn
            return deco

        @trace
        def work(): pass

        @tagged("x")
        def other(): pass

        class K:
            @staticmethod
            def s(): pass
            @property
            def p(self): pass

        def plain(): pass

        def main():
            work()
            other()
    """)
    decorates = run.edges(EdgeKind.DECORATES)
    assert decorates >= {
        ("m.trace", "m.work"),
        ("m.tagged", "m.other"),
        ("<builtin>.staticmethod", "m.K.s"),
        ("<builtin>.property", "m.K.p"),
    }
    assert not any(target == "m.plain" for _, target in decorates)
    # Applying a decorator is a call made where the function is defined.
    assert {"m.trace", "m.tagged", "m.tagged.deco"} <= run.calls("m")
    # The wrapper calls the function it wraps.
    assert run.calls("m.trace.wrapper") == {"m.work"}
    assert run.calls("m.main") == {"m.work", "m.other"}


def test_calls_on_imported_module_attributes(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "tools/__init__.py": "",
            "tools/text.py": """
                def shout(s): pass
                class Box:
                    def __init__(self): pass
                    def open(self): pass
            """,
            "main.py": """
                import tools.text
                from tools import text as t
                import json
                tools.text.shout("a")
                t.Box().open()
                json.dumps({})
                json.decoder.JSONDecoder()
            """,
        },
    )
    assert run.calls("main") == {
        "tools.text.shout",
        "tools.text.Box.__init__",
        "tools.text.Box.open",
        "json.dumps",
        "json.decoder.JSONDecoder",
    }


def test_higher_order_flow(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        def a(): pass
        def b(): pass
        def c(): pass
        def d(): pass
        def e(): pass
        def never(): pass

        def apply(fn):
            return fn()

        def pick():
            return b

        class Holder:
            def __init__(self, cb):
                self.cb = cb
            def fire(self):
                self.cb()

        def main():
            apply(a)
            pick()()
            Holder(c).fire()
            handlers = [d]
            handlers[0]()
            pair = (a, e)
            pair[1]()
            table = {"x": c, "y": e}
            table["y"]()
            for h in handlers:
                h()
    """)
    assert run.calls("m.apply") == {"m.a"}
    assert run.calls("m.Holder.fire") == {"m.c"}
    main = run.call_lines("m.main")
    assert ("m.b", 22) in main
    assert ("m.d", 25) in main
    assert ("m.e", 27) in main
    assert ("m.a", 27) not in main  # pair[1] is e, not a
    assert ("m.e", 29) in main
    assert ("m.c", 29) not in main  # table["y"] is e, not c
    assert ("m.d", 31) in main
    assert not run.graph.in_edges("m.never", EdgeKind.CALLS)


def test_args_and_kwargs_passing(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        def a(): pass
        def b(): pass
        def c(): pass

        def run_all(*fns):
            for fn in fns:
                fn()

        def call(fn, *args, **kwargs):
            return fn(*args, **kwargs)

        def by_name(**named):
            named["go"]()

        def target(x, y=None): pass

        def main():
            run_all(a, b)
            call(target, 1, y=2)
            by_name(go=c)
            args = (a,)
            call(*args)
    """)
    assert run.calls("m.run_all") == {"m.a", "m.b"}
    assert run.calls("m.call") == {"m.target", "m.a"}
    assert run.calls("m.by_name") == {"m.c"}
    assert "m.c" not in run.calls("m.run_all")


def test_iteration_protocol(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Item:
            def use(self): pass

        class Bag:
            def __iter__(self):
                return self
            def __next__(self):
                return Item()

        class Gen:
            def __iter__(self):
                yield Item()

        class NotIterable:
            def __next__(self): pass

        def numbers():
            yield Item()

        def main():
            for item in Bag():
                item.use()
            for item in Gen():
                item.use()
            for item in numbers():
                item.use()
            for value in [1, 2]:
                value.use()
    """)
    main = run.call_lines("m.main")
    assert {("m.Bag.__iter__", 21), ("m.Bag.__next__", 21), ("m.Item.use", 22)} <= main
    assert {("m.Gen.__iter__", 23), ("m.Item.use", 24)} <= main
    assert {("m.numbers", 25), ("m.Item.use", 26)} <= main
    # Iterating a list of ints calls no __iter__ of ours, and int has no .use.
    assert not any(line in (27, 28) for _, line in main)
    assert not run.graph.in_edges("m.NotIterable.__next__", EdgeKind.CALLS)


def test_builtins_and_externals(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        import os
        from collections import OrderedDict
        def main(items):
            len(items)
            print(sorted(items))
            ", ".join(items)
            os.path.join("a", "b")
            OrderedDict()
            os.getcwd().upper()
    """)
    assert run.calls("m.main") == {
        "<builtin>.len",
        "<builtin>.print",
        "<builtin>.sorted",
        "<builtin>.str.join",
        "os.path.join",
        "collections.OrderedDict",
        "os.getcwd",
    }
    for node_id in ("<builtin>.len", "os.path.join", "collections.OrderedDict"):
        node = run.graph.node(node_id)
        assert node.kind is NodeKind.EXTERNAL
        assert node.file is None
    # The result of an external call is unknown: .upper() is counted as unresolved.
    assert run.summary.calls_unresolved == 1


def test_results_of_builtin_string_methods(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        def main():
            name = "Ada Lovelace"
            name.lower().strip().title()
            name.encode().decode().upper()
            name.split(" ").pop()
            name.partition(" ").index("Ada")
    """)
    assert run.calls("m.main") == {
        "<builtin>.str.lower",
        "<builtin>.str.strip",
        "<builtin>.str.title",
        "<builtin>.str.encode",
        "<builtin>.bytes.decode",
        "<builtin>.str.upper",
        "<builtin>.str.split",
        "<builtin>.list.pop",
        "<builtin>.str.partition",
        "<builtin>.tuple.index",
    }
    assert run.summary.calls_unresolved == 0


def test_isinstance_narrows_a_name_in_the_body(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Node:
            def walk(self): pass
        class Leaf:
            def walk(self): pass
            def size(self): pass
        def visit(item, parts):
            if isinstance(item, Leaf):
                item.size()
            elif isinstance(item, (Node, str)):
                item.walk()
                item.lower()
            if isinstance(parts, list):
                parts.append(1)
        def other(item):
            item.walk()
    """)
    assert run.calls("m.visit") == {
        "m.Leaf.size",
        "m.Node.walk",
        "<builtin>.str.lower",
        "<builtin>.list.append",
        "<builtin>.isinstance",
    }
    # Negative: without the test nothing is known about ``item``.
    assert run.calls("m.other") == set()
    assert run.summary.calls_unresolved == 1
    # A container of classes that holds itself is visited once.
    run = analyze_module("""
        class A:
            def go(self): pass
        kinds = [A]
        kinds.append(kinds)
        def f(x):
            if isinstance(x, kinds):
                x.go()
    """)
    assert "m.A.go" in run.calls("m.f")


def test_a_module_rebinding_a_builtin_to_itself(tmp_path: Path) -> None:
    """``str = str`` (compatibility modules): the name is the builtin, also where imported."""
    run = analyze(
        tmp_path,
        {
            "compat.py": """
                builtin_str = str
                str = str
                bytes = bytes
            """,
            "use.py": """
                from compat import str, builtin_str
                def convert(x):
                    return str(x).upper() + builtin_str(x)
            """,
        },
    )
    assert run.calls("use.convert") == {"<builtin>.str", "<builtin>.str.upper"}
    assert run.summary.calls_unresolved == 0
    # Negative: a name the module binds before reading it stays the module's own.
    run = analyze(
        tmp_path / "other",
        {
            "m.py": """
                def len(x):
                    return 0
                size = len
                def main():
                    size([])
            """
        },
    )
    assert run.calls("m.main") == {"m.len"}


def test_unresolved_calls_are_counted_not_guessed(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Service:
            def process(self): pass
        def process(): pass
        def handle(obj, data):
            obj.process()
            data["key"].process()
            getattr(obj, name)()
    """)
    assert run.calls("m.handle") == {"<builtin>.getattr"}
    assert run.summary.calls_total == 4
    assert run.summary.calls_resolved == 1
    assert run.summary.calls_unresolved == 3
    # Reported where they are, on the caller, with the callee as written.
    assert dict(run.graph.node("m.handle").extra)["unresolved_calls"] == (
        (5, "obj.process"),
        (6, "data['key'].process"),
        (7, "getattr(...)"),
    )


def test_context_managers_getattr_and_partial(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        import functools

        class Session:
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return False
            def query(self): pass

        class Plain:
            def query(self): pass

        def job(x): pass

        def main(obj):
            with Session() as s:
                s.query()
            getattr(Plain(), "query")()
            getattr(obj, "query")()
            functools.partial(job, 1)()
    """)
    main = run.call_lines("m.main")
    assert {("m.Session.__enter__", 16), ("m.Session.__exit__", 16)} <= main
    assert ("m.Session.query", 17) in main
    assert ("m.Plain.query", 18) in main
    # getattr on an unknown object with the same attribute name invents nothing.
    assert not any(line == 19 and t.endswith("query") for t, line in main)
    assert {("functools.partial", 20), ("m.job", 20)} <= main


def test_scopes_nonlocal_global_and_comprehensions(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        def a(): pass
        def b(): pass
        def c(): pass
        current = None

        def install():
            global current
            current = a

        def use():
            current()

        install()
        current()

        def outer():
            cb = None
            def set_cb():
                nonlocal cb
                cb = b
            set_cb()
            cb()

        def comp():
            x = c
            funcs = [x for x in (a,)]
            x()
            funcs[0]()
    """)
    assert run.calls("m.use") == {"m.a"}
    # install() rebinds the global: module code after it sees that value.
    assert ("m.a", 14) in run.call_lines("m")
    assert run.calls("m.outer") == {"m.outer.set_cb", "m.b"}
    # The comprehension's x is its own: the function's x stays c.
    assert run.call_lines("m.comp") == {("m.c", 27), ("m.a", 28)}


def test_property_values_and_class_attributes(analyze_module: AnalyzeModule) -> None:
    run = analyze_module("""
        class Engine:
            def start(self): pass

        class Car:
            wheels = 4
            def __init__(self):
                self._engine = Engine()
            @property
            def engine(self):
                return self._engine

        def drive(car: Car):
            car.engine.start()
            car.wheels.bit_length()
    """)
    assert run.calls("m.drive") == {"m.Engine.start", "<builtin>.int.bit_length"}


def test_file_dependencies_follow_resolution(tmp_path: Path) -> None:
    from graphlive.analysis import Analyzer
    from graphlive.graph import CodeGraph
    from tests.analysis_fixtures import write_tree

    write_tree(
        tmp_path,
        {
            "base.py": "class Base:\n    def hook(self): pass\n",
            "child.py": """
                from base import Base
                class Child(Base):
                    def run(self):
                        self.hook()
            """,
            "alone.py": "def f(): pass\n",
        },
    )
    analyzer = Analyzer(tmp_path, CodeGraph(), workers=1, track_dependencies=True)
    analyzer.run()
    deps = analyzer.dependencies
    assert deps is not None
    assert "base.py" in deps["child.py"]
    assert deps["alone.py"] == set()
    assert "child.py" not in deps["base.py"]


@pytest.mark.parametrize("extra", [0, 9])
def test_value_sets_are_capped(tmp_path: Path, extra: int) -> None:
    """A variable holds at most ``MAX_VALUES`` values: up to the cap every callee gets its
    edge; beyond it the call site keeps exactly ``MAX_VALUES`` of them (never invented ones),
    the same ones on every analysis."""
    n = MAX_VALUES + extra
    source = "\n".join(
        [
            *(f"def f{i}(): pass" for i in range(n)),
            "HANDLERS = [" + ", ".join(f"f{i}" for i in range(n)) + "]",
            "def run():",
            "    for handler in HANDLERS:",
            "        handler()",
        ]
    )
    defined = {f"m.f{i}" for i in range(n)}
    callees = [
        analyze(tmp_path / name, {"m.py": source}).calls("m.run") for name in ("first", "second")
    ]
    assert len(callees[0] & defined) == min(n, MAX_VALUES)
    assert not {t for t in callees[0] - defined if t.startswith("m.")}
    assert callees[0] == callees[1]


def test_unresolved_callee_text_is_shortened(analyze_module: AnalyzeModule) -> None:
    """A long callee keeps its end (the name called) and says it was cut."""
    chain = ".".join(f"attribute_{i}" for i in range(12))
    run = analyze_module(f"def f(obj):\n    obj.{chain}.finish()\n    obj.a(1)(2)(3)\n")
    calls = dict(dict(run.graph.node("m.f").extra)["unresolved_calls"])
    assert len(calls[2]) == 80 and calls[2].startswith("...")
    assert calls[2].endswith(".attribute_11.finish")
    assert run.summary.calls_unresolved == 4
    assert [
        c for line, c in dict(run.graph.node("m.f").extra)["unresolved_calls"] if line == 3
    ] == [
        "obj.a",
        "obj.a(...)",
        "obj.a(...)(...)",
    ]
