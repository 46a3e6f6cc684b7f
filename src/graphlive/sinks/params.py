"""FalkorDB query parameters: Python values as the literals of the ``CYPHER name=value ...`` prefix.

FalkorDB takes parameters as a prefix of the query text (``CYPHER rows=[{id:"a"}] UNWIND $rows
...``), parsed by its own lexer as *values only*: a parameter can never become a clause, label or
identifier, so this is parameter passing, not string-built Cypher. The encoding here must still
round-trip every value exactly, which the tests check against a real server.

Contract of :func:`encode_value`:

* ``None`` → ``null``; ``bool`` → ``true``/``false``; ``int`` → decimal (64-bit range);
  finite ``float`` → ``repr`` (NaN and infinities are rejected: Cypher has no literal for them);
  ``str`` → a double-quoted literal in which only ``\\`` and ``"`` are escaped (FalkorDB's lexer
  reads every other character, newlines included, verbatim); lists/tuples → ``[...]``; mappings
  with identifier keys → ``{key: value}``.
* NUL characters cannot pass: FalkorDB reads the query as a C string, so they are replaced by
  U+FFFD (documented in docs/sinks.md). Any other type raises ``TypeError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NUL_REPLACEMENT", "encode_params", "encode_value"]

#: What a NUL character in a string becomes on its way into FalkorDB.
NUL_REPLACEMENT = "\ufffd"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def encode_value(value: Any) -> str:
    """The Cypher literal of ``value`` (see the module contract). Raises TypeError/ValueError."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def encode_params(params: Mapping[str, Any]) -> str:
    """``CYPHER a=1 b="x" `` — the prefix to put in front of a query (empty for no params).

    Parameter names must be identifiers (``ValueError`` otherwise).
    """
    if not params:
        return ""
    pieces = ["CYPHER"]
    for name, value in params.items():
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"invalid parameter name {name!r}")
        pieces.append(f"{name}={encode_value(value)}")
    return " ".join(pieces) + " "


def _encode(value: Any, out: list[str]) -> None:
    # Exact type checks first (the rows the sink sends are dicts of str/int): this runs once per
    # value of every batch, and isinstance chains cost more than the encoding itself.
    t = type(value)
    if t is str:
        out.append(_quote(value))
    elif t is dict:
        _encode_map(value, out)
    elif t is int:
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        out.append(str(value))
    elif value is None:
        out.append("null")
    elif t is bool:
        out.append("true" if value else "false")
    elif t is list or t is tuple:
        _encode_list(value, out)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Cypher has no literal for {value!r}")
        out.append(repr(float(value)))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        _encode(int(value), out)
    elif isinstance(value, str):
        out.append(_quote(str(value)))
    elif isinstance(value, Mapping):
        _encode_map(value, out)
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        _encode_list(value, out)
    else:
        raise TypeError(f"cannot pass a {type(value).__name__} as a FalkorDB parameter")


def _quote(text: str) -> str:
    if "\0" in text:
        text = text.replace("\0", NUL_REPLACEMENT)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: Map keys already checked (the same few property names recur in every row).
_CHECKED_KEYS: set[str] = set()


def _encode_map(value: Mapping[Any, Any], out: list[str]) -> None:
    out.append("{")
    first = True
    for key, item in value.items():
        if key not in _CHECKED_KEYS:
            if not isinstance(key, str) or not _IDENTIFIER.fullmatch(key):
                raise ValueError(f"map key {key!r} is not an identifier")
            if len(_CHECKED_KEYS) < 4096:
                _CHECKED_KEYS.add(key)
        if first:
            first = False
        else:
            out.append(",")
        out.append(key)
        out.append(":")
        _encode(item, out)
    out.append("}")


def _encode_list(value: Sequence[Any], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(value):
        if i:
            out.append(",")
        _encode(item, out)
    out.append("]")
