"""Code analysis: source trees → :class:`~graphlive.graph.CodeGraph` content.

Python analysis is split so that each step can be reused by incremental re-analysis:

* :mod:`~graphlive.analysis.discover` — which files, and their module ids;
* :mod:`~graphlive.analysis.roots` — the source roots module ids start from;
* :mod:`~graphlive.analysis.source` — reading and decoding one file;
* :mod:`~graphlive.analysis.python_extract` — one file → compact per-file facts (``ast``;
  its parts: ``extract_state``, ``extract_expressions``, ``extract_statements``);
* :mod:`~graphlive.analysis.resolve` — all facts → call/import/inheritance/decorator links,
  solved by :mod:`~graphlive.analysis.solver` (built on ``solver_values``, ``solver_state``,
  ``solver_eval``, ``solver_classes``);
* :mod:`~graphlive.analysis.build` — facts + links → nodes and edges owned by each file;
* :mod:`~graphlive.analysis.incremental` — the resolved program kept between runs, re-solved
  in part when files change;
* :mod:`~graphlive.analysis.writer` — outputs → graph mutations, one transaction per file;
* :mod:`~graphlive.analysis.engine` — :class:`Analyzer`, which runs the steps (parsing in
  parallel, reporting :mod:`~graphlive.analysis.progress`).

Decisions (the contracts views and sinks rely on; docs/analysis.md has the details)
-----------------------------------------------------------------------------------

Node ids
    Import names: dotted paths relative to the file's source root (the analysed root, a project
    folder, a ``src``/``lib`` folder or a package folder ``pyproject.toml`` declares; see
    :mod:`~graphlive.analysis.roots`), so ``src/pkg/mod.py`` defines ``pkg.mod``,
    ``pkg.mod.Class.method``, ``pkg.mod.func.inner``; lambdas ``<lambdaN>`` numbered from 1 in
    source order per enclosing definition (``pkg.mod.f.<lambda2>``, nested
    ``pkg.mod.<lambda1>.<lambda1>``). When the root is itself a package (has ``__init__.py``),
    ids start with its dotted package name, found by walking up while ``__init__.py`` exists
    (``.../email`` → ``email.parser``); ``Node.file`` stays relative to the root. Externals keep
    their import path (``os.path.join``, ``collections.OrderedDict``), builtins are
    ``<builtin>.len``, methods of builtin types ``<builtin>.str.join``; both have kind
    ``external`` and ``file=None``.

Packages
    ``pkg/__init__.py`` *is* the package: one node, id ``pkg``, kind ``package``, file
    ``pkg/__init__.py``; there is no ``pkg.__init__`` module node, and code at the top of
    ``__init__.py`` calls with ``pkg`` as the caller. A directory without ``__init__.py`` that
    holds modules is a namespace package: kind ``package``, ``file=None``,
    ``extra={"namespace": True}``. A top-level definition in ``__init__.py`` whose name is also a
    submodule's gets the id ``pkg.__init__.name`` (the submodule keeps ``pkg.name``); a module
    file shadowed by a package of the same name keeps a node whose id is its path.

Calls
    Module-level code calls with the module (or package) as caller, class bodies with the
    class. Instantiating a class is a call of the ``__init__`` found through the MRO (C3 over
    the analysed classes); when no analysed class in the MRO defines one (the constructor is
    ``object``'s or an external/builtin base's), the edge goes to the class node itself.
    Decorator applications are calls made where the definition is (plus a ``decorates`` edge
    decorator → decorated); iteration calls ``__iter__``/``__next__`` and ``with`` calls
    ``__enter__``/``__exit__`` when the analysed class defines them. Two calls of the same target
    from the same caller on one line are one edge (edge identity includes the line).

Edges and ownership
    ``Edge.line`` is the call site, import statement, base class expression or decorator line
    (0 for ``contains``). ``Edge.file`` is the file whose analysis produced the edge; every edge
    has exactly one owner: calls/imports by the file with the call/import, ``inherits`` and
    ``decorates`` by the class's/definition's file, ``contains`` by the child's file.
    ``imports`` edges link modules (``from m import name`` targets ``m.name`` when that is a
    module, else ``m``), from the importing module even when the import is inside a function.

Resolution limits (documented, not guessed around)
    The analysis is flow-insensitive across scopes and context-insensitive (one value set per
    variable), with two cheap refinements: straight-line code in a scope sees only the
    assignments that reach it, and parameters returned unchanged give each call its own
    argument back. Property access, operators and ``__getitem__`` are not treated as calls;
    results of external calls are unknown; a call whose callee has no known value is counted
    as unresolved and gets no edge.
"""

from graphlive.analysis.engine import AnalysisSummary, Analyzer, Progress

__all__ = ["AnalysisSummary", "Analyzer", "Progress"]
