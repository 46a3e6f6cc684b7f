"""What extraction learns about a file (plain data, no tree): :class:`SourceFacts`, the part
every language's facts share, and the facts of JavaScript/TypeScript files."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphlive.analysis.facts import DiagFact

__all__ = [
    "ScriptCall",
    "ScriptDef",
    "ScriptExport",
    "ScriptFacts",
    "ScriptImport",
    "SourceFacts",
]


@dataclass(slots=True)
class SourceFacts:
    """What every extractor records of a file: its path relative to the root, its language,
    its line count and its diagnostics. Each language's facts add what it extracts."""

    file: str
    language: str
    lines: int = 0
    diagnostics: list[DiagFact] = field(default_factory=list)


@dataclass(slots=True)
class ScriptDef:
    """A class, interface, function or method. ``qualname`` is dotted within the file
    (``Cart.total``); ``parent`` the qualname of the enclosing definition (``""``: the module).
    ``bases``/``implements``: the names after ``extends``/``implements`` as written
    (``Base``, ``ns.Base``)."""

    qualname: str
    kind: str  # "class" | "interface" | "function" | "method"
    name: str
    line: int
    end_line: int
    parent: str = ""
    bases: tuple[str, ...] = ()
    implements: tuple[str, ...] = ()


@dataclass(slots=True)
class ScriptImport:
    """A name bound by ``import`` or ``require``: ``local`` in this file stands for
    ``imported`` (a name, ``"default"``, or ``"*"`` for the whole module) of ``source``."""

    local: str
    source: str
    imported: str
    line: int


@dataclass(slots=True)
class ScriptExport:
    """``exported`` (a name, ``"default"``, or ``"*"``: every name of ``source``) is ``local``
    of this file, or ``imported`` of ``source`` (a re-export)."""

    exported: str
    line: int
    local: str | None = None
    source: str | None = None
    imported: str | None = None


@dataclass(slots=True)
class ScriptCall:
    """A call or ``new`` in ``caller`` (a qualname, ``""``: the module's top level).
    ``callee`` is the called expression as a path of names (``("f",)``, ``("this", "m")``,
    ``("ns", "f")``), empty when it is no such path (a call of a call's result), or relative to
    :attr:`on_new`."""

    caller: str
    callee: tuple[str, ...]
    line: int
    new: bool = False
    text: str = ""
    #: For ``new C(…).m()``: the class path constructed (``("C",)``); ``callee`` is then the
    #: method path on that instance.
    on_new: tuple[str, ...] = ()


@dataclass(slots=True)
class ScriptFacts(SourceFacts):
    """Everything extraction learnt about one file. ``constructed`` maps ``(scope qualname,
    variable)`` to the class path a ``new`` assigned to it (``const c = new Cart()``)."""

    defs: list[ScriptDef] = field(default_factory=list)
    imports: list[ScriptImport] = field(default_factory=list)
    exports: list[ScriptExport] = field(default_factory=list)
    calls: list[ScriptCall] = field(default_factory=list)
    constructed: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
