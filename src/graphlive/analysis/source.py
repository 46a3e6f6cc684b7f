"""Reading a source file into text, with a diagnostic instead of an exception for bad input.

Contract of :func:`read_source`: it never raises ``OSError``/``UnicodeError``; it returns either
the decoded text, or ``None`` and a :class:`DiagFact` saying why (``vanished``, ``unreadable``,
``not-a-regular-file``, ``file-too-large``, ``binary-file``, ``decode-error``). The encoding is
the one Python itself would use (PEP 263 declaration or BOM, UTF-8 by default), so a latin-1
file with ``# -*- coding: latin-1 -*-`` reads fine while undeclared latin-1 bytes are a
``decode-error`` pointing at the offending line.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tokenize
from typing import NamedTuple

from graphlive.analysis.facts import DiagFact

__all__ = ["SourceResult", "content_digest", "read_source"]

# O_NONBLOCK keeps a FIFO that slipped through discovery (e.g. replaced after the walk) from
# blocking the open; O_NOFOLLOW is not used since symlinks inside the root are legitimate.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class SourceResult(NamedTuple):
    """``text`` is the decoded source or ``None``; ``missing`` means the file no longer exists;
    ``digest`` is :func:`content_digest` of the bytes read (``""`` when none were read)."""

    text: str | None
    diagnostic: DiagFact | None
    missing: bool
    digest: str = ""


def content_digest(data: bytes) -> str:
    """The digest that identifies a file's content (what the analysis cache is keyed by)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _fail(
    rel: str, code: str, message: str, *, line: int = 0, severity: str = "error"
) -> SourceResult:
    return SourceResult(None, DiagFact(rel, line, 0, severity, code, message), code == "vanished")


def read_source(path: str, rel: str, max_bytes: int) -> SourceResult:
    """Read and decode ``path`` (displayed as ``rel``), refusing files over ``max_bytes``."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return _fail(
            rel, "vanished", "file disappeared before it could be read", severity="warning"
        )
    except PermissionError as exc:
        return _fail(rel, "unreadable", f"permission denied: {exc.strerror or exc}")
    except OSError as exc:
        return _fail(rel, "unreadable", f"cannot open: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _fail(rel, "not-a-regular-file", "not a regular file (FIFO, socket, device)")
        if st.st_size > max_bytes:
            return _fail(
                rel,
                "file-too-large",
                f"{st.st_size} bytes is over the limit of {max_bytes} bytes; not analysed",
                severity="warning",
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, max(st.st_size + 1, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while we were reading
                return _fail(
                    rel,
                    "file-too-large",
                    f"file grew over the limit of {max_bytes} bytes while being read",
                    severity="warning",
                )
    except OSError as exc:
        return _fail(rel, "unreadable", f"cannot read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return decode_source(data, rel)._replace(digest=content_digest(data))


def decode_source(data: bytes, rel: str) -> SourceResult:
    """Decode ``data`` as Python source (see the module docstring)."""
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        return _fail(rel, "binary-file", "contains NUL bytes: not Python source", line=line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return _fail(rel, "decode-error", f"bad encoding declaration: {exc.msg}", line=1)
    try:
        return SourceResult(data.decode(encoding), None, False)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _fail(
            rel,
            "decode-error",
            f"cannot decode as {encoding} ({exc.reason}); declare the encoding (PEP 263)",
            line=line,
        )
    except LookupError as exc:  # pragma: no cover - detect_encoding already validated the name
        return _fail(rel, "decode-error", str(exc), line=1)
